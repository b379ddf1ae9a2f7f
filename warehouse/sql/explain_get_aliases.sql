SELECT alias_id FROM paper_aliases WHERE paper_id = ? ORDER BY alias_id;
