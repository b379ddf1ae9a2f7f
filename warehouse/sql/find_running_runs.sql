SELECT run_id, params FROM runs WHERE status = 'running' AND run_id <> ?;
