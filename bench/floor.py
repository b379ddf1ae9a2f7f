"""The floor: paperflow's stack with no orchestration at all.

    python -m bench.floor --db out.duckdb --concurrency 8 URL...   (or --urls-file FILE)

async httpx fetches every page (N open requests), each body is parsed with selectolax as soon
as it arrives, duplicates are resolved in memory ("newest listing wins"), and the papers go
into DuckDB in one Arrow insert. Prints one JSON line: rows, pages and seconds per stage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa

from bench.hfextract import extract, newest_wins

CREATE = """CREATE TABLE IF NOT EXISTS papers (
    arxiv_id VARCHAR PRIMARY KEY, title VARCHAR, summary VARCHAR, authors VARCHAR[],
    published_at VARCHAR, upvotes BIGINT, github_repo VARCHAR, organization VARCHAR,
    listed_date VARCHAR, page_url VARCHAR)"""
UPSERT = "INSERT OR REPLACE INTO papers SELECT * FROM batch"


async def _fetch_parse(urls: list[str], concurrency: int) -> tuple[list[dict[str, Any]], float]:
    """All rows of `urls`, and the seconds spent parsing (inside the fetch phase)."""
    rows: list[dict[str, Any]] = []
    parse_s = 0.0
    queue = iter(urls)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal parse_s
            for url in queue:
                response = await client.get(url)
                response.raise_for_status()
                t0 = time.perf_counter()
                rows.extend(extract(response.content, url))
                parse_s += time.perf_counter() - t0

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return rows, parse_s


def load(db_path: Path, rows: list[dict[str, Any]]) -> None:
    batch = pa.Table.from_pylist(rows)  # noqa: F841 - DuckDB reads it by name
    con = duckdb.connect(str(db_path))
    try:
        con.execute(CREATE)
        con.execute(UPSERT)
    finally:
        con.close()


def run_floor(urls: list[str], db_path: Path, concurrency: int = 8) -> dict[str, Any]:
    """Fetch, parse, resolve and load `urls` into `db_path`; the stage timings."""
    t0 = time.perf_counter()
    rows, parse_s = asyncio.run(_fetch_parse(urls, concurrency))
    t1 = time.perf_counter()
    papers = newest_wins(rows)
    t2 = time.perf_counter()
    load(db_path, papers)
    t3 = time.perf_counter()
    return {
        "pages": len(urls),
        "rows": len(rows),
        "papers": len(papers),
        "stages": {
            "fetch": round(t1 - t0 - parse_s, 3),
            "parse": round(parse_s, 3),
            "resolve": round(t2 - t1, 3),
            "load": round(t3 - t2, 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.floor")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--urls-file", type=Path)
    parser.add_argument("urls", nargs="*")
    args = parser.parse_args(argv)
    urls = list(args.urls)
    if args.urls_file:
        urls += args.urls_file.read_text().split()
    print(json.dumps(run_floor(urls, args.db, args.concurrency)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
