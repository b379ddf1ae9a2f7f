"""Resolution rules on real DuckDB files: tiers, every veto, aliases, user marks, survivorship,
rebuilds, explain/unmerge, and the labelled evaluation's acceptance bar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from parsers.records import Entry
from tests.loading import load_entries
from warehouse.explain import explain, format_explanation, unmerge
from warehouse.load import rebuild_papers
from warehouse.resolve import block_rows, keys_of, similar_titles
from warehouse.stage import PageContext, stage_row, stage_table

T0 = datetime(2026, 5, 8, 12, tzinfo=UTC)


def _load(db: Path, run_id: str, pages: dict[str, list[Entry]], tmp: Path) -> None:
    load_entries(db, run_id, pages, tmp, at=T0)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _e(pos: int, **kw: object) -> Entry:
    return Entry(source=str(kw.pop("source", "hf-papers")), position=pos, **kw)  # type: ignore[arg-type]


def _together(db: Path, url_a: str, url_b: str) -> bool:
    ids = _rows(db, f"SELECT DISTINCT paper_id FROM sightings WHERE page_url IN ('{url_a}', '{url_b}')")
    return len(ids) == 1


BASE = dict(title="Scaling Sparse Experts for Retrieval", authors=("Ana Ruiz", "Bo Chen"),
            published_date=date(2026, 5, 1))


def test_arxiv_version_and_doi_join(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", arxiv_version=1, **BASE)],
                     "u:b": [_e(0, arxiv_id="2605.00001", arxiv_version=3, title="Other words")],
                     "u:c": [_e(0, doi="10.1/x", title="T one")], "u:d": [_e(0, doi="10.1/x", title="T two")]}, tmp_path)
    assert _together(db, "u:a", "u:b") and _together(db, "u:c", "u:d")


def test_title_tier_joins_across_case_punctuation_and_truncation(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", **BASE)]}, tmp_path)
    _load(db, "r2", {"u:same": [_e(0, source="scholarfeed", title="SCALING sparse experts, for retrieval!",
                                    authors=("A. Ruiz",), authors_complete=False)]}, tmp_path)
    assert _together(db, "u:a", "u:same")
    rule = _rows(db, "SELECT rule FROM merge_decisions JOIN sightings USING (sighting_id) WHERE page_url='u:same'")
    assert rule == [("title",)]


VETOED = {
    "other-id": _e(0, arxiv_id="2605.00002", **BASE),
    "other-doi": _e(0, doi="10.9/z", **{**BASE, "title": "Same Title Here Again"}),
    "years": _e(0, title=BASE["title"], published_date=date(2019, 1, 1)),
    "authors": _e(0, title=BASE["title"], authors=("Zed Other",)),
}


def test_each_veto_keeps_a_same_title_entry_apart(tmp_path: Path) -> None:
    for name, entry in VETOED.items():
        db = tmp_path / name / "w.duckdb"
        first = _e(0, arxiv_id="2605.00001", **BASE) if name != "other-doi" else _e(
            0, doi="10.1/a", **{**BASE, "title": "Same Title Here Again"})
        _load(db, "r1", {"u:a": [first]}, tmp_path)
        _load(db, "r2", {"u:v": [entry]}, tmp_path)
        assert not _together(db, "u:a", "u:v"), name


def test_different_dois_stay_apart(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, doi="10.1/a", **BASE)], "u:b": [_e(0, doi="10.1/b", **BASE)]}, tmp_path)
    assert not _together(db, "u:a", "u:b")


def test_similar_title_needs_a_shared_author(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", **BASE)]}, tmp_path)
    typo = "Scaling Sparse Exprets for Retrieval"
    _load(db, "r2", {"u:typo": [_e(0, title=typo, authors=("Bo Chen",))],
                     "u:stranger": [_e(0, title=typo + " x", authors=("Q Z",))],
                     "u:nobody": [_e(0, title="Scaling Sparse Experst for Retrieval")]}, tmp_path)
    assert _together(db, "u:a", "u:typo")
    assert not _together(db, "u:a", "u:stranger") and not _together(db, "u:a", "u:nobody")
    assert _rows(db, "SELECT rule FROM merge_decisions JOIN sightings USING (sighting_id) "
                     "WHERE page_url='u:typo'") == [("similar_title",)]


def test_look_alike_titles_are_not_similar() -> None:
    assert similar_titles("kosmos 2 grounding multimodal models", "kosmos 2 5 grounding multimodal models") == 0
    assert similar_titles("beit masked image modeling with tokenizers", "beit v2 masked image modeling with tokenizers") == 0
    assert similar_titles("kosmos g generating images in context", "kosmos generating images in context") == 0
    assert similar_titles("foundation transformers for speech", "foundation trasnformers for speech") > 0


@pytest.mark.parametrize(
    ("a", "b"),
    [  # another paper by the same team, one word apart: a count, a negation, a qualifier
        ("segment anything in medical images", "segment anything in medical images two"),
        ("self supervised learning for speech", "self supervised learning for speech part two"),
        ("language models are few shot learners", "language models are zero shot learners"),
        ("training language models with human feedback",
         "training language models without human feedback"),
        ("unsupervised learning of visual features", "supervised learning of visual features"),
        ("unpaired image to image translation", "paired image to image translation"),
        ("nonlinear dynamics of deep networks", "linear dynamics of deep networks"),
        ("supervised contrastive learning of speech", "self supervised contrastive learning of speech"),
    ],
)
def test_count_and_negation_words_keep_look_alikes_apart(a: str, b: str) -> None:
    assert similar_titles(a, b) == 0
    assert similar_titles(b, a) == 0


def test_numbers_that_lost_their_point_stay_apart() -> None:
    # `Phi-1.5` / `Phi-15`, `1.3B` / `13B`: the title key keeps only `1 5` / `15`.
    assert similar_titles("phi 1 5 textbooks are all you need ii", "phi 15 textbooks are all you need ii") == 0
    assert similar_titles("a 1 3b code model for everyone", "a 13b code model for everyone") == 0


def test_titles_equal_but_for_spacing_or_a_mistyped_word_stay_similar() -> None:
    assert similar_titles("kosmos g generating images in context", "kosmosg generating images in context") > 0
    assert similar_titles("clip models are few shot learners", "clip models are fewshot learners") > 0
    assert similar_titles("language models are few shot learners", "language models are fwe shot learners") > 0


def test_abstract_only_entry_joins_a_reworded_version(db: Path, tmp_path: Path) -> None:
    text = ("We present a method for routing tokens among sparse experts. It balances load without "
            "auxiliary losses. Experiments on retrieval show large gains. Code is released.")
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", abstract=text, **BASE)]}, tmp_path)
    reworded = text.replace("It balances load", "The router balances load").replace(" Code is released.", "")
    _load(db, "r2", {"u:abs": [_e(0, source="abstracts", abstract=reworded)]}, tmp_path)
    assert _together(db, "u:a", "u:abs")


def test_bridge_merges_two_papers_and_keeps_an_alias(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", title="Alpha Paper On Things")],
                     "u:b": [_e(0, doi="10.5/q", title="Beta Title Entirely Else")]}, tmp_path)
    before = dict(_rows(db, "SELECT page_url, paper_id FROM sightings"))
    _load(db, "r2", {"u:bridge": [_e(0, arxiv_id="2605.00001", doi="10.5/q", title="Alpha Paper On Things")]}, tmp_path)
    assert _rows(db, "SELECT count(*) FROM papers") == [(1,)]
    survivor = _rows(db, "SELECT paper_id FROM papers")[0][0]
    assert survivor in before.values()
    loser = (set(before.values()) - {survivor}).pop()
    assert _rows(db, "SELECT alias_id, paper_id FROM paper_aliases") == [(loser, survivor)]
    assert explain(db, loser).paper_id == survivor


def test_unmerge_is_durable_and_explained(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", **BASE)],
                     "u:b": [_e(0, source="scholarfeed", title=BASE["title"], authors=("Ana Ruiz",))]}, tmp_path)
    paper = _rows(db, "SELECT paper_id FROM papers")[0][0]
    wrong = _rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:b'")[0][0]
    text = format_explanation(explain(db, "2605.00001v2"))
    assert "same normalised title" in text and str(paper) in text
    new_id = unmerge(db, str(paper), [str(wrong)], lock_timeout_s=5)
    assert new_id != paper and _rows(db, "SELECT count(*) FROM papers") == [(2,)]
    # Readers (explain, sql, search, export) read the published snapshot: it has the split.
    assert explain(db, new_id).paper_id == new_id
    assert len(explain(db, str(paper)).sightings) == 1
    _load(db, "r2", {"u:c": [_e(0, source="hf-papers", title=BASE["title"])]}, tmp_path)
    _load(db, "r3", {"u:a": [_e(0, arxiv_id="2605.00001", **BASE)], "u:b2": [_e(0, arxiv_id="2605.00001", title="x")]}, tmp_path)
    assert not _together(db, "u:a", "u:b")
    assert "≠" in format_explanation(explain(db, new_id))


@pytest.mark.parametrize("i", range(8))
def test_an_unmerged_entry_seen_again_with_other_values_stays_apart(
    db: Path, tmp_path: Path, i: int
) -> None:
    """Two papers of one title and author merge by title; the user splits them. The split-off
    entry, seen again with a changed upvote count, is a new sighting no mark names: it must
    follow its earlier self, whichever way its sighting id sorts (i varies the ids)."""
    title = f"Attention Is All You Need For Graphs {i}"
    first = _e(0, source="scholarfeed", title=title, authors=("Ana Ruiz", "Bo Chen"),
               published_date=date(2026, 5, 1), upvotes=1)
    other = dict(source="scholarfeed", title=title, authors=("Ana Ruiz", "Zed Q"),
                 published_date=date(2026, 5, 2))
    _load(db, "r1", {"u:sf1": [first], "u:sf2": [_e(0, **other, upvotes=1)]}, tmp_path)
    paper = str(_rows(db, "SELECT paper_id FROM papers")[0][0])
    wrong = str(_rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:sf2'")[0][0])
    split = unmerge(db, paper, [wrong], lock_timeout_s=5)
    _load(db, "r2", {"u:sf2": [_e(0, **other, upvotes=2)]}, tmp_path)
    assert _rows(db, "SELECT DISTINCT paper_id FROM sightings WHERE page_url = 'u:sf2'") == [
        (split,)
    ]
    assert _rows(db, "SELECT DISTINCT paper_id FROM sightings WHERE page_url = 'u:sf1'") == [
        (paper,)
    ]
    rule = _rows(db, "SELECT d.rule FROM merge_decisions d JOIN sightings s USING (sighting_id) "
                     "WHERE s.page_url = 'u:sf2' AND s.upvotes = 2")  # fmt: skip
    assert rule == [("same_entry",)]


def test_same_entry_does_not_join_two_papers_of_one_title_on_one_page(
    db: Path, tmp_path: Path
) -> None:
    """One page lists two papers of one title, 14 years and all authors apart; an unrelated
    unmerge marks one of them. Seen again, each must stay its own paper."""
    title = "A Survey of Graph Neural Networks"
    old = dict(source="scholarfeed", title=title, authors=("Ana Ruiz",),
               published_date=date(2010, 1, 1))
    new = dict(source="scholarfeed", title=title, authors=("Zed Quinn",),
               published_date=date(2024, 1, 1))
    _load(db, "r1", {"u:P": [_e(0, **old, upvotes=1), _e(1, **new, upvotes=1)],
                     "u:X": [_e(0, **old, upvotes=7)]}, tmp_path)  # fmt: skip
    paper = str(_rows(db, "SELECT paper_id FROM sightings WHERE page_url = 'u:X'")[0][0])
    other = _rows(db, "SELECT paper_id FROM sightings WHERE page_url = 'u:P' AND position = 1")
    x = str(_rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:X'")[0][0])
    unmerge(db, paper, [x], lock_timeout_s=5)
    _load(db, "r2", {"u:P": [_e(0, **old, upvotes=2), _e(1, **new, upvotes=2)]}, tmp_path)
    by_year = _rows(db, "SELECT DISTINCT year(published_date), paper_id FROM sightings "
                        "WHERE page_url = 'u:P' ORDER BY 1")  # fmt: skip
    assert [pid for _, pid in by_year] == [paper, other[0][0]]


def test_after_unmerge_every_decision_points_inside_its_own_paper(
    db: Path, tmp_path: Path
) -> None:
    """S1 founds the paper, A joins it by title, H joins A by arXiv id. Moving S1 out must
    not leave A's decision naming S1 (now another paper's) as its evidence."""
    s1 = _e(0, source="scholarfeed", title=BASE["title"], authors=("Ana Ruiz",),
            published_date=date(2026, 5, 1))
    a = _e(0, source="arxiv-api", arxiv_id="2605.00001", arxiv_version=1, **BASE)
    h = _e(0, source="hf-papers", arxiv_id="2605.00001", title="Sparse experts, HF's title",
           authors=("Ana Ruiz", "Bo Chen"), published_date=date(2026, 5, 1))
    _load(db, "r1", {"u:S1": [s1]}, tmp_path)
    _load(db, "r2", {"u:A": [a]}, tmp_path)
    _load(db, "r3", {"u:H": [h]}, tmp_path)
    paper = str(_rows(db, "SELECT paper_id FROM papers")[0][0])
    moving = str(_rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:S1'")[0][0])
    unmerge(db, paper, [moving], lock_timeout_s=5)
    astray = _rows(db, "SELECT d.sighting_id, d.rule FROM merge_decisions d "
                       "JOIN sightings m ON m.sighting_id = d.matched "
                       "WHERE m.paper_id <> d.paper_id")  # fmt: skip
    assert astray == []
    stayed = _rows(db, "SELECT d.rule FROM merge_decisions d JOIN sightings s USING (sighting_id) "
                       "WHERE s.page_url = 'u:A'")  # fmt: skip
    assert stayed == [("user",)]  # the unmerge's own mark keeps A with H


def test_unmerge_keeps_the_rest_together_under_the_paper_id(db: Path, tmp_path: Path) -> None:
    """A links B (same title) and C (same arXiv id); B and C share nothing else. Moving A out
    must leave B and C one paper, with the paper's id (docs/resolution.md)."""
    a = _e(0, source="arxiv-api", arxiv_id="2605.00001", arxiv_version=1, **BASE)
    b = _e(0, source="scholarfeed", title=BASE["title"], authors=("Ana Ruiz",),
           published_date=date(2026, 5, 1))
    c = _e(0, source="hf-papers", arxiv_id="2605.00001", title="Sparse experts, HF's own title",
           authors=("Ana Ruiz", "Bo Chen"), published_date=date(2026, 5, 1))
    _load(db, "r1", {"u:A": [a], "u:B": [b], "u:C": [c]}, tmp_path)
    paper = str(_rows(db, "SELECT paper_id FROM papers")[0][0])
    moving = str(_rows(db, "SELECT sighting_id FROM sightings WHERE page_url = 'u:A'")[0][0])
    unmerge(db, paper, [moving], lock_timeout_s=5)
    assert _together(db, "u:B", "u:C") and not _together(db, "u:A", "u:B")
    assert _rows(db, "SELECT DISTINCT paper_id FROM sightings WHERE page_url = 'u:B'") == [
        (paper,)
    ]
    assert _rows(db, "SELECT count(*) FROM papers") == [(2,)]


def test_survivorship_and_rebuild_gives_the_same_papers(db: Path, tmp_path: Path) -> None:
    _load(db, "r1", {"u:sf": [_e(0, source="scholarfeed", arxiv_id="2605.00009", title="Sf title",
                                 authors=("A B", "C D", "E F"), authors_complete=False,
                                 categories=("cs.CL",), organizations=("org-a",), upvotes=3,
                                 published_date=date(2026, 5, 3))],
                     "u:ax": [_e(0, source="arxiv-api", arxiv_id="2605.00009", arxiv_version=2, title="ArXiv Title",
                                 abstract="v2 text", authors=("A B", "C D", "E F", "G H"),
                                 categories=("cs.LG",), published_date=date(2026, 5, 1))],
                     "u:ax1": [_e(0, source="arxiv-api", arxiv_id="2605.00009", arxiv_version=1, title="ArXiv Title",
                                  abstract="v1 text", organizations=("org-b",))]}, tmp_path)
    got = _rows(db, "SELECT title, abstract, authors, authors_complete, published_date, categories, "
                    "organizations, upvotes FROM papers")
    assert got == [("ArXiv Title", "v2 text", ["A B", "C D", "E F", "G H"], True, date(2026, 5, 1),
                    ["cs.CL", "cs.LG"], ["org-a", "org-b"], 3)]
    before = _rows(db, "SELECT * FROM papers ORDER BY paper_id")
    assert rebuild_papers(db, lock_timeout_s=5) == 1
    assert _rows(db, "SELECT * FROM papers ORDER BY paper_id") == before


def test_labelled_evaluation_meets_the_acceptance_bar() -> None:
    from bench.resolution import evaluate

    rep = evaluate(seed=5)
    assert rep.precision >= 0.995 and rep.recall >= 0.99, rep
    assert rep.traps > 0 and not rep.traps_joined
    assert rep.longnet_joined


def test_abstract_sketches_wait_for_the_first_abstract_only_sighting(db: Path, tmp_path: Path) -> None:
    text = ("We present a method for routing tokens among sparse experts. It balances load without "
            "auxiliary losses. Experiments on retrieval show large gains. Code is released.")
    _load(db, "r1", {"u:a": [_e(0, arxiv_id="2605.00001", abstract=text, **BASE)],
                     "u:b": [_e(0, arxiv_id="2605.00002", abstract="Another paper entirely here.")]}, tmp_path)
    assert _rows(db, "SELECT count(*) FROM abstract_sketches") == [(0,)]  # no tier to serve yet
    _load(db, "r2", {"u:abs": [_e(0, source="abstracts", abstract=text.replace(" Code is released.", ""))]},
          tmp_path)
    assert _together(db, "u:a", "u:abs")
    sketched = "SELECT DISTINCT page_url FROM abstract_sketches JOIN sightings USING (sighting_id) ORDER BY 1"
    assert _rows(db, sketched) == [("u:a",), ("u:abs",), ("u:b",)]  # the older ones backfilled
    assert _rows(db, "SELECT count(*) FROM abstract_sketches a JOIN sightings s USING (sighting_id) "
                     "WHERE a.paper_id <> s.paper_id") == [(0,)]
    _load(db, "r3", {"u:c": [_e(0, arxiv_id="2605.00003", abstract="A third abstract, sketched at once.")]},
          tmp_path)
    assert ("u:c",) in _rows(db, sketched)


def test_keys_are_computed_when_the_staged_key_columns_are_null() -> None:
    rows = [stage_row(_e(i, **kw), PageContext("r", "u:x", "day", T0)) for i, kw in enumerate([
        dict(arxiv_id="2605.00001", abstract="Some text here.", **BASE),
        dict(title="Ünïcode Títle of Some Length", authors=("José Núñez", "", "Bo Chen")),
        dict(abstract="Only an abstract, nothing else at all."),
    ])]
    staged = stage_table(rows)
    bare = stage_table([{**r, "surnames": None, "title_blocks": None} for r in rows])
    assert keys_of(bare) == keys_of(staged)
    assert block_rows(keys_of(staged)).equals(block_rows(keys_of(bare)))
    assert keys_of(staged)[2].abstract_only and keys_of(staged)[0].abstract is None
