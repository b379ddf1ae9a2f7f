"""Entity resolution: which sightings are the same paper, and why.

The rules, cheapest first (docs/resolution.md is the prose version; keep them in step):

0. **user** — a user's "same paper" mark (written by `warehouse.explain.unmerge`).
1. **arxiv_id** — same arXiv id with the version stripped. **doi** — same DOI.
2. **title** — same normalised title (`parsers.records.title_key`).
3. **similar_title** — titles whose compact forms (title key without spaces) have character
   trigram Dice ≥ 0.85, with the same numbers in them, *and* a shared author surname.
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
abstract sketches), closes them over the same joins, and re-resolves exactly those sightings.
So resolving in one batch, in any order, or in several batches in any order gives the same
partition. Ids stay put: each existing paper goes to the group holding most of its sightings;
a group keeps the earliest paper it received, the others become `paper_aliases`; a group with
none gets `pf_` + a hash of its strongest key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from warehouse.db import Connection, load_sql

SKETCH_K = 16
JACCARD_MIN = 0.5
CONTAINMENT_MIN = 0.8
TITLE_SIM_MIN = 0.85
TITLE_MIN_CHARS = 12
BLOCK_AUTHORS = 3
BLOCK_CHARS = 5
MAX_ROUNDS = 8
RULES = ("user", "arxiv_id", "doi", "title", "similar_title", "abstract")
_EXACT_RULES = {"arxiv_id": "arxiv_id", "doi": "doi", "title": "title_key"}
_SOFT_RULES = ("title", "similar_title", "abstract")


@dataclass(slots=True)
class Keys:
    """What resolution knows about one sighting (new or already in the warehouse)."""

    sighting_id: str
    paper_id: str | None
    arxiv_id: str | None
    doi: str | None
    title_key: str | None
    year: int | None
    surnames: frozenset[str]
    abstract: str | None
    sketch: tuple[int, ...] = ()
    blocks: tuple[int, ...] = ()

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
    that now belong to another paper (sighting_id -> (paper_id, decision)); `merged` maps a
    paper id that no longer has sightings to the paper that took them over.
    """

    paper_ids: list[str]
    decisions: list[Decision]
    merged: dict[str, str]
    new_papers: set[str]
    moved: dict[str, tuple[str, Decision]] = field(default_factory=dict)
    keys: list[Keys] = field(default_factory=list)  # the new rows' keys, for their blocks/sketches
    touched: set[str] = field(default_factory=set)


# --- keys -------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


def surname(name: str) -> str:
    """Last word of a name, accent- and case-folded (`José Núñez` -> `nunez`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words: list[str] = _WORD.findall(folded) or _WORD.findall(name.casefold())
    return words[-1] if words else ""


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def shingles(text: str | None) -> frozenset[int]:
    """Hashes of the word 3-shingles of `text` (lower-cased words).

    CRC-32 (C speed, stable across processes, unlike `hash`) is plenty here: a collision can
    only add a candidate, which the exact shingle comparison then rejects.
    """
    if not text:
        return frozenset()
    words = _WORD.findall(text.casefold())
    grams = (" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1)))
    return frozenset(zlib.crc32(g.encode()) for g in grams)


def sketch(sh: frozenset[int]) -> list[int]:
    """Bottom-k MinHash sketch: the k smallest shingle hashes."""
    return sorted(sh)[:SKETCH_K]


def similar_abstracts(a: frozenset[int], b: frozenset[int]) -> float:
    """Score in [0, 1]; non-zero only when one abstract is a light rewording of the other."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    jaccard = inter / len(a | b)
    containment = inter / min(len(a), len(b))
    if jaccard >= JACCARD_MIN or containment >= CONTAINMENT_MIN:
        return max(jaccard, containment)
    return 0.0


def compact(title_key: str | None) -> str:
    return (title_key or "").replace(" ", "")


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(max(len(text) - 2, 1)))


_VERSION_WORD = re.compile(r"^(?:v\d+|[a-z]|[ivx]+|\d\w*|plus|pro|mini|lite|next|xl|large|base)$")


def similar_titles(a: str | None, b: str | None) -> float:
    """Similarity of two title keys' compact forms: trigram Dice, or 1 - (edit distance with
    transpositions) / length for short titles where one typo moves Dice a lot. 0 when either
    is too short to judge or when they differ in a number or a version-like word (`Kosmos-2`
    vs `Kosmos-2.5`, `BEiT` vs `BEiT v2`, `Kosmos-G`): look-alikes of different papers."""
    ca, cb = compact(a), compact(b)
    if min(len(ca), len(cb)) < TITLE_MIN_CHARS or _versions_differ(a or "", b or ""):
        return 0.0
    ta, tb = _trigrams(ca), _trigrams(cb)
    dice = 2 * len(ta & tb) / (len(ta) + len(tb))
    if dice >= TITLE_SIM_MIN:
        return dice
    if dice < 0.5:
        return 0.0
    edit = 1 - _osa(ca, cb) / max(len(ca), len(cb))
    return edit if edit >= 0.9 else 0.0


def _versions_differ(a: str, b: str) -> bool:
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return True
    wa, wb = set(a.split()), set(b.split())
    return any(_VERSION_WORD.match(w) for w in wa ^ wb)


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def title_blocks(title_key: str | None, surnames_in_order: Sequence[str]) -> list[int]:
    """Blocking keys for similar_title: (surname of one of the first authors) × (first or last
    few characters of the compact title). Two spellings of one title by one team share one."""
    text = compact(title_key)
    if len(text) < TITLE_MIN_CHARS:
        return []
    names = [s for s in surnames_in_order if s][:BLOCK_AUTHORS]
    ends = (text[:BLOCK_CHARS], text[-BLOCK_CHARS:])
    return sorted({_h64(f"{name}|{i}|{end}") for name in names for i, end in enumerate(ends)})


def _keys(row: dict[str, object], sketch_hashes: Sequence[int] | None = None) -> Keys:
    authors = row["authors"] or []
    assert isinstance(authors, list)
    names = [surname(str(a)) for a in authors]
    published = row["published_date"]
    abstract = row["abstract"] if isinstance(row["abstract"], str) else None
    title = row["title_key"] if isinstance(row["title_key"], str) else None
    keys = Keys(
        sighting_id=str(row["sighting_id"]),
        paper_id=row.get("paper_id") if isinstance(row.get("paper_id"), str) else None,  # type: ignore[arg-type]
        arxiv_id=row["arxiv_id"] if isinstance(row["arxiv_id"], str) else None,
        doi=row["doi"] if isinstance(row["doi"], str) else None,
        title_key=title,
        year=getattr(published, "year", None),
        surnames=frozenset(n for n in names if n),
        abstract=abstract,
        blocks=tuple(title_blocks(title, names)),
    )
    if sketch_hashes is not None:
        keys.sketch = tuple(sketch_hashes)
    elif abstract:
        keys.sketch = tuple(sketch(shingles(abstract)))
    return keys


_KEY_COLUMNS = ["sighting_id", "arxiv_id", "doi", "title_key", "published_date", "authors",
                "abstract"]


def keys_of(table: pa.Table) -> list[Keys]:
    """Resolution keys for every staged row (new sightings, no paper yet)."""
    return [_keys(row) for row in table.select(_KEY_COLUMNS).to_pylist()]


def sketch_rows(keys: Sequence[Keys], paper_ids: Sequence[str]) -> pa.Table:
    """`abstract_sketches` rows for every new sighting with an abstract (sketches computed
    once, by `keys_of`)."""
    sids, pids, hashes = [], [], []
    for k, pid in zip(keys, paper_ids, strict=True):
        for h in k.sketch:
            sids.append(k.sighting_id)
            pids.append(pid)
            hashes.append(h)
    return pa.table(
        {"sighting_id": sids, "paper_id": pids, "h": pa.array(hashes, type=pa.uint64())}
    )


def block_rows(keys: Iterable[Keys]) -> pa.Table:
    """`title_blocks` rows for the given sightings."""
    sids, blocks = [], []
    for k in keys:
        for b in k.blocks:
            sids.append(k.sighting_id)
            blocks.append(b)
    return pa.table({"sighting_id": pa.array(sids, pa.string()),
                     "block": pa.array(blocks, type=pa.uint64())})


# --- union-find with vetoes -------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    arxiv_ids: set[str]
    dois: set[str]
    years: set[int]
    surnames: set[str]
    members: set[str]
    forbidden: set[str]


class _Groups:
    """Union-find over sighting ids; each root carries what its group knows, for vetoes."""

    def __init__(self, keys: Iterable[Keys], not_same: dict[str, set[str]]) -> None:
        self.parent: dict[str, str] = {}
        self.info: dict[str, _Group] = {}
        for k in keys:
            self.parent[k.sighting_id] = k.sighting_id
            self.info[k.sighting_id] = _Group(
                {k.arxiv_id} if k.arxiv_id else set(), {k.doi} if k.doi else set(),
                {k.year} if k.year else set(), set(k.surnames), {k.sighting_id},
                set(not_same.get(k.sighting_id, ())),
            )

    def find(self, node: str) -> str:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

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
        return bool(ga.surnames and gb.surnames and not ga.surnames & gb.surnames)

    def union(self, a: str, b: str, rule: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or self.vetoed(self.info[ra], self.info[rb], rule):
            return False
        if len(self.info[ra].members) < len(self.info[rb].members):
            ra, rb = rb, ra
        self.parent[rb] = ra
        keep, drop = self.info[ra], self.info.pop(rb)
        keep.arxiv_ids |= drop.arxiv_ids
        keep.dois |= drop.dois
        keep.years |= drop.years
        keep.surnames |= drop.surnames
        keep.members |= drop.members
        keep.forbidden |= drop.forbidden
        return True


# --- edges among the sightings being resolved ---------------------------------------------------

Edge = tuple[float, str, str]  # (score, sighting a, sighting b), a < b


def _exact_edges(keys: list[Keys], attr: str) -> list[list[str]]:
    """Groups of sighting ids sharing a value of `attr`, each sorted, groups in value order."""
    by_value: dict[str, list[str]] = {}
    for k in keys:
        value = getattr(k, attr)
        if value:
            by_value.setdefault(value, []).append(k.sighting_id)
    return [sorted(ids) for _, ids in sorted(by_value.items()) if len(ids) > 1]


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


def _similar_title_edges(keys: list[Keys], by_id: dict[str, Keys]) -> list[Edge]:
    buckets: dict[int, list[Keys]] = {}
    for k in keys:
        for block in k.blocks:
            buckets.setdefault(block, []).append(k)
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
    buckets: dict[int, list[Keys]] = {}
    for k in keys:
        for h in k.sketch:
            buckets.setdefault(h, []).append(k)
    cache: dict[str, frozenset[int]] = {}
    edges = []
    for a, b in _bucket_pairs(buckets, 2, lambda k: k.abstract_only):
        ka, kb = by_id[a], by_id[b]
        sa = cache.setdefault(a, shingles(ka.abstract))
        sb = cache.setdefault(b, shingles(kb.abstract))
        score = similar_abstracts(sa, sb)
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
    groups = _Groups(keys, marks.not_same)
    joined: dict[str, Decision] = {}

    def apply(rule: str, edges: Iterable[Edge]) -> None:
        for score, a, b in edges:
            if groups.union(a, b, rule):
                joined.setdefault(b, Decision(rule, score, a))
                joined.setdefault(a, Decision(rule, score, b))

    same = {(min(p), max(p)) for p in marks.same if p[0] in by_id and p[1] in by_id}
    apply("user", sorted((1.0, a, b) for a, b in same))
    for rule, attr in _EXACT_RULES.items():
        for ids in _exact_edges(keys, attr):
            apply(rule, ((1.0, a, b) for a in ids for b in ids if a < b))
    apply("similar_title", sorted(_similar_title_edges(keys, by_id), key=_edge_order))
    apply("abstract", sorted(_abstract_edges(keys, by_id), key=_edge_order))
    return groups, joined


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


def _run(con: Connection, sql_name: str, tables: dict[str, pa.Table]) -> pa.Table:
    """Run one .sql file against registered Arrow tables; the result as Arrow."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(load_sql(sql_name)).fetch_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def _probe_tables(keys: Sequence[Keys]) -> dict[str, pa.Table]:
    sids: list[str] = []
    hashes: list[int] = []
    for k in keys:
        sids += [k.sighting_id] * len(k.sketch)
        hashes += k.sketch
    probe = pa.table({
        "sighting_id": pa.array([k.sighting_id for k in keys], pa.string()),
        "arxiv_id": pa.array([k.arxiv_id for k in keys], pa.string()),
        "doi": pa.array([k.doi for k in keys], pa.string()),
        "title_key": pa.array([k.title_key for k in keys], pa.string()),
    })
    sketches = pa.table({"sighting_id": pa.array(sids, pa.string()),
                         "h": pa.array(hashes, pa.uint64())})
    return {"resolve_probe": probe, "resolve_probe_blocks": block_rows(keys),
            "resolve_probe_sketch": sketches}


def _find_papers(con: Connection, keys: Sequence[Keys]) -> set[str]:
    """Papers holding a sighting that shares a blocking key (or a user mark) with `keys`."""
    if not keys:
        return set()
    found = _run(con, "resolve_find_papers.sql", _probe_tables(keys))
    return set(found.column("paper_id").to_pylist())


def _sightings_of(con: Connection, paper_ids: set[str]) -> list[Keys]:
    ids = pa.table({"paper_id": pa.array(sorted(paper_ids), pa.string())})
    rows = _run(con, "resolve_get_sightings.sql", {"resolve_papers": ids}).to_pylist()
    return [_keys(row, row["sketch"] or []) for row in rows]


def _closure(con: Connection, start: Sequence[Keys], known: set[str]) -> list[Keys]:
    """Existing sightings reachable from `start` over blocking keys, whole papers at a time.

    `known` is the set of papers already included. Stops after MAX_ROUNDS (a part of the
    candidate graph that large is resolved from what was reached; docs/resolution.md).
    """
    reached: list[Keys] = []
    frontier = list(start)
    for _ in range(MAX_ROUNDS):
        found = _find_papers(con, frontier) - known
        if not found:
            break
        known |= found
        frontier = _sightings_of(con, found)
        reached += frontier
    return reached


def _marks(con: Connection, sighting_ids: list[str]) -> Marks:
    ids = pa.table({"sighting_id": pa.array(sighting_ids, pa.string())})
    rows = _run(con, "resolve_get_marks.sql", {"resolve_ids": ids}).to_pylist()
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
    rows = _run(con, "resolve_get_first_seen.sql", {"resolve_papers": ids}).to_pylist()
    return {str(r["paper_id"]): str(r["first_seen_at"]) for r in rows}


def _taken(con: Connection, candidates: Iterable[str]) -> set[str]:
    ids = pa.table({"paper_id": pa.array(sorted(set(candidates)), pa.string())})
    rows = _run(con, "resolve_find_taken_ids.sql", {"resolve_papers": ids})
    return set(rows.column("paper_id").to_pylist())


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
    first = {root: members[0].sighting_id for root, members in clusters.items()}
    return {
        paper: min(per, key=lambda r: (-per[r], first[r])) for paper, per in counts.items()
    }


def _new_ids(con: Connection, groups: list[list[Keys]]) -> list[str]:
    """`pf_` + 16 hex of each group's strongest key; suffixed when that id is already used."""
    bases = [
        "pf_" + hashlib.sha256(min(_key_rank(k) for k in g)[1].encode()).hexdigest()[:16]
        for g in groups
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
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(cluster root -> paper id, merged loser -> survivor, new paper ids)."""
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
    orphans = sorted(
        (r for r in clusters if r not in pid), key=lambda r: clusters[r][0].sighting_id
    )
    fresh = _new_ids(con, [clusters[r] for r in orphans])
    pid.update(zip(orphans, fresh, strict=True))
    return pid, merged, set(fresh)


# --- the resolver ---------------------------------------------------------------------------------


def resolve(con: Connection, table: pa.Table) -> Resolution:
    """Assign a paper to every staged row of `table` (new sightings only).

    Re-resolves, canonically, every existing sighting connected to the new ones; reads the
    warehouse through `con` (inside the load transaction) and writes nothing.
    """
    new = keys_of(table)
    existing = _closure(con, new, set())
    resolution = _resolve(con, new, existing)
    resolution.keys = new
    return resolution


def resolve_papers(
    con: Connection, paper_ids: Iterable[str], anchors: Iterable[str] = ()
) -> Resolution:
    """Re-resolve existing papers (and everything connected to them), e.g. after a user mark.

    A paper split apart keeps its id on the side holding one of `anchors` (sighting ids).
    """
    known = set(paper_ids)
    start = _sightings_of(con, known)
    return _resolve(con, [], start + _closure(con, start, known), frozenset(anchors))


def _resolve(
    con: Connection, new: list[Keys], existing: list[Keys], anchors: frozenset[str] = frozenset()
) -> Resolution:
    every = new + existing
    groups, joined = cluster(every, _marks(con, [k.sighting_id for k in every]))
    clusters: dict[str, list[Keys]] = {}
    for k in sorted(every, key=lambda k: k.sighting_id):
        clusters.setdefault(groups.find(k.sighting_id), []).append(k)
    pid, merged, fresh = _paper_ids(con, clusters, anchors)
    paper_of = {k.sighting_id: pid[root] for root, members in clusters.items() for k in members}
    founders = {min(m, key=_key_rank).sighting_id for r, m in clusters.items() if pid[r] in fresh}

    def decision(sid: str) -> Decision:
        if sid in founders or sid not in joined:
            return Decision("new", 1.0, None)
        return joined[sid]

    moved = {
        k.sighting_id: (paper_of[k.sighting_id], decision(k.sighting_id))
        for k in existing
        if paper_of[k.sighting_id] != k.paper_id
    }
    touched = {paper_of[k.sighting_id] for k in new} | {p for p, _ in moved.values()}
    touched |= {k.paper_id for k in existing if k.sighting_id in moved and k.paper_id}
    return Resolution(
        paper_ids=[paper_of[k.sighting_id] for k in new],
        decisions=[decision(k.sighting_id) for k in new],
        merged=merged,
        new_papers=fresh,
        moved=moved,
        touched=touched - set(merged),
    )


def backfill_blocks(con: Connection) -> pa.Table:
    """`title_blocks` rows for sightings loaded before schema v2 (empty once it has rows)."""
    rows = con.execute(load_sql("resolve_find_unblocked.sql")).fetch_arrow_table().to_pylist()
    return block_rows(_keys(row, []) for row in rows)
