"""The one place DuckDB connections are opened.

Writers take an OS-level lock (`fcntl.flock` on `<db>.lock`, released by the kernel when the
process dies — reliability.md §3/§4) before opening the file, wait for it a bounded time, and
hold the file only for the short load transaction. Readers open read-only and retry briefly
while a writer holds DuckDB's own file lock.

Every connection is hardened: no file or network access from SQL, no extension downloads,
configuration locked (reliability.md §4 point 6, §7.5).
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import duckdb_ext

from warehouse.errors import MigrationError, WarehouseLocked

Connection = duckdb.DuckDBPyConnection


def load_sql(name: str) -> str:
    """Return the text of `warehouse/sql/<name>` (a fixed, packaged file — never user input)."""
    return resources.files("warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def _harden(con: Connection, *, threads: int | None = None) -> None:
    duckdb_ext.init(con)  # points DuckDB at the wheel-installed extensions, no auto-install
    con.execute("LOAD fts")
    if threads:
        con.execute("SET threads = ?", [threads])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


@contextmanager
def writer_lock(db_path: Path, *, timeout_s: float) -> Iterator[None]:
    """Hold the single-writer lock for `db_path`, waiting at most `timeout_s`.

    Raises WarehouseLocked when another process keeps it longer. The lock is an flock on a
    sibling file, so a killed writer never leaves it stuck.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db_path.with_name(db_path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, str(db_path), timeout_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, name: str, timeout_s: float) -> None:
    start = time.monotonic()
    delay = 0.05
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waited = time.monotonic() - start
            if waited >= timeout_s:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or None
                raise WarehouseLocked(name, waited, holder) from None
            time.sleep(min(delay * (1 + random.random()), max(timeout_s - waited, 0.01)))  # noqa: S311
            delay = min(delay * 2, 1.0)


@contextmanager
def open_writer(db_path: Path, *, lock_timeout_s: float = 60.0) -> Iterator[Connection]:
    """Lock, open, migrate and yield a hardened read-write connection; close on exit."""
    with writer_lock(db_path, timeout_s=lock_timeout_s):
        con = duckdb.connect(str(db_path))
        try:
            _harden(con)
            migrate(con)
            yield con
        finally:
            con.close()


@contextmanager
def open_reader(db_path: Path, *, wait_s: float = 10.0) -> Iterator[Connection]:
    """Yield a hardened read-only connection, retrying while a writer holds the file."""
    if not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path} (run an ingest or import first)")
    con = _connect_read_only(db_path, wait_s)
    try:
        _harden(con)
        yield con
    finally:
        con.close()


def _connect_read_only(db_path: Path, wait_s: float) -> Connection:
    start = time.monotonic()
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() - start > wait_s:
                raise WarehouseLocked(str(db_path), time.monotonic() - start) from exc
            time.sleep(0.05 + random.random() * 0.1)  # noqa: S311


@contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """BEGIN … COMMIT, rolling back on any exception (which is re-raised)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def migrations() -> list[tuple[int, str]]:
    """The packaged schema files as (version, file name), in order."""
    folder = resources.files("warehouse").joinpath("sql", "schema")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name))
    return sorted(found)


def migrate(con: Connection) -> int:
    """Apply pending numbered migrations, each in its own transaction. Returns the version."""
    con.execute(load_sql("schema_migrations.sql"))
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    known = migrations()
    newest_known = known[-1][0] if known else 0
    if applied and max(applied) > newest_known:
        raise MigrationError(
            f"warehouse schema v{max(applied)} is newer than this paperflow (v{newest_known})"
        )
    for version, name in known:
        if version in applied:
            continue
        with transaction(con):
            con.execute(load_sql(f"schema/{name}"))
            con.execute(load_sql("record_migration.sql"), [version, name])
    return newest_known


def schema_version(con: Connection) -> int:
    """The highest applied migration version (0 for an empty file)."""
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
