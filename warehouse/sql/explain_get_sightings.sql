-- A paper's sightings with the decision that put each one there, oldest first.
SELECT s.sighting_id, s.source, s.page_url, s.position, s.seen_at, s.arxiv_id,
       s.title_rendered, s.authors, d.rule, d.score, d.matched, d.run_id
FROM sightings s LEFT JOIN merge_decisions d USING (sighting_id)
WHERE s.paper_id = ?
ORDER BY s.seen_at, s.source, s.page_url, s.position, s.sighting_id;
