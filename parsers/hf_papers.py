"""Hugging Face Papers (huggingface.co/papers): day, week, month, trending and search pages,
plus the `/api/daily_papers` JSON API. Formats: docs formats.md §1.

Contract: `parse` and `parse_api` are pure (bytes in, `ListingPage` out; no clock, network,
logging or global state) and raise only `ParseError` (or its subclass `LayoutChanged`).

HTML pages carry the list twice: as JSON in the `data-props` of the Svelte island
`div[data-target="DailyPapers"]` (complete: abstracts, authors, dates) and as server-rendered
cards (title, id, upvotes only). The JSON is primary; the cards are a fallback that keeps the
pipeline alive through a props rename, flagged in `ListingPage.warnings`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
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
    iso_date,
    sniff_json,
    split_arxiv_id,
)

SOURCE = SourceSpec(
    name="hf-papers",
    default_base_url="https://huggingface.co",
    allowed_hosts=frozenset({"huggingface.co"}),
    max_rate=2.0,
    concurrency=2,
    description="Hugging Face Daily Papers: community-curated arXiv papers by day, week and month.",
)

_NAME = SOURCE.name
_ISLAND = 'div[data-target="DailyPapers"]'
_ISLAND_MARKER = 'data-target="DailyPapers"'
_CARD_LINK = 'h3 > a[href^="/papers/"]'
# 2026 compact cards put the count in the upvote <label>; 2024 cards in a shadow-alternate box.
_UPVOTE_SELECTORS = ("label div.leading-none", "div.shadow-alternate div.leading-none")
_LIST_KEYS = ("searchResults", "dailyPapers")
_PERIODS = {
    "day": "day",
    "daily": "day",
    "week": "week",
    "weekly": "week",
    "month": "month",
    "monthly": "month",
}
_API_DEFAULT_LIMIT = 50  # server default reported by one client (formats.md §1.6)

JSONObj = dict[str, Any]


# --------------------------------------------------------------------------- URL builders


_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _root(base: str) -> str:
    return base.rstrip("/")


def check_week(week: str) -> str:
    """Return `week` if it is an existing ISO week `YYYY-Www`, else raise ValueError."""
    match = _WEEK.fullmatch(week)
    if not match:
        raise ValueError(f"week must look like 2026-W19, got {week!r}")
    try:
        date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValueError(f"{week!r} is not an ISO week (weeks run 01..52 or 53)") from None
    return week


def check_month(month: str) -> str:
    """Return `month` if it is `YYYY-MM` with a month 01..12, else raise ValueError."""
    match = _MONTH.fullmatch(month)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValueError(f"month must look like 2026-05 (months 01..12), got {month!r}")
    return month


def day_url(base: str, d: date) -> str:
    """`<base>/papers/date/YYYY-MM-DD` (HF snaps non-papers days back to the previous one)."""
    return f"{_root(base)}/papers/date/{d:%Y-%m-%d}"


def week_url(base: str, week: str) -> str:
    """`<base>/papers/week/YYYY-Www`; ValueError on a malformed or non-existent week."""
    return f"{_root(base)}/papers/week/{check_week(week)}"


def month_url(base: str, month: str) -> str:
    """`<base>/papers/month/YYYY-MM`; ValueError on a malformed month."""
    return f"{_root(base)}/papers/month/{check_month(month)}"


def trending_url(base: str) -> str:
    """`<base>/papers/trending`."""
    return f"{_root(base)}/papers/trending"


def search_url(base: str, q: str) -> str:
    """`<base>/papers?q=<terms>` with the terms form-quoted; ValueError on blank terms."""
    if not q.strip():
        raise ValueError("search terms must not be blank")
    return f"{_root(base)}/papers?{urlencode({'q': q.strip()})}"


def api_url(
    base: str,
    *,
    date: date | str | None = None,
    week: str | None = None,
    month: str | None = None,
    p: int = 0,
    limit: int = 50,
) -> str:
    """`<base>/api/daily_papers?...` for at most one period, page `p` (0-based) of `limit` (1..100).

    No period means the latest papers-day. ValueError on bad arguments.
    """
    period = _api_period(date, week, month)
    if p < 0 or not 1 <= limit <= 100:
        raise ValueError(f"need p >= 0 and 1 <= limit <= 100, got p={p} limit={limit}")
    return f"{_root(base)}/api/daily_papers?{urlencode([*period, ('p', p), ('limit', limit)])}"


def _api_period(
    day: date | str | None, week: str | None, month: str | None
) -> list[tuple[str, str]]:
    """The single period query parameter `api_url` was given (or none)."""
    given = [(k, v) for k, v in (("date", day), ("week", week), ("month", month)) if v is not None]
    if len(given) > 1:
        raise ValueError("give at most one of date, week, month")
    if not given:
        return []
    key, value = given[0]
    if key == "week":
        return [("week", check_week(str(value)))]
    if key == "month":
        return [("month", check_month(str(value)))]
    return [("date", _day_param(value))]


def _day_param(value: object) -> str:
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    text = str(value)
    if iso_date(text) is None or len(text) != 10:
        raise ValueError(f"date must look like 2026-05-08, got {text!r}")
    return text


# --------------------------------------------------------------------------- sniffing


_HF_TITLE = re.compile(rb"<title>[^<]*Hugging Face[^<]*</title>", re.IGNORECASE)


def looks_like_html(body: bytes) -> bool:
    """Cheap sniff: is this an HF papers HTML page (island, or paper links under an HF title)?"""
    if _ISLAND_MARKER.encode() in body:
        return True
    return b'href="/papers/' in body and _HF_TITLE.search(body[:65_536]) is not None


def looks_like_api(body: bytes) -> bool:
    """A saved `/api/daily_papers` response: a JSON array whose items carry a `paper` object
    (an empty array could be any API's, so it is not claimed)."""
    items = sniff_json(body, b"[")
    if not isinstance(items, list) or not items:
        return False
    return all(isinstance(i, dict) and isinstance(i.get("paper"), dict) for i in items[:5])


# --------------------------------------------------------------------------- HTML pages


def parse(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse an HF papers HTML page (day/week/month/trending/search) into a `ListingPage`.

    Entries come from the DailyPapers island JSON, else from the visible cards (with a
    warning). Raises ParseError: "garbage" (not an HF page), "truncated" (cut before the
    list), "missing_field" (an item without `paper.id` or title), LayoutChanged (HF page,
    no usable list). An island whose list is legitimately empty gives zero entries.
    `fetched_at` is unused: HF pages carry their own dates.
    """
    text, html = _decode_html(body, url)
    tree = LexborHTMLParser(html)
    island = tree.css_first(_ISLAND)
    props, problem = _island_props(island)
    if props is not None:
        return _page_from_props(props, tree, url)
    cards = _card_links(tree)
    if cards:
        warning = f"fell back to {len(cards)} visible cards (no abstracts or authors): {problem}"
        return _page_from_cards(cards, url, warning)
    raise _no_listing(text, tree, url, problem)


def _decode_html(body: bytes, url: str) -> tuple[str, str | bytes]:
    """UTF-8 text of the page (HF serves UTF-8) and the input for lexbor; empty is garbage."""
    if not body or body.isspace():  # what `not body.strip()` says, without copying the page
        raise ParseError("empty body", source=_NAME, url=url, kind="garbage")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
        return text, text
    stripped = text.lstrip("\ufeff")
    # Valid UTF-8: lexbor would encode `stripped` back to exactly these bytes (each BOM is
    # 3 bytes), so hand it the bytes and skip the encode.
    return stripped, body[3 * (len(text) - len(stripped)) :]


def _island_props(island: LexborNode | None) -> tuple[JSONObj | None, str]:
    """The island's props when they hold a paper list, else (None, why not)."""
    if island is None:
        return None, "no DailyPapers island"
    raw = island.attributes.get("data-props")
    if not raw:
        return None, "island has no data-props"
    try:
        props = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, f"data-props is not valid JSON: {exc.msg} at {exc.pos}"
    if not isinstance(props, dict):
        return None, "data-props is not a JSON object"
    if not any(isinstance(props.get(key), list) for key in _LIST_KEYS):
        return None, "data-props has no dailyPapers/searchResults list"
    return props, ""


def _page_from_props(props: JSONObj, tree: LexborHTMLParser, url: str) -> ListingPage:
    """The page built from island JSON; the cards only when the JSON list is empty."""
    items = _props_items(props)
    cards = [] if items else _card_links(tree)  # only now: a card search is ~10% of a parse
    if cards:
        # An empty list next to rendered cards means the JSON no longer carries the list.
        warning = f"DailyPapers island lists no papers but the page shows {len(cards)} cards"
        return _page_from_cards(cards, url, warning)
    page_date = iso_date(_str(props, "dateString"))
    kind = _props_kind(props, url)
    # A day's (week's, month's) papers were listed on its date; a search or trending page's
    # date is only the day it was shown, not when its papers were listed.
    listed = None if kind in ("search", "trending") else page_date
    entries, warnings = _entries_from_items(items, listed, url)
    return ListingPage(
        url=url,
        source=_NAME,
        kind=kind,
        entries=entries,
        listed_date=page_date,
        warnings=warnings,
    )


def _props_items(props: JSONObj) -> list[Any]:
    """`searchResults` if present (search pages may carry both lists), else `dailyPapers`."""
    for key in _LIST_KEYS:
        value = props.get(key)
        if isinstance(value, list):
            return value
    return []


def _props_kind(props: JSONObj, url: str) -> str:
    """search > trending > periodType (day/week/month, also daily/weekly/monthly) > URL."""
    if isinstance(props.get("searchResults"), list) or _query_terms(props.get("query")):
        return "search"
    if props.get("isTrending") is True:
        return "trending"
    period = _PERIODS.get(str(props.get("periodType", "")).lower())
    return period or _url_kind(url)


def _query_terms(query: object) -> str | None:
    """The search terms of the `query` prop: `""` on list pages, `{"q": ...}` on search pages."""
    if isinstance(query, dict):
        query = query.get("q")
    return clean_text(query) if isinstance(query, str) else None


def _url_kind(url: str) -> str:
    """The listing kind the URL asks for (used when the page itself does not say)."""
    parts = _split(url)
    if any(key == "q" and value.strip() for key, value in parse_qsl(parts.query)):
        return "search"
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] != ["papers"] or len(segments) < 2:
        return "day"  # /papers itself shows the latest papers-day
    kinds = {"trending": "trending", "date": "day", "week": "week", "month": "month"}
    return kinds.get(segments[1], "day")


def _split(url: str) -> SplitResult:
    """`urlsplit`, but a malformed URL (bad IPv6 host) reads as empty, never raises."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", "", "", "")


# --------------------------------------------------------------------------- items (JSON)


def _entries_from_items(
    items: list[Any], page_date: date | None, url: str
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Entries in page order, deduplicated by paper id (first occurrence keeps the rank)."""
    entries: list[Entry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        entry, key, note = _item_entry(item, index, len(entries), page_date, url)
        if note:
            warnings.append(note)
        if key in seen:
            warnings.append(f"item {index}: duplicate of paper {key}, dropped")
            continue
        seen.add(key)
        entries.append(entry)
    return tuple(entries), tuple(warnings)


def _item_entry(
    item: object, index: int, position: int, page_date: date | None, url: str
) -> tuple[Entry, str, str | None]:
    """One item as (Entry, dedupe key, warning or None); ParseError if id or title is missing."""
    if not isinstance(item, dict):
        raise _missing(f"item {index} is not an object", f"[{index}]", url)
    paper = _obj(item, "paper")
    raw_id = clean_text(_str(paper, "id"), limit=100)
    title = clean_text(_str(item, "title") or _str(paper, "title"), limit=MAX_TITLE)
    if raw_id is None:
        raise _missing(f"item {index} has no paper.id", f"[{index}].paper.id", url)
    if title is None:
        raise _missing(f"item {index} ({raw_id}) has no title", f"[{index}].title", url)
    arxiv_id, version = split_arxiv_id(raw_id)
    note = None if arxiv_id else f"item {index}: paper.id {raw_id!r} is not an arXiv id"
    entry = _item_record(item, paper, position, page_date, title, arxiv_id, version)
    return entry, arxiv_id or raw_id, note


def _item_record(
    item: JSONObj,
    paper: JSONObj,
    position: int,
    page_date: date | None,
    title: str,
    arxiv_id: str | None,
    version: int | None,
) -> Entry:
    """The Entry fields an item carries beyond its identity."""
    code_url = clean_text(_str(paper, "githubRepo"))
    return Entry(
        source=_NAME,
        position=position,
        title=title,
        abstract=clean_text(_str(item, "summary") or _str(paper, "summary"), limit=MAX_ABSTRACT),
        authors=_author_names(paper),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        published_date=iso_date(_str(paper, "publishedAt")),
        listed_date=iso_date(_str(paper, "submittedOnDailyAt")) or page_date,
        organizations=_org_names(paper, item),
        code_url=code_url,
        # A listed repo proves code exists; no repo on HF proves nothing, so None not False.
        has_code=True if code_url else None,
        upvotes=_int(paper.get("upvotes")),
        ai_keywords=clean_names([k for k in _list(paper, "ai_keywords") if isinstance(k, str)]),
    )


def _author_names(paper: JSONObj) -> tuple[str, ...]:
    """Author names in paper order; `hidden` authors are kept (they are real authors)."""
    authors = [a for a in _list(paper, "authors") if isinstance(a, dict)]
    return clean_names([name for a in authors if isinstance(name := a.get("name"), str)])


def _org_names(paper: JSONObj, item: JSONObj) -> tuple[str, ...]:
    """The paper's organisation (else the item's), by display name, else handle."""
    for holder in (paper, item):
        org = _obj(holder, "organization")
        name = _str(org, "fullname") or _str(org, "name")
        if name:
            return clean_names([name])
    return ()


def _missing(message: str, selector: str, url: str) -> ParseError:
    return ParseError(message, source=_NAME, url=url, kind="missing_field", selector=selector)


# --------------------------------------------------------------------------- cards (fallback)


def _card_links(tree: LexborHTMLParser) -> list[LexborNode]:
    """`article` cards that have a `/papers/<id>` title link."""
    return [card for card in tree.css("article") if _card_paper_id(card)]


def _card_paper_id(card: LexborNode) -> str | None:
    link = card.css_first(_CARD_LINK)
    href = link.attributes.get("href") if link is not None else None
    match = _PAPER_HREF.match(href or "")
    return match.group(1) if match else None


_PAPER_HREF = re.compile(r"/papers/([^/?#\s]+)/?(?:[?#]|$)")


def _page_from_cards(cards: list[LexborNode], url: str, warning: str) -> ListingPage:
    """Entries from visible cards: id, title and upvotes only; one per paper id."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for card in cards:
        paper_id = _card_paper_id(card) or ""
        if paper_id not in seen:
            seen.add(paper_id)
            entries.append(_card_entry(card, paper_id, len(entries)))
    return ListingPage(
        url=url, source=_NAME, kind=_url_kind(url), entries=tuple(entries), warnings=(warning,)
    )


def _card_entry(card: LexborNode, paper_id: str, position: int) -> Entry:
    link = card.css_first(_CARD_LINK)
    arxiv_id, version = split_arxiv_id(paper_id)
    return Entry(
        source=_NAME,
        position=position,
        # text() joins the highlight spans of search pages back into the plain title.
        title=clean_text(link.text() if link is not None else None, limit=MAX_TITLE),
        # Cards show no authors at all: never let a resolver read () as "no authors".
        authors_complete=False,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        upvotes=_card_upvotes(card),
    )


_COUNT = re.compile(r"(\d{1,9})|(\d{1,6}(?:\.\d{1,3})?)\s*[kK]")


def _card_upvotes(card: LexborNode) -> int | None:
    """The upvote count of either card layout ("42", "1.2k"); None when absent or "-"."""
    for selector in _UPVOTE_SELECTORS:
        node = card.css_first(selector)
        match = _COUNT.fullmatch(clean_text(node.text()) or "") if node is not None else None
        if match:
            plain, thousands = match.groups()
            return int(plain) if plain else round(float(thousands) * 1000)
    return None


# --------------------------------------------------------------------------- failure


def _no_listing(text: str, tree: LexborHTMLParser, url: str, problem: str) -> ParseError:
    """Why a page gave neither island JSON nor cards, as the right ParseError kind."""
    island_seen = _ISLAND_MARKER in text  # also true when a cut attribute dropped the tag
    if not island_seen and not _has_chrome(tree):
        hint = "; it looks like JSON, use parse_api" if text.lstrip()[:1] in ("[", "{") else ""
        return ParseError(
            f"not a Hugging Face papers page{hint}",
            source=_NAME,
            url=url,
            kind="garbage",
            excerpt=text[:120],
        )
    if not text.rstrip().lower().endswith("</html>"):
        return ParseError(
            f"page ends before the paper list ({problem})",
            source=_NAME,
            url=url,
            kind="truncated",
            selector=_ISLAND,
            excerpt=text[-120:],
        )
    what = "DailyPapers island unusable" if island_seen else "HF page without DailyPapers island"
    return LayoutChanged(
        f"{what} ({problem}) and no paper cards", source=_NAME, url=url, selector=_ISLAND
    )


def _has_chrome(tree: LexborHTMLParser) -> bool:
    """HF page furniture: the MainHeader island or a "Hugging Face" title."""
    if tree.css_first('[data-target="MainHeader"]') is not None:
        return True
    title = tree.css_first("title")
    return title is not None and "hugging face" in title.text().lower()


# --------------------------------------------------------------------------- JSON API


def parse_api(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse a `GET /api/daily_papers` response (a JSON array of daily-papers items).

    `next_urls` holds the next page (`p` + 1) when this one returned a full `limit` of items
    (p and limit read from `url`; limit defaults to 50). Raises ParseError like `parse`.
    """
    items = _api_items(body, url)
    params = dict(parse_qsl(_split(url).query))
    page_date = iso_date(params.get("date"))
    entries, warnings = _entries_from_items(items, page_date, url)
    limit = _int_param(params.get("limit"), _API_DEFAULT_LIMIT)
    return ListingPage(
        url=url,
        source=_NAME,
        kind=_api_kind(params),
        entries=entries,
        listed_date=page_date,
        next_urls=(_next_api_url(url),) if len(items) >= limit > 0 else (),
        warnings=warnings,
    )


def _api_items(body: bytes, url: str) -> list[Any]:
    """The decoded array; garbage/truncated ParseError, or LayoutChanged for another shape."""
    if not body.strip():
        raise ParseError("empty body", source=_NAME, url=url, kind="garbage")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad_json(body, url, exc) from None
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        message = f"API error: {clean_text(data['error'], limit=200)}"
        raise ParseError(message, source=_NAME, url=url, kind="garbage")
    raise LayoutChanged("API response is not a JSON array", source=_NAME, url=url)


def _bad_json(body: bytes, url: str, exc: orjson.JSONDecodeError) -> ParseError:
    """Invalid JSON: "truncated" when it starts like the array and fails at its very end."""
    stripped = body.strip()
    cut = stripped[:1] == b"[" and exc.pos >= len(stripped.decode("utf-8", "replace")) - 1
    excerpt = body[-120:] if cut else body[:120]
    return ParseError(
        f"invalid JSON: {exc.msg} at {exc.pos}",
        source=_NAME,
        url=url,
        kind="truncated" if cut else "garbage",
        excerpt=excerpt.decode("utf-8", "replace"),
    )


def _api_kind(params: dict[str, str]) -> str:
    """day/week/month from the period parameter; trending for `sort=trending` alone."""
    for key, kind in (("date", "day"), ("week", "week"), ("month", "month")):
        if params.get(key):
            return kind
    return "trending" if params.get("sort") == "trending" else "day"


def _next_api_url(url: str) -> str:
    """`url` with `p` incremented (added as p=1 when absent), other parameters kept."""
    parts = _split(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    page = _int_param(dict(pairs).get("p"), 0) + 1
    rest = [(k, v) for k, v in pairs if k != "p"]
    return urlunsplit(parts._replace(query=urlencode([*rest, ("p", str(page))])))


def _int_param(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else default


# --------------------------------------------------------------------------- JSON helpers


def _str(obj: JSONObj, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _obj(obj: JSONObj, key: str) -> JSONObj:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _list(obj: JSONObj, key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _int(value: object) -> int | None:
    """An integer count; integral floats accepted (the schema says number), bools not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
