"""How a crawl splits its pages into fetch/parse groups (one Prefect task pair per group)."""

from __future__ import annotations

from flows.ingest import _ramped


def test_groups_ramp_up_to_the_batch_size_and_keep_every_page_once_in_order() -> None:
    pages = [f"p{i}" for i in range(2000)]
    groups = _ramped(pages, 200)
    assert [len(g) for g in groups] == [25, 50, 100] + [200] * 9 + [25]
    assert [p for g in groups for p in g] == pages


def test_small_crawls_and_tiny_batches() -> None:
    assert _ramped([], 200) == []
    assert _ramped(["a", "b", "c"], 200) == [["a", "b", "c"]]
    assert _ramped(list("abcd"), 1) == [["a"], ["b"], ["c"], ["d"]]
    assert [len(g) for g in _ramped(list(range(20)), 6)] == [1, 2, 4, 6, 6, 1]


def test_a_wave_of_mostly_known_pages_keeps_plain_groups() -> None:
    from flows.ingest import _groups
    from warehouse.load import PageState

    urls = [f"u{i}" for i in range(1000)]
    known = PageState(etag='"x"', last_modified=None, parsed_sha256="0" * 64)
    first_crawl = _groups(urls, {}, 200)
    recrawl = _groups(urls, {u: known for u in urls[:600]}, 200)
    assert [len(g) for g in first_crawl][:3] == [25, 50, 100]  # ramped: workers start early
    assert [len(g) for g in recrawl] == [200] * 5  # mostly 304s: no extra groups
