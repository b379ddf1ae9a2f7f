"""Why a paper's sightings are together, and how a user corrects a wrong merge.

`explain` answers `paperflow explain REF`; `unmerge` backs `paperflow unmerge`. An unmerge is
durable: it records a user's marks (`resolution_marks`) — "not the same" between the moved
sightings and the ones left, "same" among the moved ones — which the resolver honours on
every later load (docs/resolution.md, "Corrections").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from parsers.records import split_arxiv_id
from warehouse.db import (
    Connection,
    bump_state,
    load_sql,
    open_reader,
    write,
)
from warehouse.lake import Target
from warehouse.load import apply_resolution
from warehouse.resolve import resolve_papers


class ExplainError(LookupError):
    """The reference names no paper, or an unmerge request does not fit the paper."""


@dataclass(frozen=True, slots=True)
class SightingWhy:
    sighting_id: str
    source: str
    page_url: str
    position: int
    seen_at: datetime
    arxiv_id: str | None
    title: str | None
    authors: tuple[str, ...]
    rule: str | None
    score: float | None
    matched: str | None
    run_id: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    paper_id: str
    ref: str
    title: str | None
    arxiv_id: str | None
    n_sightings: int
    sightings: tuple[SightingWhy, ...]
    aliases: tuple[str, ...]
    marks: tuple[tuple[str, str, str], ...]  # (sighting_a, sighting_b, kind)


def find_paper(con: Connection, ref: str) -> str:
    """The current paper_id for `ref`: a paper_id, an alias id, or an arXiv id (any version).

    Raises ExplainError when nothing matches.
    """
    arxiv, _ = split_arxiv_id(ref)
    row = con.execute(load_sql("explain_find_paper.sql"), {"ref": ref.strip(), "arxiv": arxiv})
    found = row.fetchone()
    if not found:
        raise ExplainError(f"no paper, alias or arXiv id matches {ref!r}")
    return str(found[0])


def explain(db_path: Target, ref: str) -> Explanation:
    """The paper `ref` names, each of its sightings with the rule that put it there, its
    aliases and the user marks on its sightings. Read-only."""
    with open_reader(db_path) as con:
        paper_id = find_paper(con, ref)
        paper = con.execute(load_sql("explain_get_paper.sql"), [paper_id]).fetchone()
        rows = con.execute(load_sql("explain_get_sightings.sql"), [paper_id]).fetchall()
        aliases = con.execute(load_sql("explain_get_aliases.sql"), [paper_id]).fetchall()
        marks = con.execute(load_sql("explain_get_marks.sql"), [paper_id]).fetchall()
    assert paper is not None
    return Explanation(
        paper_id=paper_id,
        ref=ref,
        title=paper[0],
        arxiv_id=paper[1],
        n_sightings=int(paper[2]),
        sightings=tuple(_sighting(r) for r in rows),
        aliases=tuple(str(a[0]) for a in aliases),
        marks=tuple((str(m[0]), str(m[1]), str(m[2])) for m in marks),
    )


def _sighting(r: tuple[object, ...]) -> SightingWhy:
    authors = r[7] if isinstance(r[7], list) else []
    score = r[9]
    return SightingWhy(
        sighting_id=str(r[0]), source=str(r[1]), page_url=str(r[2]), position=int(str(r[3])),
        seen_at=r[4],  # type: ignore[arg-type]
        arxiv_id=r[5] if isinstance(r[5], str) else None,
        title=r[6] if isinstance(r[6], str) else None,
        authors=tuple(str(a) for a in authors),
        rule=r[8] if isinstance(r[8], str) else None,
        score=float(score) if isinstance(score, (int, float)) else None,
        matched=r[10] if isinstance(r[10], str) else None,
        run_id=r[11] if isinstance(r[11], str) else None,
    )


_RULE_TEXT = {
    "new": "founded the paper",
    "user": "a user marked it the same paper as",
    "same_entry": "the same listing entry, seen again, as the user-marked",
    "arxiv_id": "same arXiv id as",
    "doi": "same DOI as",
    "title": "same normalised title as",
    "similar_title": "similar title and a shared author with",
    "abstract": "near-identical abstract to",
}


def format_explanation(e: Explanation) -> str:
    """A plain-text rendering of an Explanation for the terminal."""
    lines = [
        f"paper {e.paper_id}" + (f" (from {e.ref})" if e.ref != e.paper_id else ""),
        f"  title:    {e.title or '-'}",
        f"  arXiv:    {e.arxiv_id or '-'}",
        f"  aliases:  {', '.join(e.aliases) or '-'}",
        f"  {e.n_sightings} sighting(s):",
    ]
    for s in e.sightings:
        why = _RULE_TEXT.get(s.rule or "", s.rule or "no decision recorded")
        score = f" (score {s.score:.2f})" if s.score is not None and s.rule != "new" else ""
        target = f" {s.matched}" if s.matched and s.rule != "new" else ""
        lines.append(f"  - {s.sighting_id}  {s.source}  {s.page_url} #{s.position}")
        arxiv = f"  [{s.arxiv_id}]" if s.arxiv_id else ""
        lines.append(f"      {s.title or '(no title)'}{arxiv}")
        lines.append(f"      {why}{target}{score}")
    for a, b, kind in e.marks:
        lines.append(f"  mark: {a} {'≠' if kind == 'not_same' else '='} {b}")
    return "\n".join(lines)


def unmerge(
    db_path: Target,
    paper_id: str,
    sighting_ids: list[str],
    *,
    reason: str = "unmerged by a user",
    lock_timeout_s: float = 60.0,
) -> str:
    """Move `sighting_ids` out of the paper `paper_id` (or alias) into a paper of their own.

    Records durable marks (the moved sightings are not the same paper as the rest; they are
    the same paper as each other), then re-resolves the affected papers under those marks.
    Returns the paper id the moved sightings now have. Raises ExplainError when a sighting
    is not in the paper or when every sighting of the paper would move.
    """
    at = datetime.now(UTC)

    def work(con: Connection) -> str:
        current = find_paper(con, paper_id)
        rows = con.execute(load_sql("unmerge_get_sightings.sql"), [current]).fetchall()
        held = [str(r[0]) for r in rows]
        moving = sorted(set(sighting_ids))
        _check_unmerge(current, held, moving)
        staying = sorted(set(held) - set(moving))
        _record_marks(con, moving, staying, reason, at)
        run_id = "unmerge-" + at.strftime("%Y%m%dT%H%M%SZ")
        apply_resolution(con, resolve_papers(con, [current], staying), run_id, at)
        bump_state(con, run_id, at)  # a concurrent DuckLake load conflicts and re-resolves
        row = con.execute(load_sql("unmerge_get_paper_of.sql"), [moving[0]]).fetchone()
        assert row is not None
        return str(row[0])

    return write(db_path, work, lock_timeout_s=lock_timeout_s)


def _check_unmerge(paper_id: str, held: list[str], moving: list[str]) -> None:
    missing = sorted(set(moving) - set(held))
    if not moving or missing:
        raise ExplainError(f"sightings not in paper {paper_id}: {missing or 'none given'}")
    if len(moving) >= len(held):
        raise ExplainError(f"unmerge would move every sighting of {paper_id}; nothing to split")


def _record_marks(
    con: Connection, moving: list[str], staying: list[str], reason: str, at: datetime
) -> None:
    pairs = [(min(a, b), max(a, b), "not_same") for a in moving for b in staying]
    # The moved sightings are one paper, and so are those left: without `same` marks among
    # the latter, the ones that were linked only through a moved sighting fell apart into
    # papers of their own, and the paper id went to whichever piece kept most.
    pairs += [(moving[0], b, "same") for b in moving[1:]]
    pairs += [(min(staying[0], b), max(staying[0], b), "same") for b in staying[1:]]
    table = pa.table(
        {
            "sighting_a": pa.array([p[0] for p in pairs], pa.string()),
            "sighting_b": pa.array([p[1] for p in pairs], pa.string()),
            "kind": pa.array([p[2] for p in pairs], pa.string()),
            "reason": pa.array([reason] * len(pairs), pa.string()),
            "created_at": pa.array([at] * len(pairs), pa.timestamp("us", tz="UTC")),
        }
    )
    con.register("unmerge_marks", table)
    try:
        con.execute(load_sql("unmerge_insert_marks.sql"))
    finally:
        con.unregister("unmerge_marks")
