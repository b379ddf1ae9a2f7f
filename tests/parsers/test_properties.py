"""Registry-wide properties: every format in `parsers.FORMATS` is total, and the canonical forms
in parsers/records.py are stable (reliability.md §8; docs/reliability.md).

Per-parser properties (cut anywhere, mutated fixtures, soups) live in each parser's test file;
this file covers what must hold for every format, including those without their own property
tests, and the normalisers every parser and the resolver share.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from parsers import FORMATS
from parsers.errors import ParseError
from parsers.records import (
    Entry,
    ListingPage,
    canonicalize_url,
    clean_text,
    split_arxiv_id,
    title_key,
)
from tests.fuzz.fuzz_parsers import seed_corpus, url_for

FETCHED = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
FORMAT_NAMES = sorted(FORMATS)
_SOME = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
_FEW = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
# No shrinking for mutated seeds: inputs are fixture-sized, and a known open finding would
# otherwise spend seconds shrinking on every run.
_FEW_NO_SHRINK = settings(_FEW, phases=[Phase.explicit, Phase.reuse, Phase.generate])


def _total(fmt: str, body: bytes, url: str | None = None) -> None:
    """The parse contract: a ListingPage of Entries, or a ParseError; nothing else escapes."""
    try:
        page = FORMATS[fmt].parse(body, url=url or url_for(fmt), fetched_at=FETCHED)
    except ParseError as exc:
        assert exc.kind and isinstance(exc.reason, str)
        return
    assert isinstance(page, ListingPage)
    assert all(isinstance(e, Entry) for e in page.entries)
    assert [e.position for e in page.entries] == sorted(e.position for e in page.entries)


# ------------------------------------------------------------------ every parser is total

_OPEN: dict[str, str] = {}  # findings not fixed yet (see tests/fuzz/test_fuzz_smoke.py)


def _formats() -> list[object]:
    return [
        pytest.param(f, marks=pytest.mark.xfail(reason=_OPEN[f], strict=False)) if f in _OPEN else f
        for f in FORMAT_NAMES
    ]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_SOME
@given(body=st.binary(max_size=2048))
def test_any_bytes_give_a_page_or_parse_error(fmt: str, body: bytes) -> None:
    _total(fmt, body)


@pytest.mark.parametrize("fmt", _formats())
@_FEW_NO_SHRINK
@given(data=st.data())
def test_mutated_seeds_give_a_page_or_parse_error(fmt: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(seed_corpus(fmt)), label="seed")
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, max(len(seed) - 1, 0)), st.binary(max_size=4)),
                 max_size=6),
        label="edits",
    )  # fmt: skip
    body = bytearray(seed)
    for pos, new in edits:
        body[pos : pos + 1] = new
    cut = data.draw(st.integers(0, len(body)), label="cut")
    _total(fmt, bytes(body[:cut] if data.draw(st.booleans(), label="truncate") else body))


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@_FEW
@given(url=st.text(max_size=80))
def test_any_url_is_harmless(fmt: str, url: str) -> None:
    _total(fmt, seed_corpus(fmt)[0], url)


# ------------------------------------------------------------------ canonical forms (records.py)

_TEXT = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc")), max_size=120
)


@given(_TEXT, st.integers(min_value=1, max_value=200))
@settings(max_examples=300, deadline=None)
def test_clean_text_is_idempotent(text: str, limit: int) -> None:
    once = clean_text(text, limit=limit)
    assert clean_text(once, limit=limit) == once
    if once is not None:
        assert len(once) <= limit and once == once.strip() and "  " not in once


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_title_key_is_idempotent(title: str) -> None:
    key = title_key(title)
    assume(key is not None)
    assert title_key(key) == key
    assert key == key.strip() and "  " not in key


_NEW_ID = st.from_regex(r"\A\d{4}\.\d{4,5}\Z")
_OLD_ID = st.builds(
    lambda archive, sub, number: f"{archive}{sub}/{number}",
    st.sampled_from(["hep-th", "math", "cs", "cond-mat", "astro-ph", "q-bio", "physics"]),
    st.sampled_from(["", ".AI", ".CL", ".DS"]),
    st.from_regex(r"\A\d{7}\Z"),
)
_ARXIV_ID = st.one_of(_NEW_ID, _OLD_ID)
_WRAP = st.sampled_from(["{}", "arXiv:{}", "https://arxiv.org/abs/{}", "https://arxiv.org/pdf/{}",
                         "see {} for details", "({})"])  # fmt: skip


@given(_ARXIV_ID, st.integers(min_value=1, max_value=999), _WRAP)
@settings(max_examples=300, deadline=None)
def test_split_arxiv_id_round_trips(arxiv_id: str, version: int, wrap: str) -> None:
    assert split_arxiv_id(wrap.format(f"{arxiv_id}v{version}")) == (arxiv_id, version)
    assert split_arxiv_id(wrap.format(arxiv_id)) == (arxiv_id, None)


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_split_arxiv_id_is_stable(text: str) -> None:
    base, version = split_arxiv_id(text)
    if base is not None:
        again = split_arxiv_id(base if version is None else f"{base}v{version}")
        assert again == (base, version)


_URL = st.builds(
    lambda scheme, host, port, path, query, frag: (
        f"{scheme}://{host}{port}{path}{'?' + query if query else ''}{'#' + frag if frag else ''}"
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS", "ftp"]),
    st.one_of(
        st.from_regex(r"\A[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){0,3}\Z"),
        st.sampled_from(["[::1]", "[2001:DB8::1]", "127.0.0.1", "ArXiv.ORG", "xn--bcher-kva.ch"]),
    ),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":65535", ":99999"]),
    st.sampled_from(["", "/", "/papers", "/a/../b", "/%7Euser/", "/A B"]),
    st.text(st.characters(codec="ascii", exclude_characters="#"), max_size=20),
    st.text(st.characters(codec="ascii"), max_size=10),
)


@given(st.one_of(_URL, st.text(max_size=60)))
@settings(max_examples=300, deadline=None)
def test_canonicalize_url_is_idempotent(url: str) -> None:
    try:
        once = canonicalize_url(url)
    except ValueError:
        return  # urlsplit refuses some strings (bad IPv6 brackets): never silently mangled
    assert canonicalize_url(once) == once


# ------------------------------------------------------------------ regressions
# Found by the properties above, fixed in parsers/records.py; kept as plain regression tests.


def test_clean_text_idempotent_around_nul() -> None:
    once = clean_text("e\x00\u0301")
    assert once == unicodedata.normalize("NFC", "e\u0301")
    assert clean_text(once) == once


def test_canonicalize_url_idempotent_with_space_before_fragment() -> None:
    once = canonicalize_url("http://[::1]/? #0")
    assert canonicalize_url(once) == once
