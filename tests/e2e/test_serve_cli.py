"""`paperflow serve` end to end, as a user runs it: no PREFECT_API_URL, so it starts its own
Prefect server (with the scheduler a plain flow run's temporary server lacks), and the
schedule itself — not the test — creates the runs, which land in the warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from flows.demo import serve_site, site_pages

PAPERFLOW = str(Path(sys.executable).with_name("paperflow"))


def _succeeded_scheduled_runs(db: Path) -> int:
    snapshot = db.with_name(db.stem + ".snapshot" + db.suffix)
    if not snapshot.exists():
        return 0
    try:
        with duckdb.connect(str(snapshot), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM runs WHERE status = 'succeeded'").fetchone()
    except duckdb.Error:
        return 0
    return int(row[0]) if row else 0


def test_paperflow_serve_runs_the_schedule_with_its_own_server(tmp_path: Path) -> None:
    day = site_pages()["/papers/date/2026-05-08"]
    today = datetime.now(UTC).date()
    # prefect.yaml's hf-papers deployment reads the last `days_back` day pages up to today
    pages = {f"/papers/date/{today - timedelta(days=i)}": day for i in range(-1, 4)}
    db = tmp_path / "data" / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PAPERFLOW_DB=str(db), PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5")
    with serve_site(pages) as base:
        proc = subprocess.Popen(
            [PAPERFLOW, "serve", "--source", "hf-papers", "--interval", "10", "--base-url", base],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 150
            while _succeeded_scheduled_runs(db) < 2 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(1)
            assert _succeeded_scheduled_runs(db) >= 2  # two scheduled runs, not one we started
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert "starting a local Prefect server" in out
    with duckdb.connect(str(db.with_name("w.snapshot.duckdb")), read_only=True) as con:
        params = con.execute("SELECT params FROM runs ORDER BY started_at").fetchall()
        papers = con.execute("SELECT count(*) FROM papers").fetchone()
    assert all('"scheduled": true' in p[0] for p in params)
    assert papers is not None and papers[0] > 0
    assert (tmp_path / "data" / "prefect" / "server.log").exists()
