package hw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// readGit describes the git repository holding dir with the git binary.
// It returns nil, nil outside a repository or where git is not installed,
// and an error when git failed otherwise (a timeout, for instance).
func readGit(ctx context.Context, dir string, timeout time.Duration) (*Git, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	git := func(w io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, bin, append([]string{"-C", dir}, args...)...)
		// No prompts, no index.lock taken by status, stable output.
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = w, &stderr
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("hw: git %s: %w", args[0], ctx.Err())
			}
			return fmt.Errorf("hw: git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}

	var status bytes.Buffer
	if err := git(&status, "status", "--porcelain=v2", "--branch", "-z"); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // not a repository (or one git refuses to read)
	}
	g, tracked := parseStatus(status.Bytes())

	var errs []error
	var root bytes.Buffer
	if err := git(&root, "rev-parse", "--show-toplevel"); err != nil {
		errs = append(errs, err)
	} else {
		g.Root = strings.TrimSpace(root.String())
	}

	if tracked && g.Commit != "" {
		h := &countingHash{Hash: sha256.New()}
		err := git(h, "diff", "--binary", "--no-color", "--no-ext-diff", "--no-textconv",
			"--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--")
		switch {
		case err != nil:
			errs = append(errs, err)
		case h.n > 0:
			g.DiffSHA256 = hex.EncodeToString(h.Sum(nil))
		}
	}

	var remotes bytes.Buffer
	if err := git(&remotes, "remote", "-v"); err != nil {
		errs = append(errs, err)
	} else {
		g.Remote = StripCredentials(pickRemote(remotes.String(), g.upstream))
	}
	return &g.Git, errors.Join(errs...)
}

// countingHash is a hash.Hash that counts the bytes written.
type countingHash struct {
	hash.Hash
	n int64
}

func (h *countingHash) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.Hash.Write(p)
}

// gitStatus is Git plus what parseStatus learns for the later steps.
type gitStatus struct {
	Git
	upstream string // "origin/main"
}

// parseStatus reads `git status --porcelain=v2 --branch -z`. tracked
// reports changes to tracked files (the diff is worth hashing).
func parseStatus(out []byte) (g gitStatus, tracked bool) {
	dirty := false
	untracked := 0
	fields := strings.Split(string(out), "\x00")
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case strings.HasPrefix(f, "# branch.oid "):
			if oid := strings.TrimPrefix(f, "# branch.oid "); oid != "(initial)" {
				g.Commit = oid
			}
		case strings.HasPrefix(f, "# branch.head "):
			if head := strings.TrimPrefix(f, "# branch.head "); head != "(detached)" {
				g.Branch = head
			}
		case strings.HasPrefix(f, "# branch.upstream "):
			g.upstream = strings.TrimPrefix(f, "# branch.upstream ")
		case strings.HasPrefix(f, "? "):
			dirty = true
			untracked++
		case strings.HasPrefix(f, "1 "), strings.HasPrefix(f, "u "):
			dirty, tracked = true, true
		case strings.HasPrefix(f, "2 "):
			dirty, tracked = true, true
			i++ // a rename or copy is followed by its original path
		}
	}
	g.Dirty = &dirty
	g.Untracked = &untracked
	return g, tracked
}

// pickRemote returns the fetch URL of the upstream's remote, else of
// origin, else of the first remote, from `git remote -v` output.
func pickRemote(out, upstream string) string {
	var names []string
	urls := map[string]string{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if _, ok := urls[f[0]]; !ok {
			names = append(names, f[0])
			urls[f[0]] = f[1]
		}
	}
	best := ""
	for _, n := range names {
		if strings.HasPrefix(upstream, n+"/") && len(n) > len(best) {
			best = n
		}
	}
	switch {
	case best != "":
		return urls[best]
	case urls["origin"] != "":
		return urls["origin"]
	case len(names) > 0:
		return urls[names[0]]
	}
	return ""
}

var userinfoRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@`)

// StripCredentials removes credentials from a git remote URL: the user
// name and password of http(s) and other URLs
// ("https://user:token@host/repo" becomes "https://host/repo"), the
// password of ssh URLs (the user name, like git in ssh://git@host/repo,
// is kept), and the user:password part of scp-like remotes. Paths and
// other remotes come back unchanged.
func StripCredentials(remote string) string {
	if remote == "" {
		return ""
	}
	if scheme, _, ok := strings.Cut(remote, "://"); ok {
		u, err := url.Parse(remote)
		if err != nil {
			// Unparsable: cut whatever sits between "://" and "@".
			return userinfoRE.ReplaceAllString(remote, "${1}")
		}
		if u.User == nil {
			return remote
		}
		switch strings.ToLower(scheme) {
		case "ssh", "git+ssh", "ssh+git":
			u.User = url.User(u.User.Username())
		default:
			u.User = nil
		}
		return u.String()
	}
	// scp-like: [user@]host:path. A user part holding a ':' carries a
	// password; keep only the user name.
	if at := strings.Index(remote, "@"); at > 0 {
		if colon := strings.Index(remote, ":"); colon >= 0 && colon < at {
			return remote[:colon] + remote[at:]
		}
	}
	return remote
}
