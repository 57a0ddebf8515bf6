"""One configuration object, read from PRESSMON_* environment variables, with laptop defaults."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from pressmon.errors import ConfigError, PressmonError
from pressmon.redaction import redact, scrub

DEFAULT_USER_AGENT = "pressmon/0.1 (press-release monitoring; +{contact})"
DEFAULT_CONTACT = "mailto:pressmon@localhost"
BASE_URL_PREFIX = "PRESSMON_BASE_URL_"
# The Airflow connection both the failure notifier and the alerts (when PRESSMON_SMTP_URL is unset) use:
# Airflow's own default, so one AIRFLOW_CONN_SMTP_DEFAULT serves both.
DEFAULT_SMTP_CONN_ID = "smtp_default"
URL_VARIABLES = ("PRESSMON_DATABASE_URL", "PRESSMON_SMTP_URL")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The folder holding pyproject.toml when pressmon runs from a checkout (an editable install); in a wheel,
# site-packages.
SOURCE_ROOT = Path(__file__).resolve().parent.parent
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
T = TypeVar("T", int, float)


def default_var_dir() -> Path:
    """Where local state lives unless PRESSMON_VAR_DIR says otherwise: one place per checkout or user.

    From a checkout, its var/ (what the demo and the README show), whatever the working directory; from an
    installed wheel, the user's data folder.
    """
    if (SOURCE_ROOT / "pyproject.toml").is_file():
        return SOURCE_ROOT / "var"
    import platformdirs

    return Path(platformdirs.user_data_dir("pressmon", appauthor=False))


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
        sources: the only sources nightly runs crawl (declared codes); None: every enabled source.
        scheme: the industry-chain scheme new releases are tagged with.
        crawl_overlap: how many already-known detail pages a spider walks past before it stops.
        max_list_pages: a ceiling on list pages per source and run (the first crawl of an archive).
        batch_size: raw pages processed per database transaction.
        process_workers: processes that parse pages (1: parse in the process itself).
        process_tasks: the nightly DAG's `process` tasks, which share the pages (one per Celery worker).
        crawl_delay: seconds between requests to one site (AutoThrottle starts there and adapts).
        download_timeout: seconds before a request is given up.
        owed_retries: failed fetches of a detail page (over as many runs) before it is given up and reported.
        max_page_bytes: a page larger than this is refused while downloading and reported as too large.
        connect_timeout: seconds before a Postgres server that does not answer is given up (0: wait forever).
        log_level: what the CLI logs to stderr when neither -v nor -q is given.
        crawl_log_level: log level of the Scrapy crawl processes.
        task_retries: retries of each task of the nightly DAG.
        failure_email: where the DAG's failure notifier writes when a task fails; None: nobody.
        smtp_conn_id: the Airflow SMTP connection of the failure notifier, and of the alerts when smtp_url is
            unset.
        operator_email: where a change of a source's health state is mailed (once per change); None: nobody.
        parse_error_share: above this share of a run's detail pages failing extraction, a source is judged
            `parse_errors` (0..1).
    """

    database_url: str | None = None
    reader_url: str | None = None
    var_dir: Path = field(default_factory=default_var_dir)
    smtp_url: str | None = None
    mail_from: str = "pressmon <pressmon@localhost>"
    contact: str = DEFAULT_CONTACT
    base_urls: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] | None = None
    # Read by parsers.tag from the environment itself (parsers take no Config); checked here with the rest.
    segmenter: str | None = None
    scheme: str = "qingdao-10plus1-2025"
    crawl_overlap: int = 3
    max_list_pages: int = 200
    batch_size: int = 100
    process_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    process_tasks: int = 1
    crawl_delay: float = 1.0
    download_timeout: float = 30.0
    owed_retries: int = 5
    max_page_bytes: int = 10 * 1024 * 1024
    connect_timeout: int = 10
    log_level: str = "WARNING"
    crawl_log_level: str = "INFO"
    task_retries: int = 2
    failure_email: str | None = None
    smtp_conn_id: str = DEFAULT_SMTP_CONN_ID
    operator_email: str | None = None
    parse_error_share: float = 0.25

    def __repr__(self) -> str:
        # Configs end up in logs and tracebacks; the URLs carry passwords.
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("database_url", "reader_url", "smtp_url"):
            if shown[name]:
                shown[name] = redact(shown[name])
        return f"Config({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    @property
    def user_agent(self) -> str:
        return DEFAULT_USER_AGENT.format(contact=self.contact)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the configuration from the environment (os.environ by default).

        Raises:
            ConfigError: a variable has a value pressmon cannot use; the message names it and what it expects.
        """
        env = os.environ if env is None else env
        defaults = cls()
        base_urls = {
            key[len(BASE_URL_PREFIX) :].lower(): _base_url(key, value)
            for key, value in env.items()
            if key.startswith(BASE_URL_PREFIX) and value
        }
        var_dir = env.get("PRESSMON_VAR_DIR")
        return cls(
            database_url=_database_url(env.get("PRESSMON_DATABASE_URL") or None),
            reader_url=_database_url(env.get("PRESSMON_READER_URL") or None, "PRESSMON_READER_URL"),
            var_dir=Path(var_dir).expanduser().resolve() if var_dir else defaults.var_dir,
            smtp_url=_smtp_url(env.get("PRESSMON_SMTP_URL") or None),
            mail_from=_mail_from(env.get("PRESSMON_MAIL_FROM") or defaults.mail_from),
            contact=_one_line(env, "PRESSMON_CONTACT", defaults.contact),
            base_urls=base_urls,
            sources=_sources(env.get("PRESSMON_SOURCES") or None),
            segmenter=_segmenter(env.get("PRESSMON_SEGMENTER") or None),
            scheme=_scheme(env.get("PRESSMON_SCHEME") or defaults.scheme),
            crawl_overlap=_int(env, "PRESSMON_CRAWL_OVERLAP", defaults.crawl_overlap),
            max_list_pages=_int(env, "PRESSMON_MAX_LIST_PAGES", defaults.max_list_pages, minimum=1),
            batch_size=_int(env, "PRESSMON_BATCH_SIZE", defaults.batch_size, minimum=1),
            process_workers=_int(env, "PRESSMON_PROCESS_WORKERS", defaults.process_workers, minimum=1),
            process_tasks=_int(env, "PRESSMON_PROCESS_TASKS", defaults.process_tasks, minimum=1),
            crawl_delay=_float(env, "PRESSMON_CRAWL_DELAY", defaults.crawl_delay),
            download_timeout=_float(
                env, "PRESSMON_DOWNLOAD_TIMEOUT", defaults.download_timeout, positive=True
            ),
            owed_retries=_int(env, "PRESSMON_OWED_RETRIES", defaults.owed_retries, minimum=1),
            max_page_bytes=_int(env, "PRESSMON_MAX_PAGE_BYTES", defaults.max_page_bytes, minimum=1),
            connect_timeout=_int(env, "PRESSMON_CONNECT_TIMEOUT", defaults.connect_timeout),
            log_level=_log_level(env, "PRESSMON_LOG_LEVEL", defaults.log_level),
            crawl_log_level=_log_level(env, "PRESSMON_CRAWL_LOG_LEVEL", defaults.crawl_log_level),
            task_retries=_int(env, "PRESSMON_TASK_RETRIES", defaults.task_retries),
            failure_email=_failure_email(env.get("PRESSMON_FAILURE_EMAIL") or None),
            smtp_conn_id=_one_line(env, "PRESSMON_SMTP_CONN_ID", defaults.smtp_conn_id),
            operator_email=_address(env.get("PRESSMON_OPERATOR_EMAIL") or None, "PRESSMON_OPERATOR_EMAIL"),
            parse_error_share=_share(env, "PRESSMON_PARSE_ERROR_SHARE", defaults.parse_error_share),
        )

    @classmethod
    def from_env_leniently(cls, env: Mapping[str, str] | None = None) -> tuple[Config, list[ConfigError]]:
        """Read what can be read, for `pressmon doctor`: return the configuration and every bad value found.

        A bad value counts as unset, except the two URLs (URL_VARIABLES): they are kept as given, for doctor's
        database and SMTP checks to diagnose.
        """
        given = dict(os.environ if env is None else env)
        env = dict(given)
        problems: list[ConfigError] = []
        while True:
            try:
                config = cls.from_env(env)
                break
            except ConfigError as exc:
                if exc.variable not in env:
                    raise
                problems.append(exc)
                del env[exc.variable]
        kept = {
            name: given[variable]
            for name, variable in (
                ("database_url", "PRESSMON_DATABASE_URL"),
                ("smtp_url", "PRESSMON_SMTP_URL"),
            )
            if variable not in env and given.get(variable)
        }
        return dataclasses.replace(config, **kept), problems


def email_address(value: str, what: str, error: type[PressmonError] = ConfigError) -> str:
    """Return an email address in its normal form, or raise `error` naming `what` and what is wrong."""
    from email_validator import EmailNotValidError, validate_email

    # A line break in an address would become a header line of every message sent to it.
    if CONTROL_CHARACTERS.search(value):
        raise error(f"{what}: not an email address: {value!r} holds a line break or control character")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise error(f"{what}: not an email address like name@example.org: {value!r} ({exc})") from None


def _database_url(url: str | None, variable: str = "PRESSMON_DATABASE_URL") -> str | None:
    if url is None:
        return None
    import psycopg2.extensions

    try:
        psycopg2.extensions.parse_dsn(url)
    except psycopg2.Error as exc:
        # libpq may quote the malformed part, password and all.
        reason = scrub(str(exc).strip().splitlines()[0], url)
        raise ConfigError(
            f"{variable} is not a valid Postgres URL (expected "
            f"postgresql://user:password@host:5432/pressmon, or key=value pairs): {reason}",
            variable,
        ) from None
    return url


def _smtp_url(url: str | None) -> str | None:
    if url is not None:
        from pressmon.mail import SmtpTarget

        SmtpTarget.from_url(url)  # its errors name the variable and never quote the URL
    return url


def _mail_from(value: str) -> str:
    _, address = parseaddr(value)
    if CONTROL_CHARACTERS.search(value) or "@" not in address:
        raise ConfigError(
            f"PRESSMON_MAIL_FROM must be an address, optionally with a name: 'pressmon <alerts@example.org>', "
            f"got {value!r}",
            "PRESSMON_MAIL_FROM",
        )
    return value


def _failure_email(value: str | None) -> str | None:
    return _address(value, "PRESSMON_FAILURE_EMAIL")


def _address(value: str | None, key: str) -> str | None:
    if value is None:
        return None
    try:
        return email_address(value, key)
    except ConfigError as exc:
        raise ConfigError(str(exc), key) from None


def _share(env: Mapping[str, str], key: str, default: float) -> float:
    value = _float(env, key, default)
    if value >= 1:
        raise ConfigError(f"{key} must be a share below 1 (e.g. 0.25), got {env.get(key)!r}", key)
    return value


def _one_line(env: Mapping[str, str], key: str, default: str) -> str:
    value = env.get(key) or default
    if CONTROL_CHARACTERS.search(value):
        raise ConfigError(f"{key} must be one line of printable text", key)
    return value


def _scheme(code: str) -> str:
    from parsers.taxonomy import scheme_codes

    known = scheme_codes()
    if code not in known:
        raise ConfigError(
            f"PRESSMON_SCHEME must be one of {', '.join(known)}; got {code!r}", "PRESSMON_SCHEME"
        )
    return code


def _segmenter(value: str | None) -> str | None:
    if value is not None and value.lower() not in ("jieba", "rjieba"):
        raise ConfigError(
            f"PRESSMON_SEGMENTER must be jieba or rjieba (unset: rjieba where installed), not {value!r}",
            "PRESSMON_SEGMENTER",
        )
    return value.lower() if value else None


def _sources(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from pressmon.sources import SourceError, registry

    codes = tuple(code.strip() for code in value.split(",") if code.strip())
    try:
        declared = registry()
    except SourceError as exc:
        raise ConfigError(f"PRESSMON_SOURCES cannot be checked: {exc}", "PRESSMON_SOURCES") from None
    unknown = [code for code in codes if code not in declared]
    if unknown or not codes:
        raise ConfigError(
            f"PRESSMON_SOURCES must name declared sources, comma-separated ({', '.join(declared)}); "
            f"got {value!r}",
            "PRESSMON_SOURCES",
        )
    return codes


def _base_url(key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{key} must be an http:// or https:// URL, got {value!r}", key)
    return value.rstrip("/")


def _log_level(env: Mapping[str, str], key: str, default: str) -> str:
    value = (env.get(key) or default).upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{key} must be one of {', '.join(LOG_LEVELS)}, got {env.get(key)!r}", key)
    return value


def _int(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    return _number(env, key, default, int, "a whole number", minimum)


def _float(env: Mapping[str, str], key: str, default: float, positive: bool = False) -> float:
    return _number(env, key, default, float, "a number", 0, positive)


def _number(
    env: Mapping[str, str],
    key: str,
    default: T,
    kind: Callable[[str], T],
    what: str,
    minimum: int = 0,
    positive: bool = False,
) -> T:
    """Read a number of at least `minimum` (above 0 if `positive`), or say which variable is malformed."""
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{key} must be {what}, got {raw!r}", key) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{key} must be a finite number, got {raw!r}", key)
    if positive and value <= 0:
        raise ConfigError(f"{key} must be more than 0, got {raw!r}", key)
    if value < minimum:
        limit = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise ConfigError(f"{key} {limit}, got {raw!r}", key)
    return value
