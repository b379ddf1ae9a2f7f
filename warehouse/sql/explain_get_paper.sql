SELECT title, arxiv_id, n_sightings FROM papers WHERE paper_id = ?;
