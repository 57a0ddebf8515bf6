-- Schemes, chains, the crosswalk and release tags (pressmon.store.taxonomy).

-- name: unset_current_taxonomy
UPDATE taxonomies SET is_current = false WHERE is_current AND code <> %s

-- name: upsert_taxonomy
INSERT INTO taxonomies (code, name, version, status, complete, is_current, sha256)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, version = EXCLUDED.version, status = EXCLUDED.status,
       complete = EXCLUDED.complete, is_current = EXCLUDED.is_current OR taxonomies.is_current AND NOT %s,
       sha256 = EXCLUDED.sha256,
       loaded_at = CASE WHEN taxonomies.sha256 = EXCLUDED.sha256 THEN taxonomies.loaded_at
                        ELSE now() END

-- name: upsert_chains
INSERT INTO chains (taxonomy, name, group_name) VALUES %s
ON CONFLICT (taxonomy, name) DO UPDATE SET group_name = EXCLUDED.group_name

-- name: chain_ids
SELECT id, name FROM chains WHERE taxonomy = %s

-- name: clear_crosswalk
DELETE FROM chain_crosswalk

-- name: insert_crosswalk
INSERT INTO chain_crosswalk (from_chain_id, to_chain_id, note)
SELECT f.id, t.id, v.note
  FROM (VALUES %s) AS v(from_scheme, from_chain, to_scheme, to_chain, note)
  JOIN chains f ON f.taxonomy = v.from_scheme AND f.name = v.from_chain
  JOIN chains t ON t.taxonomy = v.to_scheme AND t.name = v.to_chain
ON CONFLICT DO NOTHING

-- name: current_chain_names
SELECT ch.name FROM chains ch JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
 ORDER BY ch.id

-- name: delete_scheme_tags
DELETE FROM release_chains rc USING chains ch
 WHERE rc.chain_id = ch.id AND ch.taxonomy = %s AND rc.release_id = %s

-- name: insert_tags
INSERT INTO release_chains (release_id, chain_id, score, evidence) VALUES %s

-- name: releases_for_retag
SELECT id, title, body FROM releases WHERE id > %s ORDER BY id LIMIT %s
