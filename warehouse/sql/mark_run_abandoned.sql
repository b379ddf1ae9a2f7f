UPDATE runs SET status = 'abandoned', finished_at = ?, 
    error = 'the process running it died before it finished'
WHERE run_id = ? AND status = 'running';
