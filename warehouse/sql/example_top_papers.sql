SELECT title, upvotes, sources, n_sightings
FROM papers
WHERE upvotes IS NOT NULL
ORDER BY upvotes DESC, title
LIMIT 5;
