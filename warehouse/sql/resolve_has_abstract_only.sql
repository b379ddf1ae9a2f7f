-- Whether the warehouse holds an abstract-only sighting (an abstract, no arXiv id, DOI or title
-- key): the only kind the abstract tier pairs. Once one is held, every sighting with an abstract
-- has its sketch (warehouse/resolve.py, _prepare_sketches).
SELECT EXISTS (
    SELECT 1 FROM sightings
    WHERE abstract <> ''
      AND coalesce(arxiv_id, '') = '' AND coalesce(doi, '') = '' AND coalesce(title_key, '') = ''
) AS held;
