INSERT INTO sightings BY NAME SELECT * FROM stage_sightings;
