"""Parsers: pure functions from page bytes to records. No network, no clock, no IO.

Every source module exposes a `SOURCE` spec and one or more parse functions with the
`ParseFn` signature. `FORMATS` maps a format name to its parse function; `detect_format`
sniffs saved pages for `paperflow import`. Adding a source is adding one module and its
lines here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from parsers.records import Entry, ListingPage


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where a source lives and how politely to read it; overrides live here, nowhere else."""

    name: str
    default_base_url: str
    allowed_hosts: frozenset[str]
    max_rate: float  # requests per second per host; 0 = unlimited
    concurrency: int  # open connections per host
    description: str = ""


class ParseFn(Protocol):
    def __call__(self, body: bytes, *, url: str, fetched_at: datetime) -> ListingPage: ...


@dataclass(frozen=True, slots=True)
class Format:
    """One page format: which source it belongs to, how to parse it, how to recognise it."""

    name: str
    source: str
    parse: ParseFn
    sniff: Callable[[bytes], bool] | None = None
    paginates: bool = False  # its pages can link to next pages (ListingPage.next_urls)


def _registry() -> tuple[dict[str, SourceSpec], dict[str, Format]]:
    from parsers import abstracts, arxiv_api, arxiv_list, hf_papers, hf_text, scholarfeed

    modules = (hf_papers, arxiv_list, arxiv_api, scholarfeed, abstracts)
    sources = {m.SOURCE.name: m.SOURCE for m in modules}
    formats = [
        Format("arxiv-api-atom", "arxiv-api", arxiv_api.parse, arxiv_api.looks_like_atom, True),
        Format("arxiv-list-html", "arxiv-list", arxiv_list.parse, arxiv_list.looks_like_html, True),
        Format("hf-papers-html", "hf-papers", hf_papers.parse, hf_papers.looks_like_html),
        Format(
            "hf-papers-api", "hf-papers", hf_papers.parse_api, hf_papers.looks_like_api, True
        ),
        Format(
            "scholarfeed-text", "scholarfeed", scholarfeed.parse_text, scholarfeed.looks_like_text
        ),
        Format("hf-papers-text", "hf-papers", hf_text.parse_text, hf_text.looks_like_text),
        Format("abstracts-text", "abstracts", abstracts.parse_text, abstracts.looks_like_text),
        Format(
            "scholarfeed-html", "scholarfeed", scholarfeed.parse_html, scholarfeed.looks_like_html
        ),
        Format(
            "scholarfeed-api",
            "scholarfeed",
            scholarfeed.parse_api,
            scholarfeed.looks_like_api,
            paginates=True,
        ),
    ]
    return sources, {f.name: f for f in formats}


if TYPE_CHECKING:
    SOURCES: dict[str, SourceSpec]
    FORMATS: dict[str, Format]


def __getattr__(name: str) -> object:
    """Build the registry on first use: `import parsers.errors` (every CLI command does) must
    not pay for importing every parser and selectolax (PEP 562)."""
    if name in ("SOURCES", "FORMATS"):
        sources, formats = _registry()
        globals().update(SOURCES=sources, FORMATS=formats)
        return globals()[name]
    raise AttributeError(f"module 'parsers' has no attribute {name!r}")


def detect_format(body: bytes) -> str | None:
    """The first format whose sniffer recognises `body` (in registry order), or None."""
    from parsers import FORMATS

    for fmt in FORMATS.values():
        if fmt.sniff is not None and fmt.sniff(body):
            return fmt.name
    return None


__all__ = [
    "FORMATS",
    "SOURCES",
    "Entry",
    "Format",
    "ListingPage",
    "ParseFn",
    "SourceSpec",
    "detect_format",
]
