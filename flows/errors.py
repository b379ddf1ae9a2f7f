"""Errors raised at the edges of the service (fetching, user input).

The tree is split by what the caller should *do*, not by where the failure happened
(house-style.md §7; after dlt's Terminal/Transient markers and Meltano's taxonomy):

    IngestError (parsers.errors; the single root of every paperflow error)
    ├── FetchError               one URL could not be fetched; has url (sanitised), kind, status
    │   ├── TransientFetchError  worth retrying later, with backoff; may carry retry_after
    │   │                          kind: "timeout", "connect", "network", "deadline",
    │   │                                "truncated", "status" (408, 429, 5xx),
    │   │                                "robots_unreachable" (robots.txt 5xx / network failure)
    │   └── PermanentFetchError  retrying will not help
    │                              kind: "status" (other 4xx, 3xx without Location), "robots",
    │                                    "blocked" (scheme, host, address, userinfo),
    │                                    "too_large", "redirects", "forbidden" (repeated 403),
    │                                    "decode" (unsupported or corrupt encoding),
    │                                    "invalid_url"
    └── UsageError                 bad CLI or user input; the message is one clear line

No httpx exception ever leaves `flows/fetch.py`; it maps them onto this tree. Messages and the
`url` field are sanitised (`flows.fetch.sanitize_url`), so they are safe to log and to store.
"""

from __future__ import annotations

from parsers.errors import IngestError

__all__ = [
    "FetchError",
    "IngestError",
    "PermanentFetchError",
    "TransientFetchError",
    "ServeError",
    "UsageError",
]


class FetchError(IngestError):
    """A URL could not be fetched.

    Attributes:
        url: the requested URL, already passed through `sanitize_url`.
        kind: a short machine-readable reason (see the module docstring).
        status: the HTTP status of the failing response, or None if there was none.
        reason: the one-line human reason, without the URL.
    """

    transient: bool = False

    def __init__(self, reason: str, *, url: str, kind: str, status: int | None = None) -> None:
        self.url = url
        self.kind = kind
        self.status = status
        self.reason = " ".join(reason.split())
        super().__init__(f"{kind}: {self.reason} ({url})")


class TransientFetchError(FetchError):
    """Timeouts, connection failures and resets, 408/429/5xx, truncated bodies, deadlines.

    `retry_after` is the server's requested delay in seconds (Retry-After), if it sent one.
    """

    transient = True

    def __init__(
        self,
        reason: str,
        *,
        url: str,
        kind: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, url=url, kind=kind, status=status)
        self.retry_after = retry_after


class PermanentFetchError(FetchError):
    """Other 4xx, robots.txt disallow, blocked host/scheme/address, too large, redirect loops."""


class UsageError(IngestError):
    """Bad command-line or user input. `str()` is one line suitable for showing to a person."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class ServeError(IngestError):
    """`paperflow serve` could not start or reach the Prefect server it needs."""
