UPDATE sightings SET paper_id = m.paper_id
FROM resolve_moves m WHERE sightings.sighting_id = m.sighting_id;
UPDATE abstract_sketches SET paper_id = m.paper_id
FROM resolve_moves m WHERE abstract_sketches.sighting_id = m.sighting_id;
INSERT INTO merge_decisions (sighting_id, paper_id, rule, score, matched, run_id, decided_at)
SELECT sighting_id, paper_id, rule, score, matched, run_id, decided_at FROM resolve_moves
ON CONFLICT (sighting_id) DO UPDATE SET
    paper_id = excluded.paper_id, rule = excluded.rule, score = excluded.score,
    matched = excluded.matched, run_id = excluded.run_id, decided_at = excluded.decided_at;
-- (run_script skips a leading comment block, so it sits here) Existing sightings that re-resolution put in another paper (registered resolve_moves:
-- sighting_id, paper_id, rule, score, matched, run_id, decided_at).
