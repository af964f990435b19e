package postgres_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
)

// TestPgdsRawDecode checks that the binary arrays of the slice query,
// decoded by appendRawPoints, give what pgx's scan into []int64,
// []float64 and []time.Time gives, bit for bit, for hostile steps,
// values and times as the server sends them back.
func TestPgdsRawDecode(t *testing.T) {
	be := openBackend(t)
	ctx := t.Context()
	steps := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 7, 7}
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 5e-324}
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN with a payload
	vals[0] = nan
	times := []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC), // before PostgreSQL's epoch
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Microsecond),
		time.Date(2026, 11, 26, 12, 0, 0, 123_456_000, time.FixedZone("x", 3600)),
		time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	}
	for _, n := range []int{len(steps), 1, 0} {
		sql := `select $1::bigint[], $2::float8[], $3::timestamptz[]`
		var (
			wantSteps []int64
			wantVals  []float64
			wantTimes []time.Time
		)
		if err := be.Pool().QueryRow(ctx, sql, steps[:n], vals[:n], times[:n]).Scan(&wantSteps, &wantVals, &wantTimes); err != nil {
			t.Fatal(err)
		}
		rows, err := be.Pool().Query(ctx, sql, pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.BinaryFormatCode, pgx.BinaryFormatCode}, steps[:n], vals[:n], times[:n])
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		raw := rows.RawValues()
		prefix := []backend.Point{{Step: 42}}
		got, err := postgres.AppendRawPoints(slices.Clone(prefix), raw[0], raw[1], raw[2])
		rows.Close()
		if err != nil {
			t.Fatalf("%d points: %v", n, err)
		}
		if len(got) != n+1 || got[0].Step != 42 {
			t.Fatalf("%d points: got %d points, want the prefix and %d", n, len(got), n)
		}
		for i, p := range got[1:] {
			if p.Step != wantSteps[i] || math.Float64bits(p.Value) != math.Float64bits(wantVals[i]) ||
				!p.Time.Equal(wantTimes[i]) || p.Time.Location() != time.UTC {
				t.Errorf("point %d = %+v (value bits %x), pgx scans %d, %x, %v", i, p, math.Float64bits(p.Value), wantSteps[i], math.Float64bits(wantVals[i]), wantTimes[i])
			}
		}
	}
}

// TestPgdsRawDecodeMalformed checks that arrays appendRawPoints cannot
// take whole (nulls, infinite times, two dimensions, other element
// types, unequal lengths, truncated bytes) are errors, not points.
func TestPgdsRawDecodeMalformed(t *testing.T) {
	be := openBackend(t)
	ctx := t.Context()
	raw := func(sql string) [][]byte {
		t.Helper()
		rows, err := be.Pool().Query(ctx, sql, pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.BinaryFormatCode, pgx.BinaryFormatCode})
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		var out [][]byte
		for _, r := range rows.RawValues() {
			out = append(out, slices.Clone(r))
		}
		return out
	}
	good := raw(`select '{1,2}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`)
	if _, err := postgres.AppendRawPoints(nil, good[0], good[1], good[2]); err != nil {
		t.Fatalf("well-formed arrays: %v", err)
	}
	for _, c := range []struct {
		name string
		sql  string
	}{
		{"null step", `select '{1,null}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"null value", `select '{1,2}'::bigint[], '{null,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"infinite time", `select '{1,2}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,infinity}'::timestamptz[]`},
		{"minus infinite time", `select '{1,2}'::bigint[], '{1.5,2}'::float8[], '{-infinity,2026-01-01}'::timestamptz[]`},
		{"two dimensions", `select '{{1},{2}}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"int4 steps", `select '{1,2}'::int[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"timestamp without zone", `select '{1,2}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamp[]`},
		{"values as steps", `select '{1.5,2}'::float8[], '{1,2}'::bigint[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"unequal lengths", `select '{1,2,3}'::bigint[], '{1.5,2}'::float8[], '{2026-01-01,2026-01-02}'::timestamptz[]`},
		{"empty and not", `select '{}'::bigint[], '{1.5}'::float8[], '{2026-01-01}'::timestamptz[]`},
	} {
		r := raw(c.sql)
		if pts, err := postgres.AppendRawPoints(nil, r[0], r[1], r[2]); !errors.Is(err, postgres.ErrRawArray) {
			t.Errorf("%s: %v, %v; want ErrRawArray", c.name, pts, err)
		}
	}
	for cut := range len(good[0]) {
		if _, err := postgres.AppendRawPoints(nil, good[0][:cut], good[1], good[2]); !errors.Is(err, postgres.ErrRawArray) {
			t.Errorf("steps cut to %d bytes: %v; want ErrRawArray", cut, err)
		}
	}
	long := append(slices.Clone(good[1]), 0)
	if _, err := postgres.AppendRawPoints(nil, good[0], long, good[2]); !errors.Is(err, postgres.ErrRawArray) {
		t.Errorf("a byte after the values: %v; want ErrRawArray", err)
	}
}
