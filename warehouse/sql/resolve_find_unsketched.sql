-- Sightings with an abstract and no sketch rows: sketched when the first abstract-only sighting
-- arrives (warehouse/resolve.py, _backfill_sketches).
SELECT s.sighting_id, s.paper_id, s.abstract
FROM sightings s
WHERE s.abstract <> ''
  AND NOT EXISTS (SELECT 1 FROM abstract_sketches a WHERE a.sighting_id = s.sighting_id);
