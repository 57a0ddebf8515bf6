"""Crawl runs and each source's crawl within a run."""

from __future__ import annotations

import json
from typing import Any

from pressmon.store import queries
from pressmon.store.connection import Session

SQL = queries.load("runs")


class RunQueries(Session):
    """Crawl runs (crawl_runs) and their sources' crawls (crawl_run_sources)."""

    def start_run(self, run_key: str) -> int:
        """Return the id of the run with this key, creating it the first time."""
        with self.transaction() as cur:
            cur.execute(SQL["start_run"], (run_key,))
            return cur.fetchone()["id"]

    def start_run_source(self, run_id: int, source: str) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["start_run_source"], (run_id, source))

    def finish_run_source(
        self,
        run_id: int,
        source: str,
        *,
        status: str,
        list_pages: int,
        detail_pages: int,
        errors: list[dict[str, Any]],
        stats: dict[str, Any],
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                SQL["finish_run_source"],
                (
                    status,
                    list_pages,
                    detail_pages,
                    json.dumps(errors, ensure_ascii=False),
                    json.dumps(stats, ensure_ascii=False, default=str),
                    run_id,
                    source,
                ),
            )

    def fail_run_source(self, run_id: int, source: str, reason: str) -> None:
        """Mark a source's crawl failed when its process died before recording its own outcome."""
        with self.transaction() as cur:
            cur.execute(SQL["fail_run_source"], (reason, run_id, source))

    def run(self, run_id: int) -> dict[str, Any] | None:
        return self._one(SQL["run"], (run_id,))

    def latest_run(self) -> dict[str, Any] | None:
        return self._one(SQL["latest_run"])

    def run_by_key(self, run_key: str) -> dict[str, Any] | None:
        return self._one(SQL["run_by_key"], (run_key,))

    def run_sources(self, run_id: int) -> list[dict[str, Any]]:
        return self._all(SQL["run_sources"], (run_id,))

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.transaction() as cur:
            cur.execute(
                SQL["finish_run"], (status, json.dumps(summary, ensure_ascii=False, default=str), run_id)
            )
