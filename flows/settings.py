"""One typed Settings object; every default is visible here.

Built once at the entry point (`Settings.from_env()`, then CLI flags via `replace`) and passed
down explicitly. Nothing else in paperflow reads `os.environ` (house-style §6).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from warehouse.lake import Lake, Target, is_lake_address
from warehouse.stage import CHUNK_ROWS

DEFAULT_DB = Path("data/paperflow.duckdb")
DEFAULT_USER_AGENT = "paperflow/0.1 (+https://github.com/paperflow/paperflow)"


@dataclass(frozen=True, slots=True)
class Settings:
    """Run-wide configuration.

    db_path          the DuckDB warehouse file (env PAPERFLOW_DB); with a DuckLake, its folder
                     (default ./data) still holds this machine's raw bodies and scratch space
    lake             `ducklake:postgres:<libpq connection string>` when the warehouse is a
                     DuckLake (`--db ducklake:…`, env PAPERFLOW_DB), else None
    data_path        the DuckLake's data directory (--data-path, env PAPERFLOW_DATA_PATH)
    lock_timeout_s   how long a writer waits for another writer before "warehouse busy"
    contact          appended to the User-Agent so site operators can reach us (PAPERFLOW_CONTACT)
    max_rate         requests/s per host; None = the source's default, 0 = unlimited
    concurrency      open requests per host; None = the source's default
    batch_pages      pages per fetch/parse task (one Prefect task per group, never per page;
                     a wave of mostly new pages starts at 1/8 of it and doubles up to it;
                     in one of known pages, unchanged groups double up to 8x it)
    max_pages        most pages one run fetches, following pagination included
    parse_timeout_s  wall-clock budget for parsing one page in the child process
    max_page_bytes   largest page accepted, after decompression
    retries          attempts after the first for a transient fetch failure
    load_chunk_rows  staged rows resolved per step of a load; a load of more is written a step
                     per transaction into a copy of the warehouse, which bounds its memory
                     (env PAPERFLOW_LOAD_CHUNK_ROWS; docs/warehouse.md, "Large loads")
    progress         draw a progress bar on stderr (the CLI turns it on for terminals)
    """

    db_path: Path = DEFAULT_DB
    lake: str | None = None
    data_path: Path | None = None
    lock_timeout_s: float = 60.0
    contact: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    max_rate: float | None = None
    concurrency: int | None = None
    batch_pages: int = 200
    max_pages: int = 5_000
    parse_timeout_s: float = 20.0
    max_page_bytes: int = 20 * 1024 * 1024
    retries: int = 4
    load_chunk_rows: int = CHUNK_ROWS
    progress: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls()
        if env.get("PAPERFLOW_DB"):
            settings = settings.with_db(env["PAPERFLOW_DB"])
        if env.get("PAPERFLOW_DATA_PATH"):
            settings = replace(settings, data_path=Path(env["PAPERFLOW_DATA_PATH"]))
        if env.get("PAPERFLOW_CONTACT"):
            settings = replace(settings, contact=env["PAPERFLOW_CONTACT"])
        if env.get("PAPERFLOW_LOCK_TIMEOUT"):
            settings = replace(settings, lock_timeout_s=float(env["PAPERFLOW_LOCK_TIMEOUT"]))
        if env.get("PAPERFLOW_LOAD_CHUNK_ROWS"):
            rows = int(env["PAPERFLOW_LOAD_CHUNK_ROWS"])
            if rows < 1:
                raise ValueError(f"PAPERFLOW_LOAD_CHUNK_ROWS must be at least 1, not {rows}")
            settings = replace(settings, load_chunk_rows=rows)
        return settings

    def with_db(self, db: str) -> Settings:
        """Settings for `--db` text: a DuckLake address or a file path."""
        if is_lake_address(db):
            return replace(self, lake=db)
        return replace(self, db_path=Path(db), lake=None)

    @property
    def target(self) -> Target:
        """The warehouse: the file, or the DuckLake (ValueError if its address is invalid or
        `data_path` is missing)."""
        return Lake.parse(self.lake, self.data_path) if self.lake else self.db_path

    def db_argument(self) -> str:
        """The warehouse as a `--db` value another process on this machine can use."""
        return self.lake or str(self.db_path.resolve())

    @property
    def raw_dir(self) -> Path:
        """Where fetched bodies are kept, compressed and addressed by hash."""
        return self.db_path.parent / "raw"

    @property
    def work_dir(self) -> Path:
        """Per-run scratch space (staged entries), removed after a run loads."""
        return self.db_path.parent / "work"

    def full_user_agent(self) -> str:
        return f"{self.user_agent[:-1]}; {self.contact})" if self.contact else self.user_agent


def prefect_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Prefect settings paperflow needs before Prefect is imported (only unset ones).

    Analytics off removes the telemetry "database is locked" noise (DEVELOPERS.md); the
    ephemeral server is allowed a slow first start on 2-core machines.
    """
    wanted = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    }
    return {k: v for k, v in wanted.items() if k not in env}
