"""Errors of pressmon: one base class, one subclass per thing that can go wrong."""

from __future__ import annotations


class PressmonError(Exception):
    """Base class of every error pressmon raises on purpose."""


class ConfigError(PressmonError):
    """A PRESSMON_* setting is missing or malformed; `variable` names it."""

    def __init__(self, message: str, variable: str | None = None):
        super().__init__(message)
        self.variable = variable


class DatabaseError(PressmonError):
    """Postgres cannot be started or migrated, or refused a statement; `pgcode` is its SQLSTATE if it sent one."""

    pgcode: str | None = None


class DatabaseUnavailable(DatabaseError):
    """Postgres cannot be reached, or the connection to it was lost: trying again later may succeed."""


class MigrationError(DatabaseError):
    """A migration file is malformed, one already applied was edited afterwards, or one failed to apply."""


class SchemaError(DatabaseError):
    """The database is not at this pressmon's migration (`pressmon db migrate` not run, or pressmon is older),
    or the configured role cannot read pressmon's tables."""


class UnknownSourceError(PressmonError):
    """A source code names no declared source (pressmon/sources/registry/)."""


class CrawlError(PressmonError):
    """A crawl process failed before it could record its own outcome."""


class SubscriptionError(PressmonError):
    """A subscription names an unknown chain or source, or an invalid address."""


class DeliveryError(PressmonError):
    """An alert digest could not be handed to the SMTP server."""


class DeliveryRefused(DeliveryError):
    """The SMTP server refused the recipient or the message for good (a 5xx answer): retrying will not help."""
