"""Pipeline throughput: paperflow vs the floor vs dlt vs Scrapy on a generated HF site.

    python -m bench.run [--sizes 1,4,16] [--base 125] [--quick] [--timeout 900]

For each size (a multiple of `--base` day pages) every system runs as a child process against
the same site, served from its own process on 127.0.0.1, into a fresh DuckDB file; wall time,
CPU time and the peak RSS of the child's whole process tree are measured from outside.
paperflow then runs a second time, unchanged, on the same warehouse (conditional GETs -> 304).
Stage seconds come from each system (paperflow: its Prefect task runs). Results go to
bench/out/results.json, the "## Pipeline throughput" section of docs/benchmarks.md, and
docs/bench_pipeline.png.

Prefect's API server is started once, before anything is timed, and every paperflow run uses
it (PREFECT_API_URL); its start-up is reported separately, as is the cost of the temporary
server a plain `paperflow` run starts (one extra 1x run without PREFECT_API_URL).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import site
from flows.commands import MAX_DAYS

REPO = Path(__file__).resolve().parents[1]
OUT = site.BENCH_OUT
PEERS_VENV = REPO / "bench" / ".venv-peers"
PEERS_PY = PEERS_VENV / "bin" / "python"
PAPERFLOW = Path(sys.executable).parent / "paperflow"
DOC = REPO / "docs" / "benchmarks.md"
PLOT = REPO / "docs" / "bench_pipeline.png"
SECTION = "## Pipeline throughput"
CONCURRENCY = 8
MAX_DAYS_PER_RUN = MAX_DAYS  # flows/commands.py: longer ranges take several CLI runs
SYSTEMS = ("paperflow", "floor", "dlt", "scrapy")


@dataclass
class Run:
    system: str
    size: int
    pages: int
    wall_s: float
    peak_rss_mb: float
    stages: dict[str, float] = field(default_factory=dict)
    papers: int | None = None
    note: str = ""
    cpu_s: float | None = None  # user + system CPU of the whole process tree
    tries_wall_s: list[float] = field(default_factory=list)  # every round's, when repeated

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


# --------------------------------------------------------------------------- measuring


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _tree_rss_kb(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
        todo += _children(pid)
    return total


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    out: str
    code: int  # -9 on timeout
    cpu_s: float  # user + system seconds of the child and every descendant it waited for


def measure(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Measured:
    """Run `cmd` and measure it from outside."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            proc.wait()
            return Measured(timeout, peak / 1024, "", -9, _cpu_since(before))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode not in (0, 1):
        sys.stderr.write(err[-3000:])
    return Measured(wall, peak / 1024, out, proc.returncode, _cpu_since(before))


def _cpu_since(before: resource.struct_rusage) -> float:
    """CPU seconds of the children reaped since `before`: the measured child (the site and
    the Prefect server are long-lived children, reaped only at the end)."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# --------------------------------------------------------------------------- environment


def ensure_peers_venv() -> None:
    """Create bench/.venv-peers from requirements-peers.txt (dlt, Scrapy, matplotlib...)."""
    stamp = PEERS_VENV / ".installed"
    reqs = REPO / "bench" / "requirements-peers.txt"
    if stamp.exists() and stamp.read_text() == reqs.read_text():
        return
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(PEERS_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(reqs)], check=True)
    stamp.write_text(reqs.read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PYTHONPATH=str(REPO),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_HOME=str(OUT / "prefect-home"),
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    return env


@contextmanager
def prefect_server() -> Iterator[tuple[str, float]]:
    """A Prefect API server for all paperflow runs; yields (api url, start-up seconds)."""
    port = _free_port()
    env = base_env()
    shutil.rmtree(OUT / "prefect-home", ignore_errors=True)
    prefect = Path(sys.executable).parent / "prefect"
    cmd = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    log = open(OUT / "prefect-server.log", "w")  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        while True:
            try:
                if httpx.get(api + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - t0 > 120:
                raise RuntimeError(f"Prefect server did not start; see {log.name}")
            time.sleep(0.2)
        yield api, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --------------------------------------------------------------------------- systems


def _fresh(dir_: Path) -> Path:
    shutil.rmtree(dir_, ignore_errors=True)
    dir_.mkdir(parents=True)
    return dir_


def _chunks(days: int) -> list[tuple[int, int]]:
    """(first, last) day indexes of the CLI runs covering `days` days, evenly split."""
    n = math.ceil(days / MAX_DAYS_PER_RUN)
    bounds = [round(i * days / n) for i in range(n + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(n)]


def _prefect_stages(api: str, since: datetime) -> dict[str, float]:
    """Seconds per paperflow task kind over the flow runs started after `since`."""
    flows = httpx.post(
        api + "/flow_runs/filter",
        json={"flow_runs": {"start_time": {"after_": since.isoformat()}}},
        timeout=30,
    ).json()
    tasks = httpx.post(
        api + "/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [f["id"] for f in flows]}}},
        timeout=30,
    ).json()
    kinds = {"fetch-pages": "fetch", "parse-pages": "parse", "load": "load"}
    stages = {"fetch": 0.0, "parse": 0.0, "load": 0.0, "other_tasks": 0.0}
    for t in tasks:
        kind = t["name"].rsplit("-", 1)[0]
        stages[kinds.get(kind, "other_tasks")] += t["total_run_time"] or 0.0
    stages["flow"] = sum(f["total_run_time"] or 0.0 for f in flows)
    return {k: round(v, 3) for k, v in stages.items()}


def run_paperflow(
    size: int, days: int, base: str, work: Path, api: str | None, timeout: float
) -> Run:
    """The CLI over `days` day pages (several runs when longer than MAX_DAYS_PER_RUN)."""
    env = base_env()
    if api:
        env["PREFECT_API_URL"] = api
    db = work / "paperflow.duckdb"
    wall, peak, cpu, started = 0.0, 0.0, 0.0, datetime.now(UTC) - timedelta(seconds=1)
    chunks = _chunks(days)
    for first, last in chunks:
        cmd = [
            str(PAPERFLOW), "--db", str(db), "ingest", "hf-papers",
            "--since", site.day_of(first).isoformat(), "--until", site.day_of(last).isoformat(),
            "--base-url", base, "--max-rate", "0", "--concurrency", str(CONCURRENCY),
        ]  # fmt: skip
        m = measure(cmd, env, work, timeout - wall)
        wall, peak, cpu = wall + m.wall_s, max(peak, m.peak_rss_mb), cpu + m.cpu_s
        if m.code == -9:
            return Run("paperflow", size, days, wall, peak, note="timeout")
        if m.code not in (0, 1):
            return Run("paperflow", size, days, wall, peak, note=f"exit {m.code}")
    stages = _prefect_stages(api, started) if api else {}
    note = f"{len(chunks)} CLI runs (<= {MAX_DAYS_PER_RUN} days each)" if len(chunks) > 1 else ""
    return Run("paperflow", size, days, wall, peak, stages, _count(db), note, round(cpu, 2))


def _count(db: Path) -> int | None:
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            row = con.execute("SELECT count(*) FROM papers").fetchone()
            return int(row[0]) if row else None
        finally:
            con.close()
    except duckdb.Error:
        return None


def run_child(system: str, size: int, urls_file: Path, work: Path, timeout: float) -> Run:
    """The floor (project venv) or a peer (peers venv), by module name."""
    db = work / f"{system}.duckdb"
    module, python = {
        "floor": ("bench.floor", sys.executable),
        "dlt": ("bench.peer_dlt", str(PEERS_PY)),
        "scrapy": ("bench.peer_scrapy", str(PEERS_PY)),
    }[system]
    cmd = [python, "-m", module, "--db", str(db), "--urls-file", str(urls_file)]
    cmd += ["--concurrency", str(CONCURRENCY)]
    if system == "dlt":
        cmd += ["--workdir", str(work)]
    pages = len(urls_file.read_text().split())
    m = measure(cmd, base_env(), work, timeout)
    if m.code != 0:
        note = "timeout" if m.code == -9 else f"exit {m.code}"
        return Run(system, size, pages, m.wall_s, m.peak_rss_mb, note=note)
    report = json.loads(m.out.strip().splitlines()[-1])
    stages, papers = report["stages"], report.get("papers")
    return Run(system, size, pages, m.wall_s, m.peak_rss_mb, stages, papers, "", round(m.cpu_s, 2))


# --------------------------------------------------------------------------- the run


def machine() -> dict[str, Any]:
    mem_kb = next(
        int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")
    )
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def run_all(
    sizes: list[int],
    base_pages: int,
    timeout: float,
    ephemeral: bool,
    systems: tuple[str, ...] = SYSTEMS,
    repeat: int = 1,
) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    if {"dlt", "scrapy"} & set(systems):
        ensure_peers_venv()
    most = max(sizes) * base_pages
    t0 = time.perf_counter()
    root = site.build_site(most, OUT / "site")
    print(f"site: {most} day pages ready in {time.perf_counter() - t0:.1f}s", flush=True)
    runs: list[Run] = []
    reruns: list[Run] = []
    result: dict[str, Any] = {
        "base": base_pages, "sizes": sizes, "concurrency": CONCURRENCY, "repeat": repeat
    }
    with site.serving(root) as base, prefect_server() as (api, startup):
        result["prefect_server_startup_s"] = round(startup, 2)
        print(f"site at {base}; Prefect API server up in {startup:.1f}s", flush=True)
        for size in sizes:
            days = size * base_pages
            urls_file = OUT / f"urls-{days}.txt"
            urls_file.write_text("\n".join(site.day_urls(base, days)) + "\n")
            tried: dict[str, list[Run]] = {}
            for round_ in range(repeat):
                # Rotate the order each round, so no system always runs right after another.
                turn = round_ % len(systems)
                for system in systems[turn:] + systems[:turn]:
                    for run in _run_system(system, size, days, base, urls_file, api, timeout):
                        tried.setdefault(run.system, []).append(run)
                        _show(run)
            for system, tries in tried.items():
                (reruns if system.endswith("(re-run)") else runs).append(_median(tries))
        if ephemeral:
            days = sizes[0] * base_pages
            work = _fresh(OUT / "work" / f"paperflow-ephemeral-{days}")
            run = run_paperflow(sizes[0], days, base, work, None, timeout)
            run.system = "paperflow (temporary Prefect server)"
            result["ephemeral"] = asdict(run) | {"pages_per_s": run.pages_per_s}
            _show(run)
    result["runs"] = [asdict(r) | {"pages_per_s": r.pages_per_s} for r in runs]
    result["reruns"] = [asdict(r) | {"pages_per_s": r.pages_per_s} for r in reruns]
    shutil.rmtree(OUT / "work", ignore_errors=True)
    return result


def _run_system(
    system: str, size: int, days: int, base: str, urls_file: Path, api: str, timeout: float
) -> list[Run]:
    """One run of `system` in a fresh work directory; paperflow's is followed by an unchanged
    re-run into the same warehouse."""
    work = _fresh(OUT / "work" / f"{system}-{days}")
    if system != "paperflow":
        return [run_child(system, size, urls_file, work, timeout)]
    run = run_paperflow(size, days, base, work, api, timeout)
    if run.note.startswith(("timeout", "exit")):
        return [run]
    again = run_paperflow(size, days, base, work, api, timeout)
    again.system = "paperflow (re-run)"
    return [run, again]


def _median(tries: list[Run]) -> Run:
    """The run with the median wall time (the lower middle of an even count) among the tries
    that finished, keeping every try's wall time: the machine is shared, and one run can be
    15% off its neighbours. A quick failure must not pass for a fast run."""
    finished = [r for r in tries if not r.note.startswith(("timeout", "exit"))] or tries
    chosen = sorted(finished, key=lambda r: r.wall_s)[(len(finished) - 1) // 2]
    chosen.tries_wall_s = [round(r.wall_s, 2) for r in tries]
    return chosen


def _show(run: Run) -> None:
    stages = " ".join(f"{k}={v}" for k, v in run.stages.items())
    print(
        f"{run.system:>22} x{run.size:<3} {run.pages:>5} pages {run.wall_s:7.2f}s "
        f"{run.peak_rss_mb:7.0f}MB  papers={run.papers} {stages} {run.note}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4,16", help="multiples of --base (default 1,4,16)")
    parser.add_argument("--base", type=int, default=125, help="day pages at 1x (default 125)")
    parser.add_argument("--quick", action="store_true", help="1x only, no docs update")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per system run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds per size; the median is kept"
    )
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated subset of the systems; a subset never updates the docs",
    )
    args = parser.parse_args(argv)
    sizes = [1] if args.quick else [int(s) for s in args.sizes.split(",")]
    systems = tuple(s for s in args.systems.split(",") if s)
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    partial = args.quick or set(systems) != set(SYSTEMS)
    repeat = 1 if args.quick else max(1, args.repeat)
    result = run_all(sizes, args.base, args.timeout, not partial, systems, repeat)
    result["machine"] = machine()
    command = (
        "make bench"
        if not argv and not sys.argv[1:]
        else "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    result["command"] = command
    result["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    (OUT / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT / 'results.json'}")
    if not partial:
        from bench.report import write_docs

        write_docs(result, DOC, PLOT)
        print(f"updated {DOC} and {PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
