-- The current paper for a reference: a paper_id, then an alias, then an arXiv id.
SELECT paper_id FROM (
    SELECT paper_id, 1 AS pref FROM papers WHERE paper_id = $ref
    UNION ALL
    SELECT paper_id, 2 FROM paper_aliases WHERE alias_id = $ref
    UNION ALL
    SELECT paper_id, 3 FROM papers WHERE arxiv_id = $arxiv
    UNION ALL
    SELECT paper_id, 4 FROM sightings WHERE arxiv_id = $arxiv
)
ORDER BY pref, paper_id
LIMIT 1;
