"""Contained parsing: pages are parsed in a pool of child processes with CPU, memory and time
limits, so a hostile page can at worst fail its own parse (reliability.md §0.5, §6, §7.4).

Design
------
`ParseSandbox` owns `workers` long-lived child processes (2 by default: one per core). Each is
a fresh interpreter started with `subprocess` (exec, like multiprocessing's "spawn": never a
fork of the threaded Prefect process, and unlike "spawn"/"forkserver" it never re-imports the
parent's `__main__`, e.g. the Prefect CLI). A worker imports the parsers once (~0.3 s), says
hello, then parses page after page, so start-up is paid once per worker, not per page. Each
worker has its own socket pair to the parent and handles one page at a time:

    parent --(seq, fmt, body | StoredBody, url, fetched_at, stage, max_bytes)--> worker
    worker --(seq, status, ListingPage | StagedPage | ParseError)--> parent

`parse_many` hands the next page to whichever worker is idle and waits on every worker at once,
so both cores stay busy; `parse` is the one-page form with the `PageParser` signature of
`flows.pipeline` (`parse_pages(..., parse=sandbox.parse)`). `prepared(items)` parses a batch
on every worker first and returns a `PageParser` serving those results: the way to use both
cores from the page-at-a-time pipeline loop. With `stage=True` a worker also stages the page
it parsed (flows/staging.py: normalised rows, hashes and resolution keys as Arrow) and sends
back a `StagedPage` instead of the `ListingPage`, so that CPU work runs on both cores too.

Limits, and what happens to the page
------------------------------------
- Body size (`max_page_bytes` = settings.max_page_bytes, 20 MiB): ParseError "too_large",
  checked in the parent before sending a body, or in the worker for a `StoredBody` (a blob
  the worker reads and un-gzips itself, so the parent never touches the page). An unknown
  format: "unknown_format".
- Wall clock, in the parent, from dispatch (`timeout_s` = settings.parse_timeout_s, 20 s):
  the worker is SIGKILLed and replaced; the page gets ParseError "timeout".
- Address space, in the worker: RLIMIT_AS (`memory_bytes`, 1.5 GiB). A MemoryError is
  ParseError "crash" and the worker exits and is replaced (native code that dies on a failed
  allocation is a dead worker, below).
- CPU, in the worker, a backstop: RLIMIT_CPU is re-armed before each page to the CPU used so
  far + timeout + 5 s. It only bites if the parent is stuck or gone (SIGXCPU ends the worker).
- A dead worker (segfault, SIGKILL, OOM killer, rlimit): the parent sees EOF on its pipe; the
  page gets ParseError "crash" naming the signal, and the worker is replaced.
- A parser that raises anything but ParseError, or returns something other than a ListingPage,
  has a bug: ParseError "crash" with the exception and where it was raised; the worker lives on.

Only the page on a worker that dies or times out fails; every other page in the batch is
parsed by the surviving and replacement workers (replacements start in the background while
the others keep parsing). Workers have core dumps off (RLIMIT_CORE 0) and ignore SIGINT
(Ctrl-C is the parent's). A worker whose parent has gone gets EOF on its pipe and exits; one
stuck in native code is ended by the CPU backstop. `SandboxError` is raised only when workers
cannot start at all (an import error, a memory limit too small for the interpreter).

Results come back pickled and are unpickled with an allow-list (`ListingPage`, `Entry`, dates,
`ParseError` classes); a worker that sends anything else counts as crashed. The sandbox
contains failures (hangs, blow-ups, segfaults); it is not a security boundary against a parser
exploit: workers run as the same user with the same file access.

The format table is named by a dotted path (`"parsers:FORMATS"`, or `"pkg.mod:NAME"` naming a
mapping, or a function returning one, of format name -> `Format` or plain parse function) and
imported in the worker, because functions and lambdas do not travel to another interpreter.
Tests use this to register formats that kill, hang or exhaust their worker.

Cost per page: a socket round trip plus pickling the body one way and the ListingPage back,
about 0.1-0.3 ms of CPU against 1.5-2.5 ms of parsing; docs/reliability.md "Contained parsing"
has the measurements.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import math
import multiprocessing
import os
import pickle
import resource
import signal
import subprocess
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



@dataclass(frozen=True, slots=True)
class StoredBody:
    """A body in the blob store (warehouse/blobs.py), read by the worker itself: the parent
    never un-gzips, copies or sends the page (that was most of the parent's parse-stage CPU).
    Its size limit is checked in the worker, after decompression."""

    raw_dir: str
    sha256: str

    def read(self) -> bytes:
        from pathlib import Path

        from warehouse.blobs import get_blob

        return get_blob(Path(self.raw_dir), self.sha256)


Body = bytes | StoredBody
Item = tuple[str, Body, str, datetime]
Result = Any  # ListingPage (or flows.staging.StagedPage when staging) | ParseError
PageParser = Callable[[str, Any, str, datetime], Any]

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
    parse: dict[str, Callable[..., Any]] = {}
    for name, entry in obj.items():
        fn = getattr(entry, "parse", entry)
        if not callable(fn):
            raise TypeError(f"{path}[{name!r}] is neither a Format nor a parse function")
        parse[str(name)] = fn
    source = {str(name): str(getattr(entry, "source", name)) for name, entry in obj.items()}
    return _Table(parse, source)


# --------------------------------------------------------------------------- the worker

WORKER_NICENESS = 5


def _apply_limits(memory_bytes: int | None) -> None:
    # Batch parsing yields to interactive work: a `paperflow sql` started while a big ingest
    # parses on both cores should still answer at once.
    os.nice(WORKER_NICENESS)
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


_HELLO = b"paperflow-parse-worker ready"
# The worker is a fresh interpreter (no fork of a threaded parent, no re-import of the
# parent's __main__): it takes the parent's sys.path, then runs `_worker_entry`.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from flows.sandbox import _worker_entry; _worker_entry(sys.argv[2:])"
)


def _worker_entry(argv: list[str]) -> None:
    fd, formats, memory, cpu = argv
    _worker_main(Connection(int(fd)), formats, int(memory) or None, int(cpu))


def _worker_main(conn: Connection, formats: str, memory_bytes: int | None, cpu_s: int) -> None:
    """Child process: set limits, load the format table once, then parse until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_limits(memory_bytes)
    table = load_formats(formats)
    conn.send_bytes(_HELLO)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the parent is gone
        if not data:
            return  # orderly shutdown
        seq, fmt, body, url, fetched_at, stage, max_bytes = pickle.loads(data)  # noqa: S301
        _arm_cpu(cpu_s)
        status, payload = _read(body, max_bytes, table.source.get(fmt, "import"), url)
        if isinstance(payload, bytes):
            status, payload = _run(table, fmt, payload, url, fetched_at)
        if stage and status == _OK:
            status, payload = _stage(payload, fmt, url, fetched_at)
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


def _read(body: Body, max_bytes: int | None, source: str, url: str) -> tuple[str, object]:
    """The page's bytes: as sent, or read from the blob store (then size-checked here)."""
    if isinstance(body, bytes):
        return _OK, body
    try:
        data = body.read()
    except OSError as exc:
        return _ERROR, ParseError(f"stored body unreadable: {exc}", source=source, url=url,
                                  kind="crash")
    except MemoryError:
        return _CRASH_EXIT, "out of memory (the worker's address-space limit) reading the page"
    if max_bytes is not None and len(data) > max_bytes:
        return _ERROR, _too_large(len(data), max_bytes, source, url)
    return _OK, data


def _too_large(size: int, limit: int, source: str, url: str) -> ParseError:
    return ParseError(
        f"page is {size:,} bytes, over the {limit:,}-byte limit",
        source=source,
        url=url,
        kind="too_large",
    )


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


def _stage(page: Any, fmt: str, url: str, fetched_at: datetime) -> tuple[str, object]:
    """Stage a parsed page here, in the worker (flows/staging.py says why)."""
    from flows.staging import stage_page  # only workers asked to stage pay for pyarrow

    try:
        return _OK, stage_page(page, fmt, url, fetched_at)
    except MemoryError:
        return _CRASH_EXIT, "out of memory (the worker's address-space limit) while staging"
    except Exception as exc:
        return _CRASH, f"staging bug: {type(exc).__name__}: {exc}{_where(exc)}"[:1000]


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
    ("flows.staging", "StagedPage"),
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


class SandboxError(RuntimeError):
    """The sandbox itself cannot work (a worker fails to start): not any one page's fault."""


class _Worker:
    __slots__ = ("conn", "proc", "ready", "started")

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection) -> None:
        self.proc = proc
        self.conn = conn
        self.ready = False
        self.started = time.monotonic()


@dataclass(slots=True)
class _Job:
    index: int
    seq: int
    started: float
    deadline: float


class ParseSandbox:
    """A pool of parser processes with limits; use as a context manager.

        with ParseSandbox.from_settings(settings) as sandbox:
            page = sandbox.parse("hf-papers-html", body, url, fetched_at)   # or raises ParseError
            results = sandbox.parse_many(items)   # [ListingPage | ParseError], in item order

    One batch runs at a time (calls from several threads take turns). Raises SandboxError
    only when workers cannot be started at all.
    """

    def __init__(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_page_bytes: int | None = DEFAULT_MAX_PAGE_BYTES,
        memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
        formats: str = DEFAULT_FORMATS,
        cpu_limit_s: int | None = None,
        start_timeout_s: float = 60.0,
        wait_ready: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.workers = workers
        self.timeout_s = timeout_s
        self.max_page_bytes = max_page_bytes
        self.memory_bytes = memory_bytes
        self.formats = formats
        self.start_timeout_s = start_timeout_s
        # False: `with` only launches the workers; they load the parsers while the flow
        # fetches its first pages, and the first batch waits for them (a worker that cannot
        # start then raises SandboxError from that batch).
        self.wait_ready = wait_ready
        # CPU seconds one page may use before RLIMIT_CPU ends its worker (a backstop).
        self.cpu_s = cpu_limit_s or math.ceil(timeout_s) + CPU_MARGIN_S
        self._table = load_formats(formats)  # names and sources, checked in the parent
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._staging = False  # the running batch's mode (batches take turns under _lock)
        self.restarts = 0  # workers replaced after a timeout or crash, for reports and tests
        self.timings: list[float] = []  # the last batch: seconds from dispatch to each outcome

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
        if self.wait_ready:
            self.start()
        else:
            with self._lock:
                self._fill()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers and wait until each has loaded the parsers (done by `with`)."""
        with self._lock:
            self._fill()
            for slot in range(len(self._pool)):
                self._await_ready(slot)

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
                try:
                    worker.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                self._discard(worker)

    def _fill(self) -> None:
        while len(self._pool) < self.workers:
            self._pool.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = multiprocessing.Pipe(duplex=True)
        fd = child_conn.fileno()
        args = [json.dumps(sys.path), str(fd), self.formats, str(self.memory_bytes or 0)]
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", _BOOT, *args, str(self.cpu_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # keep the parent's stdout (CLI output) clean
            pass_fds=(fd,),
        )
        child_conn.close()
        return _Worker(proc, parent_conn)

    def _discard(self, worker: _Worker) -> None:
        if worker.proc.poll() is None:
            worker.proc.kill()
        try:
            worker.proc.wait(5)
        except subprocess.TimeoutExpired:  # unkillable (stuck in the kernel): leave it
            pass
        worker.conn.close()

    def _replace(self, slot: int) -> None:
        self._discard(self._pool[slot])
        self._pool[slot] = self._spawn()
        self.restarts += 1

    def _await_ready(self, slot: int) -> None:
        worker = self._pool[slot]
        left = self.start_timeout_s - (time.monotonic() - worker.started)
        if not worker.ready and not worker.conn.poll(max(0.0, left)):
            self._start_failed(slot, f"not ready after {self.start_timeout_s:g} s")
        self._take_ready(slot)

    def _take_ready(self, slot: int) -> None:
        worker = self._pool[slot]
        if worker.ready:
            return
        try:
            hello = worker.conn.recv_bytes()
        except (EOFError, OSError):
            worker.proc.poll()
            self._start_failed(slot, f"exited ({_describe_exit(worker.proc.poll())})")
        if hello != _HELLO:
            self._start_failed(slot, f"said {hello[:80]!r} instead of hello")
        worker.ready = True

    def _start_failed(self, slot: int, why: str) -> None:
        self._discard(self._pool[slot])
        del self._pool[slot]
        raise SandboxError(
            f"parser worker failed to start: {why} (formats={self.formats!r}, "
            f"memory limit {self.memory_bytes} bytes); its stderr has the details"
        )

    # ---------------------------------------------------------------- parsing

    def parse(self, fmt: str, body: Body, url: str, fetched_at: datetime) -> ListingPage:
        """Parse one page in a worker (the `PageParser` signature); raises ParseError."""
        result = self.parse_many([(fmt, body, url, fetched_at)])[0]
        if isinstance(result, ParseError):
            raise result
        assert isinstance(result, ListingPage)
        return result

    __call__ = parse

    def prepared(self, items: Iterable[Item], *, stage: bool = False) -> PageParser:
        """Parse `items` on every worker now; return a PageParser that serves those results.

        A call the batch did not cover (another body, url, format or time) is parsed then.
        With `stage`, the workers also stage each page and the results are StagedPages.
        """
        items = list(items)
        results = self.parse_many(items, stage=stage)
        done = {_key(*item): result for item, result in zip(items, results, strict=True)}

        def parse(fmt: str, body: Body, url: str, fetched_at: datetime) -> Any:
            result = done.get(_key(fmt, body, url, fetched_at))
            if result is None:
                result = self.parse_many([(fmt, body, url, fetched_at)], stage=stage)[0]
            if isinstance(result, ParseError):
                raise result
            return result

        return parse

    def parse_many(self, items: Iterable[Item], *, stage: bool = False) -> list[Result]:
        """Parse every item, both cores at once; one ListingPage or ParseError per item
        (with `stage`, a flows.staging.StagedPage instead of the ListingPage)."""
        items = list(items)
        results: list[Result | None] = [None] * len(items)
        todo: deque[int] = deque()
        for index, item in enumerate(items):
            refused = self._refuse(*item)
            if refused is None:
                todo.append(index)
            else:
                results[index] = refused
        timings = [0.0] * len(items)
        if todo:
            with self._lock:
                self._staging = stage
                self._fill()
                self._run_batch(items, todo, results, timings)
        self.timings = timings
        assert all(r is not None for r in results)
        return results

    def _refuse(self, fmt: str, body: Body, url: str, fetched_at: datetime) -> ParseError | None:
        if fmt not in self._table.parse:
            return ParseError(
                f"unknown format {fmt!r}", source="import", url=url, kind="unknown_format"
            )
        if (
            isinstance(body, bytes)
            and self.max_page_bytes is not None
            and len(body) > self.max_page_bytes
        ):
            return _too_large(len(body), self.max_page_bytes, self._table.source[fmt], url)
        return None

    def _run_batch(
        self,
        items: list[Item],
        todo: deque[int],
        results: list[Result | None],
        timings: list[float],
    ) -> None:
        busy: dict[int, _Job] = {}  # pool slot -> the page it is parsing
        idle = [slot for slot, w in enumerate(self._pool) if w.ready]
        starting = {slot for slot, w in enumerate(self._pool) if not w.ready}
        resent: set[int] = set()
        while todo or busy:
            while todo and idle:
                slot, index = idle.pop(), todo.popleft()
                job = self._dispatch(slot, index, items[index])
                if job is not None:
                    busy[slot] = job
                    continue
                # The worker died while idle: not the page's fault, so it gets one more go.
                if index in resent:
                    results[index] = self._crash(items[index], "parser processes keep dying")
                else:
                    resent.add(index)
                    todo.appendleft(index)
                starting.add(slot)
            now = time.monotonic()
            ends = [job.deadline for job in busy.values()]
            ends += [self._pool[s].started + self.start_timeout_s for s in starting]
            waitables = [self._pool[s].conn for s in (*busy, *starting)]
            ready = set(wait(waitables, max(0.0, min(ends) - now)))
            now = time.monotonic()
            for slot in list(starting):
                worker = self._pool[slot]
                if worker.conn in ready:
                    self._take_ready(slot)
                elif now >= worker.started + self.start_timeout_s:
                    self._start_failed(slot, f"not ready after {self.start_timeout_s:g} s")
                else:
                    continue
                starting.discard(slot)
                idle.append(slot)
            for slot, job in list(busy.items()):
                item = items[job.index]
                if self._pool[slot].conn in ready:
                    results[job.index] = self._collect(slot, job, item)
                elif now >= job.deadline:
                    results[job.index] = self._timeout(item)
                    self._replace(slot)
                else:
                    continue
                timings[job.index] = now - job.started
                del busy[slot]
                if self._pool[slot].ready:
                    idle.append(slot)
                else:
                    starting.add(slot)

    def _dispatch(self, slot: int, index: int, item: Item) -> _Job | None:
        self._seq += 1
        fmt, body, url, fetched_at = item
        message = (self._seq, fmt, body, url, fetched_at, self._staging, self.max_page_bytes)
        data = pickle.dumps(message, protocol=5)
        try:
            self._pool[slot].conn.send_bytes(data)
        except OSError:
            self._replace(slot)
            return None
        now = time.monotonic()
        return _Job(index, self._seq, now, now + self.timeout_s)

    def _collect(self, slot: int, job: _Job, item: Item) -> Result:
        try:
            data = self._pool[slot].conn.recv_bytes()
        except (EOFError, OSError):
            return self._died(item, slot)
        try:
            seq, status, payload = _loads_reply(data)
        except Exception as exc:
            self._replace(slot)
            return self._crash(item, f"worker sent an unreadable reply: {exc}")
        if seq != job.seq:
            self._replace(slot)
            return self._crash(item, "worker replied out of turn")
        if status == _OK and isinstance(payload, self._expected()):
            return payload
        if status == _ERROR and isinstance(payload, ParseError):
            return payload
        if status == _CRASH_EXIT:
            self._replace(slot)
        return self._crash(item, str(payload))

    def _expected(self) -> type:
        if not self._staging:
            return ListingPage
        from flows.staging import StagedPage

        return StagedPage

    def _died(self, item: Item, slot: int) -> ParseError:
        proc = self._pool[slot].proc
        try:
            code = proc.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        self._replace(slot)
        return self._crash(item, f"parser process died ({_describe_exit(code)}) on this page")

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


def _key(fmt: str, body: Body, url: str, fetched_at: datetime) -> tuple[str, str, str, str]:
    # A stored body is named by its hash already: no need to hash 400 KB again.
    digest = body.sha256 if isinstance(body, StoredBody) else hashlib.sha256(body).hexdigest()
    return fmt, url, fetched_at.isoformat(), digest


__all__ = [
    "DEFAULT_FORMATS",
    "Body",
    "Item",
    "PageParser",
    "ParseSandbox",
    "Result",
    "StoredBody",
    "load_formats",
]
