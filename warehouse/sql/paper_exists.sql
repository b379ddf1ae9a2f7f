SELECT 1 FROM papers WHERE paper_id = ?
UNION ALL
SELECT 1 FROM paper_aliases WHERE alias_id = ?;
