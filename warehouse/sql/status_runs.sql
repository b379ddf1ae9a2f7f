SELECT run_id, flow, source, status, started_at, finished_at,
       pages_total, pages_parsed, pages_unchanged, pages_failed,
       sightings_added, papers_added, papers_updated
FROM runs ORDER BY started_at DESC LIMIT ?;
