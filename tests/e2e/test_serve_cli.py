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


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _kill_servers_of(home: Path) -> None:
    """Kill the Prefect servers whose PREFECT_HOME is `home` (found through /proc)."""
    marker = f"PREFECT_HOME={home}".encode()
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc_dir / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc_dir.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def _interrupt(proc: subprocess.Popen[str], server_log: Path, before: str) -> tuple[str, str]:
    """Ctrl-C, as a user stops `paperflow serve`; it must be gone within a minute. If not,
    kill it (so it does not run on under the rest of the suite) and fail with what it said."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        _kill_servers_of(server_log.parent)  # its own session: killing serve leaves it behind
        log = server_log.read_text(errors="replace")[-3000:] if server_log.exists() else ""
        raise AssertionError(
            f"paperflow serve still running 60 s after Ctrl-C ({before})\n--- stdout\n{out[-3000:]}"
            f"\n--- stderr\n{err[-3000:]}\n--- server.log\n{log}"
        ) from None


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
            # Ctrl-C as at a terminal: a suite started in the background (`cmd &`, nohup)
            # hands its children SIGINT ignored, and serve would never see the test's Ctrl-C.
            preexec_fn=_default_sigint,
        )
        started, runs = time.monotonic(), 0
        try:
            while _succeeded_scheduled_runs(db) < 2 and time.monotonic() < started + 150:
                assert proc.poll() is None, proc.communicate()
                time.sleep(1)
            runs = _succeeded_scheduled_runs(db)
        finally:
            waited = f"{runs} scheduled runs succeeded in {time.monotonic() - started:.0f} s"
            out, err = _interrupt(proc, tmp_path / "data" / "prefect" / "server.log", waited)
    assert runs >= 2, (runs, out[-2000:], err[-2000:])  # two scheduled runs, none we started
    assert "starting a local Prefect server" in out
    with duckdb.connect(str(db.with_name("w.snapshot.duckdb")), read_only=True) as con:
        params = con.execute("SELECT params FROM runs ORDER BY started_at").fetchall()
        papers = con.execute("SELECT count(*) FROM papers").fetchone()
    assert all('"scheduled": true' in p[0] for p in params)
    assert papers is not None and papers[0] > 0
    assert (tmp_path / "data" / "prefect" / "server.log").exists()
