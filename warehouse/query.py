"""Read-side access for people: ad-hoc SQL and the status report, on read-only connections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from warehouse.db import Connection, load_sql, migrations, open_reader, schema_version
from warehouse.errors import WarehouseError
from warehouse.lake import Target

if TYPE_CHECKING:
    import pyarrow as pa


class QueryError(WarehouseError):
    """The user's SQL was rejected by DuckDB (syntax, unknown column, not allowed, …)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[object, ...]]


def run_query(db_path: Target, sql: str, params: list[object] | None = None) -> QueryResult:
    """Run one user query read-only. The connection cannot write, read files or the network."""
    with open_reader(db_path) as con:
        try:
            cursor = con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        if cursor is None:  # DuckDB's answer to text with no statement (blank, comments)
            raise QueryError("no SQL statement to run")
        try:
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        columns = [d[0] for d in cursor.description or []]
    return QueryResult(columns, rows)


def run_named(db_path: Target, name: str, params: list[object] | None = None) -> QueryResult:
    """Run one of paperflow's own packaged queries (`warehouse/sql/<name>`)."""
    return run_query(db_path, load_sql(name), params)


def search(db_path: Target, text: str, *, limit: int = 10) -> QueryResult:
    """Papers best matching `text` in title or abstract (BM25 over the search index, which
    every load keeps current: warehouse/search.py). The same SQL on a file and a DuckLake."""
    if not text.strip():
        raise QueryError("nothing to search for")
    with open_reader(db_path) as con:
        try:
            cursor = con.execute(load_sql("search_papers.sql"), {"query": text, "limit": limit})
        except duckdb.CatalogException as exc:
            raise QueryError(_no_index(con)) from exc
        rows = cursor.fetchall()
        return QueryResult([d[0] for d in cursor.description or []], rows)


def _no_index(con: Connection) -> str:
    """Why the search index is missing: an empty warehouse, or one last written by an older
    paperflow (readers never migrate; the next write does)."""
    try:
        version, newest = schema_version(con), migrations()[-1][0]
    except duckdb.Error:  # not even a schema_migrations table: nothing was ever written
        return "no search index yet: run an ingest or import first"
    if 0 < version < newest:
        return (f"the warehouse is at schema v{version} and search needs v{newest}: "
                "the next ingest or import upgrades it")  # fmt: skip
    return "no search index yet: run an ingest or import first"


# The tables and views `paperflow export` writes: a fixed list, never names taken from input.
EXPORT_TABLES = ("papers", "sightings", "pages", "runs", "merge_decisions", "paper_aliases")


def export(db_path: Target, out_dir: Path, *, fmt: str = "parquet") -> list[Path]:
    """Write every public table to `out_dir/<table>.<fmt>` (parquet or csv), atomically."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with open_reader(db_path) as con:
        for table in EXPORT_TABLES:
            data = con.execute(load_sql(f"export_{table}.sql")).fetch_arrow_table()
            target = out_dir / f"{table}.{fmt}"
            tmp = target.with_name(target.name + ".tmp")
            if fmt == "parquet":
                pq.write_table(data, tmp, compression="zstd")
            else:
                pacsv.write_csv(_csv_friendly(data), tmp)
            tmp.replace(target)
            written.append(target)
    return written


def _csv_friendly(table: pa.Table) -> pa.Table:
    """CSV has no lists: join list columns with '; '."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_list(col.type):
            col = pc.binary_join(pc.cast(col, pa.list_(pa.string())), "; ")
        columns.append(col)
    return pa.table(columns, names=table.column_names)
