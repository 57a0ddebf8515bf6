-- Hashes of each release's long paragraphs: a reprint that keeps only part of a release shares them word for
-- word, which MinHash similarity over the whole text misses.
CREATE TABLE release_paragraphs (
    hash        bigint NOT NULL,
    release_id  bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    chars       integer NOT NULL,
    PRIMARY KEY (hash, release_id)
);
CREATE INDEX release_paragraphs_release ON release_paragraphs (release_id);
