-- Papers holding a sighting that shares a blocking key with a probe sighting (the tables
-- resolve_probe, resolve_probe_blocks and resolve_probe_sketch are registered by
-- warehouse/resolve.py). A superset of the resolver's edges: the resolver decides.
SELECT s.paper_id FROM resolve_probe p JOIN sightings s ON s.arxiv_id = p.arxiv_id
UNION
SELECT s.paper_id FROM resolve_probe p JOIN sightings s ON s.doi = p.doi
UNION
SELECT s.paper_id FROM resolve_probe p JOIN sightings s ON s.title_key = p.title_key
UNION
SELECT s.paper_id
FROM (
    SELECT DISTINCT t.sighting_id
    FROM resolve_probe_blocks b JOIN title_blocks t ON t.block = b.block
) hit JOIN sightings s ON s.sighting_id = hit.sighting_id
UNION
SELECT a.paper_id
FROM resolve_probe_sketch r JOIN abstract_sketches a ON a.h = r.h
GROUP BY r.sighting_id, a.sighting_id, a.paper_id
HAVING count(*) >= 2
UNION
SELECT s.paper_id
FROM resolve_probe p
JOIN resolution_marks m ON m.sighting_a = p.sighting_id
JOIN sightings s ON s.sighting_id = m.sighting_b
UNION
SELECT s.paper_id
FROM resolve_probe p
JOIN resolution_marks m ON m.sighting_b = p.sighting_id
JOIN sightings s ON s.sighting_id = m.sighting_a;
