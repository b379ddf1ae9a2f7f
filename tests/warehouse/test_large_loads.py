"""Loads of more than one chunk: written a chunk per transaction into a copy of the warehouse
that then replaces the live file (warehouse/load.py, `_load_in_copy`). They must give the
same warehouse as one transaction, and a failure must leave the live file as it was."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from parsers.records import Entry
from warehouse.db import loading_path, snapshot_path, writer_lock
from warehouse.errors import LoadError, MigrationError
from warehouse.load import (
    FetchStats,
    LoadResult,
    PageRecord,
    _Load,
    _load_in_place,
    load_batch,
    start_run,
)
from warehouse.stage import PageContext, StagedChunks, stage_row, stage_table, write_stage

T0 = datetime(2026, 5, 8, 12, tzinfo=UTC)
ABSTRACT = ("We route tokens among sparse experts and balance their load without auxiliary "
            "losses; retrieval experiments show large gains over dense baselines.")


def _e(pos: int, **kw: object) -> Entry:
    return Entry(source=str(kw.pop("source", "hf-papers")), position=pos, **kw)  # type: ignore[arg-type]


def _pages() -> dict[str, list[Entry]]:
    """Entries whose resolution crosses chunk boundaries at 3 rows a chunk: a later chunk
    joins papers an earlier one made (by arXiv id, by title), and bridges two of them."""
    fill = {f"u:f{i}": [_e(0, arxiv_id=f"2605.1000{i}", title=f"Filler paper number {i} on graphs",
                           authors=("Ana Ruiz", f"Author {i}"), published_date=date(2026, 5, 1))]
            for i in range(4)}
    return {
        "u:a": [_e(0, arxiv_id="2605.00001", title="Alpha Paper On Things", abstract=ABSTRACT)],
        "u:b": [_e(0, doi="10.5/q", title="Beta Title Entirely Else")],
        **fill,
        "u:bridge": [_e(0, arxiv_id="2605.00001", doi="10.5/q", title="Alpha Paper On Things")],
        "u:again": [_e(0, arxiv_id="2605.10001", arxiv_version=2, upvotes=40,
                       title="Filler paper number 1 on graphs", authors=("Ana Ruiz", "Author 1"))],
        "u:title": [_e(0, title="Filler Paper Number 2 on Graphs", authors=("Ana Ruiz",),
                       published_date=date(2026, 5, 1))],
        "u:abs": [_e(0, source="abstracts", abstract=ABSTRACT.replace("large", "big"))],
    }


def _stage(run_id: str, pages: dict[str, list[Entry]], tmp: Path) -> list[Path]:
    """One staged file per page, as a crawl's parse groups make them."""
    paths = []
    for i, (url, entries) in enumerate(pages.items()):
        rows = [stage_row(e, PageContext(run_id, url, "day", T0)) for e in entries]
        paths.append(write_stage(stage_table(rows), tmp / run_id / f"s{i:03d}.arrow"))
    return paths


def _run(db: Path, run_id: str, paths: list[Path], chunk_rows: int) -> LoadResult:
    start_run(db, run_id=run_id, flow="t", source="t", params={}, started_at=T0, lock_timeout_s=5)
    records = [PageRecord(url=f"u:{i}", source="t", fetched_at=T0, outcome="parsed") for i in range(3)]
    return load_batch(db, run_id=run_id, pages=records, stage_paths=paths, stats=FetchStats(),
                      finished_at=T0, chunk_rows=chunk_rows)


def _state(db: Path) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "papers": "SELECT * FROM papers ORDER BY paper_id",
        "sightings": "SELECT sighting_id, paper_id FROM sightings ORDER BY ALL",
        "aliases": "SELECT alias_id, paper_id FROM paper_aliases ORDER BY ALL",
        "decisions": "SELECT sighting_id, paper_id, rule FROM merge_decisions ORDER BY ALL",
        "index": "SELECT d.paper_id, d.len, p.* EXCLUDE (doc_id) FROM search_postings p "
                 "JOIN search_docs d USING (doc_id) ORDER BY ALL",
        "runs": "SELECT run_id, status, sightings_added, papers_added, papers_updated FROM runs ORDER BY ALL",
        "pages": "SELECT run_id, url FROM pages ORDER BY ALL",
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


def _content(db: Path) -> dict[str, list[tuple[object, ...]]]:
    return {k: v for k, v in _state(db).items() if k not in ("runs", "pages")}


def test_a_load_in_chunks_gives_what_its_chunks_give_as_runs(tmp_path: Path) -> None:
    """Each chunk sees the ones before it, as each run sees the runs before it; committing
    a chunk at a time into a copy must not change what resolution decides."""
    paths = _stage("r1", _pages(), tmp_path)
    assert len(StagedChunks(paths, rows=3)) == 4
    steps, runs = tmp_path / "steps" / "w.duckdb", tmp_path / "runs" / "w.duckdb"
    result = _run(steps, "r1", paths, chunk_rows=3)
    for j in range(4):
        _run(runs, f"r{j}", paths[3 * j : 3 * j + 3], chunk_rows=10_000)
    content = _content(steps)
    assert content == _content(runs)
    assert len(content["aliases"]) == 1  # the bridge merged two papers an earlier chunk made
    assert len(content["papers"]) == result.papers_added == 5 and content["index"]
    assert result.sightings_added == len(content["sightings"]) == 10
    assert _state(snapshot_path(steps)) == _state(steps)  # readers see it
    assert not loading_path(steps).exists()
    # Loading the same staged rows again, in chunks, adds nothing.
    again = _run(steps, "r-again", paths, chunk_rows=3)
    assert (again.sightings_added, again.papers_added) == (0, 0)
    assert _content(steps) == content


def _random_pages(rng: random.Random, tag: str, n: int) -> dict[str, list[Entry]]:
    """Entries that share arXiv ids, DOIs and titles at random: joins, bridges, merges."""
    pages = {}
    for i in range(n):
        kw: dict[str, object] = {"title": f"Paper title number {rng.randrange(7)} about graphs",
                                 "authors": ("Ana Ruiz", f"Author {rng.randrange(3)}"),
                                 "published_date": date(2026, 5, 1)}
        if rng.random() < 0.6:
            kw["arxiv_id"] = f"2605.{10000 + rng.randrange(8)}"
        if rng.random() < 0.4:
            kw["doi"] = f"10.5/d{rng.randrange(6)}"
        if rng.random() < 0.3:
            kw["abstract"] = ABSTRACT + str(rng.randrange(3))
        if rng.random() < 0.2:
            kw["upvotes"] = rng.randrange(50)
        source = "hf-papers" if rng.random() < 0.8 else "other"
        pages[f"u:{tag}{i}"] = [_e(0, source=source, **kw)]
    return pages


@pytest.mark.parametrize("seed", range(6))
def test_a_load_into_a_copy_decides_what_one_transaction_decides(tmp_path: Path, seed: int) -> None:
    """The same chunks, loaded a transaction each into a copy and all in one transaction on
    the live file (`_load_in_place`, what a one-chunk load does), into a warehouse that
    already holds a run."""
    rng = random.Random(seed)
    before = _stage("r0", _random_pages(rng, "p", 6), tmp_path)
    paths = _stage("r1", _random_pages(rng, "q", 14), tmp_path)
    copy, one = tmp_path / "copy" / "w.duckdb", tmp_path / "one" / "w.duckdb"
    for db in (copy, one):
        _run(db, "r0", before, chunk_rows=10_000)
    in_copy = _run(copy, "r1", paths, chunk_rows=2)
    start_run(one, run_id="r1", flow="t", source="t", params={}, started_at=T0, lock_timeout_s=5)
    pages = [PageRecord(url=f"u:{i}", source="t", fetched_at=T0, outcome="parsed") for i in range(3)]
    load = _Load("r1", pages, (), StagedChunks(paths, 2), FetchStats(), T0, None)
    with writer_lock(one, timeout_s=5):
        in_place = _load_in_place(one, load)
    assert in_copy == in_place
    assert _state(copy) == _state(one)


def _failing_stage(run_id: str, tmp: Path) -> list[Path]:
    """Two good chunks of new papers, then a row the warehouse refuses (no source)."""
    good = {f"u:n{i}": [_e(0, arxiv_id=f"2606.2000{i}", title=f"New paper {i} about trees")]
            for i in range(6)}
    paths = _stage(run_id, good, tmp)
    bad = stage_table([stage_row(_e(0, arxiv_id="2606.29999", title="Bad"),
                                 PageContext(run_id, "u:bad", "day", T0))])
    bad = bad.set_column(bad.schema.get_field_index("source"), "source",
                         pa.array([None], pa.string()))
    return [*paths, write_stage(bad, tmp / run_id / "bad.arrow")]


def test_a_chunked_load_that_fails_leaves_the_live_file_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _run(db, "r1", _stage("r1", _pages(), tmp_path), chunk_rows=3)
    start_run(db, run_id="r2", flow="t", source="t", params={}, started_at=T0, lock_timeout_s=5)
    before, snapshot = _state(db), snapshot_path(db).read_bytes()
    with pytest.raises(LoadError, match="rolled back"):
        load_batch(db, run_id="r2", pages=[], stage_paths=_failing_stage("r2", tmp_path),
                   stats=FetchStats(), finished_at=T0, chunk_rows=2)
    assert _state(db) == before  # the first chunks' commits went into the discarded copy
    assert ("r2", "running", 0, 0, 0) in before["runs"]
    assert snapshot_path(db).read_bytes() == snapshot
    assert not loading_path(db).exists()


def test_the_next_writer_discards_a_killed_loads_copy(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _run(db, "r1", _stage("r1", _pages(), tmp_path), chunk_rows=3)
    before = _state(db)
    work = loading_path(db)
    shutil.copyfile(db, work)  # what a writer killed mid-load leaves: a half-written copy
    work.with_name(work.name + ".wal").write_bytes(b"half a log")
    start_run(db, run_id="r2", flow="t", source="t", params={}, started_at=T0, lock_timeout_s=5)
    assert not work.exists() and not work.with_name(work.name + ".wal").exists()
    assert _state(db)["papers"] == before["papers"]


@pytest.mark.parametrize("chunk_rows", [10_000, 3])
def test_a_load_into_a_newer_warehouse_asks_for_an_upgrade(tmp_path: Path, chunk_rows: int) -> None:
    """A schema newer than this paperflow is a MigrationError (upgrade), in place or in a
    copy, not a LoadError (retry)."""
    db = tmp_path / "w.duckdb"
    paths = _stage("r1", _pages(), tmp_path)
    _run(db, "r1", paths, chunk_rows=10_000)
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future.sql')")
    before = _state(db)
    with pytest.raises(MigrationError, match="newer"):
        load_batch(db, run_id="r2", pages=[], stage_paths=paths, stats=FetchStats(),
                   finished_at=T0, chunk_rows=chunk_rows)
    assert _state(db) == before and not loading_path(db).exists()
