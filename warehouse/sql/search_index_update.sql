-- Re-index the papers in the registered `search_ids` (warehouse/search.py), inside the load's
-- transaction: drop their rows, then index their current `papers` row under a new doc_id; an
-- id no longer in `papers` keeps no row. Tokens as DuckDB fts makes them with its defaults:
-- search_tokenize, no empty words, no stop words, Porter stems. Stemming is the costly step,
-- so each distinct word of the batch is stemmed once and joined back.
DELETE FROM search_postings
WHERE doc_id IN (SELECT doc_id FROM search_docs
                 WHERE paper_id IN (SELECT paper_id FROM search_ids));

DELETE FROM search_docs WHERE paper_id IN (SELECT paper_id FROM search_ids);

-- One pass over `papers` (its abstracts are most of its bytes); doc ids continue from the
-- highest in use, so they never meet a posting that is still there.
CREATE OR REPLACE TEMP TABLE search_batch_docs AS
SELECT paper_id, title, abstract,
       ((SELECT coalesce(max(doc_id), 0) FROM search_docs)
        + row_number() OVER (ORDER BY paper_id))::INTEGER AS doc_id
FROM papers
WHERE paper_id IN (SELECT paper_id FROM search_ids);

-- The batch's term occurrences, one row each, straight into `search_postings`: counting is
-- left to the queries, which count only their own terms (grouping here cost a third of the
-- indexing). Inserting from the tokenizing query runs on every thread; going through a temp
-- table first made the copy into `search_postings` a single-threaded quarter of the indexing.
INSERT INTO search_postings (doc_id, term, in_title)
WITH words AS (
    SELECT doc_id, 1 AS in_title, unnest(search_tokenize(title)) AS word FROM search_batch_docs
    UNION ALL
    SELECT doc_id, 0, unnest(search_tokenize(abstract)) FROM search_batch_docs
),
kept AS (
    SELECT doc_id, in_title, word FROM words
    WHERE len(word) > 0 AND word NOT IN (SELECT word FROM search_stopwords)
),
stems AS (
    SELECT word, stem(word, 'porter') AS term FROM (SELECT DISTINCT word FROM kept)
)
SELECT k.doc_id, s.term, k.in_title = 1 AS in_title
FROM kept k JOIN stems s USING (word);

-- Every paper gets a length row, 0 when it has no terms: BM25's document count and average
-- length are over all papers, as in fts. The batch's doc ids are one fresh range above every
-- id in use, so its postings are exactly those in that range (zone maps skip the rest).
INSERT INTO search_docs (paper_id, len, doc_id)
SELECT b.paper_id, coalesce(n, 0)::INTEGER, b.doc_id
FROM search_batch_docs b
LEFT JOIN (SELECT doc_id, count(*) AS n FROM search_postings
           WHERE doc_id BETWEEN (SELECT min(doc_id) FROM search_batch_docs)
                            AND (SELECT max(doc_id) FROM search_batch_docs)
           GROUP BY doc_id) USING (doc_id);

DROP TABLE search_batch_docs;
