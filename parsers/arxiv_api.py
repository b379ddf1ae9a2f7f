"""arXiv API (export.arxiv.org/api/query): Atom result feeds. Formats: docs formats.md §3.

Contract: `parse` is pure (bytes in, `ListingPage` out; no clock, network, logging or global
state) and raises only `ParseError`. It reads both Atom generations the API has served: the
classic one (namespaces declared on each element) and the current feedgen one (namespaces on
`<feed>`, different element order). Elements are looked up by qualified name, never by position.

The feed is parsed with `xml.etree.ElementTree`, not selectolax (HTML parsers mis-nest the
self-closing `<category/>`; formats.md §0). defusedxml is not installed, so the parser refuses
any document carrying a DTD (`<!DOCTYPE` / `<!ENTITY`) before expat sees it: the API never
sends one, and without a DTD there are no custom entities to expand (no billion-laughs, no
external entities).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - DTDs are refused before parsing, see _load_feed
from datetime import datetime
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from parsers import SourceSpec
from parsers.errors import ParseError
from parsers.records import (
    MAX_ABSTRACT,
    MAX_TITLE,
    Entry,
    ListingPage,
    clean_names,
    clean_text,
    iso_date,
    normalize_doi,
    split_arxiv_id,
)

SOURCE = SourceSpec(
    name="arxiv-api",
    default_base_url="https://export.arxiv.org",
    allowed_hosts=frozenset({"export.arxiv.org", "arxiv.org"}),
    # Terms of Use: one request every 3 seconds, one connection at a time (formats.md §3.1).
    max_rate=1 / 3,
    concurrency=1,
    description="arXiv API: Atom search results (search_query, sorted, paged by start).",
)

_NAME = SOURCE.name
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

MAX_PER_CALL = 2_000  # the API's cap on max_results
MAX_PER_QUERY = 30_000  # the API's cap on start + max_results
SORT_BY = frozenset({"relevance", "lastUpdatedDate", "submittedDate"})
SORT_ORDER = frozenset({"ascending", "descending"})


# --------------------------------------------------------------------------- URL builder


def query_url(
    base: str,
    query: str,
    *,
    start: int = 0,
    max_results: int = 100,
    sort_by: str = "submittedDate",
    sort_order: str = "descending",
) -> str:
    """`<base>/api/query?search_query=…&start=…&max_results=…&sortBy=…&sortOrder=…`.

    `query` is arXiv query syntax (`cat:cs.CL AND ti:"graph"`), form-encoded here (`:` kept
    readable). ValueError on a blank query, start < 0, max_results outside 1..2000,
    start + max_results > 30000 (the API's limits), or an unknown sortBy / sortOrder.
    """
    if not query.strip():
        raise ValueError("search query must not be blank")
    _check_window(start, max_results)
    if sort_by not in SORT_BY:
        raise ValueError(f"sort_by must be one of {sorted(SORT_BY)}, got {sort_by!r}")
    if sort_order not in SORT_ORDER:
        raise ValueError(f"sort_order must be one of {sorted(SORT_ORDER)}, got {sort_order!r}")
    params = [
        ("search_query", query.strip()),
        ("start", str(start)),
        ("max_results", str(max_results)),
        ("sortBy", sort_by),
        ("sortOrder", sort_order),
    ]
    return f"{base.rstrip('/')}/api/query?{_encode(params)}"


def _check_window(start: int, max_results: int) -> None:
    """ValueError unless the page lies inside what the API will serve."""
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if not 1 <= max_results <= MAX_PER_CALL:
        raise ValueError(
            f"max_results must be 1..{MAX_PER_CALL} (the arXiv API cap), got {max_results}"
        )
    if start + max_results > MAX_PER_QUERY:
        raise ValueError(
            f"start + max_results must be <= {MAX_PER_QUERY} (the arXiv API serves no more "
            f"results per query; narrow it, e.g. by submittedDate), got {start + max_results}"
        )


def _encode(params: list[tuple[str, str]]) -> str:
    return urlencode(params, safe=":")


# --------------------------------------------------------------------------- sniffing

_FEED_START = re.compile(rb"<feed[\s>]")
_SNIFF_BYTES = 4_096


def looks_like_atom(body: bytes) -> bool:
    """Cheap sniff: does `body` start like an arXiv API Atom feed (either generation)?

    Looks at the first 4 KiB only: an Atom `<feed>` plus an arXiv API link or the arXiv
    namespace. A truncated feed still sniffs true; parsing decides the rest.
    """
    head = body[:_SNIFF_BYTES]
    return (
        _FEED_START.search(head) is not None
        and b"http://www.w3.org/2005/Atom" in head
        and (b"arxiv.org/api" in head or b"arxiv.org/schemas/atom" in head)
    )


# --------------------------------------------------------------------------- parsing


class _Paging(NamedTuple):
    total: int | None
    start: int
    per_page: int | None


def parse(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse one arXiv API Atom response into a `ListingPage` of kind "query".

    Entries keep feed order. Each carries arxiv_id + arxiv_version (from `<id>`), title and
    summary (whitespace collapsed, TeX raw), authors in order, published_date (date part of
    `<published>`, i.e. v1), primary_category, categories (primary first, de-duplicated), doi,
    comments and journal_ref. `organizations` is the de-duplicated union of all authors'
    `arxiv:affiliation`s in author order (Entry has no per-author slot). `<updated>` (the
    latest version's time) is not kept: Entry has no field for it; the version number is.
    A repeated arXiv id keeps its first occurrence (with a warning).

    `total` is `opensearch:totalResults`; `next_urls` holds the next page (`start` +
    `itemsPerPage`, other parameters of `url` kept) while the page had entries and the next
    start is below min(total, 30000). `fetched_at` is unused: the feed dates itself.

    Raises ParseError with kind "garbage" (not XML / not an Atom feed / has a DTD),
    "truncated" (XML cut off; or no entries although `start` < total, which arXiv does
    transiently), "missing_field" (an entry without `<id>`), "api_error" (the API's error
    entry; the message carries its summary). Zero results (total 0) is an empty page.
    """
    root = _load_feed(body, url)
    nodes = root.findall(f"{_ATOM}entry")
    _raise_api_error(nodes, url)
    paging = _paging(root, url)
    entries, warnings = _entries(nodes, url)
    if not entries and paging.total is not None and paging.start < paging.total:
        raise ParseError(
            f"empty page inside the result range (start {paging.start}, total {paging.total});"
            " retry later",
            source=_NAME,
            url=url,
            kind="truncated",
        )
    if paging.total is None:
        warnings += ("feed has no opensearch:totalResults; paging stops here",)
    return ListingPage(
        url=url,
        source=_NAME,
        kind="query",
        entries=entries,
        next_urls=_next_urls(url, paging, bool(entries)),
        total=paging.total,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- XML loading

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_EXPAT_NO_ELEMENTS = 3  # "no element found": input ended inside an element
_EXPAT_UNCLOSED_TOKEN = 5  # "unclosed token": input ended inside a tag or reference
_EXPAT_PARTIAL_CHAR = 6


def _load_feed(body: bytes, url: str) -> ET.Element:
    """The `<feed>` root element; ParseError "garbage" or "truncated" otherwise."""
    text = _decode(body, url)
    if _DTD.search(text):
        # No defusedxml here: refuse DTDs outright, so no entity can ever be expanded.
        raise _garbage("DOCTYPE/ENTITY declaration refused (DTDs are never processed)", url, text)
    try:
        # str input: expat ignores the declared encoding, the text is already decoded.
        root = ET.fromstring(text)  # noqa: S314 - DTD-free input checked just above
    except ET.ParseError as exc:
        raise _xml_error(exc, text, url) from None
    if root.tag != f"{_ATOM}feed":
        raise _garbage(f"root element is {root.tag[:80]!r}, not an Atom feed", url, text)
    return root


def _decode(body: bytes, url: str) -> str:
    """Strict UTF-8 text (the API serves UTF-8) without BOM; a char cut at the end is dropped
    so a truncated body reports as truncated, not garbage."""
    if not body.strip():
        raise _garbage("empty body", url, "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            raise _garbage(f"not UTF-8 ({exc.reason} at byte {exc.start})", url, "") from None
        text = body[: exc.start].decode("utf-8")
    if "\x00" in text:
        raise _garbage("NUL byte in document (not UTF-8 XML)", url, "")
    return text.removeprefix("\ufeff")


def _xml_error(exc: ET.ParseError, text: str, url: str) -> ParseError:
    """Malformed XML: "truncated" when an Atom feed breaks off at its very end, else garbage."""
    line, _column = exc.position
    ends_early = exc.code in (_EXPAT_NO_ELEMENTS, _EXPAT_UNCLOSED_TOKEN, _EXPAT_PARTIAL_CHAR)
    at_end = line >= text.rstrip().count("\n") + 1
    if ends_early and at_end and looks_like_atom(text.encode("utf-8")):
        return ParseError(
            f"feed ends before it is complete ({exc})",
            source=_NAME,
            url=url,
            kind="truncated",
            excerpt=text[-120:],
        )
    return _garbage(f"not well-formed XML ({exc})", url, text)


def _garbage(message: str, url: str, text: str) -> ParseError:
    return ParseError(message, source=_NAME, url=url, kind="garbage", excerpt=text[:120])


# --------------------------------------------------------------------------- feed level


def _raise_api_error(nodes: list[ET.Element], url: str) -> None:
    """The API reports bad input as HTTP 200 with one entry whose id is under /api/errors."""
    for node in nodes:
        if "/api/errors" in (_text(node, "id") or ""):
            summary = _text(node, "summary") or _text(node, "title") or "no message"
            raise ParseError(
                f"arXiv API error: {clean_text(summary, limit=300)}",
                source=_NAME,
                url=url,
                kind="api_error",
                excerpt=_text(node, "id"),
            )


def _paging(root: ET.Element, url: str) -> _Paging:
    """totalResults, startIndex and itemsPerPage; start and page size fall back to `url`."""
    params = dict(parse_qsl(_split(url).query))
    start = _int(_text(root, "startIndex", _OPENSEARCH))
    per_page = _int(_text(root, "itemsPerPage", _OPENSEARCH))
    return _Paging(
        total=_int(_text(root, "totalResults", _OPENSEARCH)),
        start=start if start is not None else _int(params.get("start")) or 0,
        per_page=per_page if per_page is not None else _int(params.get("max_results")),
    )


def _next_urls(url: str, paging: _Paging, had_entries: bool) -> tuple[str, ...]:
    """The next page's URL, or () at the end of the results (or of the 30000 window)."""
    if not had_entries or paging.total is None or not paging.per_page:
        return ()
    next_start = paging.start + paging.per_page
    if next_start >= min(paging.total, MAX_PER_QUERY):
        return ()
    parts = _split(url)
    if not parts.netloc:
        return ()  # an imported file or a malformed URL: nothing to page through
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    updates = {"start": str(next_start)}
    size = _int(dict(pairs).get("max_results"))
    if size is not None and next_start + size > MAX_PER_QUERY:
        # Shrink the last page so the URL stays inside what the API serves.
        updates["max_results"] = str(MAX_PER_QUERY - next_start)
    return (urlunsplit(parts._replace(query=_encode(_replace_params(pairs, updates)))),)


def _replace_params(pairs: list[tuple[str, str]], updates: dict[str, str]) -> list[tuple[str, str]]:
    """`pairs` with the `updates` keys set in place (first occurrence) or appended."""
    out: list[tuple[str, str]] = []
    done: set[str] = set()
    for key, value in pairs:
        if key in updates:
            if key not in done:
                out.append((key, updates[key]))
                done.add(key)
            continue
        out.append((key, value))
    return out + [(k, v) for k, v in updates.items() if k not in done]


# --------------------------------------------------------------------------- entries


def _entries(nodes: list[ET.Element], url: str) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Entries in feed order, one per arXiv id (the first keeps its rank)."""
    entries: list[Entry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        entry, raw_id = _entry(node, index, len(entries), url)
        if entry.arxiv_id is None:
            warnings.append(f"entry {index}: id {raw_id[:80]!r} is not an arXiv id")
        elif entry.arxiv_id in seen:
            warnings.append(f"entry {index}: duplicate of {entry.arxiv_id}, dropped")
            continue
        else:
            seen.add(entry.arxiv_id)
        entries.append(entry)
    return tuple(entries), tuple(warnings)


def _entry(node: ET.Element, index: int, position: int, url: str) -> tuple[Entry, str]:
    """One `<entry>` as (Entry, raw id text); ParseError "missing_field" without `<id>`."""
    raw_id = clean_text(_text(node, "id"), limit=200)
    if raw_id is None:
        raise ParseError(
            f"entry {index} has no <id>",
            source=_NAME,
            url=url,
            kind="missing_field",
            selector=f"entry[{index}]/id",
        )
    arxiv_id, version = split_arxiv_id(raw_id)
    primary = _term(node.find(f"{_ARXIV}primary_category"))
    entry = Entry(
        source=_NAME,
        position=position,
        title=clean_text(_text(node, "title"), limit=MAX_TITLE),
        abstract=clean_text(_text(node, "summary"), limit=MAX_ABSTRACT),
        authors=clean_names([_text(a, "name") or "" for a in node.findall(f"{_ATOM}author")]),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=_doi(node),
        published_date=iso_date(_text(node, "published")),
        primary_category=primary,
        categories=_categories(node, primary),
        organizations=_affiliations(node),
        comments=clean_text(_text(node, "comment", _ARXIV)),
        journal_ref=clean_text(_text(node, "journal_ref", _ARXIV)),
    )
    return entry, raw_id


def _categories(node: ET.Element, primary: str | None) -> tuple[str, ...]:
    """Primary category first, then every `category@term` in feed order, without repeats."""
    terms = [primary] + [_term(c) for c in node.findall(f"{_ATOM}category")]
    return tuple(dict.fromkeys(t for t in terms if t))


def _affiliations(node: ET.Element) -> tuple[str, ...]:
    """All authors' affiliations, in author order, each name once."""
    names = [
        aff.text or ""
        for author in node.findall(f"{_ATOM}author")
        for aff in author.findall(f"{_ARXIV}affiliation")
    ]
    return tuple(dict.fromkeys(clean_names(names)))


_DOI_HOSTS = ("doi.org/", "dx.doi.org/")


def _doi(node: ET.Element) -> str | None:
    """`arxiv:doi`, else the href of a link to doi.org (both generations carry such a link)."""
    doi = normalize_doi(_text(node, "doi", _ARXIV))
    if doi:
        return doi
    for link in node.findall(f"{_ATOM}link"):
        href = link.get("href") or ""
        if any(host in href for host in _DOI_HOSTS):
            return normalize_doi(href)
    return None


# --------------------------------------------------------------------------- small helpers


def _text(node: ET.Element, name: str, ns: str = _ATOM) -> str | None:
    """Full text of the first child `ns+name` (nested markup flattened), or None."""
    child = node.find(f"{ns}{name}")
    return "".join(child.itertext()) if child is not None else None


def _term(node: ET.Element | None) -> str | None:
    return clean_text(node.get("term"), limit=100) if node is not None else None


_INT = re.compile(r"\s*(\d{1,12})\s*")


def _int(value: str | None) -> int | None:
    """A non-negative integer written as plain digits (bounded, so no huge-int parsing)."""
    match = _INT.fullmatch(value or "")
    return int(match.group(1)) if match else None


def _split(url: str) -> SplitResult:
    """`urlsplit`, but a malformed URL (bad IPv6 host) reads as empty, never raises."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", "", "", "")
