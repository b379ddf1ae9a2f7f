"""The parse sandbox: hostile pages fail only themselves, fast (flows/sandbox.py; docs/reliability.md).

Test-only formats that kill, hang or exhaust their worker are registered through
`ParseSandbox(formats="tests.flows.test_sandbox:TEST_FORMATS")`: the worker imports this
module by name (functions do not travel to another interpreter).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.sandbox import ParseSandbox, SandboxError, StoredBody
from parsers import FORMATS
from parsers.errors import LayoutChanged, ParseError
from parsers.records import ListingPage
from tests.fixtures.hostile.make_hostile import CASES, HF_DAY, HF_URL
from warehouse.blobs import put_blob

NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
TIMEOUT = 3.0  # short deadlines keep this file well under a minute
GOOD = HF_DAY.read_bytes()
ARXIV = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv_list" / "new_cs.LG_p1.html"


# ------------------------------------------------------------------ test-only formats (in the worker)


def _page(url: str) -> ListingPage:
    return ListingPage(url=url, source="test", kind="test", entries=())


def _kill(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    os.kill(os.getpid(), signal.SIGKILL)  # what a segfault looks like from outside
    raise AssertionError("unreachable")


def _segfault(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    ctypes.string_at(0)  # a real SIGSEGV in native code
    raise AssertionError("unreachable")


def _sleep(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    time.sleep(float(body))
    return _page(url)


def _spin(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    while True:  # burns CPU: only the parent's deadline or RLIMIT_CPU ends it
        pass


def _hog(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    chunks = [bytearray(256 * 1024 * 1024) for _ in range(int(body))]
    return _page(f"{url}#{len(chunks)}")


def _bug(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    return {"not": "a page"}[body.decode()]  # type: ignore[return-value]


def _not_a_page(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    return "oops"  # type: ignore[return-value]


def _layout(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    raise LayoutChanged("no cards", source="test", url=url, selector="div.card")


def _exit(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    raise SystemExit(3)


def _echo_pid(body: bytes, *, url: str, fetched_at: datetime) -> ListingPage:
    return _page(f"{url}#{os.getpid()}")


TEST_FORMATS = {
    **FORMATS,
    "test-kill": _kill,
    "test-segfault": _segfault,
    "test-sleep": _sleep,
    "test-spin": _spin,
    "test-hog": _hog,
    "test-bug": _bug,
    "test-not-a-page": _not_a_page,
    "test-layout": _layout,
    "test-exit": _exit,
    "test-pid": _echo_pid,
}
TEST_TABLE = "tests.flows.test_sandbox:TEST_FORMATS"


def parse_in_process(fmt: str, body: bytes, url: str, fetched_at: datetime) -> ListingPage:
    # flows.pipeline.parse_in_process, without importing the pipeline (duckdb, pyarrow) into
    # every worker that imports this module for TEST_FORMATS.
    return FORMATS[fmt].parse(body, url=url, fetched_at=fetched_at)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ParseSandbox]:
    with ParseSandbox(formats=TEST_TABLE, timeout_s=TIMEOUT, memory_bytes=768 * 2**20) as box:
        yield box


def _good(n: int = 0) -> tuple[str, bytes, str, datetime]:
    return ("hf-papers-html", GOOD, f"{HF_URL}?n={n}", NOW)


def _expected() -> ListingPage:
    return parse_in_process("hf-papers-html", GOOD, HF_URL, NOW)


def _same_as_in_process(result: object, n: int) -> None:
    assert isinstance(result, ListingPage), result
    expected = _expected()
    assert result.entries == expected.entries
    assert result.url == f"{HF_URL}?n={n}"


# ------------------------------------------------------------------ the ordinary path


def test_parse_matches_in_process(sandbox: ParseSandbox) -> None:
    for fmt, path in (("hf-papers-html", HF_DAY), ("arxiv-list-html", ARXIV)):
        body = path.read_bytes()
        assert sandbox.parse(fmt, body, "https://x/", NOW) == parse_in_process(
            fmt, body, "https://x/", NOW
        )


def test_parse_errors_cross_with_kind_and_class(sandbox: ParseSandbox) -> None:
    with pytest.raises(ParseError) as caught:
        sandbox.parse("hf-papers-html", b"   ", "https://x/empty", NOW)
    expected = pytest.raises(ParseError, parse_in_process, "hf-papers-html", b"   ", "u", NOW)
    assert caught.value.kind == expected.value.kind == "garbage"
    assert caught.value.url == "https://x/empty"
    with pytest.raises(LayoutChanged) as layout:
        sandbox.parse("test-layout", b"", "https://x/l", NOW)
    assert (layout.value.kind, layout.value.selector) == ("layout_changed", "div.card")


def test_parse_error_pickles() -> None:
    error = ParseError("m", source="s", url="u", kind="timeout", selector="a", excerpt="e")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.kind, again.reason, again.selector, again.excerpt) == (
        ParseError, str(error), "timeout", "m", "a", "e"
    )  # fmt: skip


def test_parse_many_keeps_order_and_uses_every_worker(sandbox: ParseSandbox) -> None:
    items = [("test-pid", b"", f"https://x/{i}", NOW) for i in range(40)]
    results = sandbox.parse_many(items)
    assert [r.url.split("#")[0] for r in results if isinstance(r, ListingPage)] == [
        f"https://x/{i}" for i in range(40)
    ]
    assert len({r.url.split("#")[1] for r in results if isinstance(r, ListingPage)}) == 2


def test_too_large_and_unknown_format_never_reach_a_worker() -> None:
    with ParseSandbox(formats=TEST_TABLE, max_page_bytes=1000, workers=1) as box:
        big, unknown = box.parse_many(
            [("hf-papers-html", b"x" * 1001, "https://x/big", NOW), ("nope", b"", "u", NOW)]
        )
        assert box.restarts == 0
    assert isinstance(big, ParseError) and big.kind == "too_large" and big.source == "hf-papers"
    assert isinstance(unknown, ParseError) and unknown.kind == "unknown_format"


def test_stored_bodies_are_read_and_size_checked_by_the_worker(tmp_path: Path) -> None:
    """A blob-store body never passes through the parent: the worker reads it, refuses it
    once un-gzipped when over the limit, and fails only its own page when it is missing."""
    good = StoredBody(str(tmp_path), put_blob(tmp_path, GOOD))
    big = StoredBody(str(tmp_path), put_blob(tmp_path, GOOD + b" "))
    gone = StoredBody(str(tmp_path), "0" * 64)
    items = [("hf-papers-html", body, HF_URL, NOW) for body in (good, big, gone)]
    with ParseSandbox(max_page_bytes=len(GOOD), workers=1) as box:
        page, too_large, missing = box.parse_many(items)
        assert box.restarts == 0
    assert isinstance(page, ListingPage) and len(page.entries) > 0
    assert page == FORMATS["hf-papers-html"].parse(GOOD, url=HF_URL, fetched_at=NOW)
    assert isinstance(too_large, ParseError) and too_large.kind == "too_large"
    assert isinstance(missing, ParseError) and "stored body unreadable" in missing.reason


# ------------------------------------------------------------------ dead, hung and greedy workers


@pytest.mark.parametrize("fmt,signame", [("test-kill", "SIGKILL"), ("test-segfault", "SIGSEGV")])
def test_dead_worker_fails_only_its_page(sandbox: ParseSandbox, fmt: str, signame: str) -> None:
    restarts = sandbox.restarts
    items = [_good(0), (fmt, b"", "https://x/dies", NOW), _good(1), _good(2), _good(3)]
    results = sandbox.parse_many(items)
    dead = results[1]
    assert isinstance(dead, ParseError) and dead.kind == "crash", dead
    assert signame in dead.reason and dead.url == "https://x/dies"
    for n, result in zip((0, 1, 2, 3), results[:1] + results[2:], strict=True):
        _same_as_in_process(result, n)
    assert sandbox.restarts == restarts + 1
    _same_as_in_process(sandbox.parse(*_good(9)), 9)  # and the next page parses


def test_sleep_past_deadline_is_a_timeout(sandbox: ParseSandbox) -> None:
    started = time.monotonic()
    results = sandbox.parse_many([("test-sleep", b"60", "https://x/slow", NOW), _good(0)])
    took = time.monotonic() - started
    slow = results[0]
    assert isinstance(slow, ParseError) and slow.kind == "timeout", slow
    assert TIMEOUT <= took < TIMEOUT + 2
    assert TIMEOUT <= sandbox.timings[0] < TIMEOUT + 2
    _same_as_in_process(results[1], 0)
    _same_as_in_process(sandbox.parse(*_good(1)), 1)


def test_two_hung_pages_at_once_and_good_ones_after(sandbox: ParseSandbox) -> None:
    items = [("test-spin", b"", "https://x/a", NOW), ("test-sleep", b"60", "https://x/b", NOW)]
    items += [_good(n) for n in range(6)]
    results = sandbox.parse_many(items)
    assert all(t < TIMEOUT + 2 for t in sandbox.timings[:2])  # both hung at once, both killed
    assert [r.kind for r in results[:2] if isinstance(r, ParseError)] == ["timeout", "timeout"]
    for n, result in enumerate(results[2:]):
        _same_as_in_process(result, n)


def test_memory_limit_is_a_crash_not_the_machine(sandbox: ParseSandbox) -> None:
    # 256 MiB x 12 = 3 GiB against the 768 MiB limit of this sandbox.
    results = sandbox.parse_many([("test-hog", b"12", "https://x/hog", NOW), _good(0)])
    hog = results[0]
    assert isinstance(hog, ParseError) and hog.kind == "crash", hog
    assert "memory" in hog.reason
    _same_as_in_process(results[1], 0)
    ok = sandbox.parse("test-hog", b"1", "https://x/small", NOW)  # 256 MiB is within the limit
    assert ok.url == "https://x/small#1"


@pytest.mark.parametrize(
    "fmt,words",
    [
        ("test-bug", ("KeyError", "_bug")),
        ("test-not-a-page", ("returned str",)),
        ("test-exit", ("SystemExit",)),
    ],
)
def test_parser_bugs_are_crashes_of_their_page(
    sandbox: ParseSandbox, fmt: str, words: tuple[str, ...]
) -> None:
    results = sandbox.parse_many([(fmt, b"x", "https://x/bug", NOW), _good(0)])
    bug = results[0]
    assert isinstance(bug, ParseError) and bug.kind == "crash"
    assert all(word in bug.reason for word in words), bug.reason
    _same_as_in_process(results[1], 0)


def test_cpu_backstop_ends_an_orphaned_spin() -> None:
    """RLIMIT_CPU (timeout + 5 s) ends a worker even when the parent never kills it."""
    with ParseSandbox(formats=TEST_TABLE, timeout_s=0.5, cpu_limit_s=1, workers=1) as box:
        worker = box._pool[0]
        worker.conn.send_bytes(pickle.dumps((1, "test-spin", b"", "u", NOW, False, None)))
        started = time.monotonic()
        code = worker.proc.wait(box.cpu_s + 10)
        assert code == -signal.SIGXCPU
        assert time.monotonic() - started >= 0.9


def test_worker_that_cannot_start_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="failed to start"):
        with ParseSandbox(formats=TEST_TABLE, memory_bytes=16 * 2**20, workers=1):
            pass


def test_closed_workers_are_gone() -> None:
    box = ParseSandbox(formats=TEST_TABLE, workers=1)
    box.start()
    procs = [w.proc for w in box._pool]
    box.close()
    assert all(p.poll() is not None for p in procs)
    _same_as_in_process(box.parse(*_good(0)), 0)  # a closed sandbox starts again on use
    box.close()


def test_prepared_serves_the_batch_and_falls_back(sandbox: ParseSandbox) -> None:
    box = sandbox
    parse = box.prepared([_good(0), ("hf-papers-html", b" ", "https://x/e", NOW)])
    restarts, seq = box.restarts, box._seq
    _same_as_in_process(parse(*_good(0)), 0)
    with pytest.raises(ParseError):
        parse("hf-papers-html", b" ", "https://x/e", NOW)
    assert box._seq == seq  # both answers came from the batch
    _same_as_in_process(parse(*_good(5)), 5)  # not in the batch: parsed on demand
    assert box._seq == seq + 1 and box.restarts == restarts


# ------------------------------------------------------------------ hostile pages (fixtures/hostile)


def test_hostile_pages_fail_only_themselves_within_budget() -> None:
    """Every hostile case next to good pages in one batch: each ends within the budget, with an
    allowed outcome (never "crash"), and the good pages parse exactly as in process."""
    items = []
    for n, case in enumerate(CASES):
        items.append((case.fmt, case.build(), f"{case.url}?case={case.name}", NOW))
        items.append(_good(n))
    with ParseSandbox(timeout_s=TIMEOUT) as box:
        started = time.monotonic()
        results = box.parse_many(items)
        took = time.monotonic() - started
        timings = box.timings
    for n, case in enumerate(CASES):
        result, elapsed = results[2 * n], timings[2 * n]
        outcome = result.kind if isinstance(result, ParseError) else "parsed"
        assert outcome in case.allowed, f"{case.name}: {outcome}: {result}"
        assert elapsed < TIMEOUT + 2, f"{case.name} took {elapsed:.1f} s"
        _same_as_in_process(results[2 * n + 1], n)
    assert took < 30


def test_staging_in_the_worker_matches_staging_here(sandbox: ParseSandbox) -> None:
    from flows.staging import StagedPage, stage_page, staged_rows

    [staged] = sandbox.parse_many([_good(7)], stage=True)
    assert isinstance(staged, StagedPage), staged
    here = stage_page(_expected(), "hf-papers-html", f"{HF_URL}?n=7", NOW)
    assert staged == here
    assert staged_rows(staged).num_rows == len(_expected().entries) > 0
    # The same sandbox parses without staging again afterwards.
    _same_as_in_process(sandbox.parse_many([_good(8)])[0], 8)


def test_lazy_start_parses_and_reports_a_failed_start() -> None:
    with ParseSandbox(formats=TEST_TABLE, workers=2, wait_ready=False) as box:
        assert not any(w.ready for w in box._pool)  # launched, not waited for
        _same_as_in_process(box.parse_many([_good(3)])[0], 3)
    with ParseSandbox(formats=TEST_TABLE, memory_bytes=16 * 2**20, workers=1, wait_ready=False) as box:
        with pytest.raises(SandboxError, match="failed to start"):
            box.parse_many([_good(4)])
