package tabular

import (
	"io"
	"reflect"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// pointRow is a row of the points table in Parquet.
type pointRow struct {
	Collection string    `parquet:"collection,dict"`
	ID         string    `parquet:"id,dict"`
	Metric     string    `parquet:"metric,dict"`
	Step       int64     `parquet:"step,delta"`
	Value      float64   `parquet:"value"`
	Time       time.Time `parquet:"time,timestamp(millisecond)"`
}

// parquetPoints writes the points table as Parquet.
type parquetPoints struct {
	w    *parquet.GenericWriter[pointRow]
	rows []pointRow
}

func newParquetPoints(w io.Writer, rowGroup int) *parquetPoints {
	return &parquetPoints{w: parquet.NewGenericWriter[pointRow](w, writerOptions(rowGroup)...)}
}

func writerOptions(rowGroup int) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.MaxRowsPerRowGroup(int64(rowGroup)),
		parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("github.com/recordlab/go-record/tabular", "", ""),
	}
}

func (p *parquetPoints) write(coll, id, metric string, pts []record.Point) error {
	p.rows = p.rows[:0]
	for _, pt := range pts {
		p.rows = append(p.rows, pointRow{Collection: coll, ID: id, Metric: metric, Step: pt.Step, Value: pt.Value, Time: pt.Time})
	}
	_, err := p.w.Write(p.rows)
	return err
}

func (p *parquetPoints) close() error { return p.w.Close() }

// parquetRuns writes the runs table as Parquet, with a schema made from
// the columns found.
type parquetRuns struct {
	w    *parquet.Writer
	cols []column
	row  parquet.Row
	buf  []byte
}

func newParquetRuns(w io.Writer, cols []column, rowGroup int) *parquetRuns {
	fields := make(orderedGroup, len(cols))
	for i, c := range cols {
		var n parquet.Node
		switch c.typ {
		case tBool:
			n = parquet.Leaf(parquet.BooleanType)
		case tInt:
			n = parquet.Int(64)
		case tFloat:
			n = parquet.Leaf(parquet.DoubleType)
		case tTime:
			n = parquet.Timestamp(parquet.Millisecond)
		default:
			n = parquet.String()
		}
		fields[i] = &groupField{Node: parquet.Optional(n), name: c.name}
	}
	schema := parquet.NewSchema("runs", fields)
	// Runs are few and their columns may be many (every param path of
	// every run): small page buffers keep memory per column small.
	opts := append(writerOptions(rowGroup), schema, parquet.PageBufferSize(4<<10), parquet.ColumnPageBuffers(parquet.NewChunkBufferPool(4<<10)))
	return &parquetRuns{w: parquet.NewWriter(w, opts...), cols: cols}
}

func (p *parquetRuns) write(row map[string]any) error {
	p.row = p.row[:0]
	for i, c := range p.cols {
		v, ok := row[c.name]
		if !ok || v == nil {
			p.row = append(p.row, parquet.NullValue().Level(0, 0, i))
			continue
		}
		var pv parquet.Value
		switch c.typ {
		case tBool:
			pv = parquet.BooleanValue(v.(bool))
		case tInt:
			pv = parquet.Int64Value(v.(int64))
		case tFloat:
			pv = parquet.DoubleValue(asFloat(v))
		case tTime:
			pv = parquet.Int64Value(v.(time.Time).UnixMilli())
		case tString:
			pv = parquet.ByteArrayValue([]byte(v.(string)))
		default:
			var err error
			if p.buf, err = docjson.Append(p.buf[:0], v); err != nil {
				return err
			}
			pv = parquet.ByteArrayValue(append([]byte(nil), p.buf...))
		}
		p.row = append(p.row, pv.Level(0, 1, i))
	}
	_, err := p.w.WriteRows([]parquet.Row{p.row})
	return err
}

func (p *parquetRuns) close() error { return p.w.Close() }

// asFloat is a float column's value: a float64, or an int64 that converts
// exactly (colStats.typ checked it).
func asFloat(v any) float64 {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	return v.(float64)
}

// orderedGroup is a Parquet group whose columns keep the order given
// (parquet.Group sorts them by name).
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return "runs" }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

// groupField names a column of an orderedGroup.
type groupField struct {
	parquet.Node
	name string
}

func (f *groupField) Name() string { return f.name }

// Value is never called: rows are written as parquet.Row values.
func (f *groupField) Value(base reflect.Value) reflect.Value {
	return base.MapIndex(reflect.ValueOf(f.name))
}
