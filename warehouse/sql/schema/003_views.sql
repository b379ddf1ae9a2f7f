-- Stable views for common questions (docs/warehouse.md, "Views"). Views only read the
-- documented tables, so a later migration can change a table and keep the view's columns.

CREATE OR REPLACE VIEW paper_sightings AS
SELECT p.paper_id, p.arxiv_id, p.title, s.source, s.page_url, s.page_kind, s.position,
       s.seen_at, s.listed_date, s.upvotes, s.title AS title_as_seen, s.run_id
FROM papers p JOIN sightings s USING (paper_id);

CREATE OR REPLACE VIEW trending_papers AS
SELECT paper_id, arxiv_id, title, upvotes, organizations, code_url, first_seen_at, last_seen_at
FROM papers
WHERE upvotes IS NOT NULL
ORDER BY upvotes DESC, last_seen_at DESC, paper_id;

CREATE OR REPLACE VIEW page_failures AS
SELECT pg.fetched_at, pg.source, pg.url, pg.outcome, pg.error, pg.run_id
FROM pages pg
WHERE pg.outcome IN ('failed', 'suspect')
ORDER BY pg.fetched_at DESC;

CREATE OR REPLACE VIEW run_history AS
SELECT run_id, flow, source, status, started_at, finished_at,
       date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
       pages_total, pages_parsed, pages_unchanged, pages_failed,
       sightings_added, papers_added, papers_updated, requests, retries, not_modified, error
FROM runs
ORDER BY started_at DESC;

CREATE OR REPLACE MACRO papers_first_seen(since, until) AS TABLE
    SELECT * FROM papers
    WHERE first_seen_at >= CAST(since AS TIMESTAMPTZ) AND first_seen_at < CAST(until AS TIMESTAMPTZ)
    ORDER BY first_seen_at, paper_id;
