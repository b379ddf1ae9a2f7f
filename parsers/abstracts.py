"""Abstract-only exports: plain text, one abstract per line, no titles or ids.

Such a file can only be matched to known papers by its abstracts (the resolver's job), so
each line becomes an `Entry` with nothing but `abstract` set. `decode_text` here is also
the shared strict UTF-8 decoder of the other plain-text parsers (`scholarfeed`, `hf_text`).
"""

from __future__ import annotations

from datetime import datetime

from parsers import SourceSpec
from parsers.errors import ParseError
from parsers.records import MAX_ABSTRACT, Entry, ListingPage, clean_text

__all__ = ["SOURCE", "decode_text", "looks_like_text", "parse_text", "split_lines"]

SOURCE = SourceSpec(
    name="abstracts",
    default_base_url="",
    allowed_hosts=frozenset(),
    max_rate=0,
    concurrency=1,
    description="Abstract-only text exports (one abstract per line); imported, never fetched.",
)

# A sniffed line must be a paragraph, not a title or a byline: real abstracts run to hundreds
# of characters and several sentences (the shortest in the sample has 739 characters).
_SNIFF_MIN_CHARS = 200
# parse_text is looser: an export may hold a short abstract, but not a heading or junk.
_PARSE_MIN_CHARS = 60
_MIN_WORDS = 8
_SNIFF_BYTES = 64_000


def decode_text(body: bytes, *, source: str, url: str) -> str:
    """Decode a text capture: strict UTF-8 (BOM dropped), newlines normalised to `\\n`.

    Raises ParseError kind "truncated" for an empty or blank body and "garbage" for bytes
    that are not UTF-8 text (NUL bytes, invalid sequences, mostly control characters).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            "not UTF-8 text",
            source=source,
            url=url,
            kind="garbage",
            excerpt=repr(body[max(0, exc.start - 20) : exc.start + 20]),
        ) from None
    if not text.strip():
        raise ParseError("empty body", source=source, url=url, kind="truncated")
    if _is_binary(text):
        raise ParseError(
            "binary data, not text", source=source, url=url, kind="garbage", excerpt=text[:60]
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_binary(text: str) -> bool:
    """True when `text` holds NUL or more than 1% control characters other than whitespace."""
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f")
    return "\x00" in text or controls * 100 > len(text)


def split_lines(text: str) -> list[str]:
    """The non-blank lines of `text`, stripped, split on `\\n` only.

    `str.splitlines` would also split on U+2028, form feeds etc. inside an abstract.
    """
    return [line.strip() for line in text.split("\n") if line.strip()]


def looks_like_text(body: bytes) -> bool:
    """Cheap sniff: is `body` an abstract-only export? Never raises.

    True when every non-blank line (of the first 64 kB; a partial last line is ignored) is a
    long prose paragraph: at least 200 characters and 8 words, mostly letters.
    """
    # A multi-byte character cut by the sniff window is fine; other bad bytes are not.
    errors = "strict" if len(body) <= _SNIFF_BYTES else "ignore"
    try:
        head = body[:_SNIFF_BYTES].decode("utf-8", errors=errors)
    except UnicodeDecodeError:
        return False
    if "\x00" in head or "\ufffd" in head:
        return False
    lines = head.split("\n")
    if len(body) > _SNIFF_BYTES:
        lines = lines[:-1]  # cut mid-line by the sniff window
    content = [line.strip() for line in lines if line.strip()]
    return bool(content) and all(_is_prose(line, _SNIFF_MIN_CHARS) for line in content)


def _is_prose(line: str, min_chars: int) -> bool:
    """A paragraph of running text: long enough, enough words, at least 70% letters/spaces."""
    if len(line) < min_chars or len(line.split()) < _MIN_WORDS:
        return False
    wordy = sum(1 for ch in line if ch.isalpha() or ch == " ")
    return wordy * 10 >= len(line) * 7


def parse_text(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    """Parse an abstract-only export: one Entry (only `abstract` set) per non-blank line.

    Pure; `fetched_at` is unused (no dates in the format) but kept for the ParseFn signature.
    Raises ParseError: "truncated" for an empty body, "garbage" for non-text bytes or for any
    line that is not a prose paragraph (a heading, a title, junk) — such a file is not this
    format, and guessing which lines are abstracts would put junk in the warehouse.
    """
    del fetched_at
    lines = split_lines(decode_text(body, source=SOURCE.name, url=url))
    for line in lines:
        if not _is_prose(line, _PARSE_MIN_CHARS):
            raise ParseError(
                "line is not an abstract", source=SOURCE.name, url=url, kind="garbage", excerpt=line
            )
    entries = tuple(
        Entry(source=SOURCE.name, position=i, abstract=clean_text(line, limit=MAX_ABSTRACT))
        for i, line in enumerate(lines)
    )
    return ListingPage(url=url, source=SOURCE.name, kind="abstracts", entries=entries)
