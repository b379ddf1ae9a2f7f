"""Prefect flows: one flow run per paperflow run. They only wire tasks together.

`ingest` fetches listing pages over HTTP; `import_pages` reads saved pages from disk. Both
parse per group of pages (one task per group, never per page), load once (all or nothing:
warehouse/load.py) and record the run.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar, cast

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from flows import tasks
from flows.fetch import FetchSession
from flows.pipeline import CrawlGroups, PageRef, ParsedBatch, fetch_policy
from flows.progress import Progress
from flows.sandbox import ParseSandbox
from flows.settings import Settings
from warehouse.load import FetchStats, LoadResult, PageRecord, fail_run

T = TypeVar("T")


def _opaque(value: T) -> T:
    """`value` wrapped (prefect's quote) so the task gets it as is: Prefect otherwise walks
    every input looking for futures, and over a batch's refs and validators that walk cost
    ~0.3 s per task, more than fetching an unchanged batch."""
    return cast(T, quote(value))


def _batches(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@flow(name="ingest", log_prints=False, persist_result=False)
def ingest(
    source: str,
    fmt: str,
    urls: list[str],
    base_url: str,
    run_id: str,
    settings: Settings,
    params: dict[str, object],
) -> LoadResult:
    """Fetch `urls` of `source` and the pages they lead to, parse them as `fmt`, load once."""
    s = settings
    tasks.start_run(
        s.target, run_id, "ingest", source, params, datetime.now(UTC), s.lock_timeout_s
    )
    try:
        with ParseSandbox.from_settings(s, wait_ready=False) as sandbox:
            batches, stats = _crawl(s, run_id, source, fmt, urls, base_url, sandbox)
        result = _load(s, run_id, batches, stats)
    except Exception as exc:
        fail_run(s.target, run_id=run_id, error=str(exc)[:500], lock_timeout_s=s.lock_timeout_s)
        raise
    tasks.report(result, source, stats)
    return result


def _crawl(
    s: Settings,
    run_id: str,
    source: str,
    fmt: str,
    urls: list[str],
    base_url: str,
    sandbox: ParseSandbox,
) -> tuple[list[ParsedBatch], FetchStats]:
    """Fetch and parse in waves: the start URLs, then the pages they link to, and so on.

    Each group of pages is fetched by one task while the previous group is parsed by another.
    """
    policy, session = fetch_policy(s, source, base_url), FetchSession()
    progress = Progress(s.progress)
    batches: list[ParsedBatch] = []
    stats: list[FetchStats] = []
    pending, seen = list(urls), set(urls)
    while pending:
        state = tasks.page_state(s.target, _opaque(pending), s.lock_timeout_s)
        progress.expect(len(pending))
        wave: list[PrefectFuture[ParsedBatch]] = []
        groups = CrawlGroups(pending, state, s.batch_pages)
        for batch in groups:
            known = _opaque({u: state[u] for u in batch if u in state})
            refs, st = tasks.fetch_pages(
                _opaque(batch), source, fmt, policy, known, s.raw_dir, session, progress
            )
            groups.fetched(len(batch), st)
            stats.append(st)
            stage = _stage(s, run_id, len(batches) + len(wave))
            wave.append(
                tasks.parse_pages.submit(_opaque(refs), run_id, known, s.raw_dir, stage, sandbox)
            )
        batches += [future.result() for future in wave]
        pending = _follow(batches[-len(wave) :], seen, s.max_pages)
    progress.close()
    return batches, _sum(stats)


def _follow(wave: list[ParsedBatch], seen: set[str], max_pages: int) -> list[str]:
    """Next pages the wave linked to that this run has not fetched, within the page budget."""
    fresh = [u for b in wave for u in b.next_urls if u not in seen]
    fresh = list(dict.fromkeys(fresh))[: max(max_pages - len(seen), 0)]
    seen.update(fresh)
    return fresh


@flow(name="import-pages", log_prints=False, persist_result=False)
def import_pages(
    paths: list[Path],
    fmt: str | None,
    as_of: date | None,
    run_id: str,
    settings: Settings,
    params: dict[str, object],
) -> LoadResult:
    """Import saved pages from disk (HTML or text), load, and record run `run_id`."""
    s = settings
    tasks.start_run(
        s.target, run_id, "import", "import", params, datetime.now(UTC), s.lock_timeout_s
    )
    try:
        refs: list[PageRef] = tasks.read_files(paths, fmt, as_of, s.raw_dir)
        state = tasks.page_state(s.target, _opaque([r.url for r in refs]), s.lock_timeout_s)
        with ParseSandbox.from_settings(s) as sandbox:
            parsed = tasks.parse_pages(
                _opaque(refs), run_id, _opaque(state), s.raw_dir, _stage(s, run_id, 0), sandbox
            )
        result = _load(s, run_id, [parsed], FetchStats())
    except Exception as exc:
        fail_run(s.target, run_id=run_id, error=str(exc)[:500], lock_timeout_s=s.lock_timeout_s)
        raise
    tasks.report(result, "import")
    return result


@flow(name="reparse", log_prints=False, persist_result=False)
def reparse(
    source: str | None,
    since: date | None,
    run_id: str,
    settings: Settings,
    params: dict[str, object],
) -> tuple[LoadResult, list[PageRecord]]:
    """Parse every stored body again (no network) and load what is new; e.g. after a parser fix.

    Rebuilt sightings keep the run and time of the fetch they came from, so deleting the parsed
    tables and reparsing gives them back identically.
    """
    s = settings
    tasks.start_run(
        s.target, run_id, "reparse", source or "all", params, datetime.now(UTC), s.lock_timeout_s
    )
    try:
        refs = tasks.reparse_refs(s.target, source, since, s.lock_timeout_s)
        with ParseSandbox.from_settings(s) as sandbox:
            groups = [
                tasks.parse_pages.submit(
                    _opaque(batch), run_id, {}, s.raw_dir, _stage(s, run_id, i), sandbox
                )
                for i, batch in enumerate(_batches(refs, s.batch_pages))
            ]
            parsed = [g.result() for g in groups]
        paths = [g.stage_path for g in parsed if g.stage_path is not None]
        records = [p for g in parsed for p in g.records]
        # The pages' fetches have their rows already; the run's row counts what it parsed.
        result = tasks.load(
            s.target, run_id, [], paths, FetchStats(), datetime.now(UTC), s.lock_timeout_s,
            s.load_chunk_rows, _opaque(records),
        )  # fmt: skip
    except Exception as exc:
        fail_run(s.target, run_id=run_id, error=str(exc)[:500], lock_timeout_s=s.lock_timeout_s)
        raise
    finally:
        shutil.rmtree(s.work_dir / run_id, ignore_errors=True)
    return result, records


def _stage(s: Settings, run_id: str, i: int) -> Path:
    return s.work_dir / run_id / f"stage-{i:05d}.arrow"


def _load(s: Settings, run_id: str, groups: list[ParsedBatch], stats: FetchStats) -> LoadResult:
    pages = [p for g in groups for p in g.records]
    paths = [g.stage_path for g in groups if g.stage_path is not None]
    result = tasks.load(
        s.target, run_id, _opaque(pages), _opaque(paths), stats, datetime.now(UTC),
        s.lock_timeout_s, s.load_chunk_rows,
    )  # fmt: skip
    shutil.rmtree(s.work_dir / run_id, ignore_errors=True)
    return result


def _sum(stats: list[FetchStats]) -> FetchStats:
    return FetchStats(
        requests=sum(x.requests for x in stats),
        retries=sum(x.retries for x in stats),
        bytes_fetched=sum(x.bytes_fetched for x in stats),
        not_modified=sum(x.not_modified for x in stats),
        wait_seconds=round(sum(x.wait_seconds for x in stats), 3),
    )
