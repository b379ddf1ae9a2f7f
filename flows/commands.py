"""What each `paperflow` sub-command does; `flows/cli.py` parses, this runs."""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from flows.errors import UsageError
from flows.settings import Settings

if TYPE_CHECKING:
    from warehouse.load import LoadResult

EXIT_OK, EXIT_PARTIAL = 0, 1
MAX_DAYS = 5_000  # a sanity bound on one command's range (~14 years), not a politeness one


def hf_urls(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The format and URLs an `ingest hf-papers` invocation asks for."""
    from parsers import hf_papers as hf

    base = args.base_url.rstrip("/")
    api = args.via == "api"
    try:
        if args.since or args.until:
            return _hf_days(base, args.since, args.until, api)
        if args.date:
            return _hf_days(base, args.date, args.date, api)
        if args.week:
            return _fmt(api), [
                hf.api_url(base, week=args.week) if api else hf.week_url(base, args.week)
            ]
        if args.month:
            return _fmt(api), [
                hf.api_url(base, month=args.month) if api else hf.month_url(base, args.month)
            ]
        if args.trending:
            return "hf-papers-html", [hf.trending_url(base)]
        if args.query is not None:  # `--query ""` is blank terms, not "no query"
            return "hf-papers-html", [hf.search_url(base, args.query)]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return _fmt(api), [hf.api_url(base) if api else f"{base}/papers"]


def _fmt(api: bool) -> str:
    return "hf-papers-api" if api else "hf-papers-html"


def _hf_days(base: str, since: date | None, until: date | None, api: bool) -> tuple[str, list[str]]:
    from parsers import hf_papers as hf

    if since is None:
        raise UsageError("--until needs --since")
    until = until or since
    if until < since:
        raise UsageError(f"--until {until} is before --since {since}")
    days = (until - since).days + 1
    if days > MAX_DAYS:
        raise UsageError(f"{days} days asked for; at most {MAX_DAYS} per run")
    dates = [since + timedelta(days=i) for i in range(days)]
    urls = [hf.api_url(base, date=d) if api else hf.day_url(base, d) for d in dates]
    return _fmt(api), urls


def arxiv_list_urls(args: argparse.Namespace) -> tuple[str, list[str]]:
    from parsers import arxiv_list

    try:
        url = arxiv_list.listing_url(args.base_url, args.category, args.listing, show=args.show)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return "arxiv-list-html", [url]


def arxiv_api_urls(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The first page of the query; the flow follows the feed's paging (`max_pages` caps it)."""
    from parsers import arxiv_api

    size = min(args.page_size, args.max_results)
    try:
        return "arxiv-api-atom", [arxiv_api.query_url(args.base_url, args.query, max_results=size)]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def page_budget(args: argparse.Namespace, settings: Settings) -> Settings:
    """For the arXiv API, --max-results bounds how many pages the run follows."""
    if args.source != "arxiv-api":
        return settings
    size = min(args.page_size, args.max_results)
    return replace(settings, max_pages=-(-args.max_results // size))


def scholarfeed_urls(args: argparse.Namespace) -> tuple[str, list[str]]:
    from parsers import scholarfeed

    try:
        return "scholarfeed-api", [
            scholarfeed.author_papers_url(args.base_url, a) for a in args.author
        ]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


SOURCE_URLS = {
    "hf-papers": hf_urls,
    "arxiv-list": arxiv_list_urls,
    "arxiv-api": arxiv_api_urls,
    "scholarfeed": scholarfeed_urls,
}


Command = Callable[[argparse.Namespace, Settings], int]


def _one_shot(command: Command) -> Command:
    """Run `command`'s flow runs without Prefect heartbeats. Prefect's heartbeat thread sleeps
    in 1 s steps and a flow run waits for it to wake before it ends: 0-1 s (0.5 s on average)
    added to every run, a tenth of an unchanged re-run. A command that runs a flow and waits
    for it needs no liveness signal: its process is the run, and a run whose process died is
    marked abandoned by the next one (docs/reliability.md). `paperflow serve` keeps them: its
    flow runs are the runner's, which may watch for missing heartbeats."""

    @functools.wraps(command)
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        from flows.logs import quiet_reported_failures

        quiet_reported_failures()  # the CLI prints such failures in one line of its own
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return command(args, settings)

    return run


@_one_shot
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from flows.cli import new_run_id
    from flows.ingest import ingest

    fmt, urls = SOURCE_URLS[args.source](args)
    settings = page_budget(args, settings)
    params = {"source": args.source, "urls": len(urls), "base_url": args.base_url}
    result = ingest(args.source, fmt, urls, args.base_url, new_run_id(), settings, params)
    return _report(result)


@_one_shot
def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from flows.cli import new_run_id
    from flows.ingest import import_pages
    from parsers import FORMATS

    if args.format is not None and args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r}; one of {', '.join(sorted(FORMATS))}")
    missing = [str(p) for p in args.paths if not p.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    params = {
        "files": [str(p) for p in args.paths],
        "format": args.format,
        "as_of": str(args.as_of),
    }
    result = import_pages(list(args.paths), args.format, args.as_of, new_run_id(), settings, params)
    return _report(result)


def _report(result: LoadResult) -> int:
    from flows.report import summary_lines

    print("\n".join(summary_lines(result)))
    return EXIT_OK if result.status == "succeeded" else EXIT_PARTIAL


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.schedules import local_prefect_server, serve_schedules

    if args.interval is not None and args.interval <= 0:
        raise UsageError("--interval must be more than 0 seconds")
    options = {"sources": args.source, "interval_s": args.interval, "base_url": args.base_url}
    if os.environ.get("PREFECT_API_URL"):  # a shared server is configured: use it
        serve_schedules(settings, **options)
        return EXIT_OK
    home = settings.db_path.parent / "prefect"
    print(f"starting a local Prefect server with a scheduler (its database: {home})", flush=True)
    with local_prefect_server(home) as api, temporary_settings({PREFECT_API_URL: api}):
        print(f"Prefect API at {api}; serving the schedules until Ctrl-C", flush=True)
        serve_schedules(settings, **options)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.explain import explain, format_explanation

    print(format_explanation(explain(settings.target, args.ref)))
    return EXIT_OK


def cmd_unmerge(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.explain import unmerge

    new_id = unmerge(
        settings.target,
        args.paper_id,
        list(args.sighting),
        reason=args.reason,
        lock_timeout_s=settings.lock_timeout_s,
    )
    print(
        f"moved {len(args.sighting)} sighting(s) of {args.paper_id} to new paper {new_id}; "
        "later loads will keep them apart"
    )
    return EXIT_OK


@_one_shot
def cmd_reparse(args: argparse.Namespace, settings: Settings) -> int:
    from flows.cli import new_run_id
    from flows.ingest import reparse

    if args.source is not None:
        from parsers import SOURCES

        if args.source not in SOURCES:
            raise UsageError(f"unknown source {args.source!r}; one of {', '.join(sorted(SOURCES))}")
    params = {"source": args.source, "since": str(args.since)}
    result, pages = reparse(args.source, args.since, new_run_id(), settings, params)
    failed = [p for p in pages if p.outcome in ("failed", "suspect")]
    print(
        f"reparsed {len(pages)} stored pages: "
        f"{len(pages) - len(failed)} parsed, {len(failed)} failed"
    )
    print(
        f"  sightings added: {result.sightings_added}; papers added: {result.papers_added}, "
        f"updated: {result.papers_updated}"
    )
    for page in failed[:20]:
        print(f"  FAILED {page.url}: {page.error}")
    return EXIT_OK if not failed else EXIT_PARTIAL


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import run_query

    result = run_query(settings.target, args.query)
    print(format_rows(result.columns, result.rows, args.format))
    return EXIT_OK


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[object]], fmt: str) -> str:
    """Render query output as an aligned table, CSV or JSON lines."""
    if fmt == "json":
        return "\n".join(
            json.dumps(dict(zip(columns, r, strict=True)), default=str, ensure_ascii=False)
            for r in rows
        )
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    return _table(columns, rows)


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]], width: int = 60) -> str:
    cells = [[_cell(v, width) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])


def _cell(value: object, width: int) -> str:
    text = "NULL" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import search

    result = search(settings.target, args.text, limit=args.limit)
    print(format_rows(result.columns, result.rows, args.format))
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import export

    for path in export(settings.target, args.dir, fmt=args.format):
        print(path)
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import run_named

    counts = run_named(settings.target, "status_counts.sql")
    print(f"warehouse {settings.target}")
    print(format_rows(counts.columns, counts.rows, "table"))
    runs = run_named(settings.target, "status_runs.sql", [args.limit])
    print("\nlast runs")
    print(format_rows(runs.columns, runs.rows, "table"))
    failures = run_named(settings.target, "status_failures.sql", [args.limit])
    print("\nrecent page failures")
    print(format_rows(failures.columns, failures.rows, "table"))
    return EXIT_OK


@_one_shot
def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo import run_demo

    if settings.lake:
        raise UsageError("the demo builds its own DuckDB file; give --db a file path")
    db = Path(args.db) if args.db else Path("data/demo.duckdb")
    return run_demo(settings, db, port=args.port, out=sys.stdout)
