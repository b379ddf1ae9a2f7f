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


def _run(system: str, size: int, wall: float, rss: float, flow: float | None = None) -> dict:
    stages = {"flow": flow} if flow is not None else {}
    return {"system": system, "size": size, "pages": 125 * size, "wall_s": wall,
            "peak_rss_mb": rss, "stages": stages, "note": "", "cpu_s": None}  # fmt: skip


def test_targets_judge_each_target_and_report_the_fixed_start_up_apart() -> None:
    from bench.report import _targets

    result = {
        "sizes": [1, 16],
        "runs": [
            _run("paperflow", 1, 10.0, 400.0, flow=5.0),
            _run("paperflow", 16, 40.0, 500.0, flow=35.0),
            _run("floor", 16, 25.0, 800.0),
            _run("dlt", 16, 45.0, 600.0),
        ],
        "reruns": [_run("paperflow (re-run)", 16, 10.0, 300.0, flow=5.0)],
    }
    text = _targets(result)
    assert "within 1.5× of the floor: 1.60×, **not met** (1.40× for the flow runs alone, " \
        "without 5.0 s of start-up)" in text
    assert "ahead of both peers: 40.0 s against 45.0 s for the faster peer, met" in text
    assert "(1.2×), met" in text  # 400 -> 500 MB
    assert "a fifth of the first: 0.25, **not met** (0.14 for the flow runs alone)." in text


def test_abstract_vocabulary_grows_like_real_text() -> None:
    """Heaps' law: the real abstracts in the shared samples hold ~3k distinct words in their
    first 20k and ~4.4k in 37k; drawing every word afresh (the old generator) held ~9k in
    20k and kept growing linearly, which priced the search index on vocabulary no site has."""
    import random
    import re

    from bench.site import _specific

    rng = random.Random(7)
    words: list[str] = []
    while len(words) < 200_000:
        words += re.findall(r"[a-z]+", _specific(rng).lower())
    distinct = {n: len(set(words[:n])) for n in (20_000, 200_000)}
    assert 2_000 <= distinct[20_000] <= 5_000, distinct
    # Sublinear: 10x the text, under 6x the words (the samples grow as n**0.6, which would be 4x;
    # the old generator grew ~9x).
    assert distinct[200_000] < 6 * distinct[20_000], distinct


def test_a_build_by_another_generator_is_not_reused(tmp_path: Path) -> None:
    from bench.site import GENERATOR_FILE, MANIFEST

    root = build_site(2, tmp_path / "site")
    first = (root / MANIFEST).read_text()
    (root / GENERATOR_FILE).write_text("1: older pages")
    (root / "d00000.html").write_text("stale")
    build_site(2, root)
    assert (root / MANIFEST).read_text() == first  # same seed, same pages again
    assert (root / "d00000.html").read_text() != "stale"


def test_repeated_rounds_keep_the_median_run_and_every_wall_time() -> None:
    from bench.run import Run, _median

    tries = [Run("dlt", 16, 2000, wall, 500.0 + wall) for wall in (28.0, 24.5, 33.1)]
    chosen = _median(tries)
    assert (chosen.wall_s, chosen.peak_rss_mb) == (28.0, 528.0)  # that run's memory, too
    assert chosen.tries_wall_s == [28.0, 24.5, 33.1]
    assert _median(tries[:2]).wall_s == 24.5  # even count: the lower middle
