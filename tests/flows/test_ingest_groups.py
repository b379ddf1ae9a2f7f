"""How a crawl splits its pages into fetch/parse groups (one Prefect task pair per group)."""

from __future__ import annotations

from flows.pipeline import CrawlGroups as _Groups
from warehouse.load import FetchStats, PageState

KNOWN = PageState(etag='"x"', last_modified=None, parsed_sha256="0" * 64)


def _sizes(urls: list[str], state: dict[str, PageState], size: int, changed: set[str]) -> list[int]:
    """Group sizes of a wave in which exactly the `changed` known pages come back with a body."""
    groups, out = _Groups(urls, state, size), []
    for group in groups:
        out.append(len(group))
        unchanged = sum(u in state and u not in changed for u in group)
        groups.fetched(len(group), FetchStats(requests=len(group), not_modified=unchanged))
    return out


def test_a_new_wave_ramps_up_to_the_batch_size_and_keeps_every_page_once_in_order() -> None:
    pages = [f"p{i}" for i in range(2000)]
    assert _sizes(pages, {}, 200, set()) == [25, 50, 100] + [200] * 9 + [25]
    assert [p for g in _Groups(pages, {}, 200) for p in g] == pages


def test_small_crawls_and_tiny_batches() -> None:
    assert list(_Groups([], {}, 200)) == []
    assert list(_Groups(["a", "b", "c"], {}, 200)) == [["a", "b", "c"]]
    assert list(_Groups(list("abcd"), {}, 1)) == [["a"], ["b"], ["c"], ["d"]]
    assert _sizes([str(i) for i in range(20)], {}, 6, set()) == [1, 2, 4, 6, 6, 1]


def test_an_unchanged_recrawl_grows_its_groups() -> None:
    urls = [f"u{i}" for i in range(3000)]
    state = {u: KNOWN for u in urls}
    # All 304s: 200, then doubling up to 8x the batch: 8 task pairs instead of 15.
    assert _sizes(urls, state, 200, set()) == [200, 400, 800, 1600]
    assert _sizes(urls[:2000], state, 200, set()) == [200, 400, 800, 600]


def test_a_group_with_pages_to_parse_sets_the_size_back() -> None:
    urls = [f"u{i}" for i in range(2000)]
    state = {u: KNOWN for u in urls}
    changed = {"u700"}  # in the third group
    assert _sizes(urls, state, 200, changed) == [200, 400, 800, 200, 400]
    # A site that ignores validators (every page a 200): plain groups throughout.
    assert _sizes(urls, state, 200, set(urls)) == [200] * 10


def test_a_wave_of_mostly_known_pages_starts_with_full_groups() -> None:
    urls = [f"u{i}" for i in range(1000)]
    mostly_known = {u: KNOWN for u in urls[:600]}
    assert _sizes(urls, mostly_known, 200, set())[0] == 200
    assert _sizes(urls, {u: KNOWN for u in urls[:400]}, 200, set())[:3] == [25, 50, 100]
