-- The newest validators and the newest successfully parsed content hash of each URL.
SELECT
    url,
    arg_max(etag, fetched_at) FILTER (WHERE etag IS NOT NULL),
    arg_max(last_modified, fetched_at) FILTER (WHERE last_modified IS NOT NULL),
    arg_max(content_sha256, fetched_at) FILTER (WHERE outcome IN ('parsed', 'empty', 'unchanged', 'not_modified') AND content_sha256 IS NOT NULL)
FROM pages
WHERE url IN (SELECT unnest(?::VARCHAR[]))
GROUP BY url;
