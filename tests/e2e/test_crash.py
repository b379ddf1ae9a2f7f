"""Crashes and overlaps (reliability.md §8): a writer killed with SIGKILL at random moments,
and two runs of one ingest at once. Afterwards: every committed run is complete, nothing is
half-loaded, killed runs are marked abandoned, and a final run converges to the clean result."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from flows.demo import site_pages
from tests.faultserver import FaultServer
from warehouse.db import loading_path

pytestmark = pytest.mark.usefixtures("prefect_harness")
PAPERFLOW = str(Path(sys.executable).with_name("paperflow"))
FIRST, DAYS = date(2025, 3, 1), 60


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    bodies = [b for p, b in sorted(site_pages().items()) if p.startswith("/papers/date/")]
    srv = FaultServer().start()
    srv.site.update({f"/papers/date/{FIRST + timedelta(days=i)}": bodies[i % len(bodies)] for i in range(DAYS)})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def site(server: FaultServer) -> str:
    return server.url("")


def _wait_for_hits(server: FaultServer, n: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(server.hits_for("/papers/")) < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def _args(base: str) -> list[str]:
    last = FIRST + timedelta(days=DAYS - 1)
    return ["ingest", "hf-papers", "--since", str(FIRST), "--until", str(last), "--base-url", base,
            "--max-rate", "25"]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _content(db: Path) -> tuple[object, ...]:
    return (
        _rows(db, "SELECT paper_id, arxiv_id, title, authors, upvotes, n_sightings FROM papers ORDER BY ALL"),
        _rows(db, "SELECT sighting_id, paper_id, page_url, position FROM sightings ORDER BY ALL"),
    )


def _check_invariants(db: Path) -> None:
    # A run is committed with its pages and sightings or not at all.
    for run_id, status, pages_total, added in _rows(
        db, "SELECT run_id, status, pages_total, sightings_added FROM runs"
    ):
        pages = _rows(db, f"SELECT count(*) FROM pages WHERE run_id = '{run_id}'")[0][0]
        sightings = _rows(db, f"SELECT count(*) FROM sightings WHERE run_id = '{run_id}'")[0][0]
        if status in ("succeeded", "partial"):
            assert (pages, sightings) == (pages_total, added), run_id
        else:
            assert status in ("running", "abandoned", "failed")
            assert (pages, sightings) == (0, 0), (run_id, status)
    assert _rows(db, "SELECT count(*) FROM papers p WHERE NOT EXISTS "
                     "(SELECT 1 FROM sightings s WHERE s.paper_id = p.paper_id)") == [(0,)]
    assert _rows(db, "SELECT arxiv_id FROM papers GROUP BY 1 HAVING count(*) > 1") == []


@pytest.fixture(scope="module")
def clean(site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    assert main(["--db", str(db), *_args(site)]) == 0
    return _content(db)


def test_sigkill_at_random_moments_then_converge(
    db: Path, site: str, server: FaultServer, clean: tuple[object, ...], cli_env: dict[str, str]
) -> None:
    rng = random.Random(int(os.environ.get("PAPERFLOW_KILL_SEED", "7")))
    env = {**cli_env, "PAPERFLOW_DB": str(db), "PAPERFLOW_LOCK_TIMEOUT": "20"}
    killed = 0
    for i in range(4):
        seen = len(server.hits_for("/papers/"))
        # Every other run loads in chunks of 500 entries (into a copy), the others in one
        # transaction on the live file.
        env["PAPERFLOW_LOAD_CHUNK_ROWS"] = "500" if i % 2 else "20000"
        proc = subprocess.Popen([PAPERFLOW, *_args(site)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill somewhere between the first page fetched and shortly after the last (the load).
        _wait_for_hits(server, seen + rng.randint(1, DAYS), proc)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        if db.exists():
            _check_invariants(db)
    assert main(["--db", str(db), *_args(site)]) == 0
    _check_invariants(db)
    statuses = [r[0] for r in _rows(db, "SELECT status FROM runs ORDER BY started_at")]
    assert statuses[-1] == "succeeded" and "running" not in statuses
    assert statuses.count("abandoned") + statuses.count("succeeded") - 1 == 4
    assert statuses.count("abandoned") == killed
    assert _content(db) == clean


def test_sigkill_in_a_chunked_load_leaves_the_live_file_whole(
    db: Path, site: str, clean: tuple[object, ...], cli_env: dict[str, str]
) -> None:
    """A load of more than one chunk commits chunk by chunk into a copy of the warehouse; a
    kill then leaves the copy half-written and the live file untouched."""
    env = {**cli_env, "PAPERFLOW_DB": str(db), "PAPERFLOW_LOAD_CHUNK_ROWS": "100"}
    work = loading_path(db)
    proc = subprocess.Popen([PAPERFLOW, *_args(site)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = work.with_name(work.name + ".wal")  # the copy's first chunk has committed
    deadline = time.monotonic() + 120
    while not wal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert wal.exists(), "the load never committed a chunk into a copy"
    # The live file stays locked while its copy loads: another program cannot open it.
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect(str(db), read_only=True).close()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert work.exists()  # killed mid-load (~3,000 entries make 30 chunks), not after it
    assert _rows(work, "SELECT count(*) FROM sightings")[0][0] > 0  # chunks had committed
    _check_invariants(db)
    assert _rows(db, "SELECT status FROM runs") == [("running",)]
    assert _rows(db, "SELECT count(*) FROM sightings") == [(0,)]
    assert main(["--db", str(db), *_args(site)]) == 0
    assert not work.exists()
    _check_invariants(db)
    assert [r[0] for r in _rows(db, "SELECT status FROM runs ORDER BY started_at")] == [
        "abandoned", "succeeded"]
    assert _content(db) == clean


def test_two_runs_at_once_end_like_one(db: Path, site: str, clean: tuple[object, ...], cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PAPERFLOW_DB": str(db)}
    procs = [subprocess.Popen([PAPERFLOW, *_args(site)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    _check_invariants(db)
    assert _content(db) == clean
    assert _rows(db, "SELECT count(*), count(*) FILTER (status = 'succeeded') FROM runs") == [(2, 2)]
