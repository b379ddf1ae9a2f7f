DELETE FROM papers WHERE paper_id IN (SELECT paper_id FROM refresh_ids);
