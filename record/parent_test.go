package record_test

import (
	"errors"
	"testing"

	"github.com/recordlab/go-record/record"
)

// A child run knows its sweep, the sweep lists its children, and goals
// are stored per metric; a missing parent or an unknown goal is refused.
func TestParentAndGoals(t *testing.T) {
	ctx := t.Context()
	st, err := record.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	sweep, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for range 3 {
		kid, err := st.Create(ctx, "c", record.WithoutHost(), record.WithParent(sweep.ID()),
			record.WithGoal("acc", record.Maximize), record.WithGoal("loss", record.Minimize))
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, kid.ID())
	}
	got, err := st.ListAll(ctx, "c", record.Where("parent", "=", sweep.ID()))
	if err != nil || len(got) != 3 {
		t.Fatalf("children: %d, %v", len(got), err)
	}
	for i, s := range got {
		if s.ID() != kids[i] {
			t.Errorf("child %d = %s, want %s", i, s.ID(), kids[i])
		}
		if g, _ := s.Text("goals.acc"); g != "max" {
			t.Errorf("goals.acc = %q", g)
		}
	}
	if _, err := st.Create(ctx, "c", record.WithParent("nope")); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("missing parent: %v, want ErrNotFound", err)
	}
	if _, err := st.Create(ctx, "c", record.WithParent("bad id!")); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("bad parent id: %v, want ErrInvalid", err)
	}
	for _, bad := range [][2]string{{"acc", "maximum"}, {"a.b", "max"}, {"", "min"}} {
		if _, err := st.Create(ctx, "c", record.WithGoal(bad[0], bad[1])); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("WithGoal(%q, %q): %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	if err := sweep.Set(ctx, "parent", "x"); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Set parent: %v, want ErrInvalid (managed field)", err)
	}
}

// The machine facts are cached between Creates; each record still gets
// its own run.seed, and a record without a seed none.
func TestFactsCacheKeepsSeedsApart(t *testing.T) {
	ctx := t.Context()
	st, err := record.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	for _, seed := range []int64{1, 2, -1, 3} {
		var opts []record.CreateOption
		if seed >= 0 {
			opts = append(opts, record.WithSeed(seed))
		}
		rec, err := st.Create(ctx, "c", opts...)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := st.Get(ctx, "c", rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		got, ok := snap.Get("run.seed")
		switch {
		case seed < 0 && ok:
			t.Errorf("a record without a seed has run.seed %v", got)
		case seed >= 0 && got != seed:
			t.Errorf("run.seed = %v, want %d", got, seed)
		}
		if _, ok := snap.Get("host"); !ok {
			t.Error("no host facts")
		}
	}
}
