-- A user's marks touching any of the registered resolve_ids sightings.
SELECT sighting_a, sighting_b, kind FROM resolution_marks
WHERE sighting_a IN (SELECT sighting_id FROM resolve_ids)
   OR sighting_b IN (SELECT sighting_id FROM resolve_ids)
ORDER BY sighting_a, sighting_b, kind;
