SELECT count(*) FROM papers;
