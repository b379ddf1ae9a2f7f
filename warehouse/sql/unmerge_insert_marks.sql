-- New marks only (a pair already marked keeps its first reason); no ON CONFLICT, so it runs on
-- a DuckLake too.
INSERT INTO resolution_marks (sighting_a, sighting_b, kind, reason, created_at)
SELECT DISTINCT ON (m.sighting_a, m.sighting_b, m.kind)
       m.sighting_a, m.sighting_b, m.kind, m.reason, m.created_at
FROM unmerge_marks m
WHERE NOT EXISTS (
    SELECT 1 FROM resolution_marks r
    WHERE r.sighting_a = m.sighting_a AND r.sighting_b = m.sighting_b AND r.kind = m.kind
);
