UPDATE runs SET
    finished_at = $finished_at,
    status = $status,
    pages_total = pages_total + $pages_total,
    pages_parsed = pages_parsed + $pages_parsed,
    pages_unchanged = pages_unchanged + $pages_unchanged,
    pages_failed = pages_failed + $pages_failed,
    sightings_added = sightings_added + $sightings_added,
    papers_added = papers_added + $papers_added,
    papers_updated = papers_updated + $papers_updated,
    requests = requests + $requests,
    retries = retries + $retries,
    bytes_fetched = bytes_fetched + $bytes_fetched,
    not_modified = not_modified + $not_modified,
    wait_seconds = wait_seconds + $wait_seconds,
    error = $error
WHERE run_id = $run_id;
