SELECT * FROM merge_decisions ORDER BY ALL;
