"""The `paperflow` console script exits without the interpreter's teardown (flows/cli.py `run`):
nothing a normal exit keeps may be lost — exit codes, buffered output, Prefect's last logs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("prefect_harness")
PAPERFLOW = str(Path(sys.executable).with_name("paperflow"))  # the installed console script


def _paperflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PAPERFLOW, *args], env=env, capture_output=True, text=True, timeout=240)


def test_exit_codes_are_main_s(db: Path, cli_env: dict[str, str]) -> None:
    usage = _paperflow("--db", str(db), "ingest", "hf-papers", "--date", "someday", env=cli_env)
    assert usage.returncode == 2 and "not a date" in usage.stderr  # argparse's own exit
    missing = _paperflow("--db", str(db), "import", str(db.parent / "nope.txt"), env=cli_env)
    assert missing.returncode == 2 and "paperflow: error: no such file" in missing.stderr
    assert _paperflow("--help", env=cli_env).returncode == 0


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        ("raise RuntimeError('boom')", 1, "RuntimeError: boom"),  # a traceback, as Python's
        ("sys.exit('bye')", 1, "bye"),
        ("sys.exit(None)", 0, ""),
        ("raise KeyboardInterrupt", 130, "paperflow: interrupted"),
    ],
)
def test_what_escapes_main_exits_as_python_would(body: str, code: int, said: str) -> None:
    script = (
        "import sys\nimport flows.cli as cli\n"
        f"def main():\n    print('out', end='')\n    {body}\n"
        "cli.main = main\ncli.run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert (done.returncode, done.stdout) == (code, "out"), done.stderr
    assert said in done.stderr


def test_bad_input_is_one_line_not_a_traceback(
    db: Path, samples: list[Path], cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    assert main(["--db", str(db), "import", *map(str, samples)]) == 0
    capsys.readouterr()
    a_file = db.parent / "a-file.txt"
    a_file.write_text("not a folder")
    cases = [  # a query that cannot run exits 1, as any failing SQL does
        (["sql", ""], 1, "no SQL statement"),
        (["sql", "-- only a comment"], 1, "no SQL statement"),
        (["export", str(a_file)], 2, "File exists"),
        (["ingest", "hf-papers", "--query", "  ", "--base-url", "http://127.0.0.1:9"], 2, "blank"),
        (["ingest", "hf-papers", "--query", "", "--base-url", "http://127.0.0.1:9"], 2, "blank"),
    ]
    for args, code, said in cases:
        assert main(["--db", str(db), *args]) == code, args
        err = capsys.readouterr().err
        assert err.startswith("paperflow: error:") and said in err, (args, err)
        assert "Traceback" not in err and err.count("\n") == 1, (args, err)
    under_a_file = a_file / "paperflow.duckdb"
    assert main(["--db", str(under_a_file), "import", *map(str, samples)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paperflow: error:") and "Traceback" not in err, err


def test_a_failed_or_busy_run_says_so_in_one_line(
    db: Path, samples: list[Path], cli_env: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prefect logs a failing task or flow run with its traceback; the CLI reports the
    failure itself, in one line (flows/logs.py)."""
    from flows.cli import main
    from warehouse.db import writer_lock

    not_duckdb = db.parent / "text.duckdb"
    not_duckdb.parent.mkdir(parents=True)
    not_duckdb.write_text("hello")
    assert main(["--db", str(not_duckdb), "import", *map(str, samples)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("paperflow: error: cannot open the warehouse"), err
    assert err.count("\n") == 1, err
    monkeypatch.setenv("PAPERFLOW_LOCK_TIMEOUT", "0.5")
    with writer_lock(db, timeout_s=1):
        assert main(["--db", str(db), "import", *map(str, samples)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("paperflow: error: warehouse busy"), err
    assert err.count("\n") == 1, err


def test_only_failures_the_cli_explains_lose_their_traceback(tmp_path: Path) -> None:
    """flows/logs.py: the one line says it all for a busy warehouse or a full disk; a bug,
    even wrapped in a LoadError, keeps Prefect's traceback on the console."""
    import duckdb

    from flows.logs import reported
    from warehouse.errors import LoadError, WarehouseLocked

    def wrapped(cause: BaseException) -> LoadError:
        try:
            try:
                raise cause
            except BaseException as exc:
                raise LoadError(f"load of run r rolled back: {exc}") from exc
        except LoadError as load_error:
            return load_error

    try:
        duckdb.connect(str(tmp_path / "no" / "such" / "dir" / "x.duckdb"))
    except duckdb.IOException as exc:
        io_error: BaseException = exc
    assert reported(WarehouseLocked("x.duckdb", 1.0))
    assert reported(wrapped(io_error))
    assert reported(wrapped(OSError(28, "No space left on device")))
    assert not reported(wrapped(KeyError("paper_id")))
    assert not reported(wrapped(duckdb.BinderException("no such column")))
    assert not reported(KeyError("paper_id")) and not reported(None)


def test_a_reader_that_goes_away_is_not_an_error(
    db: Path, samples: list[Path], cli_env: dict[str, str]
) -> None:
    assert _paperflow("--db", str(db), "import", *map(str, samples), env=cli_env).returncode == 0
    query = "SELECT range AS n FROM range(200000)"  # far more than a pipe holds
    shell = f"{PAPERFLOW} --db {db} sql '{query}' | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], env=cli_env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.stdout.strip() == "n"
    assert done.returncode == 141 and done.stderr == "", done.stderr


def test_buffered_output_is_written_before_the_exit(
    db: Path, samples: list[Path], cli_env: dict[str, str]
) -> None:
    # Block-buffered stdout, as in a user's pipe (this sandbox sets PYTHONUNBUFFERED).
    env = {k: v for k, v in cli_env.items() if k != "PYTHONUNBUFFERED"}
    assert _paperflow("--db", str(db), "import", *map(str, samples), env=env).returncode == 0
    status = _paperflow("--db", str(db), "status", env=env)
    assert status.returncode == 0 and status.stdout.startswith(f"warehouse {db}"), status
    query = "SELECT range AS n FROM range(200000)"  # ~1.3 MB: far more than one stdio buffer
    out = _paperflow("--db", str(db), "sql", query, "--format", "csv", env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert (len(lines), lines[0], lines[-1]) == (200_001, "n", "199999")


def test_prefect_gets_the_flow_run_s_last_logs(
    db: Path, samples: list[Path], cli_env: dict[str, str]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterFlowRunId,
    )

    began = datetime.now(UTC)
    env = {**cli_env, "PREFECT_LOGGING_LEVEL": "INFO"}  # paperflow's default keeps warnings only
    done = _paperflow("--db", str(db), "import", *map(str, samples), env=env)
    assert done.returncode == 0, done.stderr
    with get_client(sync_client=True) as client:
        started = FlowRunFilter(start_time=FlowRunFilterStartTime(after_=began))
        (run,) = client.read_flow_runs(flow_run_filter=started)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert run.state is not None and run.state.is_completed()
    # The flow's final log line is sent by Prefect's log worker as the process exits.
    assert any("Finished in state Completed" in log.message for log in logs), [
        log.message for log in logs
    ]



def test_commands_that_wait_for_their_flow_runs_send_no_heartbeats() -> None:
    """Prefect's heartbeat thread sleeps in 1 s steps and the flow run waits for it to wake
    before ending; a command whose process is the run does without (flows/commands.py)."""
    import argparse

    from prefect.settings import get_current_settings

    from flows import commands

    seen: list[object] = []

    def probe(args: argparse.Namespace, settings: object) -> int:
        seen.append(get_current_settings().flows.heartbeat_frequency)
        return 0

    assert commands._one_shot(probe)(argparse.Namespace(), None) == 0  # type: ignore[arg-type]
    assert seen == [None]
    assert get_current_settings().flows.heartbeat_frequency is not None  # only inside
    for name in ("cmd_ingest", "cmd_import", "cmd_reparse", "cmd_demo"):
        assert hasattr(getattr(commands, name), "__wrapped__"), name
    assert not hasattr(commands.cmd_serve, "__wrapped__")  # the runner's flow runs keep them
