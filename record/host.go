package record

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/recordlab/go-record/hw"
	"github.com/recordlab/go-record/internal/redact"
)

// facts returns the host, build and run facts that Create stores, from
// hw.Detect (cached after the first call). A fact the machine cannot give
// is absent; failing to read one never fails Create.
func facts(ctx context.Context, cfg *createConfig) (map[string]any, error) {
	info, _ := hw.Detect(ctx, hw.Options{Env: cfg.env})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if info == nil {
		return nil, nil
	}
	info.Run.Seed = cfg.seed
	RedactFacts(info)
	out := map[string]any{}
	for key, v := range map[string]any{"host": info.Host, "build": info.Build, "run": info.Run} {
		nv, err := normalizeAt(v, key)
		if err != nil {
			return nil, fmt.Errorf("record: host facts: %w", err)
		}
		out[key] = nv
	}
	return out, nil
}

// RedactFacts masks the secrets in what hw.Detect captured, which it
// returns as they are: the command line (the value of a secret-named flag,
// a DSN's password, a token; see redact.Args), the environment variables
// of WithEnv (the value of a secret-named variable, or the secrets in any
// value; see redact.Env), the build settings (-ldflags "-X
// main.apiKey=..."), the git remote and the paths. Create applies it to
// what it stores; a program that prints hw.Detect's facts itself should
// apply it too.
func RedactFacts(info *hw.Info) {
	info.Run.Args = redact.Args(info.Run.Args)
	for name, v := range info.Run.Env {
		info.Run.Env[name] = redact.Env(name, v)
	}
	for i, s := range info.Build.Settings {
		if redact.Name(s.Key) && s.Value != "" {
			info.Build.Settings[i].Value = redact.Mask
			continue
		}
		info.Build.Settings[i].Value = redact.Fields(s.Value)
	}
	if g := info.Build.Git; g != nil {
		g.Remote = redact.Text(g.Remote)
	}
	info.Run.Executable = redact.Text(info.Run.Executable)
	info.Run.Dir = redact.Text(info.Run.Dir)
}

// systemSampler logs hw samples into a record until stopped.
type systemSampler struct {
	stop chan struct{}
	once sync.Once
	done chan struct{}
}

func (r *Record) startSystemMetrics(interval time.Duration) {
	ss := &systemSampler{stop: make(chan struct{}), done: make(chan struct{})}
	r.system = ss
	go func() {
		defer close(ss.done)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-ss.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		s := hw.NewSampler(ctx)
		defer s.Close()
		t := time.NewTicker(interval)
		defer t.Stop()
		for step := int64(0); ; step++ {
			select {
			case <-ss.stop:
				return
			case <-t.C:
			}
			sample, _ := s.Sample(ctx) // a partial sample is still worth logging
			if len(sample) == 0 {
				continue
			}
			m := make(Metrics, len(sample))
			for name, v := range sample {
				m["system/"+strings.ReplaceAll(name, ".", "/")] = v
			}
			r.Log(step, m)
		}
	}()
}

func (ss *systemSampler) close() {
	if ss == nil {
		return
	}
	ss.once.Do(func() { close(ss.stop) })
	<-ss.done
}
