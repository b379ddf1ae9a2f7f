-- Empty the search index before indexing every paper again (search.rebuild_search_index).
DELETE FROM search_postings;

DELETE FROM search_docs;
