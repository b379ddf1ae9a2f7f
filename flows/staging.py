"""From a parsed page to staged rows, in the parse workers.

Staging (normalising every entry into a `sightings`-shaped row, hashing it and computing its
resolution keys) costs as much CPU as parsing itself, so it runs where parsing runs: in the
sandbox's worker processes, on both cores, while the flow keeps fetching. A worker sends back
a `StagedPage`: the page's facts and its rows as one Arrow IPC stream, so the parent never
touches an entry one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.ipc as ipc

from parsers.records import ListingPage
from warehouse.stage import STAGE_SCHEMA, PageContext, stage_entries

# A page whose entries lack their source's required fields this often is not loaded: the
# site probably changed and the values would be garbage (issue: drift detection).
SUSPECT_SHARE = 0.2
REQUIRED = {
    "abstracts-text": ("abstract",),
    "hf-papers-html": ("title", "arxiv_id"),
    "hf-papers-api": ("title", "arxiv_id"),
    "arxiv-list-html": ("title", "arxiv_id"),
    "arxiv-api-atom": ("title", "arxiv_id"),
    "scholarfeed-api": ("title", "arxiv_id"),
}
DEFAULT_REQUIRED = ("title",)


@dataclass(frozen=True, slots=True)
class StagedPage:
    """What one page yields: its kind, links, entry count, why it is suspect (then no rows),
    and its staged rows as an Arrow IPC stream (`b""` when there are none).

    The rows' `run_id` is left null: the parent fills in the run (or, on reparse, the run
    that fetched the page)."""

    kind: str
    next_urls: tuple[str, ...]
    entries: int
    suspect: str | None
    rows: bytes


def stage_page(page: ListingPage, fmt: str, url: str, fetched_at: datetime) -> StagedPage:
    """Stage every entry of `page` (parsed as `fmt` from `url`, fetched at `fetched_at`)."""
    suspect = suspect_reason(page, fmt)
    rows = b""
    if page.entries and not suspect:
        ctx = PageContext(None, url, page.kind, fetched_at)  # type: ignore[arg-type]
        table = stage_entries(page.entries, ctx)
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, STAGE_SCHEMA) as writer:
            writer.write_table(table)
        rows = sink.getvalue().to_pybytes()
    return StagedPage(page.kind, page.next_urls, len(page.entries), suspect, rows)


def staged_rows(page: StagedPage) -> pa.Table:
    """The rows of a staged page as a table (empty for none)."""
    if not page.rows:
        return STAGE_SCHEMA.empty_table()
    return ipc.open_stream(pa.py_buffer(page.rows)).read_all()


def suspect_reason(page: ListingPage, fmt: str) -> str | None:
    """Why a page's entries look garbled (too many miss required fields), or None."""
    if not page.entries:
        return None
    required = REQUIRED.get(fmt, DEFAULT_REQUIRED)
    missing = [e for e in page.entries if any(getattr(e, f) in (None, "") for f in required)]
    share = len(missing) / len(page.entries)
    if share <= SUSPECT_SHARE:
        return None
    return (
        f"layout_drift: {len(missing)} of {len(page.entries)} entries lack "
        f"{'/'.join(required)}; nothing from this page was loaded"
    )
