-- A user's marks that involve any sighting of the paper.
WITH mine AS (SELECT sighting_id FROM sightings WHERE paper_id = $1)
SELECT sighting_a, sighting_b, kind FROM resolution_marks
WHERE sighting_a IN (SELECT sighting_id FROM mine) OR sighting_b IN (SELECT sighting_id FROM mine)
ORDER BY kind, sighting_a, sighting_b;
