"""The `pressmon` command."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import uuid
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from pressmon.config import Config
from pressmon.errors import PressmonError, SubscriptionError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args, Config.from_env()) or 0
    except PressmonError as exc:
        if args.verbose:
            logging.getLogger("pressmon").info("pressmon %s failed", args.handler.__name__, exc_info=True)
        print(f"pressmon: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressmon", description="Monitor Chinese government press releases."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="the pressmon database").add_subparsers(metavar="ACTION")
    db.add_parser(
        "migrate", help="apply pending migrations (and start the embedded Postgres if needed)"
    ).set_defaults(handler=_db_migrate)
    db.add_parser("stop", help="stop the embedded Postgres").set_defaults(handler=_db_stop)
    url = db.add_parser("url", help="print the database URL (its password hidden)")
    url.add_argument("--show-password", action="store_true", help="print the password too, e.g. for psql")
    url.set_defaults(handler=_db_url)

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

    reprocess = sub.add_parser("reprocess", help="mark every stored page pending again (after a parser fix)")
    reprocess.set_defaults(handler=_reprocess)

    sources = sub.add_parser(
        "sources", help="list sources; enable or disable one; retry the pages it gave up (retry CODE)"
    )
    sources.add_argument("action", nargs="?", choices=["enable", "disable", "retry"])
    sources.add_argument("code", nargs="?")
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
    subscribe.add_parser("list", help="list active subscriptions").set_defaults(handler=_subscribe_list)
    remove = subscribe.add_parser("remove", help="end a subscription by id, or all of an address")
    remove.add_argument("target", help="subscription id or email address")
    remove.set_defaults(handler=_subscribe_remove)

    doctor = sub.add_parser(
        "doctor", help="check the deployment: database, migrations, reader role, SMTP, sources"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of one line per check")
    doctor.set_defaults(handler=_doctor)
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
    return parser


# -- handlers -------------------------------------------------------------------------------------------


def _db_migrate(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps
    from pressmon.store import Store, migrate, redact

    with Store.open(config) as store:
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
    return 0


def _demo(args: argparse.Namespace, config: Config) -> int:
    from pressmon.demo import run_demo

    run_demo(config)
    return 0


def _crawl(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    run_key = args.run_key or f"cli-{uuid.uuid4().hex[:12]}"
    run_id = steps.start_run(config, run_key)
    try:
        steps.crawl(config, args.source, run_id, progress=print)
    finally:
        steps.report(config, run_id)
    return 0


def _process(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    counts = steps.process(config, progress=print)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _alert(args: argparse.Namespace, config: Config) -> int:
    from pressmon import steps

    counts = steps.alert(config, progress=print)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _reprocess(args: argparse.Namespace, config: Config) -> int:
    from pressmon.store import Store

    with Store.open(config) as store:
        print(f"{store.requeue_all()} pages marked pending; run `pressmon process`")
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
        for row in steps.sync_sources(store, config):
            state = "enabled " if row["enabled"] else "disabled"
            owed = store.owed_counts(row["code"])
            print(
                f"{row['code']:<12} {state} authority={row['authority']:<3} owed={owed['owed']} "
                f"given_up={owed['given_up']} {row['name']}  {row['crawl_url']}"
            )
    return 0


def _subscribe_add(args: argparse.Namespace, config: Config) -> int:
    from parsers.normalize import to_simplified
    from pressmon import steps
    from pressmon.store import Store

    _, address = parseaddr(args.email)
    # A line break in the address would become a header line of every digest sent to it.
    if "@" not in address or address != args.email.strip() or re.search(r"[\x00-\x1f\x7f]", args.email):
        raise SubscriptionError(f"not an email address: {args.email!r}")
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
    from pressmon import steps
    from pressmon.store import Store

    with Store.open(config) as store:
        steps.prepare(store, config)
        rows = store.subscriptions()
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

    checks = doctor.run(config)
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
        counts = steps.weekly_mailing(config, week, progress=print)
        print(json.dumps(counts, ensure_ascii=False))
    return 0


def _retag(args: argparse.Namespace, config: Config) -> int:
    from parsers.taxonomy import TaxonomyError
    from pressmon import steps

    try:
        counts = steps.retag(config, args.scheme, progress=print)
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
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main())
