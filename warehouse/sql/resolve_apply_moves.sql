UPDATE sightings SET paper_id = m.paper_id
FROM resolve_moves m WHERE sightings.sighting_id = m.sighting_id;
UPDATE abstract_sketches SET paper_id = m.paper_id
FROM resolve_moves m WHERE abstract_sketches.sighting_id = m.sighting_id;
UPDATE merge_decisions
SET paper_id = m.paper_id, rule = m.rule, score = m.score, matched = m.matched,
    run_id = m.run_id, decided_at = m.decided_at
FROM resolve_moves m WHERE merge_decisions.sighting_id = m.sighting_id;
INSERT INTO merge_decisions (sighting_id, paper_id, rule, score, matched, run_id, decided_at)
SELECT sighting_id, paper_id, rule, score, matched, run_id, decided_at FROM resolve_moves
WHERE sighting_id NOT IN (SELECT sighting_id FROM merge_decisions);
-- (run_script skips a leading comment block, so it sits here) Existing sightings that re-resolution put in another paper (registered resolve_moves:
-- sighting_id, paper_id, rule, score, matched, run_id, decided_at). The decision is replaced
-- by update + insert rather than ON CONFLICT, which a DuckLake (no keys) cannot run, and
-- rather than delete + insert, which DuckDB refuses for a key written earlier in the same
-- transaction (a chunked load moves sightings an earlier chunk inserted).
