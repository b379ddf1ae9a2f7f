-- Search on a DuckLake: DuckLake cannot hold the full-text index (it stores no macros), so a
-- reader copies `papers` into a temporary table of its in-memory database, which
-- create_search_index.sql then indexes and search_papers.sql queries (the temp table shadows
-- the lake's `papers`).
USE memory;
CREATE TEMP TABLE papers AS SELECT * FROM lake.papers;
