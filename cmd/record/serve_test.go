package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that a server goroutine writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeRefusesAddresses(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "records.db")
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"0.0.0.0:0", "not a loopback address"},
		{":0", "not a loopback address"},
		{"[::]:0", "not a loopback address"},
		{"192.0.2.1:0", "not a loopback address"},
		{"example.com:80", "not a loopback address"},
		{"nonsense", "bad --addr"},
		{`"><script>:1`, "not a loopback address"},
	} {
		_, stderr, code := cli(t, "", "serve", "--dsn", dsn, "--addr", tc.addr)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve --addr %q: exit %d, stderr %q; want %d and %q", tc.addr, code, stderr, exitUsage, tc.want)
		}
		if tc.want != "bad --addr" && !strings.Contains(stderr, "--public") {
			t.Errorf("serve --addr %q: the refusal does not say how to allow it: %q", tc.addr, stderr)
		}
	}
	// A store that does not exist is not created: exit 3.
	if _, stderr, code := cli(t, "", "serve", "--dsn", dsn, "--addr", "127.0.0.1:0"); code != exitNotFound {
		t.Errorf("serve on a missing store: exit %d, stderr %q", code, stderr)
	}
	if _, _, code := cli(t, "", "serve", "extra"); code != exitUsage {
		t.Errorf("serve with an argument: exit %d", code)
	}
}

// TestServeRuns starts the server on a free loopback port, reads the
// pages of a seeded store, and stops it by cancelling its context.
func TestServeRuns(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "records.db")
	seed(t, open(t, dsn))
	for _, args := range [][]string{
		{"serve", "--dsn", dsn, "--addr", "127.0.0.1:0"},
		{"--dsn", dsn, "serve", "--addr", "[::1]:0", "--public"},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errb lockedBuffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errb) }()
		var url string
		re := regexp.MustCompile(`at (http://\S+/)`)
		for deadline := time.Now().Add(10 * time.Second); url == ""; {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				url = m[1]
				break
			}
			if time.Now().After(deadline) {
				if strings.Contains(errb.String(), "address") && strings.Contains(args[4], "::1") {
					cancel()
					t.Skipf("no IPv6 loopback here: %s", errb.String())
				}
				t.Fatalf("%v: no address printed; stdout %q, stderr %q", args, out.String(), errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		for path, want := range map[string]string{
			"":                    `href="/c/Nov-25-2026"`,
			"c/Nov-25-2026":       `data-id="run-b"`,
			"c/Nov-25-2026/run-b": "model_1 diverged",
			"c/Nov-25-2026/compare?ids=run-a,run-b&metric=loss": "<svg",
		} {
			resp, err := http.Get(url + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Errorf("GET /%s: %d, body lacks %q", path, resp.StatusCode, want)
			}
		}
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("%v: exit %d after cancel, stderr %q", args, code, errb.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: the server did not stop", args)
		}
	}
}
