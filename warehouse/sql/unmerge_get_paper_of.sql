SELECT paper_id FROM sightings WHERE sighting_id = ?;
