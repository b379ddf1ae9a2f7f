INSERT INTO abstract_sketches BY NAME SELECT * FROM stage_sketches;
