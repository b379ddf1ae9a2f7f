"""Schedules: prefect.yaml deploys, `serve_schedules` runs a schedule against a local site, and
two runs of the same scheduled ingest at once are harmless.

All use the session's Prefect test server (`prefect_harness`); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from flows.commands import MAX_DAYS
from flows.demo import serve_site, site_pages
from flows.errors import UsageError
from flows.settings import Settings
from warehouse.query import run_query

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAYS = ["2026-05-04", "2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08"]
HF_DAYS = {"today": DAYS[-1], "days_back": len(DAYS), "max_rate": 0}


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the prefect_harness fixture sets PREFECT_API_URL"
    return str(url)


def _env(api_url: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        PAPERFLOW_HOME=str(ROOT),
    )
    env.pop("PAPERFLOW_DB", None)
    return env


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in run_query(db, sql).rows]


# ---------------------------------------------------------------- parameters (no Prefect)


def test_parameters_compute_the_cli_urls_and_reject_contradictions() -> None:
    from flows.commands import SOURCE_URLS
    from flows.schedules import DEFAULT_BASE_URLS, Source, plan_ingest

    assert set(Source.__args__) == set(SOURCE_URLS) == set(DEFAULT_BASE_URLS)  # type: ignore[attr-defined]
    s = Settings()
    plan = plan_ingest("hf-papers", s, days_back=3, today=date(2026, 5, 8), base_url="http://x/")
    assert plan.fmt == "hf-papers-html"
    assert plan.urls == [f"http://x/papers/date/2026-05-0{d}" for d in (6, 7, 8)]
    plan = plan_ingest("arxiv-api", s, query="cat:cs.CL", max_results=250)
    assert plan.urls[0].startswith("https://export.arxiv.org/api/query?")
    assert plan.settings.max_pages == 3
    assert plan_ingest("arxiv-list", s, category="cs.LG").urls == [
        "https://arxiv.org/list/cs.LG/new"
    ]
    with pytest.raises(UsageError, match="does not take category"):
        plan_ingest("hf-papers", s, category="cs.LG")
    with pytest.raises(UsageError, match="needs authors"):
        plan_ingest("scholarfeed", s)
    with pytest.raises(UsageError, match="days_back"):
        plan_ingest("hf-papers", s, days_back=MAX_DAYS + 1)


@pytest.mark.usefixtures("prefect_harness")
def test_flow_parameters_are_validated_before_the_run() -> None:
    from prefect.exceptions import ParameterTypeError

    from flows.schedules import scheduled_ingest

    with pytest.raises(ParameterTypeError):
        scheduled_ingest(source="nope")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError):
        scheduled_ingest(source="hf-papers", days_back=0)


# ---------------------------------------------------------------- (a) prefect.yaml deploys


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_yaml_deploys_every_source_with_its_cron(tmp_path: Path) -> None:
    import yaml
    from prefect.client.orchestration import get_client

    env = _env(_api_url(), tmp_path)
    env.pop("PAPERFLOW_HOME")  # unset when deploying: each worker resolves its own checkout
    prefect = str(BIN / "prefect")
    pool = subprocess.run(
        [prefect, "work-pool", "create", "paperflow-local", "--type", "process"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run(
        [prefect, "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    assert {d["parameters"]["source"] for d in spec} == {
        "hf-papers",
        "arxiv-list",
        "arxiv-api",
        "scholarfeed",
    }
    with get_client(sync_client=True) as client:
        for d in spec:
            dep = client.read_deployment_by_name(f"scheduled-ingest/{d['name']}")
            assert dep.work_pool_name == "paperflow-local"
            assert dep.entrypoint == "flows/schedules.py:scheduled_ingest"
            assert dep.parameters == d["parameters"]
            crons = [(s.schedule.cron, s.schedule.timezone) for s in dep.schedules]  # type: ignore[union-attr]
            assert crons == [(s["cron"], s["timezone"]) for s in d["schedules"]]
            assert dep.global_concurrency_limit is not None
            assert dep.global_concurrency_limit.limit == 1
            assert dep.concurrency_options is not None
            assert dep.concurrency_options.collision_strategy.value == "ENQUEUE"
            assert "source" in (dep.parameter_openapi_schema or {}).get("required", [])
            assert dep.pull_steps == [
                {
                    "prefect.deployments.steps.set_working_directory": {
                        "directory": "{{ $PAPERFLOW_HOME }}"
                    }
                }
            ]


# ---------------------------------------------------------------- (b) serve runs a schedule


SERVE = """
import json, sys
from pathlib import Path
from flows.schedules import serve_schedules
from flows.settings import Settings
db, base, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
serve_schedules(Settings(db_path=Path(db)), sources=["hf-papers"], interval_s=5,
                base_url=base, parameters=params)
"""


def _served_deployment(client: object, proc: subprocess.Popen[str], deadline: float) -> object:
    from prefect.exceptions import ObjectNotFound

    while True:  # the deploy test may have registered the same name for the work pool first
        try:
            dep = client.read_deployment_by_name("scheduled-ingest/hf-papers-daily")  # type: ignore[attr-defined]
            if "served" in dep.tags and any(hasattr(s.schedule, "interval") for s in dep.schedules):
                return dep
        except ObjectNotFound:
            pass
        assert proc.poll() is None, "serve exited"
        assert time.monotonic() < deadline, "serve did not register its deployment"
        time.sleep(0.5)


@pytest.mark.usefixtures("prefect_harness")
def test_serve_runs_the_hf_schedule_against_a_local_site(tmp_path: Path, db: Path) -> None:
    """Prefect's test server has no scheduler service (and in this .venv the real server's
    scheduler fails on SQLAlchemy 2.1), so the test puts the schedule's next run on the API
    itself, as the scheduler would; everything after that is the served runner's own work."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    (tmp_path / "prefect-serve").mkdir()
    env = _env(_api_url(), tmp_path / "prefect-serve")
    with serve_site(site_pages()) as base:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(db), base, json.dumps(HF_DAYS)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        done: list[tuple[object, ...]] = []
        try:
            deadline = time.monotonic() + 90
            with get_client(sync_client=True) as client:
                dep = _served_deployment(client, proc, deadline)
                (sched,) = [s.schedule for s in dep.schedules]  # type: ignore[attr-defined]
                assert sched.interval.total_seconds() == 5
                assert dep.global_concurrency_limit.limit == 1  # type: ignore[attr-defined]
                assert dep.parameters["base_url"] == base  # type: ignore[attr-defined]
                next_time = sched.anchor_date  # the schedule's first slot
                client.create_flow_run_from_deployment(
                    dep.id,  # type: ignore[attr-defined]
                    state=Scheduled(scheduled_time=next_time),
                )
            while not done and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(1)
                try:
                    done = _rows(
                        db,
                        "SELECT run_id, params FROM runs WHERE flow = 'ingest' "
                        "AND status = 'succeeded'",
                    )
                except Exception:  # noqa: BLE001 (no warehouse yet, or mid-load)
                    continue
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
        assert done, f"no succeeded run within 90 s; serve said:\n{out[-3000:]}"
    assert proc.returncode is not None
    assert "scheduled" in str(done[0][1])
    pages = _rows(db, "SELECT DISTINCT url FROM pages WHERE outcome = 'parsed' ORDER BY url")
    assert [str(p[0]).rsplit("/", 1)[-1] for p in pages] == DAYS
    assert _rows(db, "SELECT count(*) > 0 FROM papers") == [(True,)]


# ---------------------------------------------------------------- (c) overlapping runs


@pytest.mark.usefixtures("prefect_harness")
def test_two_runs_at_once_end_like_one_run(tmp_path: Path) -> None:
    from flows.schedules import scheduled_ingest

    one, two = tmp_path / "one" / "w.duckdb", tmp_path / "two" / "w.duckdb"
    with serve_site(site_pages()) as base:
        assert (
            scheduled_ingest(source="hf-papers", base_url=base, db=str(one), **HF_DAYS)["status"]
            == "succeeded"
        )
        results: list[dict[str, object]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(
                    scheduled_ingest(source="hf-papers", base_url=base, db=str(two), **HF_DAYS)
                )
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert sorted(str(r["status"]) for r in results) == ["succeeded", "succeeded"]
    assert len({r["run_id"] for r in results}) == 2
    papers = "SELECT arxiv_id, title, authors, upvotes FROM papers ORDER BY arxiv_id"
    assert _rows(two, papers) == _rows(one, papers)
    sightings = "SELECT count(*) FROM sightings"
    assert _rows(two, sightings) == _rows(one, sightings)
    dupes = (
        "SELECT count(*) FROM (SELECT arxiv_id, page_url, count(*) AS n FROM sightings "
        "GROUP BY ALL HAVING n > 1)"
    )
    assert _rows(two, dupes) == [(0,)]
