"""One configuration object, read from PRESSMON_* environment variables, with laptop defaults."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pressmon.errors import ConfigError
from pressmon.redaction import redact

DEFAULT_USER_AGENT = "pressmon/0.1 (press-release monitoring; +{contact})"
DEFAULT_CONTACT = "mailto:pressmon@localhost"
BASE_URL_PREFIX = "PRESSMON_BASE_URL_"
T = TypeVar("T", int, float)


@dataclass(frozen=True)
class Config:
    """Everything pressmon reads from its environment.

    Args:
        database_url: libpq URL of the pressmon database; None starts the embedded Postgres under var_dir.
        reader_url: libpq URL of the read-only role reports read through; None: database_url as pressmon_reader.
        var_dir: local state: embedded Postgres data, Airflow home for the demo, the outbox.
        smtp_url: smtp://[user:password@]host[:port][?tls=starttls|ssl|none]; None means no mail is sent.
        mail_from: the From header of alert digests.
        contact: a URL or mailto: put in the crawler's User-Agent so site owners can reach us.
        base_urls: per source code, the base URL to crawl instead of the real site (e.g. a local mirror).
        scheme: the industry-chain scheme new releases are tagged with.
        crawl_overlap: how many already-known detail pages a spider walks past before it stops.
        max_list_pages: a ceiling on list pages per source and run (the first crawl of an archive).
        batch_size: raw pages processed per database transaction.
        crawl_delay: seconds between requests to one site (AutoThrottle starts there and adapts).
        download_timeout: seconds before a request is given up.
        owed_retries: failed fetches of a detail page (over as many runs) before it is given up and reported.
        max_page_bytes: a page larger than this is refused while downloading and reported as too large.
        connect_timeout: seconds before a Postgres server that does not answer is given up (0: wait forever).
    """

    database_url: str | None = None
    reader_url: str | None = None
    var_dir: Path = field(default_factory=lambda: Path("var").resolve())
    smtp_url: str | None = None
    mail_from: str = "pressmon <pressmon@localhost>"
    contact: str = DEFAULT_CONTACT
    base_urls: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "qingdao-10plus1-2025"
    crawl_overlap: int = 3
    max_list_pages: int = 200
    batch_size: int = 100
    crawl_delay: float = 1.0
    download_timeout: float = 30.0
    owed_retries: int = 5
    max_page_bytes: int = 10 * 1024 * 1024
    connect_timeout: int = 10

    def __repr__(self) -> str:
        # Configs end up in logs and tracebacks; the URLs carry passwords.
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("database_url", "smtp_url"):
            if shown[name]:
                shown[name] = redact(shown[name])
        return f"Config({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    @property
    def user_agent(self) -> str:
        return DEFAULT_USER_AGENT.format(contact=self.contact)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the configuration from the environment (os.environ by default)."""
        env = os.environ if env is None else env
        defaults = cls()
        base_urls = {
            key[len(BASE_URL_PREFIX) :].lower(): value.rstrip("/")
            for key, value in env.items()
            if key.startswith(BASE_URL_PREFIX) and value
        }
        return cls(
            database_url=env.get("PRESSMON_DATABASE_URL") or None,
            reader_url=env.get("PRESSMON_READER_URL") or None,
            var_dir=Path(env.get("PRESSMON_VAR_DIR") or defaults.var_dir).resolve(),
            smtp_url=env.get("PRESSMON_SMTP_URL") or None,
            mail_from=env.get("PRESSMON_MAIL_FROM") or defaults.mail_from,
            contact=env.get("PRESSMON_CONTACT") or defaults.contact,
            base_urls=base_urls,
            scheme=env.get("PRESSMON_SCHEME") or defaults.scheme,
            crawl_overlap=_int(env, "PRESSMON_CRAWL_OVERLAP", defaults.crawl_overlap),
            max_list_pages=_int(env, "PRESSMON_MAX_LIST_PAGES", defaults.max_list_pages),
            batch_size=_int(env, "PRESSMON_BATCH_SIZE", defaults.batch_size),
            crawl_delay=_float(env, "PRESSMON_CRAWL_DELAY", defaults.crawl_delay),
            download_timeout=_float(env, "PRESSMON_DOWNLOAD_TIMEOUT", defaults.download_timeout),
            owed_retries=max(1, _int(env, "PRESSMON_OWED_RETRIES", defaults.owed_retries)),
            max_page_bytes=_int(env, "PRESSMON_MAX_PAGE_BYTES", defaults.max_page_bytes),
            connect_timeout=_int(env, "PRESSMON_CONNECT_TIMEOUT", defaults.connect_timeout),
        )


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    return _number(env, key, default, int, "a whole number")


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    return _number(env, key, default, float, "a number")


def _number(env: Mapping[str, str], key: str, default: T, kind: Callable[[str], T], what: str) -> T:
    """Read a non-negative number, or say which variable is malformed."""
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{key} must be {what}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{key} must not be negative, got {value}")
    return value
