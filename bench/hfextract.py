"""The least work that turns an HF day page into paper rows: one lexbor parse, one JSON decode.

Shared by the floor and both peers so that they differ only in how they are orchestrated. It
reads the same `DailyPapers` island paperflow reads, but does none of paperflow's
canonicalisation, validation or drift checks. Depends on selectolax only (orjson if present),
so it imports in the peers venv as well as in the project's.
"""

from __future__ import annotations

from typing import Any

from selectolax.lexbor import LexborHTMLParser

try:
    from orjson import loads
except ImportError:  # pragma: no cover - the peers venv has orjson; plain json still works
    from json import loads

ISLAND = 'div[data-target="DailyPapers"]'
COLUMNS = (
    "arxiv_id",
    "title",
    "summary",
    "authors",
    "published_at",
    "upvotes",
    "github_repo",
    "organization",
    "listed_date",
    "page_url",
)


def extract(body: bytes, url: str) -> list[dict[str, Any]]:
    """Paper rows of one day page; ValueError when the page has no paper list."""
    tree = LexborHTMLParser(body)
    node = tree.css_first(ISLAND)
    raw = node.attributes.get("data-props") if node is not None else None
    if not raw:
        raise ValueError(f"no DailyPapers island: {url}")
    props = loads(raw)
    listed = props.get("dateString")
    rows = []
    for item in props.get("dailyPapers") or []:
        paper = item["paper"]
        org = paper.get("organization") or {}
        rows.append(
            {
                "arxiv_id": paper["id"],
                "title": " ".join(paper["title"].split()),
                "summary": paper.get("summary"),
                "authors": [a["name"] for a in paper.get("authors", ())],
                "published_at": paper.get("publishedAt"),
                "upvotes": paper.get("upvotes"),
                "github_repo": paper.get("githubRepo"),
                "organization": org.get("name"),
                "listed_date": listed,
                "page_url": url,
            }
        )
    return rows


def newest_wins(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per arxiv_id: the latest listing wins, then the highest upvote count."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        known = best.get(row["arxiv_id"])
        if known is None or (row["listed_date"], row["upvotes"] or 0) >= (
            known["listed_date"],
            known["upvotes"] or 0,
        ):
            best[row["arxiv_id"]] = row
    return list(best.values())
