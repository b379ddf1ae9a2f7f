SELECT paper_id FROM papers ORDER BY paper_id;
