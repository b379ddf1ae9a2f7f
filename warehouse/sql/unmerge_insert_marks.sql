INSERT INTO resolution_marks (sighting_a, sighting_b, kind, reason, created_at)
SELECT sighting_a, sighting_b, kind, reason, created_at FROM unmerge_marks
ON CONFLICT (sighting_a, sighting_b, kind) DO NOTHING;
