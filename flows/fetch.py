"""The hardened HTTP client: the only module in paperflow that imports httpx.

`fetch_all(urls, policy)` fetches a batch of pages politely and within hard bounds, and turns
every per-URL failure into a `FetchResult` carrying a sanitised one-line error. Nothing from
httpx escapes: transport failures are mapped onto `flows.errors` here and nowhere else.

What it guarantees (reliability.md §0.4, §2, §5, §7.1-7.3, §7.7, §7.8):

* Bounded: a total deadline per attempt (httpx timeouts restart on every chunk,
  encode/httpx#1450), a byte cap counted *after* decompression in bounded 64 KiB steps (httpx
  decodes without an output limit; Scrapy CVE-2025-6176), a redirect cap, bounded retries.
* Safe destinations: http/https only, no userinfo, `allowed_hosts` and the resolved address
  checked on *every* hop; the connection is made to the exact address that was checked, which
  closes the DNS-rebinding window; `trust_env=False`, so no proxy comes from the environment.
* Polite: per-host start interval (max_rate, raised by robots.txt Crawl-delay and by 429/503,
  never lowered within a run) and a per-host concurrency cap; robots.txt per RFC 9309.
* Complete or failed: a body shorter than its Content-Length is a transient "truncated" error,
  never a short page handed to a parser (scrapy/scrapy#2586).
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import math
import random
import re
import select
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx
from protego import Protego

from flows.errors import FetchError, PermanentFetchError, TransientFetchError, UsageError

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchPolicy",
    "FetchResult",
    "fetch_all",
    "fetch_all_sync",
    "is_private_host",
    "sanitize_url",
]

logger = logging.getLogger("paperflow.fetch")

DEFAULT_USER_AGENT = (
    "paperflow/0.1 (+https://github.com/paperflow/paperflow; contact: set PAPERFLOW_CONTACT)"
)
MIB = 1024 * 1024
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least the first 500 KiB
FORBIDDEN_LIMIT = 3  # after this many 403s a host is telling us to go away: stop asking

_DECODE_STEP = 64 * 1024  # bounded output per decompress call, as Scrapy 2.13.4 does
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
_SLOW_DOWN_STATUSES = frozenset({429, 503})
_SENSITIVE_KEYS = frozenset(
    {
        "token",
        "key",
        "api_key",
        "apikey",
        "access_token",
        "auth",
        "password",
        "secret",
        "sig",
        "signature",
    }
)
_MASK = "***"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How to fetch: limits, pacing and what may be contacted. All defaults live here.

    max_rate is request starts per second per host (0 = unlimited); concurrency is open requests
    per host; deadline is the total network seconds one attempt (its whole redirect chain, body
    included) may take, pacing waits excluded; max_bytes is measured after decompression.
    allowed_hosts, when non-empty, is the only set of host names any hop may reach.
    allow_private admits loopback/private/reserved addresses; set it only when the base URL
    itself is one (see `is_private_host`). Link-local (cloud metadata) stays blocked regardless.
    resolve, if given, replaces the system resolver (host name -> addresses) for the address
    check, like curl's --resolve; the connection goes to the first checked address.
    """

    user_agent: str = DEFAULT_USER_AGENT
    max_rate: float = 1.0
    concurrency: int = 1
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 60.0
    max_bytes: int = 20 * MIB
    max_redirects: int = 5
    retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 120.0
    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False
    obey_robots: bool = True
    resolve: Callable[[str], Sequence[str]] | None = None

    def __post_init__(self) -> None:
        checks = {
            "max_rate must be >= 0": self.max_rate >= 0,
            "concurrency must be >= 1": self.concurrency >= 1,
            "deadline must be > 0": self.deadline > 0,
            "max_bytes must be > 0": self.max_bytes > 0,
            "max_redirects must be >= 0": self.max_redirects >= 0,
            "retries must be >= 0": self.retries >= 0,
        }
        for message, ok in checks.items():
            if not ok:
                raise UsageError(f"invalid fetch policy: {message}")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome for one requested URL; `error` is None exactly when the fetch succeeded.

    body is None for 304 Not Modified and for failures. url and final_url are as requested and
    as reached after redirects (not sanitised: they are data, not log text); error is one
    sanitised line. waited_s counts every politeness/backoff sleep; elapsed_s is wall time.
    """

    url: str
    final_url: str
    status: int | None
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    attempts: int
    elapsed_s: float
    waited_s: float
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    transient: bool = False


# --------------------------------------------------------------------------- public helpers


def sanitize_url(url: str) -> str:
    """Return `url` safe to log: userinfo dropped, values of sensitive query keys masked.

    Never raises; an unparseable URL becomes a placeholder rather than leaking its text.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "&".join(_mask_query_item(item) for item in parts.query.split("&"))
    return parts._replace(netloc=netloc, query=query).geturl()


def _mask_query_item(item: str) -> str:
    """Mask one `key=value` query item if its key names a secret (dlt's redaction.py idea)."""
    key, sep, _value = item.partition("=")
    if unquote(key).strip().lower() in _SENSITIVE_KEYS and sep:
        return f"{key}={_MASK}"
    return item


def is_private_host(url: str, resolve: Callable[[str], Sequence[str]] | None = None) -> bool:
    """True if the URL's host is, or resolves to, a non-global address (loopback, RFC 1918...).

    Used to decide `FetchPolicy.allow_private` from a site's *base* URL: a local mirror may be
    fetched, a public site may not redirect us inward. A name that does not resolve is False.
    """
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True  # RFC 6761 §6.3: always loopback
    try:
        addresses = _resolve_sync(host, resolve)
    except OSError:
        return False
    return any(not ipaddress.ip_address(a).is_global for a in addresses)


def _resolve_sync(host: str, resolve: Callable[[str], Sequence[str]] | None) -> list[str]:
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    if resolve is not None:
        return list(resolve(host))
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


# --------------------------------------------------------------------------- per-run state


PACING_SLACK_S = 0.05


class _Host:
    """Politeness state for one origin, shared by every task of one `fetch_all` call."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.slots = asyncio.Semaphore(policy.concurrency)
        # The slack keeps the gap the *server* sees at or above 1/max_rate despite scheduling
        # jitter between our start and its read of the request (measured: up to ~15 ms).
        self.interval = 1.0 / policy.max_rate + PACING_SLACK_S if policy.max_rate else 0.0
        self.last_start = -math.inf
        self.last_actual = -math.inf  # when the last request really began (see `settle`)
        self.next_start = 0.0
        self.robots: _Robots | None = None
        self.robots_lock = asyncio.Lock()
        self.forbidden = 0

    def reserve_start(self) -> float:
        """Claim the next start slot and return how long to sleep before using it.

        Runs without awaiting, so concurrent tasks can never claim overlapping slots.
        """
        now = time.monotonic()
        start = max(now, self.next_start)
        self.last_start = start
        self.next_start = start + self.interval
        return start - now

    def settle(self) -> float:
        """After the sleep `reserve_start` asked for: how much longer to wait so this start is
        `interval` after the last request that really left the pacer (0: go now, recorded).

        Slots are planned ahead, but a busy event loop can wake a sleeper late; the next slot,
        planned from the late one's plan, then came closer to it than the interval (seen: a
        0.93 s gap under a 1 s Crawl-delay on a loaded machine). Runs without awaiting."""
        now = time.monotonic()
        left = self.last_actual + self.interval - now
        if left > 0:
            return left
        self.last_actual = now
        self.next_start = max(self.next_start, now + self.interval)  # later plans start here
        return 0.0

    def slow_down(self, interval: float, hold_for: float = 0.0) -> None:
        """Raise the start interval (never lower it) and hold new starts for `hold_for` s."""
        self.interval = max(self.interval, interval)
        hold_until = time.monotonic() + hold_for if hold_for > 0 else 0.0
        self.next_start = max(self.next_start, self.last_start + self.interval, hold_until)


class FetchSession:
    """Per-origin politeness carried across `fetch_all` calls of one run.

    A run fetches in several groups; without this, each group would start with a fresh
    pacing clock, a fresh robots.txt fetch and a forgotten 403 count, so limits would not
    hold across groups. Holds start times, the (possibly slowed) interval, the robots verdict
    and the 403 count per origin.
    """

    def __init__(self) -> None:
        self.saved: dict[str, tuple[float, float, float, _Robots | None, int]] = {}

    def restore(self, key: str, host: _Host) -> None:
        if key in self.saved:
            next_start, last_actual, interval, robots, forbidden = self.saved[key]
            host.next_start = max(host.next_start, next_start)
            host.last_start = next_start - interval
            host.last_actual = max(host.last_actual, last_actual)
            host.interval = max(host.interval, interval)
            host.robots, host.forbidden = robots, forbidden

    def keep(self, hosts: Mapping[str, _Host]) -> None:
        for key, host in hosts.items():
            self.saved[key] = (
                host.next_start, host.last_actual, host.interval, host.robots, host.forbidden
            )


@dataclass(slots=True)
class _Run:
    policy: FetchPolicy
    client: httpx.AsyncClient
    session: FetchSession | None = None
    hosts: dict[str, _Host] = field(default_factory=dict)

    def host(self, url: httpx.URL) -> _Host:
        key = _origin(url)
        if key not in self.hosts:
            self.hosts[key] = _Host(self.policy)
            if self.session is not None:
                self.session.restore(key, self.hosts[key])
        return self.hosts[key]


@dataclass(slots=True)
class _Tally:
    """Per-URL counters carried across attempts."""

    attempts: int = 0
    waited: float = 0.0


@dataclass(slots=True)
class _Budget:
    """Network seconds left for one attempt (pacing sleeps are not charged)."""

    left: float

    def remaining(self, shown: str) -> float:
        if self.left <= 0:
            raise TransientFetchError("deadline exceeded", url=shown, kind="deadline")
        return self.left


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL  # as addressed, for the Host header, robots and redirects
    dial_url: httpx.URL  # same, with the host replaced by the checked address


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes | None


# --------------------------------------------------------------------------- destination checks


def _origin(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host}:{port}"


def _parse_url(raw: str, shown: str) -> httpx.URL:
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise PermanentFetchError("invalid URL", url=shown, kind="invalid_url") from exc
    if not url.is_absolute_url:
        raise PermanentFetchError("URL is not absolute", url=shown, kind="invalid_url")
    return url


def _check_shape(url: httpx.URL, policy: FetchPolicy, shown: str) -> None:
    """Scheme, userinfo and host allow-list; raises PermanentFetchError(kind="blocked")."""
    if url.scheme not in ("http", "https"):
        # Scrapy GHSA-23j4-mw76-5v7h: never follow a redirect into file:, gopher:, ...
        raise PermanentFetchError(f"scheme {url.scheme!r} not allowed", url=shown, kind="blocked")
    if url.userinfo:
        raise PermanentFetchError("credentials in URL not allowed", url=shown, kind="blocked")
    host = url.host.rstrip(".").lower()
    if not host:
        raise PermanentFetchError("URL has no host", url=shown, kind="invalid_url")
    allowed = {h.rstrip(".").lower() for h in policy.allowed_hosts}
    if allowed and host not in allowed:
        raise PermanentFetchError(f"host {host!r} not allowed", url=shown, kind="blocked")


def _check_address(address: str, policy: FetchPolicy, shown: str) -> None:
    """Reject non-global addresses unless allow_private (reliability.md §7.1).

    Link-local (169.254.0.0/16, fe80::/10: cloud metadata), unspecified and multicast addresses
    are refused even with allow_private: no local mirror lives there.
    """
    ip = ipaddress.ip_address(address)
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        raise PermanentFetchError(f"address {ip} not allowed", url=shown, kind="blocked")
    if not ip.is_global and not policy.allow_private:
        raise PermanentFetchError(f"non-public address {ip} not allowed", url=shown, kind="blocked")


async def _resolve(host: str, policy: FetchPolicy, shown: str) -> list[str]:
    """Addresses for `host` (a literal address resolves to itself); failures are transient."""
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    try:
        if policy.resolve is not None:
            found = [str(ipaddress.ip_address(a)) for a in policy.resolve(host)]
        else:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            found = [str(info[4][0]) for info in infos]
    except (OSError, ValueError) as exc:
        raise TransientFetchError("name resolution failed", url=shown, kind="connect") from exc
    if not found:
        raise TransientFetchError("name resolved to no address", url=shown, kind="connect")
    return found


def _dial_address(host: str, checked: str) -> str:
    """The address actually dialled for `host` once `checked` passed `_check_address`.

    Identity: we connect to exactly what we checked. Tests replace this one seam to reach the
    local fault server while the address check sees a public address.
    """
    return checked


async def _prepare_target(run: _Run, url: httpx.URL, shown: str) -> _Target:
    """Check one hop's destination and pin it to a checked address."""
    _check_shape(url, run.policy, shown)
    host = url.raw_host.decode("ascii")
    addresses = await _resolve(host, run.policy, shown)
    for address in addresses:  # every address: a round-robin answer must not sneak one in
        _check_address(address, run.policy, shown)
    return _Target(url=url, dial_url=url.copy_with(host=_dial_address(host, addresses[0])))


def _redirect_url(current: httpx.URL, reply: _Reply, shown: str) -> httpx.URL:
    """Resolve Location against the current URL (RFC 9110 §10.2.2), dropping the fragment."""
    location = reply.headers.get("location", "").strip()
    if not location:
        raise PermanentFetchError(f"{reply.status} without Location", url=shown, kind="status")
    try:
        return current.join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError) as exc:
        raise PermanentFetchError("malformed Location", url=shown, kind="redirects") from exc


# --------------------------------------------------------------------------- body decoding


class _Decoder:
    """Content-Encoding decoder whose output per call is bounded by `_DECODE_STEP`."""

    def __init__(self, encoding: str, shown: str) -> None:
        self._shown = shown
        self._identity = encoding in ("", "identity")
        self._zlib: zlib._Decompress | None = None
        self._undecided: bytes | None = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._undecided = b""
        elif not self._identity:
            raise PermanentFetchError(
                f"unsupported Content-Encoding {encoding!r}", url=shown, kind="decode"
            )

    @property
    def complete(self) -> bool:
        """True when a compressed stream reached its end marker (identity: always)."""
        return self._identity or (self._zlib is not None and self._zlib.eof)

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._identity:
            yield data
            return
        try:
            yield from self._inflate(data)
        except zlib.error as exc:
            raise PermanentFetchError(
                "corrupt compressed body", url=self._shown, kind="decode"
            ) from exc

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        if self._undecided is not None:
            self._undecided += data
            if len(self._undecided) < 2:
                return
            data, self._undecided = self._undecided, None
            self._zlib = zlib.decompressobj(_deflate_wbits(data))
        assert self._zlib is not None
        while not self._zlib.eof:
            out = self._zlib.decompress(data, _DECODE_STEP)
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            # zlib may hold pending output even with no input left: drain while steps are full.
            if not data and len(out) < _DECODE_STEP:
                return


def _deflate_wbits(head: bytes) -> int:
    """ "deflate" means zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw deflate;
    tell them apart by the RFC 1950 header check, as httpx's DeflateDecoder does by trial."""
    zlib_header = head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


class _Sink:
    """Collects decoded bytes up to `limit`; past it either truncates or raises too_large."""

    def __init__(self, limit: int, *, truncate: bool, shown: str) -> None:
        self.limit = limit
        self.truncate = truncate
        self.shown = shown
        self.size = 0
        self.full = False
        self._parts: list[bytes] = []

    def add(self, piece: bytes) -> None:
        if self.size + len(piece) > self.limit:
            if not self.truncate:
                raise PermanentFetchError(
                    f"body exceeds {self.limit} bytes", url=self.shown, kind="too_large"
                )
            piece = piece[: self.limit - self.size]
            self.full = True
        self._parts.append(piece)
        self.size += len(piece)

    def value(self) -> bytes:
        return b"".join(self._parts)


def _declared_length(response: httpx.Response, sink: _Sink) -> int | None:
    """Content-Length as an int; reject early when it already exceeds the cap."""
    raw = response.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    declared = int(raw)
    if declared > sink.limit and not sink.truncate:
        raise PermanentFetchError(
            f"Content-Length {declared} exceeds {sink.limit} bytes",
            url=sink.shown,
            kind="too_large",
        )
    return declared


async def _read_body(response: httpx.Response, sink: _Sink) -> bytes:
    """Read raw bytes, decode in bounded steps into `sink`, and verify completeness.

    Raises TransientFetchError("truncated") when the body ends early (short of Content-Length,
    a broken chunked stream, or an unfinished gzip stream): a short listing page is silent data
    loss (scrapy/scrapy#2586, #4120).
    """
    decoder = _Decoder(response.headers.get("content-encoding", "").strip().lower(), sink.shown)
    declared = _declared_length(response, sink)
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            for piece in decoder.decode(chunk):
                sink.add(piece)
                if sink.full:
                    return sink.value()
    except httpx.TransportError as exc:
        raise TransientFetchError(
            f"body incomplete ({type(exc).__name__})",
            url=sink.shown,
            kind="truncated",
            status=response.status_code,
        ) from exc
    if (declared is not None and received < declared) or not decoder.complete:
        raise TransientFetchError(
            f"body incomplete: {received} of {declared} bytes",
            url=sink.shown,
            kind="truncated",
            status=response.status_code,
        )
    return sink.value()


# --------------------------------------------------------------------------- one exchange


@contextmanager
def _mapped_transport_errors(shown: str) -> Iterator[None]:
    """Translate httpx exceptions into the flows.errors tree (house-style.md §7)."""
    try:
        yield
    except httpx.UnsupportedProtocol as exc:
        raise PermanentFetchError("unsupported protocol", url=shown, kind="blocked") from exc
    except httpx.InvalidURL as exc:
        raise PermanentFetchError("invalid URL", url=shown, kind="invalid_url") from exc
    except httpx.TimeoutException as exc:
        raise TransientFetchError(type(exc).__name__, url=shown, kind="timeout") from exc
    except httpx.ConnectError as exc:
        raise TransientFetchError(_one_line(exc), url=shown, kind="connect") from exc
    except httpx.TransportError as exc:
        raise TransientFetchError(_one_line(exc), url=shown, kind="network") from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


@asynccontextmanager
async def _host_turn(host: _Host, tally: _Tally, shown: str) -> AsyncIterator[None]:
    """Hold a per-host slot and wait for the next paced start inside it.

    The slot is taken first so a request that waited on the semaphore cannot start together
    with one that waited on the pacer; the 403 verdict is read only once the slot is ours, so
    queued requests see 403s that arrived while they waited. After its planned wait a request
    settles against the last request that really left (`_Host.settle`), waiting again if that
    one left late.
    """
    async with host.slots:
        _check_forbidden(host, shown)
        wait = host.reserve_start()
        while True:
            if wait > 0:
                tally.waited += wait
                await asyncio.sleep(wait)
            wait = host.settle()
            if wait <= 0:
                break
        yield


async def _exchange(
    run: _Run,
    target: _Target,
    headers: Mapping[str, str],
    budget: _Budget,
    sink: _Sink,
    tally: _Tally,
) -> _Reply:
    """One paced request/response on one hop, bounded by the attempt's remaining budget."""
    shown = sink.shown
    request = run.client.build_request(
        "GET",
        target.dial_url,
        headers={**headers, "Host": target.url.netloc.decode("ascii")},
        extensions={"sni_hostname": target.url.host},  # TLS checks the name, not the address
    )
    async with _host_turn(run.host(target.url), tally, shown):
        began = time.monotonic()
        try:
            async with asyncio.timeout(budget.remaining(shown)):
                with _mapped_transport_errors(shown):
                    return await _send(run.client, request, sink)
        except TimeoutError as exc:
            raise TransientFetchError(
                "no complete response within the deadline", url=shown, kind="deadline"
            ) from exc
        finally:
            budget.left -= time.monotonic() - began


# Bytes of a non-2xx body read only to keep its connection: a larger one is not worth it.
DRAIN_BYTES = 64 * 1024


async def _send(client: httpx.AsyncClient, request: httpx.Request, sink: _Sink) -> _Reply:
    response = await client.send(request, stream=True)
    try:
        if 200 <= response.status_code < 300:
            return _Reply(response.status_code, response.headers, await _read_body(response, sink))
        await _drain(response)
        return _Reply(response.status_code, response.headers, None)
    finally:
        await response.aclose()


async def _drain(response: httpx.Response) -> None:
    """Read a small unwanted body (a 304's empty one, an error page) to its end: httpcore
    puts a connection back in the pool only after the whole message was read, and closing it
    instead made every 304 of a re-run open a new connection."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        return
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > DRAIN_BYTES:
            return


# --------------------------------------------------------------------------- robots.txt


@dataclass(frozen=True, slots=True)
class _Robots:
    """The robots.txt verdict for one origin (RFC 9309 §2.3.1)."""

    parser: Protego | None
    unreachable: bool = False

    def check(self, url: httpx.URL, policy: FetchPolicy, shown: str) -> None:
        if self.unreachable:
            # RFC 9309 §2.3.1.4: unreachable robots.txt means assume complete disallow.
            raise TransientFetchError(
                "robots.txt unreachable; assuming disallow", url=shown, kind="robots_unreachable"
            )
        if self.parser is not None and not self.parser.can_fetch(str(url), robots_token(policy)):
            raise PermanentFetchError("disallowed by robots.txt", url=shown, kind="robots")

    def crawl_delay(self, policy: FetchPolicy) -> float:
        parser = self.parser
        delay = parser.crawl_delay(robots_token(policy)) if parser is not None else None
        return float(delay) if delay else 0.0


_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")


def robots_token(policy: FetchPolicy) -> str:
    """The name robots.txt groups are matched against (RFC 9309 §2.2.1): the User-Agent's
    product token (`paperflow` of `paperflow/0.1 (+https://github.com/…)`). Handing the
    whole header to the matcher let a group named after any word of its comment (`github`,
    a contact's domain) rule paperflow instead of its own group or `*`."""
    found = _PRODUCT_TOKEN.match(policy.user_agent.strip())
    return found.group(0) if found else policy.user_agent


def _robots_from_reply(reply: _Reply) -> _Robots:
    """Map a final robots.txt reply to a verdict: 2xx parsed, 5xx unreachable, else allow."""
    if 200 <= reply.status < 300 and reply.body is not None:
        return _Robots(Protego.parse(reply.body.decode("utf-8", errors="replace")))
    if reply.status >= 500:
        return _Robots(None, unreachable=True)
    return _Robots(None)  # RFC 9309 §2.3.1.3: 4xx means "unavailable", crawl freely


async def _fetch_robots(run: _Run, page: httpx.URL, tally: _Tally) -> _Robots:
    """Fetch and judge robots.txt for the page's origin with the same hardened path.

    Transient failures count as unreachable (disallow all); permanent ones (a blocked redirect,
    a redirect loop) as unavailable (allow all), per RFC 9309 §2.3.1.2-§2.3.1.4.
    """
    current = page.copy_with(path="/robots.txt", query=None, fragment=None)
    budget = _Budget(run.policy.deadline)
    try:
        for _hop in range(max(run.policy.max_redirects, 5) + 1):  # RFC: follow at least 5
            shown = sanitize_url(str(current))
            target = await _prepare_target(run, current, shown)
            sink = _Sink(ROBOTS_MAX_BYTES, truncate=True, shown=shown)
            reply = await _exchange(run, target, {}, budget, sink, tally)
            if reply.status not in _REDIRECT_STATUSES:
                return _robots_from_reply(reply)
            current = _redirect_url(current, reply, shown)
    except TransientFetchError as exc:
        logger.warning("robots.txt unreachable, disallowing host: %s (%s)", exc.url, exc.reason)
        return _Robots(None, unreachable=True)
    except PermanentFetchError:
        return _Robots(None)
    return _Robots(None)


async def _check_robots(run: _Run, url: httpx.URL, tally: _Tally, shown: str) -> None:
    """Apply the origin's robots.txt, fetching it once per run; Crawl-delay raises the pace."""
    if not run.policy.obey_robots:
        return
    host = run.host(url)
    async with host.robots_lock:
        if host.robots is None:
            host.robots = await _fetch_robots(run, url, tally)
            # Pace the first page from robots.txt's *answer*: its request went over a fresh
            # connection, so the server saw it later than we started it.
            host.slow_down(host.robots.crawl_delay(run.policy), hold_for=host.interval)
    host.robots.check(url, run.policy, shown)


# --------------------------------------------------------------------------- statuses, retries


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _raise_for_status(reply: _Reply, host: _Host, policy: FetchPolicy, shown: str) -> None:
    """Classify a final (non-redirect) status; 2xx and 304 pass, everything else raises."""
    status = reply.status
    if 200 <= status < 300 or status == 304:
        return
    if status in _RETRY_STATUSES or status >= 500:
        retry_after = _parse_retry_after(reply.headers.get("retry-after"))
        if status in _SLOW_DOWN_STATUSES:
            _slow_host_down(host, policy, retry_after)
        raise TransientFetchError(
            f"HTTP {status}", url=shown, kind="status", status=status, retry_after=retry_after
        )
    if status == 403:
        host.forbidden += 1
    raise PermanentFetchError(f"HTTP {status}", url=shown, kind="status", status=status)


def _slow_host_down(host: _Host, policy: FetchPolicy, retry_after: float | None) -> None:
    """After 429/503 double the host's interval (at least backoff_base, at most backoff_cap,
    never lower than before) and hold every task for Retry-After: errors never speed us up."""
    hold = min(retry_after, policy.retry_after_cap) if retry_after is not None else 0.0
    wanted = max(host.interval * 2, policy.backoff_base, hold)
    host.slow_down(min(wanted, max(policy.backoff_cap, host.interval)), hold_for=hold)


# Our own generator, not the `random` module's: a library must not draw from (and so shift) the
# global sequence a user's program may have seeded, nor change it under Hypothesis, which
# flags strategies that seem to use `random` when a background fetch retries mid-test.
_JITTER = random.Random()  # noqa: S311 - jitter, not cryptography


def _backoff_delay(policy: FetchPolicy, retry: int) -> float:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
    Jitter", 2015): uniform in [0, min(cap, base * 2**retry)]."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2**retry)
    return _JITTER.uniform(0.0, ceiling)


def _check_forbidden(host: _Host, shown: str) -> None:
    if host.forbidden >= FORBIDDEN_LIMIT:
        raise PermanentFetchError(
            f"host answered 403 {host.forbidden} times; giving up on it",
            url=shown,
            kind="forbidden",
        )


# --------------------------------------------------------------------------- one URL


@dataclass(frozen=True, slots=True)
class _Done:
    final_url: httpx.URL
    reply: _Reply


async def _attempt(run: _Run, url: httpx.URL, headers: Mapping[str, str], tally: _Tally) -> _Done:
    """One attempt: follow up to max_redirects hops, checking every hop before contacting it."""
    budget = _Budget(run.policy.deadline)
    current = url
    for _hop in range(run.policy.max_redirects + 1):
        shown = sanitize_url(str(current))
        target = await _prepare_target(run, current, shown)
        host = run.host(current)
        await _check_robots(run, current, tally, shown)
        sink = _Sink(run.policy.max_bytes, truncate=False, shown=shown)
        reply = await _exchange(run, target, headers, budget, sink, tally)
        if reply.status not in _REDIRECT_STATUSES:
            _raise_for_status(reply, host, run.policy, shown)
            return _Done(current, reply)
        current = _redirect_url(current, reply, shown)
    raise PermanentFetchError(
        f"more than {run.policy.max_redirects} redirects",
        url=sanitize_url(str(url)),
        kind="redirects",
    )


async def _fetch_one(run: _Run, raw_url: str, headers: Mapping[str, str]) -> FetchResult:
    """Fetch one URL with retries for transient failures; never raises a FetchError."""
    started = time.monotonic()
    tally = _Tally()
    last: FetchError | None = None
    try:
        url = _parse_url(raw_url, sanitize_url(raw_url))
        for retry in range(run.policy.retries + 1):
            if retry:
                delay = _backoff_delay(run.policy, retry - 1)
                tally.waited += delay
                await asyncio.sleep(delay)  # Retry-After is enforced by the host's pacer
            tally.attempts += 1
            try:
                done = await _attempt(run, url, headers, tally)
            except TransientFetchError as exc:
                last = exc
                logger.debug("retryable failure: %s (%s: %s)", exc.url, exc.kind, exc.reason)
                continue
            return _success(raw_url, done, tally, started)
    except PermanentFetchError as exc:
        last = exc
    assert last is not None
    return _failure(raw_url, last, tally, started)


def _success(raw_url: str, done: _Done, tally: _Tally, started: float) -> FetchResult:
    headers = done.reply.headers
    return FetchResult(
        url=raw_url,
        final_url=str(done.final_url),
        status=done.reply.status,
        body=done.reply.body,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        content_type=headers.get("content-type"),
        attempts=tally.attempts,
        elapsed_s=time.monotonic() - started,
        waited_s=tally.waited,
        not_modified=done.reply.status == 304,
    )


def _failure(raw_url: str, exc: FetchError, tally: _Tally, started: float) -> FetchResult:
    logger.warning(
        "fetch failed: %s kind=%s status=%s attempts=%d: %s",
        exc.url,
        exc.kind,
        exc.status,
        tally.attempts,
        exc.reason,
    )
    return FetchResult(
        url=raw_url,
        final_url=raw_url,
        status=exc.status,
        body=None,
        etag=None,
        last_modified=None,
        content_type=None,
        attempts=tally.attempts,
        elapsed_s=time.monotonic() - started,
        waited_s=tally.waited,
        error=f"{exc.kind}: {exc.reason} ({exc.url})",
        error_kind=exc.kind,
        transient=exc.transient,
    )


def _conditional_headers(validator: tuple[str | None, str | None] | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from a stored (etag, last_modified) pair."""
    etag, last_modified = validator or (None, None)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


# --------------------------------------------------------------------------- entry points


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle), built once per process: httpx
    builds a new one for every client, ~60 ms of CPU each, and every fetch batch has a client."""
    return httpx.create_ssl_context()


def _new_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """The one client of a run: no environment, no automatic redirects, explicit timeouts."""
    transport = httpx.AsyncHTTPTransport(
        verify=_tls_context(),
        trust_env=False,
        # Per-host semaphores bound connections; the pool itself need not queue.
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
    )
    # httpx 0.28 takes no network backend, so it is set on its pool (tests/flows/test_fetch.py
    # checks that this still reaches the pool).
    transport._pool._network_backend = _Backend()  # noqa: SLF001
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(
            connect=policy.connect_timeout,
            read=policy.read_timeout,
            write=policy.read_timeout,
            pool=None,
        ),
        headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
    )


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, whose streams answer "is this idle connection readable?"
    (asked of every idle connection each time the pool hands out or takes back one, to drop
    connections the server closed) from the socket they keep, instead of through anyio's
    extra attributes, which build a dict and call getpeername() every time: that was ~0.85 ms
    of every request's CPU, about a quarter of an unchanged page's."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(inner)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        # The TCP socket (under TLS too); anyio hands out asyncio's TransportSocket wrapper.
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block (data, or the server's close); what httpcore asks. A
    socket that is gone counts as readable, so its connection is dropped, as httpcore does."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def _quiet_http_loggers() -> None:
    # httpx logs every request's full URL, query string included, at INFO (reliability.md §5).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def fetch_all(
    urls: Sequence[str],
    policy: FetchPolicy,
    *,
    validators: Mapping[str, tuple[str | None, str | None]] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
    session: FetchSession | None = None,
) -> list[FetchResult]:
    """Fetch every URL under `policy`; return one FetchResult per URL, in input order.

    A per-URL failure never raises: it is a FetchResult with `error`, `error_kind` and
    `transient` set. `validators` maps a URL to its stored (etag, last_modified) so unchanged
    pages come back as 304 (not_modified=True, body=None). `on_result` is called once per URL as
    soon as it finishes; an exception from it cancels the batch and propagates.
    """
    _quiet_http_loggers()
    known = validators or {}
    results: list[FetchResult | None] = [None] * len(urls)
    async with _new_client(policy) as client:
        run = _Run(policy, client, session)

        async def fetch_into(index: int, url: str) -> None:
            result = await _fetch_one(run, url, _conditional_headers(known.get(url)))
            results[index] = result
            if on_result is not None:
                on_result(result)

        async with asyncio.TaskGroup() as group:
            for index, url in enumerate(urls):
                group.create_task(fetch_into(index, url))
        if session is not None:
            session.keep(run.hosts)
    return [result for result in results if result is not None]


def fetch_all_sync(
    urls: Sequence[str],
    policy: FetchPolicy,
    *,
    validators: Mapping[str, tuple[str | None, str | None]] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
    session: FetchSession | None = None,
) -> list[FetchResult]:
    """`fetch_all` for callers without an event loop (runs one with `asyncio.run`)."""
    return asyncio.run(
        fetch_all(urls, policy, validators=validators, on_result=on_result, session=session)
    )
