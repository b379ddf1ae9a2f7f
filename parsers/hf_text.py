"""Text renderings of Hugging Face Papers listing pages (saved or copied page text).

Layout (samples/README.md): a few lines of page chrome (`new`, `Get trending papers in your
email inbox!`, `Subscribe`, `byAK and the research community`, a date such as `Mar 13`), then
title and abstract lines alternating, separated by blank lines. A saved page can glue chrome
onto the first title (`SubscribeExploring …`). Search pages and lists look alike; this module
reports kind "search" because that is the only capture of the form so far.
"""

from __future__ import annotations

import re
from datetime import datetime

from parsers.abstracts import decode_text, split_lines
from parsers.errors import ParseError
from parsers.records import MAX_ABSTRACT, MAX_TITLE, Entry, ListingPage, clean_text

__all__ = ["SOURCE_NAME", "looks_like_text", "parse_text"]

SOURCE_NAME = "hf-papers"  # same source as the HTML/API parsers in parsers.hf_papers

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# Chrome that may open the page, alone on a line or glued to what follows. The look-aheads
# keep a real title that merely starts with such a word (`Newton…`, `Mar 13 Models`) intact:
# chrome is only taken when it ends the line or runs straight into a capital.
_CHROME = (
    re.compile(r"new(?=$|[A-Z])"),
    re.compile(r"Get trending papers in your email inbox!\s*"),
    re.compile(r"Subscribe(?=$|[A-Z]|byAK)"),
    re.compile(r"byAK and the research community\s*"),
    re.compile(_MONTH + r" \d{1,2}(?:, \d{4})?(?=$|[A-Z])"),
)
_MARKERS = ("Get trending papers in your email inbox!", "byAK and the research community")
_TITLE_MAX = 300  # titles are one line of at most a few hundred characters
_SNIFF_BYTES = 16_000


def looks_like_text(body: bytes) -> bool:
    """Cheap sniff for an HF Papers text rendering; never raises.

    True when the head carries HF's chrome, or (chrome cut away) opens with blank-line
    separated title/abstract pairs.
    """
    head = body[:_SNIFF_BYTES].decode("utf-8", errors="replace")
    if "<" in head[:200] or head.lstrip().startswith(("{", "[")):
        return False  # HTML or JSON of the same site: other parsers
    if any(marker in head for marker in _MARKERS):
        return True
    return _opens_with_pairs(head)


def _opens_with_pairs(head: str) -> bool:
    """Title line, blank line, abstract line, blank line, title line … at the start of `head`."""
    blocks = [b.strip() for b in head.replace("\r\n", "\n").split("\n\n") if b.strip()][:4]
    if len(blocks) < 4 or any("\n" in block for block in blocks):
        return False
    return all(_is_abstract(b) == (i % 2 == 1) for i, b in enumerate(blocks))


def _is_abstract(line: str) -> bool:
    """An abstract line: long, or a sentence-ending paragraph; a title is short and unpunctuated."""
    return len(line) > _TITLE_MAX or (line.endswith(".") and ". " in line)


def parse_text(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse the text rendering into one Entry per title (source "hf-papers", kind "search").

    Titles keep their TeX (`PanGu-$α$`). A title without an abstract (or an abstract without
    a title) mid-page becomes a partial entry plus a warning. Raises ParseError: "truncated"
    (empty body, or the page ends on a title whose abstract is missing), "layout_changed"
    (chrome but no papers), "garbage" (not text, or lines that do not alternate title and
    abstract — e.g. another site's text).
    """
    del fetched_at  # the page's own date line ("Mar 13") has no year; nothing is dated
    lines, chrome_seen = _strip_chrome(split_lines(decode_text(body, source=SOURCE_NAME, url=url)))
    if not lines:
        kind = "layout_changed" if chrome_seen else "garbage"
        raise ParseError("only page chrome, no papers", source=SOURCE_NAME, url=url, kind=kind)
    pairs, warnings = _pair(lines)
    _check_pairs(pairs, lines, url)
    entries = tuple(_entry(i, title, abstract) for i, (title, abstract) in enumerate(pairs))
    return ListingPage(
        url=url, source=SOURCE_NAME, kind="search", entries=entries, warnings=tuple(warnings)
    )


def _check_pairs(pairs: list[tuple[str | None, str | None]], lines: list[str], url: str) -> None:
    """Reject pairings that show the text is not this format, or was cut off.

    A stray unpaired line is tolerated (warned about); when over a quarter of the entries
    are unpaired the text is not alternating titles and abstracts at all.
    """
    unpaired = sum(1 for title, abstract in pairs if not (title and abstract))
    if unpaired * 4 > len(pairs):
        raise ParseError(
            "lines do not alternate title and abstract",
            source=SOURCE_NAME, url=url, kind="garbage", excerpt=lines[0],
        )  # fmt: skip
    if pairs[-1][1] is None and not _is_abstract(lines[-1]):
        raise ParseError(
            "page ends on a title without abstract",
            source=SOURCE_NAME, url=url, kind="truncated", excerpt=lines[-1],
        )  # fmt: skip


def _strip_chrome(lines: list[str]) -> tuple[list[str], bool]:
    """Drop leading chrome lines and chrome glued onto the first title; say if any was seen."""
    lines = list(lines)
    seen = False
    while lines:
        for pattern in _CHROME:
            match = pattern.match(lines[0])
            if match:
                break
        else:
            return lines, seen
        seen = True
        rest = lines[0][match.end() :].strip()
        lines[0:1] = [rest] if rest else []
    return lines, seen


def _pair(lines: list[str]) -> tuple[list[tuple[str | None, str | None]], list[str]]:
    """Group lines into (title, abstract); unmatched halves are kept with a warning."""
    pairs: list[tuple[str | None, str | None]] = []
    warnings: list[str] = []
    i = 0
    while i < len(lines):
        if _is_abstract(lines[i]):
            warnings.append(f"entry {len(pairs)}: abstract without a title")
            pairs.append((None, lines[i]))
            i += 1
        elif i + 1 < len(lines) and _is_abstract(lines[i + 1]):
            pairs.append((lines[i], lines[i + 1]))
            i += 2
        else:
            warnings.append(f"entry {len(pairs)}: title without an abstract")
            pairs.append((lines[i], None))
            i += 1
    return pairs, warnings


def _entry(position: int, title: str | None, abstract: str | None) -> Entry:
    return Entry(
        source=SOURCE_NAME,
        position=position,
        title=clean_text(title, limit=MAX_TITLE),
        abstract=clean_text(abstract, limit=MAX_ABSTRACT),
    )
