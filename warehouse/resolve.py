"""Entity resolution: which sightings are the same paper, and why.

The rules, cheapest first (docs/resolution.md is the prose version; keep them in step):

0. **user** — a user's "same paper" mark (written by `warehouse.explain.unmerge`).
   **same_entry** — the same listing entry (source, page, arXiv id or title key) as a
   sighting a user marked: marks follow an entry seen again with other values.
1. **arxiv_id** — same arXiv id with the version stripped. **doi** — same DOI.
2. **title** — same normalised title (`parsers.records.title_key`).
3. **similar_title** — titles whose compact forms (title key without spaces) have character
   trigram Dice ≥ 0.85, with the same numbers, count words and negations in them, *and* a
   shared author surname.
4. **abstract** — for entries with no title or id: a near-identical abstract (word 3-shingle
   Jaccard ≥ 0.5 or containment ≥ 0.8), so another arXiv version's rewording still matches.

Vetoes (checked between the two groups being joined, so evidence accumulates): a user's
"not the same" mark (always); different arXiv ids (always); different DOIs (except for the
arxiv_id rule); and for rules 2–4, years more than one apart or, when both author lists are
known, no shared surname.

Canonical and incremental. Candidate edges form a graph over all sightings; the partition of
each connected part is a pure function of its sightings and marks: edges are applied tier by
tier in a fixed order (score, then sighting ids), never in arrival order. A load finds the
parts its new sightings touch with SQL joins (blocking keys: ids, title key, title blocks,
abstract sketches — each followed only where its rule could join the two), closes them over
the same joins, and re-resolves exactly those sightings.
So resolving in one batch, in any order, or in several batches in any order gives the same
partition. Sketches are lazy: computed only once the warehouse or the batch holds an
abstract-only sighting (the only kind rule 4 pairs), the older sightings' then backfilled.
Ids stay put: each existing paper goes to the group holding most of its sightings; a group
keeps the earliest paper it received, the others become `paper_aliases`; a group with none
gets `pf_` + a hash of its strongest key.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter, not_
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.db import Connection, load_sql, query_with
from warehouse.keys import (
    _WORD,
    TITLE_MIN_CHARS,
    compact,
    shingles,
    similar_abstracts,
    similar_titles,
    sketch,
    surname,
    title_blocks,
)

MAX_ROUNDS = 8
RULES = ("user", "same_entry", "arxiv_id", "doi", "title", "similar_title", "abstract")
_EXACT_RULES = {"arxiv_id": "arxiv_id", "doi": "doi", "title": "title_key"}
_SOFT_RULES = ("same_entry", "title", "similar_title", "abstract")
_NO_NAME = frozenset({""})
_PROBE_COLUMNS = ["sighting_id", "arxiv_id", "doi", "title_key"]


@dataclass(slots=True)
class Keys:
    """What resolution knows about one sighting (new or already in the warehouse)."""

    sighting_id: str
    paper_id: str | None
    arxiv_id: str | None
    doi: str | None
    title_key: str | None
    year: int | None
    names: list[str] | None  # author surnames in author order; None: `authors` not folded yet
    abstract: str | None  # only where the abstract tier may need it (`keys_of`)
    sketch: tuple[int, ...] = ()
    blocks: tuple[int, ...] = ()
    authors: list[str] | None = None
    source: str | None = None
    page_url: str | None = None
    _surnames: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def surnames(self) -> frozenset[str]:
        """The authors' surnames, computed on first use: only soft-rule vetoes and similar
        titles ask, and a sighting read back from the warehouse has only its authors' names."""
        if self._surnames is None:
            names = self.names
            if names is None:
                names = [surname(str(a)) for a in self.authors or []]
            self._surnames = frozenset(names) - _NO_NAME
        return self._surnames

    @property
    def abstract_only(self) -> bool:
        return bool(self.abstract) and not (self.arxiv_id or self.doi or self.title_key)


@dataclass(slots=True)
class Decision:
    rule: str
    score: float
    matched: str | None


@dataclass(slots=True)
class Resolution:
    """The outcome of resolving a batch.

    `paper_ids`/`decisions` are per row of the new table; `moved` holds existing sightings
    that now belong to another paper, and the others of the papers they left or joined, whose
    decisions are written again (sighting_id -> (paper_id, decision)); `merged` maps a
    paper id that no longer has sightings to the paper that took them over. `keys` are the new
    rows' keys (a sketch only where the abstract tier is in play), `blocks` their
    `title_blocks` rows.
    """

    paper_ids: list[str]
    decisions: list[Decision]
    merged: dict[str, str]
    new_papers: set[str]
    moved: dict[str, tuple[str, Decision]] = field(default_factory=dict)
    keys: list[Keys] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    blocks: pa.Table | None = None


# --- keys, column by column (the pure functions of one entry: warehouse/keys.py) --------------


def keys_of(table: pa.Table) -> list[Keys]:
    """Resolution keys for every staged row (new sightings, no paper yet), from the key
    columns the parse workers staged (`surnames`, `title_blocks`; computed here where null).

    Only abstract-only rows get their abstract here: the others need it just for a sketch,
    which `add_sketches` gives them when the abstract tier is in play.
    """
    only = pc.if_else(_abstract_only(table), table["abstract"], pa.scalar(None, pa.string()))
    return _keys_from(table, only)


def _abstract_only(table: pa.Table) -> pa.ChunkedArray:
    """Per row: an abstract and no arXiv id, DOI or title key (`Keys.abstract_only`)."""
    absent = [pc.fill_null(pc.equal(table[c], ""), True) for c in ("arxiv_id", "doi", "title_key")]
    has_text = pc.fill_null(pc.not_equal(table["abstract"], ""), False)
    return pc.and_(pc.and_(has_text, absent[0]), pc.and_(absent[1], absent[2]))


def _keys_from(table: pa.Table, abstracts: pa.ChunkedArray | pa.Array) -> list[Keys]:
    """Keys from a table of sightings (staged or read back), one `to_pylist` per column."""
    names: Sequence[list[str] | None]
    unknown = [None] * table.num_rows
    if "surnames" in table.column_names:  # staged: as the parse workers computed them
        names, authors = _surname_lists(table), unknown
    else:  # read back from `sightings`: folded only if asked (`Keys.surnames`)
        names, authors = unknown, _column(table, "authors")
    blocks = _block_lists(table, names, authors)
    years = pc.year(table["published_date"]).to_pylist()
    columns = [_column(table, c) for c in ("sighting_id", "paper_id", "arxiv_id", "doi",
                                           "title_key", "sketch")]
    where = [_column(table, c) for c in ("source", "page_url")]
    return [
        Keys(sid, pid, arxiv, doi, title, year, ns, text, tuple(sk or ()), tuple(bl), people,
             source, page)  # fmt: skip
        for sid, pid, arxiv, doi, title, sk, year, ns, text, bl, people, source, page in zip(
            *columns, years, names, abstracts.to_pylist(), blocks, authors, *where, strict=True
        )
    ]


def _column(table: pa.Table, name: str) -> list[Any]:
    """A column's values, or all None where the table lacks it."""
    if name in table.column_names:
        return table[name].to_pylist()  # type: ignore[no-any-return]
    return [None] * table.num_rows


def _surname_lists(table: pa.Table) -> list[list[str]]:
    """Each row's author surnames in author order: the staged `surnames` column where the parse
    workers filled it, else computed from `authors`."""
    names = _column(table, "surnames")
    if "surnames" in table.column_names and table["surnames"].null_count == 0:
        return names
    authors = table["authors"].to_pylist()
    return [
        got if got is not None else [surname(str(a)) for a in people or []]
        for got, people in zip(names, authors, strict=True)
    ]


def _block_lists(
    table: pa.Table, names: Sequence[list[str] | None], authors: Sequence[list[str] | None]
) -> list[list[int]]:
    """Each row's title blocks: the `title_blocks` column where filled, else computed."""
    blocks = _column(table, "title_blocks")
    keys = _column(table, "title_key")
    return [
        got if got is not None else _blocks_of(key, ns, people)
        for got, key, ns, people in zip(blocks, keys, names, authors, strict=True)
    ]


def _blocks_of(
    title_key: str | None, names: list[str] | None, authors: list[str] | None
) -> list[int]:
    if names is None:  # fold the authors' names only where the title is long enough for blocks
        if len(compact(title_key)) < TITLE_MIN_CHARS:
            return []
        names = [surname(str(a)) for a in authors or []]
    return title_blocks(title_key, names)


def add_sketches(keys: Sequence[Keys], table: pa.Table) -> None:
    """Give each row of `table` that has an abstract (`keys` = `keys_of(table)`) its abstract
    and sketch."""
    with_text = pc.indices_nonzero(pc.fill_null(pc.not_equal(table["abstract"], ""), False))
    texts = table["abstract"].take(with_text).to_pylist()
    for i, text in zip(with_text.to_pylist(), texts, strict=True):
        keys[i].abstract = text
        keys[i].sketch = tuple(sketch(shingles(text)))


def sketch_rows(keys: Sequence[Keys], paper_ids: Sequence[str]) -> pa.Table:
    """`abstract_sketches` rows for the new sightings that were sketched (`resolve` sketches
    them only when the abstract tier is in play: docs/resolution.md, "Lazy sketches")."""
    pairs = zip(keys, paper_ids, strict=True)
    return _sketch_table((k.sighting_id, pid, k.sketch) for k, pid in pairs if k.sketch)


def _sketch_table(rows: Iterable[tuple[str, str | None, Sequence[int]]]) -> pa.Table:
    sids: list[str] = []
    pids: list[str | None] = []
    hashes: list[int] = []
    for sid, pid, hs in rows:
        sids += [sid] * len(hs)
        pids += [pid] * len(hs)
        hashes += hs
    return pa.table({"sighting_id": pa.array(sids, pa.string()),
                     "paper_id": pa.array(pids, pa.string()), "h": pa.array(hashes, pa.uint64())})


def block_rows(keys: Iterable[Keys]) -> pa.Table:
    """`title_blocks` rows for the given sightings."""
    keys = list(keys)
    return pa.table({"sighting_id": pa.array([k.sighting_id for k in keys for _ in k.blocks],
                                             pa.string()),
                     "block": pa.array([b for k in keys for b in k.blocks], pa.uint64())})


def _staged_blocks(table: pa.Table, keys: Sequence[Keys]) -> pa.Table:
    """`title_blocks` rows of a staged table's rows: straight from its `title_blocks` column
    when the parse workers filled it."""
    if "title_blocks" not in table.column_names or table["title_blocks"].null_count:
        return block_rows(keys)
    column = table["title_blocks"].combine_chunks()
    owners = table["sighting_id"].combine_chunks().take(pc.list_parent_indices(column))
    return pa.table({"sighting_id": owners, "block": pc.list_flatten(column)})


# --- union-find with vetoes -------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    arxiv_ids: set[str]
    dois: set[str]
    years: set[int]
    surnames: set[str] | None  # None: not asked yet (`_Groups.surnames`)
    members: set[str]
    forbidden: set[str]


class _Groups:
    """Union-find over sighting ids; each root carries what its group knows, for vetoes.

    A sighting no union has reached is its own root and has no entries: most sightings of a
    batch never meet another, and an entry per sighting used to cost more than the edges.
    """

    def __init__(self, by_id: dict[str, Keys], not_same: dict[str, set[str]]) -> None:
        self.by_id = by_id
        self.not_same = not_same
        self.parent: dict[str, str] = {}
        self.info: dict[str, _Group] = {}

    def find(self, node: str) -> str:
        parent = self.parent
        root = node
        while root in parent:
            root = parent[root]
        while node != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def together(self, ids: Sequence[str]) -> bool:
        root = self.find(ids[0])
        return all(self.find(x) == root for x in ids[1:])

    def group(self, root: str) -> _Group:
        found = self.info.get(root)
        if found is None:
            k = self.by_id[root]
            found = self.info[root] = _Group(
                {k.arxiv_id} if k.arxiv_id else set(), {k.doi} if k.doi else set(),
                {k.year} if k.year else set(), None, {k.sighting_id},
                set(self.not_same.get(k.sighting_id, ())),
            )
        return found

    def vetoed(self, ga: _Group, gb: _Group, rule: str) -> bool:
        if ga.forbidden & gb.members or gb.forbidden & ga.members:
            return True
        if ga.arxiv_ids and gb.arxiv_ids and ga.arxiv_ids != gb.arxiv_ids:
            return True
        if rule != "arxiv_id" and ga.dois and gb.dois and not ga.dois & gb.dois:
            return True
        if rule not in _SOFT_RULES:
            return False
        if ga.years and gb.years and min(abs(x - y) for x in ga.years for y in gb.years) > 1:
            return True
        sa, sb = self.surnames(ga), self.surnames(gb)
        return bool(sa and sb and not sa & sb)

    def surnames(self, group: _Group) -> set[str]:
        """A group's surnames, gathered when a veto first asks (the exact tiers never do)."""
        if group.surnames is None:
            group.surnames = set().union(*(self.by_id[m].surnames for m in group.members))
        return group.surnames

    def union(self, a: str, b: str, rule: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        keep, drop = self.group(ra), self.group(rb)
        if self.vetoed(keep, drop, rule):
            return False
        if len(keep.members) < len(drop.members):
            ra, rb, keep, drop = rb, ra, drop, keep
        self.parent[rb] = ra
        del self.info[rb]
        keep.arxiv_ids |= drop.arxiv_ids
        keep.dois |= drop.dois
        keep.years |= drop.years
        if keep.surnames is None or drop.surnames is None:
            keep.surnames = None  # gathered from the members if a veto asks
        else:
            keep.surnames |= drop.surnames
        keep.members |= drop.members
        keep.forbidden |= drop.forbidden
        return True


# --- edges among the sightings being resolved ---------------------------------------------------

Edge = tuple[float, str, str]  # (score, sighting a, sighting b), a < b


def _exact_edges(keys: list[Keys], attr: str) -> list[list[str]]:
    """Groups of sighting ids sharing a value of `attr`, each sorted, groups in value order."""
    value_of = attrgetter(attr)
    counts = Counter(map(value_of, keys))  # C-speed: most values occur once and drop out here
    shared = {value for value, n in counts.items() if n > 1 and value}
    by_value: dict[str, list[str]] = {}
    for k in compress(keys, map(shared.__contains__, map(value_of, keys))):
        by_value.setdefault(value_of(k), []).append(k.sighting_id)
    return [sorted(by_value[value]) for value in sorted(by_value)]


def _exact_pairs(ids: list[str], groups: _Groups) -> Iterator[Edge]:
    """Every pair of `ids` in order, until they are one group: the remaining pairs could only
    be no-ops, and a paper seen on 30 days has 435 of them."""
    for i, a in enumerate(ids):
        if groups.together(ids):
            return
        for b in ids[i + 1 :]:
            yield 1.0, a, b


def _seeker_buckets(
    keys: list[Keys], hashes: Callable[[Keys], Sequence[int]], seekers: Iterable[Keys]
) -> dict[int, list[Keys]]:
    """Buckets (hash -> keys) holding one of the `seekers` (keys that need the fuzzy tier):
    the only buckets that can yield a pair, so with no seekers nothing is bucketed at all."""
    wanted = {h for k in seekers for h in hashes(k)}
    buckets: dict[int, list[Keys]] = {}
    if wanted:
        for k in keys:
            for h in hashes(k):
                if h in wanted:
                    buckets.setdefault(h, []).append(k)
    return buckets


def _bucket_pairs(
    buckets: dict[int, list[Keys]], min_shared: int, needs: Callable[[Keys], bool]
) -> set[tuple[str, str]]:
    """Pairs sharing at least `min_shared` buckets, of which at least one side `needs` the
    fuzzy tier. Cheapest first: two sightings that both carry an exact key were already
    decided by it, so comparing them would cost quadratic time for nothing."""
    counts: dict[tuple[str, str], int] = {}
    for members in buckets.values():
        if len(members) < 2:
            continue
        ids = sorted({m.sighting_id for m in members})
        seekers = {m.sighting_id for m in members if needs(m)}
        for a in sorted(seekers):
            for b in ids:
                if b != a and not (b in seekers and b < a):
                    pair = (a, b) if a < b else (b, a)
                    counts[pair] = counts.get(pair, 0) + 1
    return {pair for pair, n in counts.items() if n >= min_shared}


def _lacks_id(k: Keys) -> bool:
    return not k.arxiv_id


def _is_abstract_only(k: Keys) -> bool:
    return k.abstract_only


def _similar_title_edges(keys: list[Keys], by_id: dict[str, Keys]) -> list[Edge]:
    without_id = compress(keys, map(not_, map(attrgetter("arxiv_id"), keys)))  # C-speed scan
    buckets = _seeker_buckets(keys, attrgetter("blocks"), without_id)
    edges = []
    for a, b in _bucket_pairs(buckets, 1, _lacks_id):
        ka, kb = by_id[a], by_id[b]
        if ka.title_key == kb.title_key or not ka.surnames & kb.surnames:
            continue
        score = similar_titles(ka.title_key, kb.title_key)
        if score:
            edges.append((round(score, 6), a, b))
    return edges


def _abstract_edges(keys: list[Keys], by_id: dict[str, Keys]) -> list[Edge]:
    with_abstract = compress(keys, map(attrgetter("abstract"), keys))  # C-speed scan
    seekers = [k for k in with_abstract if k.abstract_only]
    buckets = _seeker_buckets(keys, attrgetter("sketch"), seekers)
    cache: dict[str, frozenset[int]] = {}

    def shingled(sid: str) -> frozenset[int]:
        if sid not in cache:
            cache[sid] = shingles(by_id[sid].abstract)
        return cache[sid]

    edges = []
    for a, b in _bucket_pairs(buckets, 2, _is_abstract_only):
        score = similar_abstracts(shingled(a), shingled(b))
        if score:
            edges.append((round(score, 6), a, b))
    return edges


# --- the canonical resolution of a closed set of sightings --------------------------------------


@dataclass(slots=True)
class Marks:
    """A user's durable corrections, by sighting id."""

    same: list[tuple[str, str]] = field(default_factory=list)
    not_same: dict[str, set[str]] = field(default_factory=dict)


def cluster(keys: list[Keys], marks: Marks) -> tuple[_Groups, dict[str, Decision]]:
    """Partition `keys` by the rules, tier by tier, in a fixed order. Returns the groups and,
    per sighting, the first edge that joined it to its group."""
    by_id = {k.sighting_id: k for k in keys}
    groups = _Groups(by_id, marks.not_same)
    joined: dict[str, Decision] = {}

    def apply(rule: str, edges: Iterable[Edge]) -> None:
        for score, a, b in edges:
            if groups.union(a, b, rule):
                joined.setdefault(b, Decision(rule, score, a))
                joined.setdefault(a, Decision(rule, score, b))

    same = {(min(p), max(p)) for p in marks.same if p[0] in by_id and p[1] in by_id}
    apply("user", sorted((1.0, a, b) for a, b in same))
    apply("same_entry", _same_entry_edges(keys, marks))
    for rule, attr in _EXACT_RULES.items():
        for ids in _exact_edges(keys, attr):
            apply(rule, _exact_pairs(ids, groups))
    apply("similar_title", sorted(_similar_title_edges(keys, by_id), key=_edge_order))
    apply("abstract", sorted(_abstract_edges(keys, by_id), key=_edge_order))
    return groups, joined


def _same_entry_edges(keys: list[Keys], marks: Marks) -> list[Edge]:
    """A user's marks follow the listing entry they were made on. A sighting id hashes what an
    entry said, so the same entry of the same page seen again with anything changed (an
    upvote count, a week page's copy of a day page's card is another page) is a new
    sighting that no mark names, and it could join either side of an unmerge. Linking it
    first to its marked earlier self (same source, page, and arXiv id or title key) makes
    the marks decide where it goes. Only entries with a marked sighting get these edges, so
    a warehouse without marks resolves exactly as before. An unmarked sighting is linked to
    the marked ones only (two marked ones have their own marks), and the soft vetoes apply:
    one page can list two papers of one title, years or authors apart."""
    marked = set(marks.not_same) | {x for pair in marks.same for x in pair}
    if not marked:
        return []
    by_entry: dict[tuple[str, str, str], list[str]] = {}
    for k in keys:
        ident = k.arxiv_id or k.title_key
        if ident and k.source and k.page_url:
            by_entry.setdefault((k.source, k.page_url, ident), []).append(k.sighting_id)
    edges: list[Edge] = []
    for ids in by_entry.values():
        told = [x for x in ids if x in marked]
        if len(ids) > len(told) > 0:
            edges += [(1.0, min(m, x), max(m, x)) for m in told for x in ids if x not in marked]
    return sorted(edges)


def _edge_order(edge: Edge) -> tuple[float, str, str]:
    return -edge[0], edge[1], edge[2]


def _key_rank(k: Keys) -> tuple[int, str]:
    if k.arxiv_id:
        return 0, "arxiv:" + k.arxiv_id
    if k.doi:
        return 1, "doi:" + k.doi
    if k.title_key:
        return 2, "title:" + k.title_key
    if k.abstract:
        return 3, "abstract:" + " ".join(_WORD.findall(k.abstract.casefold()))
    return 4, "sighting:" + k.sighting_id


# --- reading the warehouse ------------------------------------------------------------------------


def _probe_tables(keys: Sequence[Keys]) -> dict[str, pa.Table]:
    probe = pa.table({c: pa.array([getattr(k, c) for k in keys], pa.string())
                      for c in _PROBE_COLUMNS})
    return _probes(probe, block_rows(keys), keys)


def _probes(probe: pa.Table, blocks: pa.Table, keys: Sequence[Keys]) -> dict[str, pa.Table]:
    """The tables resolve_find_papers.sql joins: the sightings' exact keys (`probe`), their
    title blocks and their sketch hashes."""
    sketches = _sketch_table((k.sighting_id, k.paper_id, k.sketch) for k in keys if k.sketch)
    return {"resolve_probe": probe, "resolve_probe_blocks": blocks,
            "resolve_probe_sketch": sketches}


def _find_papers(con: Connection, probe: dict[str, pa.Table]) -> set[str]:
    """Papers holding a sighting that shares a blocking key (or a user mark) with the probe."""
    if not probe["resolve_probe"].num_rows:
        return set()
    found = query_with(con, "resolve_find_papers.sql", probe)
    return set(found.column("paper_id").to_pylist())


def _sightings_of(con: Connection, paper_ids: set[str]) -> list[Keys]:
    ids = pa.table({"paper_id": pa.array(sorted(paper_ids), pa.string())})
    rows = query_with(con, "resolve_get_sightings.sql", {"resolve_papers": ids})
    return _keys_from(rows, rows["abstract"])


def _closure(
    con: Connection, start: Sequence[Keys], known: set[str],
    probe: dict[str, pa.Table] | None = None,
) -> list[Keys]:
    """Existing sightings reachable from `start` (whose probe tables may be given) over
    blocking keys, whole papers at a time.

    `known` is the set of papers already included. Stops after MAX_ROUNDS (a part of the
    candidate graph that large is resolved from what was reached; docs/resolution.md).
    """
    reached: list[Keys] = []
    frontier = list(start)
    for _ in range(MAX_ROUNDS):
        found = _find_papers(con, probe or _probe_tables(frontier)) - known
        probe = None
        if not found:
            break
        known |= found
        frontier = _sightings_of(con, found)
        reached += frontier
    return reached


def _marks(con: Connection, sighting_ids: list[str]) -> Marks:
    ids = pa.table({"sighting_id": pa.array(sighting_ids, pa.string())})
    rows = query_with(con, "resolve_get_marks.sql", {"resolve_ids": ids}).to_pylist()
    marks = Marks()
    for row in rows:
        a, b = str(row["sighting_a"]), str(row["sighting_b"])
        if row["kind"] == "same":
            marks.same.append((a, b))
        else:
            marks.not_same.setdefault(a, set()).add(b)
            marks.not_same.setdefault(b, set()).add(a)
    return marks


def _first_seen(con: Connection, paper_ids: Iterable[str]) -> dict[str, str]:
    ids = pa.table({"paper_id": pa.array(sorted(paper_ids), pa.string())})
    rows = query_with(con, "resolve_get_first_seen.sql", {"resolve_papers": ids}).to_pylist()
    return {str(r["paper_id"]): str(r["first_seen_at"]) for r in rows}


def _taken(con: Connection, candidates: Iterable[str]) -> set[str]:
    ids = pa.table({"paper_id": pa.array(sorted(set(candidates)), pa.string())})
    rows = query_with(con, "resolve_find_taken_ids.sql", {"resolve_papers": ids})
    return set(rows.column("paper_id").to_pylist())


# --- lazy abstract sketches ---------------------------------------------------------------------


def _prepare_sketches(con: Connection, new: Sequence[Keys], table: pa.Table) -> None:
    """Sketch the new rows' abstracts if the abstract tier can be asked, i.e. the batch or the
    warehouse holds an abstract-only sighting (the tier pairs nothing else).

    Invariant: once the warehouse holds one, every sighting with an abstract has its sketch.
    So the first abstract-only arrival sketches the older sightings (inside this transaction,
    before the candidate search), and after that every load sketches its rows.
    """
    arriving = any(k.abstract_only for k in new)
    held = bool(query_with(con, "resolve_has_abstract_only.sql", {}).column(0)[0].as_py())
    if not (arriving or held):
        return
    if not held:
        _backfill_sketches(con)
    add_sketches(new, table)


def _backfill_sketches(con: Connection) -> None:
    """Write the sketches of every sighting with an abstract and none yet, a batch at a time
    (a warehouse of a million papers holds a few hundred thousand abstracts)."""
    reader = con.execute(load_sql("resolve_find_unsketched.sql")).fetch_record_batch(50_000)
    parts = []
    for batch in reader:
        sids, pids, texts = (batch.column(i).to_pylist() for i in range(3))
        rows = zip(sids, pids, map(sketch, map(shingles, texts)), strict=True)
        parts.append(_sketch_table(rows))
    if parts:
        query_with(con, "insert_sketches.sql", {"stage_sketches": pa.concat_tables(parts)})


# --- ids: existing papers keep theirs, new groups get one from their strongest key ------------


def _homes(clusters: dict[str, list[Keys]], anchors: frozenset[str]) -> dict[str, str]:
    """Existing paper -> the cluster root holding an anchor sighting, else most of its
    sightings (ties: lowest sighting id)."""
    counts: dict[str, dict[str, int]] = {}
    for root, members in clusters.items():
        for k in members:
            if k.paper_id:
                per = counts.setdefault(k.paper_id, {})
                per[root] = per.get(root, 0) + 1 + (1 << 30) * (k.sighting_id in anchors)
    return {
        paper: min(per, key=lambda r: (-per[r], clusters[r][0].sighting_id))
        for paper, per in counts.items()
    }


def _new_ids(con: Connection, founders: list[Keys]) -> list[str]:
    """`pf_` + 16 hex of each new group's strongest key (its founder's); suffixed when that id
    is already used."""
    bases = [
        "pf_" + hashlib.sha256(_key_rank(k)[1].encode()).hexdigest()[:16] for k in founders
    ]
    taken = _taken(con, bases)
    out = []
    for base in bases:
        candidate, n = base, 1
        while candidate in taken or (candidate != base and _taken(con, [candidate])):
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


def _paper_ids(
    con: Connection, clusters: dict[str, list[Keys]], anchors: frozenset[str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(cluster root -> paper id, merged loser -> survivor, new paper id -> its founder: the
    sighting with the strongest key). `clusters` are in order of their first sighting id."""
    homes = _homes(clusters, anchors)
    first_seen = _first_seen(con, homes)
    by_root: dict[str, list[str]] = {}
    for paper, root in homes.items():
        by_root.setdefault(root, []).append(paper)
    pid: dict[str, str] = {}
    merged: dict[str, str] = {}
    for root, papers in by_root.items():
        papers.sort(key=lambda p: (first_seen.get(p, ""), p))
        pid[root] = papers[0]
        merged.update({loser: papers[0] for loser in papers[1:]})
    orphans = [r for r in clusters if r not in pid]  # in first-sighting order, as `clusters`
    groups = [clusters[r] for r in orphans]
    founders = [g[0] if len(g) == 1 else min(g, key=_key_rank) for g in groups]
    fresh = _new_ids(con, founders)
    pid.update(zip(orphans, fresh, strict=True))
    return pid, merged, {p: k.sighting_id for p, k in zip(fresh, founders, strict=True)}


# --- the resolver ---------------------------------------------------------------------------------


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. Resolution builds a few small containers per
    sighting, none in a cycle; on a batch of 100k the collections their allocation sets off
    (each walking every live object) took longer than the work itself."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def resolve(con: Connection, table: pa.Table) -> Resolution:
    """Assign a paper to every staged row of `table` (new sightings only).

    Re-resolves, canonically, every existing sighting connected to the new ones; reads the
    warehouse through `con` (inside the load transaction). It writes only the sketches of
    existing sightings, when the first abstract-only sighting arrives (`_prepare_sketches`).
    """
    with _collector_paused():
        new = keys_of(table)
        _prepare_sketches(con, new, table)
        blocks = _staged_blocks(table, new)
        probe = _probes(table.select(_PROBE_COLUMNS), blocks, new)
        resolution = _resolve(con, new, _closure(con, new, set(), probe))
    resolution.keys = new
    resolution.blocks = blocks
    return resolution


def resolve_papers(
    con: Connection, paper_ids: Iterable[str], anchors: Iterable[str] = ()
) -> Resolution:
    """Re-resolve existing papers (and everything connected to them), e.g. after a user mark.

    A paper split apart keeps its id on the side holding one of `anchors` (sighting ids).
    """
    with _collector_paused():
        known = set(paper_ids)
        start = _sightings_of(con, known)
        return _resolve(con, [], start + _closure(con, start, known), frozenset(anchors))


def _resolve(
    con: Connection, new: list[Keys], existing: list[Keys], anchors: frozenset[str] = frozenset()
) -> Resolution:
    every = new + existing
    groups, joined = cluster(every, _marks(con, [k.sighting_id for k in every]))
    clusters: dict[str, list[Keys]] = {}
    for k in sorted(every, key=attrgetter("sighting_id")):
        clusters.setdefault(groups.find(k.sighting_id), []).append(k)
    pid, merged, founded = _paper_ids(con, clusters, anchors)
    paper_of = {k.sighting_id: pid[root] for root, members in clusters.items() for k in members}
    founders = set(founded.values())
    founding = Decision("new", 1.0, None)

    def decision(sid: str) -> Decision:
        return founding if sid in founders or sid not in joined else joined[sid]

    shifted = {k.sighting_id for k in existing if paper_of[k.sighting_id] != k.paper_id}
    # Every sighting of a paper that lost or gained existing sightings gets its decision
    # written again: one that stayed could otherwise keep naming, as the evidence that joined
    # it, a sighting now in another paper (explain would contradict the data).
    changed = {paper_of[sid] for sid in shifted}
    changed |= {k.paper_id for k in existing if k.sighting_id in shifted and k.paper_id}
    moved = {
        k.sighting_id: (paper_of[k.sighting_id], decision(k.sighting_id))
        for k in existing
        if k.sighting_id in shifted or (shifted and paper_of[k.sighting_id] in changed)
    }
    touched = {paper_of[k.sighting_id] for k in new} | changed
    return Resolution(
        paper_ids=[paper_of[k.sighting_id] for k in new],
        decisions=[decision(k.sighting_id) for k in new],
        merged=merged,
        new_papers=set(founded),
        moved=moved,
        touched=touched - set(merged),
    )


def backfill_blocks(con: Connection) -> pa.Table:
    """`title_blocks` rows for sightings loaded before schema v2 (empty once it has rows)."""
    rows = con.execute(load_sql("resolve_find_unblocked.sql")).fetch_arrow_table()
    return block_rows(_keys_from(rows, rows["abstract"]))
