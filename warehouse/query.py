"""Read-side access for people: ad-hoc SQL and the status report, on read-only connections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.db import load_sql, open_reader
from warehouse.errors import WarehouseError


class QueryError(WarehouseError):
    """The user's SQL was rejected by DuckDB (syntax, unknown column, not allowed, …)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[object, ...]]


def run_query(db_path: Path, sql: str, params: list[object] | None = None) -> QueryResult:
    """Run one user query read-only. The connection cannot write, read files or the network."""
    with open_reader(db_path) as con:
        try:
            cursor = con.execute(sql, params or [])
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        columns = [d[0] for d in cursor.description or []]
    return QueryResult(columns, rows)


def run_named(db_path: Path, name: str, params: list[object] | None = None) -> QueryResult:
    """Run one of paperflow's own packaged queries (`warehouse/sql/<name>`)."""
    return run_query(db_path, load_sql(name), params)
