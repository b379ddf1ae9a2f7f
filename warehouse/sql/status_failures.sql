SELECT fetched_at, source, outcome, url, error
FROM pages WHERE outcome IN ('failed', 'suspect')
ORDER BY fetched_at DESC, url LIMIT ?;
