SELECT DISTINCT paper_id FROM sightings ORDER BY paper_id;
