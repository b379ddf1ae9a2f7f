-- Warehouse v1: the public contract documented in docs/warehouse.md.
-- Applied once, in one transaction, by warehouse/db.py; recorded in schema_migrations.

CREATE TABLE IF NOT EXISTS runs (
    run_id          VARCHAR PRIMARY KEY,
    flow            VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    params          JSON,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,        -- running | succeeded | partial | failed | abandoned
    pages_total     INTEGER NOT NULL DEFAULT 0,
    pages_parsed    INTEGER NOT NULL DEFAULT 0,
    pages_unchanged INTEGER NOT NULL DEFAULT 0,
    pages_failed    INTEGER NOT NULL DEFAULT 0,
    sightings_added INTEGER NOT NULL DEFAULT 0,
    papers_added    INTEGER NOT NULL DEFAULT 0,
    papers_updated  INTEGER NOT NULL DEFAULT 0,
    requests        INTEGER NOT NULL DEFAULT 0,
    retries         INTEGER NOT NULL DEFAULT 0,
    bytes_fetched   BIGINT NOT NULL DEFAULT 0,
    not_modified    INTEGER NOT NULL DEFAULT 0,
    wait_seconds    DOUBLE NOT NULL DEFAULT 0,
    error           VARCHAR
);

CREATE TABLE IF NOT EXISTS pages (
    page_id         VARCHAR PRIMARY KEY,     -- sha256(run_id, url)
    run_id          VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    format          VARCHAR,
    kind            VARCHAR,
    fetched_at      TIMESTAMPTZ NOT NULL,
    http_status     INTEGER,
    etag            VARCHAR,
    last_modified   VARCHAR,
    content_sha256  VARCHAR,
    bytes           BIGINT,
    outcome         VARCHAR NOT NULL,        -- parsed | unchanged | not_modified | empty | failed | suspect
    records         INTEGER NOT NULL DEFAULT 0,
    error           VARCHAR
);

CREATE TABLE IF NOT EXISTS sightings (
    sighting_id      VARCHAR PRIMARY KEY,    -- sha256(source, page_url, entry key, entry_hash)
    paper_id         VARCHAR NOT NULL,
    run_id           VARCHAR NOT NULL,
    source           VARCHAR NOT NULL,
    page_url         VARCHAR NOT NULL,
    page_kind        VARCHAR,
    position         INTEGER NOT NULL,
    seen_at          TIMESTAMPTZ NOT NULL,
    arxiv_id         VARCHAR,
    arxiv_version    INTEGER,
    doi              VARCHAR,
    title            VARCHAR,                -- raw, as seen (TeX kept)
    title_rendered   VARCHAR,                -- TeX rendered to Unicode
    title_key        VARCHAR,                -- normalised title used for matching
    authors          VARCHAR[] NOT NULL,
    authors_complete BOOLEAN NOT NULL,
    abstract         VARCHAR,
    published_date   DATE,
    listed_date      DATE,
    primary_category VARCHAR,
    categories       VARCHAR[] NOT NULL,
    organizations    VARCHAR[] NOT NULL,
    code_url         VARCHAR,
    has_code         BOOLEAN,
    upvotes          INTEGER,
    ai_keywords      VARCHAR[] NOT NULL,
    section          VARCHAR,
    comments         VARCHAR,
    journal_ref      VARCHAR,
    entry_hash       VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS papers (
    paper_id         VARCHAR PRIMARY KEY,
    arxiv_id         VARCHAR,
    doi              VARCHAR,
    title            VARCHAR,
    title_key        VARCHAR,
    abstract         VARCHAR,
    authors          VARCHAR[] NOT NULL,
    authors_complete BOOLEAN NOT NULL,
    published_date   DATE,
    primary_category VARCHAR,
    categories       VARCHAR[] NOT NULL,
    organizations    VARCHAR[] NOT NULL,
    code_url         VARCHAR,
    upvotes          INTEGER,
    ai_keywords      VARCHAR[] NOT NULL,
    sources          VARCHAR[] NOT NULL,
    n_sightings      INTEGER NOT NULL,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS merge_decisions (
    sighting_id      VARCHAR PRIMARY KEY,
    paper_id         VARCHAR NOT NULL,
    rule             VARCHAR NOT NULL,       -- new | arxiv_id | doi | title | abstract
    score            DOUBLE NOT NULL,
    matched          VARCHAR,                -- the sighting or paper the evidence pointed at
    run_id           VARCHAR NOT NULL,
    decided_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS paper_aliases (
    alias_id         VARCHAR PRIMARY KEY,    -- a paper_id that was merged away
    paper_id         VARCHAR NOT NULL,       -- the surviving paper_id
    reason           VARCHAR NOT NULL,
    run_id           VARCHAR,
    created_at       TIMESTAMPTZ NOT NULL
);

-- Bottom-k MinHash sketch of each abstract seen, for finding near-identical abstracts
-- (another arXiv version of the same text) without comparing every pair.
CREATE TABLE IF NOT EXISTS abstract_sketches (
    sighting_id      VARCHAR NOT NULL,
    paper_id         VARCHAR NOT NULL,
    h                UBIGINT NOT NULL
);
