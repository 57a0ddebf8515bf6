"""Source health: the evidence a run left, the judged states, and the notices of their changes."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from pressmon.store import queries
from pressmon.store.connection import HEALTH_LOCK, Session
from pressmon.store.deliveries import presume_sent

SQL = queries.load("health")


class HealthQueries(Session):
    """Source health (source_health) and its notices (health_notices)."""

    def health_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one health judgement (and its notices) run at a time."""
        return self._session_lock(HEALTH_LOCK)

    def run_list_pages(self, run_id: int, source: str) -> list[dict[str, Any]]:
        """Return the list pages a run stored for a source that the site served (HTTP 200), with their bytes."""
        return self._all(SQL["run_list_pages"], (run_id, source))

    def run_detail_outcomes(self, run_id: int, source: str) -> dict[str, Any]:
        """Return what processing made of a run's detail pages of a source.

        A page processing handled has `decoded_lossily` set (true or false); a page refused when fetched (an
        error status, a block page) has it NULL, and is the crawl's error, not a parse failure.
        """
        row = self._one(SQL["run_detail_outcomes"], (run_id, source))
        assert row is not None
        row["parse_failures"] = [(url, reason) for url, reason in row["parse_failures"]]
        return row

    def release_history(self, run_id: int, source: str) -> dict[str, Any]:
        """Return a source's new releases from a run's pages, the last day (Beijing) a new release was stored,
        and its distinct release days (publication date, else the day first stored)."""
        row = self._one(SQL["release_history"], {"run_id": run_id, "source": source})
        assert row is not None
        return row

    def previous_health(self, run_id: int, source: str) -> dict[str, Any] | None:
        """Return the source's judged state of the latest run before this one."""
        return self._one(SQL["previous_health"], (run_id, source))

    def record_health(self, health: dict[str, Any]) -> None:
        """Store (or, judging a run again, replace) a source's judged state for a run."""
        with self.transaction() as cur:
            cur.execute(
                SQL["record_health"],
                {
                    **health,
                    "counts": json.dumps(health["counts"], ensure_ascii=False),
                    "failures": json.dumps(health["failures"], ensure_ascii=False),
                },
            )

    def queue_notice(self, run_id: int, source: str, recipient: str) -> bool:
        """Owe the operator a notice of this run's change of state (once per run and source)."""
        with self.transaction() as cur:
            cur.execute(SQL["queue_notice"], (run_id, source, recipient))
            return cur.rowcount == 1

    def drop_pending_notice(self, run_id: int, source: str) -> None:
        """Forget a notice not sent yet whose change of state a second judgement of the run no longer sees."""
        with self.transaction() as cur:
            cur.execute(SQL["drop_pending_notice"], (run_id, source))

    def reconcile_notice_sending(self) -> int:
        """Count notices left `sending` by a run that died as sent (see `reconcile_sending`)."""
        return presume_sent(self, "health_notices")

    def pending_notices(self) -> list[dict[str, Any]]:
        """Return the notices to send, oldest run first, with the judged state they tell of."""
        return self._all(SQL["pending_notices"])

    def notices(self, run_id: int | None = None) -> list[dict[str, Any]]:
        return self._all(SQL["notices"], {"run": run_id})

    def mark_notice_sending(self, run_id: int, source: str, message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_notice_sending"], (message_id, run_id, source))

    def mark_notice_sent(self, run_id: int, source: str, message_id: str, note: str | None = None) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_notice_sent"], (message_id, note, run_id, source))

    def mark_notice_failed(self, run_id: int, source: str, error: str, *, permanent: bool = False) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_notice_failed"], (error[:1000], permanent, run_id, source))

    def run_health(self, run_id: int) -> list[dict[str, Any]]:
        return self._all(SQL["run_health"], (run_id,))

    def source_health(self) -> dict[str, dict[str, Any]]:
        """Return each source's current health (reporting.source_health), by source code."""
        rows = self._all(SQL["source_health"])
        return {row["source"]: row for row in rows}
