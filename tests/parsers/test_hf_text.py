"""Tests for parsers/hf_text.py against the real HF Papers search-page text capture.

Golden: tests/fixtures/golden/hf_text_001.json (titles plus each abstract's opening, which
pins the title/abstract pairing); `UPDATE_GOLDEN=1` rewrites it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import hf_text
from parsers.errors import ParseError
from parsers.records import ListingPage, title_key
from parsers.tex import render_tex
from tests.parsers.golden import assert_golden

SAMPLES = Path(__file__).resolve().parents[2] / "flows" / "demo_site" / "samples"
SAMPLE = SAMPLES / "001_99a23e4416e6295b.txt"
FETCHED = datetime(2026, 3, 13, 12, 0, tzinfo=timezone.utc)
URL = "https://huggingface.co/papers?q=pretrained+language+models"
CHROME = (
    b"new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n"
    b"byAK and the research community\n\nMar 13\n\n"
)


def _parse(body: bytes) -> ListingPage:
    return hf_text.parse_text(body, url=URL, fetched_at=FETCHED)


@pytest.fixture(scope="module")
def page() -> ListingPage:
    return _parse(SAMPLE.read_bytes())


def test_golden(page: ListingPage) -> None:
    assert_golden(page, "hf_text_001.json", ("position", "title", "abstract"), clip=60)


def test_sample_has_105_pairs(page: ListingPage) -> None:
    assert len(page.entries) == 105 and page.warnings == ()
    assert (page.source, page.kind) == ("hf-papers", "search")
    assert [e.position for e in page.entries] == list(range(105))
    assert all(e.title and e.abstract for e in page.entries)
    assert all(len(e.title or "") < 200 < len(e.abstract or "") for e in page.entries)


def test_pangu_title_keeps_tex_and_renders(page: ListingPage) -> None:
    first = page.entries[0]
    assert first.title is not None and first.title.startswith("PanGu-$α$: Large-scale")
    assert render_tex(first.title).startswith("PanGu-α: Large-scale")
    assert title_key(first.title) == title_key(render_tex(first.title))
    assert first.abstract is not None and first.abstract.startswith("Large-scale Pretrained")


def test_last_pair(page: ListingPage) -> None:
    last = page.entries[-1]
    assert last.title == "Augmenting LLMs with Knowledge: A survey on hallucination prevention"
    assert last.abstract is not None and last.abstract.startswith("Large pre-trained language")


def test_chrome_glued_onto_first_title(page: ListingPage) -> None:
    body = SAMPLE.read_bytes()
    glued = body.replace(CHROME, b"new\nGet trending papers in your email inbox!\nSubscribe")
    assert glued != body
    assert _parse(glued).entries == page.entries
    with_date = body.replace(CHROME, b"SubscribebyAK and the research communityMar 13")
    assert _parse(with_date).entries == page.entries


def test_exploring_example_from_readme() -> None:
    body = (
        b"Subscribe\n\nSubscribeExploring the Limits of Transfer Learning\n\n"
        b"Transfer learning has emerged as a powerful technique. We explore it at scale."
    )
    (entry,) = _parse(body).entries
    assert entry.title == "Exploring the Limits of Transfer Learning"


def test_without_chrome(page: ListingPage) -> None:
    assert _parse(SAMPLE.read_bytes().replace(CHROME, b"")).entries == page.entries


def test_missing_abstract_mid_page_warns(page: ListingPage) -> None:
    lines = SAMPLE.read_bytes().split(b"\n\n")
    body = b"\n\n".join(lines[:8] + lines[9:])  # drop the 2nd paper's abstract
    short = _parse(body)
    assert len(short.entries) == 105
    assert short.entries[1].title == page.entries[1].title and short.entries[1].abstract is None
    assert short.warnings == ("entry 1: title without an abstract",)


def _with_abstract(n: int, text: bytes) -> bytes:
    """The sample with paper n's abstract replaced by `text`."""
    head, _, rest = SAMPLE.read_bytes().partition(CHROME)
    blocks = rest.split(b"\n\n")
    blocks[2 * n + 1] = text
    return head + CHROME + b"\n\n".join(blocks)


@pytest.mark.parametrize("n", [10, 104])
@pytest.mark.parametrize(
    "abstract",
    [
        b"We study a short question and answer it in one sentence of our own.",
        b"A one-sentence abstract without a final period and no second sentence",
    ],
)
def test_short_abstracts_stay_with_their_titles(
    page: ListingPage, n: int, abstract: bytes
) -> None:
    """Titles and abstracts alternate block by block: a short abstract is still an abstract
    (it used to become a paper of its own, or fail the page when it was the last)."""
    short = _parse(_with_abstract(n, abstract))
    assert len(short.entries) == 105 and short.warnings == ()
    assert short.entries[n].title == page.entries[n].title
    assert short.entries[n].abstract == abstract.decode()


def test_a_lost_abstract_before_a_short_one_is_not_filled_with_the_next_title(
    page: ListingPage,
) -> None:
    head, _, rest = SAMPLE.read_bytes().partition(CHROME)
    blocks = rest.split(b"\n\n")
    blocks[2 * 11 + 1] = b"We study a short question and answer it in one sentence."
    del blocks[2 * 10 + 1]  # paper 10 lost its abstract
    entries = _parse(head + CHROME + b"\n\n".join(blocks)).entries
    assert (entries[10].title, entries[10].abstract) == (page.entries[10].title, None)
    assert entries[11].title == page.entries[11].title
    assert entries[11].abstract == "We study a short question and answer it in one sentence."


def test_titles_only_is_not_this_format(page: ListingPage) -> None:
    body = CHROME + b"\n\n".join((e.title or "").encode() for e in page.entries[:10])
    with pytest.raises(ParseError) as info:
        _parse(body)
    assert info.value.kind == "garbage"


def test_entries_separated_by_blank_lines_title_over_abstract(page: ListingPage) -> None:
    body = CHROME + b"\n\n".join(f"{e.title}\n{e.abstract}".encode() for e in page.entries)
    assert _parse(body).entries == page.entries


def test_an_abstract_broken_over_lines_is_one_abstract(page: ListingPage) -> None:
    original = page.entries[10].abstract
    assert original is not None
    cut = original.index(" ", len(original) // 2)
    broken = (original[:cut] + "\n" + original[cut + 1 :]).encode()
    entries = _parse(_with_abstract(10, broken)).entries
    assert len(entries) == 105 and entries[10].abstract == original


@pytest.mark.parametrize(
    "title",
    [
        "$\\pi_0$: A Vision-Language-Action Flow Model for General Robot Control",
        "mPLUG-Owl: Modularization Empowers Large Language Models with Multimodality",
        "3D-LLM: Injecting the 3D World into Large Language Models",
    ],
)
def test_chrome_glued_onto_a_title_of_any_first_character(title: str) -> None:
    body = (CHROME.replace(b"Mar 13\n\n", b"Mar 13") + title.encode() + b"\n\n"
            + b"We present a model. It does things well.")  # fmt: skip
    (entry,) = _parse(body).entries
    assert entry.title == title
    body = (b"new\n\nGet trending papers in your email inbox!\n\nSubscribe" + title.encode()
            + b"\n\nWe present it. It works.")  # fmt: skip
    (entry,) = _parse(body).entries
    assert entry.title == title


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "truncated"),
        (b"\n \n", "truncated"),
        (b"\x00\x9f\x92\x96garbage\xff", "garbage"),
        (CHROME, "layout_changed"),
        (b"a title\n\nanother title\n\nyet another", "garbage"),
    ],
)
def test_errors(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse(body)
    assert (info.value.kind, info.value.source, info.value.url) == (kind, "hf-papers", URL)


@pytest.mark.parametrize("other", ["000_45c0c684d78e435f.txt", "004_518d20e6b0e966d4.txt"])
def test_other_samples_are_rejected(other: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse((SAMPLES / other).read_bytes())
    assert info.value.kind == "garbage"


def test_page_ending_on_a_title_is_truncated() -> None:
    with pytest.raises(ParseError) as info:
        _parse(SAMPLE.read_bytes() + b"\n\nA Title Whose Abstract Was Cut Off\n")
    assert info.value.kind == "truncated"


def test_looks_like_text() -> None:
    assert hf_text.looks_like_text(SAMPLE.read_bytes())
    assert hf_text.looks_like_text(SAMPLE.read_bytes().replace(CHROME, b""))
    for other in ("000_45c0c684d78e435f.txt", "004_518d20e6b0e966d4.txt"):
        assert not hf_text.looks_like_text((SAMPLES / other).read_bytes())
    assert not hf_text.looks_like_text(b"")
    assert not hf_text.looks_like_text(b"<html><body>Get trending papers in your email inbox!")


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
        result = _parse(body)
    except ParseError:
        return
    assert isinstance(result, ListingPage) and result.entries


@_PROPERTY
@given(_ANY)
def test_looks_like_text_never_raises(body: bytes) -> None:
    assert hf_text.looks_like_text(body) in (True, False)
