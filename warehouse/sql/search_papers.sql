-- Full-text search over titles and abstracts, best match first (BM25).
SELECT paper_id, arxiv_id, title, round(score, 3) AS score, published_date, upvotes
FROM (
    SELECT p.*, fts_main_papers.match_bm25(p.paper_id, $query) AS score
    FROM papers p
)
WHERE score IS NOT NULL
ORDER BY score DESC, paper_id
LIMIT $limit;
