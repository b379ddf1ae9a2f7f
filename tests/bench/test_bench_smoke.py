"""Smoke test of the pipeline benchmark: a 3-page generated site, served, read by the floor."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.floor import run_floor
from bench.site import build_site, day_urls, serving


def test_floor_loads_a_generated_site(tmp_path: Path) -> None:
    root = build_site(3, tmp_path / "site")
    with serving(root) as base:
        report = run_floor(day_urls(base, 3), tmp_path / "floor.duckdb", concurrency=2)
    assert report["pages"] == 3
    assert report["rows"] >= 3 * 40  # ~50 papers a day
    con = duckdb.connect(str(tmp_path / "floor.duckdb"), read_only=True)
    try:
        (count,) = con.execute("SELECT count(*) FROM papers").fetchone()
    finally:
        con.close()
    assert count == report["papers"] > 0


def test_measure_counts_the_cpu_of_the_child_and_the_processes_it_waited_for(tmp_path: Path) -> None:
    import os
    import sys

    from bench.run import measure

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    script = f"import subprocess, sys\n{burn}subprocess.run([sys.executable, '-c', {burn!r}])\nprint('done')"
    m = measure([sys.executable, "-c", script], dict(os.environ), tmp_path, timeout=60)
    assert (m.code, m.out.strip()) == (0, "done")
    assert m.cpu_s >= 0.55, m  # 0.3 s in the child + 0.3 s in its own child
    assert m.wall_s >= 0.5 and m.peak_rss_mb > 0
