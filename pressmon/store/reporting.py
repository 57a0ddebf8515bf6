"""Counts and lists for run summaries and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pressmon.store import queries
from pressmon.store.connection import Session

SQL = queries.load("reporting")


class ReportingQueries(Session):
    """Counts over a run and the archive."""

    def run_counts(self, since: datetime) -> dict[str, Any]:
        """Count what happened since a moment: new releases and clusters, duplicates, failed pages."""
        return self._one(SQL["run_counts"], {"since": since})

    def failed_pages(self, since: datetime) -> list[dict[str, Any]]:
        return self._all(SQL["failed_pages"], (since,))

    def totals(self) -> dict[str, Any]:
        return self._one(SQL["totals"])

    def new_releases_by_source(self, since: datetime) -> dict[str, int]:
        """Count the new releases (clusters first seen since a moment) each source holds a copy of.

        A release two sources published counts for both; the run's own total counts it once.
        """
        rows = self._all(SQL["new_releases_by_source"], {"since": since})
        return {row["source"]: row["n"] for row in rows}

    def clusters_across_sources(self, limit: int = 10) -> list[dict[str, Any]]:
        """Return clusters whose copies come from more than one source: canonical title, sources, copies."""
        return self._all(SQL["clusters_across_sources"], (limit,))

    def chain_counts(self) -> list[dict[str, Any]]:
        return self._all(SQL["chain_counts"])
