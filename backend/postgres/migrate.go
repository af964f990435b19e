package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrationLock is the key of the transaction-level advisory lock that
// serialises migrations of every table in a database ("record" in ASCII).
const migrationLock int64 = 0x7265636f7264

// names are the quoted identifiers a migration's SQL uses.
type names struct {
	schema  string // the schema, quoted
	records string // the records table, schema-qualified and quoted
	series  string // the series table
	merge   string // the merge function
	lz4     bool   // the server can compress with lz4
}

// migrations[i] brings a table from version i to i+1. Never edit one that
// has shipped; append a new one.
var migrations = []func(n names) []string{v1, v2}

// v1 creates the records table, the series table and the merge function.
func v1(n names) []string {
	compression := ""
	if n.lz4 {
		compression = " compression lz4"
	}
	return []string{
		`create table if not exists ` + n.records + ` (
			collection text collate "C" not null,
			id text collate "C" not null,
			doc jsonb` + compression + ` not null,
			created_at timestamptz not null default now(),
			updated_at timestamptz not null default now(),
			primary key (collection, id)
		) with (toast_tuple_target = 8160)`,
		// One row per chunk of up to seriesChunk points: the primary key
		// costs one index entry per chunk, not per point.
		`create table if not exists ` + n.series + ` (
			collection text collate "C" not null,
			id text collate "C" not null,
			name text collate "C" not null,
			seq bigint generated always as identity,
			steps bigint[]` + compression + ` not null,
			vals float8[]` + compression + ` not null,
			times timestamptz[]` + compression + ` not null,
			primary key (collection, id, name, seq)
		)`,
		mergeFunction(n.merge),
	}
}

// v2 adds to the series table, per chunk, its smallest and greatest step
// (lo, hi) and the block summaries of its points (sums, rollup.Encode),
// which range and downsampled reads use instead of the points. They are
// null on the rows written before (or by a library of version 1): those
// are read whole.
func v2(n names) []string {
	return []string{
		`alter table ` + n.series + `
			add column if not exists lo bigint,
			add column if not exists hi bigint,
			add column if not exists sums bytea`,
	}
}

// mergeFunction returns the SQL that creates the merge function: doc with
// the ops applied in order. ops is a JSON array of {"k": "set"|"append"|
// "unset", "p": [keys...], "v": value}. Set and Append create missing
// parent objects (jsonb_set alone only creates the last path element); a
// path through a scalar, an array or a tagged value ({"$float": ..}), or
// Append to a non-array, raises SQLSTATE RC001 and so changes nothing.
func mergeFunction(name string) string {
	return `create or replace function ` + name + `(doc jsonb, ops jsonb) returns jsonb
language plpgsql immutable parallel safe as $fn$
declare
	op jsonb;
	kind text;
	p text[];
	n int;
	missing int;
	cur jsonb;
	val jsonb;
begin
	for op in select e from jsonb_array_elements(ops) as t(e) loop
		kind := op->>'k';
		p := array(select jsonb_array_elements_text(op->'p'));
		n := cardinality(p);
		missing := 0;
		for i in 1..n-1 loop
			cur := doc #> p[1:i];
			if cur is null then
				missing := i;
				exit;
			end if;
			if jsonb_typeof(cur) <> 'object' or cur ?| array['$float', '$time', '$string'] then
				raise exception using errcode = '` + conflictCode + `',
					message = format('%s %s: %s is %s, not an object', kind, array_to_string(p, '.'),
						array_to_string(p[1:i], '.'), case when jsonb_typeof(cur) = 'object' then 'a tagged value' else jsonb_typeof(cur) end);
			end if;
		end loop;
		if kind = 'unset' then
			if missing = 0 then
				doc := doc #- p;
			end if;
			continue;
		end if;
		if kind <> 'set' and kind <> 'append' then
			raise exception using errcode = '` + conflictCode + `', message = format('unknown op kind %s', kind);
		end if;
		val := op->'v';
		if kind = 'append' and missing = 0 then
			cur := doc #> p;
			if cur is not null then
				if jsonb_typeof(cur) <> 'array' then
					raise exception using errcode = '` + conflictCode + `',
						message = format('append %s: it is %s, not an array', array_to_string(p, '.'),
							case when cur ?| array['$float', '$time', '$string'] then 'a tagged value' else jsonb_typeof(cur) end);
				end if;
				val := cur || val;
			end if;
		end if;
		if missing = 0 then
			doc := jsonb_set(doc, p, val, true);
		else
			for j in reverse n..missing+1 loop
				val := jsonb_build_object(p[j], val);
			end loop;
			doc := jsonb_set(doc, p[1:missing], val, true);
		end if;
	end loop;
	return doc;
end
$fn$`
}

// migrate creates the schema, the tables and the merge function, or brings
// them to the current version, in one transaction under an advisory lock,
// so that many processes may open a fresh database at once.
func (b *Backend) migrate(ctx context.Context) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if b.schema != "" {
		if _, err := tx.Exec(ctx, `create schema if not exists `+pgx.Identifier{b.schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema: %w", err)
		}
	} else if err := tx.QueryRow(ctx, `select current_schema()`).Scan(&b.schema); err != nil {
		return fmt.Errorf("migrate: current schema (is search_path empty?): %w", err)
	}
	n := names{
		schema:  pgx.Identifier{b.schema}.Sanitize(),
		records: pgx.Identifier{b.schema, b.table}.Sanitize(),
		series:  pgx.Identifier{b.schema, b.table + "_series"}.Sanitize(),
		merge:   pgx.Identifier{b.schema, "record_merge_v1"}.Sanitize(),
	}
	b.records, b.series, b.merge = n.records, n.series, n.merge
	versions := pgx.Identifier{b.schema, "record_migrations"}.Sanitize()
	if _, err := tx.Exec(ctx, `create table if not exists `+versions+` (
		table_name text primary key,
		version int not null,
		migrated_at timestamptz not null default now())`); err != nil {
		return fmt.Errorf("migrate: versions table: %w", err)
	}
	var version int
	err = tx.QueryRow(ctx, `select version from `+versions+` where table_name = $1`, b.table).Scan(&version)
	if err != nil && err != pgx.ErrNoRows {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("migrate: table %s is at version %d, newer than this library knows (%d): upgrade the library", n.records, version, len(migrations))
	}
	var exists bool
	if err := tx.QueryRow(ctx, `select to_regclass($1) is not null and to_regclass($2) is not null`, n.records, n.series).Scan(&exists); err != nil {
		return fmt.Errorf("migrate: look for tables: %w", err)
	}
	if version == len(migrations) && exists {
		return tx.Commit(ctx)
	}
	if !exists {
		version = 0 // dropped by hand: every migration is written to run again
	}
	if err := tx.QueryRow(ctx, `select coalesce((select 'lz4' = any(enumvals) from pg_settings where name = 'default_toast_compression'), false)`).Scan(&n.lz4); err != nil {
		return fmt.Errorf("migrate: lz4 support: %w", err)
	}
	for v := version; v < len(migrations); v++ {
		for _, stmt := range migrations[v](n) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v+1, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `insert into `+versions+` (table_name, version) values ($1, $2)
		on conflict (table_name) do update set version = excluded.version, migrated_at = now()`, b.table, len(migrations)); err != nil {
		return fmt.Errorf("migrate: record version: %w", err)
	}
	return tx.Commit(ctx)
}
