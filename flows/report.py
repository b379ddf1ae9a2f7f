"""Human-readable run summaries: the Prefect markdown artifact and the CLI's closing lines."""

from __future__ import annotations

from warehouse.load import FetchStats, LoadResult


def summary_lines(result: LoadResult) -> list[str]:
    """A few plain lines saying what a run did, failures named with their reasons."""
    lines = [
        f"run {result.run_id}: {result.status}",
        f"  pages: {result.pages_total} total, {result.pages_parsed} parsed, "
        f"{result.pages_unchanged} unchanged, {result.pages_failed} failed",
        f"  sightings added: {result.sightings_added}; papers added: {result.papers_added}, "
        f"updated: {result.papers_updated}",
    ]
    for url, reason in result.failures[:20]:
        lines.append(f"  FAILED {url}: {reason}")
    if len(result.failures) > 20:
        lines.append(f"  … and {len(result.failures) - 20} more failed pages (paperflow status)")
    return lines


def summary_markdown(result: LoadResult, source: str, stats: FetchStats | None = None) -> str:
    """The Prefect artifact for a run: what loaded, what the fetching cost, what failed."""
    rows = [
        ("status", result.status),
        ("pages", result.pages_total),
        ("parsed", result.pages_parsed),
        ("unchanged", result.pages_unchanged),
        ("failed", result.pages_failed),
        ("sightings added", result.sightings_added),
        ("papers added", result.papers_added),
        ("papers updated", result.papers_updated),
    ]
    if stats is not None:
        rows += [
            ("requests", stats.requests),
            ("retries", stats.retries),
            ("bytes fetched", stats.bytes_fetched),
            ("304 not modified", stats.not_modified),
            ("seconds waiting on politeness", stats.wait_seconds),
        ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    failures = "\n".join(f"- `{url}`: {reason}" for url, reason in result.failures[:50])
    return (
        f"# paperflow {source} — run `{result.run_id}`\n\n| | |\n|---|---|\n{table}\n\n{failures}\n"
    )
