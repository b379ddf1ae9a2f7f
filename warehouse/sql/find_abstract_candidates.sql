-- Papers whose seen abstracts share at least two bottom-k sketch hashes with a probe
-- abstract, with those abstracts for exact scoring in Python.
WITH hits AS (
    SELECT r.idx, a.sighting_id, count(*) AS shared
    FROM resolve_sketch r JOIN abstract_sketches a ON a.h = r.h
    GROUP BY r.idx, a.sighting_id
    HAVING count(*) >= 2
)
SELECT h.idx, s.paper_id, s.abstract
FROM hits h JOIN sightings s ON s.sighting_id = h.sighting_id
WHERE s.abstract IS NOT NULL
ORDER BY h.idx, s.paper_id, s.sighting_id;
