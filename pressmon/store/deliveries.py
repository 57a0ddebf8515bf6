"""Subscriptions and the ledgers of what is mailed to them: digests and weekly reports."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import psycopg2
import psycopg2.sql

from pressmon.store import queries
from pressmon.store.connection import ALERT_LOCK, REPORT_LOCK, Session

SQL = queries.load("deliveries")


class DeliveryQueries(Session):
    """Subscriptions and their ledgers: digests, and weekly reports (which follow the digests' rules)."""

    def add_subscription(
        self, email: str, chains: list[str], sources: list[str], keywords: list[str], weekly: bool = False
    ) -> tuple[int, bool]:
        """Create the subscription unless an identical one exists; return (id, created).

        A new subscription starts after every cluster committed so far: it receives what is first seen from
        now on, never the archive. A weekly one receives the weekly report instead of nightly digests.
        """
        with self.transaction() as cur:
            cur.execute(SQL["lock_alerts"], (ALERT_LOCK,))
            _number_new_clusters(cur)
            cur.execute(
                SQL["add_subscription"],
                (email, sorted(set(chains)), sorted(set(sources)), sorted(set(keywords)), weekly),
            )
            row = cur.fetchone()
            return row["id"], row["created"]

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._all(SQL["subscriptions"])

    def remove_subscriptions(self, *, subscription_id: int | None = None, email: str | None = None) -> int:
        with self.transaction() as cur:
            cur.execute(SQL["remove_subscriptions"], (subscription_id, email))
            return cur.rowcount

    def alert_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one alert run at a time, for as long as the block runs."""
        return self._session_lock(ALERT_LOCK)

    def report_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one weekly mailing run at a time, for as long as the block runs."""
        return self._session_lock(REPORT_LOCK)

    def queue_deliveries(self) -> int:
        """Add a pending delivery for every new cluster that matches a subscription; return how many.

        Clusters are numbered here, in the order this run first sees them committed, and each subscription
        remembers the last number it was matched against. A process transaction still open now commits
        clusters that the next run numbers and queues: none falls behind the watermark unseen, and a copy that
        joins an old cluster, a re-crawl or a re-tag never queues the same cluster twice.
        """
        with self.transaction() as cur:
            cur.execute(SQL["lock_alerts"], (ALERT_LOCK,))
            _number_new_clusters(cur)
            cur.execute(SQL["queue_deliveries"])
            return cur.fetchone()["queued"]

    def reconcile_sending(self) -> int:
        """Count digests left `sending` by a run that died as sent; return how many deliveries.

        `sending` is committed just before the end of the SMTP data, so the server held the complete message
        when the process died. Sending it again would give the subscriber a second copy; the stable
        Message-ID and this note let an operator trace it if it never arrived.
        """
        return presume_sent(self, "deliveries")

    def pending_digests(self) -> list[dict[str, Any]]:
        """Return each subscription with pending deliveries and the releases to put in its digest."""
        rows = self._all(SQL["pending_digests"])
        digests: dict[int, dict[str, Any]] = {}
        for row in rows:
            digest = digests.setdefault(
                row["subscription_id"],
                {
                    "subscription_id": row["subscription_id"],
                    "email": row["email"],
                    "chains": row["wanted_chains"],
                    "sources": row["wanted_sources"],
                    "keywords": row["wanted_keywords"],
                    "items": [],
                },
            )
            digest["items"].append(
                {
                    key: row[key]
                    for key in (
                        "cluster_id",
                        "title",
                        "url",
                        "published_at",
                        "source",
                        "source_name",
                        "publisher",
                        "body",
                        "chains",
                        "evidence",
                        "duplicates",
                        "other_sites",
                    )
                }
            )
        return list(digests.values())

    def pending_deliveries(self) -> int:
        return self._scalar(SQL["pending_deliveries"])

    def mark_sending(self, subscription_id: int, cluster_ids: Sequence[int], message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_sending"], (message_id, subscription_id, list(cluster_ids)))

    def mark_sent(
        self, subscription_id: int, cluster_ids: Sequence[int], message_id: str, note: str | None = None
    ) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_sent"], (message_id, note, subscription_id, list(cluster_ids)))

    def mark_failed(
        self, subscription_id: int, cluster_ids: Sequence[int], error: str, *, permanent: bool = False
    ) -> None:
        """Record a digest the server did not take: pending for the next run, or failed for good."""
        with self.transaction() as cur:
            cur.execute(SQL["mark_failed"], (error[:1000], permanent, subscription_id, list(cluster_ids)))

    def queue_reports(self, week: date) -> int:
        """Add a pending report of an ISO week (its Monday) for every active weekly subscription."""
        with self.transaction() as cur:
            cur.execute(SQL["queue_reports"], (week,))
            return cur.rowcount

    def reconcile_report_sending(self) -> int:
        """Count reports left `sending` by a run that died as sent (see `reconcile_sending`)."""
        return presume_sent(self, "report_deliveries")

    def pending_reports(self) -> list[dict[str, Any]]:
        """Return the pending weekly reports (subscription, address, week), oldest week first."""
        return self._all(SQL["pending_reports"])

    def pending_report_count(self) -> int:
        return self._scalar(SQL["pending_report_count"])

    def mark_report_sending(self, subscription_id: int, week: date, message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_report_sending"], (message_id, subscription_id, week))

    def mark_report_sent(
        self, subscription_id: int, week: date, message_id: str, note: str | None = None
    ) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_report_sent"], (message_id, note, subscription_id, week))

    def mark_report_failed(
        self, subscription_id: int, week: date, error: str, *, permanent: bool = False
    ) -> None:
        with self.transaction() as cur:
            cur.execute(SQL["mark_report_failed"], (error[:1000], permanent, subscription_id, week))


def presume_sent(session: Session, ledger: str) -> int:
    """Mark a ledger's rows left `sending` as sent (digests, weekly reports and notices follow one rule)."""
    with session.transaction() as cur:
        cur.execute(psycopg2.sql.SQL(SQL["presume_sent"]).format(psycopg2.sql.Identifier(ledger)))
        return cur.rowcount


def _number_new_clusters(cur: Any) -> None:
    """Number the committed clusters no alert run has seen yet (callers hold ALERT_LOCK)."""
    cur.execute(SQL["number_new_clusters"])
