-- Full-text search over titles and abstracts, best match first: Okapi BM25 over the index
-- tables of migrations 005 and 006, computed exactly as DuckDB fts's match_bm25 does (k1 = 1.2,
-- b = 0.75, its idf, title and abstract scored together). Like fts, the query's words are
-- stemmed but not stop-word filtered: stop words are never indexed, so one matches only where
-- its stem is also some other word's, exactly as it did with fts.
WITH tokens AS (
    SELECT DISTINCT stem(unnest(search_tokenize($query)), 'porter') AS term
),
stats AS (
    SELECT count(*) AS num_docs, sum(len) / count(len) AS avgdl FROM search_docs
),
postings AS MATERIALIZED (  -- one scan of search_postings (one row per occurrence), used twice
    SELECT doc_id, term, count(*) AS tf
    FROM search_postings
    WHERE term IN (SELECT term FROM tokens)
    GROUP BY doc_id, term
),
df AS (
    SELECT term, count(*) AS df FROM postings GROUP BY term
),
scores AS (
    SELECT d.paper_id,
           sum(log((stats.num_docs - df.df + 0.5) / (df.df + 0.5) + 1)
               * (po.tf * (1.2 + 1) / (po.tf + 1.2 * (1 - 0.75 + 0.75 * (d.len / stats.avgdl)))))
               AS score
    FROM postings po JOIN df USING (term) JOIN search_docs d USING (doc_id) CROSS JOIN stats
    GROUP BY d.paper_id
)
SELECT p.paper_id, p.arxiv_id, p.title, round(s.score, 3) AS score, p.published_date, p.upvotes
FROM scores s JOIN papers p USING (paper_id)
ORDER BY s.score DESC, p.paper_id
LIMIT $limit;
