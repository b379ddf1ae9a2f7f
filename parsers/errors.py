"""Parse errors. A parse error fails its own page only; the run records it and goes on.

IngestError (flows/errors.py re-exports it as the package root)
└── ParseError            the page is not what it claims; `kind` says how
    └── LayoutChanged     structure markers present but no records: the site changed
"""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """Root of every paperflow error."""


class ParseError(IngestError):
    """A page could not be parsed.

    `kind` is one of "garbage", "truncated", "missing_field", "layout_changed", "crash",
    "timeout", "too_large", "unknown_format".
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        url: str,
        kind: str = "garbage",
        selector: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        self.source = source
        self.url = url
        self.kind = kind
        self.selector = selector
        self.excerpt = (excerpt or "")[:120] or None
        detail = f" [{selector}]" if selector else ""
        snippet = f" near {self.excerpt!r}" if self.excerpt else ""
        super().__init__(f"{source}: {message}{detail}{snippet} ({url})")
        self.reason = message

    def __reduce__(self) -> tuple[Any, ...]:
        # The keyword-only __init__ cannot be re-called from `args`: rebuild from the state
        # instead, so errors cross process boundaries (flows/sandbox.py) with their kind.
        return _rebuild_error, (type(self), self.args, dict(self.__dict__))


def _rebuild_error(
    cls: type[ParseError], args: tuple[Any, ...], state: dict[str, Any]
) -> ParseError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class LayoutChanged(ParseError):
    """The page still carries the source's structure markers but yields no records."""

    def __init__(self, message: str, *, source: str, url: str, selector: str | None = None) -> None:
        super().__init__(message, source=source, url=url, kind="layout_changed", selector=selector)
