-- Which of the registered candidate ids already name a paper or an alias.
SELECT paper_id FROM papers WHERE paper_id IN (SELECT paper_id FROM resolve_papers)
UNION
SELECT alias_id FROM paper_aliases WHERE alias_id IN (SELECT paper_id FROM resolve_papers);
