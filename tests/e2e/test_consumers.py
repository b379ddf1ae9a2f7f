"""Issue #6 for the people who query the warehouse: search, export, views, readers never blocked
by a running flow, and schema upgrades of a warehouse holding data."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from flows.demo import serve_site, site_pages
from warehouse.db import migrate, migrations, open_writer, writer_lock
from warehouse.db import open_connection as _open_connection

pytestmark = pytest.mark.usefixtures("prefect_harness")
ROOT = Path(__file__).resolve().parents[2]
PAPERFLOW = str(Path(sys.executable).with_name("paperflow"))  # the installed console script


def _import(db: Path, samples: list[Path]) -> int:
    return main(["--db", str(db), "import", *map(str, samples), "--as-of", "2026-11-22"])


def test_search_lists_longnet_first(db: Path, samples: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(db, samples) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "search", "dilated attention", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("paper_id,arxiv_id,title,score")
    assert "LongNet: Scaling Transformers to 1,000,000,000 Tokens" in lines[1]


def test_export_parquet_round_trips(db: Path, samples: list[Path], tmp_path: Path) -> None:
    assert _import(db, samples) == 0
    out = tmp_path / "export"
    assert main(["--db", str(db), "export", str(out)]) == 0
    papers = pq.read_table(out / "papers.parquet")
    assert papers.num_rows == 165
    assert pq.read_table(out / "sightings.parquet").num_rows == 166
    assert set(papers.column_names) >= {"paper_id", "title", "authors", "first_seen_at"}


def test_views_answer_common_questions(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        seen = con.execute("SELECT count(*) FROM papers_first_seen('2026-11-01', '2026-12-01')").fetchone()
        assert seen == (165,)
        assert con.execute("SELECT count(*) FROM papers_first_seen('2020-01-01', '2020-02-01')").fetchone() == (0,)
        longnet = con.execute("SELECT list_sort(list(source)) FROM paper_sightings "
                              "WHERE title LIKE 'LongNet%' GROUP BY paper_id").fetchall()
        assert longnet == [(["abstracts", "scholarfeed"],)]
        assert con.execute("SELECT status FROM run_history").fetchall() == [("succeeded",)]


def test_upgrade_from_v1_keeps_data(db: Path, tmp_path: Path) -> None:
    db.parent.mkdir(parents=True)
    with writer_lock(db, timeout_s=5):
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)")
        assert migrate(con, target=1) == 1
        con.execute("INSERT INTO sightings (sighting_id, paper_id, run_id, source, page_url, position, seen_at, "
                    "authors, authors_complete, categories, organizations, ai_keywords, entry_hash, title, title_rendered) "
                    "VALUES ('s1', 'pf_1', 'r1', 'hf-papers', 'http://x', 0, '2026-05-08', ['A'], true, [], [], [], 'h', 'T', 'T')")
        con.execute("INSERT INTO papers (paper_id, title, authors, authors_complete, categories, organizations, "
                    "ai_keywords, sources, n_sightings, first_seen_at, last_seen_at) VALUES "
                    "('pf_1', 'T', ['A'], true, [], [], [], ['hf-papers'], 1, '2026-05-08', '2026-05-08')")
        con.close()
    with open_writer(db) as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
        assert versions == [v for v, _ in migrations()]
        assert con.execute("SELECT paper_id, title FROM papers").fetchall() == [("pf_1", "T")]
        assert con.execute("SELECT count(*) FROM paper_sightings").fetchone() == (1,)


@pytest.fixture
def big_site() -> Iterator[str]:
    pages = site_pages()
    day = pages["/papers/date/2026-05-04"]
    first = date(2025, 1, 1)
    many = {f"/papers/date/{first + timedelta(days=i)}": day for i in range(362)}
    with serve_site(many) as base:
        yield base


def test_readers_answer_while_an_ingest_writes(
    db: Path, samples: list[Path], big_site: str, cli_env: dict[str, str]
) -> None:
    assert _import(db, samples) == 0
    env = {**cli_env, "PAPERFLOW_DB": str(db)}
    writer = subprocess.Popen(
        [PAPERFLOW, "ingest", "hf-papers", "--since", "2025-01-01", "--until", "2025-12-28",
         "--base-url", big_site, "--max-rate", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    timings = []
    try:
        while writer.poll() is None:
            started = time.monotonic()
            answer = subprocess.run([PAPERFLOW, "sql", "select count(*) from papers", "--format", "csv"],
                                    env=env, capture_output=True, text=True, timeout=30)
            timings.append(time.monotonic() - started)
            assert answer.returncode == 0, answer.stderr
            assert int(answer.stdout.splitlines()[1]) >= 165
    finally:
        out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert len(timings) >= 3
    assert max(timings) < 3.0, timings
    assert "Traceback" not in err


def test_writer_is_not_blocked_by_a_reader_on_the_snapshot(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    snapshot = db.with_name(db.stem + ".snapshot" + db.suffix)
    with duckdb.connect(str(snapshot), read_only=True) as reader:
        assert _import(db, samples) == 0  # a second load commits while the reader stays open
        assert reader.execute("SELECT count(*) FROM papers").fetchone() == (165,)
    with writer_lock(db, timeout_s=5), _open_connection(db) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (2,)
