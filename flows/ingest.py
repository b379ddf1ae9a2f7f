"""Prefect flows: one flow run per paperflow run. They only wire tasks together.

`ingest` fetches listing pages over HTTP; `import_pages` reads saved pages from disk. Both
parse per group of pages (one task per group, never per page), load once in one transaction
and record the run.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow

from flows import tasks
from flows.pipeline import PageRef, fetch_policy
from flows.settings import Settings
from warehouse.load import FetchStats, LoadResult, PageRecord, fail_run


def _batches(items: Sequence[str] | Sequence[Path], size: int) -> list[list]:  # type: ignore[type-arg]
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
    """Fetch `urls` of `source`, parse them as `fmt`, load, and record run `run_id`."""
    s = settings
    tasks.start_run(
        s.db_path, run_id, "ingest", source, params, datetime.now(UTC), s.lock_timeout_s
    )
    try:
        state = tasks.page_state(s.db_path, urls, s.lock_timeout_s)
        policy = fetch_policy(s, source, base_url)
        groups, stats = [], []
        for i, batch in enumerate(_batches(urls, s.batch_pages)):
            refs, st = tasks.fetch_pages(batch, source, fmt, policy, state, s.raw_dir)
            stats.append(st)
            groups.append(
                tasks.parse_pages.submit(refs, run_id, state, s.raw_dir, _stage(s, run_id, i))
            )
        result = _load(s, run_id, [g.result() for g in groups], _sum(stats))
    except Exception as exc:
        fail_run(s.db_path, run_id=run_id, error=str(exc)[:500], lock_timeout_s=s.lock_timeout_s)
        raise
    tasks.report(result, source)
    return result


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
        s.db_path, run_id, "import", "import", params, datetime.now(UTC), s.lock_timeout_s
    )
    try:
        refs: list[PageRef] = tasks.read_files(paths, fmt, as_of, s.raw_dir)
        state = tasks.page_state(s.db_path, [r.url for r in refs], s.lock_timeout_s)
        parsed = tasks.parse_pages(refs, run_id, state, s.raw_dir, _stage(s, run_id, 0))
        result = _load(s, run_id, [parsed], FetchStats())
    except Exception as exc:
        fail_run(s.db_path, run_id=run_id, error=str(exc)[:500], lock_timeout_s=s.lock_timeout_s)
        raise
    tasks.report(result, "import")
    return result


def _stage(s: Settings, run_id: str, i: int) -> Path:
    return s.work_dir / run_id / f"stage-{i:05d}.arrow"


def _load(
    s: Settings, run_id: str, groups: list[tuple[list[PageRecord], Path | None]], stats: FetchStats
) -> LoadResult:
    pages = [p for records, _ in groups for p in records]
    paths = [path for _, path in groups if path is not None]
    result = tasks.load(s.db_path, run_id, pages, paths, stats, datetime.now(UTC), s.lock_timeout_s)
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
