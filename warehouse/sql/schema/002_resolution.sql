-- Warehouse v2: entity resolution (docs/resolution.md, docs/warehouse.md).

-- Blocking keys for the similar_title rule: (author surname × title start or end) hashes.
CREATE TABLE IF NOT EXISTS title_blocks (
    sighting_id      VARCHAR NOT NULL,
    block            UBIGINT NOT NULL
);

-- A user's durable corrections: two sightings are (not) the same paper, whatever the rules say.
CREATE TABLE IF NOT EXISTS resolution_marks (
    sighting_a       VARCHAR NOT NULL,       -- the smaller sighting id of the pair
    sighting_b       VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,       -- not_same | same
    reason           VARCHAR,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sighting_a, sighting_b, kind)
);
