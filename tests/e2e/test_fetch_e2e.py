"""Issue #4 end to end: polite, bounded, incremental fetching through the real CLI and flow,
checked from the local server's own request log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from flows.demo import site_pages
from tests.faultserver import FaultServer

pytestmark = pytest.mark.usefixtures("prefect_harness")
ARXIV = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv_list"
DAYS = ("--since", "2026-05-04", "--until", "2026-05-08")


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer().start()
    srv.site.update(site_pages())
    try:
        yield srv
    finally:
        srv.stop()


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _ingest(db: Path, base: str, *args: str) -> int:
    return main(["--db", str(db), "ingest", "hf-papers", "--base-url", base, *args])


def _gaps(starts: list[float]) -> list[float]:
    starts = sorted(starts)
    return [b - a for a, b in zip(starts, starts[1:])]


def test_flaky_site_loads_every_page_in_one_run(db: Path, server: FaultServer) -> None:
    server.site_faults = ["500", "429", "cut", "stall"]
    assert _ingest(db, server.url(""), *DAYS, "--max-rate", "0") == 0
    assert _rows(db, "SELECT status, pages_parsed, pages_failed FROM runs ORDER BY started_at DESC LIMIT 1") == [
        ("succeeded", 5, 0)]
    retries = _rows(db, "SELECT retries FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    assert isinstance(retries, int) and retries >= 2
    # every page was requested more than once only when its first answer was a fault
    counts = [len(server.hits_for(p)) for p in site_pages() if p.startswith("/papers/date/")]
    assert sorted(counts) == [1, 1, 2, 2, 2]
    n_ids = _rows(db, "SELECT count(DISTINCT arxiv_id) FROM sightings")[0][0]
    assert _rows(db, "SELECT count(*) FROM papers") == [(n_ids,)]


def test_max_rate_spaces_requests_and_concurrency_caps_them(db: Path, server: FaultServer) -> None:
    assert _ingest(db, server.url(""), *DAYS, "--max-rate", "2", "--concurrency", "3") == 0
    starts = [h.start for h in server.hits]
    assert len(starts) >= 6  # robots.txt + 5 pages
    assert min(_gaps(starts)) >= 0.5
    assert server.max_open["127.0.0.1"] <= 3


def test_concurrency_three_never_exceeded(db: Path, server: FaultServer) -> None:
    for i in range(12):
        server.site[f"/papers/date/2026-06-{i + 1:02d}"] = server.site["/papers/date/2026-05-04"]
    assert _ingest(db, server.url(""), "--since", "2026-06-01", "--until", "2026-06-12",
                   "--max-rate", "0", "--concurrency", "3") == 0
    assert 1 <= server.max_open["127.0.0.1"] <= 3


def test_arxiv_default_is_one_request_every_three_seconds(db: Path, server: FaultServer) -> None:
    base = server.url("")
    for n, skip in ((1, None), (2, 25), (3, 50)):
        key = "/list/cs.LG/new" + (f"?skip={skip}&show=25" if skip else "")
        server.site[key] = (ARXIV / f"new_cs.LG_p{n}.html").read_bytes()
    code = main(["--db", str(db), "ingest", "arxiv-list", "--category", "cs.LG", "--listing", "new",
                 "--base-url", base])
    assert code == 0
    paths = [h.path for h in sorted(server.hits, key=lambda h: h.start)]
    assert paths[0] == "/robots.txt" and len(paths) == 4
    assert min(_gaps([h.start for h in server.hits])) >= 3.0
    assert _rows(db, "SELECT count(*) FROM sightings") == [(60,)]


def test_second_run_is_conditional_and_reparse_rebuilds(db: Path, server: FaultServer) -> None:
    base = server.url("")
    assert _ingest(db, base, *DAYS, "--max-rate", "0") == 0
    tables = ("papers", "sightings", "merge_decisions", "abstract_sketches")
    # A reparse is a new decision: merge_decisions keep their own run and time, so those two
    # columns are left out; everything parsed from the pages must come back identical.
    queries = {t: f"SELECT * FROM {t} ORDER BY ALL" for t in tables}
    queries["merge_decisions"] = "SELECT * EXCLUDE (run_id, decided_at) FROM merge_decisions ORDER BY ALL"
    before = {t: _rows(db, q) for t, q in queries.items()}
    first_hits = len(server.hits)
    assert _ingest(db, base, *DAYS, "--max-rate", "0") == 0
    second = [h for h in server.hits[first_hits:] if h.path.startswith("/papers/")]
    assert len(second) == 5 and all("If-None-Match" in h.headers for h in second)
    assert _rows(db, "SELECT not_modified, pages_parsed, sightings_added FROM runs "
                     "ORDER BY started_at DESC LIMIT 1") == [(5, 0, 0)]
    assert {t: _rows(db, q) for t, q in queries.items()} == before
    with duckdb.connect(str(db)) as con:
        for t in tables:
            con.execute(f"DELETE FROM {t}")
    hits = len(server.hits)
    assert main(["--db", str(db), "reparse"]) == 0
    assert len(server.hits) == hits  # no network
    assert {t: _rows(db, q) for t, q in queries.items()} == before
    reparse_run = "SELECT flow, pages_total, pages_parsed, pages_failed FROM runs " \
                  "ORDER BY started_at DESC LIMIT 1"  # fmt: skip
    assert _rows(db, reparse_run) == [("reparse", 5, 5, 0)]  # what it parsed, not 0


def test_run_figures_reach_the_prefect_artifact(db: Path, server: FaultServer) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    server.site_faults = ["500"]
    assert _ingest(db, server.url(""), *DAYS, "--max-rate", "0") == 0
    run_id = _rows(db, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["paperflow-hf-papers"]))
        )
    mine = [a for a in found if run_id in str(a.data)]
    assert len(mine) == 1
    text = str(mine[0].data)
    assert "| requests | 8 |" in text and "| retries | 3 |" in text and "| parsed | 5 |" in text


def test_reparse_of_two_bodies_of_one_page_in_separate_groups(db: Path, server: FaultServer) -> None:
    """A page re-rendered without changing its entries is stored twice; a reparse that stages
    the two bodies in different groups (files) sees every entry twice and loads it once."""
    from dataclasses import replace

    from flows.cli import build_parser, new_run_id, settings_from
    from flows.ingest import reparse

    base, path = server.url(""), "/papers/date/2026-05-04"
    assert _ingest(db, base, "--date", "2026-05-04", "--max-rate", "0") == 0
    server.site[path] = server.site[path].replace(b"</body>", b"<!-- re-rendered --></body>", 1)
    assert _ingest(db, base, "--date", "2026-05-04", "--max-rate", "0") == 0
    assert _rows(db, "SELECT count(DISTINCT content_sha256) FROM pages") == [(2,)]
    before = _rows(db, "SELECT * FROM sightings ORDER BY ALL")
    with duckdb.connect(str(db)) as con:
        for table in ("papers", "sightings", "merge_decisions", "abstract_sketches"):
            con.execute(f"DELETE FROM {table}")
    args = build_parser().parse_args(["--db", str(db), "reparse"])
    settings = replace(settings_from(args), batch_pages=1)  # one body per group and file
    result, pages = reparse(None, None, new_run_id(), settings, {})
    assert [p.outcome for p in pages] == ["parsed", "parsed"]
    assert result.sightings_added == len(before) > 0
    assert _rows(db, "SELECT * FROM sightings ORDER BY ALL") == before
