package hw

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of i: changing the copy never changes i.
func (i *Info) Clone() *Info {
	if i == nil {
		return nil
	}
	c := *i
	c.Host = i.Host.clone()
	c.Build = i.Build.clone()
	c.Run = i.Run.clone()
	return &c
}

func (h Host) clone() Host {
	h.CPU = ptr(h.CPU)
	if h.Memory != nil {
		m := *h.Memory
		m.Available = ptr(m.Available)
		h.Memory = &m
	}
	if h.Disk != nil {
		d := *h.Disk
		d.Free = ptr(d.Free)
		h.Disk = &d
	}
	if h.Cgroup != nil {
		c := *h.Cgroup
		c.CPUQuota = ptr(c.CPUQuota)
		c.CPUQuotaUS = ptr(c.CPUQuotaUS)
		c.CPUPeriodUS = ptr(c.CPUPeriodUS)
		c.MemoryLimit = ptr(c.MemoryLimit)
		h.Cgroup = &c
	}
	h.GPUs = slices.Clone(h.GPUs)
	for k := range h.GPUs {
		h.GPUs[k].PowerLimit = ptr(h.GPUs[k].PowerLimit)
	}
	return h
}

func (b Build) clone() Build {
	b.Module = ptr(b.Module)
	if b.VCS != nil {
		v := *b.VCS
		v.Time = ptr(v.Time)
		v.Modified = ptr(v.Modified)
		b.VCS = &v
	}
	b.Settings = slices.Clone(b.Settings)
	b.Deps = slices.Clone(b.Deps)
	if b.Git != nil {
		g := *b.Git
		g.Dirty = ptr(g.Dirty)
		g.Untracked = ptr(g.Untracked)
		b.Git = &g
	}
	return b
}

func (r Run) clone() Run {
	r.Args = slices.Clone(r.Args)
	r.Env = maps.Clone(r.Env)
	r.Seed = ptr(r.Seed)
	return r
}

// ptr returns a pointer to a copy of *p, or nil.
func ptr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
