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
_MARKERS = ("Get trending papers in your email inbox!", "byAK and the research community")
# Chrome that may open the page, alone on a line or glued to what follows. Until one of the
# page's own marker lines has been seen, the look-aheads keep a real title that merely starts
# with such a word (`Newton…`, `Mar 13 Models`) intact: chrome is only taken when it ends the
# line or runs straight into a capital. After a marker, what follows `Subscribe` or the date
# is the first title, whatever it starts with (`$π_0$: …`, `mPLUG-Owl`, `3D-LLM`).
_CHROME = (
    re.compile(r"new(?=$|[A-Z])"),
    re.compile(re.escape(_MARKERS[0]) + r"\s*"),
    re.compile(r"Subscribe(?=$|[A-Z]|byAK)"),
    re.compile(re.escape(_MARKERS[1]) + r"\s*"),
    re.compile(_MONTH + r" \d{1,2}(?:, \d{4})?(?=$|[A-Z])"),
)
_CHROME_AFTER_MARKER = (
    _CHROME[0],
    _CHROME[1],
    re.compile(r"Subscribe"),
    _CHROME[3],
    re.compile(_MONTH + r" \d{1,2}(?:, \d{4})?"),
)
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


def _prose(unit: str) -> bool:
    """Reads like an abstract rather than a title: longer than any title, or a sentence (a
    title hardly ever ends with a full stop; a one-sentence abstract does)."""
    return len(unit) > _TITLE_MAX or unit.endswith(".")


def parse_text(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse the text rendering into one Entry per title (source "hf-papers", kind "search").

    Titles keep their TeX (`PanGu-$α$`). A title without an abstract (or an abstract without
    a title) mid-page becomes a partial entry plus a warning. Raises ParseError: "truncated"
    (empty body, or the page ends on a title whose abstract is missing), "layout_changed"
    (chrome but no papers), "garbage" (not text, or lines that do not alternate title and
    abstract — e.g. another site's text).
    """
    del fetched_at  # the page's own date line ("Mar 13") has no year; nothing is dated
    units, chrome_seen = _units(decode_text(body, source=SOURCE_NAME, url=url))
    if not units:
        kind = "layout_changed" if chrome_seen else "garbage"
        raise ParseError("only page chrome, no papers", source=SOURCE_NAME, url=url, kind=kind)
    pairs, warnings = _pair(units)
    _check_pairs(pairs, units, url)
    entries = tuple(_entry(i, title, abstract) for i, (title, abstract) in enumerate(pairs))
    return ListingPage(
        url=url, source=SOURCE_NAME, kind="search", entries=entries, warnings=tuple(warnings)
    )


def _check_pairs(pairs: list[tuple[str | None, str | None]], units: list[str], url: str) -> None:
    """Reject pairings that show the text is not this format, or was cut off.

    A stray unpaired line is tolerated (warned about); when over a quarter of the entries
    are unpaired the text is not alternating titles and abstracts at all.
    """
    unpaired = sum(1 for title, abstract in pairs if not (title and abstract))
    # Titles pair with what follows them, so a page of titles only would pair title with
    # title: most abstracts must read like prose.
    plain = sum(1 for _, abstract in pairs if abstract is not None and not _prose(abstract))
    if (unpaired + plain) * 4 > len(pairs):
        raise ParseError(
            "lines do not alternate title and abstract",
            source=SOURCE_NAME, url=url, kind="garbage", excerpt=units[0],
        )  # fmt: skip
    if pairs[-1][1] is None and not _is_abstract(units[-1]):
        raise ParseError(
            "page ends on a title without abstract",
            source=SOURCE_NAME, url=url, kind="truncated", excerpt=units[-1],
        )  # fmt: skip


def _units(text: str) -> tuple[list[str], bool]:
    """The page's titles and abstracts in order, chrome stripped; and whether chrome was seen.

    Titles and abstracts are the blank-line separated blocks of the page (an abstract broken
    over lines is one block, joined with spaces). A capture without blank lines between them
    falls back to one unit per line."""
    blocks = [lines for chunk in re.split(r"\n\s*\n", text) if (lines := split_lines(chunk))]
    lines = [line for block in blocks for line in block]
    owner = [i for i, block in enumerate(blocks) for _ in block]
    kept, seen = _strip_chrome(lines)
    owner = owner[len(lines) - len(kept) :]
    if len(set(owner)) <= 1:  # no blank lines between entries: a line is a unit
        return kept, seen
    grouped: dict[int, list[str]] = {}
    for line, block in zip(kept, owner, strict=True):
        grouped.setdefault(block, []).append(line)
    return [unit for lines_ in grouped.values() for unit in _block_units(lines_)], seen


def _block_units(lines: list[str]) -> list[str]:
    """One block's units: a title line over its abstract (a capture with blank lines only
    between entries) is two; anything else, such as an abstract broken over lines, is one."""
    first, rest = lines[0], " ".join(lines[1:])
    if rest and not _prose(first) and _prose(rest):
        return [first, rest]
    return [" ".join(lines)]


def _strip_chrome(lines: list[str]) -> tuple[list[str], bool]:
    """Drop leading chrome lines and chrome glued onto the first title; say if any was seen."""
    lines = list(lines)
    seen = marker = False
    while lines:
        for pattern in _CHROME_AFTER_MARKER if marker else _CHROME:
            match = pattern.match(lines[0])
            if match:
                break
        else:
            return lines, seen
        seen = True
        marker = marker or match.group(0).strip() in _MARKERS
        rest = lines[0][match.end() :].strip()
        lines[0:1] = [rest] if rest else []
    return lines, seen


def _pair(units: list[str]) -> tuple[list[tuple[str | None, str | None]], list[str]]:
    """Group units into (title, abstract): they alternate, so a title takes the unit after it
    as its abstract (a short one-sentence abstract too). Only clear evidence breaks the
    rhythm: a unit longer than any title is an abstract without a title; a short unit that
    reads like a title, followed by a clear abstract, is the next title (the one before it
    lost its abstract). Unmatched halves are kept with a warning."""
    pairs: list[tuple[str | None, str | None]] = []
    warnings: list[str] = []
    i = 0
    while i < len(units):
        if len(units[i]) > _TITLE_MAX:
            warnings.append(f"entry {len(pairs)}: abstract without a title")
            pairs.append((None, units[i]))
            i += 1
        elif i + 1 < len(units) and not _next_title(units, i + 1):
            pairs.append((units[i], units[i + 1]))
            i += 2
        else:
            warnings.append(f"entry {len(pairs)}: title without an abstract")
            pairs.append((units[i], None))
            i += 1
    return pairs, warnings


def _next_title(units: list[str], j: int) -> bool:
    """Whether `units[j]`, after a title, is the next title rather than that title's abstract:
    it does not read like prose and the unit after it does."""
    return not _prose(units[j]) and j + 1 < len(units) and _prose(units[j + 1])


def _entry(position: int, title: str | None, abstract: str | None) -> Entry:
    return Entry(
        source=SOURCE_NAME,
        position=position,
        title=clean_text(title, limit=MAX_TITLE),
        abstract=clean_text(abstract, limit=MAX_ABSTRACT),
    )
