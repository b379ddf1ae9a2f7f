-- Fold paper $loser into paper $survivor: repoint evidence, keep the old id as an alias.
UPDATE sightings SET paper_id = $survivor WHERE paper_id = $loser;
UPDATE abstract_sketches SET paper_id = $survivor WHERE paper_id = $loser;
UPDATE merge_decisions SET paper_id = $survivor WHERE paper_id = $loser;
UPDATE paper_aliases SET paper_id = $survivor WHERE paper_id = $loser;
INSERT INTO paper_aliases (alias_id, paper_id, reason, run_id, created_at)
VALUES ($loser, $survivor, $reason, $run_id, $at);
DELETE FROM papers WHERE paper_id = $loser;
