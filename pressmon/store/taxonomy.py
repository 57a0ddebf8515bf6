"""Schemes, their chains, the crosswalk and the tags of releases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg2
import psycopg2.extras

from pressmon.store import queries
from pressmon.store.connection import Session

SQL = queries.load("taxonomy")


class TaxonomyQueries(Session):
    """Schemes, chains and tags. `replace_tags` runs in the caller's open transaction (its cursor)."""

    def sync_taxonomy(
        self,
        code: str,
        name: str,
        version: str,
        status: str,
        complete: bool,
        sha256: str,
        chains: Iterable[tuple[str, str]],
        current: bool,
    ) -> dict[str, int]:
        """Record a scheme and its chains; return chain ids by name."""
        with self.transaction() as cur:
            if current:
                cur.execute(SQL["unset_current_taxonomy"], (code,))
            cur.execute(
                SQL["upsert_taxonomy"], (code, name, version, status, complete, current, sha256, current)
            )
            psycopg2.extras.execute_values(
                cur, SQL["upsert_chains"], [(code, chain, group) for chain, group in chains]
            )
            cur.execute(SQL["chain_ids"], (code,))
            return {row["name"]: row["id"] for row in cur.fetchall()}

    def replace_crosswalk(self, entries: Iterable[tuple[str, str, str, str, str]]) -> int:
        """Replace the crosswalk with (from_scheme, from_chain, to_scheme, to_chain, note) entries."""
        with self.transaction() as cur:
            cur.execute(SQL["clear_crosswalk"])
            psycopg2.extras.execute_values(cur, SQL["insert_crosswalk"], list(entries))
            return cur.rowcount

    def current_chain_names(self) -> list[str]:
        rows = self._all(SQL["current_chain_names"])
        return [row["name"] for row in rows]

    def replace_tags(
        self,
        cur: psycopg2.extensions.cursor,
        release_id: int,
        taxonomy: str,
        tags: Sequence[tuple[int, float, dict[str, Any]]],
    ) -> None:
        """Replace the release's tags of one scheme; tags of other schemes stay."""
        cur.execute(SQL["delete_scheme_tags"], (taxonomy, release_id))
        if tags:
            psycopg2.extras.execute_values(
                cur,
                SQL["insert_tags"],
                [
                    (release_id, chain_id, score, json.dumps(evidence, ensure_ascii=False))
                    for chain_id, score, evidence in tags
                ],
            )

    def releases_for_retag(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        return self._all(SQL["releases_for_retag"], (after_id, limit))
