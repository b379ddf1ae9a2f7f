PRAGMA create_fts_index('papers', 'paper_id', 'title', 'abstract', stemmer = 'porter', stopwords = 'english', overwrite = 1);
