"""arXiv listing pages (arxiv.org/list/<category>/...): /new, /recent (= /pastweek), month,
year and current-month pages, in all three layouts of formats.md §2: the arxiv-browse layout
(since 2024-09-23), its mid-2024 variant (dated section headings) and the legacy Perl pages
(`span.list-identifier`, `Authors:` descriptor, `<small>[ total of … ]</small>` paging).

Contract: `parse` is pure (bytes in, `ListingPage` out; no clock, network, logging or global
state) and raises only `ParseError` (or its subclass `LayoutChanged`). The URL helpers are
pure string work and raise ValueError on bad arguments, so user text never becomes a path.

One entry is one `dt` (identifier, section marker, pdf/html links) plus the `dd` after it
(`div.meta`: title, authors, comments, journal-ref, subjects, and on /new the abstract). The
`dl`s hold the entries; the heading of a `dl` (its own `h3`, or in the legacy layout the `h3`
just before it) names the section (/new) or the announcement day (/recent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers import SourceSpec
from parsers.errors import LayoutChanged, ParseError
from parsers.records import (
    MAX_ABSTRACT,
    MAX_TITLE,
    Entry,
    ListingPage,
    clean_names,
    clean_text,
    split_arxiv_id,
)

SOURCE = SourceSpec(
    name="arxiv-list",
    default_base_url="https://arxiv.org",
    allowed_hosts=frozenset({"arxiv.org", "export.arxiv.org"}),
    # arXiv terms of use: at most one request every 3 seconds, one connection at a time.
    max_rate=1 / 3,
    concurrency=1,
    description="arXiv listing pages: /new (with abstracts), /recent, month and year lists.",
)

_NAME = SOURCE.name
_ID_LINK = 'a[title="Abstract"][href*="/abs/"]'
_HTML_LINK = 'a[href*="/html/"]'
_STRUCTURE = "div#dlpage, dl#articles, div.paging"
_ENTRY = "dl > dt"
SHOW_VALUES = (25, 50, 100, 250, 500, 1000, 2000)
# Page size arXiv uses when the URL gives none (formats.md §2.1); /new shows everything.
_DEFAULT_SHOW = {"new": 2000}
_FALLBACK_SHOW = 50

# A category (`cs.LG`, `cond-mat.stat-mech`) or archive (`math`, `astro-ph`, `q-fin`).
_CATEGORY_RE = r"[a-z]{1,15}(?:-[a-z]{1,15})?(?:\.[A-Za-z]{1,15}(?:-[A-Za-z]{1,15})?)?"
_CATEGORY = re.compile(_CATEGORY_RE)
_CODE_IN_PARENS = re.compile(rf"\(({_CATEGORY_RE})\)")


# --------------------------------------------------------------------------- URL helpers


_YEAR = re.compile(r"(\d{4})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_FIRST_YEAR = 1991  # arXiv opened in August 1991; the server answers 400 for earlier years
# A 4-digit segment is a year, so the legacy month form `2401` (January 2024) would silently
# ask for the year 2401; refusing far-future years catches that mistake without a clock.
_LAST_YEAR = 2099


def check_category(category: str) -> str:
    """Return `category` if it is shaped like an arXiv category or archive, else ValueError."""
    if not _CATEGORY.fullmatch(category):
        raise ValueError(
            f"category must look like cs.LG, math, astro-ph or astro-ph.GA, got {category!r}"
        )
    return category


def check_listing(listing: str) -> str:
    """The path segment for `listing`: new, recent (pastweek is an alias), current, YYYY-MM
    or YYYY (years 1991..2099, months 01..12). ValueError on anything else."""
    if listing in ("new", "recent", "current"):
        return listing
    if listing == "pastweek":
        return "recent"
    month = _MONTH.fullmatch(listing)
    year = _YEAR.fullmatch(listing)
    if month and _FIRST_YEAR <= int(month.group(1)) <= _LAST_YEAR:
        if 1 <= int(month.group(2)) <= 12:
            return listing
    if year and _FIRST_YEAR <= int(year.group(1)) <= _LAST_YEAR:
        return listing
    raise ValueError(
        "listing must be new, recent, pastweek, current, YYYY-MM or YYYY "
        f"(years {_FIRST_YEAR}..{_LAST_YEAR}; months as 2024-01, not 2401), got {listing!r}"
    )


def listing_url(
    base: str, category: str, listing: str, *, skip: int = 0, show: int | None = None
) -> str:
    """`<base>/list/<category>/<listing>[?skip=N&show=M]`.

    `show` must be one of SHOW_VALUES (arXiv answers 400 otherwise) and `skip` >= 0; the
    query is left off when both are at their defaults. ValueError on any bad argument.
    """
    segment = check_listing(listing)
    path = f"{base.rstrip('/')}/list/{check_category(category)}/{segment}"
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ValueError(f"skip must be an integer >= 0, got {skip!r}")
    if show is not None and (isinstance(show, bool) or show not in SHOW_VALUES):
        allowed = ", ".join(map(str, SHOW_VALUES))
        raise ValueError(f"show must be one of {allowed} (arXiv rejects others), got {show!r}")
    params = ([("skip", skip)] if skip or show is not None else []) + (
        [("show", show)] if show is not None else []
    )
    return f"{path}?{urlencode(params)}" if params else path


# --------------------------------------------------------------------------- sniffing


_SNIFF = re.compile(rb"""id\s*=\s*['"]?(?:dlpage|articles)['"\s>]""")
_SNIFF_WINDOW = 262_144


def looks_like_html(body: bytes) -> bool:
    """Cheap sniff: an arXiv listing page (a `dlpage` or `articles` id on a page naming arXiv)."""
    head = body[:_SNIFF_WINDOW]
    return _SNIFF.search(head) is not None and b"arxiv" in head.lower()


# --------------------------------------------------------------------------- page parsing


@dataclass(frozen=True, slots=True)
class _Block:
    """One `dl` of entries with what its heading says: section, day, entry count shown."""

    dl: LexborNode
    heading: str
    section: str | None
    listed_date: date | None
    shown: int | None


@dataclass(frozen=True, slots=True)
class _Paging:
    """What the paging blocks say: total, entries per page, and this page's 1-based range."""

    total: int | None
    per_page: int | None
    first: int | None
    last: int | None


def parse(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse an arXiv listing page (any of the three layouts) into a `ListingPage`.

    Entries keep page order (`position` 0-based on this page). `total` is the listing's
    "Total of N entries"; `next_urls` holds the next page (skip + show) while entries remain.
    A "No updates today." page gives zero entries. Raises ParseError: "garbage" (not an
    arXiv listing), "truncated" (cut inside the list), "missing_field" (an entry without an
    arXiv id), LayoutChanged (listing structure present but no entries found).
    `fetched_at` is unused: listing pages carry their own dates.
    """
    text = _decode(body, url)
    tree = LexborHTMLParser(text)
    cut = not text.rstrip().lower().endswith("</html>")
    if tree.css_first(_STRUCTURE) is None:
        raise _not_listing(text, cut, url)
    if cut and _unclosed_dl(text):
        raise _truncated("page ends inside the entry list", text, url)
    scope = tree.css_first("div#dlpage") or tree.root
    blocks = _blocks(scope) if scope is not None else []
    paging = _paging(tree)
    kind = _kind(tree, url)
    page_date = _page_date(scope, blocks)
    entries, warnings = _entries(blocks, page_date, url)
    if not entries:
        return _empty_page(text, paging, kind, page_date, cut, url)
    warnings += _count_check(entries, blocks, paging, text, cut, url)
    return ListingPage(
        url=url,
        source=_NAME,
        kind=kind,
        entries=entries,
        listed_date=page_date,
        next_urls=_next_urls(url, paging, kind),
        total=paging.total,
        warnings=tuple(warnings),
    )


def _decode(body: bytes, url: str) -> str:
    """UTF-8 text of the page (arXiv serves UTF-8); an empty body is garbage."""
    if not body.strip():
        raise ParseError("empty body", source=_NAME, url=url, kind="garbage")
    return body.decode("utf-8", errors="replace").lstrip("\ufeff")


_DL_OPEN = re.compile(r"<dl[\s>]", re.IGNORECASE)
_DL_CLOSE = re.compile(r"</dl\s*>", re.IGNORECASE)


def _unclosed_dl(text: str) -> bool:
    """More `<dl>` than `</dl>` tags in the raw text: the body stops inside a list."""
    return len(_DL_OPEN.findall(text)) > len(_DL_CLOSE.findall(text))


def _not_listing(text: str, cut: bool, url: str) -> ParseError:
    """No listing structure: truncated if it is the start of an arXiv page, else garbage."""
    if cut and "arxiv" in text[:_SNIFF_WINDOW].lower():
        return _truncated("page ends before the listing", text, url)
    return ParseError(
        "not an arXiv listing page",
        source=_NAME,
        url=url,
        kind="garbage",
        selector=_STRUCTURE,
        excerpt=text[:120],
    )


def _truncated(message: str, text: str, url: str) -> ParseError:
    return ParseError(
        message, source=_NAME, url=url, kind="truncated", selector=_ENTRY, excerpt=text[-120:]
    )


def _empty_page(
    text: str, paging: _Paging, kind: str, page_date: date | None, cut: bool, url: str
) -> ListingPage:
    """Zero entries: an empty page when arXiv says so, else truncated or LayoutChanged."""
    if _NO_UPDATES.search(text) or paging.total == 0:
        return ListingPage(
            url=url, source=_NAME, kind=kind, entries=(), listed_date=page_date, total=0
        )
    if cut:
        raise _truncated("page ends before the first entry", text, url)
    raise LayoutChanged(
        "arXiv listing structure present but no entries", source=_NAME, url=url, selector=_ENTRY
    )


_NO_UPDATES = re.compile(r"No updates today", re.IGNORECASE)


def _count_check(
    entries: tuple[Entry, ...],
    blocks: list[_Block],
    paging: _Paging,
    text: str,
    cut: bool,
    url: str,
) -> list[str]:
    """Compare the entries found with the count the page announces.

    Too few on a page without `</html>` is truncation; on a complete page only a warning
    (arXiv itself sometimes renders fewer than it counts, e.g. during replica lag).
    """
    expected = _expected_count(blocks, paging)
    if expected is None or len(entries) >= expected:
        return []
    if cut:
        raise _truncated(f"page announces {expected} entries but holds {len(entries)}", text, url)
    return [f"page announces {expected} entries but {len(entries)} were found"]


def _expected_count(blocks: list[_Block], paging: _Paging) -> int | None:
    """Entries this page should hold: the larger of the headings' and the paging's counts."""
    counts = [b.shown for b in blocks if b.shown is not None]
    from_headings = sum(counts) if counts else None
    from_paging = None
    if paging.first is not None and paging.last is not None and paging.last >= paging.first:
        from_paging = paging.last - paging.first + 1
    elif paging.total is not None and paging.first is None:
        from_paging = paging.total  # no page list: everything is on this page
    known = [n for n in (from_headings, from_paging) if n is not None]
    return max(known) if known else None


# --------------------------------------------------------------------------- blocks and headings


def _blocks(scope: LexborNode) -> list[_Block]:
    """Every `dl` holding `dt` entries, in page order, with its heading read."""
    blocks = []
    for dl in scope.css("dl"):
        if any(child.tag == "dt" for child in dl.iter()):
            heading = _heading(dl)
            blocks.append(
                _Block(
                    dl=dl,
                    heading=heading,
                    section=_heading_section(heading),
                    listed_date=_day_date(heading),
                    shown=_heading_count(heading),
                )
            )
    return blocks


def _heading(dl: LexborNode) -> str:
    """The dl's own `h3` (current layouts), else an `h3` right before a plain dl (legacy)."""
    for child in dl.iter():
        if child.tag == "h3":
            return clean_text(_text(child)) or ""
    if dl.attributes.get("id") == "articles":
        return ""  # current month pages: a bare dl#articles after the paging block
    prev = dl.prev
    while prev is not None and not prev.is_element_node:
        prev = prev.prev
    if prev is not None and prev.tag == "h3":
        return clean_text(_text(prev)) or ""
    return ""


_SECTIONS = (("New submissions", "new"), ("Cross", "cross-list"), ("Replace", "replacement"))


def _heading_section(heading: str) -> str | None:
    """new / cross-list / replacement from a /new section heading; None for day headings."""
    for prefix, section in _SECTIONS:
        if heading.startswith(prefix):
            return section
    return None


_SHOWING = re.compile(r"showing (?:first |last )?(\d{1,7}) of \d{1,9} entries", re.IGNORECASE)


def _heading_count(heading: str) -> int | None:
    """N of a "(showing [first|last] N of M entries)" heading."""
    match = _SHOWING.search(heading)
    return int(match.group(1)) if match else None


_DAY = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4}|\d{2})\b"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _day_date(text: str) -> date | None:
    """The date of "Friday, 26 April 2024", "Fri, 3 Mar 2023" or legacy "Fri, 27 Jan 23"."""
    match = _DAY.search(text)
    if not match:
        return None
    day, month_name, year_text = match.groups()
    month = _MONTHS.index(month_name[:3].lower()) + 1 if month_name[:3].lower() in _MONTHS else 0
    year = int(year_text)
    if len(year_text) == 2:  # legacy two-digit years: arXiv's own range is 1991..2090
        year += 1900 if year >= 91 else 2000
    try:
        return date(year, month, int(day))
    except ValueError:
        return None


_SHOWING_NEW = re.compile(r"Showing new listings for", re.IGNORECASE)


def _page_date(scope: LexborNode | None, blocks: list[_Block]) -> date | None:
    """The announcement day of the page: the "Showing new listings for …" heading, else the
    one date all dated block headings share (mid-2024 and legacy /new); None for several."""
    for h3 in scope.css("h3") if scope is not None else []:
        heading = _text(h3)
        if _SHOWING_NEW.search(heading):
            return _day_date(heading)
    days = {b.listed_date for b in blocks if b.listed_date is not None}
    return days.pop() if len(days) == 1 else None


# --------------------------------------------------------------------------- entries


def _entries(
    blocks: list[_Block], page_date: date | None, url: str
) -> tuple[tuple[Entry, ...], list[str]]:
    """All entries in page order; warnings for entries without a title."""
    entries: list[Entry] = []
    warnings: list[str] = []
    for block in blocks:
        for dt, dd in _pairs(block.dl):
            entry = _entry(dt, dd, len(entries), block, page_date, url)
            if entry.title is None:
                warnings.append(f"entry {entry.position} ({entry.arxiv_id}): no title")
            entries.append(entry)
    return tuple(entries), warnings


def _pairs(dl: LexborNode) -> list[tuple[LexborNode, LexborNode | None]]:
    """(dt, the dd right after it or None) for each dt child of `dl`."""
    children = list(dl.iter())
    pairs: list[tuple[LexborNode, LexborNode | None]] = []
    for index, child in enumerate(children):
        if child.tag == "dt":
            after = children[index + 1] if index + 1 < len(children) else None
            pairs.append((child, after if after is not None and after.tag == "dd" else None))
    return pairs


def _entry(
    dt: LexborNode,
    dd: LexborNode | None,
    position: int,
    block: _Block,
    page_date: date | None,
    url: str,
) -> Entry:
    """One dt/dd pair as an Entry; ParseError("missing_field") when the dt has no arXiv id."""
    arxiv_id = _dt_id(dt, url)
    authors, complete = _authors(_first(dd, "div.list-authors"))
    primary, categories = _subjects(dd)
    return Entry(
        source=_NAME,
        position=position,
        title=clean_text(_field(dd, "div.list-title"), limit=MAX_TITLE),
        abstract=clean_text(_field(dd, "p.mathjax"), limit=MAX_ABSTRACT),
        authors=authors,
        authors_complete=complete,
        arxiv_id=arxiv_id,
        arxiv_version=_html_version(dt, arxiv_id),
        listed_date=block.listed_date or page_date,
        primary_category=primary,
        categories=categories,
        section=block.section or _dt_section(dt),
        comments=clean_text(_field(dd, "div.list-comments")),
        journal_ref=clean_text(_field(dd, "div.list-journal-ref")),
    )


def _dt_id(dt: LexborNode, url: str) -> str:
    """The arXiv id of the dt's abstract link (`/abs/2404.16045`, `/abs/math/0510544`)."""
    link = dt.css_first(_ID_LINK)
    href = link.attributes.get("href") if link is not None else None
    arxiv_id, _ = split_arxiv_id(href)
    if arxiv_id is None:
        raise ParseError(
            "entry without an arXiv id",
            source=_NAME,
            url=url,
            kind="missing_field",
            selector=f"dt {_ID_LINK}",
            excerpt=clean_text(_text(dt)),
        )
    return arxiv_id


def _html_version(dt: LexborNode, arxiv_id: str) -> int | None:
    """The version in the html link (`https://arxiv.org/html/<id>v<N>`), the only place the
    listing shows one; None when there is no html rendering or it names another paper."""
    for link in dt.css(_HTML_LINK):
        link_id, version = split_arxiv_id(link.attributes.get("href"))
        if link_id == arxiv_id and version is not None:
            return version
    return None


_CROSS = re.compile(r"\(cross-list from [^)]*\)", re.IGNORECASE)
_REPLACED = re.compile(r"\(replaced\)", re.IGNORECASE)


def _dt_section(dt: LexborNode) -> str:
    """Section from the dt marker, for /recent and month pages that mix all three."""
    text = _text(dt)
    if _CROSS.search(text):
        return "cross-list"
    if _REPLACED.search(text):
        return "replacement"
    return "new"


_UNAVAILABLE = re.compile(r"\(?\s*author list is unavailable\s*\)?", re.IGNORECASE)
_AUTHOR_CAP = 100  # arXiv silently cuts longer author lists at 100 names


def _authors(node: LexborNode | None) -> tuple[tuple[str, ...], bool]:
    """(names in order, complete?) from `div.list-authors`: one `<a>` per author, but
    collaborations may be bare text, so text between links is split on commas too."""
    if node is None:
        return (), True
    names: list[str] = []
    for child in node.iter(include_text=True):
        if child.is_text_node:
            names.extend((child.text_content or "").split(","))
        elif child.is_element_node and not _is_descriptor(child):
            names.append(_text(child))
    cleaned = clean_names([n for n in names if not _UNAVAILABLE.fullmatch(n.strip())])
    if not cleaned and _UNAVAILABLE.search(_text(node)):
        return (), False  # arXiv could not show the list: unknown, not "no authors"
    return cleaned, len(cleaned) < _AUTHOR_CAP


def _subjects(dd: LexborNode | None) -> tuple[str | None, tuple[str, ...]]:
    """(primary code, all codes primary first) from `div.list-subjects`."""
    text = _field(dd, "div.list-subjects") or ""
    primary_node = _first(dd, "span.primary-subject")
    primary_codes = _CODE_IN_PARENS.findall(_text(primary_node)) if primary_node else []
    primary = primary_codes[-1] if primary_codes else None
    codes = ([primary] if primary else []) + _CODE_IN_PARENS.findall(text)
    return primary, tuple(dict.fromkeys(codes))


# --------------------------------------------------------------------------- text helpers


def _first(node: LexborNode | None, selector: str) -> LexborNode | None:
    return node.css_first(selector) if node is not None else None


def _field(dd: LexborNode | None, selector: str) -> str | None:
    """The text of `selector` inside `dd` without its `Title:`-style descriptor, or None."""
    node = _first(dd, selector)
    return _text(node) if node is not None else None


def _is_descriptor(node: LexborNode) -> bool:
    return node.tag == "span" and "descriptor" in (node.attributes.get("class") or "").split()


def _text(node: LexborNode | None) -> str:
    """Text of `node` and its descendants, skipping `span.descriptor` labels and comments;
    `<br>` counts as a space. Iterative, so hostile nesting depth cannot overflow the stack."""
    if node is None:
        return ""
    parts: list[str] = []
    stack = list(reversed(list(node.iter(include_text=True))))
    while stack:
        child = stack.pop()
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.tag == "br":
            parts.append(" ")
        elif child.is_element_node and not _is_descriptor(child):
            stack.extend(reversed(list(child.iter(include_text=True))))
    return "".join(parts)


# --------------------------------------------------------------------------- paging and kind


_TOTAL = re.compile(r"total of (\d[\d,]{0,11}) entries", re.IGNORECASE)
_PER_PAGE = re.compile(r"showing up to (\d{1,7}) entries per page", re.IGNORECASE)
_RANGE = re.compile(r"(\d{1,9})\s*-\s*(\d{1,9})")


def _paging(tree: LexborHTMLParser) -> _Paging:
    """Total, page size and current range from `div.paging`/`div.morefewer` (current) or the
    legacy `<small>[ total of … ]</small>` blocks; the current page is the `span` (`b`)."""
    total = per_page = first = last = None
    for node in tree.css("div.paging, div.morefewer, small"):
        text = _text(node)
        total_match = _TOTAL.search(text)
        per_match = _PER_PAGE.search(text)
        if total_match and total is None:
            total = int(total_match.group(1).replace(",", ""))
            first, last = _current_range(node)
        if per_match and per_page is None:
            per_page = int(per_match.group(1))
    return _Paging(total=total, per_page=per_page, first=first, last=last)


def _current_range(paging: LexborNode) -> tuple[int | None, int | None]:
    """The `start-end` range of the page being shown (`<span>` now, `<b>` in legacy)."""
    for node in paging.css("span, b"):
        match = _RANGE.fullmatch(clean_text(_text(node)) or "")
        if match:
            return int(match.group(1)), int(match.group(2))
    return None, None


def _split(url: str) -> SplitResult:
    """`urlsplit`, but a malformed URL (bad IPv6 host) reads as empty, never raises."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", "", "", "")


def _int_param(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


def _next_urls(url: str, paging: _Paging, kind: str) -> tuple[str, ...]:
    """The next page (skip + show) of this listing while skip + show < total, else ().

    skip comes from the page's own range (else the URL), show from "showing up to N entries
    per page" (else the URL, else arXiv's default); only http(s) `/list/` URLs get one.
    """
    parts = _split(url)
    if parts.scheme not in ("http", "https") or "/list/" not in parts.path or not paging.total:
        return ()
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(pairs)
    skip = paging.first - 1 if paging.first else _int_param(params.get("skip")) or 0
    show = paging.per_page or _int_param(params.get("show"))
    show = show or _DEFAULT_SHOW.get(kind, _FALLBACK_SHOW)
    if skip + show >= paging.total:
        return ()
    rest = [(k, v) for k, v in pairs if k not in ("skip", "show")]
    query = urlencode([*rest, ("skip", str(skip + show)), ("show", str(show))])
    return (urlunsplit(parts._replace(query=query, fragment="")),)


_MONTH_NAMES = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_H2_KINDS = (
    (re.compile(r"recent submissions", re.IGNORECASE), "recent"),
    (re.compile(rf"for (?:{_MONTH_NAMES}) \d{{4}}"), "month"),
    (re.compile(r"for \d{4}\s*$"), "year"),
)


def _kind(tree: LexborHTMLParser, url: str) -> str:
    """new / recent / month / year: from the page's `h2` when it says, else from the URL."""
    for h2 in tree.css("div#dlpage h2"):
        heading = clean_text(_text(h2)) or ""
        for pattern, kind in _H2_KINDS:
            if pattern.search(heading):
                return kind
    return _url_kind(url)


_URL_KINDS = {"new": "new", "recent": "recent", "pastweek": "recent", "current": "month"}


def _url_kind(url: str) -> str:
    """The listing type the URL's last `/list/<cat>/<listing>` segment names ("new" if none)."""
    segments = [s for s in _split(url).path.split("/") if s]
    last = segments[-1] if len(segments) >= 3 and segments[-3] == "list" else ""
    if last in _URL_KINDS:
        return _URL_KINDS[last]
    if _MONTH.fullmatch(last):
        return "month"
    return "year" if _YEAR.fullmatch(last) else "new"
