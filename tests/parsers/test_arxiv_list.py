"""Tests for parsers/arxiv_list.py: goldens for every fixture, paging, URL helpers, error kinds,
and property tests that any input yields a ListingPage or a ParseError, nothing else.

Fixtures: tests/fixtures/arxiv_list (regenerate with make_fixtures.py there). Goldens:
tests/fixtures/golden/arxiv_list; rewrite them with `UPDATE_GOLDEN=1 pytest <this file>`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import arxiv_list
from parsers.errors import LayoutChanged, ParseError
from parsers.records import Entry, ListingPage
from tests.parsers.golden import assert_golden

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv_list"
FETCHED = datetime(2024, 10, 25, 6, 0, tzinfo=timezone.utc)
AX = "https://arxiv.org"
NEW = f"{AX}/list/cs.LG/new"

# fixture -> (URL it was fetched from, kind, page listed_date)
CASES: dict[str, tuple[str, str, date | None]] = {
    "new_cs.LG_p1.html": (f"{NEW}?skip=0&show=25", "new", date(2024, 10, 25)),
    "new_cs.LG_p2.html": (f"{NEW}?skip=25&show=25", "new", date(2024, 10, 25)),
    "new_cs.LG_p3.html": (f"{NEW}?skip=50&show=25", "new", date(2024, 10, 25)),
    "new_empty.html": (f"{AX}/list/q-fin.CP/new", "new", date(2024, 10, 28)),
    "new_mid2024.html": (f"{AX}/list/cs.CL/new", "new", date(2024, 7, 17)),
    "recent_current.html": (f"{AX}/list/cs.LG/recent?skip=50&show=25", "recent", None),
    "recent_legacy_cs.CL.html": (f"{AX}/list/cs.CL/pastweek?skip=0&show=25", "recent", None),
    "month_2024-01.html": (f"{AX}/list/cs.LG/2024-01?skip=0&show=25", "month", None),
}


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _parse(body: bytes, url: str = NEW) -> ListingPage:
    return arxiv_list.parse(body, url=url, fetched_at=FETCHED)


def _page(name: str) -> ListingPage:
    return _parse(_fixture(name), CASES[name][0])


def _by_id(page: ListingPage, arxiv_id: str) -> Entry:
    return next(e for e in page.entries if e.arxiv_id == arxiv_id)


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    url, kind, listed = CASES[name]
    page = _parse(_fixture(name), url)
    assert_golden(page, f"arxiv_list/{Path(name).stem}.json")
    assert (page.kind, page.listed_date, page.source) == (kind, listed, "arxiv-list")


def test_positions_are_page_ranks() -> None:
    for name in CASES:
        page = _page(name)
        assert [e.position for e in page.entries] == list(range(len(page.entries))), name


# --------------------------------------------------------------------------- field mapping


def test_new_page_fields() -> None:
    page = _page("new_cs.LG_p1.html")
    alpha = _by_id(page, "2410.18575")
    assert (
        alpha.title
        == r"Tight Generalization Bounds for $\alpha$-Stable SGD in Heavy-Tailed Regimes"
    )
    assert alpha.abstract is not None and alpha.abstract.startswith("Stochastic gradient")
    assert r"$\alpha$-stable L\'evy" in alpha.abstract
    assert alpha.authors == ("Chiara Rossi", "Nikolai Petrov", "Zoë Müller")
    assert (alpha.primary_category, alpha.categories) == ("cs.LG", ("cs.LG", "math.PR", "stat.ML"))
    assert (alpha.section, alpha.listed_date, alpha.arxiv_version) == ("new", date(2024, 10, 25), 1)
    assert _by_id(page, "2410.18554").arxiv_version is None  # no html link, no version


def test_collaboration_and_autolinks() -> None:
    atlas = _by_id(_page("new_cs.LG_p1.html"), "2410.18617")
    # The collaboration is plain text between links; links keep their text.
    assert atlas.authors == ("Hannah Schmidt", "Ibrahim Okafor", "ATLAS Collaboration")
    assert atlas.comments == (
        "18 pages, 9 figures. All figures and tables can be found at this https URL"
    )
    assert atlas.abstract is not None and atlas.abstract.endswith(
        "Code is available at this https URL."
    )


def test_cross_list_with_html_v2_and_br() -> None:
    cross = _by_id(_page("new_cs.LG_p2.html"), "2410.17891")
    assert (cross.section, cross.arxiv_version, cross.primary_category) == (
        "cross-list",
        2,
        "cs.CV",
    )
    assert cross.categories == ("cs.CV", "cs.LG", "cs.RO")
    assert cross.abstract is not None and "policies. With 50" in cross.abstract  # <br> -> space


def test_journal_ref_and_comments() -> None:
    entry = _by_id(_page("new_cs.LG_p2.html"), "2402.11873")
    assert entry.journal_ref == "J. Mach. Learn. Res. 25 (2024) 1-41"
    assert entry.comments == "Published version; 41 pages, 12 figures"
    assert (entry.section, entry.arxiv_version) == ("replacement", 3)


def test_old_style_id() -> None:
    entry = _by_id(_page("new_cs.LG_p3.html"), "math/0510544")
    assert (entry.arxiv_version, entry.primary_category, entry.section) == (
        None,
        "math.PR",
        "replacement",
    )
    assert entry.categories == ("math.PR", "cs.LG", "math.ST")


def test_author_list_unavailable() -> None:
    entry = _by_id(_page("recent_current.html"), "2410.17102")
    assert (entry.authors, entry.authors_complete) == ((), False)
    assert entry.title == "A Benchmark for Tabular Foundation Models"


def test_hundred_authors_may_be_cut() -> None:
    # arXiv silently cuts author lists at 100 names, so 100 shown means "maybe more".
    body = _fixture("new_cs.LG_p3.html")
    start = body.index(b"<div class='list-authors'>")
    end = body.index(b"</div>", start)
    names = b", ".join(b"<a href='/a'>Author %d</a>" % k for k in range(100))
    page = _parse(body[:start] + b"<div class='list-authors'>" + names + body[end:])
    first = page.entries[0]
    assert len(first.authors) == 100 and first.authors_complete is False
    assert all(e.authors_complete for e in page.entries[1:])


def test_without_dlpage_wrapper() -> None:
    body = _fixture("new_cs.LG_p3.html").replace(b"<div id='dlpage'>", b"<div>")
    page = _parse(body, CASES["new_cs.LG_p3.html"][0])
    assert page.entries == _page("new_cs.LG_p3.html").entries


def test_sections_continue_across_pages() -> None:
    sections = [[e.section for e in _page(f"new_cs.LG_p{n}.html").entries] for n in (1, 2, 3)]
    assert sections[0] == ["new"] * 25
    assert sections[1] == ["new"] * 5 + ["cross-list"] * 14 + ["replacement"] * 6
    assert sections[2] == ["replacement"] * 10
    ids = [e.arxiv_id for n in (1, 2, 3) for e in _page(f"new_cs.LG_p{n}.html").entries]
    assert len(ids) == len(set(ids)) == 60


def test_recent_days_and_markers() -> None:
    page = _page("recent_current.html")
    friday, thursday = page.entries[:10], page.entries[10:]
    assert {e.listed_date for e in friday} == {date(2024, 10, 25)}
    assert {e.listed_date for e in thursday} == {date(2024, 10, 24)}
    assert {e.section for e in friday} == {"replacement"}
    assert [e.section for e in thursday].count("cross-list") == 2
    assert all(e.abstract is None for e in page.entries)  # /recent shows no abstracts


def test_same_papers_across_listings() -> None:
    p3 = _page("new_cs.LG_p3.html")
    recent = _page("recent_current.html")
    assert [e.arxiv_id for e in recent.entries[:10]] == [e.arxiv_id for e in p3.entries]
    assert recent.entries[0].title == p3.entries[0].title
    month = {e.arxiv_id for e in _page("month_2024-01.html").entries}
    replaced = {
        e.arxiv_id for e in _page("new_cs.LG_p2.html").entries if e.section == "replacement"
    }
    assert {"2401.00345", "2401.00718"} <= month & replaced
    legacy = _by_id(_page("recent_legacy_cs.CL.html"), "2301.11305")
    later = _by_id(_page("new_mid2024.html"), "2301.11305")
    assert legacy.title == later.title and later.section == "replacement"


def test_legacy_layout() -> None:
    page = _page("recent_legacy_cs.CL.html")
    first = page.entries[0]
    assert first.authors == ("Eric Mitchell", "Yoonho Lee", "Tomás García")  # no "Authors:"
    assert first.title == "Measuring Fact Retention in Fine-Tuned Language Models"
    assert first.listed_date == date(2023, 1, 27) and page.entries[-1].listed_date == date(
        2023, 1, 26
    )
    cross = _by_id(page, "2301.10940")
    assert (cross.section, cross.primary_category) == ("cross-list", "eess.AS")
    assert (page.total, len(page.entries), page.warnings) == (163, 25, ())


def test_mid2024_dated_headings() -> None:
    page = _page("new_mid2024.html")
    assert [e.section for e in page.entries] == ["new"] * 4 + ["cross-list"] * 2 + [
        "replacement"
    ] * 3
    assert {e.listed_date for e in page.entries} == {date(2024, 7, 17)}
    assert (page.total, page.next_urls) == (9, ())


def test_empty_page() -> None:
    page = _page("new_empty.html")
    assert (page.entries, page.total, page.next_urls, page.warnings) == ((), 0, (), ())


def test_month_page() -> None:
    page = _page("month_2024-01.html")
    assert {e.listed_date for e in page.entries} == {None}
    assert page.total == 4187 and len(page.entries) == 25


def _legacy_new_page(headings: list[str]) -> bytes:
    """A minimal legacy-layout /new page: each heading h3 followed by a plain dl."""
    blocks = "".join(
        f'<h3>{heading}</h3>\n<dl>\n<dt><a name="item{k}">[{k}]</a>&nbsp; '
        f'<span class="list-identifier"><a href="/abs/2301.1100{k}" title="Abstract">'
        f'arXiv:2301.1100{k}</a></span></dt>\n<dd><div class="meta">'
        f'<div class="list-title mathjax"><span class="descriptor">Title:</span> T{k}</div>'
        "</div></dd>\n</dl>\n"
        for k, heading in enumerate(headings, start=1)
    )
    return (
        '<html><head><title>cs.CL new</title></head><body><div id="dlpage">'
        f"<h1>Computation and Language</h1>\n{blocks}</div></body></html>"
    ).encode()


def test_legacy_new_headings() -> None:
    body = _legacy_new_page(
        [
            "New submissions for Fri, 27 Jan 23",
            "Cross-lists for Fri, 27 Jan 23",
            "Replacements for Fri, 27 Jan 23",
        ]
    )
    page = _parse(body, f"{AX}/list/cs.CL/new")
    assert [(e.arxiv_id, e.section, e.title) for e in page.entries] == [
        ("2301.11001", "new", "T1"),
        ("2301.11002", "cross-list", "T2"),
        ("2301.11003", "replacement", "T3"),
    ]
    assert page.listed_date == date(2023, 1, 27)
    assert {e.listed_date for e in page.entries} == {date(2023, 1, 27)}
    assert page.total is None and page.next_urls == ()


def test_impossible_heading_date_is_none() -> None:
    page = _parse(_legacy_new_page(["New submissions for Fri, 31 Feb 23"]))
    assert page.entries[0].listed_date is None and page.entries[0].section == "new"


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("new_cs.LG_p1.html", (f"{NEW}?skip=25&show=25",)),
        ("new_cs.LG_p2.html", (f"{NEW}?skip=50&show=25",)),
        ("new_cs.LG_p3.html", ()),
        ("new_mid2024.html", ()),
        ("new_empty.html", ()),
        ("recent_current.html", (f"{AX}/list/cs.LG/recent?skip=75&show=25",)),
        ("recent_legacy_cs.CL.html", (f"{AX}/list/cs.CL/pastweek?skip=25&show=25",)),
        ("month_2024-01.html", (f"{AX}/list/cs.LG/2024-01?skip=25&show=25",)),
    ],
)
def test_next_urls(name: str, expected: tuple[str, ...]) -> None:
    assert _page(name).next_urls == expected


def test_totals() -> None:
    totals = {name: _page(name).total for name in CASES}
    assert totals["new_cs.LG_p1.html"] == totals["new_cs.LG_p3.html"] == 60
    assert totals["recent_current.html"] == 268


def test_next_url_keeps_path_and_other_params() -> None:
    body = _fixture("new_cs.LG_p1.html")
    page = _parse(body, "https://export.arxiv.org/list/cs.LG/new?show=25&foo=1#item0")
    assert page.next_urls == ("https://export.arxiv.org/list/cs.LG/new?foo=1&skip=25&show=25",)


def test_next_url_uses_page_range_and_size_over_url() -> None:
    # No query at all: skip comes from the page's "26-50" span, show from "up to 25".
    assert _parse(_fixture("new_cs.LG_p2.html"), NEW).next_urls == (f"{NEW}?skip=50&show=25",)
    # A nonsense skip in the URL does not matter either.
    page = _parse(_fixture("new_cs.LG_p2.html"), f"{NEW}?skip=abc&show=25")
    assert page.next_urls == (f"{NEW}?skip=50&show=25",)


@pytest.mark.parametrize(
    "url", ["/tmp/saved/new.html", "http://[bad", "", "https://arxiv.org/abs/x"]
)
def test_no_next_url_without_a_list_url(url: str) -> None:
    page = _parse(_fixture("new_cs.LG_p1.html"), url)
    assert page.next_urls == () and len(page.entries) == 25


def test_kind_from_url_when_page_does_not_say() -> None:
    body = _legacy_new_page(["New submissions for Fri, 27 Jan 23"])
    assert _parse(body, f"{AX}/list/cs.CL/2023").kind == "year"
    assert _parse(body, f"{AX}/list/cs.CL/2023-01").kind == "month"
    assert _parse(body, f"{AX}/list/cs.CL/current").kind == "month"
    assert _parse(body, f"{AX}/list/cs.CL/pastweek").kind == "recent"
    assert _parse(body, "saved.html").kind == "new"


def test_kind_from_page_heading_wins() -> None:
    assert _parse(_fixture("month_2024-01.html"), "file.html").kind == "month"
    assert _parse(_fixture("recent_legacy_cs.CL.html"), "file.html").kind == "recent"
    year = _fixture("month_2024-01.html").replace(b"for January 2024 <", b"for 2024 <")
    assert _parse(year, "file.html").kind == "year"


# --------------------------------------------------------------------------- URL helpers


@pytest.mark.parametrize(
    ("category", "listing", "skip", "show", "expected"),
    [
        ("cs.LG", "new", 0, None, f"{AX}/list/cs.LG/new"),
        ("cs.LG", "pastweek", 0, None, f"{AX}/list/cs.LG/recent"),
        ("cs.LG", "recent", 50, 25, f"{AX}/list/cs.LG/recent?skip=50&show=25"),
        ("astro-ph", "2024-01", 0, 2000, f"{AX}/list/astro-ph/2024-01?skip=0&show=2000"),
        ("astro-ph.GA", "2024", 0, None, f"{AX}/list/astro-ph.GA/2024"),
        ("math", "current", 100, None, f"{AX}/list/math/current?skip=100"),
        ("cond-mat.stat-mech", "new", 0, None, f"{AX}/list/cond-mat.stat-mech/new"),
        ("q-fin.CP", "1991-08", 0, None, f"{AX}/list/q-fin.CP/1991-08"),
    ],
)
def test_listing_url(
    category: str, listing: str, skip: int, show: int | None, expected: str
) -> None:
    assert arxiv_list.listing_url(AX + "/", category, listing, skip=skip, show=show) == expected


@pytest.mark.parametrize("show", [30, 0, -25, 10, 5000])
def test_listing_url_rejects_show(show: int) -> None:
    with pytest.raises(ValueError, match="show must be one of 25, 50, 100"):
        arxiv_list.listing_url(AX, "cs.LG", "new", show=show)


@pytest.mark.parametrize(
    "category",
    ["../etc", "cs.LG/../../x", "", "CS.LG", "cs LG", "cs.LG?x=1", "cs.LG#a", "cs.", ".LG"]
    + ["cs..LG", "cs.LG.x", "cs/LG", "%2e%2e", "a" * 40, "cs.LG\n", "1cs"],
)
def test_listing_url_rejects_category(category: str) -> None:
    with pytest.raises(ValueError, match="category"):
        arxiv_list.listing_url(AX, category, "new")


@pytest.mark.parametrize(
    "listing",
    [
        "2024-13",
        "2024-00",
        "1989",
        "1990-12",
        "2401",
        "9912",
        "24-01",
        "2024-1",
        "latest",
        "../new",
        "",
    ],
)
def test_listing_url_rejects_listing(listing: str) -> None:
    with pytest.raises(ValueError, match="listing"):
        arxiv_list.listing_url(AX, "cs.LG", listing)


def test_listing_url_rejects_negative_skip() -> None:
    with pytest.raises(ValueError, match="skip"):
        arxiv_list.listing_url(AX, "cs.LG", "new", skip=-1)


def test_source_spec() -> None:
    spec = arxiv_list.SOURCE
    assert (spec.name, spec.default_base_url, spec.concurrency) == ("arxiv-list", AX, 1)
    assert spec.allowed_hosts == frozenset({"arxiv.org", "export.arxiv.org"})
    assert spec.max_rate == pytest.approx(1 / 3)


def test_looks_like_html() -> None:
    names = [*CASES, "changed_layout.html", "truncated_new.html"]
    for name in names:
        assert arxiv_list.looks_like_html(_fixture(name)), name
    assert not arxiv_list.looks_like_html(_fixture("garbage.html"))
    assert not arxiv_list.looks_like_html(b"")
    assert not arxiv_list.looks_like_html(b'<div id="dlpage">no source named</div>')


# --------------------------------------------------------------------------- error kinds


def _kind(body: bytes) -> str:
    with pytest.raises(ParseError) as err:
        _parse(body)
    return err.value.kind


def test_changed_layout_is_layout_changed() -> None:
    with pytest.raises(LayoutChanged) as err:
        _parse(_fixture("changed_layout.html"))
    assert err.value.selector == "dl > dt" and err.value.source == "arxiv-list"


def test_truncated_fixture() -> None:
    with pytest.raises(ParseError) as err:
        _parse(_fixture("truncated_new.html"), CASES["new_cs.LG_p1.html"][0])
    assert err.value.kind == "truncated" and err.value.url.endswith("skip=0&show=25")


def test_cut_between_sections_is_truncated() -> None:
    body = _fixture("new_cs.LG_p2.html")
    # Cut right after the cross-lists dl closes: every dl is closed, but 6 entries are missing.
    cut = body.index(b"</dl>", body.index(b"Cross submissions")) + len(b"</dl>\n")
    assert _kind(body[:cut]) == "truncated"


def test_cut_in_header_is_truncated() -> None:
    assert _kind(_fixture("new_cs.LG_p1.html")[:2500]) == "truncated"


def test_missing_entries_on_complete_page_warn() -> None:
    body = _fixture("new_mid2024.html")
    start = body.index(b"<dt>")
    end = body.index(b"</dd>", start) + len(b"</dd>")
    page = _parse(body[:start] + body[end:])
    assert len(page.entries) == 8
    assert page.warnings == ("page announces 9 entries but 8 were found",)


def test_entry_without_id_is_missing_field() -> None:
    body = _fixture("new_cs.LG_p1.html").replace(b'title="Abstract"', b'title="Abs"', 1)
    with pytest.raises(ParseError) as err:
        _parse(body)
    assert err.value.kind == "missing_field" and "Abstract" in (err.value.selector or "")
    assert err.value.excerpt is not None and "[1]" in err.value.excerpt


def test_entry_without_title_warns() -> None:
    body = _fixture("new_cs.LG_p3.html").replace(b"list-title", b"list-heading", 1)
    page = _parse(body)
    assert page.entries[0].title is None
    assert page.warnings == ("entry 0 (2409.12097): no title",)


def test_total_zero_is_empty() -> None:
    body = _fixture("changed_layout.html").replace(b"Total of 3 entries", b"Total of 0 entries")
    page = _parse(body)
    assert (page.entries, page.total) == ((), 0)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t",
        b"\x00\x01\x02",
        b"hello world",
        b"<html><head><title>Example Domain</title></head><body><p>x</p></body></html>",
        b"<dl><dt>Term</dt><dd>Definition</dd></dl>",
        b'{"entries": []}',
    ],
)
def test_garbage(body: bytes) -> None:
    assert _kind(body) == "garbage"


def test_garbage_fixture() -> None:
    assert _kind(_fixture("garbage.html")) == "garbage"


# --------------------------------------------------------------------------- properties


def _parses_or_parse_error(body: bytes, url: str = NEW) -> None:
    try:
        page = _parse(body, url)
    except ParseError:
        return
    assert isinstance(page, ListingPage)
    assert all(e.arxiv_id for e in page.entries)


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
P2 = _fixture("new_cs.LG_p2.html")
LEGACY = _fixture("recent_legacy_cs.CL.html")


@_FAST
@given(st.binary(max_size=4096))
def test_any_bytes(body: bytes) -> None:
    _parses_or_parse_error(body)


@_FAST
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/='\" adlt#dlpagesrtic[]()0123456789,-:")), max_size=400
    )
)
def test_any_tag_soup(text: str) -> None:
    _parses_or_parse_error(text.encode())


@_FAST
@given(st.sampled_from([P2, LEGACY]), st.floats(min_value=0, max_value=1))
def test_fixture_cut_anywhere(body: bytes, where: float) -> None:
    _parses_or_parse_error(body[: int(len(body) * where)])


@_FAST
@given(
    st.sampled_from([P2, LEGACY]),
    st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=4)), max_size=8),
)
def test_fixture_mutated(base: bytes, edits: list[tuple[float, bytes]]) -> None:
    body = bytearray(base)
    for where, new in edits:
        pos = min(int(len(body) * where), len(body) - 1)
        body[pos : pos + 1] = new
    _parses_or_parse_error(bytes(body))


_SNIPPETS = st.sampled_from(
    [
        b"<dt>",
        b"</dl>",
        b"<dl id='articles'>",
        b"<h3>Fri, 31 Feb 2024 (showing 999999999 of 1 entries )</h3>",
        b"Total of 99999999999999 entries",
        b"<span>9-1</span>",
        b'<a href="/abs/" title="Abstract">',
        b'<a href="https://arxiv.org/html/2410.17891v99999999999">',
        b"(cross-list from ",
        b"<span class='descriptor'>",
        b"No updates today.",
        b"\xff\xfe",
        b"<b>" * 50,
    ]
)


@_FAST
@given(st.lists(st.tuples(st.floats(0, 1), _SNIPPETS), min_size=1, max_size=6))
def test_fixture_with_hostile_snippets(edits: list[tuple[float, bytes]]) -> None:
    body = bytearray(P2)
    for where, snippet in edits:
        pos = int(len(body) * where)
        body[pos:pos] = snippet
    _parses_or_parse_error(bytes(body), f"{NEW}?skip=99999999999&show=x")
