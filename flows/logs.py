"""Console logging of CLI runs: a failure the CLI reports in one line is not also a traceback.

When a task or flow run raises, Prefect logs the exception with its traceback at ERROR, and
its console handler prints that before `flows/cli.py` prints its one `paperflow: error: …`
line: ~90 lines for a warehouse file that is not a database, ~75 for "warehouse busy". The
filter drops exactly those records from the console, for the exceptions the CLI reports
itself; Prefect's API (the UI's run logs) still gets them, and any other exception (a bug)
keeps its traceback.
"""

from __future__ import annotations

import logging

from parsers.errors import IngestError

# What flows/cli.py `main` turns into one line (UsageError and the warehouse errors are
# IngestErrors; ExplainError is a LookupError; paths and disks raise OSError).
REPORTED = (IngestError, LookupError, OSError, KeyboardInterrupt)
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class ReportedFailures(logging.Filter):
    """Drops a flow or task run's failure record whose exception the CLI reports itself, and
    the run's "Finished in state Failed(…)" summary (the exception, or a bug's traceback,
    is printed anyway)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not record.name.startswith(RUN_LOGGERS):
            return True
        if record.exc_info is None and record.getMessage().startswith("Finished in state "):
            return False
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, REPORTED)


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
