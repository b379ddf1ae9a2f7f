"""Tests for parsers/abstracts.py against the real abstract-only export (11 abstracts).

Golden: tests/fixtures/golden/abstracts_004.json; `UPDATE_GOLDEN=1` rewrites it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import abstracts, hf_text, scholarfeed
from parsers.errors import ParseError
from parsers.records import ListingPage
from tests.parsers.golden import assert_golden

SAMPLES = Path(__file__).resolve().parents[2] / "flows" / "demo_site" / "samples"
SAMPLE = SAMPLES / "004_518d20e6b0e966d4.txt"
FETCHED = datetime(2026, 4, 1, tzinfo=timezone.utc)
URL = "file:///imports/004_518d20e6b0e966d4.txt"


def _parse(body: bytes) -> ListingPage:
    return abstracts.parse_text(body, url=URL, fetched_at=FETCHED)


def test_golden() -> None:
    assert_golden(_parse(SAMPLE.read_bytes()), "abstracts_004.json")


def test_eleven_abstracts_only() -> None:
    page = _parse(SAMPLE.read_bytes())
    assert len(page.entries) == 11
    assert (page.source, page.kind, page.warnings) == ("abstracts", "abstracts", ())
    for i, entry in enumerate(page.entries):
        assert entry.position == i and entry.source == "abstracts"
        assert entry.abstract and entry.title is None and entry.authors == ()
    assert page.entries[1].abstract is not None
    assert page.entries[1].abstract.startswith("Scaling sequence length")  # LongNet, other version
    assert page.entries[-1].abstract is not None and page.entries[-1].abstract.endswith(".")


def test_trailing_newline_and_crlf_do_not_matter() -> None:
    body = SAMPLE.read_bytes()
    assert not body.endswith(b"\n")  # the last line really lacks its newline
    expected = _parse(body).entries
    assert _parse(body + b"\n").entries == expected
    assert _parse(body.replace(b"\n", b"\r\n") + b"\r\n\r\n").entries == expected
    assert _parse(b"\xef\xbb\xbf" + body).entries == expected  # UTF-8 BOM


def test_source_spec() -> None:
    spec = abstracts.SOURCE
    assert (spec.name, spec.default_base_url, spec.allowed_hosts) == ("abstracts", "", frozenset())
    assert (spec.max_rate, spec.concurrency) == (0, 1)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "truncated"),
        (b"\n\n", "truncated"),
        (b"\x00\x01\x02\x03\x04", "garbage"),
        (b"\xff\xfe\xfd", "garbage"),
        (b"A Title\n" + SAMPLE.read_bytes(), "garbage"),
    ],
)
def test_errors(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse(body)
    assert (info.value.kind, info.value.source, info.value.url) == (kind, "abstracts", URL)


@pytest.mark.parametrize("other", ["000_45c0c684d78e435f.txt", "001_99a23e4416e6295b.txt"])
def test_other_samples_are_not_abstract_exports(other: str) -> None:
    body = (SAMPLES / other).read_bytes()
    assert not abstracts.looks_like_text(body)
    with pytest.raises(ParseError):
        _parse(body)


def test_each_sniffer_claims_only_its_own_sample() -> None:
    sniffers = {
        "000_45c0c684d78e435f.txt": scholarfeed.looks_like_text,
        "001_99a23e4416e6295b.txt": hf_text.looks_like_text,
        "004_518d20e6b0e966d4.txt": abstracts.looks_like_text,
    }
    for name in sniffers:
        body = (SAMPLES / name).read_bytes()
        assert [sniff(body) for sniff in sniffers.values()] == [n == name for n in sniffers]


_SAMPLE_BYTES = SAMPLE.read_bytes()
_ANY = st.one_of(
    st.binary(max_size=2_000),
    st.tuples(st.integers(0, len(_SAMPLE_BYTES)), st.integers(0, len(_SAMPLE_BYTES))).map(
        lambda ab: _SAMPLE_BYTES[min(ab) : max(ab)]
    ),
)
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@_PROPERTY
@given(_ANY)
def test_any_bytes_give_a_page_or_parse_error(body: bytes) -> None:
    try:
        page = _parse(body)
    except ParseError:
        return
    assert isinstance(page, ListingPage) and page.entries


@_PROPERTY
@given(_ANY)
def test_looks_like_text_never_raises(body: bytes) -> None:
    assert abstracts.looks_like_text(body) in (True, False)
