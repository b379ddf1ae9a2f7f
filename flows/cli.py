"""The `paperflow` command.

    paperflow [--db PATH] ingest hf-papers [--date D | --since D --until D | --week W | --month M
                                            | --trending | --query TEXT] [--base-url URL] ...
    paperflow [--db PATH] import PATH... [--format F] [--as-of DATE]
    paperflow [--db PATH] sql "QUERY" [--format table|csv|json]
    paperflow [--db PATH] status
    paperflow [--db PATH] demo

--db may name a DuckLake instead of a file: `--db ducklake:postgres:<connection string>
--data-path DIR` (docs/warehouse.md, "DuckLake").

User mistakes end with one `paperflow: error: …` line and exit status 2; a run that loaded
but had failed pages exits 1; "warehouse busy" exits 3.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

from flows.errors import UsageError
from flows.settings import Settings, prefect_environment
from parsers.errors import IngestError

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _rate(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (unlimited) or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the usage block is on --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"paperflow: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="paperflow", description="Keep a DuckDB warehouse of papers fresh.")
    db_help = (
        "warehouse file, or ducklake:postgres:<connection string> "
        "(env PAPERFLOW_DB; default ./data/paperflow.duckdb)"
    )
    data_help = "a DuckLake's data directory (env PAPERFLOW_DATA_PATH)"
    parser.add_argument("--db", help=db_help)
    parser.add_argument("--data-path", type=Path, metavar="DIR", help=data_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _Parser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help=db_help)
    common.add_argument(
        "--data-path", type=Path, metavar="DIR", default=argparse.SUPPRESS, help=data_help
    )
    _add_ingest(sub, common)
    _add_import(sub, common)
    q = sub.add_parser("sql", parents=[common], help="run a read-only SQL query")
    q.add_argument("query")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    st = sub.add_parser("status", parents=[common], help="last runs, counts and failures")
    st.add_argument("--limit", type=_positive, default=10)
    se = sub.add_parser("search", parents=[common], help="full-text search of titles and abstracts")
    se.add_argument("text")
    se.add_argument("--limit", type=_positive, default=10)
    se.add_argument("--format", choices=["table", "csv", "json"], default="table")
    ex = sub.add_parser(
        "export", parents=[common], help="write every table to files for other tools"
    )
    ex.add_argument("dir", type=Path, metavar="DIR")
    ex.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    sv = sub.add_parser(
        "serve", parents=[common], help="run prefect.yaml's schedules from this process"
    )
    sv.add_argument(
        "--source",
        action="append",
        choices=["hf-papers", "arxiv-list", "arxiv-api", "scholarfeed"],
        help="only this source's deployments (repeatable; default all)",
    )
    sv.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="run every SECONDS instead of the cron schedules",
    )
    sv.add_argument("--base-url", help="site or mirror every served run reads")
    xp = sub.add_parser("explain", parents=[common], help="why a paper's sightings are together")
    xp.add_argument("ref", metavar="PAPER_ID|ARXIV_ID")
    um = sub.add_parser(
        "unmerge", parents=[common], help="split sightings off a wrongly merged paper"
    )
    um.add_argument("paper_id")
    um.add_argument(
        "--sighting",
        action="append",
        required=True,
        metavar="SIGHTING_ID",
        help="a sighting to move to a new paper (repeatable; see paperflow explain)",
    )
    um.add_argument("--reason", default="unmerged by a user")
    rp = sub.add_parser("reparse", parents=[common], help="parse stored pages again (no network)")
    rp.add_argument("--source", help="only this source's pages")
    rp.add_argument("--since", type=_date, help="only pages fetched on or after this date")
    demo = sub.add_parser("demo", parents=[common], help="run the pipeline on a bundled local site")
    demo.add_argument(
        "--port", type=int, default=0, help="port for the sample site (default: any free)"
    )
    return parser


def _add_ingest(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    ingest = sub.add_parser("ingest", help="fetch listing pages of a source")
    srcs = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    hf = srcs.add_parser("hf-papers", parents=[common], help="Hugging Face Papers pages")
    pick = hf.add_mutually_exclusive_group()
    pick.add_argument("--date", type=_date, help="one day's page (YYYY-MM-DD)")
    pick.add_argument("--since", type=_date, help="every day from this date (with --until)")
    pick.add_argument("--week", help="one ISO week's page (YYYY-Www)")
    pick.add_argument("--month", help="one month's page (YYYY-MM)")
    pick.add_argument("--trending", action="store_true", help="the trending page")
    pick.add_argument("--query", help="a search results page")
    hf.add_argument("--until", type=_date, help="last day for --since (default: --since)")
    hf.add_argument(
        "--via", choices=["page", "api"], default="page", help="HTML pages or the JSON API"
    )
    _add_fetch_options(hf, "https://huggingface.co")
    al = srcs.add_parser("arxiv-list", parents=[common], help="arXiv listing pages (/list/CAT/...)")
    al.add_argument("--category", required=True, help="category or archive, e.g. cs.LG, astro-ph")
    al.add_argument("--listing", default="new", help="new | recent | pastweek | YYYY-MM | YYYY")
    al.add_argument("--show", type=int, help="entries per page: 25, 50, 100, 250, 500, 1000, 2000")
    _add_fetch_options(al, "https://arxiv.org")
    aa = srcs.add_parser("arxiv-api", parents=[common], help="the arXiv API (Atom)")
    aa.add_argument("--query", required=True, help='search_query, e.g. "cat:cs.CL"')
    aa.add_argument("--max-results", type=_positive, default=100, help="results wanted in all")
    aa.add_argument(
        "--page-size", type=_positive, default=100, help="results per request (<= 2000)"
    )
    _add_fetch_options(aa, "https://export.arxiv.org")
    sf = srcs.add_parser("scholarfeed", parents=[common], help="Scholar Feed author papers (API)")
    sf.add_argument("--author", required=True, action="append", help="author id (repeatable)")
    _add_fetch_options(sf, "https://api.scholarfeed.org")


def _add_fetch_options(p: argparse.ArgumentParser, base: str) -> None:
    p.add_argument("--base-url", default=base, help=f"site or mirror to read (default {base})")
    p.add_argument("--max-rate", type=_rate, help="requests per second per host (0 = unlimited)")
    p.add_argument("--concurrency", type=_positive, help="open requests per host")


def _add_import(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import", parents=[common], help="import saved pages (HTML or text)")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--format", help="skip detection: hf-papers-html, scholarfeed-text, …")
    imp.add_argument(
        "--as-of", type=_date, help="capture date for dates without a year (default: file mtime)"
    )


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a PAPERFLOW_* variable that is not a number
        raise UsageError(f"bad environment setting: {exc}") from None
    if getattr(args, "db", None):
        settings = settings.with_db(args.db)
    if getattr(args, "data_path", None):
        settings = replace(settings, data_path=args.data_path)
    try:
        settings.target  # noqa: B018 - validates a DuckLake address and --data-path now
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "max_rate", None) is not None:
        settings = replace(settings, max_rate=args.max_rate)
    if getattr(args, "concurrency", None) is not None:
        settings = replace(settings, concurrency=args.concurrency)
    return replace(settings, progress=sys.stderr.isatty())


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.update(prefect_environment(os.environ))
    parser = build_parser()
    args = parser.parse_args(argv)
    from flows import commands

    handler = getattr(commands, "cmd_" + args.command)
    try:
        return int(handler(args, settings_from(args)))
    except UsageError as exc:
        print(f"paperflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IngestError as exc:
        print(f"paperflow: error: {exc}", file=sys.stderr)
        return EXIT_BUSY if type(exc).__name__ == "WarehouseLocked" else EXIT_PARTIAL
    except FileNotFoundError as exc:
        print(f"paperflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LookupError as exc:  # "no paper matches …", not a KeyError bug (a traceback)
        from warehouse.explain import ExplainError

        if not isinstance(exc, ExplainError):
            raise
        print(f"paperflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return _reader_went_away()
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # A path given to paperflow has the wrong shape (a file where a folder must be).
        print(f"paperflow: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # no space, no permission, … : the run failed, say where
        where = f": {exc.filename}" if exc.filename else ""
        print(f"paperflow: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_PARTIAL
    except KeyboardInterrupt:
        print("paperflow: interrupted", file=sys.stderr)
        return 130


def _reader_went_away() -> int:
    """stdout was a pipe whose reader exited (`paperflow status | head -1`): not an error of
    ours. Point stdout at /dev/null so the exit's flush does not fail again, and exit as a
    process killed by SIGPIPE would (128 + 13), like `cat` and friends."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def run() -> None:
    """The `paperflow` console script: `main`, then an exit that skips the interpreter's
    teardown. Freeing every object of the modules a run loads (Prefect, pydantic, SQLAlchemy,
    DuckDB, Arrow) took ~0.5 s of CPU after the work was done: a tenth of an unchanged re-run.
    Everything of a normal exit that matters still happens first: threads are joined (Prefect's
    log and event workers drain there), then every other exit handler runs (the temporary
    Prefect server stops), then logging and stdio are flushed (`_exit_now`)."""
    code = [EXIT_PARTIAL]  # what an exception escaping main exits with, as Python's own exit
    atexit.register(_exit_now, code)  # before any other handler, so it runs after all of them
    try:
        code[0] = main()
    except SystemExit as exc:  # argparse's usage errors and --help
        code[0] = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        raise
    except KeyboardInterrupt:  # Ctrl-C before main's own handler (arguments, imports)
        print("paperflow: interrupted", file=sys.stderr)
        code[0] = 130
    sys.exit(code[0])


def _exit_now(code: list[int]) -> NoReturn:
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None when the process was started without that fd
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or stream: nothing to keep
            pass
    os._exit(code[0])


if __name__ == "__main__":
    run()
