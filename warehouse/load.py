"""Loading: a run's pages, sightings, papers and run row become visible together or not at all
(reliability.md §0 points 1–2).

A load of one chunk of staged rows (a day's or a week's run) is one transaction on the live
file. A larger one (a backfill) is loaded into a copy of the live file a chunk per
transaction, which bounds the load's memory by the chunk rather than by the run, and the copy
then replaces the live file by rename: a crash leaves the live file as it was, the copy is
thrown away by the next writer (docs/reliability.md, "Crashes, kills and overlapping runs").

Idempotent by construction: a sighting's id is a hash of where it was seen and what it said,
so re-loading the same pages adds nothing and changes no paper; only the run's own `pages`
and `runs` rows are new.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.db import (
    Connection,
    bump_state,
    discard_copy,
    exists,
    held_copy,
    load_sql,
    open_connection,
    open_writer,
    publish_snapshot,
    query_with,
    replace_live,
    snapshot_path,
    transaction,
    write,
    writer_lock,
)
from warehouse.errors import LoadError, MigrationError, WarehouseLocked
from warehouse.lake import Lake, Target
from warehouse.resolve import (
    Resolution,
    backfill_blocks,
    block_rows,
    resolve,
    sketch_rows,
)
from warehouse.search import rebuild_search_index, update_search_index
from warehouse.stage import CHUNK_ROWS, KEY_COLUMNS, StagedChunks


@dataclass(frozen=True, slots=True)
class PageRecord:
    """One `pages` row: the outcome of fetching (or importing) and parsing one page."""

    url: str
    source: str
    fetched_at: datetime
    outcome: str
    format: str | None = None
    kind: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    bytes: int | None = None
    records: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchStats:
    requests: int = 0
    retries: int = 0
    bytes_fetched: int = 0
    not_modified: int = 0
    wait_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LoadResult:
    run_id: str
    status: str
    pages_total: int
    pages_parsed: int
    pages_unchanged: int
    pages_failed: int
    sightings_added: int
    papers_added: int
    papers_updated: int
    failures: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class PageState:
    etag: str | None
    last_modified: str | None
    parsed_sha256: str | None


def run_script(con: Connection, name: str, params: Mapping[str, object]) -> None:
    """Run every statement of a .sql file, binding the named parameters each one uses."""
    for statement in load_sql(name).split(";\n"):
        lines = statement.splitlines()
        code = "\n".join(line for line in lines if not line.lstrip().startswith("--"))
        if not code.strip():
            continue  # only comments
        used = set(re.findall(r"\$(\w+)", code))
        con.execute(statement, {k: v for k, v in params.items() if k in used})


def _process_tag() -> str:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "user": getpass.getuser()})


def start_run(
    db_path: Target,
    *,
    run_id: str,
    flow: str,
    source: str,
    params: Mapping[str, object],
    started_at: datetime,
    lock_timeout_s: float,
) -> list[str]:
    """Record a run as `running` and mark dead runs abandoned. Returns the abandoned run ids."""
    doc = {**params, "_process": json.loads(_process_tag())}

    def work(con: Connection) -> list[str]:
        abandoned = _mark_abandoned(con, run_id, started_at)
        con.execute(
            load_sql("start_run.sql"),
            [run_id, flow, source, json.dumps(doc, default=str), started_at],
        )
        bump_state(con, run_id, started_at)
        return abandoned

    if isinstance(db_path, Lake):
        return write(db_path, work)
    with writer_lock(db_path, timeout_s=lock_timeout_s):
        with open_connection(db_path) as con, transaction(con):
            abandoned = work(con)
        if abandoned or not snapshot_path(db_path).exists():
            publish_snapshot(db_path)  # readers see the abandoned marks; a new file gets one
    return abandoned


def _mark_abandoned(con: Connection, run_id: str, now: datetime) -> list[str]:
    """A `running` run whose process is gone on this host was killed: say so."""
    dead = []
    for other_id, params in con.execute(load_sql("find_running_runs.sql"), [run_id]).fetchall():
        proc = (json.loads(params or "{}") or {}).get("_process", {})
        if proc.get("host") == socket.gethostname() and not _alive(int(proc.get("pid", 0))):
            con.execute(load_sql("mark_run_abandoned.sql"), [now, other_id])
            dead.append(other_id)
    return dead


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def page_state(
    db_path: Target, urls: Sequence[str], *, lock_timeout_s: float
) -> dict[str, PageState]:
    """Validators and last parsed content hash per URL, for conditional and unchanged checks."""
    if not exists(db_path) or not urls:
        return {}
    asked = pa.table({"url": pa.array(list(urls), pa.string())})
    with open_writer(db_path, lock_timeout_s=lock_timeout_s) as con:
        rows = query_with(con, "get_page_state.sql", {"state_urls": asked}).to_pylist()
    return {r["url"]: PageState(r["etag"], r["last_modified"], r["parsed_sha256"]) for r in rows}


def load_batch(
    db_path: Target,
    *,
    run_id: str,
    pages: Sequence[PageRecord],
    stage_paths: Sequence[Path],
    stats: FetchStats,
    finished_at: datetime,
    error: str | None = None,
    lock_timeout_s: float = 60.0,
    chunk_rows: int = CHUNK_ROWS,
    reparsed: Sequence[PageRecord] = (),
) -> LoadResult:
    """Load one run's pages and staged entries and finish its `runs` row, atomically.

    `pages` become the run's `pages` rows, one per URL (the first of a URL given twice);
    `reparsed` pages (parsed again from stored bodies, whose fetches have rows already) only
    count in the run's row. Staged rows are resolved `chunk_rows` at a time. Raises
    LoadError (nothing changed; safe to retry) if anything in the load fails. On a DuckLake
    the load is one transaction, and one that conflicts with another writer's is redone whole
    against the new state (WarehouseLocked if others keep winning); there is no search index
    or snapshot file to refresh there (docs/warehouse.md, "DuckLake").
    """
    chunks = StagedChunks(stage_paths, chunk_rows)  # unreadable staging fails here, unlocked
    load = _Load(run_id, _one_per_url(pages), tuple(reparsed), chunks, stats, finished_at, error)
    if isinstance(db_path, Lake):
        return _load_lake(db_path, load)
    with writer_lock(db_path, timeout_s=lock_timeout_s):
        try:
            # A symlinked warehouse loads in place: a rename would replace the link.
            if len(chunks) > 1 and not db_path.is_symlink():
                result = _load_in_copy(db_path, load)
            else:
                result = _load_in_place(db_path, load)
        except (WarehouseLocked, MigrationError):  # "busy" or "upgrade", not a failed load
            raise
        except Exception as exc:  # the flow boundary reports it; the live file is unchanged
            raise LoadError(f"load of run {run_id} rolled back: {exc}") from exc
        publish_snapshot(db_path)
    return result


@dataclass(frozen=True, slots=True)
class _Load:
    """One run's load: what `_load` writes."""

    run_id: str
    pages: Sequence[PageRecord]
    reparsed: Sequence[PageRecord]
    chunks: StagedChunks
    stats: FetchStats
    finished_at: datetime
    error: str | None


def _one_per_url(pages: Sequence[PageRecord]) -> list[PageRecord]:
    """The first record of each URL: a run has one `pages` row per URL (page_id is a hash of
    run and URL), and its counts must be those rows' (a file imported twice is one page)."""
    return list({page.url: page for page in reversed(pages)}.values())[::-1]


def _load_in_place(db_path: Path, load: _Load) -> LoadResult:
    """One transaction on the live file."""
    with open_connection(db_path) as con:
        with transaction(con):
            result = _load(con, load)
        con.execute("CHECKPOINT")
    return result


def _load_in_copy(db_path: Path, load: _Load) -> LoadResult:
    """A chunk per transaction in a copy of the live file, which then replaces it.

    DuckDB keeps a transaction's rows in memory until it commits, and committed rows until a
    checkpoint writes them: one transaction over 80k papers peaked ~0.3-0.4 GB higher than a
    transaction per chunk with a checkpoint every WRITER_CHECKPOINT_MB of log, so the run's
    own share of the peak is about a chunk's. The copy costs ~0.8 s per GB of warehouse, once
    per large load. On any failure the copy is simply deleted (closing the connection drops
    its open transaction), so there is nothing to roll back.
    """
    try:
        with held_copy(db_path) as work:
            with open_connection(work) as con:
                con.execute("BEGIN TRANSACTION")
                result = _load(con, load, between_chunks=lambda: _commit(con))
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            replace_live(work, db_path)
    finally:
        discard_copy(db_path)
    return result


def _commit(con: Connection) -> None:
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")


def _load_lake(lake: Lake, load: _Load) -> LoadResult:
    try:
        return write(lake, lambda con: _load(con, load))
    except WarehouseLocked:
        raise
    except Exception as exc:  # the flow boundary reports it; the transaction rolled back
        raise LoadError(f"load of run {load.run_id} rolled back: {exc}") from exc


def _load(
    con: Connection, load: _Load, between_chunks: Callable[[], None] | None = None
) -> LoadResult:
    """The whole load, inside the caller's transaction: staged rows a chunk at a time (each
    chunk sees the ones before it). `between_chunks`, if given, ends the transaction after
    each chunk and starts the next."""
    _insert_pages(con, load.run_id, load.pages)
    _insert(con, "stage_blocks", "resolve_insert_blocks.sql", backfill_blocks(con))
    tally = _Tally()
    for chunk in load.chunks:
        part = _Tally()
        _load_chunk(con, chunk, load.run_id, load.finished_at, part)
        tally.add(part)
        if between_chunks is not None:
            _refresh(con, part)
            between_chunks()
    if between_chunks is None:
        # Once, after the last chunk: DuckDB refuses to delete and re-insert a key written
        # earlier in the same transaction, and resolution reads sightings, not papers.
        _refresh(con, tally)
    result = _result(load.run_id, [*load.pages, *load.reparsed], tally, load.error)
    _finish_run(con, result, load.stats, load.finished_at, load.error)
    bump_state(con, load.run_id, load.finished_at)
    return result


def _refresh(con: Connection, tally: _Tally) -> None:
    """Bring `papers` and the search index in line with what `tally`'s chunks wrote."""
    _refresh_papers(con, tally.touched - tally.merged)
    update_search_index(con, tally.touched | tally.merged)


@dataclass(slots=True)
class _Tally:
    """What the chunks of one load did, for its result and the search index."""

    added: int = 0
    new_papers: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    merged: set[str] = field(default_factory=set)

    def add(self, other: _Tally) -> None:
        self.added += other.added
        self.new_papers |= other.new_papers
        self.touched |= other.touched
        self.merged |= other.merged


def _load_chunk(
    con: Connection, chunk: pa.Table, run_id: str, at: datetime, tally: _Tally
) -> None:
    """Resolve and write one chunk of staged rows; refresh the papers it touched."""
    new = _only_new(con, chunk)
    if new.num_rows == 0:
        return
    resolution = resolve(con, new)
    _apply_merges(con, resolution, run_id, at)
    paper_ids = pa.array(resolution.paper_ids, type=pa.string())
    sightings = new.drop_columns(list(KEY_COLUMNS)).append_column("paper_id", paper_ids)
    _insert(con, "stage_sightings", "insert_sightings.sql", sightings)
    _insert(con, "stage_decisions", "insert_decisions.sql", _decisions(new, resolution, run_id, at))
    keys = resolution.keys
    _insert(con, "stage_sketches", "insert_sketches.sql", sketch_rows(keys, resolution.paper_ids))
    _insert(con, "stage_blocks", "resolve_insert_blocks.sql", block_rows(keys))
    tally.added += new.num_rows
    tally.new_papers |= resolution.new_papers
    tally.touched |= resolution.touched
    tally.merged |= set(resolution.merged)


def _insert_pages(con: Connection, run_id: str, pages: Sequence[PageRecord]) -> None:
    rows = []
    for page in pages:
        row = asdict(page)
        row["run_id"] = run_id
        row["page_id"] = hashlib.sha256(f"{run_id}\x1f{page.url}".encode()).hexdigest()[:32]
        rows.append(row)
    if rows:
        _insert(con, "stage_pages", "insert_pages.sql", pa.Table.from_pylist(rows))


def _only_new(con: Connection, table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return table
    con.register("stage_sightings", table.select(["sighting_id"]))
    try:
        known = [r[0] for r in con.execute(load_sql("find_known_sightings.sql")).fetchall()]
    finally:
        con.unregister("stage_sightings")
    if not known:
        return table
    keep = pc.invert(pc.is_in(table["sighting_id"], value_set=pa.array(known, type=pa.string())))
    return table.filter(keep).combine_chunks()


def _insert(con: Connection, view: str, sql_name: str, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    con.register(view, table)
    try:
        con.execute(load_sql(sql_name))
    finally:
        con.unregister(view)


def _decisions(new: pa.Table, res: Resolution, run_id: str, at: datetime) -> pa.Table:
    return pa.table(
        {
            "sighting_id": new["sighting_id"],
            "paper_id": pa.array(res.paper_ids, type=pa.string()),
            "rule": [d.rule for d in res.decisions],
            "score": pa.array([d.score for d in res.decisions], type=pa.float64()),
            "matched": pa.array([d.matched for d in res.decisions], type=pa.string()),
            "run_id": [run_id] * new.num_rows,
            "decided_at": pa.array([at] * new.num_rows, type=pa.timestamp("us", tz="UTC")),
        }
    )


def _apply_merges(con: Connection, res: Resolution, run_id: str, at: datetime) -> None:
    """Move re-resolved existing sightings, then retire papers left without sightings as
    aliases of the paper that took them over (docs/resolution.md, "Stable identity")."""
    if res.moved:
        moves = sorted(res.moved.items())
        table = pa.table(
            {
                "sighting_id": pa.array([sid for sid, _ in moves], pa.string()),
                "paper_id": pa.array([pid for _, (pid, _) in moves], pa.string()),
                "rule": pa.array([d.rule for _, (_, d) in moves], pa.string()),
                "score": pa.array([d.score for _, (_, d) in moves], pa.float64()),
                "matched": pa.array([d.matched for _, (_, d) in moves], pa.string()),
                "run_id": pa.array([run_id] * len(moves), pa.string()),
                "decided_at": pa.array([at] * len(moves), pa.timestamp("us", tz="UTC")),
            }
        )
        _run_registered(con, "resolve_apply_moves.sql", "resolve_moves", table)
    if res.merged:
        merged = sorted(res.merged.items())
        aliases = pa.table(
            {
                "alias_id": pa.array([a for a, _ in merged], pa.string()),
                "paper_id": pa.array([p for _, p in merged], pa.string()),
                "reason": pa.array(["new evidence joined two papers"] * len(merged), pa.string()),
                "run_id": pa.array([run_id] * len(merged), pa.string()),
                "created_at": pa.array([at] * len(merged), pa.timestamp("us", tz="UTC")),
            }
        )
        _run_registered(con, "resolve_apply_aliases.sql", "resolve_aliases", aliases)


def _refresh_papers(con: Connection, paper_ids: set[str]) -> None:
    """Rebuild the `papers` rows of `paper_ids` from their sightings (refresh_papers.sql holds
    every survivorship rule); a paper with no sightings left simply disappears."""
    if not paper_ids:
        return
    con.register("refresh_ids", pa.table({"paper_id": sorted(paper_ids)}))
    try:
        con.execute(load_sql("delete_papers.sql"))
        con.execute(load_sql("refresh_papers.sql"))
    finally:
        con.unregister("refresh_ids")


def _result(
    run_id: str, pages: Sequence[PageRecord], tally: _Tally, error: str | None
) -> LoadResult:
    failed = [p for p in pages if p.outcome in ("failed", "suspect")]
    unchanged = sum(p.outcome in ("unchanged", "not_modified") for p in pages)
    parsed = sum(p.outcome in ("parsed", "empty") for p in pages)
    status = "failed" if error else ("partial" if failed else "succeeded")
    return LoadResult(
        run_id=run_id,
        status=status,
        pages_total=len(pages),
        pages_parsed=parsed,
        pages_unchanged=unchanged,
        pages_failed=len(failed),
        sightings_added=tally.added,
        # A paper made by one chunk and merged away by a later one was neither.
        papers_added=len(tally.new_papers - tally.merged),
        papers_updated=len(tally.touched - tally.new_papers - tally.merged),
        failures=tuple((p.url, p.error or p.outcome) for p in failed),
    )


def _finish_run(
    con: Connection, result: LoadResult, stats: FetchStats, at: datetime, error: str | None
) -> None:
    params: dict[str, object] = {
        "run_id": result.run_id,
        "finished_at": at,
        "status": result.status,
        "error": error,
        "pages_total": result.pages_total,
        "pages_parsed": result.pages_parsed,
        "pages_unchanged": result.pages_unchanged,
        "pages_failed": result.pages_failed,
        "sightings_added": result.sightings_added,
        "papers_added": result.papers_added,
        "papers_updated": result.papers_updated,
        **asdict(stats),
    }
    run_script(con, "finish_run.sql", params)


def fail_run(
    db_path: Target, *, run_id: str, error: str, lock_timeout_s: float = 60.0
) -> None:
    """Mark a run failed without loading anything (the flow hit an error before loading)."""

    def work(con: Connection) -> None:
        empty = LoadResult(run_id, "failed", 0, 0, 0, 0, 0, 0, 0)
        _finish_run(con, empty, FetchStats(), datetime.now(UTC), error)
        bump_state(con, run_id, datetime.now(UTC))

    write(db_path, work, lock_timeout_s=lock_timeout_s)


@dataclass(frozen=True, slots=True)
class StoredPage:
    url: str
    source: str
    format: str
    fetched_at: datetime
    content_sha256: str
    run_id: str


def stored_pages(
    db_path: Target, *, source: str | None, since: date | None, lock_timeout_s: float
) -> list[StoredPage]:
    """The first fetch of every distinct (URL, body) that was parsed or failed parsing."""
    if not exists(db_path):
        return []
    with open_writer(db_path, lock_timeout_s=lock_timeout_s) as con:
        params = {"source": source, "since": since}
        rows = con.execute(load_sql("get_stored_pages.sql"), params).fetchall()
    return [StoredPage(*row) for row in rows]


def _run_registered(con: Connection, sql_name: str, view: str, table: pa.Table) -> None:
    """Run a multi-statement .sql file with `table` registered as `view`."""
    con.register(view, table)
    try:
        run_script(con, sql_name, {})
    finally:
        con.unregister(view)


def rebuild_papers(db_path: Target, *, lock_timeout_s: float = 60.0) -> int:
    """Rebuild every `papers` row from `sightings` (the same survivorship SQL a load uses).

    Returns the number of papers. A no-op on a consistent warehouse: `papers` is a pure
    function of `sightings`.
    """

    def work(con: Connection) -> int:
        bump_state(con, None, datetime.now(UTC))  # a DuckLake load meanwhile conflicts
        con.execute(load_sql("rebuild_papers_clear.sql"))
        ids = con.execute(load_sql("rebuild_paper_ids.sql")).fetch_arrow_table()
        con.register("refresh_ids", ids)
        try:
            con.execute(load_sql("refresh_papers.sql"))
        finally:
            con.unregister("refresh_ids")
        rebuild_search_index(con)
        row = con.execute(load_sql("rebuild_count_papers.sql")).fetchone()
        return int(row[0]) if row else 0

    return write(db_path, work, lock_timeout_s=lock_timeout_s)


def apply_resolution(con: Connection, res: Resolution, run_id: str, at: datetime) -> None:
    """Write a resolution of existing papers (no new sightings): moves, aliases, papers."""
    _apply_merges(con, res, run_id, at)
    _refresh_papers(con, res.touched)
    update_search_index(con, res.touched | set(res.merged))
