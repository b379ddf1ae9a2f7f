"""The one place DuckDB connections are opened.

Writers take an OS-level lock (`fcntl.flock` on `<db>.lock`, released by the kernel when the
process dies — reliability.md §3/§4) before opening the file, wait for it a bounded time, and
hold the file only for the short load transaction. Readers open read-only and retry briefly
while a writer holds DuckDB's own file lock.

Every connection is hardened: no file or network access from SQL, no extension downloads,
configuration locked (reliability.md §4 point 6, §7.5).

A warehouse can also be a DuckLake (`warehouse/lake.py`): the functions here take a `Target`
(a file path or a `Lake`) and dispatch; a DuckLake has no file lock and no snapshot file.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import duckdb_ext
import pyarrow as pa

from warehouse import lake as lk
from warehouse.errors import MigrationError, WarehouseError, WarehouseLocked
from warehouse.lake import Lake, T, Target

Connection = duckdb.DuckDBPyConnection


def load_sql(name: str) -> str:
    """Return the text of `warehouse/sql/<name>` (a fixed, packaged file — never user input)."""
    return resources.files("warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def query_with(con: Connection, sql_name: str, tables: dict[str, pa.Table]) -> pa.Table:
    """Run one .sql file against registered Arrow tables; the result as Arrow.

    Values a query looks up go in as tables, not as a bound list: DuckDB folds a bound
    VARCHAR[] of 2,000 URLs into the plan as a constant, which took 0.3 s of a 10 s re-run."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(load_sql(sql_name)).fetch_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def _harden(
    con: Connection, *, threads: int | None = None, allowed: Sequence[str] = ()
) -> None:
    """Lock the connection down. `allowed` directories stay reachable (a DuckLake's data
    files): DuckDB then still refuses every other path, URL and new ATTACH."""
    duckdb_ext.init(con)  # points DuckDB at the wheel-installed extensions, no auto-install
    con.execute("LOAD fts")  # stem(): the search index (warehouse/search.py) and its queries
    if threads:
        con.execute("SET threads = ?", [threads])
    if allowed:
        con.execute("SET allowed_directories = ?", [list(allowed)])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


# Lock-wait jitter from our own generator, not the global one a user's program may have
# seeded (flows/fetch.py's _JITTER says why).
_JITTER = random.Random()  # noqa: S311 - jitter, not cryptography


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
        discard_copy(db_path)  # a killed writer's half-loaded copy: the live file is intact
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
            time.sleep(min(delay * (1 + _JITTER.random()), max(timeout_s - waited, 0.01)))
            delay = min(delay * 2, 1.0)


@contextmanager
def open_writer(db_path: Target, *, lock_timeout_s: float = 60.0) -> Iterator[Connection]:
    """Lock, open, migrate and yield a hardened read-write connection; close on exit.

    A DuckLake takes no lock: its writers serialise at commit (see `write`)."""
    if isinstance(db_path, Lake):
        with open_connection(db_path) as con:
            yield con
        return
    with writer_lock(db_path, timeout_s=lock_timeout_s), open_connection(db_path) as con:
        yield con


@contextmanager
def open_connection(db_path: Target) -> Iterator[Connection]:
    """Open, harden and migrate the warehouse read-write. For a file, call only while holding
    `writer_lock`."""
    lake = isinstance(db_path, Lake)
    if isinstance(db_path, Lake):
        con = _connect_lake(db_path, read_only=False)
    else:
        con = _connect_read_write(db_path)
    try:
        if not lake:
            _harden(con)  # a lake connection is hardened once attached (_connect_lake)
        migrate(con, lake=lake)
        if lake:
            _lake_macros(con)
        yield con
    finally:
        con.close()


def _connect_lake(lake: Lake, *, read_only: bool) -> Connection:
    """A hardened connection with `lake` attached as the default database."""
    con = duckdb.connect()
    try:
        duckdb_ext.init(con)
        lk.attach(con, lake, read_only=read_only)
        _harden(con, allowed=lk.allowed_directories(lake))
    except BaseException:
        con.close()
        raise
    return con


def _lake_macros(con: Connection) -> None:
    """Define the schema's macros for this connection (DuckLake stores none; a macro's tables
    must exist, so this runs after migrating)."""
    for _, name in migrations():
        for macro in lk.temp_macros(load_sql(f"schema/{name}")):
            con.execute(macro)


def exists(db_path: Target) -> bool:
    """Whether there is a warehouse to read (a DuckLake is taken to exist)."""
    return isinstance(db_path, Lake) or db_path.exists()


def write(db_path: Target, work: Callable[[Connection], T], *, lock_timeout_s: float = 60.0) -> T:
    """Run `work(con)` as one transaction on the warehouse and make it visible to readers.

    A file: under the writer lock, then the snapshot readers use is published (a write that
    skipped it stayed invisible to `explain`, `sql`, `search` … until the next load). A
    DuckLake: the whole of `work` again (fresh connection, fresh snapshot) whenever another
    writer committed first; `work` must update `warehouse_state` (bump_state) so concurrent
    writes conflict. Raises WarehouseLocked when the lock did not come within
    `lock_timeout_s`, or other DuckLake writers kept winning (lake.retry_conflicts).
    """
    if not isinstance(db_path, Lake):
        with writer_lock(db_path, timeout_s=lock_timeout_s):
            with open_connection(db_path) as con, transaction(con):
                result = work(con)
            publish_snapshot(db_path)
        return result

    def attempt() -> T:
        with open_connection(db_path) as con, transaction(con):
            return work(con)

    return lk.retry_conflicts(attempt, str(db_path))


def bump_state(con: Connection, run_id: str | None, at: object) -> None:
    """Update the `warehouse_state` row inside a write transaction (004_warehouse_state.sql)."""
    con.execute(load_sql("bump_warehouse_state.sql"), [run_id, at])


WRITER_CHECKPOINT_MB = 128


def _connect_read_write(db_path: Path, wait_s: float = 30.0) -> Connection:
    """Connect, waiting a while if some other tool holds the live file open.

    paperflow's own readers use the snapshot; an analyst's DuckDB CLI opened on the live file
    would otherwise make every load fail at once.
    """
    start = time.monotonic()
    while True:
        try:
            con = duckdb.connect(str(db_path))
            # Committed rows stay in memory until a checkpoint writes them. DuckDB's default,
            # one every 16 MB of log, rewrote the tables' last row groups after every chunk of
            # a large load (~3 s more at 80k papers); one every ~3 chunks peaked no higher.
            con.execute("SET checkpoint_threshold = ?", [f"{WRITER_CHECKPOINT_MB}MB"])
            return con
        except duckdb.IOException as exc:
            waited = time.monotonic() - start
            _unless_locked(db_path, exc)
            if waited > wait_s:
                holder = f"another program; readers should open {snapshot_path(db_path)}"
                raise WarehouseLocked(str(db_path), waited, holder) from exc
            time.sleep(0.2 + _JITTER.random() * 0.3)


def _unless_locked(db_path: Path, exc: duckdb.IOException) -> None:
    """Raise WarehouseError unless `exc` is another process's lock on the file (worth waiting
    for): a file that is not a DuckDB database, or unreadable, is not "busy"."""
    if "lock" not in str(exc).lower():
        raise WarehouseError(f"cannot open the warehouse {db_path}: {exc}") from exc


def snapshot_path(db_path: Path) -> Path:
    """The published read-only copy readers use while a writer holds the live file."""
    return db_path.with_name(db_path.stem + ".snapshot" + db_path.suffix)


def loading_path(db_path: Path) -> Path:
    """The work copy a large load writes before it replaces the live file."""
    return db_path.with_name(db_path.stem + ".loading" + db_path.suffix)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@contextmanager
def held_copy(db_path: Path) -> Iterator[Path]:
    """Copy the live file for a load and hold it, DuckDB's lock included, until the block
    (which loads the copy and calls `replace_live`) ends. Call while holding `writer_lock`.

    Held so that another program that opens the live file meanwhile gets "busy" rather than
    write to a file about to be replaced (whose log could then be replayed into the new one).
    DuckDB's lock is a POSIX record lock, which closing *any* descriptor of the file in this
    process drops: so the copy reads through a descriptor opened before the connection and
    closed after it. The checkpoint folds in a log a killed writer may have left."""
    work = loading_path(db_path)
    if not db_path.exists():
        yield work  # nothing to hold or copy: the load creates the file
        return
    fd = os.open(db_path, os.O_RDONLY)
    try:
        with open_connection(db_path) as con:
            con.execute("CHECKPOINT")
            _copy_from(fd, work)
            shutil.copymode(db_path, work)
            yield work
    finally:
        os.close(fd)


def _copy_from(fd: int, target: Path) -> None:
    size = os.fstat(fd).st_size
    with open(target, "wb") as out:
        done = 0
        while done < size:
            sent = os.sendfile(out.fileno(), fd, done, size - done)
            if sent == 0:
                raise OSError(f"copy of the warehouse to {target} stopped at byte {done}")
            done += sent


def replace_live(work: Path, db_path: Path) -> None:
    """Make the loaded copy the live file, atomically (the copy's connection is closed)."""
    if _wal(work).exists():  # closing checkpoints; a log left over would be lost by the rename
        raise OSError(f"{work} still has a write-ahead log after closing")
    _fsync(work)
    os.replace(work, db_path)
    try:
        _fsync(db_path.parent)  # the rename's durability across a power cut
    except OSError:
        pass  # the rename has happened and the load with it: do not report it as failed


def discard_copy(db_path: Path) -> None:
    """Remove a load's work copy, e.g. one a killed writer left (call holding the lock)."""
    work = loading_path(db_path)
    for path in (work, _wal(work)):
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_snapshot(db_path: Path) -> Path:
    """Copy the (checkpointed, closed) live file to the snapshot path atomically.

    Called by the writer after each load while it still holds the writer lock and after its
    connection is closed, so the copy is a committed, WAL-free state. Readers holding the old
    snapshot open keep their file (rename replaces the name, not the open inode).
    """
    target = snapshot_path(db_path)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(db_path, tmp)
    os.replace(tmp, target)
    return target


@contextmanager
def open_reader(db_path: Target, *, wait_s: float = 10.0) -> Iterator[Connection]:
    """Yield a hardened read-only connection to the last committed load.

    Reads the snapshot the last load published, so readers never block a writer and a
    running flow never blocks them; without a snapshot (a warehouse from before snapshots),
    reads the live file, waiting up to `wait_s` for a writer to finish. A DuckLake is
    attached read-only: DuckLake itself gives the last committed snapshot.
    """
    if isinstance(db_path, Lake):
        lake_con = _connect_lake(db_path, read_only=True)
        try:
            try:
                _lake_macros(lake_con)
            except duckdb.CatalogException:
                raise FileNotFoundError(
                    f"no warehouse in {db_path} (run an ingest or import first)"
                ) from None
            yield lake_con
        finally:
            lake_con.close()
        return
    snapshot = snapshot_path(db_path)
    if snapshot.exists():
        con = duckdb.connect(str(snapshot), read_only=True)
    elif db_path.exists():
        con = _connect_read_only(db_path, wait_s)
    else:
        raise FileNotFoundError(f"no warehouse at {db_path} (run an ingest or import first)")
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
            _unless_locked(db_path, exc)
            if time.monotonic() - start > wait_s:
                raise WarehouseLocked(str(db_path), time.monotonic() - start) from exc
            time.sleep(0.05 + _JITTER.random() * 0.1)


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


def migrate(con: Connection, *, target: int | None = None, lake: bool = False) -> int:
    """Apply pending numbered migrations (up to `target`, default all), each in its own
    transaction together with its `schema_migrations` row. Returns the version reached.

    With `lake`, the files are transformed for DuckLake (lake.schema_sql) and a migration that
    conflicts with another writer migrating at the same moment is redone against its result.
    """
    if lake:
        return lk.retry_conflicts(lambda: _migrate(con, target, lake), "DuckLake schema")
    return _migrate(con, target, lake)


def _migrate(con: Connection, target: int | None, lake: bool) -> int:
    def text(name: str) -> str:
        return lk.schema_sql(load_sql(name)) if lake else load_sql(name)

    con.execute(text("schema_migrations.sql"))
    applied = _applied(con)
    known = migrations()
    newest_known = known[-1][0] if known else 0
    if applied and max(applied) > newest_known:
        raise MigrationError(
            f"warehouse schema v{max(applied)} is newer than this paperflow (v{newest_known})"
        )
    for version, name in known:
        if version in applied or (target is not None and version > target):
            continue
        with transaction(con):
            # On a DuckLake another writer may have applied it since `applied` was read, and
            # not every migration can run twice (006 alters and drops): ask again in here.
            if version in _applied(con):
                continue
            con.execute(text(f"schema/{name}"))
            con.execute(load_sql("record_migration.sql"), [version, name])
    return newest_known if target is None else min(target, newest_known)


def _applied(con: Connection) -> set[int]:
    return {int(row[0]) for row in con.execute(load_sql("get_applied_migrations.sql")).fetchall()}


def schema_version(con: Connection) -> int:
    """The highest applied migration version (0 for an empty file)."""
    return max(_applied(con), default=0)
