SELECT paper_id, first_seen_at FROM papers
WHERE paper_id IN (SELECT paper_id FROM resolve_papers);
