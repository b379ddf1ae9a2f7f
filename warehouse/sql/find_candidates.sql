-- Existing papers that share a strong key with a new sighting (resolve_keys is registered
-- by warehouse/resolve.py). Title candidates go through every title a paper was seen with.
SELECT k.idx, p.paper_id, 'arxiv_id' AS rule
FROM resolve_keys k JOIN papers p ON p.arxiv_id = k.arxiv_id
UNION
SELECT k.idx, p.paper_id, 'doi'
FROM resolve_keys k JOIN papers p ON p.doi = k.doi
UNION
SELECT DISTINCT k.idx, s.paper_id, 'title'
FROM resolve_keys k JOIN sightings s ON s.title_key = k.title_key
ORDER BY 1, 3, 2;
