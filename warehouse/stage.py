"""Normalise parsed entries into staged Arrow rows, and move them between tasks as files.

A staged row is a `sightings` row without its `paper_id` (resolution assigns that inside the
load transaction). Staging files are Arrow IPC, addressed by the run directory the flow owns,
so Prefect tasks hand each other a path, never 100k records (DEVELOPERS.md: cache keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from parsers.records import Entry, clean_text, content_hash, title_key
from parsers.tex import render_tex
from warehouse.keys import surname, title_blocks

STAGE_SCHEMA = pa.schema(
    [
        ("sighting_id", pa.string()),
        ("run_id", pa.string()),
        ("source", pa.string()),
        ("page_url", pa.string()),
        ("page_kind", pa.string()),
        ("position", pa.int32()),
        ("seen_at", pa.timestamp("us", tz="UTC")),
        ("arxiv_id", pa.string()),
        ("arxiv_version", pa.int32()),
        ("doi", pa.string()),
        ("title", pa.string()),
        ("title_rendered", pa.string()),
        ("title_key", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("authors_complete", pa.bool_()),
        ("abstract", pa.string()),
        ("published_date", pa.date32()),
        ("listed_date", pa.date32()),
        ("primary_category", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("organizations", pa.list_(pa.string())),
        ("code_url", pa.string()),
        ("has_code", pa.bool_()),
        ("upvotes", pa.int32()),
        ("ai_keywords", pa.list_(pa.string())),
        ("section", pa.string()),
        ("comments", pa.string()),
        ("journal_ref", pa.string()),
        ("entry_hash", pa.string()),
        # Resolution keys, computed here (in the parse workers) rather than by the load;
        # `KEY_COLUMNS` are dropped before the rows become `sightings`.
        ("surnames", pa.list_(pa.string())),
        ("title_blocks", pa.list_(pa.uint64())),
    ]
)
KEY_COLUMNS = ("surnames", "title_blocks")


@dataclass(frozen=True, slots=True)
class PageContext:
    """Where a batch of entries was seen."""

    run_id: str
    page_url: str
    page_kind: str
    seen_at: datetime


def entry_hash(entry: Entry) -> str:
    """Hash of everything an entry says about its paper (not where it sat on the page)."""
    values = [getattr(entry, name) for name in entry.__slots__ if name != "position"]
    return content_hash(*values)


def entry_key(entry: Entry) -> str:
    """What identifies an entry on its page: arXiv id, else title, else abstract."""
    if entry.arxiv_id:
        return "arxiv:" + entry.arxiv_id
    key = title_key(entry.title)
    if key:
        return "title:" + key
    return "abstract:" + content_hash(clean_text(entry.abstract, limit=1_000_000))


def sighting_id(entry: Entry, page_url: str, digest: str) -> str:
    """Same page, same entry, same values → same id, so re-loading adds nothing."""
    raw = "\x1f".join((entry.source, page_url, entry_key(entry), digest))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_ENTRY_COLUMNS = [name for name in STAGE_SCHEMA.names if name in Entry.__slots__]
# The columns a staged row adds to its entry's values, in `_derived`'s order.
_DERIVED = ("sighting_id", "title_rendered", "title_key", "entry_hash", "surnames", "title_blocks")


def _derived(entry: Entry, page_url: str) -> tuple[object, ...]:
    """The `_DERIVED` values of `entry` seen on `page_url`."""
    digest = entry_hash(entry)
    rendered = clean_text(render_tex(entry.title)) if entry.title else None
    key = title_key(entry.title)
    surnames = [surname(a) for a in entry.authors]
    return (
        sighting_id(entry, page_url, digest),
        rendered,
        key,
        digest,
        surnames,
        title_blocks(key, surnames),
    )


def stage_row(entry: Entry, ctx: PageContext) -> dict[str, object]:
    """One staged row for `entry` seen on `ctx`'s page."""
    return {
        "run_id": ctx.run_id,
        "page_url": ctx.page_url,
        "page_kind": ctx.page_kind,
        "seen_at": ctx.seen_at,
        **dict(zip(_DERIVED, _derived(entry, ctx.page_url), strict=True)),
        **{name: _arrow_value(getattr(entry, name)) for name in _ENTRY_COLUMNS},
    }


def _arrow_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def stage_entries(entries: Sequence[Entry], ctx: PageContext) -> pa.Table:
    """The staged rows of `entries` seen on `ctx`'s page, as a table: what `rows_table` makes
    of their `stage_row`s, built a column at a time (no dict per row; pyarrow takes the
    entries' tuples as lists), which is ~20% of staging's cost, and staging runs for every
    entry of every page."""
    n = len(entries)
    columns: dict[str, Sequence[object]] = {
        "run_id": [ctx.run_id] * n,
        "page_url": [ctx.page_url] * n,
        "page_kind": [ctx.page_kind] * n,
        "seen_at": [ctx.seen_at] * n,
    }
    derived = list(zip(*(_derived(e, ctx.page_url) for e in entries), strict=True))
    columns.update(zip(_DERIVED, derived or [()] * len(_DERIVED), strict=True))
    for name in _ENTRY_COLUMNS:
        columns[name] = [getattr(e, name) for e in entries]
    arrays = [pa.array(columns[f.name], type=f.type) for f in STAGE_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=STAGE_SCHEMA)


def stage_table(rows: Iterable[dict[str, object]]) -> pa.Table:
    """Build the staged Arrow table, dropping repeats of one sighting id (first wins)."""
    seen: set[object] = set()
    unique = []
    for row in rows:
        if row["sighting_id"] not in seen:
            seen.add(row["sighting_id"])
            unique.append(row)
    return rows_table(unique)


def rows_table(rows: Sequence[dict[str, object]]) -> pa.Table:
    """Staged rows (`stage_row` dicts) as a table, built column by column (~40% cheaper than
    `Table.from_pylist`). The row-dict path of tests and benches; runs stage with
    `stage_entries`, which is checked against this."""
    columns = [
        pa.array([row[field.name] for row in rows], type=field.type) for field in STAGE_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=STAGE_SCHEMA)


def concat_staged(tables: Sequence[pa.Table]) -> pa.Table:
    """One table of several pages' staged rows, dropping repeats of a sighting id (first
    wins: the same entry listed twice on a page, or the same page twice in a batch)."""
    if not tables:
        return STAGE_SCHEMA.empty_table()
    return first_sightings(pa.concat_tables(tables).combine_chunks())


def first_sightings(table: pa.Table) -> pa.Table:
    """`table` without repeats of a sighting id, first occurrences kept, in order."""
    if pc.count_distinct(table["sighting_id"]).as_py() == table.num_rows:
        return table
    table = table.combine_chunks()
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by("sighting_id", use_threads=False).aggregate([("_row", "min")])
    rows = first["_row_min"]
    return table.take(rows.take(pc.array_sort_indices(rows)))


def with_run_id(table: pa.Table, run_id: str) -> pa.Table:
    """`table` with every row's `run_id` set (workers stage rows without one)."""
    index = table.schema.get_field_index("run_id")
    return table.set_column(index, "run_id", pa.array([run_id] * table.num_rows, pa.string()))


def write_stage(table: pa.Table, path: Path) -> Path:
    """Write `table` as Arrow IPC to `path` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, STAGE_SCHEMA) as writer:
        writer.write_table(table)
    tmp.replace(path)
    return path


CHUNK_ROWS = 20_000


class StagedChunks:
    """The staged rows of `paths`, in order, as tables of at most `rows` rows each, read a
    chunk at a time when iterated (again from the start on every iteration).

    A chunk spans files where they are small (a crawl's first parse groups are: docs/
    orchestration.md): every chunk is one resolution pass over the warehouse, so 13 files of a
    2,000-page crawl loaded as 5 chunks instead of 13 took ~0.7 s less. Files are memory-mapped
    and let go once their chunks are done, so the staged rows of a large load are never all
    resident (holding every chunk kept ~120 MB of them mapped at 2,000 pages).

    Building it opens every file (schema and row count), so unreadable staging fails before
    the load takes the writer lock.
    """

    def __init__(self, paths: Sequence[Path], rows: int = CHUNK_ROWS) -> None:
        self.paths = list(paths)
        self.rows = rows
        self.total_rows: int = sum(_open_stage(path).num_rows for path in self.paths)

    def __len__(self) -> int:
        return -(-self.total_rows // self.rows)

    def __iter__(self) -> Iterator[pa.Table]:
        pending: list[pa.Table] = []
        have = 0
        for path in self.paths:
            table = _open_stage(path)
            start = 0
            while start < table.num_rows:
                take = min(self.rows - have, table.num_rows - start)
                pending.append(table.slice(start, take))
                have, start = have + take, start + take
                if have == self.rows:
                    yield _chunk(pending)
                    pending, have = [], 0
        if pending:
            yield _chunk(pending)


def _open_stage(path: Path) -> pa.Table:
    table = ipc.open_file(pa.memory_map(str(path))).read_all()
    if not table.schema.equals(STAGE_SCHEMA):
        raise ValueError(f"{path.name} is not a paperflow staging file of this version")
    return table


def _chunk(tables: list[pa.Table]) -> pa.Table:
    # A file holds each sighting once, but two files can share one (a reparse of two bodies
    # of a page that kept some entries): within a chunk the first wins, across chunks the
    # load skips what an earlier chunk wrote.
    return first_sightings(pa.concat_tables(tables))
