"""Peer: the same job as a dlt pipeline (runs in bench/.venv-peers, not the project's venv).

    bench/.venv-peers/bin/python -m bench.peer_dlt --db out.duckdb --workdir DIR --urls-file F

A resource of page URLs feeds a transformer whose items are `@dlt.defer`red, so dlt fetches and
parses pages on its extract thread pool (workers = concurrency). The papers resource is loaded
with `write_disposition="merge"` on `arxiv_id`, `dedup_sort` on the listing date (newest wins),
into the DuckDB destination. Stage seconds come from the pipeline trace (extract, normalize,
load); parsing time is summed inside the transformer and taken out of extract.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.hfextract import extract


def run(urls: list[str], db: Path, workdir: Path, concurrency: int) -> dict[str, Any]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ["EXTRACT__WORKERS"] = str(concurrency)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt
    from dlt.sources.helpers import requests

    lock = threading.Lock()
    parse_s = [0.0]
    session = requests.Session()

    @dlt.transformer(
        name="papers",
        write_disposition="merge",
        primary_key="arxiv_id",
        columns={"listed_date": {"dedup_sort": "desc"}},
        max_table_nesting=0,  # authors as one JSON column, like the other systems' list column
    )
    def papers(url: str) -> Any:
        @dlt.defer
        def fetch_parse() -> list[dict[str, Any]]:
            response = session.get(url, timeout=30)
            response.raise_for_status()
            t0 = time.thread_time()  # CPU of this thread: GIL waits are not parsing
            rows = extract(response.content, url)
            with lock:
                parse_s[0] += time.thread_time() - t0
            return rows

        yield fetch_parse()

    pages = dlt.resource(urls, name="pages", selected=False)
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        pipelines_dir=str(workdir / "dlt"),
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="bench",
    )
    # parquet is dlt's recommended format for DuckDB; the default (insert_values) is ~5x slower.
    pipeline.run(pages | papers, loader_file_format="parquet")
    steps = {
        s.step: (s.finished_at - s.started_at).total_seconds() for s in pipeline.last_trace.steps
    }
    with pipeline.sql_client() as client:
        count = client.execute_sql("SELECT count(*) FROM papers")[0][0]
    return {
        "pages": len(urls),
        "papers": count,
        "stages": {
            "fetch": round(steps.get("extract", 0.0) - parse_s[0], 3),
            "parse": round(parse_s[0], 3),
            "resolve": round(steps.get("normalize", 0.0), 3),
            "load": round(steps.get("load", 0.0), 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.peer_dlt")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--urls-file", type=Path, required=True)
    args = parser.parse_args(argv)
    urls = args.urls_file.read_text().split()
    print(json.dumps(run(urls, args.db, args.workdir, args.concurrency)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
