"""Tests for parsers/hf_papers.py: goldens for every fixture, error kinds, URL builders, and
property tests that any input yields a ListingPage or a ParseError, nothing else.

Fixtures: tests/fixtures/hf_papers (regenerate with make_fixtures.py there). Goldens:
tests/fixtures/golden/hf_papers; rewrite them with `UPDATE_GOLDEN=1 pytest <this file>`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.demo_site import pagegen
from parsers import hf_papers
from parsers.errors import LayoutChanged, ParseError
from parsers.records import ListingPage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hf_papers"
GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "hf_papers"
FETCHED = datetime(2026, 5, 8, 18, 0, tzinfo=timezone.utc)
HF = "https://huggingface.co"
DAY_URL = f"{HF}/papers/date/2026-05-08"
API_URL = f"{HF}/api/daily_papers?date=2026-05-08&limit=6"

HTML_CASES = {
    "day_2026-05-08.html": DAY_URL,
    "week_2026-W19.html": f"{HF}/papers/week/2026-W19",
    "month_2026-05.html": f"{HF}/papers/month/2026-05",
    "trending.html": f"{HF}/papers/trending",
    "search_q_attention.html": f"{HF}/papers?q=attention",
    "layout_2024_cards_only.html": DAY_URL,
    "layout_2026_cards_only.html": DAY_URL,
    "empty_day.html": f"{HF}/papers/date/2026-05-09",
}


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _plain(value: Any) -> Any:
    """JSON-ready form: dates as ISO strings, tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _as_json(page: ListingPage) -> Any:
    return _plain(dataclasses.asdict(page))


def _check_golden(name: str, page: ListingPage) -> None:
    """Compare with the stored golden, or rewrite it when UPDATE_GOLDEN=1."""
    path = GOLDEN / (Path(name).stem + ".json")
    actual = _as_json(page)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        text = json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=True)
        path.write_text(text + "\n", encoding="utf-8")
        return
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert actual == json.loads(path.read_text(encoding="utf-8"))


def _parse(body: bytes, url: str = DAY_URL) -> ListingPage:
    return hf_papers.parse(body, url=url, fetched_at=FETCHED)


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("name", sorted(HTML_CASES))
def test_html_golden(name: str) -> None:
    _check_golden(name, _parse(_fixture(name), HTML_CASES[name]))


def test_api_golden() -> None:
    name = "api_daily_2026-05-08.json"
    page = hf_papers.parse_api(_fixture(name), url=API_URL, fetched_at=FETCHED)
    _check_golden(name, page)


# --------------------------------------------------------------------------- spot checks


def test_day_page_maps_every_field() -> None:
    page = _parse(_fixture("day_2026-05-08.html"))
    assert (page.kind, page.listed_date, page.warnings) == ("day", date(2026, 5, 8), ())
    first = page.entries[0]
    assert first.arxiv_id == "2605.05242" and first.position == 0
    assert first.authors == ("Zhuofeng Li", "Haoran Zhang", "Ana Ruiz", "Wenhu Chen")
    assert first.code_url == "https://github.com/TIGER-AI-Lab/ToolWeaver" and first.has_code
    assert first.organizations == ("TIGER-Lab",)
    assert first.published_date == date(2026, 5, 6)
    assert first.abstract is not None and "\n" not in first.abstract
    tex = page.entries[1]
    assert tex.title == r"Scaling Laws for $\alpha$-Entmax Attention in Sparse Transformers"
    assert "Zoë Müller" in tex.authors
    bare = page.entries[3]
    assert (bare.code_url, bare.has_code, bare.organizations, bare.ai_keywords) == (
        None,
        None,
        (),
        (),
    )
    assert page.entries[4].title == "Qwen3-Omni-Flash Technical Report"  # whitespace collapsed


def test_week_page_overlaps_day_page_with_newer_counts() -> None:
    day = {e.arxiv_id: e for e in _parse(_fixture("day_2026-05-08.html")).entries}
    week = _parse(_fixture("week_2026-W19.html"), HTML_CASES["week_2026-W19.html"])
    shared = [e for e in week.entries if e.arxiv_id in day]
    assert len(shared) >= 3
    assert all((e.upvotes or 0) > (day[e.arxiv_id].upvotes or 0) for e in shared)
    assert week.kind == "week" and week.listed_date is None  # dateString is "2026-W19"


def test_search_page_prefers_search_results_and_joins_highlights() -> None:
    page = _parse(_fixture("search_q_attention.html"), HTML_CASES["search_q_attention.html"])
    assert page.kind == "search"
    assert [e.arxiv_id for e in page.entries] == [
        "2605.04417",
        "2605.01766",
        "2605.01130",
        "2605.05577",
    ]
    assert b'<span class="highlight">Attention</span>' in _fixture("search_q_attention.html")


def test_cards_fallback_is_flagged_and_marks_authors_unknown() -> None:
    for name in ("layout_2024_cards_only.html", "layout_2026_cards_only.html"):
        page = _parse(_fixture(name))
        assert len(page.entries) == 6 and "fell back" in page.warnings[0]
        assert [e.upvotes for e in page.entries] == [86, 41, 23, 9, 154, 17]
        assert all(not e.authors_complete and e.abstract is None for e in page.entries)


def test_empty_day_is_not_an_error() -> None:
    page = _parse(_fixture("empty_day.html"), HTML_CASES["empty_day.html"])
    assert page.entries == () and page.listed_date == date(2026, 5, 9) and page.warnings == ()


# --------------------------------------------------------------------------- synthetic pages


def _item(arxiv_id: str, title: str = "A Paper", upvotes: int = 1) -> dict[str, Any]:
    paper = pagegen.Paper(
        arxiv_id=arxiv_id,
        title=title,
        summary="Abstract.",
        authors=("Ana Ruiz",),
        published=date(2026, 5, 6),
        submitted_at=datetime(2026, 5, 8, 9, 0),
        upvotes=upvotes,
        submitter="Ana Ruiz",
    )
    return pagegen.item_json(paper)


def _island_page(props: Any, cards: str = "") -> bytes:
    main = pagegen.island("DailyPapers", props, cards)
    return pagegen.page(path="/papers/date/2026-05-08", main=main).encode()


def _props(items: list[Any], **extra: Any) -> dict[str, Any]:
    props = pagegen.props_json(date_string="2026-05-08", items=items)
    props.update(extra)
    return props


def test_duplicates_are_dropped_keeping_first_rank() -> None:
    items = [_item("2605.00001", "First", 5), _item("2605.00002"), _item("2605.00001", "Again")]
    page = _parse(_island_page(_props(items)))
    assert [(e.position, e.arxiv_id, e.title) for e in page.entries] == [
        (0, "2605.00001", "First"),
        (1, "2605.00002", "A Paper"),
    ]
    assert any("duplicate" in w for w in page.warnings)


def test_versioned_id_is_split() -> None:
    page = _parse(_island_page(_props([_item("2605.00001v3")])))
    assert (page.entries[0].arxiv_id, page.entries[0].arxiv_version) == ("2605.00001", 3)


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        ({"periodType": "daily"}, "day"),
        ({"periodType": "weekly"}, "week"),
        ({"periodType": "monthly"}, "month"),
        ({"periodType": "month", "isTrending": True}, "trending"),
        ({"query": {"q": "agents"}}, "search"),
        ({"searchResults": []}, "search"),
    ],
)
def test_kind_from_props(extra: dict[str, Any], kind: str) -> None:
    assert _parse(_island_page(_props([_item("2605.00001")], **extra))).kind == kind


def test_item_without_paper_id_is_missing_field() -> None:
    item = _item("2605.00001")
    del item["paper"]["id"]
    with pytest.raises(ParseError) as err:
        _parse(_island_page(_props([item])))
    assert err.value.kind == "missing_field" and "paper.id" in (err.value.selector or "")


def test_item_without_title_is_missing_field() -> None:
    item = _item("2605.00001")
    del item["title"], item["paper"]["title"]
    with pytest.raises(ParseError) as err:
        _parse(_island_page(_props([item])))
    assert err.value.kind == "missing_field" and "title" in (err.value.selector or "")


def test_broken_island_json_falls_back_to_cards() -> None:
    cards = pagegen.card_2026(_item("2605.00001", "Card Title", 7))
    body = _island_page(_props([]), cards).replace(b"dateString", b"dateString&quot;:", 1)
    page = _parse(body)
    assert [(e.arxiv_id, e.title, e.upvotes) for e in page.entries] == [
        ("2605.00001", "Card Title", 7)
    ]
    assert "not valid JSON" in page.warnings[0]


def test_empty_island_list_but_cards_uses_cards() -> None:
    cards = pagegen.card_2026(_item("2605.00001"))
    page = _parse(_island_page(_props([]), cards))
    assert len(page.entries) == 1 and "lists no papers" in page.warnings[0]


def test_broken_island_json_without_cards_is_layout_changed() -> None:
    body = _island_page(_props([])).replace(b"dateString", b"dateString&quot;:", 1)
    with pytest.raises(LayoutChanged):
        _parse(body)


# --------------------------------------------------------------------------- error kinds


def _kind(body: bytes) -> str:
    with pytest.raises(ParseError) as err:
        _parse(body)
    return err.value.kind


def test_changed_layout_raises_layout_changed() -> None:
    with pytest.raises(LayoutChanged) as err:
        _parse(_fixture("changed_layout.html"))
    assert err.value.selector == 'div[data-target="DailyPapers"]'


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t",
        b"\x00\x01\x02",
        b"hello world",
        b'[{"paper": {"id": "2605.00001"}}]',
        b"<html><head><title>Example Domain</title></head><body><p>x</p></body></html>",
    ],
)
def test_garbage(body: bytes) -> None:
    assert _kind(body) == "garbage"


def test_garbage_fixture() -> None:
    assert _kind(_fixture("garbage.bin")) == "garbage"


def test_truncated_fixture() -> None:
    assert _kind(_fixture("truncated_day.html")) == "truncated"


def test_truncated_before_island() -> None:
    assert _kind(_fixture("day_2026-05-08.html")[:3000]) == "truncated"


def test_hf_chrome_without_list_is_layout_changed() -> None:
    body = pagegen.page(path="/papers", main="<section><p>Coming soon</p></section>").encode()
    with pytest.raises(LayoutChanged):
        _parse(body)


# --------------------------------------------------------------------------- JSON API


def _api(body: bytes, url: str = API_URL) -> ListingPage:
    return hf_papers.parse_api(body, url=url, fetched_at=FETCHED)


def test_api_next_page_only_when_full() -> None:
    body = _fixture("api_daily_2026-05-08.json")
    assert _api(body).next_urls == (f"{HF}/api/daily_papers?date=2026-05-08&limit=6&p=1",)
    assert _api(body, f"{HF}/api/daily_papers?p=2&date=2026-05-08&limit=6").next_urls == (
        f"{HF}/api/daily_papers?date=2026-05-08&limit=6&p=3",
    )
    assert _api(body, f"{HF}/api/daily_papers?date=2026-05-08").next_urls == ()


def test_api_kind_from_params() -> None:
    body = _fixture("api_daily_2026-05-08.json")
    assert _api(body, f"{HF}/api/daily_papers?week=2026-W19").kind == "week"
    assert _api(body, f"{HF}/api/daily_papers?month=2026-05").kind == "month"
    assert _api(body, f"{HF}/api/daily_papers?week=2026-W19").listed_date is None


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "garbage"),
        (b"<html></html>", "garbage"),
        (b'{"error": "Invalid date"}', "garbage"),
        (b'[{"paper": {"id": "2605.00001", "title": "x"', "truncated"),
    ],
)
def test_api_errors(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as err:
        _api(body)
    assert err.value.kind == kind


def test_api_truncated_fixture() -> None:
    body = _fixture("api_daily_2026-05-08.json")
    with pytest.raises(ParseError) as err:
        _api(body[: len(body) // 2])
    assert err.value.kind == "truncated"


def test_api_other_shape_is_layout_changed() -> None:
    with pytest.raises(LayoutChanged):
        _api(b'{"papers": []}')


# --------------------------------------------------------------------------- URLs and sniffing


def test_url_builders() -> None:
    assert hf_papers.day_url(HF + "/", date(2026, 5, 8)) == DAY_URL
    assert hf_papers.week_url(HF, "2026-W32") == f"{HF}/papers/week/2026-W32"
    assert hf_papers.week_url(HF, "2026-W53") == f"{HF}/papers/week/2026-W53"
    assert hf_papers.month_url(HF, "2026-05") == f"{HF}/papers/month/2026-05"
    assert hf_papers.trending_url(HF) == f"{HF}/papers/trending"
    assert hf_papers.search_url(HF, "sparse attention & co") == (
        f"{HF}/papers?q=sparse+attention+%26+co"
    )


def test_api_url() -> None:
    assert hf_papers.api_url(HF) == f"{HF}/api/daily_papers?p=0&limit=50"
    assert hf_papers.api_url(HF, date=date(2026, 5, 8), p=2, limit=100) == (
        f"{HF}/api/daily_papers?date=2026-05-08&p=2&limit=100"
    )
    assert hf_papers.api_url(HF, week="2026-W19") == (
        f"{HF}/api/daily_papers?week=2026-W19&p=0&limit=50"
    )
    assert hf_papers.api_url(HF, month="2026-05", limit=10).endswith("month=2026-05&p=0&limit=10")


@pytest.mark.parametrize("week", ["2026-W60", "2026-W00", "2025-W53", "2026-19", "2026-W1", ""])
def test_bad_week(week: str) -> None:
    with pytest.raises(ValueError, match="week"):
        hf_papers.week_url(HF, week)


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-5", "May 2026"])
def test_bad_month(month: str) -> None:
    with pytest.raises(ValueError, match="month"):
        hf_papers.month_url(HF, month)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"date": "2026-05-08", "week": "2026-W19"},
        {"date": "2026-5-8"},
        {"p": -1},
        {"limit": 0},
        {"limit": 101},
        {"week": "2026-W60"},
    ],
)
def test_bad_api_url(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        hf_papers.api_url(HF, **kwargs)


def test_blank_search_rejected() -> None:
    with pytest.raises(ValueError):
        hf_papers.search_url(HF, "  ")


def test_looks_like_html() -> None:
    for name in (*HTML_CASES, "changed_layout.html", "truncated_day.html"):
        assert hf_papers.looks_like_html(_fixture(name)), name
    for name in ("garbage.bin", "api_daily_2026-05-08.json"):
        assert not hf_papers.looks_like_html(_fixture(name)), name
    assert not hf_papers.looks_like_html(b'<a href="/papers/2605.00001">x</a>')


def test_source_spec() -> None:
    assert hf_papers.SOURCE.name == "hf-papers"
    assert hf_papers.SOURCE.allowed_hosts == frozenset({"huggingface.co"})


# --------------------------------------------------------------------------- properties


def _parses_or_parse_error(body: bytes) -> None:
    try:
        page = _parse(body)
    except ParseError:
        return
    assert isinstance(page, ListingPage)


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY_PAGE = _fixture("day_2026-05-08.html")


@_FAST
@given(st.binary(max_size=4096))
def test_any_bytes(body: bytes) -> None:
    _parses_or_parse_error(body)


@_FAST
@given(
    st.text(alphabet=st.sampled_from(list('<>/="&; abcdiv-tarticleh3papers{}[]:,')), max_size=400)
)
def test_any_tag_soup(text: str) -> None:
    _parses_or_parse_error(text.encode())


@_FAST
@given(st.integers(min_value=0, max_value=len(DAY_PAGE)))
def test_day_page_cut_anywhere(cut: int) -> None:
    _parses_or_parse_error(DAY_PAGE[:cut])


@_FAST
@given(st.lists(st.tuples(st.integers(0, len(DAY_PAGE) - 1), st.binary(max_size=3)), max_size=8))
def test_day_page_mutated(edits: list[tuple[int, bytes]]) -> None:
    body = bytearray(DAY_PAGE)
    for pos, new in edits:
        body[pos : pos + 1] = new
    _parses_or_parse_error(bytes(body))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_ITEM_KEYS = st.sampled_from(["paper", "title", "summary", "organization", "publishedAt"])
_PAPER_KEYS = st.sampled_from(
    ["id", "title", "authors", "upvotes", "publishedAt", "submittedOnDailyAt", "githubRepo"]
    + ["ai_keywords", "organization", "summary"]
)


@_FAST
@given(
    st.dictionaries(
        st.sampled_from(["dailyPapers", "searchResults", "periodType", "query"]), _JSON
    ),
    st.lists(st.tuples(_ITEM_KEYS, _PAPER_KEYS, _JSON), max_size=4),
)
def test_island_with_odd_json(top: dict[str, Any], tweaks: list[tuple[str, str, Any]]) -> None:
    items = [_item("2605.00001"), _item("2605.00002")]
    for item_key, paper_key, value in tweaks:
        items[0][item_key] = value
        items[1]["paper"][paper_key] = value
    _parses_or_parse_error(_island_page(_props(items) | top))
    _parses_or_parse_error(_island_page(_props(items)))


@_FAST
@given(_JSON)
def test_api_any_json(value: Any) -> None:
    try:
        _api(json.dumps(value).encode())
    except ParseError:
        pass


def test_malformed_url_never_raises_value_error() -> None:
    page = hf_papers.parse(
        _fixture("layout_2026_cards_only.html"), url="http://[bad", fetched_at=FETCHED
    )
    assert page.kind == "day" and len(page.entries) == 6
    api = hf_papers.parse_api(
        _fixture("api_daily_2026-05-08.json"), url="http://[bad", fetched_at=FETCHED
    )
    assert len(api.entries) == 6


# --------------------------------------------------------------------------- sniffing saved JSON


def test_looks_like_api_claims_saved_daily_papers_json_only() -> None:
    from parsers import detect_format

    body = _fixture("api_daily_2026-05-08.json")
    assert hf_papers.looks_like_api(body)
    assert hf_papers.looks_like_api(b"\xef\xbb\xbf \n" + body)  # a BOM and blank lines
    assert detect_format(body) == "hf-papers-api"
    for other in (
        _fixture("day_2026-05-08.html"),
        b"[]",  # any API's empty list
        b'[{"title": "no paper object"}]',
        b'{"papers": []}',
        b"[1, 2",
        b"",
    ):
        assert not hf_papers.looks_like_api(other), other[:40]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.binary(max_size=2000), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
).map(lambda v: json.dumps(v).encode())))  # fmt: skip
def test_looks_like_api_never_raises(body: bytes) -> None:
    assert hf_papers.looks_like_api(body) in (True, False)


@pytest.mark.parametrize("kind", ["search", "trending", "day"])
def test_only_listing_days_date_their_papers(kind: str) -> None:
    """A search or trending page's `dateString` is the day it was shown: a result without its
    own `submittedOnDailyAt` was not listed that day (a 2023 paper found in 2026)."""
    item = {"paper": {"id": "2307.02486", "title": "LongNet: Scaling Transformers",
                      "summary": "Scaling sequence length.", "publishedAt": "2023-07-05T00:00:00Z",
                      "authors": [{"name": "Jiayu Ding"}]}}  # fmt: skip
    props: dict[str, Any] = {"dateString": "2026-05-08", "dailyPapers": [item]}
    url = "https://huggingface.co/papers/date/2026-05-08"
    if kind == "search":
        props.update(query={"q": "longnet"}, searchResults=[item], dailyPapers=[])
        url = "https://huggingface.co/papers?q=longnet"
    elif kind == "trending":
        props["isTrending"] = True
        url = "https://huggingface.co/papers/trending"
    page = hf_papers.parse(_island_page(props), url=url, fetched_at=datetime(2026, 5, 8))
    (entry,) = page.entries
    assert page.kind == kind
    assert entry.published_date == date(2023, 7, 5)
    assert entry.listed_date == (date(2026, 5, 8) if kind == "day" else None)
