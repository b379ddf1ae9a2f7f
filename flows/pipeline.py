"""The pipeline's steps as plain functions; `flows/tasks.py` wraps them for Prefect.

Steps hand each other references — page refs whose bodies sit in the blob store, staging
file paths — never the records themselves (Prefect hashes task inputs; DEVELOPERS.md).
A failure of one page (fetch or parse) becomes that page's `failed` row; the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from flows.fetch import FetchPolicy, FetchResult, fetch_all_sync
from flows.settings import Settings
from parsers import FORMATS, SOURCES, detect_format
from parsers.errors import ParseError
from warehouse.blobs import get_blob, put_blob
from warehouse.load import FetchStats, PageRecord, PageState
from warehouse.stage import PageContext, stage_row, stage_table, write_stage


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


def fetch_policy(settings: Settings, source: str, base_url: str) -> FetchPolicy:
    """The fetch limits for one source: its spec's defaults, overridden by settings."""
    from flows.fetch import is_private_host

    spec = SOURCES[source]
    base_host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return FetchPolicy(
        user_agent=settings.full_user_agent(),
        max_rate=spec.max_rate if settings.max_rate is None else settings.max_rate,
        concurrency=spec.concurrency if settings.concurrency is None else settings.concurrency,
        max_bytes=settings.max_page_bytes,
        retries=settings.retries,
        allowed_hosts=spec.allowed_hosts | {base_host},
        allow_private=is_private_host(base_url),
    )


def fetch_pages(
    urls: Sequence[str],
    *,
    source: str,
    fmt: str,
    policy: FetchPolicy,
    state: dict[str, PageState],
    raw_dir: Path,
) -> tuple[list[PageRef], FetchStats]:
    """Fetch `urls` (conditionally, using stored validators) and keep every body."""
    validators = {u: (s.etag, s.last_modified) for u, s in state.items()}
    results = fetch_all_sync(list(urls), policy, validators=validators)
    refs = [_ref_of(r, source, fmt, raw_dir) for r in results]
    return refs, _stats_of(results)


def _ref_of(result: FetchResult, source: str, fmt: str, raw_dir: Path) -> PageRef:
    sha = put_blob(raw_dir, result.body) if result.body is not None else None
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


def parse_pages(
    refs: Sequence[PageRef],
    *,
    run_id: str,
    state: dict[str, PageState],
    raw_dir: Path,
    stage_path: Path,
) -> tuple[list[PageRecord], Path | None]:
    """Parse every changed page, stage its entries at `stage_path`; one PageRecord per ref."""
    records: list[PageRecord] = []
    rows: list[dict[str, object]] = []
    for ref in refs:
        record, page_rows = _parse_one(ref, run_id, state.get(ref.url), raw_dir)
        records.append(record)
        rows.extend(page_rows)
    if not rows:
        return records, None
    return records, write_stage(stage_table(rows), stage_path)


def _parse_one(
    ref: PageRef, run_id: str, known: PageState | None, raw_dir: Path
) -> tuple[PageRecord, list[dict[str, object]]]:
    base = _record(ref)
    if ref.error:
        return _with(base, outcome="failed", error=ref.error), []
    if ref.not_modified:
        return _with(
            base, outcome="not_modified", content_sha256=known.parsed_sha256 if known else None
        ), []
    if known and ref.sha256 and known.parsed_sha256 == ref.sha256:
        return _with(base, outcome="unchanged"), []
    assert ref.sha256 is not None  # a ref without error or 304 always has a body
    try:
        page = FORMATS[ref.format].parse(
            get_blob(raw_dir, ref.sha256), url=ref.url, fetched_at=ref.fetched_at
        )
    except ParseError as exc:
        return _with(base, outcome="failed", error=f"{exc.kind}: {exc.reason}"), []
    ctx = PageContext(run_id=run_id, page_url=ref.url, page_kind=page.kind, seen_at=ref.fetched_at)
    rows = [stage_row(entry, ctx) for entry in page.entries]
    outcome = "parsed" if rows else "empty"
    return _with(base, outcome=outcome, kind=page.kind, records=len(rows)), rows


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
