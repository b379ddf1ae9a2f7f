"""Tests for parsers/arxiv_api.py: goldens of the full parse of both Atom generations, paging,
the URL builder, error kinds (including a refused entity bomb), and property tests that any
input yields a ListingPage or a ParseError, nothing else.

Fixtures: tests/fixtures/arxiv_api (regenerate with make_fixtures.py there). Goldens:
tests/fixtures/golden/arxiv_api; rewrite them with `UPDATE_GOLDEN=1 pytest <this file>`.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import arxiv_api
from parsers.errors import ParseError
from parsers.records import Entry, ListingPage
from tests.parsers.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv_api"
FETCHED = datetime(2026, 5, 12, 12, 0, tzinfo=timezone.utc)
API = "https://export.arxiv.org"
ALL_FIELDS = [f.name for f in dataclasses.fields(Entry)]


def _url(start: int = 0, max_results: int = 3, query: str = "cat:cs.CL") -> str:
    return arxiv_api.query_url(API, query, start=start, max_results=max_results)


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _parse(body: bytes, url: str | None = None) -> ListingPage:
    return arxiv_api.parse(body, url=url or _url(), fetched_at=FETCHED)


def _kind(body: bytes, url: str | None = None) -> str:
    with pytest.raises(ParseError) as err:
        _parse(body, url)
    assert err.value.source == "arxiv-api"
    return err.value.kind


# --------------------------------------------------------------------------- goldens

GOLDEN_CASES = {
    "classic_cs.CL_p1.xml": _url(0),
    "current_cs.CL_p1.xml": _url(0),
    "current_cs.CL_p2.xml": _url(3),
    "empty.xml": _url(0, 100, "ti:zzzqqqxxx"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    page = _parse(_fixture(name), GOLDEN_CASES[name])
    # Every Entry field, defaults included: the golden pins None/() as much as values.
    assert_golden(page, f"arxiv_api/{Path(name).stem}.json", ALL_FIELDS)


def test_page_level_fields() -> None:
    for name, url in GOLDEN_CASES.items():
        page = _parse(_fixture(name), url)
        assert (page.source, page.kind, page.listed_date, page.url) == (
            "arxiv-api",
            "query",
            None,
            url,
        )
        assert page.warnings == ()
        assert [e.position for e in page.entries] == list(range(len(page.entries)))
        assert all(e.source == "arxiv-api" and e.listed_date is None for e in page.entries)
        assert all(e.code_url is None for e in page.entries)


# --------------------------------------------------------------------------- entry fields


def test_classic_entry_fields() -> None:
    first, old, third = _parse(_fixture("classic_cs.CL_p1.xml")).entries
    assert first.title == (
        r"Sub-quadratic Parsing in $\mathcal{O}(n \log n)$: Revisiting CKY for Long Documents"
    )
    assert first.abstract is not None and first.abstract.startswith("We revisit CKY")
    assert "$n > 10^4$" in first.abstract and "\n" not in first.abstract
    assert (first.arxiv_id, first.arxiv_version) == ("2501.01234", 2)
    assert first.doi == "10.1234/example.2025.001"
    assert first.journal_ref == "J. Imag. Res. 1 (2025) 2"
    assert first.comments == "12 pages, 3 figures; v2: fixed Table 2"
    assert first.authors == ("Ana Ruiz", "Bo Chen", "Cy Diaz")
    assert first.organizations == ("Example Univ.", "Lab of Parsing")  # union, author order
    assert str(first.published_date) == "2025-01-02"  # <published>, not <updated>
    assert (old.arxiv_id, old.arxiv_version) == ("hep-th/9901001", 1)
    assert (old.primary_category, old.categories) == ("hep-th", ("hep-th", "gr-qc"))
    assert third.title == "Tokenizers & Multilingual <Fairness>"  # entities decoded once
    assert third.categories == ("cs.CL", "cs.LG")  # primary first, repeats dropped


def test_both_generations_agree_on_shape() -> None:
    classic = _parse(_fixture("classic_cs.CL_p1.xml")).entries[0]
    current = _parse(_fixture("current_cs.CL_p1.xml")).entries[0]
    filled = {
        "title", "abstract", "authors", "arxiv_id", "arxiv_version", "doi", "published_date",
        "primary_category", "categories", "organizations", "comments", "journal_ref",
    }  # fmt: skip
    for entry in (classic, current):
        assert {n for n in ALL_FIELDS if getattr(entry, n) not in (None, ())} >= filled
    assert current.doi == "10.18653/v1/2026.acl-long.7"


def test_doi_from_link_when_no_arxiv_doi() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(
        b"<arxiv:doi>10.18653/V1/2026.ACL-LONG.7</arxiv:doi>", b""
    )
    assert _parse(body).entries[0].doi == "10.18653/v1/2026.acl-long.7"


def test_updated_is_not_used_for_dates() -> None:
    entry = _parse(_fixture("current_cs.CL_p1.xml")).entries[1]
    assert (str(entry.published_date), entry.arxiv_version) == ("2026-05-09", 3)


def test_duplicate_ids_keep_first() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(b"2605.00042v2", b"2605.01234v1")
    page = _parse(body)
    assert [e.arxiv_id for e in page.entries] == ["2605.01234", "2605.01111"]
    assert page.entries[0].title == "A Made-Up Title About Retrieval"
    assert any("duplicate" in w for w in page.warnings)


def test_non_arxiv_id_is_kept_with_warning() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(
        b"http://arxiv.org/abs/2605.01111v3", b"urn:x-odd:42"
    )
    page = _parse(body)
    assert page.entries[1].arxiv_id is None and page.entries[1].title == "Agents That Read Papers"
    assert "not an arXiv id" in page.warnings[0]


def test_utf8_bom_and_non_ascii() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(b"Bo Chen", "Bö Chén".encode())
    page = _parse(b"\xef\xbb\xbf" + body)
    assert page.entries[0].authors == ("Ana Ruiz", "Bö Chén")


# --------------------------------------------------------------------------- paging


def test_paging_current_format() -> None:
    p1 = _parse(_fixture("current_cs.CL_p1.xml"), _url(0))
    assert p1.total == 5 and p1.next_urls == (_url(3),)
    p2 = _parse(_fixture("current_cs.CL_p2.xml"), _url(3))
    assert p2.total == 5 and p2.next_urls == ()


def test_next_url_keeps_other_params_and_order() -> None:
    url = f"{API}/api/query?search_query=au:ruiz+AND+ti:%22CKY%22&id_list=&max_results=3"
    page = _parse(_fixture("classic_cs.CL_p1.xml"), url)
    assert page.next_urls == (
        f"{API}/api/query?search_query=au:ruiz+AND+ti:%22CKY%22&id_list=&max_results=3&start=3",
    )


def test_paging_stops_at_the_30000_window() -> None:
    body = _fixture("classic_cs.CL_p1.xml")
    near_end = body.replace(b">0</opensearch:startIndex>", b">29994</opensearch:startIndex>")
    page = _parse(near_end, _url(29994))
    # The last page shrinks so start + max_results stays within the API's 30000 cap.
    assert page.next_urls == (_url(29997, 3),)
    last = body.replace(b">0</opensearch:startIndex>", b">29997</opensearch:startIndex>")
    assert _parse(last, _url(29997)).next_urls == ()
    clamp = body.replace(b">0</opensearch:startIndex>", b">29996</opensearch:startIndex>")
    assert _parse(clamp, _url(29996)).next_urls == (_url(29999, 1),)


def test_no_next_page_without_host_or_page_size() -> None:
    body = _fixture("current_cs.CL_p1.xml")
    assert _parse(body, "file:///imports/arxiv.xml").next_urls == ()
    zero = body.replace(b">3</opensearch:itemsPerPage>", b">0</opensearch:itemsPerPage>")
    assert _parse(zero).next_urls == ()


def test_missing_total_is_a_warning() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(
        b"<opensearch:totalResults>5</opensearch:totalResults>", b""
    )
    page = _parse(body)
    assert (page.total, page.next_urls, len(page.entries)) == (None, (), 3)
    assert "totalResults" in page.warnings[0]


def test_empty_result_is_an_empty_page() -> None:
    page = _parse(_fixture("empty.xml"))
    assert (page.entries, page.total, page.next_urls) == ((), 0, ())


def test_empty_page_inside_range_is_truncated() -> None:
    body = _fixture("current_cs.CL_p2.xml")
    hollow = body[: body.index(b"<entry>")] + b"</feed>\n"
    with pytest.raises(ParseError) as err:
        _parse(hollow, _url(3))
    assert err.value.kind == "truncated" and "retry later" in str(err.value)


def test_empty_page_past_the_end_is_fine() -> None:
    body = _fixture("current_cs.CL_p2.xml")
    past = body[: body.index(b"<entry>")] + b"</feed>\n"
    past = past.replace(b">3</opensearch:startIndex>", b">9</opensearch:startIndex>")
    assert _parse(past, _url(9)).entries == ()


# --------------------------------------------------------------------------- query_url


def test_query_url() -> None:
    assert arxiv_api.query_url(API + "/", 'cat:cs.CL AND ti:"large model"') == (
        f"{API}/api/query?search_query=cat:cs.CL+AND+ti:%22large+model%22"
        "&start=0&max_results=100&sortBy=submittedDate&sortOrder=descending"
    )
    assert arxiv_api.query_url(
        API,
        "au:Ruiz & co",
        start=200,
        max_results=2000,
        sort_by="relevance",
        sort_order="ascending",
    ) == (
        f"{API}/api/query?search_query=au:Ruiz+%26+co"
        "&start=200&max_results=2000&sortBy=relevance&sortOrder=ascending"
    )
    assert arxiv_api.query_url(API, "x", start=28000, max_results=2000).count("start=28000") == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 2001}, "max_results"),
        ({"max_results": 0}, "max_results"),
        ({"start": -1}, "start"),
        ({"start": 29000, "max_results": 1001}, "30000"),
        ({"start": 30000, "max_results": 1}, "30000"),
        ({"sort_by": "date"}, "sort_by"),
        ({"sort_order": "desc"}, "sort_order"),
    ],
)
def test_query_url_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        arxiv_api.query_url(API, "cat:cs.CL", **kwargs)  # type: ignore[arg-type]


def test_query_url_rejects_blank_query() -> None:
    with pytest.raises(ValueError, match="blank"):
        arxiv_api.query_url(API, "   ")


# --------------------------------------------------------------------------- errors


def test_api_error_entry() -> None:
    with pytest.raises(ParseError) as err:
        _parse(_fixture("error.xml"))
    assert err.value.kind == "api_error"
    assert "incorrect id format for 1234.12345" in str(err.value)


def test_truncated_fixture() -> None:
    assert _kind(_fixture("truncated.xml")) == "truncated"


@pytest.mark.parametrize("cut", [200, 900, 1500, -30, -8, -1])
def test_cut_anywhere_inside_is_truncated(cut: int) -> None:
    assert _kind(_fixture("current_cs.CL_p1.xml").rstrip()[:cut]) == "truncated"


def test_cut_inside_multibyte_char_is_truncated() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(b"Bo Chen", "Bö".encode())
    assert _kind(body[: body.index("ö".encode()) + 1]) == "truncated"


def test_garbage_fixture() -> None:
    assert _kind(_fixture("garbage.xml")) == "garbage"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  \n",
        b"\x00\x01\x02",
        b"\xff\xfe<\x00f\x00",
        b"hello world",
        b'{"feed": []}',
        b"<html><body><p>Rate exceeded.</p></body></html>",  # well-formed, not Atom
        b"<html><body><p>unclosed<br></body></html>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry></feed>',  # mismatched, not cut
        b'<feed xmlns="http://www.w3.org/2005/Atom"/><junk/>',
        b"<feed><entry><id>http://arxiv.org/abs/2501.01234v1</id></entry></feed>",  # no ns
        b'<rss version="2.0"><channel><title>arXiv</title></channel></rss>',
    ],
)
def test_garbage(body: bytes) -> None:
    assert _kind(body) == "garbage"


def test_entity_bomb_is_refused_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError) as err:
        _parse(_fixture("entity_bomb.xml"))
    assert time.perf_counter() - started < 0.5
    assert err.value.kind == "garbage" and "DOCTYPE" in str(err.value)


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE feed SYSTEM "http://example.org/evil.dtd">',
        b"<!-- sneaky --><!doctype feed>",
        b'<!ENTITY x "y">',
    ],
)
def test_any_dtd_is_refused(prolog: bytes) -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(b"<feed ", prolog + b"\n<feed ", 1)
    assert _kind(body) == "garbage"


def test_entry_without_id_is_missing_field() -> None:
    body = _fixture("current_cs.CL_p1.xml").replace(
        b"<id>http://arxiv.org/abs/2605.01111v3</id>", b""
    )
    with pytest.raises(ParseError) as err:
        _parse(body)
    assert err.value.kind == "missing_field" and err.value.selector == "entry[1]/id"


def test_malformed_url_never_raises_value_error() -> None:
    page = _parse(_fixture("current_cs.CL_p1.xml"), "http://[bad")
    assert len(page.entries) == 3 and page.next_urls == ()


# --------------------------------------------------------------------------- sniff and spec


def test_looks_like_atom() -> None:
    for name in (*GOLDEN_CASES, "error.xml", "truncated.xml"):
        assert arxiv_api.looks_like_atom(_fixture(name)), name
    assert not arxiv_api.looks_like_atom(_fixture("garbage.xml"))
    assert not arxiv_api.looks_like_atom(b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    assert not arxiv_api.looks_like_atom(b"")


def test_source_spec() -> None:
    spec = arxiv_api.SOURCE
    assert (spec.name, spec.default_base_url) == ("arxiv-api", "https://export.arxiv.org")
    assert spec.allowed_hosts == frozenset({"export.arxiv.org", "arxiv.org"})
    assert (spec.max_rate, spec.concurrency) == (1 / 3, 1)


# --------------------------------------------------------------------------- properties


def _parses_or_parse_error(body: bytes, url: str | None = None) -> None:
    try:
        page = _parse(body, url)
    except ParseError as exc:
        assert exc.kind in {"garbage", "truncated", "missing_field", "api_error"}
        return
    assert isinstance(page, ListingPage)
    assert all(isinstance(e, Entry) for e in page.entries)


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLASSIC = _fixture("classic_cs.CL_p1.xml")
CURRENT = _fixture("current_cs.CL_p1.xml")


@_FAST
@given(st.binary(max_size=4096))
def test_any_bytes(body: bytes) -> None:
    _parses_or_parse_error(body)


_XML_BITS = st.sampled_from(
    ["<feed ", 'xmlns="http://www.w3.org/2005/Atom"', ">", "</feed>", "<entry>", "</entry>",
     "<id>", "</id>", "http://arxiv.org/abs/2501.01234v1", "http://arxiv.org/api/errors#x",
     "<opensearch:totalResults xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\">",
     "</opensearch:totalResults>", "7", "99999999999999999999", "&amp;", "&", "<", "é", " "]
)  # fmt: skip


@_FAST
@given(st.lists(_XML_BITS, max_size=40))
def test_any_atom_soup(bits: list[str]) -> None:
    _parses_or_parse_error("".join(bits).encode())


@_FAST
@given(st.sampled_from([CLASSIC, CURRENT]), st.integers(min_value=0, max_value=len(CLASSIC)))
def test_cut_anywhere(body: bytes, cut: int) -> None:
    _parses_or_parse_error(body[:cut])


@_FAST
@given(
    st.sampled_from([CLASSIC, CURRENT]),
    st.lists(st.tuples(st.integers(0, len(CURRENT) - 1), st.binary(max_size=3)), max_size=8),
)
def test_mutated_fixture(body: bytes, edits: list[tuple[int, bytes]]) -> None:
    mutated = bytearray(body)
    for pos, new in edits:
        mutated[pos : pos + 1] = new
    _parses_or_parse_error(bytes(mutated))


@_FAST
@given(st.text(max_size=60))
def test_any_url(url: str) -> None:
    _parses_or_parse_error(CURRENT, url)
