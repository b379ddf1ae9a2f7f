"""Issue #3 end to end: every source through the CLI against one local site built from the
fixtures, ending with one paper per arXiv id and each field from its richest source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tests.faultserver import FaultServer

pytestmark = pytest.mark.usefixtures("prefect_harness")
FIX = Path(__file__).resolve().parent.parent / "fixtures"


def _sf_author(papers: list[dict[str, object]]) -> bytes:
    return json.dumps({"papers": papers, "total": len(papers), "page": 1, "limit": 50}).encode()


SF_A = [
    {   # on the HF day page too: HF has the full author list and the upvotes
        "arxiv_id": "2605.05242", "title": "ToolWeaver: composing tools for LLM agents",
        "authors": ["Zhuofeng Li", "Haoran Zhang", "Wei Chen"], "n_authors": 7,
        "published_date": "2026-05-03", "categories": ["cs.AI", "cs.CL"], "primary_category": "cs.AI",
        "has_code": True, "github_url": "https://github.com/sf/toolweaver-mirror",
        "institution_tags": ["example-univ"],
    },
    {   # on arXiv /new too: arXiv has the title, abstract and full authors; only SF has code
        "arxiv_id": "2410.18540", "title": "PLACEHOLDER", "authors": ["X"], "n_authors": 9,
        "published_date": "2024-10-20", "categories": ["cs.LG", "stat.ML"], "primary_category": "cs.LG",
        "has_code": True, "github_url": "https://github.com/sf/from-scholarfeed",
        "institution_tags": ["sf-lab"],
    },
]
SF_B = [
    {"arxiv_id": "2605.05242", "title": "ToolWeaver", "authors": ["Zhuofeng Li"], "n_authors": 7,
     "published_date": "2026-05-03", "categories": ["cs.AI"], "has_code": False,
     "institution_tags": ["other-univ"]},
    {"arxiv_id": "2301.10500v2", "title": "Only On Scholar Feed And Legacy Recent", "authors": ["A B"],
     "published_date": "2023-01-24", "categories": ["cs.CL"], "has_code": False, "institution_tags": []},
]


@pytest.fixture
def site() -> Iterator[FaultServer]:
    srv = FaultServer().start()
    hf, ax = FIX / "hf_papers", FIX / "arxiv_list"
    srv.site["/papers/date/2026-05-08"] = (hf / "day_2026-05-08.html").read_bytes()
    srv.site["/papers/week/2026-W19"] = (hf / "week_2026-W19.html").read_bytes()
    srv.site["/list/cs.LG/new"] = (ax / "new_cs.LG_p1.html").read_bytes()
    srv.site["/list/cs.LG/new?skip=25&show=25"] = (ax / "new_cs.LG_p2.html").read_bytes()
    srv.site["/list/cs.LG/new?skip=50&show=25"] = (ax / "new_cs.LG_p3.html").read_bytes()
    legacy = (ax / "recent_legacy_cs.CL.html").read_bytes()  # one page of it: say so
    srv.site["/list/cs.CL/recent"] = legacy.replace(b"total of 163 entries", b"total of 25 entries")
    srv.site["/api/v1/public/authors/111/papers?page=1&limit=50"] = _sf_author(SF_A)
    srv.site["/api/v1/public/authors/222/papers?page=1&limit=50"] = _sf_author(SF_B)
    try:
        yield srv
    finally:
        srv.stop()


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _run(db: Path, base: str, *args: str) -> int:
    return main(["--db", str(db), "ingest", *args, "--base-url", base, "--max-rate", "0"])


def test_all_sources_one_paper_per_arxiv_id_richest_fields(db: Path, site: FaultServer) -> None:
    base = site.url("")
    assert _run(db, base, "hf-papers", "--date", "2026-05-08") == 0
    assert _run(db, base, "hf-papers", "--week", "2026-W19") == 0
    assert _run(db, base, "arxiv-list", "--category", "cs.LG", "--listing", "new") == 0
    assert _run(db, base, "arxiv-list", "--category", "cs.CL", "--listing", "pastweek") == 0
    assert _run(db, base, "scholarfeed", "--author", "111", "--author", "222") == 0
    assert _rows(db, "SELECT arxiv_id FROM papers GROUP BY 1 HAVING count(*) > 1") == []
    assert _rows(db, "SELECT count(*) FROM papers WHERE arxiv_id IS NULL") == [(0,)]
    ids = _rows(db, "SELECT count(DISTINCT arxiv_id) FROM sightings")[0][0]
    assert _rows(db, "SELECT count(*) FROM papers") == [(ids,)]

    hf = _rows(db, "SELECT title, authors, authors_complete, upvotes, code_url, organizations, sources "
                   "FROM papers WHERE arxiv_id = '2605.05242'")[0]
    hf_day = _rows(db, "SELECT title_rendered, authors, upvotes FROM sightings "
                       "WHERE arxiv_id = '2605.05242' AND page_url LIKE '%2026-05-08'")[0]
    assert hf[0] == hf_day[0]                      # HF outranks Scholar Feed for the title
    assert hf[1] == hf_day[1] and hf[2] is True    # the complete list, not the "et al." one
    assert hf[3] is not None                       # upvotes only HF has
    assert "example-univ" in hf[5] and "other-univ" in hf[5]
    assert hf[6] == ["hf-papers", "scholarfeed"]

    ax = _rows(db, "SELECT title, abstract, authors_complete, code_url, categories, sources "
                   "FROM papers WHERE arxiv_id = '2410.18540'")[0]
    ax_seen = _rows(db, "SELECT title_rendered, abstract FROM sightings "
                        "WHERE arxiv_id = '2410.18540' AND source = 'arxiv-list'")[0]
    assert ax[0] == ax_seen[0] and ax[0] != "PLACEHOLDER"
    assert ax[1] == ax_seen[1] and ax[2] is True
    assert ax[3] == "https://github.com/sf/from-scholarfeed"
    assert "stat.ML" in ax[4] and "cs.LG" in ax[4]
    assert ax[5] == ["arxiv-list", "scholarfeed"]
    # the legacy /recent entry and its Scholar Feed sighting (with a version suffix) are one paper
    legacy = _rows(db, "SELECT sources FROM papers WHERE arxiv_id = '2301.10500'")
    assert legacy == [(["arxiv-list", "scholarfeed"],)]


def test_changed_layout_is_flagged_not_loaded(db: Path, site: FaultServer, capsys: pytest.CaptureFixture[str]) -> None:
    site.site["/list/cs.LG/new"] = (FIX / "arxiv_list" / "changed_layout.html").read_bytes()
    assert _run(db, site.url(""), "arxiv-list", "--category", "cs.LG", "--listing", "new") == 1
    assert _rows(db, "SELECT count(*) FROM sightings") == [(0,)]
    outcome = _rows(db, "SELECT outcome, error FROM pages")
    assert outcome[0][0] == "failed" and "layout_changed" in outcome[0][1]
    out = capsys.readouterr().out
    assert "FAILED" in out and "/list/cs.LG/new" in out
    status = main(["--db", str(db), "status"])
    assert status == 0 and "layout_changed" in capsys.readouterr().out


def test_records_missing_required_fields_make_the_page_suspect(db: Path, site: FaultServer) -> None:
    broken = [{"title": f"No id {i}", "authors": ["A"]} for i in range(5)]
    site.site["/api/v1/public/authors/333/papers?page=1&limit=50"] = _sf_author(broken)
    assert _run(db, site.url(""), "scholarfeed", "--author", "333") == 1
    assert _rows(db, "SELECT outcome FROM pages") == [("suspect",)]
    assert _rows(db, "SELECT count(*) FROM sightings") == [(0,)]
    assert _rows(db, "SELECT status FROM runs") == [("partial",)]


def test_hf_json_api_pages_until_a_short_page(db: Path, site: FaultServer) -> None:
    items = json.loads((FIX / "hf_papers" / "api_daily_2026-05-08.json").read_bytes())
    assert len(items) == 6
    # a 50-item first page (the fixture's 6 items repeated under new ids), then a short one
    full = []
    for i in range(50):
        item = json.loads(json.dumps(items[i % 6]))
        item["paper"]["id"] = f"2605.9{i:04d}"
        full.append(item)
    site.site["/api/daily_papers?date=2026-05-08&p=0&limit=50"] = json.dumps(full).encode()
    site.site["/api/daily_papers?date=2026-05-08&limit=50&p=1"] = json.dumps(items).encode()
    assert _run(db, site.url(""), "hf-papers", "--via", "api", "--date", "2026-05-08") == 0
    assert _rows(db, "SELECT count(*), count(DISTINCT page_url) FROM sightings") == [(56, 2)]
    assert _rows(db, "SELECT count(*) FROM papers") == [(56,)]


def test_unchanged_pages_still_lead_to_their_next_pages(db: Path, site: FaultServer) -> None:
    """A re-run gets 304s for the listing's first pages; their stored bodies are parsed again
    (not staged) for the links, so a page that failed last time is fetched now."""
    last = "/list/cs.LG/new?skip=50&show=25"
    p3, site.site[last] = site.site[last], b"<html><body>Service unavailable</body></html>"
    base = site.url("")
    assert _run(db, base, "arxiv-list", "--category", "cs.LG", "--listing", "new") != 0
    before = _rows(db, "SELECT count(*) FROM sightings")[0][0]
    site.site[last] = p3
    assert _run(db, base, "arxiv-list", "--category", "cs.LG", "--listing", "new") == 0
    outcomes = _rows(db, "SELECT outcome, count(*) FROM pages WHERE run_id = "
                         "(SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1) GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert outcomes == [("not_modified", 2), ("parsed", 1)]
    assert _rows(db, "SELECT count(*) FROM sightings")[0][0] > before
