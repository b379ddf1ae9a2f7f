"""The incremental search index (warehouse/search.py, migrations 005 and 006) on real DuckDB files and a
DuckLake: loads keep it equal to a full rebuild, it ranks exactly as DuckDB's own fts index
did, a v4 warehouse upgrades to it, and `fts_main_papers.match_bm25` still answers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import duckdb_ext
import pytest

from parsers import FORMATS, Entry, detect_format
from tests.loading import load_entries
from warehouse.db import (
    load_sql,
    migrate,
    open_connection,
    open_writer,
    publish_snapshot,
    schema_version,
    transaction,
)
from warehouse.explain import unmerge
from warehouse.lake import Lake, Target, schema_sql, temp_macros
from warehouse.query import QueryError, run_query, search
from warehouse.search import rebuild_search_index

T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)
LONGNET = "LongNet: Scaling Transformers to 1,000,000,000 Tokens"
QUERIES = [
    "dilated attention",
    "Scaling transformers to a billion tokens",
    "large language model agents",
    "retrieval-augmented generation",
    "Déjà vu: 3D reconstruction, résumé!",
    "the of and",  # stop words only: nothing matches
]
TERMS = (
    "SELECT paper_id, term, count(*) FILTER (WHERE in_title), count(*) FILTER (WHERE NOT in_title)"
    " FROM search_terms GROUP BY ALL ORDER BY ALL"
)
DOCS = "SELECT paper_id, len FROM search_docs ORDER BY ALL"


def _load(target: Target, run_id: str, pages: dict[str, list[Entry]], tmp: Path) -> None:
    load_entries(target, run_id, pages, tmp, at=T0)


def _load_samples(target: Target, samples: list[Path], tmp: Path) -> None:
    """The bundled sample captures, parsed as `paperflow import` parses them, in one run."""
    pages = {}
    for path in samples:
        body, url = path.read_bytes(), path.as_uri()
        fmt = detect_format(body)
        assert fmt is not None, path
        pages[url] = list(FORMATS[fmt].parse(body, url=url, fetched_at=T0).entries)
    _load(target, "samples", pages, tmp)


def _e(pos: int, **kw: object) -> Entry:
    return Entry(source=str(kw.pop("source", "hf-papers")), position=pos, **kw)  # type: ignore[arg-type]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _index(target: Target) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return run_query(target, TERMS).rows, run_query(target, DOCS).rows


def _searches(target: Target) -> list[list[tuple[object, ...]]]:
    return [search(target, q, limit=1000).rows for q in QUERIES]


def _assert_matches_rebuild(db: Path, tmp: Path) -> None:
    """The index the loads maintained is row for row the one a full rebuild makes, and every
    paper (and only those) has its length row."""
    copy = tmp / f"rebuilt-{uuid.uuid4().hex[:6]}.duckdb"
    shutil.copyfile(db, copy)
    with open_writer(copy, lock_timeout_s=5) as con, transaction(con):
        rebuild_search_index(con)
    assert _index(copy) == _index(db)
    assert _searches(copy) == _searches(db)
    assert _rows(db, "SELECT paper_id FROM papers ORDER BY 1") == _rows(
        db, "SELECT paper_id FROM search_docs ORDER BY 1"
    )
    assert _rows(db, "SELECT count(*) FROM search_terms ANTI JOIN papers USING (paper_id)") == [(0,)]


def _hit_ids(db: Path, text: str) -> set[object]:
    return {row[0] for row in search(db, text, limit=100).rows}


A = dict(arxiv_id="2605.00001", title="Dilated Attention for Long Sequences",
         authors=("Ana Ruiz", "Bo Chen"), published_date=date(2026, 5, 1))  # fmt: skip


def test_loads_keep_the_index_equal_to_a_rebuild(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {
        "u:a": [_e(0, arxiv_version=1, abstract="We scale transformers to a billion tokens.", **A)],
        "u:b": [_e(0, doi="10.5/q", title="Routing Sparse Experts", abstract="Experts balance load.")],
        "u:c": [_e(0, arxiv_id="2605.00003", title="Résumé: Déjà-vu in 3D Vision!")],
    }, tmp_path)  # fmt: skip
    _assert_matches_rebuild(db, tmp_path)
    paper_a = _rows(db, "SELECT paper_id FROM papers WHERE arxiv_id = '2605.00001'")[0][0]
    assert _hit_ids(db, "billion tokens") == {paper_a}

    # A newer arXiv version replaces the abstract; a new paper arrives.
    _load(db, "r2", {
        "u:a2": [_e(0, arxiv_version=2, abstract="Hierarchical attention for retrieval.", **A)],
        "u:d": [_e(0, arxiv_id="2605.00004", title="Hierarchical Planning Agents")],
    }, tmp_path)  # fmt: skip
    _assert_matches_rebuild(db, tmp_path)
    assert _hit_ids(db, "billion") == set()
    assert paper_a in _hit_ids(db, "hierarchical")

    # A bridging entry merges the arXiv paper and the DOI paper: the loser's rows go.
    _load(db, "r3", {"u:bridge": [_e(0, doi="10.5/q", **A)]}, tmp_path)
    _assert_matches_rebuild(db, tmp_path)
    loser, survivor = _rows(db, "SELECT alias_id, paper_id FROM paper_aliases")[0]
    assert _rows(db, f"SELECT count(*) FROM search_docs WHERE paper_id = '{loser}'") == [(0,)]
    assert loser not in _hit_ids(db, "routing sparse experts")

    # Unmerging moves the DOI sighting to a paper of its own, which is indexed at once.
    moving = _rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:b'")[0][0]
    new_id = unmerge(db, str(survivor), [str(moving)], lock_timeout_s=5)
    _assert_matches_rebuild(db, tmp_path)
    assert _hit_ids(db, "experts balance") == {new_id}


def _fts(db: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB's own fts index over a copy of the warehouse's papers, built as paperflow built
    it before v5: the reference for tokens and ranking."""
    papers = duckdb.connect(str(db), read_only=True)
    table = papers.execute("SELECT paper_id, title, abstract FROM papers").fetch_arrow_table()
    papers.close()
    con = duckdb.connect()
    duckdb_ext.init(con)
    con.execute("LOAD fts")
    con.register("src", table)
    con.execute("CREATE TABLE papers AS SELECT * FROM src")
    con.execute("PRAGMA create_fts_index('papers', 'paper_id', 'title', 'abstract', "
                "stemmer = 'porter', stopwords = 'english', overwrite = 1)")  # fmt: skip
    return con


def _fts_scores(con: duckdb.DuckDBPyConnection, args: str, query: str) -> dict[str, float]:
    sql = (f"SELECT paper_id, fts_main_papers.match_bm25(paper_id, ?{args}) AS s "
           "FROM papers WHERE s IS NOT NULL")  # fmt: skip
    return {str(k): float(v) for k, v in con.execute(sql, [query]).fetchall()}


def _ranked(rows: list[tuple[object, ...]]) -> list[tuple[object, object]]:
    """(paper_id, score) by score then id: scores are rounded, so equal ones may come either
    way round from two different sums."""
    pairs = [(row[0], row[1]) for row in rows]
    return sorted(pairs, key=lambda p: (-float(p[1]), str(p[0])))  # type: ignore[arg-type]


def test_tokens_and_ranking_are_duckdb_fts(db: Path, samples: list[Path], tmp_path: Path) -> None:
    _load_samples(db, samples, tmp_path)
    assert search(db, "dilated attention").rows[0][2] == LONGNET
    fts = _fts(db)
    want_terms = fts.execute(
        "SELECT d.name, dict.term, count(*) FILTER (WHERE t.fieldid = 0), "
        "count(*) FILTER (WHERE t.fieldid = 1) FROM fts_main_papers.terms t "
        "JOIN fts_main_papers.docs d USING (docid) JOIN fts_main_papers.dict dict USING (termid) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    want_docs = fts.execute("SELECT name, len FROM fts_main_papers.docs ORDER BY ALL").fetchall()
    assert _index(db) == (want_terms, want_docs)
    for query in QUERIES:
        want = _fts_scores(fts, "", query)
        got = search(db, query, limit=1000).rows
        assert [r[0] for r in got] == [r[0] for r in sorted(got, key=lambda r: -float(r[3]))]
        assert _ranked([(r[0], r[3]) for r in got]) == _ranked(
            [(k, round(v, 3)) for k, v in want.items()]
        ), query
    fts.close()


@pytest.mark.parametrize(
    "args", ["", ", fields := 'title'", ", fields := 'abstract,title'", ", conjunctive := 1",
             ", k := 2.0, b := 0.5"],
)  # fmt: skip
def test_match_bm25_macro_answers_on_the_snapshot(
    db: Path, samples: list[Path], tmp_path: Path, args: str
) -> None:
    """The documented SQL entry point keeps working, read-only, with fts's arguments."""
    _load_samples(db, samples, tmp_path)
    fts = _fts(db)
    for query in ["dilated attention", "scaling transformers", "language model"]:
        sql = (f"SELECT paper_id, fts_main_papers.match_bm25(paper_id, ?{args}) AS s "
               "FROM papers WHERE s IS NOT NULL ORDER BY paper_id")  # fmt: skip
        got = dict(run_query(db, sql, [query]).rows)  # the snapshot, read-only
        want = _fts_scores(fts, args, query)
        assert got.keys() == want.keys() and want, (query, args)
        assert all(abs(float(got[k]) - want[k]) < 1e-9 for k in want), (query, args)  # type: ignore[arg-type]
        # In a WHERE clause too (v5's macro matched every row there: its argument, written
        # `paper_id`, bound to the macro's own column).
        where = (f"SELECT paper_id FROM papers WHERE fts_main_papers.match_bm25(paper_id, ?{args})"
                 " > 0 ORDER BY paper_id")  # fmt: skip
        assert [r[0] for r in run_query(db, where, [query]).rows] == sorted(want), (query, args)
    fts.close()


def _older_copy(db: Path, old: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A new warehouse `old` at schema `version` holding `db`'s data tables; returned open,
    with `db` attached as `src` for the caller to copy more."""
    old.parent.mkdir()
    con = duckdb.connect(str(old))
    duckdb_ext.init(con)
    con.execute("LOAD fts")
    assert migrate(con, target=version) == version
    con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")  # a test path, not input
    for table in ["papers", "sightings", "runs", "pages", "merge_decisions"]:
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    return con


def test_a_v4_warehouse_upgrades_to_a_working_index(
    db: Path, samples: list[Path], tmp_path: Path
) -> None:
    _load_samples(db, samples, tmp_path)
    old = tmp_path / "v4" / "w.duckdb"
    con = _older_copy(db, old, 4)
    con.execute("DETACH src")
    con.execute("PRAGMA create_fts_index('papers', 'paper_id', 'title', 'abstract', "
                "stemmer = 'porter', stopwords = 'english', overwrite = 1)")  # fmt: skip
    con.close()
    with open_writer(old, lock_timeout_s=5) as con:
        assert schema_version(con) == 6
        left = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'fts_main_papers'"
        assert con.execute(left).fetchone() == (0,)  # the old index's tables are gone
    assert _index(old) == _index(db)  # migrating indexes what the loads indexed
    assert search(old, "dilated attention").rows[0][2] == LONGNET
    sql = "SELECT count(*) FROM papers WHERE fts_main_papers.match_bm25(paper_id, 'dilated') > 0"
    assert run_query(old, sql).rows[0][0] > 0


AWKWARD = ["", " ", "...", "  a", " a.", "a. b", "a .b", "x''y `z` -w- ", "1999 foo2bar",
           "Tab\tnew\nline\rcr\fff", "a\u00a0b", "a\x0bb", "Ça va? naïve café, RÉSUMÉ",
           "C++/C# & F*: 3-D (2x) [GPU] {x}", "emoji 🙂 and 中文 text", None]  # fmt: skip


def test_the_v6_tokenizer_splits_exactly_as_the_v5_one(
    db: Path, samples: list[Path], tmp_path: Path
) -> None:
    """Migration 006 rewrote search_tokenize for speed; on every sample title and abstract
    and on awkward strings it gives v5's list, empty words included."""
    _load_samples(db, samples, tmp_path)
    (v5,) = temp_macros(load_sql("schema/005_search_index.sql"))
    with open_writer(db, lock_timeout_s=5) as con:
        con.execute(v5.replace("search_tokenize", "tokenize_v5"))
        sql = "SELECT title FROM papers UNION ALL SELECT abstract FROM papers"
        texts = [row[0] for row in con.execute(sql).fetchall()]
        assert len(texts) > 20
        for text in [*texts, *AWKWARD]:
            got = con.execute("SELECT search_tokenize(?), tokenize_v5(?)", [text, text]).fetchone()
            assert got is not None and got[0] == got[1], text


def test_a_v5_warehouse_upgrades_with_the_same_index(
    db: Path, samples: list[Path], tmp_path: Path
) -> None:
    """Migration 006 moves the postings under doc ids: a v5 warehouse keeps every term row,
    length and score, and later loads keep it equal to a rebuild."""
    _load_samples(db, samples, tmp_path)
    old = tmp_path / "v5" / "w.duckdb"
    con = _older_copy(db, old, 5)
    con.execute("INSERT INTO search_terms SELECT paper_id, term, in_title FROM src.search_terms")
    con.execute("INSERT INTO search_docs SELECT paper_id, len FROM src.search_docs")
    con.execute("DETACH src")
    con.close()
    publish_snapshot(old)  # readers never migrate: search on the v5 snapshot says what to do
    with pytest.raises(QueryError, match="schema v5 and search needs v6"):
        search(old, "dilated")
    with open_writer(old, lock_timeout_s=5) as con:
        assert schema_version(con) == 6
        nulls = "SELECT count(*) FROM search_docs WHERE doc_id IS NULL"
        assert con.execute(nulls).fetchone() == (0,)
    publish_snapshot(old)
    assert _index(old) == _index(db) and len(_index(db)[0]) > 100
    assert _searches(old) == _searches(db)
    new = {"u:x": [_e(0, arxiv_id="2605.00009", title="Dilated Routing Agents")]}
    _load(old, "r2", new, tmp_path)
    _assert_matches_rebuild(old, tmp_path)
    assert len(_hit_ids(old, "dilated")) == len(_hit_ids(db, "dilated")) + 1


# --- DuckLake -----------------------------------------------------------------------------


def test_ducklake_migration_skips_the_fts_schema_and_keeps_the_tokenizer() -> None:
    sql = load_sql("schema/005_search_index.sql")
    assert "fts_main_papers" not in schema_sql(sql)  # a TEMP macro cannot live in a schema
    assert "CREATE TABLE IF NOT EXISTS search_terms" in schema_sql(sql)
    macros = temp_macros(sql)
    assert len(macros) == 1 and "CREATE OR REPLACE TEMP MACRO search_tokenize" in macros[0]


PG = ("127.0.0.1", 5432)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    """An empty DuckLake on the local PostgreSQL (a fresh catalog database, dropped after)."""
    try:
        socket.create_connection(PG, timeout=2).close()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL at {PG[0]}:{PG[1]} ({exc})")
    if not shutil.which("createdb"):
        pytest.skip("createdb is not installed")
    name = f"paperflow_test_search_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", PG[0], "-U", "postgres", name], check=True)  # noqa: S603,S607
    try:
        yield Lake.parse(f"ducklake:postgres:dbname={name} host={PG[0]} user=postgres",
                         tmp_path / "lake")  # fmt: skip
    finally:
        drop = ["dropdb", "--force", "-h", PG[0], "-U", "postgres", name]
        subprocess.run(drop, check=False)  # noqa: S603,S607


def test_ducklake_index_is_the_files_and_stays_incremental(
    lake: Lake, db: Path, samples: list[Path], tmp_path: Path
) -> None:
    _load_samples(lake, samples, tmp_path / "l")
    _load_samples(db, samples, tmp_path / "f")
    assert _index(lake) == _index(db)
    assert _searches(lake) == _searches(db)
    assert search(lake, "dilated attention").rows[0][2] == LONGNET
    _load(lake, "r2", {"u:a": [_e(0, arxiv_version=9, abstract="Dilated attention, again.",
                                  arxiv_id="2307.02486", title=LONGNET)]}, tmp_path)  # fmt: skip
    maintained = _index(lake)
    with open_connection(lake) as con, transaction(con):
        rebuild_search_index(con)
        con.execute("UPDATE warehouse_state SET writes = writes + 1")
    assert _index(lake) == maintained
    assert search(lake, "dilated attention").rows[0][2] == LONGNET
