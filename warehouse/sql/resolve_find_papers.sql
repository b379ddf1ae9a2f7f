-- Papers holding a sighting that could share a resolver edge with a probe sighting (the tables
-- resolve_probe, resolve_probe_blocks and resolve_probe_sketch are registered by
-- warehouse/resolve.py): the same arXiv id; a user mark; and, where one of the two has no
-- arXiv id (two different ones are a veto, docs/resolution.md), the same DOI or title key or a
-- shared title block; two shared sketch hashes where one of the two is abstract-only (the only
-- pairs the abstract rule makes). A superset of the resolver's edges: the resolver decides.
-- Keys shared by two arXiv ids are not followed: on daily pages, title blocks chain a team's
-- papers together and the closure would walk them all. Every branch is a semi-join (IN): a
-- join lets DuckDB hash all sightings for an empty probe, which inside a load transaction
-- (uncommitted chunks) cost several times the rest.
WITH seeking AS (  -- probe sightings without an arXiv id
    SELECT * FROM resolve_probe WHERE coalesce(arxiv_id, '') = ''
),
idless AS (  -- warehouse sightings without one
    SELECT sighting_id, paper_id, doi, title_key FROM sightings
    WHERE coalesce(arxiv_id, '') = ''
),
sketch_hits AS (  -- (probe, warehouse sighting) pairs sharing two sketch hashes
    SELECT r.sighting_id AS probe_id, a.sighting_id, a.paper_id
    FROM resolve_probe_sketch r JOIN abstract_sketches a ON a.h = r.h
    GROUP BY r.sighting_id, a.sighting_id, a.paper_id
    HAVING count(*) >= 2
),
marked AS (  -- sightings a user mark ties to a probe sighting
    SELECT sighting_b AS sighting_id FROM resolution_marks
    WHERE sighting_a IN (SELECT sighting_id FROM resolve_probe)
    UNION
    SELECT sighting_a FROM resolution_marks
    WHERE sighting_b IN (SELECT sighting_id FROM resolve_probe)
)
SELECT paper_id FROM sightings WHERE arxiv_id IN (SELECT arxiv_id FROM resolve_probe)
UNION
SELECT paper_id FROM sightings WHERE doi IN (SELECT doi FROM seeking)
UNION
SELECT paper_id FROM idless WHERE doi IN (SELECT doi FROM resolve_probe)
UNION
SELECT paper_id FROM sightings WHERE title_key IN (SELECT title_key FROM seeking)
UNION
SELECT paper_id FROM idless WHERE title_key IN (SELECT title_key FROM resolve_probe)
UNION
SELECT paper_id FROM sightings
WHERE sighting_id IN (
    SELECT sighting_id FROM title_blocks
    WHERE block IN (SELECT block FROM resolve_probe_blocks
                    WHERE sighting_id IN (SELECT sighting_id FROM seeking))
)
UNION
SELECT paper_id FROM idless
WHERE sighting_id IN (
    SELECT sighting_id FROM title_blocks
    WHERE sighting_id IN (SELECT sighting_id FROM idless)
      AND block IN (SELECT block FROM resolve_probe_blocks)
)
UNION
SELECT paper_id FROM sketch_hits
WHERE probe_id IN (
        SELECT sighting_id FROM resolve_probe
        WHERE coalesce(arxiv_id, '') = '' AND coalesce(doi, '') = '' AND coalesce(title_key, '') = ''
    )
   OR sighting_id IN (  -- abstract-only: sketch rows mean it has an abstract
        SELECT sighting_id FROM idless
        WHERE coalesce(doi, '') = '' AND coalesce(title_key, '') = ''
    )
UNION
SELECT paper_id FROM sightings WHERE sighting_id IN (SELECT sighting_id FROM marked);
