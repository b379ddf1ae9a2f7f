-- Which of the registered candidate ids already name a paper or an alias. A paper is named
-- by its sightings (its papers row is only rebuilt after a load's last chunk).
SELECT DISTINCT paper_id FROM sightings WHERE paper_id IN (SELECT paper_id FROM resolve_papers)
UNION
SELECT paper_id FROM papers WHERE paper_id IN (SELECT paper_id FROM resolve_papers)
UNION
SELECT alias_id FROM paper_aliases WHERE alias_id IN (SELECT paper_id FROM resolve_papers);
