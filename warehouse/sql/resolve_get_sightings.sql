-- Every sighting of the registered resolve_papers, with what resolution needs about it
-- (its abstract sketch as stored, so abstracts are not re-hashed).
WITH wanted AS (
    SELECT s.sighting_id, s.paper_id, s.arxiv_id, s.doi, s.title_key, s.published_date,
           s.authors, s.abstract
    FROM sightings s
    WHERE s.paper_id IN (SELECT paper_id FROM resolve_papers)
),
sk AS (
    SELECT a.sighting_id, list(a.h ORDER BY a.h) AS sketch
    FROM abstract_sketches a
    WHERE a.sighting_id IN (SELECT sighting_id FROM wanted)
    GROUP BY a.sighting_id
)
SELECT w.*, sk.sketch
FROM wanted w LEFT JOIN sk USING (sighting_id)
ORDER BY w.sighting_id;
