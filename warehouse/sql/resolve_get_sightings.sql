-- Every sighting of the registered resolve_papers, with what resolution needs about it: its
-- abstract sketch and title blocks as stored (so neither is computed again; NULL blocks when it
-- has none), and its abstract only where the abstract tier can use it (it has a sketch, or it
-- is abstract-only).
WITH wanted AS (
    SELECT s.sighting_id, s.paper_id, s.arxiv_id, s.doi, s.title_key, s.published_date,
           s.authors, s.abstract, s.source, s.page_url
    FROM sightings s
    -- By rowid: the filter reads paper_id alone, and only the matching rows' abstracts and
    -- author lists are fetched (a semi-join on paper_id read them all, 6x slower).
    WHERE s.rowid IN (
        SELECT rowid FROM sightings WHERE paper_id IN (SELECT paper_id FROM resolve_papers)
    )
),
sk AS (
    SELECT a.sighting_id, list(a.h ORDER BY a.h) AS sketch
    FROM abstract_sketches a
    WHERE a.sighting_id IN (SELECT sighting_id FROM wanted)
    GROUP BY a.sighting_id
),
tb AS (
    SELECT t.sighting_id, list(t.block ORDER BY t.block) AS title_blocks
    FROM title_blocks t
    WHERE t.sighting_id IN (SELECT sighting_id FROM wanted)
    GROUP BY t.sighting_id
)
SELECT w.sighting_id, w.paper_id, w.arxiv_id, w.doi, w.title_key, w.published_date, w.authors,
       CASE
           WHEN sk.sketch IS NOT NULL
             OR (coalesce(w.arxiv_id, '') = '' AND coalesce(w.doi, '') = ''
                 AND coalesce(w.title_key, '') = '')
           THEN w.abstract
       END AS abstract,
       sk.sketch,
       tb.title_blocks,
       w.source, w.page_url
FROM wanted w LEFT JOIN sk USING (sighting_id) LEFT JOIN tb USING (sighting_id)
ORDER BY w.sighting_id;
