"""Scholar Feed (scholarfeed.org): author pages as text or HTML, and the public papers API.

Three inputs, one record shape (formats.md §4):

* `parse_text` — the author page as saved/copied text: cards of three lines,
  `{category}{date}[Code]` / `{title}{authors}[ et al.][ · {org-slugs}]` / abstract.
* `parse_html` — the same page served as HTML. Its markup has never been captured, so the
  parser keys on text structure (a `/paper/<arXiv id>` link, the byline's `·` and `et al.`),
  never on class names.
* `parse_api` — `GET /api/v1/public/authors/{id}/papers` JSON.

The hard part of the text form is that the title runs straight into the first author's name
(`…Meta-OptimizersDamai Dai, …`); `split_byline` documents how that is undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers import SourceSpec
from parsers.abstracts import decode_text, split_lines
from parsers.errors import ParseError
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

__all__ = [
    "SOURCE",
    "Byline",
    "looks_like_api",
    "looks_like_text",
    "parse_api",
    "parse_html",
    "parse_text",
    "split_byline",
]

SOURCE = SourceSpec(
    name="scholarfeed",
    default_base_url="https://api.scholarfeed.org",
    allowed_hosts=frozenset({"api.scholarfeed.org", "www.scholarfeed.org", "scholarfeed.org"}),
    max_rate=1.0,
    concurrency=1,
    description=(
        "Scholar Feed author pages (text/HTML) and its public API; anonymous use is capped at "
        "100 calls a day and bots get 403, hence one request a second, one connection."
    ),
)
_NAME = SOURCE.name

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Card line 1. The category is required: it is what tells a card header from a bare date
# line such as the `Mar 13` of other sites' chrome. Whitespace between the parts is optional
# because the text rendering glues them while HTML text joins them with spaces.
_HEADER = re.compile(
    r"(?P<cat>[A-Za-z][A-Za-z.-]{0,19}?)\s*(?P<mon>" + "|".join(_MONTHS) + r")\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?\s*(?P<code>Code)?"
)
_ET_AL = re.compile(r"\s+et\s+al\.?$")
_ORG_SLUGS = re.compile(r"[^\s,·]+(?:, [^\s,·]+)*")
_ORG_SEPARATOR = " · "
_PINYIN = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|iao|ian|uai|uan|ai|ei|ao|ou|an|en|er|ia|ie|iu"
    r"|in|ua|uo|ui|un|ue|a|o|e|i|u|v|ü)",
    re.IGNORECASE,
)
# Name prefixes that legitimately carry an inner capital (`McDonald`, `LeCun`, `DeWitt`).
_CAMEL_PREFIXES = frozenset({"Mc", "Mac", "De", "Di", "Da", "Du", "Le", "La", "Van", "Von", "Fitz"})
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "der",
        "den",
        "da",
        "di",
        "del",
        "della",
        "du",
        "dos",
        "das",
        "le",
        "la",
        "bin",
        "binti",
        "al",
        "el",
        "ter",
        "ten",
        "y",
        "e",
    }
)
_MAX_NAME_WORDS = 5
_INITIAL = re.compile(r"(?:[A-Z]\.)+|[A-Z]\.?(?:-[A-Z]\.?)?")  # J  J.  J.R.  J.-P.
_SHOWN_WHEN_CUT = 3  # the page shows the first three authors, then "et al."
_PAPER_LINKS = 'a[href*="/paper/"]'


# --------------------------------------------------------------------------- bylines


@dataclass(frozen=True, slots=True)
class Byline:
    """Card line 2 split into its parts (title is None for an HTML byline)."""

    title: str | None
    authors: tuple[str, ...]
    complete: bool
    organizations: tuple[str, ...]


_AUTHOR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def author_papers_url(base: str, author_id: str, *, page: int = 1, limit: int = 50) -> str:
    """`/api/v1/public/authors/{id}/papers?page=…&limit=…` (the API caps limit at 50).

    Raises ValueError for an id that is not a plain token, so user text never becomes a path.
    """
    if not _AUTHOR_ID.fullmatch(author_id):
        raise ValueError(f"not a Scholar Feed author id: {author_id[:40]!r}")
    if not 1 <= limit <= 50 or page < 1:
        raise ValueError("page must be >= 1 and limit between 1 and 50")
    return f"{base.rstrip('/')}/api/v1/public/authors/{author_id}/papers?page={page}&limit={limit}"


def split_byline(line: str, *, has_title: bool = True) -> Byline | None:
    """Split `{title}{authors}[ et al.][ · {orgs}]`; None when no reading fits.

    Org slugs are what follows the last ` · `. A trailing ` et al.` means the list was cut
    (complete=False). The rest is split on `, ` from the right: the last pieces are whole
    author names; the first remaining piece ends with title+first author glued together,
    split by `_split_glued`. The widest author tail that leaves a splittable head wins, so
    commas inside titles stay in the title. With has_title=False (HTML, where the title has
    its own element) the whole line must be a list of names.
    """
    rest, organizations = _split_orgs(line.strip())
    match = _ET_AL.search(rest)
    complete = match is None
    pieces = (rest[: match.start()] if match else rest).split(", ")
    if not has_title:
        if not all(_is_name(piece) for piece in pieces):
            return None
        return Byline(None, tuple(pieces), complete, organizations)
    found = _split_title_and_authors(pieces, cut=not complete)
    if found is None:
        return None
    title, authors = found
    return Byline(title, authors, complete, organizations)


def _split_orgs(line: str) -> tuple[str, tuple[str, ...]]:
    """Take the ` · slug, slug` suffix off `line` when what follows the dot is slug-shaped."""
    head, sep, tail = line.rpartition(_ORG_SEPARATOR)
    if sep and _ORG_SLUGS.fullmatch(tail.strip()):
        return head.rstrip(), tuple(tail.strip().split(", "))
    return line, ()


def _split_title_and_authors(pieces: list[str], *, cut: bool) -> tuple[str, tuple[str, ...]] | None:
    """Choose how many trailing comma pieces are authors; see `split_byline`."""
    widest = len(pieces) - 1
    if cut:  # a cut list shows exactly three names: prefer that reading
        widest = min(widest, _SHOWN_WHEN_CUT - 1)
    for tail_size in range(widest, -1, -1):
        head_pieces, tail = pieces[: len(pieces) - tail_size], pieces[len(pieces) - tail_size :]
        if not all(_is_name(piece) for piece in tail):
            continue
        glued = _split_glued(", ".join(head_pieces))
        if glued is not None:
            title, first = glued
            return title, (first, *tail)
    return None


def _split_glued(text: str) -> tuple[str, str] | None:
    """Split `…TitleEndFirst Last` into (title, name) at the leftmost plausible boundary.

    A boundary is an upper-case letter glued to the character before it (no space) such that
    everything from it to the end is a plausible name (`_is_name`). Leftmost wins so an inner
    capital of the name stays in the name (`RecognitionJiaCheng Deng` → `JiaCheng Deng`);
    camel-case title words are rejected by `_is_name` (`LongNetJiayu` → `Net` is not a name
    part), as are acronyms (`NPQingxiu` → `PQingxiu` has no lower case after `P`).
    """
    for i in range(1, len(text)):
        if text[i].isupper() and not text[i - 1].isspace() and _is_name(text[i:]):
            title = text[:i].strip()
            if title:
                return title, text[i:]
    return None


def _is_name(text: str) -> bool:
    """Whether `text` reads as one person's name: 1–5 words, each a capitalised name word,
    an initial or a particle (`van`), starting with no particle and not all initials."""
    words = text.split(" ")
    if not 1 <= len(words) <= _MAX_NAME_WORDS or words[0] in _PARTICLES:
        return False
    kinds = [
        _INITIAL.fullmatch(w) is not None or w in _PARTICLES or _is_name_word(w) for w in words
    ]
    return all(kinds) and any(_is_name_word(w) for w in words)


def _is_name_word(word: str) -> bool:
    """One capitalised name word: `Li`, `Wei-Nan`, `O'Neil`, `JiaCheng`, `McDonald`."""
    parts = re.split(r"[-'’]", word)
    return all(_is_name_part(part, single_ok=len(parts) > 1) for part in parts)


def _is_name_part(part: str, *, single_ok: bool) -> bool:
    """A capitalised word whose inner capitals (if any) join pinyin syllables or a known prefix."""
    if not part:  # a stray hyphen or apostrophe leaves an empty part (found by fuzzing)
        return False
    if len(part) == 1:
        return single_ok and part.isupper()
    humps = re.findall(r"[^\W\d_][^\W\d_A-Z]*", part)
    if "".join(humps) != part or not all(_is_hump(hump) for hump in humps):
        return False
    if len(humps) == 1:
        return True
    return humps[0] in _CAMEL_PREFIXES or all(_PINYIN.fullmatch(hump) for hump in humps)


def _is_hump(hump: str) -> bool:
    """`Xxx`: an upper-case letter then at least one lower-case letter (any script)."""
    return len(hump) >= 2 and hump[0].isupper() and hump[1:].islower() and hump.isalpha()


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True, slots=True)
class _Header:
    category: str | None
    published: date | None
    has_code: bool


def _parse_header(text: str, fetched_at: datetime) -> _Header | None:
    """Parse card line 1 (`CLDec 20, 2022Code`); None when `text` is not a header."""
    match = _HEADER.fullmatch(text.strip())
    if match is None:
        return None
    published = _card_date(match, fetched_at.date())
    return _Header(_category(match.group("cat")), published, match.group("code") is not None)


def _category(shown: str) -> str:
    """Map the shown category to an arXiv one.

    The page drops the `cs.` prefix, so a bare two-letter upper-case code (`CL`, `LG`) is
    stored as `cs.CL`; anything else (`stat.ML`, `eess.AS`, an unknown form) is kept as shown.
    """
    return f"cs.{shown}" if re.fullmatch(r"[A-Z]{2}", shown) else shown


def _card_date(match: re.Match[str], as_of: date) -> date | None:
    """The card's date; a date without a year is in the capture's year, else the year before.

    `as_of` is the capture date: a yearless `Dec 30` read on Jan 2 belongs to last year.
    None when no such calendar day exists (e.g. `Feb 30`).
    """
    month, day = _MONTHS.index(match.group("mon")) + 1, int(match.group("day"))
    if match.group("year"):
        return _safe_date(int(match.group("year")), month, day)
    for year in (as_of.year, as_of.year - 1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate <= as_of:
            return candidate
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --------------------------------------------------------------------------- text


def looks_like_text(body: bytes) -> bool:
    """Cheap sniff for the author-page text rendering; never raises.

    True when one of the first five non-blank lines is a card header (`CLDec 20, 2022Code`)
    followed by a line that is not a header.
    """
    lines = [ln.strip() for ln in body[:8_000].decode("utf-8", errors="replace").split("\n")]
    lines = [ln for ln in lines if ln][:6]
    return any(
        _HEADER.fullmatch(line) is not None and _HEADER.fullmatch(nxt) is None
        for line, nxt in zip(lines[:5], lines[1:], strict=False)
    )


def parse_text(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse the author-page text rendering into one Entry per card (kind "author").

    `fetched_at` supplies the year of yearless dates (see `_card_date`). Lines before the
    first card header (page chrome) are skipped with a warning. Raises ParseError: "truncated"
    (empty body, or the last card lacks its byline or abstract), "garbage" (not text, or no
    card header at all), "missing_field" (a byline that cannot be split).
    """
    lines = split_lines(decode_text(body, source=_NAME, url=url))
    starts = [i for i, line in enumerate(lines) if _HEADER.fullmatch(line)]
    if not starts:
        raise ParseError(
            "no Scholar Feed card header", source=_NAME, url=url, kind="garbage", excerpt=lines[0]
        )
    warnings = [f"skipped {starts[0]} line(s) before the first card"] if starts[0] else []
    entries = []
    for position, (start, end) in enumerate(zip(starts, [*starts[1:], len(lines)], strict=True)):
        last = end == len(lines)
        entry, warning = _text_card(lines[start:end], position, url, fetched_at, last=last)
        entries.append(entry)
        warnings.extend([warning] if warning else [])
    return ListingPage(
        url=url, source=_NAME, kind="author", entries=tuple(entries), warnings=tuple(warnings)
    )


def _text_card(
    card: list[str], position: int, url: str, fetched_at: datetime, *, last: bool
) -> tuple[Entry, str | None]:
    """Build one Entry from a card's lines (header, byline, abstract lines).

    A card short of its abstract is a truncated page when it is the last one, and a warning
    otherwise (the next header proves the page went on).
    """
    if len(card) < 2 or (last and len(card) < 3):
        kind = "truncated" if last else "missing_field"
        raise ParseError(
            f"card {position} is incomplete",
            source=_NAME,
            url=url,
            kind=kind,
            excerpt=" / ".join(card),
        )
    header = _parse_header(card[0], fetched_at)
    byline = split_byline(card[1])
    if header is None or byline is None:
        raise ParseError(
            f"card {position}: cannot split title and authors",
            source=_NAME,
            url=url,
            kind="missing_field",
            excerpt=card[1],
        )
    abstract = " ".join(card[2:]) or None
    warning = None if abstract else f"card {position} has no abstract"
    return _entry(position, header, byline, abstract=abstract), warning


def _entry(
    position: int,
    header: _Header | None,
    byline: Byline | None,
    *,
    abstract: str | None,
    title: str | None = None,
    arxiv: tuple[str | None, int | None] = (None, None),
    code_url: str | None = None,
) -> Entry:
    """Assemble an Entry from a parsed card (text or HTML)."""
    category = header.category if header else None
    return Entry(
        source=_NAME,
        position=position,
        title=clean_text(title or (byline.title if byline else None), limit=MAX_TITLE),
        abstract=clean_text(abstract, limit=MAX_ABSTRACT),
        authors=clean_names(byline.authors) if byline else (),
        authors_complete=byline.complete if byline else False,
        arxiv_id=arxiv[0],
        arxiv_version=arxiv[1],
        published_date=header.published if header else None,
        primary_category=category,
        categories=(category,) if category else (),
        organizations=clean_names(byline.organizations) if byline else (),
        code_url=code_url,
        has_code=(header.has_code or code_url is not None) if header else None,
    )


# --------------------------------------------------------------------------- HTML


def looks_like_html(body: bytes) -> bool:
    """Cheap sniff for a saved Scholar Feed author page: HTML naming Scholar Feed that links
    papers by `/paper/<arXiv id>`. Never raises."""
    head = body[:512_000].lower()
    return (
        b"<html" in head[:4096]
        and (b"scholar feed" in head or b"scholarfeed" in head)
        and re.search(rb"/paper/\d{4}\.\d{4,5}", head) is not None
    )


def parse_html(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse an author page served as HTML: one Entry per paper linked as `/paper/<arXiv id>`.

    A card is the largest element around a paper link that links no other paper. Inside it
    the header, byline and abstract are found by their text (see `_html_card`), so invented
    class names never matter. `rel="next"` links become next_urls. Raises ParseError:
    "truncated" for an empty body, "garbage" for non-HTML, "layout_changed" when the page has
    no paper links.
    """
    tree = _html_tree(body, url)
    cards = _html_cards(tree)
    if not cards:
        raise ParseError(
            "no /paper/<arXiv id> links",
            source=_NAME,
            url=url,
            kind="layout_changed",
            selector=_PAPER_LINKS,
        )
    entries = [_html_card(card, link, i, fetched_at) for i, (card, link) in enumerate(cards)]
    nexts = tuple(urljoin(url, a.attributes.get("href") or "") for a in tree.css('a[rel="next"]'))
    warnings = tuple(f"card {e.position} has no byline" for e in entries if not e.authors)
    return ListingPage(
        url=url,
        source=_NAME,
        kind="author",
        entries=tuple(entries),
        next_urls=tuple(n for n in nexts if n != url),
        warnings=warnings,
    )


def _html_tree(body: bytes, url: str) -> LexborHTMLParser:
    """Parse `body` as HTML after checking it is text that contains markup."""
    text = decode_text(body, source=_NAME, url=url)
    if "<" not in text or ">" not in text:
        raise ParseError("not HTML", source=_NAME, url=url, kind="garbage", excerpt=text[:80])
    return LexborHTMLParser(text)


def _paper_id(link: LexborNode) -> str | None:
    return split_arxiv_id(link.attributes.get("href"))[0]


def _html_cards(tree: LexborHTMLParser) -> list[tuple[LexborNode, LexborNode]]:
    """(card, title link) per distinct paper id, in page order."""
    seen: set[str] = set()
    cards = []
    for link in tree.css(_PAPER_LINKS):
        paper = _paper_id(link)
        if paper is None or paper in seen:
            continue
        seen.add(paper)
        cards.append((_card_of(link, paper), link))
    return cards


def _card_of(link: LexborNode, paper: str) -> LexborNode:
    """Climb from `link` while the parent links to no paper other than `paper`."""
    node = link
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html", "main"):
        ids = {_paper_id(a) for a in parent.css(_PAPER_LINKS)} - {None}
        if ids != {paper}:
            break
        node, parent = parent, parent.parent
    return node


def _node_text(node: LexborNode) -> str:
    return clean_text(node.text(separator=" ", strip=True)) or ""


def _html_card(card: LexborNode, link: LexborNode, position: int, fetched_at: datetime) -> Entry:
    """Read one card by text shape, never by class name.

    Title: the paper link's text (else the card's first heading). Header and byline: the
    first elements, outside the title, whose whole text parses as such. Abstract: the
    longest text of an element unrelated (neither ancestor nor descendant) to those three.
    """
    title_node = link if _node_text(link) else card.css_first("h1, h2, h3, h4")
    title = _node_text(title_node) if title_node is not None else None
    taken = [title_node] if title_node is not None else []
    header_node = _first_node(card, taken, lambda t: _parse_header(t, fetched_at) is not None)
    taken += [header_node] if header_node is not None else []
    byline_node = _first_node(card, taken, lambda t: _html_byline(t) is not None)
    taken += [byline_node] if byline_node is not None else []
    abstracts = [_node_text(n) for n in card.css("*") if not _related_to_any(n, taken)]
    code = card.css_first('a[href*="github.com"]')
    return _entry(
        position,
        _parse_header(_node_text(header_node), fetched_at) if header_node is not None else None,
        _html_byline(_node_text(byline_node)) if byline_node is not None else None,
        abstract=max(abstracts, key=len, default=None) or None,
        title=title,
        arxiv=split_arxiv_id(link.attributes.get("href")),
        code_url=code.attributes.get("href") if code is not None else None,
    )


def _html_byline(text: str) -> Byline | None:
    """A byline in HTML: names only, and recognisably a byline (not a lone word like "Code").

    It must show `et al.`, org slugs, several names, or a multi-word name.
    """
    byline = split_byline(text, has_title=False)
    if byline is None or not byline.authors:
        return None
    distinctive = not byline.complete or byline.organizations or len(byline.authors) > 1
    return byline if distinctive or " " in byline.authors[0] else None


def _first_node(
    card: LexborNode, taken: list[LexborNode], accept: Callable[[str], bool]
) -> LexborNode | None:
    """The first element in `card` unrelated to `taken` whose text `accept`s."""
    for node in card.css("*"):
        text = _node_text(node)
        if text and not _related_to_any(node, taken) and accept(text):
            return node
    return None


def _lineage(node: LexborNode) -> set[int]:
    """mem_ids of `node` and all its ancestors."""
    ids = set()
    current: LexborNode | None = node
    while current is not None:
        ids.add(current.mem_id)
        current = current.parent
    return ids


def _related_to_any(node: LexborNode, others: list[LexborNode]) -> bool:
    """Whether `node` is, contains, or lies inside any of `others`."""
    mine = _lineage(node)
    return any(other.mem_id in mine or node.mem_id in _lineage(other) for other in others)


# --------------------------------------------------------------------------- API


def looks_like_api(body: bytes) -> bool:
    """A saved author-papers API response: a JSON object with a `papers` list of objects
    (what `parse_api` reads)."""
    data = sniff_json(body, b"{")
    if not isinstance(data, dict) or not isinstance(data.get("papers"), list):
        return False
    return all(isinstance(p, dict) for p in data["papers"][:5])


def parse_api(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse `GET /api/v1/public/authors/{id}/papers` JSON (kind "author").

    `n_authors` present on a paper means its `authors` list was truncated. `institution_tags`
    become organizations; `llm_summary` is NOT used as the abstract (it is a generated
    summary, and abstracts are matching keys). next_urls holds the next page (page+1, same
    limit) when this page was full and `total` says more remain, or the `next_cursor` URL
    when the total is unknown. Raises ParseError "truncated" (empty), "garbage" (not JSON,
    or no `papers` list).
    """
    del fetched_at
    data = _json_object(body, url)
    papers = data.get("papers")
    if not isinstance(papers, list) or not all(isinstance(p, dict) for p in papers):
        raise ParseError(
            "no papers list",
            source=_NAME,
            url=url,
            kind="garbage",
            excerpt=body[:80].decode("utf-8", "replace"),
        )
    entries = tuple(_api_entry(paper, i) for i, paper in enumerate(papers))
    raw_total = data.get("total")
    total = raw_total if isinstance(raw_total, int) and not isinstance(raw_total, bool) else None
    return ListingPage(
        url=url,
        source=_NAME,
        kind="author",
        entries=entries,
        total=total,
        next_urls=_api_next(url, data, len(papers), total),
    )


def _json_object(body: bytes, url: str) -> dict[str, object]:
    """Decode `body` as a JSON object."""
    if not body.strip():
        raise ParseError("empty body", source=_NAME, url=url, kind="truncated")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ParseError(
            "not JSON",
            source=_NAME,
            url=url,
            kind="garbage",
            excerpt=body[:80].decode("utf-8", "replace"),
        ) from None
    if not isinstance(data, dict):
        raise ParseError(
            "JSON is not an object",
            source=_NAME,
            url=url,
            kind="garbage",
            excerpt=body[:80].decode("utf-8", "replace"),
        )
    return data


def _api_entry(paper: dict[str, object], position: int) -> Entry:
    """One API paper record as an Entry; fields of the wrong type are treated as absent."""
    authors = paper.get("authors")
    names = [_author_name(a) for a in authors] if isinstance(authors, list) else []
    primary = _str(paper, "primary_category")
    categories = _strings(paper.get("categories"))
    github = _str(paper, "github_url")
    arxiv_id, version = split_arxiv_id(_str(paper, "arxiv_id"))
    return Entry(
        source=_NAME,
        position=position,
        title=clean_text(_str(paper, "title"), limit=MAX_TITLE),
        abstract=clean_text(_str(paper, "abstract"), limit=MAX_ABSTRACT),
        authors=clean_names([n for n in names if n]),
        authors_complete="n_authors" not in paper,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        published_date=iso_date(_str(paper, "published_date")),
        primary_category=primary or (categories[0] if categories else None),
        categories=categories or ((primary,) if primary else ()),
        organizations=clean_names(list(_strings(paper.get("institution_tags")))),
        code_url=github,
        has_code=_bool(paper.get("has_code")),
    )


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _author_name(author: object) -> str | None:
    """Authors come as names; tolerate `{"name": …}` objects too."""
    if isinstance(author, dict):
        author = author.get("name")
    return author if isinstance(author, str) else None


def _str(obj: dict[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str) and v.strip())


def _api_next(url: str, data: dict[str, object], count: int, total: int | None) -> tuple[str, ...]:
    """The next page's URL, or () on the last page.

    Pages are taken as 1-based (the API's default page is 1): page p of size n covers items
    up to p*n.
    """
    page, limit = data.get("page"), data.get("limit")
    if not isinstance(page, int) or not isinstance(limit, int) or limit <= 0 or count < limit:
        return _cursor_next(url, data) if total is None else ()
    if total is not None:
        more = page * limit < total
        return (_with_query(url, page=str(page + 1), limit=str(limit)),) if more else ()
    return _cursor_next(url, data)


def _cursor_next(url: str, data: dict[str, object]) -> tuple[str, ...]:
    cursor = data.get("next_cursor")
    return (_with_query(url, cursor=cursor),) if isinstance(cursor, str) and cursor else ()


def _with_query(url: str, **params: str) -> str:
    """`url` with the given query parameters set (others kept, in order)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
