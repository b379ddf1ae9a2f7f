INSERT INTO runs (run_id, flow, source, params, started_at, status)
VALUES (?, ?, ?, ?, ?, 'running');
