-- A page_id is sha256(run_id, url), so a run's page appears once; re-inserting one (a load
-- redone after a failure) keeps the first. Written without ON CONFLICT so it also runs on a
-- DuckLake, which has no keys (docs/warehouse.md, "DuckLake").
INSERT INTO pages BY NAME
SELECT DISTINCT ON (page_id) * FROM stage_pages
WHERE page_id NOT IN (SELECT page_id FROM pages);
