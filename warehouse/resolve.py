"""Entity resolution: which sightings are the same paper, and why.

The rules, cheapest first (docs/resolution.md says the same in prose):

1. **arxiv_id** — same arXiv id with the version stripped.
2. **doi** — same DOI.
3. **title** — same normalised title (`parsers.records.title_key`), unless a veto applies:
   different arXiv ids or DOIs, publication years more than one apart, or no shared author
   surname when both author lists are known.
4. **abstract** — for entries with neither id nor title: a near-identical abstract (word
   3-shingle Jaccard ≥ 0.5 or containment ≥ 0.8), so another arXiv version's rewording of a
   sentence still matches. Candidates come from a bottom-k MinHash sketch joined in SQL.

Two different arXiv ids are never joined. New sightings are matched against each other and
against what the warehouse holds (looked up with SQL joins, never by loading the warehouse).
A group that touches one existing paper joins it; one touching several merges them into the
earliest (the others become `paper_aliases`); a group touching none becomes a new paper whose
id is derived from its strongest key, so rebuilding gives the same ids.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from warehouse.db import Connection, load_sql

SKETCH_K = 16
JACCARD_MIN = 0.5
CONTAINMENT_MIN = 0.8
_RULE_SCORE = {"arxiv_id": 1.0, "doi": 1.0, "title": 0.95}


@dataclass(slots=True)
class Keys:
    """What resolution knows about one new sighting."""

    idx: int
    sighting_id: str
    arxiv_id: str | None
    doi: str | None
    title_key: str | None
    year: int | None
    surnames: frozenset[str]
    abstract: str | None
    shingles: frozenset[int] = field(default_factory=frozenset)


@dataclass(slots=True)
class Decision:
    rule: str
    score: float
    matched: str | None


@dataclass(slots=True)
class Resolution:
    """Paper id per new sighting (by index), decisions, and papers merged away."""

    paper_ids: list[str]
    decisions: list[Decision]
    merged: dict[str, str]  # loser paper_id -> survivor paper_id
    new_papers: set[str]


# --- keys ---------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def surname(name: str) -> str:
    """Last word of a name, accent- and case-folded (`José Núñez` -> `nunez`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = _WORD.findall(folded)
    return words[-1] if words else ""


def shingles(text: str | None) -> frozenset[int]:
    """Hashes of the word 3-shingles of `text` (lower-cased words)."""
    if not text:
        return frozenset()
    words = _WORD.findall(text.casefold())
    grams = (" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1)))
    return frozenset(_h64(g) for g in grams)


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def sketch(sh: frozenset[int]) -> list[int]:
    """Bottom-k MinHash sketch: the k smallest shingle hashes."""
    return sorted(sh)[:SKETCH_K]


def similar_abstracts(a: frozenset[int], b: frozenset[int]) -> float:
    """Score in [0, 1]; ≥ threshold when one abstract is a light rewording of the other."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    jaccard = inter / len(a | b)
    containment = inter / min(len(a), len(b))
    if jaccard >= JACCARD_MIN or containment >= CONTAINMENT_MIN:
        return max(jaccard, containment)
    return 0.0


def keys_of(table: pa.Table) -> list[Keys]:
    """Resolution keys for every staged row."""
    cols = table.select(
        ["sighting_id", "arxiv_id", "doi", "title_key", "published_date", "authors", "abstract"]
    ).to_pylist()
    out = []
    for idx, row in enumerate(cols):
        published = row["published_date"]
        abstract = row["abstract"]
        needs_abstract = abstract and not (row["arxiv_id"] or row["doi"] or row["title_key"])
        out.append(
            Keys(
                idx=idx,
                sighting_id=row["sighting_id"],
                arxiv_id=row["arxiv_id"],
                doi=row["doi"],
                title_key=row["title_key"],
                year=published.year if published else None,
                surnames=frozenset(s for s in map(surname, row["authors"] or []) if s),
                abstract=abstract,
                shingles=shingles(abstract) if abstract else frozenset(),
            )
        )
        out[-1].abstract = abstract if needs_abstract else None
    return out


def sketch_rows(table: pa.Table, paper_ids: Sequence[str]) -> pa.Table:
    """`abstract_sketches` rows for every staged row with an abstract."""
    sids, pids, hashes = [], [], []
    for sid, pid, abstract in zip(
        table["sighting_id"].to_pylist(), paper_ids, table["abstract"].to_pylist(), strict=True
    ):
        for h in sketch(shingles(abstract)):
            sids.append(sid)
            pids.append(pid)
            hashes.append(h)
    return pa.table(
        {"sighting_id": sids, "paper_id": pids, "h": pa.array(hashes, type=pa.uint64())}
    )


# --- union-find with vetoes -----------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    arxiv_ids: set[str] = field(default_factory=set)
    dois: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    surnames: set[str] = field(default_factory=set)
    papers: set[str] = field(default_factory=set)


class _Groups:
    """Union-find over sightings ("s", idx) and existing papers ("p", id), with vetoes."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, object], tuple[str, object]] = {}
        self.info: dict[tuple[str, object], _Group] = {}

    def add(self, node: tuple[str, object], group: _Group) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.info[node] = group

    def find(self, node: tuple[str, object]) -> tuple[str, object]:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def vetoed(self, a: tuple[str, object], b: tuple[str, object], rule: str) -> bool:
        ga, gb = self.info[self.find(a)], self.info[self.find(b)]
        if ga.arxiv_ids and gb.arxiv_ids and ga.arxiv_ids != gb.arxiv_ids:
            return True
        if ga.dois and gb.dois and not (ga.dois & gb.dois) and rule != "arxiv_id":
            return True
        if rule != "title":
            return False
        if ga.years and gb.years and min(abs(x - y) for x in ga.years for y in gb.years) > 1:
            return True
        return bool(ga.surnames and gb.surnames and not (ga.surnames & gb.surnames))

    def union(self, a: tuple[str, object], b: tuple[str, object], rule: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or self.vetoed(a, b, rule):
            return False
        keep, drop = sorted((ra, rb), key=repr)
        self.parent[drop] = keep
        gk, gd = self.info[keep], self.info.pop(drop)
        gk.arxiv_ids |= gd.arxiv_ids
        gk.dois |= gd.dois
        gk.years |= gd.years
        gk.surnames |= gd.surnames
        gk.papers |= gd.papers
        return True


def _sighting_group(k: Keys) -> _Group:
    return _Group(
        arxiv_ids={k.arxiv_id} if k.arxiv_id else set(),
        dois={k.doi} if k.doi else set(),
        years={k.year} if k.year else set(),
        surnames=set(k.surnames),
    )


# --- matching against the warehouse ------------------------------------------------------------


@dataclass(slots=True)
class _Existing:
    paper_id: str
    arxiv_id: str | None
    doi: str | None
    year: int | None
    surnames: frozenset[str]
    first_seen: str


def _lookup(
    con: Connection, keys: list[Keys]
) -> tuple[list[tuple[int, str, str, float]], dict[str, _Existing]]:
    """Edges (idx, paper_id, rule, score) from new sightings to existing papers."""
    key_table = pa.table(
        {
            "idx": [k.idx for k in keys],
            "arxiv_id": [k.arxiv_id for k in keys],
            "doi": [k.doi for k in keys],
            "title_key": [k.title_key for k in keys],
        }
    )
    con.register("resolve_keys", key_table)
    try:
        rows = con.execute(load_sql("find_candidates.sql")).fetchall()
    finally:
        con.unregister("resolve_keys")
    edges = [(int(r[0]), str(r[1]), str(r[2]), 1.0) for r in rows]
    edges += _abstract_edges(con, keys)
    return edges, _papers(con, {e[1] for e in edges})


def _abstract_edges(con: Connection, keys: list[Keys]) -> list[tuple[int, str, str, float]]:
    wanted = [k for k in keys if k.abstract]
    if not wanted:
        return []
    idxs, hashes = [], []
    for k in wanted:
        for h in sketch(k.shingles):
            idxs.append(k.idx)
            hashes.append(h)
    probe = pa.table({"idx": idxs, "h": pa.array(hashes, type=pa.uint64())})
    con.register("resolve_sketch", probe)
    try:
        rows = con.execute(load_sql("find_abstract_candidates.sql")).fetchall()
    finally:
        con.unregister("resolve_sketch")
    by_idx = {k.idx: k for k in wanted}
    edges = []
    for idx, paper_id, abstract in rows:
        score = similar_abstracts(by_idx[int(idx)].shingles, shingles(abstract))
        if score:
            edges.append((int(idx), str(paper_id), "abstract", score))
    return edges


def _papers(con: Connection, ids: Iterable[str]) -> dict[str, _Existing]:
    id_list = sorted(ids)
    if not id_list:
        return {}
    rows = con.execute(load_sql("get_papers_for_resolution.sql"), [id_list]).fetchall()
    return {
        r[0]: _Existing(
            paper_id=r[0],
            arxiv_id=r[1],
            doi=r[2],
            year=r[3],
            surnames=frozenset(s for s in map(surname, r[4] or []) if s),
            first_seen=str(r[5]),
        )
        for r in rows
    }


# --- the resolver -----------------------------------------------------------------------------


def resolve(con: Connection, table: pa.Table) -> Resolution:
    """Assign a paper to every staged row of `table` (new sightings only).

    Reads the warehouse through `con` (inside the load transaction); writes nothing.
    """
    keys = keys_of(table)
    groups = _Groups()
    for k in keys:
        groups.add(("s", k.idx), _sighting_group(k))
    edges, existing = _lookup(con, keys)
    for paper in existing.values():
        groups.add(("p", paper.paper_id), _paper_group(paper))
    first_edge: dict[int, Decision] = {}
    for rule in ("arxiv_id", "doi", "title", "abstract"):
        for a, b, score, matched in _rule_edges(rule, keys, edges):
            if groups.union(a, b, rule):
                for node in (a, b):
                    if node[0] == "s" and isinstance(node[1], int):
                        first_edge.setdefault(node[1], Decision(rule, score, matched))
    return _assign(con, keys, groups, existing, first_edge)


def _paper_group(paper: _Existing) -> _Group:
    return _Group(
        arxiv_ids={paper.arxiv_id} if paper.arxiv_id else set(),
        dois={paper.doi} if paper.doi else set(),
        years={paper.year} if paper.year else set(),
        surnames=set(paper.surnames),
        papers={paper.paper_id},
    )


Node = tuple[str, object]


def _rule_edges(
    rule: str, keys: list[Keys], existing: list[tuple[int, str, str, float]]
) -> list[tuple[Node, Node, float, str | None]]:
    """Edges for one rule: batch-internal ones, then ones to existing papers, in a fixed order."""
    out: list[tuple[Node, Node, float, str | None]] = []
    if rule == "abstract":
        out += _batch_abstract_edges(keys)
    else:
        attr = {"arxiv_id": "arxiv_id", "doi": "doi", "title": "title_key"}[rule]
        first: dict[str, Keys] = {}
        for k in sorted(keys, key=lambda k: k.sighting_id):
            value = getattr(k, attr)
            if value is None:
                continue
            if value in first:
                out.append(
                    (
                        ("s", first[value].idx),
                        ("s", k.idx),
                        _RULE_SCORE[rule],
                        first[value].sighting_id,
                    )
                )
            else:
                first[value] = k
    for idx, paper_id, edge_rule, score in existing:
        if edge_rule == rule:
            out.append((("s", idx), ("p", paper_id), score, paper_id))
    return out


def _batch_abstract_edges(keys: list[Keys]) -> list[tuple[Node, Node, float, str | None]]:
    """Abstract-only sightings against every batch sighting with an abstract."""
    index: dict[int, list[Keys]] = {}
    for k in keys:
        for h in sketch(k.shingles):
            index.setdefault(h, []).append(k)
    out: list[tuple[Node, Node, float, str | None]] = []
    for k in sorted((k for k in keys if k.abstract), key=lambda k: k.sighting_id):
        counts: dict[int, int] = {}
        for h in sketch(k.shingles):
            for other in index.get(h, ()):
                if other.idx != k.idx:
                    counts[other.idx] = counts.get(other.idx, 0) + 1
        for other_idx in sorted(counts, key=lambda i: keys[i].sighting_id):
            other = keys[other_idx]
            score = similar_abstracts(k.shingles, other.shingles) if counts[other_idx] >= 2 else 0.0
            if score:
                out.append((("s", other.idx), ("s", k.idx), score, other.sighting_id))
    return out


def _assign(
    con: Connection,
    keys: list[Keys],
    groups: _Groups,
    existing: dict[str, _Existing],
    first_edge: dict[int, Decision],
) -> Resolution:
    members: dict[Node, list[Keys]] = {}
    for k in keys:
        members.setdefault(groups.find(("s", k.idx)), []).append(k)
    paper_ids = [""] * len(keys)
    decisions = [Decision("new", 1.0, None)] * len(keys)
    merged: dict[str, str] = {}
    new_papers: set[str] = set()
    for root, group_keys in members.items():
        papers = sorted(groups.info[root].papers, key=lambda p: (existing[p].first_seen, p))
        if papers:
            paper_id = papers[0]
            merged.update({loser: paper_id for loser in papers[1:]})
        else:
            paper_id = _new_paper_id(con, group_keys, new_papers)
            new_papers.add(paper_id)
        founder = None if papers else min(group_keys, key=_key_rank).idx
        for k in group_keys:
            paper_ids[k.idx] = paper_id
            if k.idx != founder and k.idx in first_edge:
                decisions[k.idx] = first_edge[k.idx]
    return Resolution(paper_ids, decisions, merged, new_papers)


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


def _new_paper_id(con: Connection, group: list[Keys], taken: set[str]) -> str:
    """`pf_` + 16 hex of the group's strongest key; suffixed if that id is already used."""
    base = "pf_" + hashlib.sha256(min(_key_rank(k) for k in group)[1].encode()).hexdigest()[:16]
    candidate, n = base, 1
    while candidate in taken or _paper_exists(con, candidate):
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _paper_exists(con: Connection, paper_id: str) -> bool:
    return con.execute(load_sql("paper_exists.sql"), [paper_id, paper_id]).fetchone() is not None
