"""Shared fixtures: a Prefect test harness (real API server, temporary database), the bundled
sample captures, and a local HTTP site built from the demo pages plus fault pages.

Nothing here touches a public host: every server binds 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "flows" / "demo_site" / "samples"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One real Prefect API server (temporary SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def samples() -> list[Path]:
    """The three real sample captures, as bundled in the repo."""
    files = sorted(SAMPLES.glob("*.txt"))
    assert len(files) == 3, files
    return files


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "paperflow.duckdb"


@pytest.fixture
def cli_env(prefect_harness: None) -> dict[str, str]:
    """Environment for `paperflow` subprocesses: they use the harness's Prefect server
    instead of each starting a temporary one (5–20 s apiece)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}

