-- Warehouse v6: the search index keyed by a small integer per paper, and a faster tokenizer
-- (docs/warehouse.md, "full-text index"). Same tokens, same scores; a load's indexing takes
-- about half the time it took.
--
-- Why: v5 kept every term occurrence with its paper's 19-character id, and writing those
-- strings (7.8M of them for 80k papers) was most of a load's indexing time and of its commit.
-- Now `search_docs` gives each indexed paper a `doc_id` and the occurrences live in
-- `search_postings` under it. `search_terms` stays, as a view with its v5 columns.

-- v5 replaced ignored characters with a space, then split on the regex '\s+', and that split
-- was most of tokenising. Here the first regex also turns tabs, newlines, carriage returns and
-- form feeds (with space, RE2's \s) into a space, a second one collapses runs of two or more
-- spaces into one, and a plain split on ' ' gives the same list, empty words included: each
-- maximal run of ignored and white-space characters is one separator either way. (Putting
-- \s itself in the first class was slower: every single space became a match.) About twice as
-- fast; tests/warehouse/test_search_index.py compares the two on every sample text.
CREATE OR REPLACE MACRO search_tokenize(s) AS
    string_split(
        regexp_replace(
            regexp_replace(lower(strip_accents(CAST(s AS VARCHAR))),
                           '[0-9!@#$%^&*()_+={}\[\]:;<>,.?~\\/\|''''"`\t\n\r\f-]+', ' ', 'g'),
            '  +', ' ', 'g'),
        ' ');

-- A paper's document number in the index, new each time the paper is re-indexed.
ALTER TABLE search_docs ADD COLUMN doc_id INTEGER;

UPDATE search_docs SET doc_id = numbered.doc_id
FROM (SELECT paper_id, row_number() OVER (ORDER BY paper_id)::INTEGER AS doc_id
      FROM search_docs) AS numbered
WHERE search_docs.paper_id = numbered.paper_id;

-- One row per occurrence of a stemmed term in a paper's title or abstract, as in v5.
CREATE TABLE IF NOT EXISTS search_postings (
    doc_id           INTEGER NOT NULL,       -- → search_docs.doc_id
    term             VARCHAR NOT NULL,       -- Porter stem of a word that is not a stop word
    in_title         BOOLEAN NOT NULL        -- true: in the title; false: in the abstract
);

INSERT INTO search_postings (doc_id, term, in_title)
SELECT d.doc_id, t.term, t.in_title
FROM search_terms t JOIN search_docs d USING (paper_id)
ORDER BY d.doc_id;

DROP TABLE search_terms;

-- v5's table, kept as a view for queries written against it.
CREATE VIEW search_terms AS
SELECT d.paper_id, p.term, p.in_title
FROM search_postings p JOIN search_docs d USING (doc_id);

-- fts_main_papers.match_bm25 as in v5, over search_postings, and fixed: a macro argument is
-- substituted as written, so v5's final `WHERE paper_id = input_id`, called as documented
-- with `paper_id`, compared the scores' own column with itself. In a SELECT list DuckDB
-- still answered right; in a WHERE clause (`WHERE match_bm25(paper_id, 'x') > 0`) every row
-- matched or the query failed with "more than one row returned by a subquery".
-- duckdb file only
CREATE OR REPLACE MACRO fts_main_papers.match_bm25(
    input_id, query_string, fields := NULL, k := 1.2, b := 0.75, conjunctive := false
) AS (
    WITH tokens AS (
        SELECT DISTINCT stem(unnest(search_tokenize(query_string)), 'porter') AS term
    ),
    stats AS (
        SELECT count(*) AS num_docs, sum(len) / count(len) AS avgdl FROM search_docs
    ),
    postings AS MATERIALIZED (  -- (doc, term) pairs; tf counts the asked-for fields only
        SELECT doc_id, term,
               count(*) FILTER (
                   WHERE CASE WHEN in_title
                              THEN fields IS NULL
                                   OR list_contains(string_split(fields, ','), 'title')
                              ELSE fields IS NULL
                                   OR list_contains(string_split(fields, ','), 'abstract')
                         END
               ) AS tf
        FROM search_postings
        WHERE term IN (SELECT term FROM tokens)
        GROUP BY doc_id, term
    ),
    df AS (
        SELECT term, count(*) AS df FROM postings GROUP BY term
    ),
    scores AS (  -- no column here may be named like the caller's argument (see above)
        SELECT d.paper_id AS scored_paper_id,
               sum(log(((SELECT num_docs FROM stats) - df + 0.5) / (df + 0.5) + 1)
                   * ((tf * (k + 1) / (tf + k * (1 - b + b * (d.len / (SELECT avgdl FROM stats)))))))
                   AS score
        FROM postings po JOIN df USING (term) JOIN search_docs d USING (doc_id)
        WHERE po.tf > 0
        GROUP BY d.paper_id
        HAVING CASE WHEN conjunctive THEN count(*) = (SELECT count(*) FROM tokens) ELSE 1 END
    )
    SELECT score FROM scores WHERE scored_paper_id = input_id
);
