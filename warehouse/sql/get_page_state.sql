-- The newest validators and the newest successfully parsed content hash of each URL in the
-- registered `state_urls` (warehouse/load.py: page_state).
SELECT
    url,
    arg_max(etag, fetched_at) FILTER (WHERE etag IS NOT NULL) AS etag,
    arg_max(last_modified, fetched_at) FILTER (WHERE last_modified IS NOT NULL) AS last_modified,
    arg_max(content_sha256, fetched_at) FILTER (WHERE outcome IN ('parsed', 'empty', 'unchanged', 'not_modified') AND content_sha256 IS NOT NULL) AS parsed_sha256
FROM pages
WHERE url IN (SELECT url FROM state_urls)
GROUP BY url;
