-- Warehouse v4: one row every write transaction updates (docs/warehouse.md, "DuckLake").
-- On a DuckLake, where writers on several machines commit optimistically, two writes that
-- both update this row always conflict, so loads serialise and each resolves against the
-- other's papers. On a DuckDB file (one writer at a time) it is a harmless load counter.

CREATE TABLE IF NOT EXISTS warehouse_state (
    id               INTEGER PRIMARY KEY,    -- always 1
    writes           BIGINT NOT NULL,
    last_run_id      VARCHAR,
    updated_at       TIMESTAMPTZ
);

INSERT INTO warehouse_state (id, writes)
SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM warehouse_state);
