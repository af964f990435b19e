package spool_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// extremePoints are points whose steps and times jump by the largest
// differences an int64 holds, both ways, so that packing them by
// differences must wrap around exactly.
func extremePoints() []backend.Point {
	ms := []int64{math.MinInt64 / 2, math.MaxInt64 / 2, -1, 0, math.MaxInt64 / 2, math.MinInt64 / 2}
	steps := []int64{math.MaxInt64, math.MinInt64, math.MaxInt64, -1, math.MinInt64, 0}
	pts := make([]backend.Point, len(ms))
	for i := range pts {
		pts[i] = backend.Point{Step: steps[i], Value: hostileFloats[i], Time: time.UnixMilli(ms[i]).UTC()}
	}
	return pts
}

// TestAppendBatch writes every entry case in one AppendBatch between two
// Appends, with an entry function that reuses one slice of points for
// every entry, and reads them back in order, also through a new handle.
func TestAppendBatch(t *testing.T) {
	root := t.TempDir()
	j, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cases := entryCases()
	first := bigEntry(1, 1000)
	if _, err := j.Append(first); err != nil {
		t.Fatal(err)
	}
	want := []spool.Entry{first}
	var ins []spool.Entry
	for _, c := range cases {
		ins, want = append(ins, c.in), append(want, c.want)
	}
	ext := extremePoints()
	ins = append(ins, spool.Entry{Seq: 9, Metric: "x", Points: ext})
	want = append(want, spool.Entry{Seq: 9, Metric: "x", Points: ext})
	// Enough 2000-point entries for several writes of 1 MiB.
	for s := int64(10); s < 70; s++ {
		e := bigEntry(s, 2000)
		ins, want = append(ins, e), append(want, e)
	}
	var scratch []backend.Point
	end, err := j.AppendBatch(len(ins), func(i int) spool.Entry {
		e := ins[i]
		if e.Points != nil {
			scratch = append(scratch[:0], e.Points...)
			e.Points = scratch
		}
		return e
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
		t.Fatalf("file size %v (%v), AppendBatch returned end %d", fi.Size(), err, end)
	}
	if e, err := j.AppendBatch(0, nil); err != nil || e != end {
		t.Fatalf("AppendBatch of nothing = %d, %v; want %d, nil", e, err, end)
	}
	last := bigEntry(200, 10)
	if _, err := j.Append(last); err != nil {
		t.Fatal(err)
	}
	want = append(want, last)
	wantEntries(t, j, want)
	j.Close()
	if j, err = spool.Open(j.Path()); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, j, want)
}

// TestAppendBatchInvalid: an entry that cannot be encoded, after more
// than a MiB of the batch was written, leaves the journal as it was, and
// the journal takes appends again.
func TestAppendBatchInvalid(t *testing.T) {
	j, err := spool.Create(t.TempDir(), header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	first := bigEntry(1, 100)
	end, err := j.Append(first)
	if err != nil {
		t.Fatal(err)
	}
	bad := spool.Entry{Seq: 99, Ops: []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: struct{}{}}}}
	_, err = j.AppendBatch(200, func(i int) spool.Entry {
		if i == 150 {
			return bad
		}
		return bigEntry(int64(i+2), 2000)
	})
	if !errors.Is(err, backend.ErrInvalid) {
		t.Fatalf("AppendBatch with an invalid entry = %v, want ErrInvalid", err)
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
		t.Fatalf("size %v (%v) after the failed batch, want %d: frames of it were left", fi.Size(), err, end)
	}
	next := bigEntry(2, 100)
	if _, err := j.AppendBatch(1, func(int) spool.Entry { return next }); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, j, []spool.Entry{first, next})
}

// TestAppendBatchDiskFull fills a 256 KiB tmpfs with batches: the batch
// that does not fit fails with ErrFull and leaves none of its entries;
// every batch acknowledged before it reads back.
func TestAppendBatchDiskFull(t *testing.T) {
	root := smallFS(t, "256k")
	j, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var acked []spool.Entry
	var end int64
	for seq := int64(1); ; seq += 3 {
		batch := []spool.Entry{bigEntry(seq, 1000), bigEntry(seq+1, 1000), bigEntry(seq+2, 1000)}
		n, err := j.AppendBatch(len(batch), func(i int) spool.Entry { return batch[i] })
		if err != nil {
			if !errors.Is(err, backend.ErrFull) {
				t.Fatalf("AppendBatch on a full disk = %v, want ErrFull", err)
			}
			t.Logf("after %d entries: %v", len(acked), err)
			break
		}
		if seq > 300 {
			t.Fatal("the 256 KiB file system never filled")
		}
		acked, end = append(acked, batch...), n
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
		t.Fatalf("size %v (%v) after the failed batch, want %d: a partial batch was left", fi.Size(), err, end)
	}
	wantEntries(t, j, acked)
}

// TestPackedSize: a training loop's 1000 points (steps one apart, times a
// millisecond apart) take about 10 bytes each in the journal, not 24.
func TestPackedSize(t *testing.T) {
	j, err := spool.Create(t.TempDir(), header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	start, err := j.AppendBatch(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	end, err := j.Append(bigEntry(1, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if size := end - start; size > 10_100 {
		t.Fatalf("an entry of 1000 points takes %d bytes, want at most 10,100", size)
	}
}

// frameOf wraps a payload in a frame: length, CRC-32C, payload.
func frameOf(p []byte) []byte {
	f := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
	f = binary.LittleEndian.AppendUint32(f, crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)))
	return append(f, p...)
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// TestReadVersion1 reads a journal written by the first version of the
// format (points of 24 bytes), built here byte by byte, and appends to it.
func TestReadVersion1(t *testing.T) {
	h := header()
	hp := appendStr([]byte{1}, "record-spool")
	hp = binary.AppendUvarint(hp, 1)
	for _, s := range []string{h.Store, h.Collection, h.ID, h.Writer} {
		hp = appendStr(hp, s)
	}
	hp = binary.AppendVarint(hp, h.Created.UnixMilli())
	pts := append(extremePoints(), bigEntry(3, 5).Points...)
	ep := binary.AppendVarint([]byte{2}, 7) // an entry, seq 7
	ep = appendStr(append(ep, 0), "loss\xff")
	ep = binary.AppendUvarint(ep, uint64(len(pts)))
	for _, p := range pts {
		ep = binary.LittleEndian.AppendUint64(ep, uint64(p.Step))
		ep = binary.LittleEndian.AppendUint64(ep, math.Float64bits(p.Value))
		ep = binary.LittleEndian.AppendUint64(ep, uint64(p.Time.UnixMilli()))
	}
	ep = binary.AppendUvarint(ep, 0)
	path := filepath.Join(t.TempDir(), "r1.w1.journal")
	if err := os.WriteFile(path, append(frameOf(hp), frameOf(ep)...), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	old := spool.Entry{Seq: 7, Metric: "loss\xff", Points: pts}
	wantEntries(t, j, []spool.Entry{old})
	next := bigEntry(8, 3)
	if _, err := j.Append(next); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, j, []spool.Entry{old, next})
}

// TestRawPoints: points given in the journal's own form (Entry.Raw) read
// back as Points, bit for bit, hostile values and int64 extremes among
// them, through Append, AppendBatch and Write; an entry with both forms
// is refused and leaves nothing.
func TestRawPoints(t *testing.T) {
	pts, _ := hostilePoints()
	pts = append(pts, extremePoints()...)
	raw := make([]spool.RawPoint, len(pts))
	want := make([]backend.Point, len(pts))
	for i, p := range pts {
		ms := p.Time.UnixMilli()
		raw[i] = spool.RawPoint{Step: p.Step, Value: p.Value, Ms: ms}
		want[i] = backend.Point{Step: p.Step, Value: p.Value, Time: time.UnixMilli(ms).UTC()}
	}
	j, err := spool.Create(t.TempDir(), header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// In three slices, one of them empty.
	e := spool.Entry{Seq: 3, Metric: "loss\x00\"", Raw: [][]spool.RawPoint{raw[:4], nil, raw[4:]}}
	if _, err := j.Append(e); err != nil {
		t.Fatal(err)
	}
	if _, err := j.AppendBatch(2, func(int) spool.Entry { return e }); err != nil {
		t.Fatal(err)
	}
	end, err := j.Write(1, func(int) spool.Entry { return e })
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	both := spool.Entry{Seq: 4, Raw: [][]spool.RawPoint{raw}, Points: want}
	if _, err := j.AppendBatch(1, func(int) spool.Entry { return both }); !errors.Is(err, backend.ErrInvalid) {
		t.Fatalf("an entry with Raw and Points = %v, want ErrInvalid", err)
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
		t.Fatalf("size %v (%v) after the refused entry, want %d", fi.Size(), err, end)
	}
	w := spool.Entry{Seq: 3, Metric: "loss\x00\"", Points: want}
	wantEntries(t, j, []spool.Entry{w, w, w, w})
}
