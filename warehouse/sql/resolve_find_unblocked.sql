-- Sightings loaded before title_blocks existed (schema v1), only while that table is empty.
SELECT sighting_id, paper_id, arxiv_id, doi, title_key, published_date, authors, abstract
FROM sightings
WHERE NOT EXISTS (SELECT 1 FROM title_blocks)
  AND title_key IS NOT NULL AND len(authors) > 0
ORDER BY sighting_id;
