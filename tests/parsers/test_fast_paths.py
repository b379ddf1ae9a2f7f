"""The fast paths in parsers/records.py, parsers/tex.py and parsers/hf_papers.py change no value.

Each fast path skips work only when that work could not change the result. The references
below are the straightforward implementations they replaced (kept here, not in the package);
the properties compare the two on text built to hit the edges: Unicode whitespace, NUL,
combining marks, compatibility characters, TeX, lone surrogates.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.demo_site import pagegen
from parsers import hf_papers
from parsers.records import (
    MAX_AUTHORS,
    MAX_NAME,
    clean_names,
    clean_text,
    content_hash,
    iso_date,
    title_key,
)
from parsers.tex import render_tex

_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- references

_WS = re.compile(r"\s+")
_HYPHEN_BREAK = re.compile(r"(\w)-\s+(\w)")
_NON_WORD = re.compile(r"[^\w]+")
_ISO_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")


def ref_clean_text(value: str | None, *, limit: int = 2_000) -> str | None:
    if value is None:
        return None
    text = _WS.sub(" ", unicodedata.normalize("NFC", value.replace("\x00", ""))).strip()
    return text[:limit].rstrip() if text else None


def ref_clean_names(names: list[str]) -> tuple[str, ...]:
    cleaned = (ref_clean_text(name, limit=MAX_NAME) for name in names[:MAX_AUTHORS])
    return tuple(name for name in cleaned if name)


def ref_title_key(title: str | None) -> str | None:
    if not title:
        return None
    text = unicodedata.normalize("NFKC", render_tex(title))
    text = _HYPHEN_BREAK.sub(r"\1\2", text).casefold()
    key = _NON_WORD.sub(" ", text).replace("_", " ").strip()
    return _WS.sub(" ", key) or None


def ref_iso_date(value: str | None) -> date | None:
    match = _ISO_DAY.match(value or "")
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def ref_content_hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


# --------------------------------------------------------------------------- strategies

_TRICKY = [
    *" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u3000\u200b\x00",
    *"aZ09_-.|'\"é\u0301\u0327\u0338İıßﬁ①²Å\u212bα٣\ud800\U0001d7ce",
    "  ",
    "- ",
    "$x$",
    "\\alpha",
    "\\'e",
    "\\mathbf{",
    "$$",
]
_TEXT = st.one_of(
    st.text(max_size=80), st.lists(st.sampled_from(_TRICKY), max_size=30).map("".join)
)


@_SETTINGS
@given(_TEXT, st.integers(min_value=-3, max_value=90))
def test_clean_text_matches_reference(text: str, limit: int) -> None:
    assert clean_text(text, limit=limit) == ref_clean_text(text, limit=limit)


@_SETTINGS
@given(st.lists(_TEXT, max_size=8))
def test_clean_names_matches_reference(names: list[str]) -> None:
    assert clean_names(names) == ref_clean_names(names)
    assert clean_names(tuple(names)) == ref_clean_names(names)


@_SETTINGS
@given(_TEXT)
def test_title_key_matches_reference(title: str) -> None:
    assert title_key(title) == ref_title_key(title)


@_SETTINGS
@given(
    st.one_of(
        st.none(),
        _TEXT,
        st.builds(
            lambda pad, day, rest: f"{pad}{day}{rest}",
            st.sampled_from(["", " ", "\t", "\u3000", "x"]),
            st.dates(),
            _TEXT,
        ),
    )
)
def test_iso_date_matches_reference(value: str | None) -> None:
    assert iso_date(value) == ref_iso_date(value)


@_SETTINGS
@given(st.lists(st.one_of(st.none(), st.booleans(), st.integers(), _TEXT, st.dates()), max_size=8))
def test_content_hash_matches_reference(parts: list[object]) -> None:
    assert content_hash(*parts) == ref_content_hash(*parts)


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\u00a0b", "a b"),  # no-break space is whitespace to `\s`
        ("a\u3000\u2028b", "a b"),
        ("a\x1fb\x1c", "a b"),  # ASCII separators too: str.isspace() says so
        ("a\x0bb\x0cc", "a b c"),
        ("a\u200bb", "a\u200bb"),  # zero-width space is not whitespace
        ("e\u0301", "\u00e9"),  # composed by NFC
        ("e\x00\u0301", "\u00e9"),  # NUL goes first, so the mark still composes
        ("\x00", None),
        (" a  b ", "a b"),
    ],
)
def test_clean_text_examples(raw: str, clean: str | None) -> None:
    assert clean_text(raw) == clean == ref_clean_text(raw)


def test_clean_names_never_composes_across_names() -> None:
    names = ["e", "\u0301x", "a|b", " Ana  Ruiz ", ""]
    assert clean_names(names) == ("e", "\u0301x", "a|b", "Ana Ruiz") == ref_clean_names(names)


def test_clean_names_caps_long_names() -> None:
    names = ["x" * (MAX_NAME - 1) + " y", "z"]
    assert clean_names(names) == ref_clean_names(names) == ("x" * (MAX_NAME - 1), "z")


@pytest.mark.parametrize(
    "title",
    ["Kosmos-2.5: A_B", "Pre-  training", "a- b- c", "ÜBER-  Modell ﬁne", "PanGu-$\\alpha$"],
)
def test_title_key_examples(title: str) -> None:
    assert title_key(title) == ref_title_key(title)


def test_render_tex_memo_returns_the_same_rendering() -> None:
    short = "$\\ell_2$ and \\textbf{X}"
    long = short + " word" * 400  # past the memo's length bound
    assert render_tex(short) == render_tex(short) == "ℓ₂ and X"
    assert render_tex(long) == "ℓ₂ and X" + " word" * 400


# --------------------------------------------------------------------------- hf_papers input


def _page_with_author(name: str) -> bytes:
    paper = pagegen.Paper(
        arxiv_id="2605.00001",
        title="A Paper",
        summary="Abstract.",
        authors=(name,),
        published=date(2026, 5, 6),
        submitted_at=datetime(2026, 5, 8, 9, 0),
        upvotes=1,
        submitter=name,
    )
    props = pagegen.props_json(date_string="2026-05-08", items=[pagegen.item_json(paper)])
    main = pagegen.island("DailyPapers", props, "")
    return pagegen.page(path="/papers/date/2026-05-08", main=main).encode()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body: b"\xef\xbb\xbf\xef\xbb\xbf" + body,  # BOMs: lexbor gets the bytes after them
        lambda body: body.replace(b"Zo\xc3\xab", b"Zo\xff"),  # invalid UTF-8: the text route
    ],
)
def test_html_bytes_route_parses_like_text_route(mangle: Callable[[bytes], bytes]) -> None:
    clean = _page_with_author("Zoë Ruiz")
    body = mangle(clean)
    assert body != clean
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    at = datetime(2026, 5, 8, tzinfo=UTC)
    url = "https://huggingface.co/papers/date/2026-05-08"
    page = hf_papers.parse(body, url=url, fetched_at=at)
    assert page == hf_papers.parse(text.encode(), url=url, fetched_at=at)
    assert page.entries[0].authors[0] in ("Zoë Ruiz", "Zo\ufffd Ruiz")
