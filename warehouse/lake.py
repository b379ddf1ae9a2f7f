"""DuckLake warehouses: the catalog in PostgreSQL, the data files in a directory, so several
writers on different machines can load into one warehouse (docs/warehouse.md, "DuckLake").

A plain DuckDB file has one writer at a time (an flock). A DuckLake has none: writers commit
optimistically and DuckLake refuses a commit that conflicts with one made since the writer's
snapshot. Every paperflow write transaction updates the single `warehouse_state` row, so two
concurrent writes *always* conflict; the loser rolls back and runs its whole transaction again
against the new state (`retry_conflicts`), which keeps resolution at one row per paper.

This module knows nothing of db.py (db.py dispatches here), so it cannot import it.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.errors import WarehouseLocked

T = TypeVar("T")

PREFIX = "ducklake:postgres:"
ALIAS = "lake"  # the name the DuckLake is attached under; readers' SQL sees it as the default

# libpq keyword=value pairs, values without spaces, quotes or backslashes: enough for every real
# setup (secrets belong in ~/.pgpass or PGPASSWORD, not on a command line) and nothing that
# could leave the SQL string literal the ATTACH statement needs (ATTACH takes no parameters).
_KEYWORDS = (
    "host|hostaddr|port|dbname|user|password|passfile|service|sslmode|sslrootcert|sslcert|"
    "sslkey|connect_timeout|application_name|target_session_attrs"
)
_CONNINFO = re.compile(rf"(?:(?:{_KEYWORDS})=[^\s'\"\\]+)(?:[ ]+(?:{_KEYWORDS})=[^\s'\"\\]+)*")
_PATH_BAD = re.compile(r"[\x00-\x1f'\\]")

# The retry budget for a conflicting write: about 25 s of jittered, growing waits in all.
ATTEMPTS = 12
FIRST_WAIT_S = 0.2
MAX_WAIT_S = 4.0


@dataclass(frozen=True, slots=True)
class Lake:
    """A DuckLake warehouse: a validated libpq connection string and an absolute data dir."""

    conninfo: str
    data_path: Path

    @classmethod
    def parse(cls, db: str, data_path: Path | None) -> Lake:
        """`ducklake:postgres:<conninfo>` plus `--data-path`; ValueError says what is wrong."""
        if not db.startswith(PREFIX):
            raise ValueError(f"a DuckLake warehouse is {PREFIX}<connection string>, not {db!r}")
        conninfo = db[len(PREFIX) :].strip()
        if conninfo and not _CONNINFO.fullmatch(conninfo):
            raise ValueError(
                "DuckLake connection string must be libpq keyword=value pairs "
                f"({_KEYWORDS.replace('|', ', ')}) without spaces or quotes in values"
            )
        if data_path is None:
            raise ValueError("a DuckLake warehouse needs --data-path DIR (env PAPERFLOW_DATA_PATH)")
        path = data_path.expanduser().absolute()
        if _PATH_BAD.search(str(path)):
            raise ValueError(f"--data-path must not contain quotes or control characters: {path}")
        return cls(conninfo, path)

    def __str__(self) -> str:
        """The warehouse as shown to people: the password, if any, is masked."""
        shown = re.sub(r"(password=)\S+", r"\1***", self.conninfo)
        return f"{PREFIX}{shown} (data {self.data_path})"


Target = Path | Lake  # where a warehouse lives: a DuckDB file or a DuckLake


def is_lake_address(db: str) -> bool:
    return db.startswith("ducklake:")


def _literal(text: str) -> str:
    """A SQL string literal, quoted the way datasette's `escape_sqlite` quotes names: wrap in
    single quotes and double any inside. The text was validated first (no quotes, backslashes
    or control characters can reach here); quoting anyway keeps that one check from being the
    only line of defence."""
    return "'" + text.replace("'", "''") + "'"


def attach(con: duckdb.DuckDBPyConnection, lake: Lake, *, read_only: bool) -> None:
    """Load the extensions, attach `lake` as the default database (read-only for readers).

    Two processes attaching a brand-new catalog at once race to create DuckLake's own tables in
    PostgreSQL; the loser fails, and simply attaching again finds the catalog made.
    """
    if not read_only:  # a hardened connection may write below the directory, not create it
        lake.data_path.mkdir(parents=True, exist_ok=True)
    con.execute("LOAD ducklake")
    con.execute("LOAD postgres")
    template = resources.files("warehouse").joinpath("sql", "lake_attach.sql")
    sql = template.read_text(encoding="utf-8").format(
        catalog=_literal(PREFIX + lake.conninfo),
        alias=ALIAS,
        data_path=_literal(str(lake.data_path) + "/"),
        read_only=", READ_ONLY" if read_only else "",
    )
    retry_conflicts(lambda: con.execute(sql), str(lake), retryable=_init_race)
    con.execute(f"USE {ALIAS}")  # ALIAS is a constant, not input


def allowed_directories(lake: Lake) -> list[str]:
    """What a hardened DuckLake connection may still touch on disk: its data files only."""
    return [str(lake.data_path) + "/"]


# A schema statement with this comment line is for DuckDB files only; DuckLake skips it. For
# what a TEMP macro cannot stand in for: TEMP macros live in one schema, so the compatibility
# macro `fts_main_papers.match_bm25` (and its schema) exists only in files (005_search_index).
FILE_ONLY = "-- duckdb file only"


def schema_sql(sql: str) -> str:
    """A numbered schema file as DuckLake accepts it: no PRIMARY KEY (DuckLake has no
    constraints but NOT NULL), no non-literal DEFAULT, no macros (made per connection by
    `temp_macros`), no FILE_ONLY statements. One source of truth: the DuckDB files,
    transformed."""
    sql = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", sql)
    sql = re.sub(r"\s+PRIMARY KEY\b", "", sql)
    sql = re.sub(r"\s+DEFAULT\s+current_timestamp\b", "", sql, flags=re.IGNORECASE)
    kept = (s for s in sql.split(";\n") if not _is_macro(s) and not _is_file_only(s))
    return ";\n".join(kept)


def temp_macros(sql: str) -> list[str]:
    """The macros of a schema file, as TEMP macros: DuckLake cannot store functions, so each
    connection defines them in its own temporary catalog (they resolve tables in the lake)."""
    return [
        re.sub(r"CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO", s)
        for s in sql.split(";\n")
        if _is_macro(s) and not _is_file_only(s)
    ]


def _is_macro(statement: str) -> bool:
    code = "\n".join(x for x in statement.splitlines() if not x.lstrip().startswith("--"))
    return bool(re.search(r"\bCREATE\s+(OR\s+REPLACE\s+)?MACRO\b", code, re.IGNORECASE))


def _is_file_only(statement: str) -> bool:
    return any(x.strip().lower() == FILE_ONLY for x in statement.splitlines())


def is_conflict(exc: BaseException) -> bool:
    """A commit DuckLake refused because another writer committed first (safe to redo)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and "conflict" in text


def _init_race(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and (
        "failed to initialize ducklake" in text or is_conflict(exc)
    )


def retry_conflicts(
    attempt: Callable[[], T],
    name: str,
    *,
    retryable: Callable[[BaseException], bool] = is_conflict,
    attempts: int = ATTEMPTS,
) -> T:
    """Run `attempt()` until it does not fail with a conflict, waiting a jittered, growing time
    between tries (so two losers do not collide again in lock step). `attempt` must be a whole
    transaction: it re-reads the warehouse each time. Raises WarehouseLocked when other writers
    kept winning `attempts` times."""
    start, wait = time.monotonic(), FIRST_WAIT_S
    for n in range(1, attempts + 1):
        try:
            return attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            if n == attempts:
                waited = time.monotonic() - start
                raise WarehouseLocked(name, waited, "writers that kept committing first") from exc
        time.sleep(wait * (0.5 + random.random()))  # noqa: S311 - jitter, not security
        wait = min(wait * 2, MAX_WAIT_S)
    raise AssertionError("unreachable: the last attempt returns or raises")
