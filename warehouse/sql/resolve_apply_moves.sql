UPDATE sightings SET paper_id = m.paper_id
FROM resolve_moves m WHERE sightings.sighting_id = m.sighting_id;
UPDATE abstract_sketches SET paper_id = m.paper_id
FROM resolve_moves m WHERE abstract_sketches.sighting_id = m.sighting_id;
DELETE FROM merge_decisions WHERE sighting_id IN (SELECT sighting_id FROM resolve_moves);
INSERT INTO merge_decisions (sighting_id, paper_id, rule, score, matched, run_id, decided_at)
SELECT sighting_id, paper_id, rule, score, matched, run_id, decided_at FROM resolve_moves;
-- (run_script skips a leading comment block, so it sits here) Existing sightings that re-resolution put in another paper (registered resolve_moves:
-- sighting_id, paper_id, rule, score, matched, run_id, decided_at). The decision is replaced
-- by delete + insert rather than ON CONFLICT, which a DuckLake (no keys) cannot run.
