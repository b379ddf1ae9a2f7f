"""A one-line progress display for long runs, on a terminal only (stderr; silent otherwise)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from flows.fetch import FetchResult


class Progress:
    """Counts fetched pages across a run's groups and redraws at most ten times a second."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total = 0
        self.done = 0
        self.failed = 0
        self.not_modified = 0
        self._drawn = 0.0
        self._lock = threading.Lock()

    def expect(self, pages: int) -> None:
        """More pages are known (a new wave of pagination)."""
        with self._lock:
            self.total += pages

    def __call__(self, result: FetchResult) -> None:
        with self._lock:
            self.done += 1
            self.failed += result.error is not None
            self.not_modified += result.not_modified
            if self.enabled and (time.monotonic() - self._drawn > 0.1 or self.done == self.total):
                self._drawn = time.monotonic()
                self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r  fetching [{bar}] {self.done}/{self.total} pages"
            f" ({self.not_modified} unchanged, {self.failed} failed)"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
