"""Thin Prefect task wrappers around the plain pipeline functions.

Only fetching retries, and only on transient errors — and fetch already retries each page
inside `fetch_all`, so the task itself does not. Parse and load never retry blindly
(house-style §4); load is idempotent, so re-running a whole flow is always safe.
Caching is off: inputs are references, and a cache would hide new pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import pipeline
from flows.fetch import FetchPolicy, FetchSession
from flows.progress import Progress
from flows.report import summary_markdown
from flows.sandbox import ParseSandbox
from warehouse import load as wload
from warehouse.lake import Target
from warehouse.load import FetchStats, LoadResult, PageRecord, PageState

_TASK: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="start-run", **_TASK)
def start_run(
    db_path: Target,
    run_id: str,
    flow: str,
    source: str,
    params: dict[str, object],
    started_at: datetime,
    lock_timeout_s: float,
) -> list[str]:
    return wload.start_run(
        db_path,
        run_id=run_id,
        flow=flow,
        source=source,
        params=params,
        started_at=started_at,
        lock_timeout_s=lock_timeout_s,
    )


@task(name="page-state", **_TASK)
def page_state(db_path: Target, urls: Sequence[str], lock_timeout_s: float) -> dict[str, PageState]:
    return wload.page_state(db_path, urls, lock_timeout_s=lock_timeout_s)


@task(name="fetch-pages", **_TASK)
def fetch_pages(
    urls: Sequence[str],
    source: str,
    fmt: str,
    policy: FetchPolicy,
    state: dict[str, PageState],
    raw_dir: Path,
    session: FetchSession,
    progress: Progress,
) -> tuple[list[pipeline.PageRef], FetchStats]:
    return pipeline.fetch_pages(
        urls,
        source=source,
        fmt=fmt,
        policy=policy,
        state=state,
        raw_dir=raw_dir,
        session=session,
        on_result=progress,
    )


@task(name="read-files", **_TASK)
def read_files(
    paths: Sequence[Path], fmt: str | None, as_of: Any, raw_dir: Path
) -> list[pipeline.PageRef]:
    return pipeline.read_files(paths, fmt=fmt, as_of=as_of, raw_dir=raw_dir)


@task(name="parse-pages", **_TASK)
def parse_pages(
    refs: Sequence[pipeline.PageRef],
    run_id: str,
    state: dict[str, PageState],
    raw_dir: Path,
    stage_path: Path,
    sandbox: ParseSandbox | None = None,
) -> pipeline.ParsedBatch:
    return pipeline.parse_pages(
        refs, run_id=run_id, state=state, raw_dir=raw_dir, stage_path=stage_path, sandbox=sandbox
    )


@task(name="reparse-candidates", **_TASK)
def reparse_refs(
    db_path: Target, source: str | None, since: Any, lock_timeout_s: float
) -> list[pipeline.PageRef]:
    return pipeline.reparse_refs(db_path, source=source, since=since, lock_timeout_s=lock_timeout_s)


@task(name="load", **_TASK)
def load(
    db_path: Target,
    run_id: str,
    pages: Sequence[PageRecord],
    stage_paths: Sequence[Path],
    stats: FetchStats,
    finished_at: datetime,
    lock_timeout_s: float,
    chunk_rows: int,
    reparsed: Sequence[PageRecord] = (),
) -> LoadResult:
    return wload.load_batch(
        db_path,
        run_id=run_id,
        pages=pages,
        stage_paths=stage_paths,
        stats=stats,
        finished_at=finished_at,
        lock_timeout_s=lock_timeout_s,
        chunk_rows=chunk_rows,
        reparsed=reparsed,
    )


@task(name="report", **_TASK)
def report(result: LoadResult, source: str, stats: FetchStats | None = None) -> None:
    create_markdown_artifact(
        key=f"paperflow-{source}".replace("_", "-").lower(),
        markdown=summary_markdown(result, source, stats),
        description="paperflow run",
    )
