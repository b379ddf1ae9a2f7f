-- Empty the search index before indexing every paper again (search.rebuild_search_index).
DELETE FROM search_terms;

DELETE FROM search_docs;
