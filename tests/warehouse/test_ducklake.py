"""A DuckLake warehouse on the local PostgreSQL: imports, readers, concurrent writers.

Skipped when no PostgreSQL answers at 127.0.0.1:5432. Every module run gets its own database
(createdb) and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.cli import main
from warehouse.db import Connection, bump_state, open_connection, open_reader, write
from warehouse.errors import WarehouseLocked
from warehouse.lake import Lake, retry_conflicts, schema_sql
from warehouse.query import run_query, search

PG = ("127.0.0.1", 5432)
PAPERFLOW = Path(sys.executable).with_name("paperflow")


def _pg_up() -> str | None:
    """Why the tests cannot run, or None."""
    if not shutil.which("createdb"):
        return "createdb is not installed"
    try:
        socket.create_connection(PG, timeout=2).close()
    except OSError as exc:
        return f"no PostgreSQL at {PG[0]}:{PG[1]} ({exc})"
    return None


@pytest.fixture(scope="module")
def pg_prefix() -> str:
    """The name prefix of this module run's databases; skips when PostgreSQL is missing."""
    reason = _pg_up()
    if reason:
        pytest.skip(reason)
    return f"paperflow_test_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lake(pg_prefix: str, tmp_path: Path) -> Iterator[Lake]:
    """An empty DuckLake: a fresh catalog database (createdb) per test, dropped afterwards."""
    name = f"{pg_prefix}_{uuid.uuid4().hex[:6]}"
    subprocess.run(["createdb", "-h", PG[0], "-U", "postgres", name], check=True)  # noqa: S603,S607
    try:
        yield Lake.parse(_address(name), tmp_path / "lake")
    finally:
        drop = ["dropdb", "--force", "-h", PG[0], "-U", "postgres", name]
        subprocess.run(drop, check=False)  # noqa: S603


def _address(dbname: str) -> str:
    return f"ducklake:postgres:dbname={dbname} host={PG[0]} user=postgres"


def _cli_args(lake: Lake, samples: list[Path]) -> list[str]:
    return [
        "--db", f"ducklake:postgres:{lake.conninfo}", "--data-path", str(lake.data_path),
        "import", *map(str, samples), "--as-of", "2026-11-22",
    ]  # fmt: skip


def _counts(lake: Lake) -> tuple[object, ...]:
    sql = (
        "SELECT (SELECT count(*) FROM sightings), (SELECT count(DISTINCT sighting_id) FROM "
        "sightings), (SELECT count(*) FROM papers), (SELECT count(DISTINCT paper_id) FROM papers)"
    )
    return run_query(lake, sql).rows[0]


@pytest.mark.usefixtures("prefect_harness")
def test_import_search_sql_status_and_rerun(
    lake: Lake,
    samples: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # raw bodies and scratch go to ./data, here not the repo
    assert main(_cli_args(lake, samples)) == 0
    assert _counts(lake) == (166, 166, 165, 165)
    assert main(_cli_args(lake, samples)) == 0  # (c) re-running adds nothing
    assert _counts(lake) == (166, 166, 165, 165)
    runs = run_query(lake, "SELECT status, sightings_added FROM runs ORDER BY started_at").rows
    assert runs == [("succeeded", 166), ("succeeded", 0)]
    hits = search(lake, "scaling transformers", limit=3).rows
    assert hits and "Transformers" in str(hits[0][2])
    capsys.readouterr()
    address = ["--db", f"ducklake:postgres:{lake.conninfo}", "--data-path", str(lake.data_path)]
    assert main([*address, "status"]) == 0
    assert "165" in capsys.readouterr().out
    assert main([*address, "sql", "SELECT count(*) AS n FROM papers_first_seen("
                 "'2000-01-01', '2100-01-01')", "--format", "csv"]) == 0  # fmt: skip
    assert capsys.readouterr().out.strip() == "n\n165"


def test_two_cli_imports_at_once_give_one_row_per_paper(
    lake: Lake, samples: list[Path], cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The acceptance: two `paperflow import` processes writing at once to a fresh DuckLake
    end with what one writer gives."""
    procs = [
        subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [str(PAPERFLOW), *_cli_args(lake, samples)],
            env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outputs)
    assert _counts(lake) == (166, 166, 165, 165)
    added = sorted(int(str(r[0])) for r in run_query(lake, "SELECT sightings_added FROM runs").rows)
    assert added == [0, 166]


def test_a_conflicting_write_is_redone_against_the_new_state(lake: Lake) -> None:
    """The first attempt loses to a write committed meanwhile; the whole transaction runs
    again and sees it (the mechanism that keeps concurrent loads from duplicating)."""
    seen: list[int] = []

    def work(con: Connection) -> int:
        row = con.execute("SELECT writes FROM warehouse_state").fetchone()
        assert row is not None
        seen.append(int(row[0]))
        if len(seen) == 1:  # another writer commits between our snapshot and our commit
            with open_connection(lake) as other:
                bump_state(other, "other", datetime.now(UTC))
        bump_state(con, "mine", datetime.now(UTC))
        return len(seen)

    with open_connection(lake):
        pass  # create the schema first
    assert write(lake, work) == 2
    assert seen == [0, 1]
    with open_reader(lake) as con:
        assert con.execute("SELECT writes, last_run_id FROM warehouse_state").fetchone() == (
            2,
            "mine",
        )


def test_hardened_lake_connections_reach_only_the_data_path(lake: Lake) -> None:
    with open_connection(lake):
        pass
    with open_reader(lake) as con:
        for sql in [
            "SELECT * FROM read_csv('/etc/passwd')",
            "ATTACH 'dbname=postgres host=127.0.0.1 user=postgres' AS p (TYPE postgres)",
            "SET enable_external_access = true",
            "INSERT INTO warehouse_state VALUES (2, 0, NULL, NULL)",
        ]:
            with pytest.raises(Exception):  # noqa: B017 - any refusal will do
                con.execute(sql)


def test_addresses_are_validated_strictly(tmp_path: Path) -> None:
    ok = Lake.parse("ducklake:postgres:dbname=x host=db.internal user=pf", tmp_path)
    assert ok.conninfo == "dbname=x host=db.internal user=pf"
    assert "secret" not in str(Lake.parse("ducklake:postgres:dbname=x password=secret", tmp_path))
    for bad in [
        "ducklake:postgres:dbname=x' AS y; --",
        "ducklake:postgres:dbname=x options=-csearch_path=evil",
        "ducklake:sqlite:x.db",
        "ducklake:postgres:dbname=x\nhost=y",
    ]:
        with pytest.raises(ValueError):
            Lake.parse(bad, tmp_path)
    with pytest.raises(ValueError, match="data-path"):
        Lake.parse("ducklake:postgres:dbname=x", None)
    with pytest.raises(ValueError, match="quotes"):
        Lake.parse("ducklake:postgres:dbname=x", tmp_path / "it's")


def test_cli_refuses_a_lake_without_data_path(capsys: pytest.CaptureFixture[str]) -> None:
    env_had = os.environ.pop("PAPERFLOW_DATA_PATH", None)
    try:
        assert main(["--db", "ducklake:postgres:dbname=x", "status"]) == 2
    finally:
        if env_had is not None:
            os.environ["PAPERFLOW_DATA_PATH"] = env_had
    assert "--data-path" in capsys.readouterr().err


def test_schema_transform_drops_what_ducklake_cannot_store() -> None:
    sql = (
        "CREATE TABLE a (k VARCHAR PRIMARY KEY, t TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);\n"
        "CREATE TABLE b (x VARCHAR NOT NULL,\n    PRIMARY KEY (x));\n"
        "CREATE OR REPLACE MACRO m(a) AS TABLE SELECT 1"
    )
    out = schema_sql(sql)
    assert "PRIMARY KEY" not in out and "DEFAULT" not in out and "MACRO" not in out
    assert "NOT NULL" in out


def test_retry_gives_up_as_warehouse_busy() -> None:
    import duckdb

    def always() -> None:
        raise duckdb.TransactionException("Transaction conflict - another transaction won")

    with pytest.raises(WarehouseLocked):
        retry_conflicts(always, "lake", attempts=2)
