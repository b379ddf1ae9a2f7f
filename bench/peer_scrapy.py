"""Peer: the same job as a Scrapy spider with an item pipeline into DuckDB (bench/.venv-peers).

    bench/.venv-peers/bin/python -m bench.peer_scrapy --db out.duckdb --urls-file F

The spider parses each response with the shared extractor and yields one item per paper; the
item pipeline keeps the newest listing per arxiv_id and writes them to DuckDB in one Arrow
insert when the spider closes (the fastest pipeline shape; per-item INSERTs are far slower).
Concurrency is N requests per domain, no download delay, robots.txt obeyed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from bench.hfextract import extract, newest_wins

TIMES: dict[str, float] = {"parse": 0.0}


class DayPages(scrapy.Spider):
    name = "hf_days"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> Any:
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True)

    def parse(self, response: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        rows = extract(response.body, response.url)
        TIMES["parse"] += time.perf_counter() - t0
        yield from rows


class DuckDBPipeline:
    """Collects items; on close resolves duplicates and bulk-inserts them."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.rows: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> DuckDBPipeline:
        return cls(crawler.settings.get("BENCH_DB"))

    def open_spider(self, spider: Any = None) -> None:
        TIMES["start"] = time.perf_counter()

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        self.rows.append(item)
        return item

    def close_spider(self, spider: Any = None) -> None:
        import duckdb
        import pyarrow as pa

        t1 = time.perf_counter()
        papers = newest_wins(self.rows)
        t2 = time.perf_counter()
        batch = pa.Table.from_pylist(papers)  # noqa: F841 - DuckDB reads it by name
        con = duckdb.connect(self.db)
        try:
            con.execute("CREATE TABLE IF NOT EXISTS papers AS SELECT * FROM batch LIMIT 0")
            con.execute("INSERT INTO papers SELECT * FROM batch")
            TIMES["papers"] = con.execute("SELECT count(*) FROM papers").fetchone()[0]
        finally:
            con.close()
        t3 = time.perf_counter()
        TIMES.update(crawl=t1 - TIMES["start"], resolve=t2 - t1, load=t3 - t2, rows=len(self.rows))


def run(urls: list[str], db: Path, concurrency: int) -> dict[str, Any]:
    process = CrawlerProcess(
        settings={
            "BENCH_DB": str(db),
            "ITEM_PIPELINES": {f"{__name__}.DuckDBPipeline": 300},
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": True,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    process.crawl(DayPages, urls=urls)
    process.start()
    return {
        "pages": len(urls),
        "rows": TIMES.get("rows"),
        "papers": TIMES.get("papers"),
        "stages": {
            "fetch": round(TIMES["crawl"] - TIMES["parse"], 3),
            "parse": round(TIMES["parse"], 3),
            "resolve": round(TIMES["resolve"], 3),
            "load": round(TIMES["load"], 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.peer_scrapy")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--urls-file", type=Path, required=True)
    args = parser.parse_args(argv)
    urls = args.urls_file.read_text().split()
    print(json.dumps(run(urls, args.db, args.concurrency)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
