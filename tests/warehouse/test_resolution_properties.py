"""Resolution properties (hypothesis): idempotent, independent of arrival order within a
batch, and loading A then B partitions sightings exactly as B then A."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.records import Entry
from tests.warehouse.test_resolution import _load

_ids = itertools.count()
TITLES = ["Sparse Experts for Retrieval", "Sparse Exprets for Retrieval", "Dense Retrieval at Scale",
          "Sparse Experts for Retrieval 2"]
ABSTRACT = "We route tokens among sparse experts and balance the load without auxiliary losses today."

entries = st.builds(
    lambda pos, title, arxiv, doi, authors, year, abstract: Entry(
        source="t", position=pos, title=title, arxiv_id=arxiv, doi=doi, authors=authors,
        published_date=date(year, 1, 1) if year else None, abstract=abstract),
    st.integers(0, 3), st.sampled_from([*TITLES, None]),
    st.sampled_from([None, "2605.00001", "2605.00002"]), st.sampled_from([None, "10.1/a"]),
    st.sampled_from([(), ("Ana Ruiz",), ("Bo Chen", "Ana Ruiz"), ("Zed Q",)]),
    st.sampled_from([None, 2020, 2026]), st.sampled_from([None, ABSTRACT]),
)
batches = st.lists(entries, min_size=1, max_size=6)
SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))


def _partition(db: Path) -> frozenset[frozenset[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT paper_id, list(sighting_id) FROM sightings GROUP BY 1").fetchall()
    return frozenset(frozenset(r[1]) for r in rows)


def _fresh(tmp: Path) -> Path:
    return tmp / f"w{next(_ids)}" / "w.duckdb"


def _pages(batch: list[Entry], prefix: str) -> dict[str, list[Entry]]:
    return {f"u:{prefix}{i}": [e] for i, e in enumerate(batch)}


@SETTINGS
@given(batch=batches)
def test_loading_twice_changes_nothing(tmp_path: Path, batch: list[Entry]) -> None:
    db = _fresh(tmp_path)
    _load(db, "r1", _pages(batch, "a"), db.parent)
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("SELECT * FROM papers ORDER BY paper_id").fetchall()
    _load(db, "r2", _pages(batch, "a"), db.parent)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM papers ORDER BY paper_id").fetchall() == before


@SETTINGS
@given(batch=batches, data=st.data())
def test_arrival_order_within_a_batch_does_not_matter(tmp_path: Path, batch: list[Entry], data: st.DataObject) -> None:
    pages = _pages(batch, "a")
    shuffled = dict(data.draw(st.permutations(list(pages.items()))))
    one, two = _fresh(tmp_path), _fresh(tmp_path)
    _load(one, "r1", pages, one.parent)
    _load(two, "r1", shuffled, two.parent)
    assert _partition(one) == _partition(two)


@SETTINGS
@given(a=batches, b=batches)
def test_a_then_b_equals_b_then_a(tmp_path: Path, a: list[Entry], b: list[Entry]) -> None:
    one, two = _fresh(tmp_path), _fresh(tmp_path)
    _load(one, "r1", _pages(a, "a"), one.parent)
    _load(one, "r2", _pages(b, "b"), one.parent)
    _load(two, "r1", _pages(b, "b"), two.parent)
    _load(two, "r2", _pages(a, "a"), two.parent)
    assert _partition(one) == _partition(two)


REWORDED = "We route tokens among sparse experts and balance the load without any auxiliary losses."
PARTNER = Entry(source="t", position=0, title=TITLES[0], arxiv_id="2605.00001", abstract=ABSTRACT)
abstract_only = st.builds(lambda pos, text: Entry(source="t", position=pos, abstract=text),
                          st.integers(0, 3), st.sampled_from([ABSTRACT, REWORDED]))


@pytest.mark.parametrize("where", ["with_partner", "apart", "alone"])
@settings(SETTINGS, max_examples=3)
@given(a=batches, b=batches, lone=abstract_only)
def test_abstract_only_arrival_in_any_batch(
    tmp_path: Path, where: str, a: list[Entry], b: list[Entry], lone: Entry
) -> None:
    """Sketches are written only once an abstract-only sighting arrives (then for every older
    sighting too). Whether it comes with the sighting it matches, in the other batch or in a
    batch of its own, loaded first or last: A then B == B then A == A + B."""
    a = [PARTNER, *a, lone] if where == "with_partner" else [PARTNER, *a]
    b = [*b, lone] if where == "apart" else b
    pages = [_pages(a, "a"), _pages(b, "b")] + ([_pages([lone], "z")] if where == "alone" else [])
    partitions = []
    for order in (pages, pages[::-1], [{k: v for p in pages for k, v in p.items()}]):
        db = _fresh(tmp_path)
        for i, batch in enumerate(order):
            _load(db, f"r{i}", batch, db.parent)
        partitions.append(_partition(db))
    assert partitions[0] == partitions[1] == partitions[2]
