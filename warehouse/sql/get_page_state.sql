-- The validators and content hash of each URL's newest successfully parsed copy, for the URLs
-- in the registered `state_urls` (warehouse/load.py: page_state). Only fetches whose body was
-- parsed and loaded count: a page whose last fetch failed to parse (a timeout, a killed
-- worker, layout drift) must be fetched in full again, not answered "304 Not Modified" for
-- content that never reached the warehouse.
SELECT
    url,
    arg_max(etag, fetched_at) FILTER (WHERE etag IS NOT NULL AND loaded) AS etag,
    arg_max(last_modified, fetched_at) FILTER (WHERE last_modified IS NOT NULL AND loaded)
        AS last_modified,
    arg_max(content_sha256, fetched_at) FILTER (WHERE content_sha256 IS NOT NULL AND loaded)
        AS parsed_sha256
FROM (
    SELECT url, etag, last_modified, content_sha256, fetched_at,
           outcome IN ('parsed', 'empty', 'unchanged', 'not_modified') AS loaded
    FROM pages
    WHERE url IN (SELECT url FROM state_urls)
)
GROUP BY url
HAVING bool_or(loaded);
