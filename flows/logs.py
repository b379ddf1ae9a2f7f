"""Console logging of CLI runs: a failure the CLI reports in one line is not also a traceback.

When a task or flow run raises, Prefect logs the exception with its traceback at ERROR, and
its console handler prints that before `flows/cli.py` prints its one `paperflow: error: …`
line: ~90 lines for a warehouse file that is not a database, ~75 for "warehouse busy". The
filter drops exactly those records from the console, for the exceptions the CLI reports
itself; Prefect's API (the UI's run logs) still gets them, and any other exception (a bug),
also one wrapped in a warehouse error, keeps its traceback.
"""

from __future__ import annotations

import logging

from parsers.errors import IngestError
from warehouse.explain import ExplainError

# What flows/cli.py `main` turns into one line (UsageError and the warehouse errors are
# IngestErrors; paths and disks raise OSError). Not every LookupError: a KeyError is a bug.
REPORTED = (IngestError, ExplainError, OSError, KeyboardInterrupt)
# DuckDB's errors that are about the data or the machine, not our SQL (a load that failed on
# one of these is "rolled back: <its message>", and that message is the whole story).
DUCKDB_REPORTED = frozenset(
    {"IOException", "OutOfMemoryException", "ConstraintException", "TransactionException",
     "InterruptException", "PermissionException"}
)  # fmt: skip
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def reported(exc: BaseException | None) -> bool:
    """Whether the CLI's one line says all there is to say about `exc`: it is one of
    REPORTED, and so is every exception behind it (`LoadError` wraps whatever failed in a
    load: a full disk, or a bug whose traceback must not be lost)."""
    if exc is None:
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        kind = type(cause)
        duckdb = kind.__module__.lstrip("_").startswith("duckdb")
        if not (isinstance(cause, REPORTED) or (duckdb and kind.__name__ in DUCKDB_REPORTED)):
            return False
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return True


class ReportedFailures(logging.Filter):
    """Drops a flow or task run's failure record whose exception the CLI reports itself, and
    the run's "Finished in state Failed(…)" summary (the exception, or a bug's traceback,
    is printed anyway)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not record.name.startswith(RUN_LOGGERS):
            return True
        if record.exc_info is None and record.getMessage().startswith("Finished in state "):
            return False
        return not reported(record.exc_info[1] if record.exc_info else None)


def quiet_reported_failures() -> None:
    """Put the filter on Prefect's console handlers (configuring Prefect's logging first, so
    there are handlers to put it on); once per process."""
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, ReportedFailures) for f in handler.filters
        ):
            handler.addFilter(ReportedFailures())
