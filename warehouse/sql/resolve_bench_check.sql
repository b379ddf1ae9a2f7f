-- bench/resolution_scale.py: per kind of new entry (page_kind), how many joined a paper that
-- existed before the load (run 'build'), and how many there were.
WITH known AS (SELECT DISTINCT paper_id FROM sightings WHERE run_id = 'build')
SELECT n.page_kind,
       count(*) FILTER (WHERE n.paper_id IN (SELECT paper_id FROM known)) AS joined_known,
       count(*) AS total
FROM sightings n
WHERE n.run_id = 'bench'
GROUP BY n.page_kind
ORDER BY n.page_kind;
