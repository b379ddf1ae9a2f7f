"""Scheduled ingests: the deployable `scheduled-ingest` flow and `paperflow serve`.

`prefect.yaml` (repo root) holds one deployment per source with its cron schedule. Two ways
to run them (docs/orchestration.md):

    paperflow serve                       this process polls the API and runs the schedules
    prefect deploy --all                  register them for a process work pool, then
    prefect worker start --pool paperflow-local     on one or more machines

Both run `scheduled_ingest`, which turns a few validated parameters into the same (format,
URLs) the CLI would ask for and calls the `ingest` flow as a subflow with a fresh run id.
Overlapping runs are harmless: each deployment has a concurrency limit of 1 (a late run
queues), and even two runs at once only serialise on the warehouse's single-writer lock and
load idempotently.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow
from pydantic import Field

from flows.commands import MAX_DAYS, SOURCE_URLS, page_budget
from flows.errors import ServeError, UsageError
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PREFECT_FILE = ROOT / "prefect.yaml"

Source = Literal["hf-papers", "arxiv-list", "arxiv-api", "scholarfeed"]

#: The CLI's default site per source (`flows/cli.py`, `--base-url`).
DEFAULT_BASE_URLS: dict[str, str] = {
    "hf-papers": "https://huggingface.co",
    "arxiv-list": "https://arxiv.org",
    "arxiv-api": "https://export.arxiv.org",
    "scholarfeed": "https://api.scholarfeed.org",
}

#: Which optional parameter belongs to which source; giving it for another source is an error.
_OWNED: dict[str, str] = {
    "days_back": "hf-papers",
    "today": "hf-papers",
    "category": "arxiv-list",
    "listing": "arxiv-list",
    "query": "arxiv-api",
    "max_results": "arxiv-api",
    "authors": "scholarfeed",
}
_REQUIRED: dict[str, str] = {
    "arxiv-list": "category",
    "arxiv-api": "query",
    "scholarfeed": "authors",
}


@dataclass(frozen=True, slots=True)
class IngestPlan:
    """What one scheduled run fetches: the CLI's (format, URLs) plus the settings it runs with."""

    source: str
    fmt: str
    urls: list[str]
    base_url: str
    settings: Settings
    params: dict[str, object]


def plan_ingest(
    source: str,
    settings: Settings,
    *,
    days_back: int | None = None,
    today: date | None = None,
    category: str | None = None,
    listing: str | None = None,
    query: str | None = None,
    max_results: int | None = None,
    authors: Sequence[str] | None = None,
    base_url: str | None = None,
) -> IngestPlan:
    """Check one scheduled run's parameters and compute what it fetches, as the CLI does.

    Raises UsageError (one clear line) for an unknown source, a parameter that belongs to
    another source, or a missing required one.
    """
    if source not in SOURCE_URLS:
        raise UsageError(f"unknown source {source!r}; one of {', '.join(sorted(SOURCE_URLS))}")
    given = {
        "days_back": days_back,
        "today": today,
        "category": category,
        "listing": listing,
        "query": query,
        "max_results": max_results,
        "authors": list(authors) if authors is not None else None,
    }
    wrong = [k for k, v in given.items() if v is not None and _OWNED[k] != source]
    if wrong:
        owners = ", ".join(f"{k} (for {_OWNED[k]})" for k in wrong)
        raise UsageError(f"source {source} does not take {owners}")
    need = _REQUIRED.get(source)
    if need is not None and not given[need]:
        raise UsageError(f"source {source} needs {need}")
    base = (base_url or DEFAULT_BASE_URLS[source]).rstrip("/")
    args = argparse.Namespace(source=source, base_url=base)
    if source == "hf-papers":
        back = 1 if days_back is None else days_back
        if not 1 <= back <= MAX_DAYS:
            raise UsageError(f"days_back must be between 1 and {MAX_DAYS}, not {back}")
        last = today or datetime.now(UTC).date()
        args.since, args.until = last - timedelta(days=back - 1), last
        args.via, args.date, args.week, args.month = "page", None, None, None
        args.trending, args.query = False, None
    elif source == "arxiv-list":
        args.category, args.listing, args.show = category, listing or "new", None
    elif source == "arxiv-api":
        args.query, args.max_results, args.page_size = query, max_results or 100, 100
    else:
        args.author = list(authors or [])
    fmt, urls = SOURCE_URLS[source](args)
    params: dict[str, object] = {
        "source": source,
        "urls": len(urls),
        "base_url": base,
        "scheduled": True,
        **{k: (str(v) if isinstance(v, date) else v) for k, v in given.items() if v is not None},
    }
    return IngestPlan(source, fmt, urls, base, page_budget(args, settings), params)


@flow(name="scheduled-ingest", log_prints=False, persist_result=False, retries=0)
def scheduled_ingest(
    source: Source,
    days_back: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None,
    today: date | None = None,
    category: str | None = None,
    listing: str | None = None,
    query: str | None = None,
    max_results: Annotated[int, Field(ge=1, le=30_000)] | None = None,
    authors: list[str] | None = None,
    base_url: str | None = None,
    db: str | None = None,
    max_rate: Annotated[float, Field(ge=0)] | None = None,
    task_runner: Literal["threads", "dask"] = "threads",
    dask_address: str | None = None,
) -> dict[str, object]:
    """Fetch one source's listing pages into the warehouse (one paperflow run).

    Only the parameters of the chosen source may be given; the others must stay empty.

    Args:
        source: Which site to read: hf-papers, arxiv-list, arxiv-api or scholarfeed.
        days_back: hf-papers only. How many day pages, ending today (UTC): 1 = today's page,
            7 = the last week. Default 1.
        today: hf-papers only. The last day to fetch instead of today (UTC); for backfills
            and tests (YYYY-MM-DD).
        category: arxiv-list only (required). Category or archive, e.g. cs.LG or astro-ph.
        listing: arxiv-list only. new | recent | pastweek | YYYY-MM | YYYY. Default new.
        query: arxiv-api only (required). The search_query, e.g. "cat:cs.CL".
        max_results: arxiv-api only. Results wanted in all (pages of 100). Default 100.
        authors: scholarfeed only (required). Scholar Feed author ids.
        base_url: The site or a mirror to read; default the source's public site.
        db: The warehouse file; default env PAPERFLOW_DB, else data/paperflow.duckdb
            relative to the working directory.
        max_rate: Requests per second per host (0 = unlimited); default the source's own.
        task_runner: threads (default) parses page groups in threads of this process; dask
            sends them to a Dask cluster (needs the optional prefect-dask package), for big
            backfills.
        dask_address: With task_runner=dask, the scheduler address (tcp://host:8786); empty
            starts a temporary local cluster.

    Returns:
        A summary: run_id, status, pages and papers counts.
    """
    from flows.cli import new_run_id
    from flows.ingest import ingest

    settings = Settings.from_env()
    if db:
        settings = settings.with_db(db)
    if max_rate is not None:
        settings = replace(settings, max_rate=max_rate)
    if dask_address and task_runner != "dask":
        raise UsageError("dask_address needs task_runner=dask")
    plan = plan_ingest(
        source,
        settings,
        days_back=days_back,
        today=today,
        category=category,
        listing=listing,
        query=query,
        max_results=max_results,
        authors=authors,
        base_url=base_url,
    )
    run = (
        ingest
        if task_runner == "threads"
        else ingest.with_options(task_runner=_dask_runner(dask_address))
    )
    run_id = new_run_id()
    result = run(
        plan.source, plan.fmt, plan.urls, plan.base_url, run_id, plan.settings, plan.params
    )
    return {
        "run_id": result.run_id,
        "status": result.status,
        "source": plan.source,
        "urls": len(plan.urls),
        "pages_total": result.pages_total,
        "pages_failed": result.pages_failed,
        "sightings_added": result.sightings_added,
        "papers_added": result.papers_added,
        "papers_updated": result.papers_updated,
    }


def _dask_runner(address: str | None) -> Any:
    try:
        from prefect_dask import DaskTaskRunner  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UsageError(
            "task_runner=dask needs the optional package: .venv/bin/pip install "
            "prefect-dask==0.3.7 (see docs/orchestration.md)"
        ) from None
    return DaskTaskRunner(address=address) if address else DaskTaskRunner()


def load_deployments(prefect_file: Path = PREFECT_FILE) -> list[dict[str, Any]]:
    """The `deployments:` of prefect.yaml that run `scheduled_ingest`."""
    import yaml

    spec = yaml.safe_load(prefect_file.read_text(encoding="utf-8")) or {}
    return [
        d
        for d in spec.get("deployments") or []
        if str(d.get("entrypoint", "")).endswith(":scheduled_ingest")
    ]


def build_deployments(
    settings: Settings,
    *,
    sources: Sequence[str] | None = None,
    interval_s: float | None = None,
    base_url: str | None = None,
    parameters: dict[str, Any] | None = None,
    prefect_file: Path = PREFECT_FILE,
) -> list[Any]:
    """Runner deployments for `prefect.serve`, from prefect.yaml's schedules.

    The warehouse is the one in `settings` (absolute, so flow-run processes agree); with
    `interval_s` every deployment runs on that interval instead of its cron (for tests and
    trying things out); `base_url` and `parameters` override the YAML's parameters.
    """
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
    from prefect.types.entrypoint import EntrypointType

    specs = load_deployments(prefect_file)
    known = sorted({str((d.get("parameters") or {}).get("source")) for d in specs})
    if sources:
        unknown = sorted(set(sources) - set(known))
        if unknown:
            raise UsageError(
                f"no deployment in {prefect_file.name} for {', '.join(unknown)}; "
                f"sources there: {', '.join(known)}"
            )
        specs = [d for d in specs if (d.get("parameters") or {}).get("source") in sources]
    if not specs:
        raise UsageError(f"no scheduled_ingest deployments in {prefect_file}")
    deployments = []
    for spec in specs:
        params = dict(spec.get("parameters") or {})
        params["db"] = settings.db_argument()  # a DuckLake's data path: PAPERFLOW_DATA_PATH
        if settings.max_rate is not None:
            params["max_rate"] = settings.max_rate
        if base_url:
            params["base_url"] = base_url
        params.update(parameters or {})
        schedules: list[Any]
        if interval_s is not None:
            schedules = [IntervalSchedule(interval=timedelta(seconds=interval_s))]
        else:
            schedules = [
                CronSchedule(
                    cron=s["cron"],
                    timezone=s.get("timezone"),
                    day_or=s.get("day_or", True),
                )
                for s in spec.get("schedules") or []
                if s.get("cron") and s.get("active", True) is not False
            ]
        deployments.append(
            scheduled_ingest.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=list(spec.get("tags") or []) + ["served"],
                parameters=params,
                schedules=schedules,
                concurrency_limit=_concurrency(spec.get("concurrency_limit")),
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def _concurrency(spec: object) -> Any:
    """prefect.yaml's `concurrency_limit` (an int or a mapping); default 1, late runs queue."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    if isinstance(spec, int):
        return ConcurrencyLimitConfig(limit=spec)
    spec = dict(spec) if isinstance(spec, dict) else {}
    strategy = str(spec.get("collision_strategy") or "ENQUEUE").upper()
    return ConcurrencyLimitConfig(
        limit=int(spec.get("limit") or 1),
        collision_strategy=ConcurrencyLimitStrategy(strategy),
    )


def serve_schedules(
    settings: Settings,
    *,
    sources: Sequence[str] | None = None,
    interval_s: float | None = None,
    base_url: str | None = None,
    parameters: dict[str, Any] | None = None,
    prefect_file: Path = PREFECT_FILE,
) -> None:
    """`paperflow serve`: run prefect.yaml's schedules from this process until interrupted.

    Needs a Prefect server with its scheduler (`prefect server start`, or PREFECT_API_URL to a
    shared one): the server creates the scheduled runs and this process runs them, one at a
    time per deployment. On Ctrl-C the schedules are paused again.
    """
    from prefect import serve

    deployments = build_deployments(
        settings,
        sources=sources,
        interval_s=interval_s,
        base_url=base_url,
        parameters=parameters,
        prefect_file=prefect_file,
    )
    serve(*deployments)


@contextmanager
def local_prefect_server(home: Path, *, startup_timeout_s: float = 120.0) -> Iterator[str]:
    """Start `prefect server start` on a free 127.0.0.1 port (with its scheduler) for
    `paperflow serve` when no PREFECT_API_URL is configured; yields the API URL.

    The temporary server of a plain flow run has no scheduler, so schedules would never fire.
    The server's database lives under `home` (next to the warehouse) and survives restarts.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [*command, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches paperflow, which stops serving first and then
            # the server, instead of the server dying under the runner.
            start_new_session=True,
        )
        api = f"http://127.0.0.1:{port}/api"
        try:
            _wait_healthy(api, server, startup_timeout_s, home / "server.log")
            yield api
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(api: str, server: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServeError(f"the local Prefect server exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(api + "/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise ServeError(f"the local Prefect server did not answer within {timeout_s:.0f} s; see {log}")
