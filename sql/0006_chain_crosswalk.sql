-- How chains of earlier schemes carry over to the current one, from parsers/data/taxonomies/crosswalk.toml.
CREATE TABLE chain_crosswalk (
    from_chain_id  integer NOT NULL REFERENCES chains ON DELETE CASCADE,
    to_chain_id    integer NOT NULL REFERENCES chains ON DELETE CASCADE,
    note           text NOT NULL DEFAULT '',
    PRIMARY KEY (from_chain_id, to_chain_id)
);

CREATE VIEW reporting.chain_crosswalk AS
SELECT f.taxonomy AS from_scheme, f.name AS from_chain, t.taxonomy AS to_scheme, t.name AS to_chain, x.note
  FROM chain_crosswalk x
  JOIN chains f ON f.id = x.from_chain_id
  JOIN chains t ON t.id = x.to_chain_id;
COMMENT ON VIEW reporting.chain_crosswalk IS
    'Which chain of the current scheme each chain of an earlier scheme corresponds to (unmapped chains are absent).';

CREATE VIEW reporting.release_chains_current AS
SELECT r.cluster_id, rc.release_id, ch.name AS chain, ch.taxonomy AS via_scheme, ch.name AS via_chain, rc.score
  FROM release_chains rc
  JOIN releases r ON r.id = rc.release_id
  JOIN chains ch ON ch.id = rc.chain_id
  JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
UNION ALL
SELECT r.cluster_id, rc.release_id, t2.name AS chain, f.taxonomy AS via_scheme, f.name AS via_chain, rc.score
  FROM release_chains rc
  JOIN releases r ON r.id = rc.release_id
  JOIN chains f ON f.id = rc.chain_id
  JOIN chain_crosswalk x ON x.from_chain_id = f.id
  JOIN chains t2 ON t2.id = x.to_chain_id
  JOIN taxonomies cur ON cur.code = t2.taxonomy AND cur.is_current;
COMMENT ON VIEW reporting.release_chains_current IS
    'Tags expressed in the current scheme: direct tags, plus tags of earlier schemes (pressmon retag --scheme …) carried over through the crosswalk; via_scheme/via_chain say which.';

GRANT SELECT ON reporting.chain_crosswalk, reporting.release_chains_current TO pressmon_reader;
