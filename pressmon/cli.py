"""The `pressmon` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from pressmon.config import Config, email_address
from pressmon.errors import PressmonError, SubscriptionError
from pressmon.progress import QUIET, LogHandler, Progress, for_stream

# Exit codes: 1 a command failed, 2 it was called wrongly, 130 interrupted, 141 its reader went away (as a
# program killed by SIGPIPE).
USAGE_ERROR = 2
INTERRUPTED = 130
BROKEN_PIPE = 141
_log_handler = LogHandler(sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line told in one line."""

    def error(self, message: str) -> Any:
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None) -> int:
    from parsers.taxonomy import TaxonomyError

    parser = _parser()
    args = parser.parse_args(argv)
    verbosity = getattr(args, "verbose", 0) - getattr(args, "quiet", 0)
    debug = getattr(args, "debug", False)
    _setup_logging(verbosity, debug, None)
    if getattr(args, "handler", None) is None:
        getattr(args, "group", parser).print_help(sys.stderr)
        return USAGE_ERROR
    try:
        if getattr(args, "lenient", False):
            config, args.problems = Config.from_env_leniently()
        else:
            config = Config.from_env()
        _setup_logging(verbosity, debug, config.log_level)
        code = args.handler(args, config) or 0
        sys.stdout.flush()
        return code
    except (PressmonError, TaxonomyError) as exc:
        _end_progress_line()
        if verbosity > 0 or debug:
            logging.getLogger("pressmon").info("pressmon %s failed", args.handler.__name__, exc_info=True)
        print(f"pressmon: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (`| head`) has what it wanted; the rest of the output goes nowhere, without a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        _end_progress_line()
        print("pressmon: interrupted", file=sys.stderr)
        return INTERRUPTED


def _end_progress_line() -> None:
    """End a live progress line, so that what follows starts on a line of its own."""
    if _log_handler.terminal is not None:
        _log_handler.terminal.finish()


def _setup_logging(verbosity: int, debug: bool, configured: str | None) -> None:
    """Log to stderr: -v INFO, -vv or --debug DEBUG, -q ERROR, else PRESSMON_LOG_LEVEL (WARNING)."""
    if debug or verbosity > 1:
        level = logging.DEBUG
    elif verbosity == 1:
        level = logging.INFO
    elif verbosity < 0:
        level = logging.ERROR
    else:
        level = getattr(logging, configured or "WARNING")
    root = logging.getLogger()
    _log_handler.stream = sys.stderr  # not setStream: it flushes the old stream, which may be closed
    _log_handler.terminal = None
    if _log_handler not in root.handlers:
        _log_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(_log_handler)
    root.setLevel(level)


def _progress(args: argparse.Namespace) -> Progress:
    """Progress on stderr (live on a terminal), or none with -q."""
    if getattr(args, "quiet", 0) > getattr(args, "verbose", 0):
        return QUIET
    return for_stream(sys.stderr, _log_handler)


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Add -v, -q and --debug to a parser and every parser below it, so they work anywhere on the line;
    give each command group its own help when it is called without an action."""
    # Below the top, an option not given must not overwrite what the top parser read.
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("-v", "--verbose", action="count", help="log more (-vv: everything)", **default)
    parser.add_argument("-q", "--quiet", action="count", help="only errors; no progress", **default)
    parser.add_argument(
        "--debug", action="store_true", help="log everything, and show the traceback of a failure", **default
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _common_options(child, top=False)
                if any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                    child.set_defaults(group=child)


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    parser = _Parser(prog="pressmon", description="Monitor Chinese government press releases.")
    parser.add_argument("--version", action="version", version=f"pressmon {version('pressmon')}")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="the pressmon database").add_subparsers(metavar="ACTION")
    db.add_parser(
        "migrate", help="apply pending migrations (and start the embedded Postgres if needed)"
    ).set_defaults(handler=_db_migrate)
    db.add_parser("stop", help="stop the embedded Postgres").set_defaults(handler=_db_stop)
    url = db.add_parser("url", help="print the database URL (its password hidden)")
    url.add_argument("--show-password", action="store_true", help="print the password too, e.g. for psql")
    url.set_defaults(handler=_db_url, lenient=True)

    sub.add_parser("demo", help="run the nightly job against the bundled offline sites").set_defaults(
        handler=_demo
    )

    crawl = sub.add_parser("crawl", help="crawl one source now")
    crawl.add_argument("source")
    crawl.add_argument("--run-key", help="crawl run to record this in (default: a new one)")
    crawl.set_defaults(handler=_crawl)

    sub.add_parser("process", help="parse, deduplicate and tag every pending page").set_defaults(
        handler=_process
    )
    sub.add_parser("alert", help="send digests of new matching releases").set_defaults(handler=_alert)

    reprocess = sub.add_parser("reprocess", help="parse every stored page again (after a parser fix)")
    reprocess.set_defaults(handler=_reprocess)

    health = sub.add_parser(
        "health", help="judge each source's health after a run's crawl and processing; mail changes once"
    )
    health.add_argument("--run-key", help="the crawl run to judge (default: the latest)")
    health.set_defaults(handler=_health)

    sources = sub.add_parser(
        "sources", help="list sources with their health; enable or disable one; retry the pages it gave up"
    )
    sources.add_argument("action", nargs="?", choices=["enable", "disable", "retry"])
    sources.add_argument("code", nargs="?")
    sources.add_argument("--json", action="store_true", help="a JSON list instead of one line per source")
    sources.set_defaults(handler=_sources)

    subscribe = sub.add_parser("subscribe", help="manage alert subscriptions").add_subparsers(
        metavar="ACTION"
    )
    add = subscribe.add_parser("add", help="subscribe an address to chains, sources or keywords")
    add.add_argument("email")
    add.add_argument("--chain", action="append", default=[], help="official chain name (repeatable)")
    add.add_argument("--source", action="append", default=[], help="source code (repeatable)")
    add.add_argument("--keyword", action="append", default=[], help="word in title or body (repeatable)")
    add.add_argument(
        "--weekly",
        action="store_true",
        help="receive the weekly report (every chain) instead of nightly digests",
    )
    add.set_defaults(handler=_subscribe_add)
    listing = subscribe.add_parser("list", help="list active subscriptions")
    listing.add_argument(
        "--json", action="store_true", help="a JSON list instead of one line per subscription"
    )
    listing.set_defaults(handler=_subscribe_list)
    remove = subscribe.add_parser("remove", help="end a subscription by id, or all of an address")
    remove.add_argument("target", help="subscription id or email address")
    remove.set_defaults(handler=_subscribe_remove)

    doctor = sub.add_parser(
        "doctor", help="check the deployment: database, migrations, reader role, SMTP, sources"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of one line per check")
    # Doctor reads the configuration itself, leniently, to report every bad value instead of stopping.
    doctor.set_defaults(handler=_doctor, lenient=True)
    report = sub.add_parser("report", help="reports for people to read").add_subparsers(metavar="KIND")
    report_weekly = report.add_parser("weekly", help="write the weekly report (HTML and PNG charts)")
    report_weekly.add_argument("--week", help="ISO week YYYY-Www (default: the last complete week)")
    report_weekly.add_argument("--out", type=Path, help="folder to write to (default: var/reports)")
    report_weekly.add_argument(
        "--mail", action="store_true", help="also mail it to weekly subscribers (exactly once per week)"
    )
    report_weekly.set_defaults(handler=_report_weekly)

    retag = sub.add_parser("retag", help="tag the whole archive again (after a taxonomy change)")
    retag.add_argument(
        "--scheme", help="scheme code (default: the current one); other schemes' tags are kept"
    )
    retag.set_defaults(handler=_retag)

    compare = sub.add_parser("compare", help="tell whether two saved pages or texts are the same release")
    compare.add_argument("a", type=Path)
    compare.add_argument("b", type=Path)
    compare.add_argument("--url-a")
    compare.add_argument("--url-b")
    compare.set_defaults(handler=_compare)

    extract = sub.add_parser("extract", help="extract a release from a saved HTML file, as JSON")
    extract.add_argument("file", type=Path)
    extract.add_argument("--url", help="the page's URL (for links and dates in paths)")
    extract.set_defaults(handler=_extract)

    tag = sub.add_parser("tag", help="tag a saved page (.html) or text (.txt: title line, then body)")
    tag.add_argument("file", type=Path)
    tag.add_argument("--url")
    tag.add_argument("--scheme", help="scheme code (default: the current one)")
    tag.set_defaults(handler=_tag)
    _common_options(parser, top=True)
    parser.set_defaults(verbose=0, quiet=0, debug=False)
    return parser


# -- handlers -------------------------------------------------------------------------------------------


def _db_migrate(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps
    from pressmon.store import Store, migrate, redact

    with Store.open(config, migrating=True) as store:
        applied = migrate(store.conn)
        steps.prepare(store, config)
        url = store.conn.dsn
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    print(f"database: {redact(url)}")
    return 0


def _db_stop(args: argparse.Namespace, config: Config) -> int:
    from pressmon import embedded

    stopped = embedded.stop(config.var_dir)
    print("embedded Postgres stopped" if stopped else "no embedded Postgres was running")
    return 0


def _db_url(args: argparse.Namespace, config: Config) -> int:
    from pressmon.store import database_url, redact

    url = database_url(config)
    print(url if args.show_password else redact(url))
    # Shown all the same, to help fix it; any bad value still fails the command.
    for problem in args.problems:
        print(f"pressmon: {problem}", file=sys.stderr)
    return 1 if args.problems else 0


def _demo(args: argparse.Namespace, config: Config) -> int:
    from pressmon.demo import run_demo

    run_demo(config)
    return 0


def _crawl(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    run_key = args.run_key or f"cli-{uuid.uuid4().hex[:12]}"
    run_id = steps.start_run(config, run_key)
    try:
        summary = steps.crawl(config, args.source, run_id, progress=_progress(args))
    finally:
        steps.report(config, run_id)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _process(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    counts = steps.process(config, progress=_progress(args))
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _alert(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    counts = steps.alert(config, progress=_progress(args))
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _reprocess(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps
    from pressmon.store import Store

    with Store.open(config) as store:
        requeued = store.requeue_all()
    counts = steps.process(config, progress=_progress(args))
    print(json.dumps({"requeued": requeued, **counts}, ensure_ascii=False))
    return 0


def _health(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps
    from pressmon.store import Store

    with Store.open(config) as store:
        run = store.run_by_key(args.run_key) if args.run_key else store.latest_run()
    if run is None:
        raise PressmonError(f"no crawl run {args.run_key!r}" if args.run_key else "no crawl run yet")
    result = steps.judge_health(config, run["id"], progress=_progress(args))
    print(json.dumps({"run_key": run["run_key"], **result}, ensure_ascii=False))
    return 0


def _sources(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps
    from pressmon.store import Store

    with Store.open(config) as store:
        steps.prepare(store, config)
        if args.action and not args.code:
            raise PressmonError(f"sources {args.action} needs a source code")
        if args.action == "retry":
            if args.code not in {row["code"] for row in store.sources()}:
                raise PressmonError(f"no source {args.code!r}")
            print(f"{store.retry_given_up(args.code)} given-up pages of {args.code} owed again")
        elif args.action and not store.set_source_enabled(args.code, args.action == "enable"):
            raise PressmonError(f"no source {args.code!r}")
        rows = steps.source_listing(store, config)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(_source_line(row))
    unverified = [row["code"] for row in rows if not row["verified"]]
    if unverified:
        print(
            f"{len(unverified)} unverified declaration(s) (structure inferred from the CMS family, not checked "
            f"against real pages): {', '.join(unverified)}"
        )
    return 0


def _source_line(row: dict) -> str:
    """One line of `pressmon sources`: code, family, verified, enabled, health, last crawl, owed, agency, URL."""
    enabled = "enabled" if row["enabled"] else f"disabled ({row['disabled_by']})"
    health = row["health"] or "unjudged"
    crawl = row["last_crawl"]
    last = "never crawled" if crawl is None else f"last crawl {crawl['status']} {crawl['started_at'][:16]}"
    return (
        f"{row['code']:<14} {row['family']:<9} {'verified' if row['verified'] else 'UNVERIFIED':<10} "
        f"{enabled:<22} {health:<14} {last:<36} owed={row['owed']} given_up={row['given_up']} "
        f"{row['name']}  {row['crawl_url']}"
    )


def _subscribe_add(args: argparse.Namespace, config: Config) -> int:
    from parsers.normalize import to_simplified
    from pressmon import steps
    from pressmon.store import Store

    address = email_address(args.email, "subscribe add EMAIL", SubscriptionError)
    with Store.open(config) as store:
        steps.prepare(store, config)
        known_chains = store.current_chain_names()
        unknown = [c for c in args.chain if c not in known_chains]
        if unknown:
            raise SubscriptionError(
                f"unknown chain(s) {', '.join(unknown)}; chains: {', '.join(known_chains)}"
            )
        known_sources = {row["code"] for row in store.sources()}
        unknown = [s for s in args.source if s not in known_sources]
        if unknown:
            raise SubscriptionError(
                f"unknown source(s) {', '.join(unknown)}; sources: {', '.join(sorted(known_sources))}"
            )
        keywords = [to_simplified(k.strip()) for k in args.keyword if k.strip()]
        if args.weekly and (args.chain or args.source or keywords):
            raise SubscriptionError(
                "the weekly report covers every chain and source: subscribe --weekly without "
                "--chain/--source/--keyword (add a second subscription for a digest)"
            )
        subscription_id, created = store.add_subscription(
            address, args.chain, args.source, keywords, weekly=args.weekly
        )
    print(f"{'subscribed' if created else 'already subscribed'}: #{subscription_id} {address}")
    return 0


def _subscribe_list(args: argparse.Namespace, config: Config) -> int:
    from pressmon.store import Store

    with Store.open(config) as store:
        rows = store.subscriptions()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=_json_default))
        return 0
    for row in rows:
        what = (
            "; ".join(
                f"{label}: {', '.join(values)}"
                for label, values in (
                    ("chains", row["chains"]),
                    ("sources", row["sources"]),
                    ("keywords", row["keywords"]),
                )
                if values
            )
            or "everything"
        )
        if row["weekly"]:
            what = "weekly report"
        print(f"#{row['id']} {row['email']}  {what}  (sent {row['sent']}, pending {row['pending']})")
    if not rows:
        print("no subscriptions")
    return 0


def _subscribe_remove(args: argparse.Namespace, config: Config) -> int:
    from pressmon.store import Store

    target = args.target.lstrip("#")
    if not target.isdigit():
        target = email_address(target, "subscribe remove: the address", SubscriptionError)
    with Store.open(config) as store:
        if target.isdigit():
            removed = store.remove_subscriptions(subscription_id=int(target))
        else:
            removed = store.remove_subscriptions(email=target)
    if not removed:
        raise SubscriptionError(f"no active subscription {args.target!r}")
    print(f"removed {removed} subscription(s)")
    return 0


def _doctor(args: argparse.Namespace, config: Config) -> int:
    from pressmon import doctor

    checks = doctor.run(config, problems=args.problems)
    report = doctor.report(checks)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for check in checks:
            print(check.line())
    return 0 if report["ok"] else 1


def _report_weekly(args: argparse.Namespace, config: Config) -> int:
    from datetime import UTC, datetime

    from pressmon import steps
    from pressmon.store import Store
    from pressmon.weekly import Week

    with Store.open(config) as store:
        steps.prepare(store, config)
    week = Week.parse(args.week) if args.week else Week.last_complete(datetime.now(UTC))
    path = steps.write_weekly_report(config, week, args.out or config.var_dir / "reports")
    print(f"weekly report {week.label}: {path}")
    if args.mail:
        counts = steps.weekly_mailing(config, week, progress=_progress(args))
        print(json.dumps(counts, ensure_ascii=False))
    return 0


def _retag(args: argparse.Namespace, config: Config) -> int:
    from parsers.taxonomy import TaxonomyError
    from pressmon import steps

    try:
        counts = steps.retag(config, args.scheme, progress=_progress(args))
    except TaxonomyError as exc:
        raise PressmonError(str(exc)) from None
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _compare(args: argparse.Namespace, config: Config) -> int:
    from parsers.extract import ParseError
    from parsers.fingerprint import fingerprint, same_release, similarity

    try:
        a = fingerprint(*read_release_file(args.a, args.url_a))
        b = fingerprint(*read_release_file(args.b, args.url_b))
    except ParseError as exc:
        print(json.dumps({"error": type(exc).__name__, "reason": str(exc)}, ensure_ascii=False))
        return 1
    score = 1.0 if a.content_hash == b.content_hash else similarity(a.signature, b.signature)
    print(
        json.dumps(
            {
                "same_release": same_release(a, b),
                "similarity": round(score, 4),
            }
        )
    )
    return 0


def _extract(args: argparse.Namespace, config: Config) -> int:
    from parsers.extract import ParseError, extract_page

    body = _read(args.file)
    try:
        extraction = extract_page(body, args.url)
    except ParseError as exc:
        print(json.dumps({"error": type(exc).__name__, "reason": str(exc)}, ensure_ascii=False))
        return 1
    print(json.dumps(extraction.as_json(), ensure_ascii=False, indent=2, default=_json_default))
    return 0


def _tag(args: argparse.Namespace, config: Config) -> int:
    from parsers.extract import ParseError
    from parsers.tag import Tagger
    from parsers.taxonomy import TaxonomyError, load_scheme

    try:
        tagger = Tagger(load_scheme(args.scheme or config.scheme))
    except TaxonomyError as exc:
        raise PressmonError(str(exc)) from None
    try:
        title, body = read_release_file(args.file, args.url)
    except ParseError as exc:
        print(json.dumps({"error": type(exc).__name__, "reason": str(exc)}, ensure_ascii=False))
        return 1
    tags = tagger.tag(title, body)
    print(json.dumps([t.as_json() for t in tags], ensure_ascii=False, indent=2))
    return 0


def read_release_file(path: Path, url: str | None = None) -> tuple[str, str]:
    """Read (title, body) from an .html page (extracted) or a .txt file (title line, then body)."""
    from parsers.extract import extract_page

    body = _read(path)
    if path.suffix.lower() in {".html", ".htm", ".shtml"}:
        extraction = extract_page(body, url)
        return extraction.title, extraction.body
    text = body.decode("utf-8-sig", errors="replace")
    title, _, rest = text.partition("\n")
    return title.strip(), rest.strip()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PressmonError(f"cannot read {path}: {exc.strerror}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main())
