package hw_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/hw"
)

// gitRepo makes a repository with one commit in a temporary directory.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "trunk")
	write(t, dir, "main.go", "package main\n")
	run(t, dir, "add", ".")
	run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first")
	return dir
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitState detects the repository at dir with a fresh cache (the git
// state is cached per directory).
func gitState(t *testing.T, dir string) *hw.Git {
	t.Helper()
	hw.ResetCache()
	info, err := hw.Detect(t.Context(), hw.Options{Dir: dir})
	if err != nil {
		t.Logf("Detect: %v", err)
	}
	return info.Build.Git
}

func TestGitState(t *testing.T) {
	dir := gitRepo(t)
	run(t, dir, "remote", "add", "origin", "https://alice:ghp_secret@github.com/org/repo.git")
	commit := run(t, dir, "rev-parse", "HEAD")
	root := run(t, dir, "rev-parse", "--show-toplevel")

	clean, untracked0 := false, 0
	want := &hw.Git{
		Root: root, Commit: commit, Branch: "trunk", Dirty: &clean, Untracked: &untracked0,
		Remote: "https://github.com/org/repo.git",
	}
	if diff := cmp.Diff(want, gitState(t, dir)); diff != "" {
		t.Errorf("clean repository (-want +got):\n%s", diff)
	}

	// An untracked file makes the tree dirty but changes no tracked code.
	write(t, dir, "notes.txt", "x")
	g := gitState(t, dir)
	if g.Dirty == nil || !*g.Dirty || g.Untracked == nil || *g.Untracked != 1 || g.DiffSHA256 != "" {
		t.Errorf("untracked file: %+v, want dirty, 1 untracked, no diff hash", g)
	}

	// A modification gets a diff hash that follows the content.
	write(t, dir, "main.go", "package main\n\nfunc main() {}\n")
	h1 := gitState(t, dir).DiffSHA256
	if len(h1) != 64 {
		t.Fatalf("diff_sha256 = %q, want 64 hex digits", h1)
	}
	if h := gitState(t, dir).DiffSHA256; h != h1 {
		t.Errorf("same diff, different hashes %s, %s", h1, h)
	}
	run(t, dir, "add", "main.go") // staged or not, the same change
	if h := gitState(t, dir).DiffSHA256; h != h1 {
		t.Errorf("staging changed the diff hash: %s, %s", h1, h)
	}
	write(t, dir, "main.go", "package main\n\nfunc main() { println() }\n")
	if h := gitState(t, dir).DiffSHA256; h == h1 || h == "" {
		t.Errorf("another change kept the diff hash %s", h)
	}

	// Detached HEAD: no branch.
	run(t, dir, "checkout", "-q", "--detach")
	if g := gitState(t, dir); g.Branch != "" || g.Commit != commit {
		t.Errorf("detached HEAD: %+v, want no branch, commit %s", g, commit)
	}

	// A subdirectory belongs to the same repository.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if g := gitState(t, sub); g == nil || g.Root != root {
		t.Errorf("subdirectory: %+v, want root %s", g, root)
	}
}

func TestGitNoCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "trunk")
	g := gitState(t, dir)
	if g == nil || g.Commit != "" || g.Branch != "trunk" {
		t.Errorf("repository without commits: %+v, want no commit, branch trunk", g)
	}
}

func TestGitUpstreamRemote(t *testing.T) {
	dir := gitRepo(t)
	run(t, dir, "remote", "add", "origin", "git@github.com:org/repo.git")
	run(t, dir, "remote", "add", "fork", "ssh://bob:pw@example.com/bob/repo.git")
	run(t, dir, "config", "branch.trunk.remote", "fork")
	run(t, dir, "config", "branch.trunk.merge", "refs/heads/trunk")
	run(t, dir, "update-ref", "refs/remotes/fork/trunk", "HEAD")
	if g := gitState(t, dir); g.Remote != "ssh://bob@example.com/bob/repo.git" {
		t.Errorf("remote = %q, want the upstream's, without the password", g.Remote)
	}
}

func TestStripCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://alice:ghp_abc@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://oauth2:glpat-x@gitlab.com/org/repo", "https://gitlab.com/org/repo"},
		{"https://ghp_tokenonly@github.com/org/repo", "https://github.com/org/repo"},
		{"http://user:p%40ss@host:8080/r", "http://host:8080/r"},
		{"ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"ssh://git:pw@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"user:pw@host:org/repo.git", "user@host:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"file:///srv/git/repo.git", "file:///srv/git/repo.git"},
		{"https://user:pa ss%zz@host/r", "https://host/r"}, // unparsable
	}
	for _, tt := range tests {
		if got := hw.StripCredentials(tt.in); got != tt.want {
			t.Errorf("StripCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
