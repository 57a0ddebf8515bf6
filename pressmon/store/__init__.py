"""The store: the only package that talks to Postgres. Every query is named, in the .sql file of its area,
and runs with bound parameters."""

from __future__ import annotations

from pressmon.redaction import redact
from pressmon.store.connection import (
    ALERT_LOCK,
    CLUSTERING_LOCK,
    HEALTH_LOCK,
    MIGRATION_LOCK,
    REPORT_LOCK,
    Connection,
    Session,
    as_role,
    connect,
    database_error,
    database_url,
    server_label,
)
from pressmon.store.deliveries import DeliveryQueries
from pressmon.store.health import HealthQueries
from pressmon.store.hosts import HostQueries
from pressmon.store.migrations import SQL_DIR, Migration, check_schema, load_migrations, migrate
from pressmon.store.pages import PageQueries
from pressmon.store.releases import ReleaseQueries
from pressmon.store.reporting import ReportingQueries
from pressmon.store.runs import RunQueries
from pressmon.store.sources import SourceQueries
from pressmon.store.taxonomy import TaxonomyQueries


class Store(
    SourceQueries,
    RunQueries,
    PageQueries,
    ReleaseQueries,
    TaxonomyQueries,
    DeliveryQueries,
    HealthQueries,
    HostQueries,
    ReportingQueries,
):
    """Named queries over one connection. Use `with store.transaction():` around writes.

    Methods that take a `cur` run inside the caller's open transaction (`with store.transaction() as cur:`);
    every other method runs in a transaction of its own.
    """


__all__ = [
    "ALERT_LOCK",
    "CLUSTERING_LOCK",
    "HEALTH_LOCK",
    "MIGRATION_LOCK",
    "REPORT_LOCK",
    "SQL_DIR",
    "Connection",
    "Migration",
    "Session",
    "Store",
    "as_role",
    "check_schema",
    "connect",
    "database_error",
    "database_url",
    "load_migrations",
    "migrate",
    "redact",
    "server_label",
]
