UPDATE paper_aliases SET paper_id = a.paper_id
FROM resolve_aliases a WHERE paper_aliases.paper_id = a.alias_id;
DELETE FROM paper_aliases WHERE alias_id IN (SELECT alias_id FROM resolve_aliases);
INSERT INTO paper_aliases (alias_id, paper_id, reason, run_id, created_at)
SELECT alias_id, paper_id, reason, run_id, created_at FROM resolve_aliases;
DELETE FROM papers WHERE paper_id IN (SELECT alias_id FROM resolve_aliases);
-- (run_script skips a leading comment block, so it sits here) Papers whose sightings all went to another paper (registered resolve_aliases: alias_id,
-- paper_id, reason, run_id, created_at): keep the old id as an alias, drop the row. An alias
-- is replaced by delete + insert rather than ON CONFLICT, which a DuckLake cannot run.
