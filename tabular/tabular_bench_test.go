package tabular_test

import (
	"bufio"
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/tabular"
)

// benchPoints is the number of points of the benchmark's one series.
const benchPoints = 1_000_000

// fixture is a SQLite file holding one run with benchPoints points of
// "loss", made once per process and removed by TestMain.
var fixture struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// benchDB returns the path of the fixture's SQLite file.
func benchDB(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "tabular-bench")
		if fixture.err != nil {
			return
		}
		ctx := context.Background()
		s, err := record.Open(ctx, "sqlite://"+filepath.Join(fixture.dir, "records.db"))
		if err != nil {
			fixture.err = err
			return
		}
		defer s.Close(ctx)
		rec, err := s.Create(ctx, "bench", record.WithID("run"), record.WithoutHost())
		if err != nil {
			fixture.err = err
			return
		}
		if err := rec.Update(ctx, map[string]any{"lr": 0.001, "opt": "adam"}); err != nil {
			fixture.err = err
			return
		}
		for i := range benchPoints {
			v := 1 / float64(i+1)
			if i%1000 == 999 {
				v = math.NaN()
			}
			rec.Log(int64(i), record.Metrics{"loss": v})
		}
		fixture.err = rec.Close(ctx, nil)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return filepath.Join(fixture.dir, "records.db")
}

// resetPeak forgets the process's peak resident memory, after a GC, so
// that peakMB reports the peak of what follows; false where /proc does
// not allow it.
func resetPeak() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// cpuTime is the user and system CPU time of the process so far: on
// shared cores it compares work better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakMB is the process's peak resident memory (VmHWM) in MB.
func peakMB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, false
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// BenchmarkExport exports one run with 1M points from SQLite to Parquet
// and to CSV with tabular.Export, beside the same points read with the raw
// driver (database/sql on the SQLite file, one query over the adapter's
// points table) and written with parquet-go or by hand, and beside
// record's JSON-lines export (Store.Export) of the same run. Each reports
// points/s, the CPU seconds per export (user + system, all goroutines:
// steadier than the wall clock on shared cores) and the process's peak
// resident memory during the export
// (peak-RSS-MB, VmHWM after a reset; it includes the Go runtime and the
// test binary, about 15-25 MB).
func BenchmarkExport(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	report := func(b *testing.B, start time.Time, cpu0 time.Duration, rssOK bool) {
		b.ReportMetric(float64(benchPoints)*float64(b.N)/time.Since(start).Seconds(), "points/s")
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		if peak, ok := peakMB(); ok && rssOK {
			b.ReportMetric(peak, "peak-RSS-MB")
		}
	}
	for _, f := range []tabular.Format{tabular.Parquet, tabular.CSV} {
		b.Run("tabular-"+string(f), func(b *testing.B) {
			s, err := record.OpenExisting(ctx, "sqlite://"+db)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			out := b.TempDir()
			rssOK := resetPeak()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				rep, err := tabular.Export(ctx, s, out, []string{"bench"}, tabular.Options{Format: f})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Points != benchPoints {
					b.Fatalf("exported %d points", rep.Points)
				}
			}
			report(b, start, cpu0, rssOK)
		})
	}
	for _, f := range []tabular.Format{tabular.Parquet, tabular.CSV} {
		b.Run("raw-"+string(f), func(b *testing.B) {
			conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			out := b.TempDir()
			rssOK := resetPeak()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				if n := rawExport(b, conn, filepath.Join(out, "points."+string(f)), f); n != benchPoints {
					b.Fatalf("exported %d points", n)
				}
			}
			report(b, start, cpu0, rssOK)
		})
	}
	b.Run("jsonl", func(b *testing.B) {
		s, err := record.OpenExisting(ctx, "sqlite://"+db)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		path := filepath.Join(b.TempDir(), "export.jsonl")
		rssOK := resetPeak()
		start, cpu0 := time.Now(), cpuTime()
		for range b.N {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<16)
			if _, err := s.Export(ctx, "bench", w); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		report(b, start, cpu0, rssOK)
	})
}

// rawPoint is a row of the raw baseline's Parquet file: the same columns
// and encodings as tabular's points table.
type rawPoint struct {
	Collection string    `parquet:"collection,dict"`
	ID         string    `parquet:"id,dict"`
	Metric     string    `parquet:"metric,dict"`
	Step       int64     `parquet:"step,delta"`
	Value      float64   `parquet:"value"`
	Time       time.Time `parquet:"time,timestamp(millisecond)"`
}

// rawExport writes the points of collection "bench" to path with the raw
// driver, the way the SQLite adapter stores them: the series of the
// collection from records_series, then each series' points from
// records_points in sequence order (value holds the float's bits, time
// Unix milliseconds), written in row groups of tabular.DefaultRowGroup.
func rawExport(b *testing.B, conn *sql.DB, path string, f tabular.Format) int {
	type series struct {
		sid      int64
		id, name string
	}
	var all []series
	srows, err := conn.Query(`SELECT sid, id, name FROM records_series WHERE collection = ? ORDER BY id, name`, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for srows.Next() {
		var s series
		if err := srows.Scan(&s.sid, &s.id, &s.name); err != nil {
			b.Fatal(err)
		}
		all = append(all, s)
	}
	if err := srows.Err(); err != nil {
		b.Fatal(err)
	}
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	bw := bufio.NewWriterSize(file, 1<<16)
	var pw *parquet.GenericWriter[rawPoint]
	if f == tabular.Parquet {
		pw = parquet.NewGenericWriter[rawPoint](file, parquet.MaxRowsPerRowGroup(tabular.DefaultRowGroup), parquet.Compression(&parquet.Snappy))
	} else {
		bw.WriteString("collection,id,metric,step,value,time\n")
	}
	batch := make([]rawPoint, 0, 1024)
	var line []byte
	n := 0
	for _, s := range all {
		rows, err := conn.Query(`SELECT step, value, time FROM records_points WHERE sid = ? ORDER BY seq`, s.sid)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			p := rawPoint{Collection: "bench", ID: s.id, Metric: s.name}
			var bits, ms int64
			if err := rows.Scan(&p.Step, &bits, &ms); err != nil {
				b.Fatal(err)
			}
			p.Value = math.Float64frombits(uint64(bits))
			p.Time = time.UnixMilli(ms).UTC()
			n++
			if pw != nil {
				if batch = append(batch, p); len(batch) == cap(batch) {
					if _, err := pw.Write(batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
				continue
			}
			line = append(line[:0], p.Collection...)
			line = append(line, ',')
			line = append(line, p.ID...)
			line = append(line, ',')
			line = append(line, p.Metric...)
			line = append(line, ',')
			line = strconv.AppendInt(line, p.Step, 10)
			line = append(line, ',')
			line = strconv.AppendFloat(line, p.Value, 'g', -1, 64)
			line = append(line, ',')
			line = p.Time.AppendFormat(line, "2006-01-02T15:04:05.000Z")
			line = append(line, '\n')
			bw.Write(line)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
	if pw != nil {
		if _, err := pw.Write(batch); err != nil {
			b.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	return n
}
