-- Re-index the papers in the registered `search_ids` (warehouse/search.py), inside the load's
-- transaction: drop their rows, then index their current `papers` row; an id no longer in
-- `papers` keeps no row. Tokens as DuckDB fts makes them with its defaults: search_tokenize,
-- no empty words, no stop words, Porter stems (migration 005 indexes existing papers the same
-- way). Stemming is the costly step, so each distinct word of the batch is stemmed once and
-- joined back. The batch's term occurrences go to a temp table: both search tables are filled
-- from it (reading the lengths back from `search_terms` instead was slower).
CREATE OR REPLACE TEMP TABLE search_batch AS
WITH batch AS MATERIALIZED (  -- one pass over `papers`, whose abstracts are most of its bytes
    SELECT paper_id, title, abstract FROM papers
    WHERE paper_id IN (SELECT paper_id FROM search_ids)
),
words AS (
    SELECT paper_id, 1 AS in_title, unnest(search_tokenize(title)) AS word FROM batch
    UNION ALL
    SELECT paper_id, 0, unnest(search_tokenize(abstract)) FROM batch
),
kept AS (
    SELECT paper_id, in_title, word FROM words
    WHERE len(word) > 0 AND word NOT IN (SELECT word FROM search_stopwords)
),
stems AS (
    SELECT word, stem(word, 'porter') AS term FROM (SELECT DISTINCT word FROM kept)
)
SELECT k.paper_id, s.term, k.in_title = 1 AS in_title
FROM kept k JOIN stems s USING (word);

DELETE FROM search_terms WHERE paper_id IN (SELECT paper_id FROM search_ids);

DELETE FROM search_docs WHERE paper_id IN (SELECT paper_id FROM search_ids);

-- One row per occurrence, as they come: counting is left to the queries, which count only
-- their own terms (grouping here cost a third of the indexing).
INSERT INTO search_terms (paper_id, term, in_title)
SELECT paper_id, term, in_title FROM search_batch;

-- Every paper gets a length row, 0 when it has no terms: BM25's document count and average
-- length are over all papers, as in fts.
INSERT INTO search_docs (paper_id, len)
SELECT paper_id, coalesce(n, 0)::INTEGER
FROM (SELECT paper_id FROM papers WHERE paper_id IN (SELECT paper_id FROM search_ids))
LEFT JOIN (SELECT paper_id, count(*) AS n FROM search_batch GROUP BY paper_id) USING (paper_id);

DROP TABLE search_batch;
