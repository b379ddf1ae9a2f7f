SELECT
    (SELECT count(*) FROM papers) AS papers,
    (SELECT count(*) FROM sightings) AS sightings,
    (SELECT count(*) FROM pages) AS page_fetches,
    (SELECT count(*) FROM runs) AS runs,
    (SELECT count(*) FROM paper_aliases) AS aliases;
