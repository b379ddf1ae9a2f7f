INSERT INTO merge_decisions BY NAME SELECT * FROM stage_decisions;
