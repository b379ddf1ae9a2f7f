"""Fixtures for fetch tests: a fresh fault server per test (state never leaks between tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faultserver import FaultServer, gzip_bomb


@pytest.fixture(scope="session")
def warm_gzip_bomb() -> bytes:
    """The bomb body, built before a test's timing or tracemalloc window opens."""
    return gzip_bomb()


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()
