SELECT sighting_id FROM sightings WHERE sighting_id IN (SELECT sighting_id FROM stage_sightings);
