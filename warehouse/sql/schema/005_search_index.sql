-- Warehouse v5: an incremental BM25 index over papers.title and papers.abstract
-- (docs/warehouse.md, "full-text index"). Every load re-indexes the papers it touched inside its
-- own transaction (warehouse/search.py, search_index_update.sql), so indexing costs what the
-- load changed, not the warehouse's size, and the index is always the committed `papers`. It
-- replaces DuckDB's `fts` index, rebuilt whole after each load, and keeps its ranking: the same
-- tokens (search_tokenize, stop words, Porter stems) and the same BM25 (search_papers.sql).

-- DuckDB fts's 'english' list (the SMART system's; fts lists 'would' twice, here once).
CREATE TABLE IF NOT EXISTS search_stopwords (
    word             VARCHAR PRIMARY KEY
);

INSERT INTO search_stopwords (word)
SELECT word FROM (VALUES
    ('a'), ('a''s'), ('able'), ('about'), ('above'), ('according'), ('accordingly'), ('across'),
    ('actually'), ('after'), ('afterwards'), ('again'), ('against'), ('ain''t'), ('all'),
    ('allow'), ('allows'), ('almost'), ('alone'), ('along'), ('already'), ('also'), ('although'),
    ('always'), ('am'), ('among'), ('amongst'), ('an'), ('and'), ('another'), ('any'),
    ('anybody'), ('anyhow'), ('anyone'), ('anything'), ('anyway'), ('anyways'), ('anywhere'),
    ('apart'), ('appear'), ('appreciate'), ('appropriate'), ('are'), ('aren''t'), ('around'),
    ('as'), ('aside'), ('ask'), ('asking'), ('associated'), ('at'), ('available'), ('away'),
    ('awfully'), ('b'), ('be'), ('became'), ('because'), ('become'), ('becomes'), ('becoming'),
    ('been'), ('before'), ('beforehand'), ('behind'), ('being'), ('believe'), ('below'),
    ('beside'), ('besides'), ('best'), ('better'), ('between'), ('beyond'), ('both'), ('brief'),
    ('but'), ('by'), ('c'), ('c''mon'), ('c''s'), ('came'), ('can'), ('can''t'), ('cannot'),
    ('cant'), ('cause'), ('causes'), ('certain'), ('certainly'), ('changes'), ('clearly'), ('co'),
    ('com'), ('come'), ('comes'), ('concerning'), ('consequently'), ('consider'), ('considering'),
    ('contain'), ('containing'), ('contains'), ('corresponding'), ('could'), ('couldn''t'),
    ('course'), ('currently'), ('d'), ('definitely'), ('described'), ('despite'), ('did'),
    ('didn''t'), ('different'), ('do'), ('does'), ('doesn''t'), ('doing'), ('don''t'), ('done'),
    ('down'), ('downwards'), ('during'), ('e'), ('each'), ('edu'), ('eg'), ('eight'), ('either'),
    ('else'), ('elsewhere'), ('enough'), ('entirely'), ('especially'), ('et'), ('etc'), ('even'),
    ('ever'), ('every'), ('everybody'), ('everyone'), ('everything'), ('everywhere'), ('ex'),
    ('exactly'), ('example'), ('except'), ('f'), ('far'), ('few'), ('fifth'), ('first'), ('five'),
    ('followed'), ('following'), ('follows'), ('for'), ('former'), ('formerly'), ('forth'),
    ('four'), ('from'), ('further'), ('furthermore'), ('g'), ('get'), ('gets'), ('getting'),
    ('given'), ('gives'), ('go'), ('goes'), ('going'), ('gone'), ('got'), ('gotten'),
    ('greetings'), ('h'), ('had'), ('hadn''t'), ('happens'), ('hardly'), ('has'), ('hasn''t'),
    ('have'), ('haven''t'), ('having'), ('he'), ('he''s'), ('hello'), ('help'), ('hence'),
    ('her'), ('here'), ('here''s'), ('hereafter'), ('hereby'), ('herein'), ('hereupon'), ('hers'),
    ('herself'), ('hi'), ('him'), ('himself'), ('his'), ('hither'), ('hopefully'), ('how'),
    ('howbeit'), ('however'), ('i'), ('i''d'), ('i''ll'), ('i''m'), ('i''ve'), ('ie'), ('if'),
    ('ignored'), ('immediate'), ('in'), ('inasmuch'), ('inc'), ('indeed'), ('indicate'),
    ('indicated'), ('indicates'), ('inner'), ('insofar'), ('instead'), ('into'), ('inward'),
    ('is'), ('isn''t'), ('it'), ('it''d'), ('it''ll'), ('it''s'), ('its'), ('itself'), ('j'),
    ('just'), ('k'), ('keep'), ('keeps'), ('kept'), ('know'), ('knows'), ('known'), ('l'),
    ('last'), ('lately'), ('later'), ('latter'), ('latterly'), ('least'), ('less'), ('lest'),
    ('let'), ('let''s'), ('like'), ('liked'), ('likely'), ('little'), ('look'), ('looking'),
    ('looks'), ('ltd'), ('m'), ('mainly'), ('many'), ('may'), ('maybe'), ('me'), ('mean'),
    ('meanwhile'), ('merely'), ('might'), ('more'), ('moreover'), ('most'), ('mostly'), ('much'),
    ('must'), ('my'), ('myself'), ('n'), ('name'), ('namely'), ('nd'), ('near'), ('nearly'),
    ('necessary'), ('need'), ('needs'), ('neither'), ('never'), ('nevertheless'), ('new'),
    ('next'), ('nine'), ('no'), ('nobody'), ('non'), ('none'), ('noone'), ('nor'), ('normally'),
    ('not'), ('nothing'), ('novel'), ('now'), ('nowhere'), ('o'), ('obviously'), ('of'), ('off'),
    ('often'), ('oh'), ('ok'), ('okay'), ('old'), ('on'), ('once'), ('one'), ('ones'), ('only'),
    ('onto'), ('or'), ('other'), ('others'), ('otherwise'), ('ought'), ('our'), ('ours'),
    ('ourselves'), ('out'), ('outside'), ('over'), ('overall'), ('own'), ('p'), ('particular'),
    ('particularly'), ('per'), ('perhaps'), ('placed'), ('please'), ('plus'), ('possible'),
    ('presumably'), ('probably'), ('provides'), ('q'), ('que'), ('quite'), ('qv'), ('r'),
    ('rather'), ('rd'), ('re'), ('really'), ('reasonably'), ('regarding'), ('regardless'),
    ('regards'), ('relatively'), ('respectively'), ('right'), ('s'), ('said'), ('same'), ('saw'),
    ('say'), ('saying'), ('says'), ('second'), ('secondly'), ('see'), ('seeing'), ('seem'),
    ('seemed'), ('seeming'), ('seems'), ('seen'), ('self'), ('selves'), ('sensible'), ('sent'),
    ('serious'), ('seriously'), ('seven'), ('several'), ('shall'), ('she'), ('should'),
    ('shouldn''t'), ('since'), ('six'), ('so'), ('some'), ('somebody'), ('somehow'), ('someone'),
    ('something'), ('sometime'), ('sometimes'), ('somewhat'), ('somewhere'), ('soon'), ('sorry'),
    ('specified'), ('specify'), ('specifying'), ('still'), ('sub'), ('such'), ('sup'), ('sure'),
    ('t'), ('t''s'), ('take'), ('taken'), ('tell'), ('tends'), ('th'), ('than'), ('thank'),
    ('thanks'), ('thanx'), ('that'), ('that''s'), ('thats'), ('the'), ('their'), ('theirs'),
    ('them'), ('themselves'), ('then'), ('thence'), ('there'), ('there''s'), ('thereafter'),
    ('thereby'), ('therefore'), ('therein'), ('theres'), ('thereupon'), ('these'), ('they'),
    ('they''d'), ('they''ll'), ('they''re'), ('they''ve'), ('think'), ('third'), ('this'),
    ('thorough'), ('thoroughly'), ('those'), ('though'), ('three'), ('through'), ('throughout'),
    ('thru'), ('thus'), ('to'), ('together'), ('too'), ('took'), ('toward'), ('towards'),
    ('tried'), ('tries'), ('truly'), ('try'), ('trying'), ('twice'), ('two'), ('u'), ('un'),
    ('under'), ('unfortunately'), ('unless'), ('unlikely'), ('until'), ('unto'), ('up'), ('upon'),
    ('us'), ('use'), ('used'), ('useful'), ('uses'), ('using'), ('usually'), ('uucp'), ('v'),
    ('value'), ('various'), ('very'), ('via'), ('viz'), ('vs'), ('w'), ('want'), ('wants'),
    ('was'), ('wasn''t'), ('way'), ('we'), ('we''d'), ('we''ll'), ('we''re'), ('we''ve'),
    ('welcome'), ('well'), ('went'), ('were'), ('weren''t'), ('what'), ('what''s'), ('whatever'),
    ('when'), ('whence'), ('whenever'), ('where'), ('where''s'), ('whereafter'), ('whereas'),
    ('whereby'), ('wherein'), ('whereupon'), ('wherever'), ('whether'), ('which'), ('while'),
    ('whither'), ('who'), ('who''s'), ('whoever'), ('whole'), ('whom'), ('whose'), ('why'),
    ('will'), ('willing'), ('wish'), ('with'), ('within'), ('without'), ('won''t'), ('wonder'),
    ('would'), ('wouldn''t'), ('x'), ('y'), ('yes'), ('yet'), ('you'), ('you''d'), ('you''ll'),
    ('you''re'), ('you''ve'), ('your'), ('yours'), ('yourself'), ('yourselves'), ('z'), ('zero')
) AS v(word)
WHERE NOT EXISTS (SELECT 1 FROM search_stopwords);

-- One row per paper (also those without a single term): its length in terms, title and
-- abstract together. BM25's document count and average length are taken from here.
CREATE TABLE IF NOT EXISTS search_docs (
    paper_id         VARCHAR PRIMARY KEY,    -- → papers.paper_id
    len              INTEGER NOT NULL
);

-- Postings, one row per occurrence of a stemmed term in a paper's title or abstract. Counting
-- happens at query time, for the query's terms only: grouping every occurrence of a load at
-- write time cost a third of its indexing.
CREATE TABLE IF NOT EXISTS search_terms (
    paper_id         VARCHAR NOT NULL,       -- → papers.paper_id
    term             VARCHAR NOT NULL,       -- Porter stem of a word that is not a stop word
    in_title         BOOLEAN NOT NULL        -- true: in the title; false: in the abstract
);

-- fts's tokenizer with its defaults (strip_accents, lower, its `ignore` pattern, split on
-- whitespace): words before stop-word removal and stemming. DuckLake stores no macros, so
-- there it is a TEMP macro of every connection (lake.temp_macros).
CREATE OR REPLACE MACRO search_tokenize(s) AS
    string_split_regex(
        regexp_replace(lower(strip_accents(CAST(s AS VARCHAR))),
                       '[0-9!@#$%^&*()_+={}\[\]:;<>,.?~\\/\|''''"`-]+', ' ', 'g'),
        '\s+');

-- Index the papers already here: search_index_update.sql for every paper, with
-- search_tokenize written out (on a DuckLake the macros exist only once migrations are done).
CREATE OR REPLACE TEMP TABLE search_batch AS
WITH texts AS (
    SELECT paper_id, title AS text, 1 AS in_title FROM papers
    UNION ALL
    SELECT paper_id, abstract, 0 FROM papers
),
words AS (
    SELECT paper_id, in_title,
           unnest(string_split_regex(
               regexp_replace(lower(strip_accents(CAST(text AS VARCHAR))),
                              '[0-9!@#$%^&*()_+={}\[\]:;<>,.?~\\/\|''''"`-]+', ' ', 'g'),
               '\s+')) AS word
    FROM texts
),
kept AS (
    SELECT paper_id, in_title, word FROM words
    WHERE len(word) > 0 AND word NOT IN (SELECT word FROM search_stopwords)
),
stems AS (
    SELECT word, stem(word, 'porter') AS term FROM (SELECT DISTINCT word FROM kept)
)
SELECT k.paper_id, s.term, k.in_title = 1 AS in_title
FROM kept k JOIN stems s USING (word);

INSERT INTO search_terms (paper_id, term, in_title)
SELECT paper_id, term, in_title FROM search_batch;

INSERT INTO search_docs (paper_id, len)
SELECT p.paper_id, coalesce(b.n, 0)::INTEGER
FROM papers p
LEFT JOIN (SELECT paper_id, count(*) AS n FROM search_batch GROUP BY paper_id) b USING (paper_id);

DROP TABLE search_batch;

-- The fts index this replaces, and in its place the documented SQL entry point
-- fts_main_papers.match_bm25(paper_id, 'text' [, fields, k, b, conjunctive]) over the new
-- tables, the same arguments and scores as fts's macro (fields: 'title', 'abstract' or both,
-- comma-separated). A DuckLake cannot hold a schema-qualified macro: search there with
-- `paperflow search` or search_papers.sql.
-- duckdb file only
DROP SCHEMA IF EXISTS fts_main_papers CASCADE;

-- duckdb file only
CREATE SCHEMA fts_main_papers;

-- duckdb file only
CREATE OR REPLACE MACRO fts_main_papers.match_bm25(
    input_id, query_string, fields := NULL, k := 1.2, b := 0.75, conjunctive := false
) AS (
    WITH tokens AS (
        SELECT DISTINCT stem(unnest(search_tokenize(query_string)), 'porter') AS term
    ),
    stats AS (
        SELECT count(*) AS num_docs, sum(len) / count(len) AS avgdl FROM search_docs
    ),
    postings AS MATERIALIZED (  -- (paper, term) pairs; tf counts the asked-for fields only
        SELECT paper_id, term,
               count(*) FILTER (
                   WHERE CASE WHEN in_title
                              THEN fields IS NULL
                                   OR list_contains(string_split(fields, ','), 'title')
                              ELSE fields IS NULL
                                   OR list_contains(string_split(fields, ','), 'abstract')
                         END
               ) AS tf
        FROM search_terms
        WHERE term IN (SELECT term FROM tokens)
        GROUP BY paper_id, term
    ),
    df AS (
        SELECT term, count(*) AS df FROM postings GROUP BY term
    ),
    scores AS (
        SELECT po.paper_id,
               sum(log(((SELECT num_docs FROM stats) - df + 0.5) / (df + 0.5) + 1)
                   * ((tf * (k + 1) / (tf + k * (1 - b + b * (d.len / (SELECT avgdl FROM stats)))))))
                   AS score
        FROM postings po JOIN df USING (term) JOIN search_docs d USING (paper_id)
        WHERE po.tf > 0
        GROUP BY po.paper_id
        HAVING CASE WHEN conjunctive THEN count(*) = (SELECT count(*) FROM tokens) ELSE 1 END
    )
    SELECT score FROM scores WHERE paper_id = input_id
);
