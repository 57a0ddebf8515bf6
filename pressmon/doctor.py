"""`pressmon doctor`: check a deployment, one line per check, and say what to do about each problem.

Database reachable and migrated, the reader role's privileges and settings as designed, the SMTP server
reachable, each source's last crawl. It reads and probes; it never migrates, writes or sends mail.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pressmon import embedded, mail
from pressmon.config import URL_VARIABLES, Config
from pressmon.errors import ConfigError, DatabaseError, DeliveryError
from pressmon.redaction import scrub
from pressmon.store import SQL_DIR, Store, as_role, connect, load_migrations, server_label

READER = embedded.READER
STALE_AFTER = timedelta(days=2)
STUCK_AFTER = timedelta(days=1)
# Settings sql/0008_reader_hardening.sql gives the reader in pressmon's database, as pg_settings spells them.
READER_SETTINGS = {
    "statement_timeout": "60s",
    "idle_in_transaction_session_timeout": "5min",
    "default_transaction_read_only": "on",
}
# Databases on every server: the ones the reader is probed against (connecting to all of them would be a scan).
PROBED_DATABASES = ("postgres", "template1")
# Predefined roles whose members read or write files, run programs, or read and write every table.
DANGEROUS_ROLES = (
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_signal_backend",
)
SERVER_FUNCTIONS = ("pg_read_file(text)", "pg_read_binary_file(text)", "pg_ls_dir(text)", "lo_import(text)")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: status "ok", "warn" or "FAIL", what was found, and what to do about it."""

    check: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<4}  {self.check}: {self.message}" + (f". Fix: {self.fix}" if self.fix else "")


def ok(check: str, message: str) -> Check:
    return Check(check, "ok", message)


def warn(check: str, message: str, fix: str = "") -> Check:
    return Check(check, "warn", message, fix)


def fail(check: str, message: str, fix: str = "") -> Check:
    return Check(check, "FAIL", message, fix)


def run(
    config: Config,
    now: datetime | None = None,
    sql_dir: Path = SQL_DIR,
    problems: Sequence[ConfigError] = (),
) -> list[Check]:
    """Run every check; the database checks only when the database answers.

    `problems` are the bad values `Config.from_env_leniently` found: one FAIL line each, but for the URLs,
    which the database and SMTP checks diagnose.
    """
    now = now or datetime.now(UTC)
    checks = [
        fail("configuration", str(problem), f"fix {problem.variable}")
        for problem in problems
        if problem.variable not in URL_VARIABLES
    ]
    url = config.database_url or embedded.running_url(config.var_dir)
    if url is None:
        checks.append(
            fail(
                "database",
                f"PRESSMON_DATABASE_URL is unset and the embedded Postgres in {embedded.data_dir(config.var_dir)} "
                "is not running",
                "set PRESSMON_DATABASE_URL, or start the embedded one with `pressmon db migrate`",
            )
        )
    else:
        checks.extend(_database_checks(config, url, now, sql_dir))
    checks.append(_smtp(config))
    return [_scrubbed(check, config) for check in checks]


def report(checks: list[Check]) -> dict[str, Any]:
    """The --json form: {"ok": no check failed, "checks": [{check, status, message, fix}]}."""
    return {"ok": not any(c.status == "FAIL" for c in checks), "checks": [asdict(c) for c in checks]}


def _scrubbed(check: Check, config: Config) -> Check:
    secrets = (config.database_url, config.smtp_url)
    return Check(check.check, check.status, scrub(check.message, *secrets), scrub(check.fix, *secrets))


# -- the database ---------------------------------------------------------------------------------------


def _database_checks(config: Config, url: str, now: datetime, sql_dir: Path) -> Iterator[Check]:
    try:
        store = Store(connect(url, config.connect_timeout))
    except DatabaseError as exc:
        yield fail(
            "database",
            str(exc),
            "check PRESSMON_DATABASE_URL and that the server runs and accepts this host "
            f"(PRESSMON_CONNECT_TIMEOUT={config.connect_timeout}s)",
        )
        return
    with store:
        try:
            with store.transaction() as cur:
                cur.execute("SHOW server_version")
                version = cur.fetchone()["server_version"]
                cur.execute("SELECT current_database() AS db, current_user AS me")
                where = cur.fetchone()
            yield ok("database", f"PostgreSQL {version} at {server_label(url)} as {where['me']}")
            yield _migrations(store, sql_dir)
            yield from _reader(store, where["db"])
            yield _reader_elsewhere(store, url, where["db"], config.connect_timeout)
            yield from _sources(store, now, config.sources)
        except DatabaseError as exc:
            yield fail("database", f"a check could not finish: {exc}", "run `pressmon doctor` again")


def _migrations(store: Store, sql_dir: Path) -> Check:
    if _scalar(store, "SELECT to_regclass('pressmon_migrations') IS NOT NULL") is not True:
        return fail("migrations", "the database holds no pressmon tables", "run `pressmon db migrate`")
    applied = {
        row["version"]: row for row in _all(store, "SELECT version, name, checksum FROM pressmon_migrations")
    }
    known = load_migrations(sql_dir)
    edited = [m.name for m in known if m.version in applied and applied[m.version]["checksum"] != m.checksum]
    missing = [m.name for m in known if m.version not in applied]
    unknown = sorted(applied[v]["name"] for v in set(applied) - {m.version for m in known})
    if edited:
        return fail(
            "migrations",
            f"edited after they were applied: {', '.join(edited)}",
            "restore those files as they were applied and put the change in a new migration",
        )
    if missing:
        return fail("migrations", f"not applied: {', '.join(missing)}", "run `pressmon db migrate`")
    if unknown:
        return warn(
            "migrations",
            f"applied, but unknown to this pressmon: {', '.join(unknown)}",
            "run the pressmon version that applied them",
        )
    return ok("migrations", f"all {len(known)} applied, none edited")


# -- the reader role ------------------------------------------------------------------------------------

_READER_ROLE = """
SELECT oid, rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls AS powerful
  FROM pg_roles WHERE rolname = %(reader)s"""

_READER_CANNOT_READ = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'reporting' AND c.relkind IN ('v', 'm', 'r', 'p', 'f')
   AND NOT has_table_privilege(%(reader)s, c.oid, 'SELECT')
 ORDER BY 1"""

_READER_EXTRA_PRIVILEGES = """
SELECT format('%%I.%%I', n.nspname, c.relname) AS relation
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema'])
   AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
   AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%(reader)s, c.oid, 'USAGE, SELECT, UPDATE')
            WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') THEN
                 has_table_privilege(%(reader)s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                 OR has_any_column_privilege(%(reader)s, c.oid, 'INSERT, UPDATE, REFERENCES')
                 OR (n.nspname <> 'reporting' AND has_any_column_privilege(%(reader)s, c.oid, 'SELECT'))
            ELSE false END
 ORDER BY 1"""

_READER_SCHEMAS = """
SELECT nspname FROM pg_namespace
 WHERE has_schema_privilege(%(reader)s, oid, 'CREATE') AND nspname !~ '^pg_(toast|temp_|toast_temp_)'
 ORDER BY 1"""

_READER_DATABASE = """
SELECT has_database_privilege(%(reader)s, %(db)s, 'CREATE') AS can_create,
       has_database_privilege(%(reader)s, %(db)s, 'TEMPORARY') AS can_temp,
       has_database_privilege(%(reader)s, %(db)s, 'CONNECT') AS can_connect,
       ARRAY(SELECT r.rolname FROM pg_roles r
              WHERE r.rolname <> %(reader)s AND pg_has_role(%(reader)s, r.oid, 'MEMBER')
                AND (r.rolsuper OR r.rolname = ANY (%(dangerous)s))
              ORDER BY 1) AS powerful_roles,
       ARRAY(SELECT f FROM unnest(%(functions)s::text[]) f
              WHERE has_function_privilege(%(reader)s, f::regprocedure, 'EXECUTE')
              ORDER BY 1) AS server_functions"""

_READER_SETTINGS = """
SELECT unnest(s.setconfig) AS setting
  FROM pg_db_role_setting s
 WHERE s.setrole = %(oid)s
   AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
 ORDER BY s.setdatabase"""


def _reader(store: Store, db: str) -> Iterator[Check]:
    params = {
        "reader": READER,
        "db": db,
        "dangerous": list(DANGEROUS_ROLES),
        "functions": list(SERVER_FUNCTIONS),
    }
    role = _one(store, _READER_ROLE, params)
    if role is None:
        yield fail("reader role", f"there is no role {READER}", "run `pressmon db migrate`")
        return
    problems = []
    if role["powerful"]:
        problems.append("it has superuser, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS")
    grants = _one(store, _READER_DATABASE, params)
    if grants["powerful_roles"]:
        problems.append(f"it is a member of {', '.join(grants['powerful_roles'])}")
    if grants["server_functions"]:
        problems.append(f"it may run {', '.join(grants['server_functions'])}")
    if grants["can_create"]:
        problems.append(f"it may create schemas in database {db}")
    if grants["can_temp"]:
        problems.append(f"it may create temporary tables and functions in database {db}")
    schemas = [row["nspname"] for row in _all(store, _READER_SCHEMAS, params)]
    if schemas:
        problems.append(f"it may create objects in schema {', '.join(schemas)}")
    extra = [row["relation"] for row in _all(store, _READER_EXTRA_PRIVILEGES, params)]
    if extra:
        problems.append(f"it may read tables outside reporting, or write, in {_some(extra)}")
    unreadable = [row["relname"] for row in _all(store, _READER_CANNOT_READ, params)]
    if unreadable:
        problems.append(f"it cannot read reporting.{', reporting.'.join(unreadable)}")
    if not grants["can_connect"]:
        problems.append(f"it may not connect to database {db}")
    if problems:
        yield fail(
            "reader role",
            f"{READER} is not as designed: {'; '.join(problems)}",
            f'as the owner of {db}: REVOKE TEMPORARY, CONNECT ON DATABASE "{db}" FROM PUBLIC; '
            f'GRANT CONNECT ON DATABASE "{db}" TO {READER}; and revoke whatever else was granted to it',
        )
    else:
        views = _scalar(
            store,
            """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'reporting' AND c.relkind = 'v'""",
        )
        yield ok(
            "reader role", f"{READER} reads the {views} reporting views and nothing else, and writes nothing"
        )
    yield _reader_settings(store, role["oid"], db)


def _reader_settings(store: Store, oid: int, db: str) -> Check:
    settings: dict[str, str] = {}
    for row in _all(store, _READER_SETTINGS, {"oid": oid}):  # server-wide first, this database's after
        name, _, value = row["setting"].partition("=")
        settings[name] = value
    wrong = {name: want for name, want in READER_SETTINGS.items() if settings.get(name) in (None, "", "0")}
    if settings.get("default_transaction_read_only", "on").lower() not in {"on", "true", "1", "yes"}:
        wrong["default_transaction_read_only"] = "on"
    if wrong:
        return warn(
            "reader settings",
            f"{READER} sessions lack {', '.join(sorted(wrong))}",
            "as a superuser (or a role with CREATEROLE): "
            + "; ".join(
                f"ALTER ROLE {READER} IN DATABASE \"{db}\" SET {name} = '{value}'"
                for name, value in wrong.items()
            ),
        )
    shown = ", ".join(f"{name}={settings[name]}" for name in READER_SETTINGS)
    return ok("reader settings", shown)


def _reader_elsewhere(store: Store, url: str, db: str, timeout: int) -> Check:
    """Probe whether the reader can log in to the server's standard databases (only pg_hba.conf can stop it)."""
    granted = [
        row["datname"]
        for row in _all(
            store,
            """SELECT datname FROM pg_database
                WHERE datallowconn AND datname <> current_database()
                  AND has_database_privilege(%s, oid, 'CONNECT')
                ORDER BY datname""",
            (READER,),
        )
    ]
    if not granted:
        return ok("reader databases", f"no other database grants {READER} CONNECT")
    probed = [name for name in PROBED_DATABASES if name in granted] or granted[:1]
    admitted, unclear = [], []
    for name in probed:
        try:
            connect(as_role(url, READER, database=name), timeout).close()
            admitted.append(name)
        except DatabaseError as exc:
            if "pg_hba.conf" in str(exc):
                continue  # a rule refused it: what we want
            if "password" in str(exc) or "authentication" in str(exc):
                admitted.append(f"{name} (with its password)")
            else:
                unclear.append(f"{name} ({str(exc).rsplit(': ', 1)[-1]})")
    others = len(granted) - len(probed)
    if admitted or unclear:
        found = []
        if admitted:
            found.append(f"{READER} can log in to {', '.join(admitted)}")
        if unclear:
            found.append(f"could not tell for {', '.join(unclear)}")
        return warn(
            "reader databases",
            "; ".join(found)
            + f" ({len(granted)} other databases grant it CONNECT; only pg_hba.conf keeps it out)",
            f"put these lines before the other rules in pg_hba.conf, then SELECT pg_reload_conf(): "
            f"`host {db} {READER} all scram-sha-256` and `host all {READER} all reject`",
        )
    return ok(
        "reader databases",
        f"pg_hba.conf rejects {READER} from {', '.join(probed)}"
        + (f" ({others} more databases grant it CONNECT: keep the reject rule for `all`)" if others else ""),
    )


# -- sources --------------------------------------------------------------------------------------------

_LAST_CRAWLS = """
SELECT s.code, s.enabled, last.status, last.started_at, last.finished_at,
       coalesce(jsonb_array_length(last.errors), 0) AS errors, last.errors -> 0 ->> 'reason' AS first_error
  FROM sources s
  LEFT JOIN LATERAL (SELECT * FROM crawl_run_sources crs
                      WHERE crs.source = s.code ORDER BY crs.started_at DESC LIMIT 1) last ON true
 ORDER BY s.code"""


def _sources(store: Store, now: datetime, only: tuple[str, ...] | None = None) -> Iterator[Check]:
    """Check the last crawl of every source this deployment crawls (PRESSMON_SOURCES, when set)."""
    if _scalar(store, "SELECT to_regclass('crawl_run_sources') IS NOT NULL") is not True:
        return
    rows = [row for row in _all(store, _LAST_CRAWLS) if only is None or row["code"] in only]
    if not rows:
        yield warn("sources", "no source is registered", "run `pressmon sources`")
    for row in rows:
        yield _source(row, now)


def _source(row: dict[str, Any], now: datetime) -> Check:
    name = f"source {row['code']}"
    if not row["enabled"]:
        return ok(name, "disabled")
    if row["status"] is None:
        return warn(name, "never crawled", f"run `pressmon crawl {row['code']}`, or the nightly DAG")
    started = row["started_at"]
    if row["status"] == "running":
        if now - started > STUCK_AFTER:
            return warn(
                name,
                f"a crawl started {_when(started)} never finished",
                "look for its process and task log; the next crawl records a new outcome",
            )
        return ok(name, f"crawling since {_when(started)}")
    finished = row["finished_at"] or started
    if row["status"] == "failed":
        first = (
            (row["first_error"] or "").splitlines()[0][:200] if row["first_error"] else "no reason recorded"
        )
        return fail(
            name,
            f"last crawl failed {_when(finished)} with {row['errors']} errors; first: {first}",
            f"read crawl_run_sources.errors, then `pressmon crawl {row['code']}`",
        )
    if now - finished > STALE_AFTER:
        return warn(
            name,
            f"last crawl {_when(finished)}, {(now - finished).days} days ago",
            "is the scheduler running and the DAG unpaused?",
        )
    if row["errors"]:
        return warn(
            name,
            f"last crawl {_when(finished)} succeeded with {row['errors']} errors",
            "read crawl_run_sources.errors",
        )
    return ok(name, f"last crawl {_when(finished)} succeeded")


# -- SMTP -----------------------------------------------------------------------------------------------


def _smtp(config: Config) -> Check:
    if not config.smtp_url:
        return warn("smtp", "no SMTP configured: digests stay pending", "set PRESSMON_SMTP_URL")
    try:
        target = mail.SmtpTarget.from_url(config.smtp_url)
    except ConfigError as exc:
        return fail("smtp", str(exc), "fix PRESSMON_SMTP_URL")
    try:
        mail.probe(target)
    except DeliveryError as exc:
        return fail(
            "smtp", str(exc), "check PRESSMON_SMTP_URL, and that the server runs and accepts this host"
        )
    steps = [
        "EHLO",
        *(["STARTTLS"] if target.tls == "starttls" else []),
        *(["login"] if target.username else []),
    ]
    return ok("smtp", f"{target.host}:{target.port} answers ({', '.join(steps)}; nothing sent)")


# -- helpers --------------------------------------------------------------------------------------------


def _all(store: Store, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    with store.transaction() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def _one(store: Store, sql: str, params: Any = ()) -> dict[str, Any] | None:
    rows = _all(store, sql, params)
    return rows[0] if rows else None


def _scalar(store: Store, sql: str, params: Any = ()) -> Any:
    row = _one(store, sql, params)
    return next(iter(row.values())) if row else None


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _some(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
