"""The full-text search index over paper titles and abstracts (BM25), maintained incrementally.

Migration 005 made the tables and indexed the papers then present; 006 moved the term
occurrences under a per-paper integer (`search_postings.doc_id`), which halved the cost of
writing them. From then on every write that changes `papers` re-indexes exactly the
papers it touched (and those merged away), inside its own transaction, so the index always
matches the committed `papers` and costs what the load changed rather than the warehouse's
size. Tokens and ranking are DuckDB fts's defaults (docs/warehouse.md, "full-text index");
the query side is search_papers.sql.
"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa

from warehouse.db import Connection, load_sql


def update_search_index(con: Connection, paper_ids: Collection[str]) -> None:
    """Bring the index rows of `paper_ids` in line with `papers` (inside the caller's
    transaction); ids no longer in `papers` lose their rows."""
    if paper_ids:
        _reindex(con, pa.table({"paper_id": pa.array(sorted(paper_ids), type=pa.string())}))


def rebuild_search_index(con: Connection) -> None:
    """Rebuild the whole index from `papers` (after `papers` itself was rebuilt)."""
    con.execute(load_sql("search_index_clear.sql"))
    _reindex(con, con.execute(load_sql("search_index_all_ids.sql")).fetch_arrow_table())


# Papers re-indexed per statement: a slice's term occurrences (~100 per paper) are the
# working set, so memory stays flat however many papers a load touches (80k papers at once
# took 2.5 GB), and the slices cost no more than one big statement.
SLICE_PAPERS = 10_000


def _reindex(con: Connection, ids: pa.Table) -> None:
    script = load_sql("search_index_update.sql")
    for start in range(0, ids.num_rows, SLICE_PAPERS):
        con.register("search_ids", ids.slice(start, SLICE_PAPERS))
        try:
            con.execute(script)
        finally:
            con.unregister("search_ids")
