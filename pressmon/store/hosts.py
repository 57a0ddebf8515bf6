"""Crawl turns on shared hosts: a session advisory lock per host, held by a crawl's own connection."""

from __future__ import annotations

from pressmon.store import queries
from pressmon.store.connection import HOST_LOCKS, Session

SQL = queries.load("hosts")


class HostQueries(Session):
    """Host locks of crawls (pressmon/politeness.py). They are the session's until its connection closes."""

    def name_session(self, name: str) -> None:
        """Set the session's application_name, which other sessions see in pg_stat_activity."""
        with self.transaction() as cur:
            cur.execute(SQL["name_session"], (name,))

    def try_host(self, key: int) -> bool:
        """Take a host's lock if it is free; return whether it was."""
        with self.transaction() as cur:
            cur.execute(SQL["try_host"], (HOST_LOCKS, key))
            return bool(cur.fetchone()["taken"])

    def wait_for_host(self, key: int) -> None:
        """Take a host's lock, waiting for whoever holds it."""
        with self.transaction() as cur:
            cur.execute(SQL["wait_for_host"], (HOST_LOCKS, key))

    def host_holder(self, key: int) -> str | None:
        """Return the application_name of the session holding a host's lock, None when nobody does."""
        row = self._one(SQL["host_holder"], (HOST_LOCKS, key))
        return row["application_name"] if row else None
