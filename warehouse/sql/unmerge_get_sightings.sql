SELECT sighting_id FROM sightings WHERE paper_id = ? ORDER BY sighting_id;
