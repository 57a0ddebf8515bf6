"""Declared sources: their declarations, the operator's switch, their last crawls."""

from __future__ import annotations

from typing import Any

from pressmon.store import queries
from pressmon.store.connection import Session

SQL = queries.load("sources")


class SourceQueries(Session):
    """The sources table."""

    def upsert_source(
        self,
        code: str,
        name: str,
        base_url: str,
        authority: int,
        *,
        family: str | None = None,
        verified: bool = False,
        update_days: int | None = None,
        structure_from: str | None = None,
        fixtures: str | None = None,
    ) -> None:
        """Record a source's declaration; `enabled` is the operator's and stays as it is."""
        row = (code, name, base_url, authority, family, verified, update_days, structure_from, fixtures)
        with self.transaction() as cur:
            cur.execute(SQL["upsert_source"], row)

    def sources(self) -> list[dict[str, Any]]:
        return self._all(SQL["sources"])

    def last_crawls(self) -> dict[str, dict[str, Any]]:
        """Return each source's latest crawl (status, when, pages, errors) by source code."""
        rows = self._all(SQL["last_crawls"])
        return {row["source"]: row for row in rows}

    def set_source_enabled(self, code: str, enabled: bool) -> bool:
        with self.transaction() as cur:
            cur.execute(SQL["set_source_enabled"], (enabled, code))
            return cur.rowcount == 1
