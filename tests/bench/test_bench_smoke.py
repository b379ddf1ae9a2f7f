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
