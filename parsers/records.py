"""Record types every parser returns, and the one place text and ids are canonicalised.

A parser turns one page into a `ListingPage` holding `Entry` records: one per paper listed,
with the values exactly as that page shows them (whitespace collapsed, TeX kept raw). Deciding
which entries are the same paper is the warehouse's job (`warehouse/resolve.py`); the keys it
uses (`title_key`, `split_arxiv_id`) are defined here so parsers and resolver agree.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import orjson

from parsers.tex import render_tex

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


def clean_text(value: str | None, *, limit: int = MAX_SHORT) -> str | None:
    """NFC-normalise, collapse whitespace, strip and cap; empty becomes None."""
    if value is None:
        return None
    # NUL goes before normalising: removing it afterwards can join characters NFC would
    # have composed, and a second pass would then change the text (found by hypothesis).
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():  # ASCII is already NFC; isascii() is O(1), normalize is not
        value = unicodedata.normalize("NFC", value)
    text = _collapse_ws(value)
    return text[:limit].rstrip() if text else None


def _collapse_ws(text: str) -> str:
    """Every run of whitespace (str.isspace, the set regex `\\s` matches) as one space, stripped."""
    if "  " not in text and _only_spaces(text):  # then strip() is all that is left to do
        return text.strip()
    return " ".join(text.split())


# ASCII whitespace other than " ": \t \n \v \f \r and the separators \x1c-\x1f.
_ASCII_WS_NOT_SPACE = bytes(b for b in range(128) if chr(b).isspace() and b != 32)


def _only_spaces(text: str) -> bool:
    """Whether " " is the only whitespace character in `text`."""
    if text.isascii():  # deleting bytes is ~3x faster than isprintable() on long text
        raw = text.encode("ascii")
        return len(raw.translate(None, _ASCII_WS_NOT_SPACE)) == len(raw)
    return text.isprintable()  # every whitespace character but " " is unprintable


def clean_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Clean a list of author or organisation names, dropping empties, keeping order."""
    names = names[:MAX_AUTHORS]
    if _plain_names(names):  # clean_text would only strip (and cap) each name
        stripped = [name.strip() for name in names]
        return tuple([s if len(s) <= MAX_NAME else s[:MAX_NAME].rstrip() for s in stripped if s])
    out = []
    for name in names:
        cleaned = clean_text(name, limit=MAX_NAME)
        if cleaned:
            out.append(cleaned)
    return tuple(out)


def _plain_names(names: list[str] | tuple[str, ...]) -> bool:
    """Whether every name is NFC, printable (so NUL-free) and without a double space."""
    # One check of the joined names instead of one per name: "|" is printable, and NFC
    # never composes it with a neighbour nor produces it (checked over every code point),
    # so the joined text is NFC exactly when each name is.
    joined = "|".join(names)
    return (
        joined.isprintable()
        and "  " not in joined
        and (joined.isascii() or unicodedata.is_normalized("NFC", joined))
    )


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
    if value and not value[0].isspace():
        # Then only the first 10 characters can match, and pages repeat a few days: memoise.
        return _iso_day_memo(value[:10])
    return _iso_day(value or "")


def _iso_day(value: str) -> date | None:
    match = _ISO_DAY.match(value)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


_iso_day_memo = functools.lru_cache(maxsize=1024)(_iso_day)


_DOI = re.compile(r"10\.\d{4,9}/\S+")


def normalize_doi(text: str | None) -> str | None:
    """Return the bare lower-case DOI found in `text` (URL or bare form), or None."""
    if not text:
        return None
    match = _DOI.search(text)
    return match.group(0).rstrip(".,;)").lower() if match else None


_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")
_HYPHEN_GAP = re.compile(r"-\s")  # a cheap necessary condition for a _HYPHEN_BREAK match
_KEY_WORD = re.compile(r"[^\W_]+")
# Byte table for ASCII titles: letters and digits lower-cased, every other byte a space.
_ASCII_KEY = bytes(
    ord(ch.lower()) if ch.isascii() and ch.isalnum() else 32 for ch in map(chr, range(256))
)


def title_key(title: str | None) -> str | None:
    """The normalised form two titles of one paper share.

    NFKC, TeX rendered, case folded, hyphenation at line breaks joined, and every run of
    punctuation, underscores or whitespace folded to one space. `Kosmos-2` and `KOSMOS-2.5`
    stay apart (`kosmos 2` vs `kosmos 2 5`).
    """
    if not title:
        return None
    text = render_tex(title)
    ascii_only = text.isascii()  # ASCII is NFKC already and folds like lower()
    if not ascii_only:
        text = unicodedata.normalize("NFKC", text)
    if "-" in text and _HYPHEN_GAP.search(text):
        text = _HYPHEN_BREAK.sub(r"\1\2", text)
    if ascii_only:  # bytes.translate is several times faster than the str route
        words = text.encode("ascii").translate(_ASCII_KEY).split()
        return b" ".join(words).decode("ascii") or None
    # The words are the runs of \w other than "_" (no \w character is whitespace).
    return " ".join(_KEY_WORD.findall(text.casefold())) or None


def content_hash(*parts: object) -> str:
    """A stable sha256 hex digest of the parts' reprs, for change detection."""
    # Hashing the joined reprs once gives the digest that one update per part and per
    # separator gave (the bytes are the same), with one encode instead of one per part.
    text = "\x1f".join(map(repr, parts)) + "\x1f" if parts else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sniff_json(body: bytes, opener: bytes) -> object | None:
    """`body` decoded as JSON when it is JSON whose first character is `opener` (`b"["` or
    `b"{"`), else None; for the format sniffers of saved API responses. Never raises: a
    sniffer says yes or no to any bytes."""
    start = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    if start.lstrip()[:1] != opener:
        return None
    try:
        value: object = orjson.loads(start)
    except orjson.JSONDecodeError:
        return None
    return value
