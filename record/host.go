package record

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recordlab/go-record/hw"
	"github.com/recordlab/go-record/internal/redact"
)

// facts returns the host, build and run facts that Create stores, from
// hw.Detect (cached after the first call). A fact the machine cannot give
// is absent; failing to read one never fails Create.
//
// hw.Detect gathers the machine and the directory once per process; what
// it returns later depends only on the working directory, the command
// line and the captured environment. So facts keeps its last result under
// those inputs (detectKey) and, while they are unchanged, skips hw.Detect
// and the encoding and hashing that find the normalized facts in
// factsCache: those cost most of a Create.
func facts(ctx context.Context, cfg *createConfig) (map[string]any, error) {
	key, keyed := detectKey(cfg.env)
	var host, build, run map[string]any
	lastFacts.Lock()
	if keyed && lastFacts.key == key && lastFacts.host != nil {
		host, build, run = lastFacts.host, lastFacts.build, lastFacts.run
	}
	lastFacts.Unlock()
	if host == nil {
		info, _ := hw.Detect(ctx, hw.Options{Env: cfg.env})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if info == nil {
			return nil, nil
		}
		var err error
		host, build, run, err = machineFacts(info)
		if err != nil {
			return nil, err
		}
		if keyed {
			lastFacts.Lock()
			lastFacts.key, lastFacts.host, lastFacts.build, lastFacts.run = key, host, build, run
			lastFacts.Unlock()
		}
	}
	if cfg.seed != nil {
		run = maps.Clone(run)
		run["seed"] = *cfg.seed
	}
	return map[string]any{"host": host, "build": build, "run": run}, nil
}

// lastFacts holds the facts of the last Create (from machineFacts, so
// shared and never changed) and the detectKey they were detected under.
var lastFacts struct {
	sync.Mutex
	key              string
	host, build, run map[string]any
}

// detectKey returns the inputs of hw.Detect that may change while the
// process runs: the working directory, the command line, and, when
// patterns ask for environment variables, the environment. false when the
// working directory cannot be read (then Detect runs every time).
func detectKey(patterns []string) (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	var sb strings.Builder
	write := func(list []string) {
		sb.WriteString(strconv.Itoa(len(list)))
		for _, s := range list {
			sb.WriteByte(0)
			sb.WriteString(strconv.Itoa(len(s)))
			sb.WriteByte(':')
			sb.WriteString(s)
		}
		sb.WriteByte(0)
	}
	write([]string{wd})
	write(os.Args)
	write(patterns)
	if len(patterns) > 0 {
		write(os.Environ())
	}
	return sb.String(), true
}

// factsCache holds the redacted, normalized facts of the last few
// machines and processes seen (in practice one, or one per working
// directory or WithEnv): they do not change while the process runs, and
// redacting and normalizing them (every string through the secret
// patterns) cost most of a Create. The maps are shared by the documents
// of every Create, which no one changes: backends copy or encode them
// (run is cloned to add the seed).
var factsCache struct {
	sync.Mutex
	keys    []string
	entries map[string][3]map[string]any
}

// machineFacts returns info's Host, Build and Run (without a seed)
// redacted and normalized, from the cache when the same facts were seen
// before.
func machineFacts(info *hw.Info) (host, build, run map[string]any, err error) {
	info.Run.Seed = nil
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("record: host facts: %w", err)
	}
	sum := sha256.Sum256(raw)
	key := string(sum[:])
	factsCache.Lock()
	e, ok := factsCache.entries[key]
	factsCache.Unlock()
	if ok {
		return e[0], e[1], e[2], nil
	}
	RedactFacts(info)
	for i, v := range []any{info.Host, info.Build, info.Run} {
		name := [...]string{"host", "build", "run"}[i]
		nv, err := normalizeAt(v, name)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("record: host facts: %w", err)
		}
		e[i], _ = nv.(map[string]any)
	}
	factsCache.Lock()
	defer factsCache.Unlock()
	if factsCache.entries == nil {
		factsCache.entries = map[string][3]map[string]any{}
	}
	if _, ok := factsCache.entries[key]; !ok {
		factsCache.keys = append(factsCache.keys, key)
		if len(factsCache.keys) > 8 {
			delete(factsCache.entries, factsCache.keys[0])
			factsCache.keys = factsCache.keys[1:]
		}
	}
	factsCache.entries[key] = e
	return e[0], e[1], e[2], nil
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
	redactRun(info)
	redactBuild(info)
}

// redactRun masks the secrets of info.Run: command line, environment,
// paths.
func redactRun(info *hw.Info) {
	info.Run.Args = redact.Args(info.Run.Args)
	for name, v := range info.Run.Env {
		info.Run.Env[name] = redact.Env(name, v)
	}
	info.Run.Executable = redact.Text(info.Run.Executable)
	info.Run.Dir = redact.Text(info.Run.Dir)
}

// redactBuild masks the secrets of info.Build: build settings and the git
// remote.
func redactBuild(info *hw.Info) {
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
