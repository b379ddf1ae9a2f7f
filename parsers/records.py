"""Record types every parser returns, and the one place text and ids are canonicalised.

A parser turns one page into a `ListingPage` holding `Entry` records: one per paper listed,
with the values exactly as that page shows them (whitespace collapsed, TeX kept raw). Deciding
which entries are the same paper is the warehouse's job (`warehouse/resolve.py`); the keys it
uses (`title_key`, `split_arxiv_id`) are defined here so parsers and resolver agree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit, urlunsplit

# Per-field caps: a hostile page must not put megabytes into one cell (reliability.md §7.4).
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 2_000
MAX_NAME = 300
MAX_SHORT = 2_000


@dataclass(frozen=True, slots=True)
class Entry:
    """One paper as listed on one page.

    `position` is the 0-based rank on the page. `authors_complete` is False when the page cut
    the list (e.g. "A, B, C et al."), so a resolver never treats it as the full list.
    """

    source: str
    position: int
    title: str | None = None
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    authors_complete: bool = True
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    doi: str | None = None
    published_date: date | None = None
    listed_date: date | None = None
    primary_category: str | None = None
    categories: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    code_url: str | None = None
    has_code: bool | None = None
    upvotes: int | None = None
    ai_keywords: tuple[str, ...] = ()
    section: str | None = None
    comments: str | None = None
    journal_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ListingPage:
    """The parse of one page: its entries in page order and the pages it links to next.

    `kind` names the listing type ("day", "week", "search", "author", "abstracts", ...).
    `next_urls` are candidate follow-up pages; the flow decides whether to fetch them.
    """

    url: str
    source: str
    kind: str
    entries: tuple[Entry, ...]
    listed_date: date | None = None
    next_urls: tuple[str, ...] = ()
    total: int | None = None
    warnings: tuple[str, ...] = field(default=())


_WS = re.compile(r"\s+")


def clean_text(value: str | None, *, limit: int = MAX_SHORT) -> str | None:
    """NFC-normalise, collapse whitespace, strip and cap; empty becomes None."""
    if value is None:
        return None
    # NUL goes before normalising: removing it afterwards can join characters NFC would
    # have composed, and a second pass would then change the text (found by hypothesis).
    text = _WS.sub(" ", unicodedata.normalize("NFC", value.replace("\x00", ""))).strip()
    return text[:limit].rstrip() if text else None


def clean_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Clean a list of author or organisation names, dropping empties, keeping order."""
    out = []
    for name in names[:MAX_AUTHORS]:
        cleaned = clean_text(name, limit=MAX_NAME)
        if cleaned:
            out.append(cleaned)
    return tuple(out)


_NEW_ID = re.compile(r"(?<![\w.])(\d{4}\.\d{4,5})(?:v(\d+))?(?![\d])")
_OLD_ID = re.compile(r"(?<![\w.-])([a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?(?!\d)")


def split_arxiv_id(text: str | None) -> tuple[str | None, int | None]:
    """Find an arXiv id in `text` (a bare id, `arXiv:` form or an abs/pdf URL).

    Returns (base id without version, version or None); (None, None) when there is no id.
    Old-style ids keep their archive prefix (`hep-th/9901001`).
    """
    if not text:
        return None, None
    for pattern in (_NEW_ID, _OLD_ID):
        match = pattern.search(text)
        if match:
            version = int(match.group(2)) if match.group(2) else None
            return match.group(1), version
    return None, None


_C0_AND_SPACE = "".join(chr(i) for i in range(33))


def canonicalize_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and default ports; keep path and query."""
    # Drop the fragment, then strip what urlsplit itself strips (C0 controls and space, per
    # WHATWG) — not str.strip()'s Unicode whitespace — so a second pass changes nothing.
    parts = urlsplit(url.split("#", 1)[0].strip(_C0_AND_SPACE))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literals keep their brackets
    try:
        port = parts.port
    except ValueError:  # out-of-range port: keep the authority as written, minus case
        kept = (scheme, parts.netloc.lower(), parts.path or "/", parts.query, "")
        return urlunsplit(kept).strip(_C0_AND_SPACE)
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    # An empty query's "?" vanishes, which can expose trailing space: strip once more.
    return urlunsplit((scheme, host, parts.path or "/", parts.query, "")).strip(_C0_AND_SPACE)


_ISO_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")


def iso_date(value: str | None) -> date | None:
    """The calendar date an ISO-8601 date or timestamp starts with (as written), else None."""
    match = _ISO_DAY.match(value or "")
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


_DOI = re.compile(r"10\.\d{4,9}/\S+")


def normalize_doi(text: str | None) -> str | None:
    """Return the bare lower-case DOI found in `text` (URL or bare form), or None."""
    if not text:
        return None
    match = _DOI.search(text)
    return match.group(0).rstrip(".,;)").lower() if match else None


_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")
_NON_WORD = re.compile(r"[^\w]+")


def title_key(title: str | None) -> str | None:
    """The normalised form two titles of one paper share.

    NFKC, TeX rendered, case folded, hyphenation at line breaks joined, and every run of
    punctuation or whitespace folded to one space. `Kosmos-2` and `KOSMOS-2.5` stay apart
    (`kosmos 2` vs `kosmos 2 5`).
    """
    from parsers.tex import render_tex  # local import: tex imports nothing from here

    if not title:
        return None
    text = unicodedata.normalize("NFKC", render_tex(title))
    text = _HYPHEN_BREAK.sub(r"\1\2", text).casefold()
    key = _NON_WORD.sub(" ", text).replace("_", " ").strip()
    key = _WS.sub(" ", key)
    return key or None


def content_hash(*parts: object) -> str:
    """A stable sha256 hex digest of the parts' reprs, for change detection."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()
