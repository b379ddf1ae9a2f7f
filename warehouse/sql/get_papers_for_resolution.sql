SELECT paper_id, arxiv_id, doi, year(published_date), authors, first_seen_at
FROM papers
WHERE paper_id IN (SELECT unnest(?::VARCHAR[]));
