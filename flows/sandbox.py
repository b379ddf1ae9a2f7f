"""Contained parsing: pages are parsed in a pool of child processes with CPU, memory and time
limits, so a hostile page can at worst fail its own parse (reliability.md §0.5, §6, §7.4).

Design
------
`ParseSandbox` owns `workers` long-lived child processes (2 by default: one per core). They are
started from a *forkserver* (never `fork` from a threaded Prefect process) whose preloaded
modules include `parsers` and selectolax, so a worker, and each replacement after a kill, starts
in a few milliseconds: the import cost is paid once per forkserver, not per page or per worker.
Each worker talks to the parent over its own pipe, one page at a time:

    parent --(fmt, body, url, fetched_at)--> worker --(ListingPage | ParseError | crash)--> parent

`parse_many` hands the next page to whichever worker is idle and waits on all pipes and process
sentinels at once, so both cores stay busy; `parse` is the one-page form and has the
`PageParser` signature of `flows.pipeline`, so `parse_pages(..., parse=sandbox.parse)` works.
`prepared(items)` parses a batch on every worker first and returns a `PageParser` that serves
those results (the way to get both cores out of the page-at-a-time pipeline loop).

Limits, and what happens to the page
------------------------------------
=======================  ==========================================  ===========================
limit                    where and how                               the page's outcome
=======================  ==========================================  ===========================
body size                parent, before sending (`max_page_bytes`,   ParseError "too_large"
                         settings.max_page_bytes, 20 MiB)
unknown format           parent, before sending                      ParseError "unknown_format"
wall clock               parent: deadline per page from dispatch     ParseError "timeout"; the
                         (`timeout_s`, settings.parse_timeout_s,     worker is SIGKILLed and
                         20 s)                                       replaced
address space            child: RLIMIT_AS (`memory_bytes`, 1.5 GiB)  MemoryError -> "crash", the
                                                                     worker exits and is replaced
CPU (backstop)           child: RLIMIT_CPU re-armed before each      SIGXCPU kills the worker ->
                         page to used + timeout + 5 s; only bites    "crash"; it also ends an
                         if the parent is stuck or gone              orphaned worker
dead worker              parent: pipe EOF / sentinel (segfault,      ParseError "crash" naming
                         SIGKILL, OOM killer, rlimit)                the signal; replaced
unexpected exception     child: anything but ParseError from a       ParseError "crash" (a parser
                         parser, or a non-ListingPage result         bug: report it); the worker
                                                                     lives on
=======================  ==========================================  ===========================

Only the page being parsed by a worker that dies or times out fails; every other page in the
batch is parsed by the surviving or replacement workers. Core dumps are disabled in the
workers (RLIMIT_CORE 0), and workers ignore SIGINT (Ctrl-C is the parent's to handle). A
worker whose parent disappears gets EOF on its pipe and exits; one stuck in native code is
ended by the CPU backstop.

Results come back pickled and are unpickled with an allow-list (`ListingPage`, `Entry`, dates,
`ParseError` classes); a worker that sends anything else is treated as crashed. The sandbox
contains failures (hangs, blow-ups, segfaults), it is not a security boundary against a parser
exploit: the workers run as the same user with the same file access.

The format table is named by a dotted path (`"parsers:FORMATS"`, or `"pkg.mod:NAME"` naming a
mapping, or a function returning one, of format name -> `Format` or plain parse function), and
is imported in the worker, because functions and lambdas do not travel to a forkserver child.

Cost: each page pays a pipe round trip plus pickling its result: see docs/reliability.md
"Contained parsing" for the measured overhead.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import math
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from typing import Any

from parsers.errors import ParseError
from parsers.records import ListingPage

DEFAULT_FORMATS = "parsers:FORMATS"
DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_PAGE_BYTES = 20 * 1024 * 1024
DEFAULT_MEMORY_BYTES = 1536 * 1024 * 1024
CPU_MARGIN_S = 5

Item = tuple[str, bytes, str, datetime]
Result = ListingPage | ParseError
PageParser = Callable[[str, bytes, str, datetime], ListingPage]

# Reply statuses sent by a worker.
_OK, _ERROR, _CRASH, _CRASH_EXIT = "ok", "error", "crash", "crash-exit"


# --------------------------------------------------------------------------- format tables


@dataclass(frozen=True, slots=True)
class _Table:
    parse: dict[str, Callable[..., Any]]
    source: dict[str, str]


def load_formats(path: str) -> _Table:
    """Resolve `"module:NAME"` to its format table (a mapping, or a function returning one)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"formats must look like 'package.module:NAME', got {path!r}")
    obj: Any = getattr(importlib.import_module(module_name), attr)
    if not isinstance(obj, Mapping) and callable(obj):
        obj = obj()
    if not isinstance(obj, Mapping):
        raise TypeError(f"{path} is not a mapping of format name -> Format or parse function")
    parse = {str(name): getattr(entry, "parse", entry) for name, entry in obj.items()}
    source = {str(name): str(getattr(entry, "source", name)) for name, entry in obj.items()}
    return _Table(parse, source)


# --------------------------------------------------------------------------- the worker


def _apply_limits(memory_bytes: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            memory_bytes = min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _arm_cpu(budget_s: int) -> None:
    """Let this page use at most `budget_s` more CPU seconds (SIGXCPU ends the worker)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + budget_s
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _worker_main(conn: Connection, formats: str, memory_bytes: int | None, cpu_s: int) -> None:
    """Child process: set limits, load the format table once, then parse until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_limits(memory_bytes)
    table = load_formats(formats)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the parent is gone
        if not data:
            return  # orderly shutdown
        seq, fmt, body, url, fetched_at = pickle.loads(data)  # noqa: S301 - from our parent
        _arm_cpu(cpu_s)
        status, payload = _run(table, fmt, body, url, fetched_at)
        del body, data
        try:
            reply = pickle.dumps((seq, status, payload), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result is a parser bug, not the page's
            status = _CRASH
            reply = pickle.dumps((seq, _CRASH, f"result does not pickle: {exc!r}"[:500]))
        try:
            conn.send_bytes(reply)
        except (EOFError, OSError):
            return
        if status == _CRASH_EXIT:
            return


def _run(
    table: _Table, fmt: str, body: bytes, url: str, fetched_at: datetime
) -> tuple[str, object]:
    try:
        page = table.parse[fmt](body, url=url, fetched_at=fetched_at)
    except ParseError as exc:
        return _ERROR, exc
    except MemoryError:
        return _CRASH_EXIT, "out of memory (the worker's address-space limit)"
    except RecursionError:
        return _CRASH_EXIT, "parser raised RecursionError"
    except Exception as exc:
        return _CRASH, f"parser bug: {type(exc).__name__}: {exc}{_where(exc)}"[:1000]
    except BaseException as exc:  # SystemExit, KeyboardInterrupt from parser code
        return _CRASH_EXIT, f"parser raised {type(exc).__name__}"
    if not isinstance(page, ListingPage):
        return _CRASH, f"parser bug: returned {type(page).__name__}, not ListingPage"
    return _OK, page


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    code = tb.tb_frame.f_code
    return f" (at {os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name})"


# --------------------------------------------------------------------------- results from workers


_ALLOWED_GLOBALS = {
    ("parsers.records", "ListingPage"),
    ("parsers.records", "Entry"),
    ("parsers.errors", "_rebuild_error"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
}


class _ResultUnpickler(pickle.Unpickler):
    """Unpickles a worker's reply, refusing every global but the record and error types."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        loaded = sys.modules.get(module)  # never import on a worker's say-so
        obj = getattr(loaded, name, None) if loaded is not None and "." not in name else None
        if isinstance(obj, type) and issubclass(obj, ParseError):
            return obj
        raise pickle.UnpicklingError(f"worker sent a forbidden type {module}.{name}")


def _loads_reply(data: bytes) -> tuple[int, str, object]:
    seq, status, payload = _ResultUnpickler(io.BytesIO(data)).load()
    return seq, status, payload


# --------------------------------------------------------------------------- the pool


class _Worker:
    __slots__ = ("conn", "proc")

    def __init__(self, proc: Any, conn: Connection) -> None:
        self.proc = proc
        self.conn = conn


@dataclass(slots=True)
class _Job:
    index: int
    seq: int
    deadline: float


class ParseSandbox:
    """A pool of parser processes with limits; use as a context manager.

        with ParseSandbox.from_settings(settings) as sandbox:
            page = sandbox.parse("hf-papers-html", body, url, fetched_at)   # or raises ParseError
            results = sandbox.parse_many(items)   # [ListingPage | ParseError], in item order

    One batch runs at a time (calls from several threads take turns).
    """

    def __init__(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_page_bytes: int | None = DEFAULT_MAX_PAGE_BYTES,
        memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
        formats: str = DEFAULT_FORMATS,
        start_method: str = "forkserver",
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if start_method == "fork":
            raise ValueError("fork is unsafe from a threaded process; use forkserver or spawn")
        self.workers = workers
        self.timeout_s = timeout_s
        self.max_page_bytes = max_page_bytes
        self.memory_bytes = memory_bytes
        self.formats = formats
        self.cpu_s = math.ceil(timeout_s) + CPU_MARGIN_S
        self._table = load_formats(formats)  # names and sources, checked in the parent
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            module = formats.partition(":")[0]
            self._ctx.set_forkserver_preload(["flows.sandbox", "parsers", module])
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self._seq = 0
        self.restarts = 0  # workers replaced after a timeout or crash, for reports and tests

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ParseSandbox:
        """A sandbox with `settings.parse_timeout_s` and `settings.max_page_bytes`."""
        options: dict[str, Any] = {
            "timeout_s": settings.parse_timeout_s,
            "max_page_bytes": settings.max_page_bytes,
        }
        options.update(overrides)
        return cls(**options)

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> ParseSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers (done by `with`, or on first use)."""
        with self._lock:
            while len(self._pool) < self.workers:
                self._pool.append(self._spawn())

    def close(self) -> None:
        """Ask every worker to stop; kill those that do not within a second."""
        with self._lock:
            pool, self._pool = self._pool, []
            for worker in pool:
                try:
                    worker.conn.send_bytes(b"")
                except OSError:
                    pass
            deadline = time.monotonic() + 1.0
            for worker in pool:
                worker.proc.join(max(0.0, deadline - time.monotonic()))
                self._discard(worker)

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(child_conn, self.formats, self.memory_bytes, self.cpu_s),
            name="paperflow-parse",
            daemon=True,
        )
        proc.start()
        child_conn.close()
        return _Worker(proc, parent_conn)

    def _discard(self, worker: _Worker) -> None:
        if worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(5)
        worker.conn.close()
        try:
            worker.proc.close()
        except ValueError:  # still running after SIGKILL + 5 s: leave it to the OS
            pass

    def _replace(self, slot: int) -> None:
        self._discard(self._pool[slot])
        self._pool[slot] = self._spawn()
        self.restarts += 1

    # ---------------------------------------------------------------- parsing

    def parse(self, fmt: str, body: bytes, url: str, fetched_at: datetime) -> ListingPage:
        """Parse one page in a worker (the `PageParser` signature); raises ParseError."""
        result = self.parse_many([(fmt, body, url, fetched_at)])[0]
        if isinstance(result, ParseError):
            raise result
        return result

    __call__ = parse

    def prepared(self, items: Iterable[Item]) -> PageParser:
        """Parse `items` on every worker now; return a PageParser that serves those results.

        A call the batch did not cover (another body, url, format or time) is parsed then.
        """
        items = list(items)
        done = {_key(*item): result for item, result in zip(items, self.parse_many(items))}

        def parse(fmt: str, body: bytes, url: str, fetched_at: datetime) -> ListingPage:
            result = done.get(_key(fmt, body, url, fetched_at))
            if result is None:
                return self.parse(fmt, body, url, fetched_at)
            if isinstance(result, ParseError):
                raise result
            return result

        return parse

    def parse_many(self, items: Iterable[Item]) -> list[Result]:
        """Parse every item, both cores at once; one ListingPage or ParseError per item."""
        items = list(items)
        results: list[Result | None] = [None] * len(items)
        todo: deque[int] = deque()
        for index, item in enumerate(items):
            refused = self._refuse(*item)
            if refused is None:
                todo.append(index)
            else:
                results[index] = refused
        with self._lock:
            while len(self._pool) < self.workers:
                self._pool.append(self._spawn())
            self._run_batch(items, todo, results)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _refuse(self, fmt: str, body: bytes, url: str, fetched_at: datetime) -> ParseError | None:
        if fmt not in self._table.parse:
            return ParseError(
                f"unknown format {fmt!r}", source="import", url=url, kind="unknown_format"
            )
        if self.max_page_bytes is not None and len(body) > self.max_page_bytes:
            return ParseError(
                f"page is {len(body):,} bytes, over the {self.max_page_bytes:,}-byte limit",
                source=self._table.source[fmt],
                url=url,
                kind="too_large",
            )
        return None

    def _run_batch(
        self, items: list[Item], todo: deque[int], results: list[Result | None]
    ) -> None:
        busy: dict[int, _Job] = {}  # pool slot -> its job
        idle = list(range(len(self._pool)))
        while todo or busy:
            while todo and idle:
                slot = idle.pop()
                index = todo.popleft()
                job = self._dispatch(slot, index, items[index])
                if job is None:
                    results[index] = self._died(items[index], slot, "before it took the page")
                    idle.append(slot)
                else:
                    busy[slot] = job
            if not busy:
                continue
            timeout = max(0.0, min(job.deadline for job in busy.values()) - time.monotonic())
            waitables: list[Any] = [self._pool[s].conn for s in busy]
            waitables += [self._pool[s].proc.sentinel for s in busy]
            ready = set(wait(waitables, timeout))
            now = time.monotonic()
            for slot, job in list(busy.items()):
                worker = self._pool[slot]
                item = items[job.index]
                if worker.conn in ready or worker.proc.sentinel in ready:
                    results[job.index] = self._collect(slot, job, item)
                elif now >= job.deadline:
                    results[job.index] = self._timeout(item)
                    self._replace(slot)
                else:
                    continue
                del busy[slot]
                idle.append(slot)

    def _dispatch(self, slot: int, index: int, item: Item) -> _Job | None:
        self._seq += 1
        fmt, body, url, fetched_at = item
        data = pickle.dumps((self._seq, fmt, body, url, fetched_at), protocol=5)
        for attempt in range(2):  # a worker that died while idle is not the page's fault
            try:
                self._pool[slot].conn.send_bytes(data)
            except OSError:
                self._replace(slot)
                continue
            return _Job(index, self._seq, time.monotonic() + self.timeout_s)
        return None

    def _collect(self, slot: int, job: _Job, item: Item) -> Result:
        worker = self._pool[slot]
        try:
            data = worker.conn.recv_bytes() if worker.conn.poll() else None
        except (EOFError, OSError):
            data = None
        if data is None:
            return self._died(item, slot, "while parsing this page")
        try:
            seq, status, payload = _loads_reply(data)
        except Exception as exc:
            self._replace(slot)
            return self._crash(item, f"worker sent an unreadable reply: {exc}")
        if seq != job.seq:
            self._replace(slot)
            return self._crash(item, "worker replied out of turn")
        if status == _OK and isinstance(payload, ListingPage):
            return payload
        if status == _ERROR and isinstance(payload, ParseError):
            return payload
        if status == _CRASH_EXIT:
            self._replace(slot)
        return self._crash(item, str(payload))

    def _died(self, item: Item, slot: int, when: str) -> ParseError:
        proc = self._pool[slot].proc
        proc.join(1)
        code = proc.exitcode
        self._replace(slot)
        return self._crash(item, f"parser process died ({_describe_exit(code)}) {when}")

    def _crash(self, item: Item, message: str) -> ParseError:
        fmt, _, url, _ = item
        return ParseError(message, source=self._table.source[fmt], url=url, kind="crash")

    def _timeout(self, item: Item) -> ParseError:
        fmt, _, url, _ = item
        return ParseError(
            f"parse took longer than {self.timeout_s:g} s; the parser process was killed",
            source=self._table.source[fmt],
            url=url,
            kind="timeout",
        )


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{name}, CPU limit" if -code == signal.SIGXCPU else name
    return f"exit status {code}"


def _key(fmt: str, body: bytes, url: str, fetched_at: datetime) -> tuple[str, str, str, str]:
    return fmt, url, fetched_at.isoformat(), hashlib.sha256(body).hexdigest()


__all__ = ["DEFAULT_FORMATS", "Item", "PageParser", "ParseSandbox", "Result", "load_formats"]
