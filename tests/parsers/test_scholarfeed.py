"""Tests for parsers/scholarfeed.py: the author-page text (real sample), HTML (hand-made
fixture), API JSON, byline splitting, error kinds, and any-input properties.

Goldens: tests/fixtures/golden/scholarfeed_*.json (`UPDATE_GOLDEN=1` rewrites them; the
scholarfeed_000 golden was checked card by card against the sample text).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import scholarfeed
from parsers.errors import ParseError
from parsers.records import ListingPage
from parsers.scholarfeed import Byline, split_byline
from tests.parsers.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = Path(__file__).resolve().parents[2] / "flows" / "demo_site" / "samples"
SAMPLE = SAMPLES / "000_45c0c684d78e435f.txt"
HTML = FIXTURES / "scholarfeed" / "author_page.html"
# The capture's as-of date: after its latest yearless card (Mar 17, 2026).
FETCHED = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)
URL = "https://www.scholarfeed.org/author/1234"
API_URL = "https://api.scholarfeed.org/api/v1/public/authors/1234/papers?limit=2&page=1"
CARD_FIELDS = (
    "position",
    "title",
    "authors",
    "authors_complete",
    "organizations",
    "primary_category",
    "categories",
    "published_date",
    "has_code",
    "abstract",
)


def _text(body: bytes, fetched_at: datetime = FETCHED) -> ListingPage:
    return scholarfeed.parse_text(body, url=URL, fetched_at=fetched_at)


@pytest.fixture(scope="module")
def sample_page() -> ListingPage:
    return _text(SAMPLE.read_bytes())


# --------------------------------------------------------------------------- text sample


def test_sample_golden(sample_page: ListingPage) -> None:
    assert_golden(sample_page, "scholarfeed_000.json", CARD_FIELDS, clip=50)


def test_sample_has_fifty_cards_in_order(sample_page: ListingPage) -> None:
    assert len(sample_page.entries) == 50
    assert [e.position for e in sample_page.entries] == list(range(50))
    assert sample_page.kind == "author" and sample_page.source == "scholarfeed"
    assert sample_page.warnings == ()
    assert all(e.title and e.abstract and len(e.authors) == 3 for e in sample_page.entries)


def test_sample_pinned_facts(sample_page: ListingPage) -> None:
    titles = [e.title for e in sample_page.entries]
    assert "LongNet: Scaling Transformers to 1,000,000,000 Tokens" in titles
    longnet = sample_page.entries[
        titles.index("LongNet: Scaling Transformers to 1,000,000,000 Tokens")
    ]
    assert longnet.authors == ("Jiayu Ding", "Shuming Ma", "Li Dong")
    assert longnet.authors_complete is False
    ocr = next(e for e in sample_page.entries if e.authors[0].startswith("JiaCheng"))
    assert ocr.authors[0] == "JiaCheng Deng"
    assert ocr.title is not None and ocr.title.endswith("Optical Character Recognition")
    pvnp = next(e for e in sample_page.entries if e.authors[0] == "Qingxiu Dong")
    assert pvnp.title == "Large Language Model for Science: A Study on P vs. NP"
    for title in ("Kosmos-2", "KOSMOS-2.5", "Kosmos-G", "BEiT v2", "VL-BEiT"):
        assert sum(1 for t in titles if t and t.startswith(title + ":")) == 1


def test_sample_header_fields(sample_page: ListingPage) -> None:
    first = sample_page.entries[0]
    assert first.primary_category == "cs.CL" and first.categories == ("cs.CL",)
    assert first.published_date == date(2022, 12, 20) and first.has_code is True
    assert first.organizations == ("microsoft-research", "tsinghua")
    last = sample_page.entries[-1]  # "SDJan 26": yearless, no Code badge
    assert last.primary_category == "cs.SD"
    assert last.published_date == date(2026, 1, 26) and last.has_code is False
    assert sum(1 for e in sample_page.entries if e.has_code) == 11  # `grep -c "Code$"`


def test_yearless_date_after_capture_is_last_year() -> None:
    page = _text(SAMPLE.read_bytes(), fetched_at=datetime(2026, 1, 20, tzinfo=timezone.utc))
    assert page.entries[-1].published_date == date(2025, 1, 26)  # "Jan 26" seen on Jan 20
    assert page.entries[0].published_date == date(2022, 12, 20)  # explicit years untouched


def test_sample_crlf_and_blank_lines_parse_the_same(sample_page: ListingPage) -> None:
    body = SAMPLE.read_bytes().replace(b"\n", b"\r\n\r\n")
    assert _text(body).entries == sample_page.entries


def test_leading_chrome_is_skipped_with_warning(sample_page: ListingPage) -> None:
    page = _text(b"Li Dong\nh-index 74\n" + SAMPLE.read_bytes())
    assert page.entries == sample_page.entries
    assert page.warnings == ("skipped 2 line(s) before the first card",)


def test_middle_card_without_abstract_warns() -> None:
    lines = SAMPLE.read_bytes().split(b"\n")
    body = b"\n".join(lines[:5] + lines[6:])  # drop card 1's abstract
    page = _text(body)
    assert len(page.entries) == 50
    assert page.entries[1].abstract is None
    assert page.warnings == ("card 1 has no abstract",)


# --------------------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    ("line", "title", "authors", "complete", "orgs"),
    [
        (
            "LongNet: Scaling Transformers to 1,000,000,000 TokensJiayu Ding, Shuming Ma, "
            "Li Dong et al. · microsoft-research",
            "LongNet: Scaling Transformers to 1,000,000,000 Tokens",
            ("Jiayu Ding", "Shuming Ma", "Li Dong"),
            False,
            ("microsoft-research",),
        ),
        (
            "Making Your Text Invisible to Optical Character RecognitionJiaCheng Deng, "
            "Li Dong, Jiahao Chen et al.",
            "Making Your Text Invisible to Optical Character Recognition",
            ("JiaCheng Deng", "Li Dong", "Jiahao Chen"),
            False,
            (),
        ),
        (
            "A Study on P vs. NPQingxiu Dong, Li Dong, Ke Xu et al. · microsoft-research, pku",
            "A Study on P vs. NP",
            ("Qingxiu Dong", "Li Dong", "Ke Xu"),
            False,
            ("microsoft-research", "pku"),
        ),
        (
            "Why Can GPT Learn In-Context?Damai Dai",
            "Why Can GPT Learn In-Context?",
            ("Damai Dai",),
            True,
            (),
        ),
        (
            "Grounding Models with Kosmos-2Zhiliang Peng, Li Dong",
            "Grounding Models with Kosmos-2",
            ("Zhiliang Peng", "Li Dong"),
            True,
            (),
        ),
        (
            "Scaling Attention with LongNetJiayu Ding, Li Dong",
            "Scaling Attention with LongNet",
            ("Jiayu Ding", "Li Dong"),
            True,
            (),
        ),
        (
            "Masked Image Modeling for BEiTWenhui Wang",
            "Masked Image Modeling for BEiT",
            ("Wenhui Wang",),
            True,
            (),
        ),
        (
            "Memory for LLMs (LongMem)Weizhi Wang, Li Dong",
            "Memory for LLMs (LongMem)",
            ("Weizhi Wang", "Li Dong"),
            True,
            (),
        ),
        (
            "Sparse, Dense, and Attentional RepresentationsYi Luan, Jacob Eisenstein",
            "Sparse, Dense, and Attentional Representations",
            ("Yi Luan", "Jacob Eisenstein"),
            True,
            (),
        ),
        ("Fast, Cheap, GoodLi Dong", "Fast, Cheap, Good", ("Li Dong",), True, ()),
        (
            "CLIP Models are Few-shot LearnersWei-Nan Zhang, Li Dong",
            "CLIP Models are Few-shot Learners",
            ("Wei-Nan Zhang", "Li Dong"),
            True,
            (),
        ),
        (
            "A Tree of LifeMatthew J Thompson, Mary McDonald",
            "A Tree of Life",
            ("Matthew J Thompson", "Mary McDonald"),
            True,
            (),
        ),
        (
            "Deep Learning Is Not All You NeedYann LeCun",
            "Deep Learning Is Not All You Need",
            ("Yann LeCun",),
            True,
            (),
        ),
        (
            "Title with a 1,000 LayersHongyu Wang · msr-asia",
            "Title with a 1,000 Layers",
            ("Hongyu Wang",),
            True,
            ("msr-asia",),
        ),
    ],
)
def test_split_byline(
    line: str, title: str, authors: tuple[str, ...], complete: bool, orgs: tuple[str, ...]
) -> None:
    assert split_byline(line) == Byline(title, authors, complete, orgs)


@pytest.mark.parametrize("line", ["", "all lower case, no names here", "Title Only Words", "NP"])
def test_split_byline_gives_up(line: str) -> None:
    assert split_byline(line) is None


# --------------------------------------------------------------------------- text errors


def _kind(body: bytes, parse: object = scholarfeed.parse_text) -> str:
    with pytest.raises(ParseError) as info:
        parse(body, url=URL, fetched_at=FETCHED)  # type: ignore[operator]
    assert info.value.source == "scholarfeed" and info.value.url == URL
    return info.value.kind


def test_truncated_card_alone() -> None:
    two_lines = b"\n".join(SAMPLE.read_bytes().split(b"\n")[:2])
    assert _kind(two_lines) == "truncated"


def test_truncated_last_card() -> None:
    lines = SAMPLE.read_bytes().split(b"\n")
    assert _kind(b"\n".join(lines + lines[:2])) == "truncated"
    assert _kind(b"\n".join(lines[:-1])) == "truncated"  # last card lost its abstract


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "truncated"),
        (b"  \n\n \t\n", "truncated"),
        (b"\x00\x01\x02\xff\xfe binary \x89PNG", "garbage"),
        (bytes(range(256)) * 4, "garbage"),
        (b"just some words\nand another line\n", "garbage"),
        (b"CLDec 20, 2022Code\nno capitals anywhere, so no author\nabstract\n", "missing_field"),
    ],
)
def test_text_errors(body: bytes, kind: str) -> None:
    assert _kind(body) == kind


@pytest.mark.parametrize("other", ["001_99a23e4416e6295b.txt", "004_518d20e6b0e966d4.txt"])
def test_other_samples_are_rejected(other: str) -> None:
    assert _kind((SAMPLES / other).read_bytes()) == "garbage"


def test_header_followed_by_header_mid_page() -> None:
    lines = SAMPLE.read_bytes().split(b"\n")
    assert _kind(b"\n".join(lines[:1] + lines[3:])) == "missing_field"


# --------------------------------------------------------------------------- sniffing


def test_looks_like_text() -> None:
    assert scholarfeed.looks_like_text(SAMPLE.read_bytes())
    for other in ("001_99a23e4416e6295b.txt", "004_518d20e6b0e966d4.txt"):
        assert not scholarfeed.looks_like_text((SAMPLES / other).read_bytes())
    assert not scholarfeed.looks_like_text(b"")
    assert not scholarfeed.looks_like_text(HTML.read_bytes())


# --------------------------------------------------------------------------- HTML


def _html(body: bytes) -> ListingPage:
    return scholarfeed.parse_html(body, url=URL, fetched_at=FETCHED)


def test_html_golden() -> None:
    assert_golden(_html(HTML.read_bytes()), "scholarfeed_author_page_html.json")


def test_html_cards() -> None:
    page = _html(HTML.read_bytes())
    assert len(page.entries) == 5 and page.kind == "author"
    first, longnet, ocr, vibe, lambo = page.entries
    assert first.arxiv_id == "2212.10559" and first.has_code is True
    assert first.code_url == "https://github.com/microsoft/LMOps"
    assert first.authors_complete is False and first.organizations == (
        "microsoft-research",
        "tsinghua",
    )
    assert longnet.title == "LongNet: Scaling Transformers to 1,000,000,000 Tokens"
    assert (longnet.arxiv_id, longnet.arxiv_version, longnet.has_code) == ("2307.02486", 2, False)
    assert ocr.authors[0] == "JiaCheng Deng"
    assert vibe.authors == ("Zhiliang Peng", "Jianwei Yu") and vibe.authors_complete is True
    assert vibe.published_date == date(2026, 1, 26) and vibe.primary_category == "cs.SD"
    assert lambo.abstract is not None and lambo.abstract.startswith("Next-generation edge")
    assert page.next_urls == ("https://www.scholarfeed.org/author/1234?page=2",)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "truncated"),
        (b"\x00\xff\x00junk", "garbage"),
        (b"plain words, no markup", "garbage"),
        (b"<html><body><p>Nothing here</p><a href='/about'>x</a></body></html>", "layout_changed"),
    ],
)
def test_html_errors(body: bytes, kind: str) -> None:
    assert _kind(body, scholarfeed.parse_html) == kind


# --------------------------------------------------------------------------- API


def _paper(n: int, **extra: object) -> dict[str, object]:
    paper: dict[str, object] = {
        "arxiv_id": f"2307.0248{n}",
        "title": f"Paper {n}",
        "authors": ["Ana Ruiz", "Bo Chen"],
        "published_date": "2023-07-05",
        "categories": ["cs.CL", "cs.LG"],
        "primary_category": "cs.CL",
        "has_code": n % 2 == 0,
        "github_url": "https://github.com/x/y" if n % 2 == 0 else None,
        "github_stars": 10,
        "citation_count": 3,
        "llm_summary": "A generated summary, not the abstract.",
        "institution_tags": ["microsoft-research"],
    }
    paper.update(extra)
    return paper


def _api(data: object, url: str = API_URL) -> ListingPage:
    return scholarfeed.parse_api(orjson.dumps(data), url=url, fetched_at=FETCHED)


def test_api_page() -> None:
    data = {
        "papers": [_paper(0), _paper(1, n_authors=12)],
        "total": 5,
        "page": 1,
        "limit": 2,
        "next_cursor": None,
    }
    page = _api(data)
    assert page.total == 5 and page.kind == "author"
    first, second = page.entries
    assert (first.arxiv_id, first.title, first.authors) == (
        "2307.02480",
        "Paper 0",
        ("Ana Ruiz", "Bo Chen"),
    )
    assert first.authors_complete is True and second.authors_complete is False
    assert first.published_date == date(2023, 7, 5)
    assert first.primary_category == "cs.CL" and first.categories == ("cs.CL", "cs.LG")
    assert first.has_code is True and first.code_url == "https://github.com/x/y"
    assert second.has_code is False and second.code_url is None
    assert first.organizations == ("microsoft-research",)
    assert first.abstract is None  # llm_summary is not an abstract
    assert page.next_urls == (
        "https://api.scholarfeed.org/api/v1/public/authors/1234/papers?page=2&limit=2",
    )


def test_api_last_page_has_no_next() -> None:
    assert _api({"papers": [_paper(4)], "total": 5, "page": 3, "limit": 2}).next_urls == ()
    full_but_done = {"papers": [_paper(0), _paper(1)], "total": 4, "page": 2, "limit": 2}
    assert _api(full_but_done).next_urls == ()


def test_api_cursor_when_total_unknown() -> None:
    data = {
        "papers": [_paper(0), _paper(1)],
        "total": None,
        "page": 1,
        "limit": 2,
        "next_cursor": "abc",
    }
    assert _api(data).next_urls == (
        "https://api.scholarfeed.org/api/v1/public/authors/1234/papers?limit=2&page=1&cursor=abc",
    )


def test_api_tolerates_odd_field_types() -> None:
    odd = _paper(
        0,
        authors=[{"name": "Ana Ruiz"}, 7, None],
        published_date="not a date",
        categories="cs.CL",
        has_code="yes",
        title=None,
    )
    (entry,) = _api({"papers": [odd]}).entries
    assert entry.authors == ("Ana Ruiz",) and entry.published_date is None
    assert entry.categories == ("cs.CL",) and entry.has_code is None and entry.title is None


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "truncated"),
        (b"{not json", "garbage"),
        (b"[1, 2]", "garbage"),
        (b'{"papers": 3}', "garbage"),
        (b'{"papers": [1]}', "garbage"),
        (b'{"total": 0}', "garbage"),
    ],
)
def test_api_errors(body: bytes, kind: str) -> None:
    assert _kind(body, scholarfeed.parse_api) == kind


# --------------------------------------------------------------------------- properties

_SAMPLE_BYTES = SAMPLE.read_bytes()
_HTML_BYTES = HTML.read_bytes()


def _slices(data: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary cuts of a real capture: the inputs most likely to reach deep code paths."""
    return st.tuples(st.integers(0, len(data)), st.integers(0, len(data))).map(
        lambda ab: data[min(ab) : max(ab)]
    )


_ANY_BYTES = st.one_of(st.binary(max_size=2_000), _slices(_SAMPLE_BYTES), _slices(_HTML_BYTES))
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@_PROPERTY
@given(_ANY_BYTES)
def test_any_bytes_give_a_page_or_parse_error(body: bytes) -> None:
    for parse in (scholarfeed.parse_text, scholarfeed.parse_html, scholarfeed.parse_api):
        try:
            page = parse(body, url=URL, fetched_at=FETCHED)
        except ParseError:
            continue
        assert isinstance(page, ListingPage) and page.source == "scholarfeed"


@_PROPERTY
@given(_ANY_BYTES)
def test_looks_like_text_never_raises(body: bytes) -> None:
    assert scholarfeed.looks_like_text(body) in (True, False)


@_PROPERTY
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "papers",
                        "total",
                        "page",
                        "limit",
                        "next_cursor",
                        "authors",
                        "title",
                        "arxiv_id",
                        "n_authors",
                        "has_code",
                        "categories",
                        "name",
                    ]
                ),
                inner,
                max_size=6,
            )
        ),
        max_leaves=30,
    )
)
def test_api_any_json_gives_a_page_or_parse_error(data: object) -> None:
    body = json.dumps(data).encode()  # not orjson: it refuses integers beyond 64 bits
    try:
        page = scholarfeed.parse_api(body, url=API_URL, fetched_at=FETCHED)
    except ParseError:
        return
    assert isinstance(page, ListingPage)


def test_looks_like_api_claims_saved_author_papers_json_only() -> None:
    from parsers import detect_format

    body = orjson.dumps({"papers": [_paper(1), _paper(2)], "total": 2})
    assert scholarfeed.looks_like_api(body)
    assert detect_format(body) == "scholarfeed-api"
    assert scholarfeed.looks_like_api(b'{"papers": [], "total": 0}')  # an author with none
    hf_api = (Path(__file__).resolve().parents[1] / "fixtures" / "hf_papers"
              / "api_daily_2026-05-08.json").read_bytes()  # fmt: skip
    for other in (hf_api, HTML.read_bytes(), b'{"papers": [1]}', b'{"items": []}', b"{", b""):
        assert not scholarfeed.looks_like_api(other), other[:40]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000) | st.dictionaries(
    st.sampled_from(["papers", "total", "x"]),
    st.lists(st.none() | st.integers() | st.dictionaries(st.text(max_size=5), st.integers()),
             max_size=3) | st.integers(),
).map(lambda v: json.dumps(v).encode()))  # fmt: skip
def test_looks_like_api_never_raises(body: bytes) -> None:
    assert scholarfeed.looks_like_api(body) in (True, False)
