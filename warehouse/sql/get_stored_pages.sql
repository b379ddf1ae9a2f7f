-- For `paperflow reparse`: the first fetch of each distinct body whose parse produced (or
-- failed to produce) data. Later fetches of the same body were "unchanged" and added nothing.
SELECT url, source, format, min(fetched_at) AS fetched_at, content_sha256,
       arg_min(run_id, fetched_at) AS run_id
FROM pages
WHERE content_sha256 IS NOT NULL
  AND format IS NOT NULL
  AND outcome IN ('parsed', 'empty', 'failed', 'suspect')
  AND ($source IS NULL OR source = $source)
  AND ($since IS NULL OR fetched_at >= $since)
GROUP BY url, source, format, content_sha256
ORDER BY fetched_at, url;
