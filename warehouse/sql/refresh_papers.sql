-- Survivorship, written once: rebuild the `papers` rows of the registered `refresh_ids`
-- from all their sightings. Field rules (docs/warehouse.md, "Survivorship"):
--   source priority  arxiv-* (1) > hf-papers (2) > scholarfeed (3) > anything else (4)
--   title            highest-priority source, then most recently seen; TeX rendered
--   abstract         highest arXiv version, then source priority, then most recently seen
--   authors          a complete list over a truncated one, then priority, then the longest
--   published_date   the earliest
--   categories, organizations, sources   the union, sorted
--   code_url, primary_category, doi      highest-priority source, then most recently seen
--   upvotes, ai_keywords                 the most recently seen
INSERT INTO papers
WITH s AS (
    SELECT
        sg.*,
        CASE
            WHEN sg.source LIKE 'arxiv%' THEN 1
            WHEN sg.source = 'hf-papers' THEN 2
            WHEN sg.source = 'scholarfeed' THEN 3
            ELSE 4
        END AS prio,
        -epoch(sg.seen_at) AS newest
    FROM sightings sg
    WHERE sg.paper_id IN (SELECT paper_id FROM refresh_ids)
)
SELECT
    paper_id,
    arg_min(arxiv_id, struct_pack(p := prio, n := newest)) FILTER (WHERE arxiv_id IS NOT NULL),
    arg_min(doi, struct_pack(p := prio, n := newest)) FILTER (WHERE doi IS NOT NULL),
    arg_min(title_rendered, struct_pack(p := prio, n := newest)) FILTER (WHERE title_rendered IS NOT NULL),
    arg_min(title_key, struct_pack(p := prio, n := newest)) FILTER (WHERE title_key IS NOT NULL),
    arg_min(abstract, struct_pack(v := -coalesce(arxiv_version, 0), p := prio, n := newest))
        FILTER (WHERE abstract IS NOT NULL),
    coalesce(
        arg_min(authors, struct_pack(c := NOT authors_complete, p := prio, l := -len(authors), n := newest))
            FILTER (WHERE len(authors) > 0),
        []::VARCHAR[]),
    coalesce(
        arg_min(authors_complete, struct_pack(c := NOT authors_complete, p := prio, l := -len(authors), n := newest))
            FILTER (WHERE len(authors) > 0),
        false),
    min(published_date),
    arg_min(primary_category, struct_pack(p := prio, n := newest)) FILTER (WHERE primary_category IS NOT NULL),
    list_sort(list_distinct(flatten(list(categories)))),
    list_sort(list_distinct(flatten(list(organizations)))),
    arg_min(code_url, struct_pack(p := prio, n := newest)) FILTER (WHERE code_url IS NOT NULL),
    arg_max(upvotes, seen_at) FILTER (WHERE upvotes IS NOT NULL),
    coalesce(arg_max(ai_keywords, seen_at) FILTER (WHERE len(ai_keywords) > 0), []::VARCHAR[]),
    list_sort(list_distinct(list(source))),
    count(*)::INTEGER,
    min(seen_at),
    max(seen_at)
FROM s
GROUP BY paper_id;
