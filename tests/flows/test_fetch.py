"""flows.fetch against a real local server with fault routes (house-style.md §9 "Fetch").

Every test talks to tests/faultserver.py on 127.0.0.1; nothing touches the internet. Timing
assertions use the server's own request-start timestamps, with a small tolerance.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

import flows.fetch as fetch
from flows.errors import FetchError, PermanentFetchError, TransientFetchError, UsageError
from flows.fetch import (
    FetchPolicy,
    FetchResult,
    fetch_all_sync,
    is_private_host,
    sanitize_url,
)
from tests.faultserver import FaultServer

MIB = 1024 * 1024
TOLERANCE = 0.05  # seconds: server timestamps vs. our pacer, on one machine
PUBLIC_IP = "93.184.216.34"  # a global address; the dial seam sends it to the fault server

LOCAL = FetchPolicy(
    max_rate=0,
    concurrency=4,
    deadline=5.0,
    retries=2,
    backoff_base=0.05,
    backoff_cap=0.2,
    allow_private=True,
    max_bytes=1 * MIB,
)


def policy(**changes: Any) -> FetchPolicy:
    return replace(LOCAL, **changes)


def fetch_one(url: str, pol: FetchPolicy = LOCAL, **kwargs: Any) -> FetchResult:
    [result] = fetch_all_sync([url], pol, **kwargs)
    return result


def gaps(starts: Sequence[float]) -> list[float]:
    ordered = sorted(starts)
    return [b - a for a, b in zip(ordered, ordered[1:])]


# --------------------------------------------------------------------------- retries


def test_server_error_is_retried_then_succeeds(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/flaky/a"))

    assert result.error is None
    assert (result.status, result.body, result.attempts) == (200, b"ok a", 2)
    assert len(fault_server.hits_for("/flaky/a")) == 2


def test_retry_jitter_leaves_the_global_random_sequence_alone(fault_server: FaultServer) -> None:
    # A user's seeded `random` sequence must come out the same whether or not a fetch
    # retried in between (the jitter has its own generator).
    random.seed(1234)
    expected = [random.random() for _ in range(3)]
    random.seed(1234)
    result = fetch_one(fault_server.url("/flaky/jitter"))
    assert result.status == 200 and result.attempts == 2  # it did back off once
    assert [random.random() for _ in range(3)] == expected


def test_client_error_is_not_retried(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/status/404"))

    assert (result.error_kind, result.status, result.transient) == ("status", 404, False)
    assert result.body is None and result.attempts == 1
    assert len(fault_server.hits_for("/status/404")) == 1


def test_retry_after_seconds_is_honoured(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/retry-after/1"))

    assert result.error is None and result.attempts == 2
    first, second = fault_server.hits_for("/retry-after/1")
    assert second.start - first.start >= 1.0 - TOLERANCE
    assert result.waited_s >= 1.0 - TOLERANCE


def test_retry_after_http_date_is_honoured(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/retry-after-date"))

    assert result.error is None and result.attempts == 2
    first, second = fault_server.hits_for("/retry-after-date")
    assert fault_server.retry_after_date is not None
    asked_until = email.utils.parsedate_to_datetime(fault_server.retry_after_date).timestamp()
    assert asked_until - first.wall >= 0.5  # the route really asked for a delay
    assert second.wall >= asked_until - TOLERANCE


def test_retry_after_is_capped(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/retry-after/3600"), policy(retry_after_cap=0.2))

    assert result.error is None
    assert result.elapsed_s < 3


def test_repeated_403_stops_fetching_the_host(fault_server: FaultServer) -> None:
    urls = [fault_server.url(f"/status/403?n={i}") for i in range(6)]

    results = fetch_all_sync(urls, policy(concurrency=1))

    kinds = [r.error_kind for r in results]
    assert kinds == ["status"] * 3 + ["forbidden"] * 3
    assert len(fault_server.hits_for("/status/403")) == 3
    assert all(not r.transient for r in results)


# --------------------------------------------------------------------------- bounds


def test_drip_fails_within_deadline_as_transient(fault_server: FaultServer) -> None:
    started = time.monotonic()
    result = fetch_one(fault_server.url("/drip"), policy(deadline=1.0, retries=0))

    assert (result.error_kind, result.transient, result.body) == ("deadline", True, None)
    assert time.monotonic() - started < 1.0 + 1.0


def test_reset_is_transient_retried_then_recorded(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/reset"), policy(retries=2))

    assert result.transient and result.error_kind in ("network", "connect")
    assert result.attempts == 3 and result.body is None
    assert len(fault_server.hits_for("/reset")) == 3
    assert result.error is not None and "\n" not in result.error


def test_truncated_body_is_transient_and_never_returned(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/truncated"), policy(retries=1))

    assert (result.error_kind, result.transient, result.body) == ("truncated", True, None)
    assert result.attempts == 2


def test_gzip_bomb_is_too_large_quickly_with_bounded_memory(
    fault_server: FaultServer, warm_gzip_bomb: bytes
) -> None:
    max_bytes = 1 * MIB
    # Warm up first so lazy imports and one-time caches are not charged to the bomb.
    assert fetch_one(fault_server.url("/ok/warm")).error is None
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = fetch_one(fault_server.url("/gzip-bomb"), policy(max_bytes=max_bytes))
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (result.error_kind, result.transient, result.body) == ("too_large", False, None)
    assert result.attempts == 1
    assert took < 5
    assert peak < 2 * max_bytes


def test_huge_stream_is_too_large(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/huge"))

    assert (result.error_kind, result.transient, result.attempts) == ("too_large", False, 1)


def test_huge_declared_length_is_rejected_before_reading(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/huge?declare=1"))

    assert result.error_kind == "too_large"
    assert result.error is not None and "Content-Length" in result.error


# --------------------------------------------------------------------------- redirects, SSRF


def test_redirect_chain_within_limit_is_followed(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/redirect-chain/3"))

    assert result.error is None and result.body == b"chain end"
    assert result.final_url == fault_server.url("/redirect-chain/0")


def test_redirect_chain_over_limit_fails(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/redirect-chain/6"), policy(max_redirects=5))

    assert result.error_kind == "redirects" and not result.transient
    assert not fault_server.hits_for("/redirect-chain/0")


def test_redirect_loop_fails(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/redirect-loop"), policy(max_redirects=5))

    assert result.error_kind == "redirects" and result.attempts == 1
    assert len(fault_server.hits_for("/redirect-loop")) == 6


def test_redirect_to_host_not_allowed_is_blocked(fault_server: FaultServer) -> None:
    target = fault_server.url("/secret", host="localhost")
    pol = policy(allowed_hosts=frozenset({"127.0.0.1"}))

    result = fetch_one(fault_server.url(f"/redirect?to={target}"), pol)

    assert (result.error_kind, result.transient) == ("blocked", False)
    assert not fault_server.hits_for("/secret")


@pytest.fixture
def public_site(monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer) -> FetchPolicy:
    """A policy under which "public.test" looks public (resolves to a global address) while
    the connection actually reaches the local fault server; private addresses stay blocked."""
    names = {"public.test": [PUBLIC_IP], "rebind.test": ["127.0.0.1"]}

    def resolve(host: str) -> list[str]:
        if host in names:
            return names[host]
        return [str(i[4][0]) for i in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]

    def dial(host: str, checked: str) -> str:
        return "127.0.0.1" if checked == PUBLIC_IP else checked

    monkeypatch.setattr(fetch, "_dial_address", dial)
    return policy(allow_private=False, resolve=resolve)


def test_public_base_is_fetched_through_the_seam(
    fault_server: FaultServer, public_site: FetchPolicy
) -> None:
    result = fetch_one(fault_server.url("/ok/pub", host="public.test"), public_site)

    assert result.error is None and result.body == b"ok pub"
    assert [h.host for h in fault_server.hits_for("/ok/pub")] == ["public.test"]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://localhost:{port}/secret",
        "http://rebind.test:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/secret",
        "file:///etc/passwd",
    ],
)
def test_redirect_inward_from_public_base_is_blocked(
    fault_server: FaultServer, public_site: FetchPolicy, target: str
) -> None:
    location = target.format(port=fault_server.port)
    start = fault_server.url(f"/redirect?to={location}", host="public.test")

    result = fetch_one(start, public_site)

    assert (result.error_kind, result.transient) == ("blocked", False)
    assert not fault_server.hits_for("/secret")


def test_private_start_url_is_blocked_without_allow_private(fault_server: FaultServer) -> None:
    result = fetch_one(fault_server.url("/secret"), policy(allow_private=False))

    assert result.error_kind == "blocked"
    assert not fault_server.hits


# --------------------------------------------------------------------------- robots.txt


def test_robots_disallow_fails_without_requesting_the_path(fault_server: FaultServer) -> None:
    fault_server.robots = "User-agent: *\nDisallow: /secret\n"

    secret, ok = fetch_all_sync([fault_server.url("/secret"), fault_server.url("/ok/a")], LOCAL)

    assert (secret.error_kind, secret.transient) == ("robots", False)
    assert ok.error is None
    assert not fault_server.hits_for("/secret")
    assert len(fault_server.hits_for("/robots.txt")) == 1


def test_robots_404_allows_everything(fault_server: FaultServer) -> None:
    fault_server.robots = None

    result = fetch_one(fault_server.url("/ok/a"))

    assert result.error is None
    assert len(fault_server.hits_for("/robots.txt")) == 1


def test_robots_503_disallows_everything(fault_server: FaultServer) -> None:
    fault_server.robots = 503

    results = fetch_all_sync([fault_server.url("/ok/a"), fault_server.url("/ok/b")], LOCAL)

    assert [r.error_kind for r in results] == ["robots_unreachable"] * 2
    assert not fault_server.hits_for("/ok/")


@pytest.mark.parametrize(
    "robots",
    [
        "User-agent: *\nCrawl-delay: 1\n",
        # another crawler's group (named like a word of paperflow's User-Agent) changes nothing
        "User-agent: *\nCrawl-delay: 1\n\nUser-agent: github\nAllow: /\n",
    ],
)
def test_robots_crawl_delay_spaces_requests(fault_server: FaultServer, robots: str) -> None:
    fault_server.robots = robots
    urls = [fault_server.url("/ok/a"), fault_server.url("/ok/b")]

    results = fetch_all_sync(urls, policy(max_rate=0))

    assert all(r.error is None for r in results)
    starts = [h.start for h in fault_server.hits]  # robots.txt included
    assert len(starts) == 3
    assert min(gaps(starts)) >= 1.0 - TOLERANCE


@pytest.mark.parametrize(
    ("robots", "ok"),
    [
        # Groups named after words of paperflow's User-Agent comment are other crawlers'.
        ("User-agent: *\nDisallow: /\n\nUser-agent: github\nAllow: /\n", False),
        ("User-agent: *\nAllow: /\n\nUser-agent: github\nDisallow: /\n", True),
        ("User-agent: *\nAllow: /\n\nUser-agent: PaperFlow\nDisallow: /\n", False),
    ],
)
def test_robots_groups_are_chosen_by_the_product_token(
    fault_server: FaultServer, robots: str, ok: bool
) -> None:
    fault_server.robots = robots
    assert "github" in LOCAL.user_agent

    result = fetch_one(fault_server.url("/ok/a"))

    assert (result.error is None) == ok, result.error
    assert bool(fault_server.hits_for("/ok/")) == ok


# --------------------------------------------------------------------------- pacing


def test_max_rate_spaces_every_request_start(fault_server: FaultServer) -> None:
    urls = [fault_server.url(f"/ok/{i}") for i in range(4)] + [fault_server.url("/flaky/r")]

    results = fetch_all_sync(urls, policy(max_rate=2, concurrency=4))

    assert all(r.error is None for r in results)
    starts = [h.start for h in fault_server.hits]  # robots.txt and the retry included
    assert len(starts) == 7
    assert min(gaps(starts)) >= 0.5 - TOLERANCE


def test_a_late_start_pushes_the_next_one_back(fault_server: FaultServer) -> None:
    """Slots are planned ahead; a request woken late by a busy event loop (here a slow
    callback) must not bring the next planned one closer than the interval."""
    urls = [fault_server.url(f"/ok/{i}") for i in range(3)]
    busy_until: list[float] = []

    def busy_once(result: FetchResult) -> None:
        if not busy_until:
            time.sleep(0.7)  # meant to straddle the second slot (0.55 s after the first)
            busy_until.append(time.monotonic())

    pol = policy(max_rate=2, concurrency=3, obey_robots=False)
    results = fetch_all_sync(urls, pol, on_result=busy_once)

    assert all(r.error is None for r in results)
    starts = sorted(h.start for h in fault_server.hits)
    assert len(starts) == 3
    assert busy_until[0] > starts[0] + 0.55  # the second slot fell inside the busy spell
    assert min(gaps(starts)) >= 0.5 - TOLERANCE


def test_concurrency_cap_is_reached_and_never_exceeded(fault_server: FaultServer) -> None:
    urls = [fault_server.url(f"/slow/0.3?n={i}") for i in range(7)]

    results = fetch_all_sync(urls, policy(concurrency=3, obey_robots=False))

    assert all(r.error is None for r in results)
    assert fault_server.max_open["127.0.0.1"] == 3


# --------------------------------------------------------------------------- validators


def test_validators_give_not_modified(fault_server: FaultServer) -> None:
    url = fault_server.url("/etag/a")
    first = fetch_one(url)
    assert first.status == 200 and first.etag and first.last_modified

    again = fetch_one(url, validators={url: (first.etag, first.last_modified)})
    by_date = fetch_one(url, validators={url: (None, first.last_modified)})

    for result in (again, by_date):
        assert (result.status, result.not_modified, result.body) == (304, True, None)
        assert result.error is None
    assert fault_server.hits_for("/etag/a")[1].headers["If-None-Match"] == first.etag


def test_not_modified_and_error_replies_keep_the_connection(fault_server: FaultServer) -> None:
    """A re-run is mostly 304s: each must leave its connection in the pool (read to its end),
    not close it, or every request pays a new connection (and, on HTTPS, a handshake)."""
    urls = [fault_server.url(f"/etag/{c}") for c in "abcdef"]
    first = fetch_all_sync(urls, policy(concurrency=1))
    validators = {r.url: (r.etag, r.last_modified) for r in first}
    before = len(fault_server.hits)
    again = fetch_all_sync([*urls, fault_server.url("/status/404"), urls[0]],
                           policy(concurrency=1), validators=validators)  # fmt: skip
    assert [r.status for r in again] == [304] * 6 + [404, 304]
    hits = fault_server.hits[before:]
    assert len(hits) >= 8 and len({h.peer_port for h in hits}) == 1, hits


def test_the_pool_sees_an_idle_connection_the_server_closed() -> None:
    """Before reusing an idle connection, the pool asks whether its socket is readable (the
    server closed it) and drops it if so; paperflow's backend answers from the socket it
    keeps. Wrong answers would send requests into closed connections (a retry each)."""
    import asyncio

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        async def check() -> tuple[bool, bool, object]:
            stream = await fetch._Backend().connect_tcp("127.0.0.1", listener.getsockname()[1])
            server_side, _ = listener.accept()
            idle = stream.get_extra_info("is_readable")
            server_side.close()  # the server ends the keep-alive connection
            deadline = time.monotonic() + 5
            while not stream.get_extra_info("is_readable") and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            closed = stream.get_extra_info("is_readable")
            fd = stream.get_extra_info("socket").fileno()
            await stream.aclose()
            return idle, closed, fd

        idle, closed, fd = asyncio.run(check())
    assert (idle, closed) == (False, True)
    assert isinstance(fd, int) and fd > 0  # other questions still reach anyio's stream


def test_clients_use_paperflows_network_backend() -> None:
    """httpx 0.28 has no parameter for the backend: it is set on the transport's pool, which
    an httpx upgrade could rename; this fails then, instead of the saving going unnoticed."""
    client = fetch._new_client(LOCAL)
    assert isinstance(client._transport._pool._network_backend, fetch._Backend)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- API contract


def test_results_keep_input_order_and_report_each(fault_server: FaultServer) -> None:
    urls = [
        fault_server.url("/slow/0.2"),
        "not a url",
        "ftp://example.org/x",
        fault_server.url("/ok/z"),
    ]
    seen: list[FetchResult] = []

    results = fetch_all_sync(urls, LOCAL, on_result=seen.append)

    assert [r.url for r in results] == urls
    assert sorted(r.url for r in seen) == sorted(urls)
    assert [r.error_kind for r in results] == [None, "invalid_url", "blocked", None]


def test_bad_policy_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        FetchPolicy(concurrency=0)


def test_error_tree() -> None:
    assert issubclass(TransientFetchError, FetchError)
    assert issubclass(PermanentFetchError, FetchError)
    error = PermanentFetchError("HTTP 404", url="http://h/x", kind="status", status=404)
    assert (error.kind, error.status, error.transient) == ("status", 404, False)


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://h.test/a?token=abc&page=2", "https://h.test/a?token=***&page=2"),
        ("https://h.test/a?API_KEY=abc&sig=x", "https://h.test/a?API_KEY=***&sig=***"),
        ("https://user:pw@h.test:8443/a?q=1", "https://h.test:8443/a?q=1"),
        ("http://[::1]:80/?password=p#frag", "http://[::1]:80/?password=***#frag"),
        ("https://h.test/a?tokenizer=keep", "https://h.test/a?tokenizer=keep"),
        ("http://[bad", "<unparseable url>"),
    ],
)
def test_sanitize_url(raw: str, expected: str) -> None:
    assert sanitize_url(raw) == expected


def test_token_never_reaches_logs_or_errors(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    urls = [
        fault_server.url(f"{path}?token=abc123&access_token=abc123")
        for path in ("/status/404", "/reset", "/redirect-loop", "/ok/t")
    ]

    results = fetch_all_sync(urls, policy(retries=1))

    assert [r.error_kind for r in results][:3] == ["status", "network", "redirects"]
    assert caplog.records, "failures must be logged"
    assert any(r.levelno == logging.WARNING and r.name == "paperflow.fetch" for r in caplog.records)
    for record in caplog.records:
        assert "abc123" not in record.getMessage()
    for result in results:
        assert "abc123" not in (result.error or "")


def test_is_private_host() -> None:
    assert is_private_host("http://127.0.0.1:8000/")
    assert is_private_host("http://localhost/")
    assert is_private_host("http://10.1.2.3/")
    assert is_private_host("http://mirror.lan/", resolve=lambda host: ["192.168.1.5"])
    assert not is_private_host("https://93.184.216.34/")
    assert not is_private_host("https://public.test/", resolve=lambda host: [PUBLIC_IP])


def test_every_client_shares_one_verifying_tls_context() -> None:
    """Building httpx's context costs ~60 ms a client, so the process keeps one: it must still
    verify certificates and host names, as httpx's own default does."""
    import ssl

    first, second = fetch._new_client(LOCAL), fetch._new_client(LOCAL)
    ctx = fetch._tls_context()
    assert ctx is fetch._tls_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 50  # certifi's bundle is loaded
    pool = first._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context is ctx and second._transport._pool._ssl_context is ctx  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the run's policy


@pytest.mark.parametrize(
    ("base", "host"),
    [
        ("http://[::1]:8000", "::1"),
        ("http://user@127.0.0.1:8000/x", "127.0.0.1"),
        ("localhost:8000", "localhost"),  # no scheme
        ("http://[::1", None),  # malformed: no host added, no traceback
    ],
)
def test_the_base_url_s_host_is_allowed(base: str, host: str | None) -> None:
    from flows.pipeline import fetch_policy
    from flows.settings import Settings

    allowed = fetch_policy(Settings(), "arxiv-list", base).allowed_hosts
    assert allowed - {"arxiv.org", "export.arxiv.org"} == ({host} if host else set())


def test_a_base_url_on_ipv6_loopback_is_fetched() -> None:
    """`--base-url http://[::1]:PORT` (a local mirror on IPv6): its host is `::1`, which the
    run's policy must allow (it took `[` for the host and blocked every page)."""
    import http.server
    import socket
    import threading

    from flows.pipeline import fetch_policy
    from flows.settings import Settings

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else b"page"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class V6Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = V6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://[::1]:{server.server_address[1]}"
        pol = fetch_policy(replace(Settings(), max_rate=0), "arxiv-list", base)
        assert "::1" in pol.allowed_hosts and pol.allow_private
        result = fetch_one(f"{base}/list/cs.LG/new", pol)
        assert (result.error, result.body) == (None, b"page")
    finally:
        server.shutdown()
        server.server_close()
