INSERT INTO title_blocks BY NAME SELECT * FROM stage_blocks;
