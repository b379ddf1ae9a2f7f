DELETE FROM papers;
