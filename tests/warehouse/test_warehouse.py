"""The warehouse on real DuckDB files: migrations, hardening, the writer lock, idempotent loads,
hostile strings, and resolution rules."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.records import Entry
from warehouse.db import migrations, open_reader, open_writer, schema_version
from warehouse.errors import MigrationError, WarehouseError, WarehouseLocked
from warehouse.load import FetchStats, PageRecord, load_batch, start_run
from warehouse.stage import PageContext, stage_row, stage_table, write_stage

T0 = datetime(2026, 5, 8, 12, tzinfo=UTC)


def _load(db: Path, run_id: str, pages: dict[str, list[Entry]], tmp: Path) -> object:
    start_run(db, run_id=run_id, flow="test", source="test", params={}, started_at=T0, lock_timeout_s=5)
    rows, records = [], []
    for url, entries in pages.items():
        ctx = PageContext(run_id, url, "day", T0)
        rows += [stage_row(e, ctx) for e in entries]
        records.append(PageRecord(url=url, source="hf-papers", fetched_at=T0, outcome="parsed", records=len(entries)))
    path = write_stage(stage_table(rows), tmp / f"{run_id}.arrow")
    return load_batch(db, run_id=run_id, pages=records, stage_paths=[path], stats=FetchStats(), finished_at=T0)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _e(pos: int, **kw: object) -> Entry:
    return Entry(source=str(kw.pop("source", "hf-papers")), position=pos, **kw)  # type: ignore[arg-type]


def test_migrations_apply_once_and_are_recorded(db: Path) -> None:
    with open_writer(db) as con:
        assert schema_version(con) == migrations()[-1][0]
    with open_writer(db) as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (len(migrations()),)


def test_a_newer_schema_is_refused(db: Path) -> None:
    with open_writer(db) as con:
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future.sql')")
    with pytest.raises(MigrationError, match="newer"):
        with open_writer(db):
            pass


def test_hardened_connection_refuses_files_and_settings(db: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    with open_writer(db) as con:
        for sql in (f"SELECT * FROM read_csv('{tmp_path}/x.csv')", f"COPY runs TO '{tmp_path}/out.csv'",
                    "SET enable_external_access = true"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    assert not (tmp_path / "out.csv").exists()


def test_second_writer_waits_then_reports_busy(db: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; sys.path.insert(0, '.');"
         "from pathlib import Path; from warehouse.db import writer_lock;"
         f"cm = writer_lock(Path({str(db)!r}), timeout_s=5); cm.__enter__(); print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(WarehouseLocked, match="busy") as info:
            with open_writer(db, lock_timeout_s=1.0):
                pass
        assert 0.9 <= time.monotonic() - started < 5
        assert "pid" in str(info.value)
        holder.kill()  # the kernel frees an flock when its holder dies
        holder.wait()
        with open_writer(db, lock_timeout_s=5.0) as con:
            assert con.execute("SELECT 1").fetchone() == (1,)
    finally:
        holder.kill()


def test_a_file_that_is_not_a_warehouse_is_an_error_not_busy(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"not a database" * 1000)
    started = time.monotonic()
    with pytest.raises(WarehouseError, match="cannot open the warehouse") as info:
        with open_writer(db, lock_timeout_s=1.0):
            pass
    assert not isinstance(info.value, WarehouseLocked) and time.monotonic() - started < 5


def test_same_batch_twice_changes_nothing(db: Path, tmp_path: Path) -> None:
    pages = {"http://x/day": [_e(0, arxiv_id="2605.00001", title="A"), _e(1, arxiv_id="2605.00002", title="B")]}
    _load(db, "r1", pages, tmp_path)
    papers = _rows(db, "SELECT * FROM papers ORDER BY paper_id")
    _load(db, "r2", pages, tmp_path)
    assert _rows(db, "SELECT * FROM papers ORDER BY paper_id") == papers
    assert _rows(db, "SELECT count(*) FROM sightings") == [(2,)]
    assert _rows(db, "SELECT run_id, sightings_added FROM runs ORDER BY run_id") == [("r1", 2), ("r2", 0)]


def test_different_arxiv_ids_with_the_same_title_stay_apart(db: Path, tmp_path: Path) -> None:
    pages = {"http://x/a": [_e(0, arxiv_id="2605.00001", title="Same Title"), _e(1, arxiv_id="2605.00002", title="Same Title")]}
    _load(db, "r1", pages, tmp_path)
    assert _rows(db, "SELECT count(*) FROM papers") == [(2,)]


def test_title_only_entry_joins_by_title_unless_vetoed(db: Path, tmp_path: Path) -> None:
    first = {"http://x/a": [_e(0, arxiv_id="2605.00001", title="Deep Things", authors=("Ana Ruiz",),
                                published_date=date(2026, 5, 1))]}
    _load(db, "r1", first, tmp_path)
    later = {"http://x/b": [
        _e(0, source="scholarfeed", title="DEEP things!", authors=("A. Ruiz", "Bo Chen")),
        _e(1, source="scholarfeed", title="Deep Things", authors=("Zed Other",)),
        _e(2, source="scholarfeed", title="Deep Things", published_date=date(2019, 1, 1)),
    ]}
    _load(db, "r2", later, tmp_path)
    joined = _rows(db, "SELECT position, rule FROM sightings JOIN merge_decisions USING (sighting_id) "
                       "WHERE page_url = 'http://x/b' ORDER BY position")
    assert joined[0] == (0, "title")
    assert {r[1] for r in joined[1:]} <= {"new", "title"}
    assert _rows(db, "SELECT count(DISTINCT paper_id) FROM sightings WHERE position IN (1, 2) AND page_url = 'http://x/b'")[0][0] >= 1
    ids = _rows(db, "SELECT DISTINCT paper_id FROM sightings WHERE page_url='http://x/b' AND position > 0")
    main = _rows(db, "SELECT paper_id FROM papers WHERE arxiv_id = '2605.00001'")[0]
    assert main not in ids  # vetoed: no shared surname / years far apart


def test_survivorship_prefers_complete_authors_and_latest_upvotes(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"http://x/a": [_e(0, source="scholarfeed", arxiv_id="2605.00009", title="T",
                                        authors=("A", "B", "C"), authors_complete=False, upvotes=3)]}, tmp_path)
    start_run(db, run_id="r2", flow="t", source="t", params={}, started_at=T0, lock_timeout_s=5)
    later = datetime(2026, 5, 9, tzinfo=UTC)
    rows = [stage_row(_e(0, arxiv_id="2605.00009", title="T", authors=("A", "B", "C", "D"), upvotes=7),
                      PageContext("r2", "http://x/b", "day", later))]
    path = write_stage(stage_table(rows), tmp_path / "r2.arrow")
    load_batch(db, run_id="r2", pages=[], stage_paths=[path], stats=FetchStats(), finished_at=later)
    assert _rows(db, "SELECT authors, authors_complete, upvotes, n_sightings FROM papers") == [
        (["A", "B", "C", "D"], True, 7, 2)]


HOSTILE = ["x'); DROP TABLE papers;--", "$1 ? %s {0}", "\u202eRTL\u202c 🧪 ünï", "a" * 5000, "\\N\t\n\r"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=300)))
def test_any_text_round_trips(tmp_path: Path, text: str) -> None:
    db = tmp_path / f"h{abs(hash(text))}.duckdb"
    entry = _e(0, arxiv_id="2605.00003", title=text.replace("\x00", "") or "t", abstract=text)
    from parsers.records import clean_text
    _load(db, "r1", {"http://x/h": [entry]}, tmp_path)
    got = _rows(db, "SELECT title, abstract FROM sightings")
    assert got == [(entry.title, entry.abstract)]
    assert _rows(db, "SELECT count(*) FROM papers") == [(1,)]
    assert clean_text(text) is None or isinstance(clean_text(text), str)


def test_reader_sees_committed_state(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"http://x/a": [_e(0, arxiv_id="2605.00004", title="R")]}, tmp_path)
    with open_reader(db) as con:
        assert con.execute("SELECT count(*) FROM papers").fetchone() == (1,)


def _fixture_pages() -> list[tuple[str, list[Entry]]]:
    """(url, entries) of every fixture page that parses, in every format."""
    from parsers import FORMATS, detect_format
    from parsers.errors import ParseError

    pages = []
    for path in sorted((Path(__file__).parents[1] / "fixtures").rglob("*")):
        body = path.read_bytes() if path.is_file() else b""
        fmt = detect_format(body) if body else None
        if fmt is None:
            continue
        try:
            page = FORMATS[fmt].parse(body, url=path.as_uri(), fetched_at=T0)
        except ParseError:
            continue
        pages.append((path.as_uri(), list(page.entries)))
    return pages


def test_column_wise_staging_makes_the_rows_stage_row_makes() -> None:
    from warehouse.stage import rows_table, stage_entries

    pages = _fixture_pages()
    assert sum(len(entries) for _, entries in pages) > 100
    hostile = _e(0, title="T\x00\u0301itle $x^2$ \u2028", authors=("José Núñez", "", "A" * 500),
                 categories=("cs.CL",), abstract=" a\u00a0b ")  # fmt: skip
    for url, entries in [*pages, ("u:hostile", [hostile]), ("u:none", [])]:
        ctx = PageContext("r1", url, "day", T0)
        expected = rows_table([stage_row(e, ctx) for e in entries])
        assert stage_entries(entries, ctx).equals(expected), url


def test_blobs_read_back_and_damaged_ones_fail_as_before(tmp_path: Path) -> None:
    """get_blob inflates put_blob's single gzip member in one call; anything else (several
    members, truncation, a bad checksum) goes through igzip, which reads or rejects it."""
    import gzip

    from warehouse.blobs import blob_path, get_blob, put_blob

    body = b"<html>" + "é page ".encode() * 50_000 + b"</html>"
    sha = put_blob(tmp_path, body)
    assert get_blob(tmp_path, sha) == body
    path = blob_path(tmp_path, sha)
    packed = path.read_bytes()
    path.write_bytes(packed + gzip.compress(b"more"))  # two members: both are the body
    assert get_blob(tmp_path, sha) == body + b"more"
    path.write_bytes(packed[:-100])
    with pytest.raises(EOFError):
        get_blob(tmp_path, sha)
    path.write_bytes(packed[:-8] + b"\0\0\0\0" + packed[-4:])
    with pytest.raises(gzip.BadGzipFile, match="CRC"):
        get_blob(tmp_path, sha)


def test_stage_chunks_span_small_files_in_order(tmp_path: Path) -> None:
    from warehouse.stage import StagedChunks

    paths, ids = [], []
    for i, n in enumerate((3, 5, 0, 4)):  # a crawl's ramped groups, one of them empty
        ctx = PageContext("r1", f"u:{i}", "day", T0)
        entries = [_e(p, arxiv_id=f"2401.{i}{p:04d}", title=f"T {i} {p}") for p in range(n)]
        rows = [stage_row(e, ctx) for e in entries]
        ids += [row["sighting_id"] for row in rows]
        paths.append(write_stage(stage_table(rows), tmp_path / f"s{i}.arrow"))
    chunks = list(StagedChunks(paths, rows=5))
    assert [c.num_rows for c in chunks] == [5, 5, 2]  # 4 files, 3 resolution passes
    assert [sid for c in chunks for sid in c["sighting_id"].to_pylist()] == ids
    assert list(StagedChunks([], rows=5)) == [] and len(StagedChunks(paths, rows=5)) == 3


def test_a_sighting_staged_in_two_files_loads_once(db: Path, tmp_path: Path) -> None:
    """Two stored bodies of one page that kept an entry (a reparse) stage that entry twice,
    in different files; when both fall into one chunk, the first copy wins."""
    ctx = PageContext("r1", "u:day", "day", T0)
    entries = [_e(p, arxiv_id=f"2401.{p:05d}", title=f"Paper {p}") for p in range(3)]
    rows = [stage_row(e, ctx) for e in entries]
    first = write_stage(stage_table(rows[:2]), tmp_path / "a.arrow")
    second = write_stage(stage_table(rows[1:]), tmp_path / "b.arrow")
    start_run(db, run_id="r1", flow="test", source="test", params={}, started_at=T0,
              lock_timeout_s=5)  # fmt: skip
    page = PageRecord(url="u:day", source="hf-papers", fetched_at=T0, outcome="parsed", records=3)
    paths = [first, second]
    result = load_batch(db, run_id="r1", pages=[page], stage_paths=paths, stats=FetchStats(),
                        finished_at=T0)  # fmt: skip
    assert (result.sightings_added, result.papers_added) == (3, 3)
    assert _rows(db, "SELECT count(*), count(DISTINCT sighting_id) FROM sightings") == [(3, 3)]
