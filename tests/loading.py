"""Loading entries the way a run does (stage file, then `load_batch`), for warehouse tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from parsers.records import Entry
from warehouse.lake import Target
from warehouse.load import FetchStats, PageRecord, load_batch, start_run
from warehouse.stage import PageContext, stage_row, stage_table, write_stage


def load_entries(
    target: Target, run_id: str, pages: dict[str, list[Entry]], tmp: Path, at: datetime
) -> None:
    """One run `run_id` that saw `pages` (url -> entries) at `at`, loaded into `target`."""
    start_run(target, run_id=run_id, flow="t", source="t", params={}, started_at=at, lock_timeout_s=5)
    rows = [stage_row(e, PageContext(run_id, url, "day", at)) for url, es in pages.items() for e in es]
    path = write_stage(stage_table(rows), tmp / f"{run_id}.arrow")
    recs = [PageRecord(url=u, source="t", fetched_at=at, outcome="parsed") for u in pages]
    load_batch(target, run_id=run_id, pages=recs, stage_paths=[path], stats=FetchStats(), finished_at=at)
