SELECT * FROM paper_aliases ORDER BY ALL;
