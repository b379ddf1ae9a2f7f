"""The pipeline's steps as plain functions; `flows/tasks.py` wraps them for Prefect.

Steps hand each other references — page refs whose bodies sit in the blob store, staging
file paths — never the records themselves (Prefect hashes task inputs; DEVELOPERS.md).
A failure of one page (fetch or parse) becomes that page's `failed` row; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa

from flows.fetch import FetchPolicy, FetchResult, FetchSession, fetch_all_sync
from flows.sandbox import Body, ParseSandbox, StoredBody
from flows.settings import Settings
from flows.staging import StagedPage, stage_page, staged_rows
from parsers import FORMATS, SOURCES, detect_format
from parsers.errors import ParseError
from parsers.records import ListingPage
from warehouse.blobs import put_blob
from warehouse.lake import Target
from warehouse.load import FetchStats, PageRecord, PageState
from warehouse.stage import concat_staged, with_run_id, write_stage


@dataclass(frozen=True, slots=True)
class PageRef:
    """A fetched or imported page; its body (if any) is in the blob store under `sha256`."""

    url: str
    source: str
    format: str
    fetched_at: datetime
    sha256: str | None = None
    bytes: int | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    origin_run_id: str | None = None  # reparse: sightings keep the run that fetched the page


def fetch_policy(settings: Settings, source: str, base_url: str) -> FetchPolicy:
    """The fetch limits for one source: its spec's defaults, overridden by settings."""
    from flows.fetch import is_private_host

    spec = SOURCES[source]
    base_host = _host_of(base_url)
    return FetchPolicy(
        user_agent=settings.full_user_agent(),
        max_rate=spec.max_rate if settings.max_rate is None else settings.max_rate,
        concurrency=spec.concurrency if settings.concurrency is None else settings.concurrency,
        max_bytes=settings.max_page_bytes,
        retries=settings.retries,
        allowed_hosts=spec.allowed_hosts | ({base_host} if base_host else set()),
        allow_private=is_private_host(base_url),
    )


def _host_of(base_url: str) -> str:
    """The host a base URL names, for the allowed hosts: urlsplit, not string cuts, so
    `http://[::1]:8000` and `http://user@host` name `::1` and `host`; a base URL without a
    scheme (`localhost:8000`) names `localhost`; a malformed one names none (its pages then
    fail alone as invalid URLs)."""
    try:
        parts = urlsplit(base_url if "://" in base_url else "//" + base_url)
        return (parts.hostname or "").lower()
    except ValueError:
        return ""


class CrawlGroups:
    """The fetch/parse groups of a wave, sized as the crawl goes (one Prefect task pair each).

    When most of the wave's pages are new to the warehouse (all will be parsed), groups ramp
    1/8, 1/4, 1/2 of `size`, then `size`: the parse workers idle until the first group is
    fetched, and a small first group started them ~1 s sooner on a 2,000-page first crawl.
    When most have stored validators (likely 304s, nothing to parse) groups start at `size`,
    and after a group that came back entirely as 304s the next is twice as big, up to
    `MAX_GROWTH` × `size`: each group's task pair costs ~0.05-0.1 s however few pages it
    parses, so an unchanged 2,000-page re-run paid for 20 task runs where 8 do. A group with
    anything to parse sets the size back, so parsing keeps overlapping fetching.
    """

    MAX_GROWTH = 8

    def __init__(self, urls: list[str], state: dict[str, PageState], size: int) -> None:
        self._urls, self._size, self._start = urls, size, 0
        self._ramp = 2 * sum(url not in state for url in urls) > len(urls)
        self._step = max(size // 8, 1) if self._ramp else size

    def __iter__(self) -> CrawlGroups:
        return self

    def __next__(self) -> list[str]:
        if self._start >= len(self._urls):
            raise StopIteration
        group = self._urls[self._start : self._start + self._step]
        self._start += len(group)
        if self._ramp:
            self._step = min(self._step * 2, self._size)
        return group

    def fetched(self, pages: int, stats: FetchStats) -> None:
        """What fetching the last group gave: `pages` pages, `stats.not_modified` of them 304s."""
        if self._ramp:
            return
        if stats.not_modified >= pages:
            self._step = min(self._step * 2, self._size * self.MAX_GROWTH)
        else:
            self._step = self._size


def fetch_pages(
    urls: Sequence[str],
    *,
    source: str,
    fmt: str,
    policy: FetchPolicy,
    state: dict[str, PageState],
    raw_dir: Path,
    session: FetchSession | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
) -> tuple[list[PageRef], FetchStats]:
    """Fetch `urls` (conditionally, using stored validators) and keep every body."""
    validators = {u: (s.etag, s.last_modified) for u, s in state.items()}
    stored: dict[int, str] = {}

    def keep(result: FetchResult) -> None:
        # Each body is stored as soon as it arrives, while other requests are in flight
        # (hashing and compressing release the GIL), not all at the end of the batch.
        if result.body is not None:
            stored[id(result)] = put_blob(raw_dir, result.body)
        if on_result is not None:
            on_result(result)

    results = fetch_all_sync(
        list(urls), policy, validators=validators, session=session, on_result=keep
    )
    refs = [_ref_of(r, stored.get(id(r)), source, fmt) for r in results]
    return refs, _stats_of(results)


def _ref_of(result: FetchResult, sha: str | None, source: str, fmt: str) -> PageRef:
    return PageRef(
        url=result.url,
        source=source,
        format=fmt,
        fetched_at=datetime.now(UTC),
        sha256=sha,
        bytes=len(result.body) if result.body is not None else None,
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        not_modified=result.not_modified,
        error=result.error,
    )


def _stats_of(results: Sequence[FetchResult]) -> FetchStats:
    return FetchStats(
        requests=sum(r.attempts for r in results),
        retries=sum(max(r.attempts - 1, 0) for r in results),
        bytes_fetched=sum(len(r.body) for r in results if r.body is not None),
        not_modified=sum(r.not_modified for r in results),
        wait_seconds=round(sum(r.waited_s for r in results), 3),
    )


def read_files(
    paths: Sequence[Path], *, fmt: str | None, as_of: date | None, raw_dir: Path
) -> list[PageRef]:
    """Read saved pages into the blob store; detect each one's format unless `fmt` is given."""
    refs = []
    for path in paths:
        absolute = path.resolve()
        url = absolute.as_uri()
        taken = as_of or datetime.fromtimestamp(absolute.stat().st_mtime, UTC).date()
        fetched_at = datetime.combine(taken, time(12, 0), UTC)
        try:
            body = absolute.read_bytes()
        except OSError as exc:
            refs.append(
                PageRef(
                    url,
                    "import",
                    fmt or "unknown",
                    fetched_at,
                    error=f"cannot read: {exc.strerror}",
                )
            )
            continue
        found = fmt or detect_format(body)
        source = FORMATS[found].source if found in FORMATS else "import"
        error = None if found else "unknown format: not a page paperflow can read (use --format)"
        refs.append(
            PageRef(
                url,
                source,
                found or "unknown",
                fetched_at,
                put_blob(raw_dir, body),
                len(body),
                error=error,
            )
        )
    return refs


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """What parsing a group of pages produced: their `pages` rows, the staged entries file
    (None when nothing new was found) and the follow-up pages they link to."""

    records: list[PageRecord]
    stage_path: Path | None
    next_urls: list[str]


def parse_pages(
    refs: Sequence[PageRef],
    *,
    run_id: str,
    state: dict[str, PageState],
    raw_dir: Path,
    stage_path: Path,
    sandbox: ParseSandbox | None = None,
) -> ParsedBatch:
    """Parse and stage every changed page, write its rows to `stage_path`; one PageRecord
    per ref.

    With a sandbox, the changed pages are parsed and staged on its worker processes (both
    cores, each page under a time and memory limit); without one, in this process (tests,
    tools).
    """
    # The sandbox's workers read each body from the blob store themselves.
    stage = _batch_stager(refs, state, raw_dir, sandbox) if sandbox else stage_in_process
    parse = sandbox.parse if sandbox else parse_in_process  # unchanged pages: links only
    records: list[PageRecord] = []
    tables: list[pa.Table] = []
    links: list[str] = []
    for ref in refs:
        known = state.get(ref.url)
        record, table, next_urls = _parse_one(ref, run_id, known, raw_dir, stage, parse)
        records.append(record)
        if table is not None and table.num_rows:
            tables.append(table)
        links.extend(next_urls)
    path = write_stage(concat_staged(tables), stage_path) if tables else None
    return ParsedBatch(records, path, list(dict.fromkeys(links)))


PageStager = Callable[[str, Body, str, datetime], StagedPage]
PageParser = Callable[[str, Body, str, datetime], ListingPage]


def parse_in_process(fmt: str, body: Body, url: str, fetched_at: datetime) -> ListingPage:
    data = body.read() if isinstance(body, StoredBody) else body
    return FORMATS[fmt].parse(data, url=url, fetched_at=fetched_at)


def stage_in_process(fmt: str, body: Body, url: str, fetched_at: datetime) -> StagedPage:
    page = parse_in_process(fmt, body, url, fetched_at)
    return stage_page(page, fmt, url, fetched_at)


def _batch_stager(
    refs: Sequence[PageRef], state: dict[str, PageState], raw_dir: Path, sandbox: ParseSandbox
) -> PageStager:
    """Hand the sandbox every page of the batch that will be parsed, all at once."""
    items = []
    for ref in refs:
        known = state.get(ref.url)
        fresh = not (ref.error or ref.not_modified or ref.sha256 is None)
        if fresh and ref.format in FORMATS and not (known and known.parsed_sha256 == ref.sha256):
            assert ref.sha256 is not None
            items.append((ref.format, _stored(raw_dir, ref.sha256), ref.url, ref.fetched_at))
    return sandbox.prepared(items, stage=True)


def _stored(raw_dir: Path, sha256: str) -> StoredBody:
    return StoredBody(str(raw_dir), sha256)


def _parse_one(
    ref: PageRef,
    run_id: str,
    known: PageState | None,
    raw_dir: Path,
    stage: PageStager,
    parse: PageParser,
) -> tuple[PageRecord, pa.Table | None, tuple[str, ...]]:
    base = _record(ref)
    if ref.error:
        return _with(base, outcome="failed", error=ref.error), None, ()
    if ref.not_modified and not (known and known.parsed_sha256):
        # Validators are sent only for a page whose copy was loaded (get_page_state.sql),
        # so this 304 answers nothing we asked: the page's entries are not in the warehouse.
        error = "304 Not Modified, but no copy of this page was loaded (next run: fetched whole)"
        return _with(base, outcome="failed", error=error), None, ()
    if ref.not_modified or (known and ref.sha256 and known.parsed_sha256 == ref.sha256):
        outcome = "not_modified" if ref.not_modified else "unchanged"
        sha = known.parsed_sha256 if known and ref.not_modified else ref.sha256
        # Unchanged pages still lead on to their next pages (a later page may have failed).
        return (
            _with(base, outcome=outcome, content_sha256=sha),
            None,
            _links(ref, sha, raw_dir, parse),
        )
    assert ref.sha256 is not None  # a ref without error or 304 always has a body
    if ref.format not in FORMATS:
        return _with(base, outcome="failed", error=f"unknown format {ref.format!r}"), None, ()
    try:
        page = stage(ref.format, _stored(raw_dir, ref.sha256), ref.url, ref.fetched_at)
    except ParseError as exc:
        return _with(base, outcome="failed", error=f"{exc.kind}: {exc.reason}"), None, ()
    if page.suspect:
        return _with(base, outcome="suspect", kind=page.kind, error=page.suspect), None, ()
    table = with_run_id(staged_rows(page), ref.origin_run_id or run_id)
    outcome = "parsed" if page.entries else "empty"
    return _with(base, outcome=outcome, kind=page.kind, records=page.entries), table, page.next_urls


def _links(ref: PageRef, sha: str | None, raw_dir: Path, parse: PageParser) -> tuple[str, ...]:
    """An unchanged page's next pages: parsed again, but not staged (its rows are loaded)."""
    if not sha or not FORMATS[ref.format].paginates:
        return ()  # nothing to follow: don't parse an unchanged page again
    try:
        return parse(ref.format, _stored(raw_dir, sha), ref.url, ref.fetched_at).next_urls
    except (ParseError, FileNotFoundError):
        return ()


def _record(ref: PageRef) -> PageRecord:
    return PageRecord(
        url=ref.url,
        source=ref.source,
        fetched_at=ref.fetched_at,
        outcome="parsed",
        format=ref.format,
        http_status=ref.http_status,
        etag=ref.etag,
        last_modified=ref.last_modified,
        content_sha256=ref.sha256,
        bytes=ref.bytes,
    )


def _with(record: PageRecord, **changes: object) -> PageRecord:
    from dataclasses import replace

    return replace(record, **changes)  # type: ignore[arg-type]


def reparse_refs(
    db_path: Target, *, source: str | None, since: date | None, lock_timeout_s: float
) -> list[PageRef]:
    """Every distinct stored body worth parsing again, as refs that keep their first fetch
    time and run (so rebuilt sightings are identical to the original ones)."""
    from warehouse.load import stored_pages

    rows = stored_pages(db_path, source=source, since=since, lock_timeout_s=lock_timeout_s)
    return [
        PageRef(
            url=r.url,
            source=r.source,
            format=r.format,
            fetched_at=r.fetched_at,
            sha256=r.content_sha256,
            origin_run_id=r.run_id,
        )
        for r in rows
    ]
