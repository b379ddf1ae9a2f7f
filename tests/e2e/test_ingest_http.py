"""`paperflow ingest hf-papers` over real HTTP against a local site, through Prefect into DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from flows.cli import main, new_run_id
from flows.demo import serve_site, site_pages
from flows.ingest import ingest
from flows.settings import Settings

pytestmark = pytest.mark.usefixtures("prefect_harness")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hf_papers"
DAYS = ["2026-05-04", "2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08"]


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, bytes]]]:
    pages = dict(site_pages())
    pages["/papers/date/2026-05-09"] = (FIXTURES / "garbage.bin").read_bytes()
    pages["/papers/date/2026-05-10"] = (FIXTURES / "truncated_day.html").read_bytes()
    pages["/papers/date/2026-05-11"] = (
        b"<!doctype html><html><head><title>Daily Papers - Hugging Face</title></head><body>"
        b'<div class="SVELTE_HYDRATER contents" data-target="MainHeader" data-props="{}"></div>'
        b"<main><p>Nothing to see</p></main></body></html>"
    )
    with serve_site(pages) as base:
        yield base, pages


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _ingest(db: Path, base: str, *args: str) -> int:
    return main(
        ["--db", str(db), "ingest", "hf-papers", "--base-url", base, "--max-rate", "0", *args]
    )


def test_days_and_week_become_one_paper_per_arxiv_id(
    db: Path, site: tuple[str, dict[str, bytes]]
) -> None:
    base, _ = site
    assert _ingest(db, base, "--since", DAYS[0], "--until", DAYS[-1]) == 0
    assert _ingest(db, base, "--week", "2026-W19") == 0
    assert _ingest(db, base, "--month", "2026-05") == 0
    dupes = _rows(db, "SELECT arxiv_id, count(*) FROM papers GROUP BY 1 HAVING count(*) > 1")
    assert dupes == []
    n_ids = _rows(db, "SELECT count(DISTINCT arxiv_id) FROM sightings")[0][0]
    assert _rows(db, "SELECT count(*) FROM papers") == [(n_ids,)]
    multi = _rows(db, "SELECT count(*) FROM papers WHERE n_sightings > 1")[0][0]
    assert isinstance(multi, int) and multi > 5  # the week and month pages repeat day papers
    assert _rows(db, "SELECT count(*) FROM papers WHERE upvotes IS NULL OR len(authors) = 0") == [
        (0,)
    ]


def test_second_run_is_conditional_and_adds_nothing(
    db: Path, site: tuple[str, dict[str, bytes]]
) -> None:
    base, _ = site
    assert _ingest(db, base, "--since", DAYS[0], "--until", DAYS[-1]) == 0
    papers = _rows(db, "SELECT * FROM papers ORDER BY paper_id")
    sightings = _rows(db, "SELECT count(*) FROM sightings")
    assert _ingest(db, base, "--since", DAYS[0], "--until", DAYS[-1]) == 0
    assert _rows(db, "SELECT * FROM papers ORDER BY paper_id") == papers
    assert _rows(db, "SELECT count(*) FROM sightings") == sightings
    last = _rows(
        db,
        "SELECT not_modified, pages_unchanged, sightings_added FROM runs ORDER BY started_at DESC LIMIT 1",
    )
    assert last == [(5, 5, 0)]


def test_a_page_that_failed_to_parse_is_fetched_whole_and_loaded_next_run(
    db: Path, site: tuple[str, dict[str, bytes]]
) -> None:
    """A transient parse failure (here: a parse deadline no page can meet, as on a machine
    too busy to parse in time) must not leave the page's validators behind: the next run
    would send them, get 304 for unchanged content, and never load the page's entries."""
    base, _ = site
    urls = [f"{base}/papers/date/{day}" for day in DAYS[:2]]
    hurried = replace(Settings(), db_path=db, max_rate=0, parse_timeout_s=1e-6)
    first = ingest("hf-papers", "hf-papers-html", urls, base, new_run_id(), hurried, {})
    assert (first.status, first.pages_failed, first.sightings_added) == ("partial", 2, 0)
    assert all("timeout" in why for _, why in first.failures)
    assert _ingest(db, base, "--since", DAYS[0], "--until", DAYS[1]) == 0
    last = _rows(
        db,
        "SELECT pages_parsed, not_modified, sightings_added FROM runs "
        "ORDER BY started_at DESC LIMIT 1",
    )
    assert last[0][:2] == (2, 0)
    assert last[0][2] > 0
    assert _rows(db, "SELECT count(DISTINCT page_url) FROM sightings") == [(2,)]
    # Now loaded, the pages are conditional again: a third run gets 304s and adds nothing.
    assert _ingest(db, base, "--since", DAYS[0], "--until", DAYS[1]) == 0
    third = _rows(
        db,
        "SELECT not_modified, sightings_added FROM runs ORDER BY started_at DESC LIMIT 1",
    )
    assert third == [(2, 0)]


def test_bad_pages_fail_alone_with_reasons(
    db: Path, site: tuple[str, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = site
    assert _ingest(db, base, "--since", DAYS[0], "--until", "2026-05-12") == 1
    out = capsys.readouterr().out
    failed = dict(_rows(db, "SELECT url, error FROM pages WHERE outcome = 'failed'"))
    assert set(failed) == {f"{base}/papers/date/2026-05-{d}" for d in ("09", "10", "11", "12")}
    assert "garbage" in failed[f"{base}/papers/date/2026-05-09"]
    assert "truncated" in failed[f"{base}/papers/date/2026-05-10"]
    assert "layout" in failed[f"{base}/papers/date/2026-05-11"]
    assert "404" in failed[f"{base}/papers/date/2026-05-12"]
    assert _rows(db, "SELECT count(*) FROM pages WHERE outcome = 'parsed'") == [(5,)]
    assert _rows(db, "SELECT status, pages_failed FROM runs") == [("partial", 4)]
    assert "FAILED" in out and "2026-05-10" in out
