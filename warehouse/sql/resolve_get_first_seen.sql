-- When each registered paper was first seen: from its sightings (what papers.first_seen_at
-- holds), because within a load the papers rows are only rebuilt after its last chunk.
SELECT paper_id, min(seen_at) AS first_seen_at FROM sightings
WHERE paper_id IN (SELECT paper_id FROM resolve_papers)
GROUP BY paper_id;
