"""The steps of the nightly job: crawl, process, alert, report. The CLI and the Airflow DAG both call these."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg2

from parsers.extract import ParseError
from parsers.taxonomy import CURRENT_SCHEME, load_crosswalk, load_scheme, scheme_codes
from pressmon import alerts, health, mail, politeness, sources, weekly
from pressmon.config import Config
from pressmon.errors import CrawlError, DeliveryError, DeliveryRefused, UnknownSourceError
from pressmon.progress import QUIET, Progress, as_progress
from pressmon.sources import Source
from pressmon.sources.families import family_of
from pressmon.store import Store, as_role, connect, database_url

if TYPE_CHECKING:
    from parsers.fingerprint import Fingerprint
    from parsers.hints import PageHints
    from parsers.release import ParsedRelease
    from parsers.tag import Tagger

log = logging.getLogger(__name__)
# The crawl process's own log lines, passed on at INFO: shown with -v, and in Airflow's task log.
scrapy_log = logging.getLogger("pressmon.crawl")

# The checkout in a source tree; site-packages in an installed wheel (where crawlers/ sits beside pressmon/).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Scrapy log lines worth a line of their own without -v: our stop reasons, failed requests.
CRAWL_NOTES = re.compile(r"already held|list page limit|failed:|\] ERROR: ")
SCRAPY_LOG_PREFIX = re.compile(r"^\S+ \S+ \[[^\]]+\] \w+: ")
# Seconds between the crawl process's progress lines (crawlers/progress.py).
CRAWL_PROGRESS_INTERVAL = 1.0
ProgressArg = Progress | Callable[[str], None]


# -- sources --------------------------------------------------------------------------------------------


def declared_sources() -> Mapping[str, Source]:
    """Return every declared source by code: the registry (pressmon/sources/registry/) is the one list."""
    return sources.registry()


def sync_sources(store: Store, config: Config) -> list[dict[str, Any]]:
    """Record every declared source in the sources table; return them as rows, in code order.

    Each row holds the table's columns (its `enabled` is the operator's switch, `pressmon sources disable`),
    `declared_enabled` (the declaration's `enabled`), `crawled` (both: the nightly run crawls it) and
    `crawl_url` (where it is crawled: a mirror from PRESSMON_BASE_URL_<CODE>, else its base URL).
    """
    declared = declared_sources()
    for source in declared.values():
        store.upsert_source(
            source.code,
            source.agency,
            source.base_url,
            source.authority,
            family=source.family,
            verified=source.verified,
            update_days=source.update_days,
            structure_from=source.structure_from,
            fixtures=source.fixtures,
        )
    return [
        dict(
            row,
            declared_enabled=declared[row["code"]].enabled,
            crawled=row["enabled"] and declared[row["code"]].enabled,
            crawl_url=config.base_urls.get(row["code"], row["base_url"]),
        )
        for row in store.sources()
        if row["code"] in declared
    ]


def source_listing(store: Store, config: Config) -> list[dict[str, Any]]:
    """Return one row per declared source for `pressmon sources`: its declaration, switches, health and last
    crawl."""
    last = store.last_crawls()
    health_now = store.source_health()
    listing = []
    for row in sync_sources(store, config):
        crawl = last.get(row["code"])
        listing.append(
            {
                "code": row["code"],
                "name": row["name"],
                "family": row["family"],
                "verified": row["verified"],
                "enabled": row["crawled"],
                "disabled_by": None
                if row["crawled"]
                else ("declaration" if not row["declared_enabled"] else "operator"),
                "authority": row["authority"],
                "crawl_url": row["crawl_url"],
                "last_crawl": None
                if crawl is None
                else {
                    "status": crawl["status"],
                    "started_at": crawl["started_at"].isoformat(),
                    "list_pages": crawl["list_pages"],
                    "detail_pages": crawl["detail_pages"],
                    "errors": crawl["errors"],
                },
                **store.owed_counts(row["code"]),
                "health": health_now[row["code"]]["state"] if row["code"] in health_now else None,
                "health_reason": health_now[row["code"]]["reason"] if row["code"] in health_now else None,
            }
        )
    return listing


def sync_taxonomy(store: Store, scheme_code: str, current: bool) -> dict[str, int]:
    """Record a scheme and its chains in the database; return chain ids by name."""
    scheme = load_scheme(scheme_code)
    return store.sync_taxonomy(
        scheme.code,
        scheme.name,
        scheme.version,
        scheme.status,
        scheme.complete,
        scheme.sha256,
        [(c.name, c.group) for c in scheme.chains],
        current=current,
    )


def prepare(store: Store, config: Config) -> None:
    """Register sources, schemes and the crosswalk: the data every run needs. Migrations are not applied here:
    only `pressmon db migrate` (and the demo) change the schema."""
    sync_sources(store, config)
    for code in scheme_codes():
        if code != config.scheme:
            sync_taxonomy(store, code, current=False)
    sync_taxonomy(store, config.scheme, current=True)
    store.replace_crosswalk(
        (e.from_scheme, e.from_chain, CURRENT_SCHEME, e.to_chain, e.note) for e in load_crosswalk()
    )


# -- runs -----------------------------------------------------------------------------------------------


def start_run(config: Config, run_key: str) -> int:
    """Open (or reopen, on a retry) the crawl run with this key; return its id."""
    with Store.open(config) as store:
        prepare(store, config)
        return store.start_run(run_key)


def enabled_sources(config: Config) -> list[str]:
    """Return the codes the nightly run crawls: declared, enabled by declaration and by the operator, and
    among PRESSMON_SOURCES when that is set."""
    with Store.open(config) as store:
        codes = [row["code"] for row in sync_sources(store, config) if row["crawled"]]
    if config.sources is not None:
        codes = [code for code in codes if code in config.sources]
    return codes


def crawl(config: Config, source: str, run_id: int, progress: ProgressArg = QUIET) -> dict[str, Any]:
    """Crawl one source in its own process (Scrapy's reactor cannot restart); return its recorded outcome.

    Scrapy's log is passed on at INFO (logger pressmon.crawl), its end-of-crawl stats only when INFO is shown.

    Raises:
        UnknownSourceError: no source is declared with this code.
        CrawlError: the crawl failed (its reasons are recorded in crawl_run_sources); the message is one line.
    """
    progress = as_progress(progress)
    if source not in declared_sources():
        raise UnknownSourceError(
            f"no source named {source!r} (declared: {', '.join(declared_sources()) or 'none'})"
        )
    url = database_url(config)
    env = {
        **os.environ,
        "PRESSMON_DATABASE_URL": url,
        "PRESSMON_RUN_ID": str(run_id),
        # No scrapy.cfg needed (an installed wheel has none): the settings module is named here.
        "SCRAPY_SETTINGS_MODULE": "crawlers.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    with Store.open(config) as store:
        store.start_run_source(run_id, source)
    progress.start(f"crawl {source}", None, "pages fetched")
    try:
        # Sources on one host take turns on it; crawls of other hosts run meanwhile (pressmon/politeness.py).
        with politeness.host_turns(config, sources.get(source), progress.note):
            returncode, log_tail = _run_scrapy(source, run_id, config, env, progress)
    finally:
        progress.finish()
    with Store.open(config) as store:
        if returncode != 0:
            store.fail_run_source(run_id, source, f"scrapy exited with {returncode}: {log_tail[-800:]}")
        outcome = next((row for row in store.run_sources(run_id) if row["source"] == source), None)
    if outcome is None or outcome["status"] != "succeeded":
        errors = outcome["errors"] if outcome else []
        if errors:
            first = errors[0]
            reason = str(first.get("reason") or "").strip().splitlines()[0:1]
            what = f"{first.get('code') or first.get('kind')}: {reason[0] if reason else ''}".rstrip(": ")
            where = f" at {first['url']}" if first.get("url") else ""
            cause = f"{len(errors)} error(s), the first {what}{where}"
        else:
            cause = f"scrapy exited with {returncode}"
        raise CrawlError(
            f"crawl of {source} failed ({cause}); `pressmon crawl {source} -v` shows Scrapy's log, "
            "crawl_runs has every error"
        )
    summary = {
        "source": source,
        "list_pages": outcome["list_pages"],
        "detail_pages": outcome["detail_pages"],
        "errors": len(outcome["errors"]),
    }
    log.info(
        "crawled %s: %d list pages, %d new detail pages, %d errors",
        source,
        summary["list_pages"],
        summary["detail_pages"],
        summary["errors"],
    )
    return summary


def crawl_command(source: str, run_id: int, config: Config, *, verbose: bool = False) -> list[str]:
    """Return the `scrapy crawl` command of one source: the spider `source`, the rest as arguments and
    settings."""
    command = [sys.executable, "-m", "scrapy", "crawl", "source", "-a", f"source={source}"]
    command += ["-a", f"run_id={run_id}"]
    if source in config.base_urls:
        command += ["-a", f"base_url={config.base_urls[source]}"]
    settings = {
        "PRESSMON_CRAWL_OVERLAP": config.crawl_overlap,
        "PRESSMON_MAX_LIST_PAGES": config.max_list_pages,
        "PRESSMON_OWED_RETRIES": config.owed_retries,
        "PROGRESS_LINES_INTERVAL": CRAWL_PROGRESS_INTERVAL,
        "STATS_DUMP": verbose,
    }
    declared = sources.get(source).options
    if declared.get("cookie_from") or declared.get("requires_list_cookie"):
        # A site that answers only with the cookie its gate or list page sets: keep a cookie jar for this crawl.
        settings["COOKIES_ENABLED"] = True
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _run_scrapy(
    source: str, run_id: int, config: Config, env: dict[str, str], progress: Progress
) -> tuple[int, str]:
    """Run `scrapy crawl`, showing its progress and notable log lines as they come; return its exit code and
    the last lines of its log."""
    from crawlers.progress import MARK

    verbose = scrapy_log.isEnabledFor(logging.INFO)
    command = crawl_command(source, run_id, config, verbose=verbose)
    tail: deque[str] = deque(maxlen=15)
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None and process.stderr is not None

        def read_log(stream: Any) -> None:
            for line in stream:
                line = line.rstrip()
                tail.append(line)
                if verbose:
                    scrapy_log.info("%s", line)
                elif CRAWL_NOTES.search(line):
                    message = SCRAPY_LOG_PREFIX.sub("", line)
                    progress.note(message if message.startswith(f"{source}:") else f"{source}: {message}")

        reader = threading.Thread(target=read_log, args=(process.stderr,), daemon=True)
        reader.start()
        for line in process.stdout:
            if line.startswith(MARK):
                counts = json.loads(line[len(MARK) :])
                progress.update(counts["fetched"], counts["queued"], f"{counts['stored']} stored")
            elif line.strip():
                scrapy_log.info("%s", line.rstrip())
        reader.join()
    return process.returncode, "\n".join(tail)


# -- processing -----------------------------------------------------------------------------------------


def process(config: Config, progress: ProgressArg = QUIET) -> dict[str, int]:
    """Parse every pending raw page into releases, clusters and tags, in batches workers can share.

    A page that cannot be parsed or stored, whatever the reason, is marked failed with that reason and the
    batch goes on; only the database itself failing stops the step.

    Pages are parsed in `config.process_workers` processes. Two sessions take turns: while one stores its
    batch (holding the clustering lock), the pages the other has claimed are being parsed.
    """
    from parsers.tag import Tagger

    progress = as_progress(progress)
    tagger = Tagger(load_scheme(config.scheme))
    counts: Counter[str] = Counter()
    with Store.open(config) as store, Store.open(config) as ahead, _page_parser(config, tagger) as parse:
        chain_ids = sync_taxonomy(store, config.scheme, current=True)
        total = store.pending_count()
        progress.start("process", total, "pages")
        sessions = (store, ahead)
        claimed = _claim(store, config.batch_size, parse)
        turn = 0
        while claimed is not None:
            following = None
            try:
                parsed = claimed.parsed()
                turn = 1 - turn
                following = _claim(sessions[turn], config.batch_size, parse)
                cur = claimed.cur
                claimed.store.lock_clustering(cur)
                done: list[tuple[int, bool]] = []
                for row, (result, lossy) in zip(claimed.rows, parsed, strict=True):
                    if isinstance(result, str):
                        claimed.store.mark_processed(cur, row["id"], "failed", result, decoded_lossily=lossy)
                        counts["failed"] += 1
                        continue
                    outcome = _store_page(claimed.store, cur, row, result, chain_ids, config.scheme, lossy)
                    counts[outcome] += 1
                    if outcome != "failed":
                        done.append((row["id"], lossy))
                claimed.store.mark_done(cur, done)
            except BaseException:
                error = sys.exc_info()
                if following is not None:
                    following.abandon(error)
                if not claimed.stack.__exit__(*error):
                    raise
            else:
                claimed.stack.close()  # commit
            progress.update(
                sum(counts.values()), total, ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            )
            claimed = following
        progress.finish()
    return dict(counts)


ParseResult = tuple["ParsedRelease | str", bool]
PageParser = Callable[[list[dict[str, Any]]], Callable[[], list[ParseResult]]]


@dataclass
class _Claimed:
    """A batch of pages claimed in an open transaction, and its parse (under way, or done)."""

    store: Store
    stack: ExitStack
    cur: Any
    rows: list[dict[str, Any]]
    parsed: Callable[[], list[ParseResult]]

    def abandon(self, error: Any) -> None:
        """Roll the batch back: its pages stay pending."""
        with contextlib.suppress(Exception):
            self.stack.__exit__(*error)


def _claim(store: Store, batch_size: int, parse: PageParser) -> _Claimed | None:
    """Open a transaction, claim a batch of pending pages in it and start parsing them; None when none is left."""
    stack = ExitStack()
    cur = stack.enter_context(store.transaction())
    try:
        rows = store.claim_pending(cur, batch_size)
        for row in rows:
            row["body"] = bytes(row["body"])  # a memoryview from the driver: bytes travel to the workers
        if not rows:
            stack.close()
            return None
        return _Claimed(store, stack, cur, rows, parse(rows))
    except BaseException:
        stack.__exit__(*sys.exc_info())
        raise


# The tagger of a parsing worker process (set by `_start_worker`).
_worker_tagger: Tagger | None = None


def _start_worker(tagger: Tagger) -> None:
    global _worker_tagger
    _worker_tagger = tagger


def _parse_in_worker(row: dict[str, Any]) -> ParseResult:
    assert _worker_tagger is not None
    return _parse_row(row, _worker_tagger)


@contextmanager
def _page_parser(config: Config, tagger: Tagger) -> Iterator[PageParser]:
    """Yield a function that starts parsing a batch and returns how to wait for its results.

    With more than one worker, pages are parsed in forked processes, which inherit the loaded dictionaries
    (the segmenter is loaded here first, once); the parsers are pure, so results are those of one process.
    """
    from parsers.tag import segmenter

    if config.process_workers <= 1:
        yield lambda rows: lambda: [_parse_row(row, tagger) for row in rows]
        return
    segmenter(tagger.scheme.code)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        config.process_workers, mp_context=context, initializer=_start_worker, initargs=(tagger,)
    ) as pool:

        def start(rows: list[dict[str, Any]]) -> Callable[[], list[ParseResult]]:
            chunk = max(1, len(rows) // (config.process_workers * 4))
            results = pool.map(_parse_in_worker, rows, chunksize=chunk)
            return lambda: list(results)

        yield start


def parse_release(*args: Any, **kwargs: Any) -> ParsedRelease:
    """Parse page bytes into a release (the parsers load jieba and scipy: only the steps that parse pay)."""
    from parsers.release import parse_release as parse

    return parse(*args, **kwargs)


@cache
def hints_for(source_code: str) -> PageHints | None:
    """Return what a source's declaration (and its family) say about its detail pages; None when undeclared."""
    source = declared_sources().get(source_code)
    return None if source is None else family_of(source).hints(source)


def _content_type(row: dict[str, Any]) -> str | None:
    headers = row["headers"] or {}
    return next((v[0] for k, v in headers.items() if k.lower() == "content-type" and v), None)


def _parse_row(row: dict[str, Any], tagger: Tagger) -> ParseResult:
    """Parse one raw page; return the release, or why the page could not be parsed, and whether its bytes
    decoded only lossily (source health's encoding_error)."""
    from parsers.decode import decode_html
    from parsers.extract import LOSSY_DECODING

    body, content_type = bytes(row["body"]), _content_type(row)
    try:
        parsed = parse_release(
            body, row["canonical_url"], content_type, tagger, hints=hints_for(row["source"])
        )
        return parsed, LOSSY_DECODING in parsed.extraction.warnings
    except ParseError as exc:
        log.warning("page %s (%s) not parsed: %s", row["id"], row["url"], exc)
        reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        # A parser bug must not hold the other pages hostage: record it on the page, loudly, and go on.
        log.exception("page %s (%s): parser error", row["id"], row["url"])
        reason = f"parser error: {type(exc).__name__}: {exc}"[:1000]
    return reason, decode_html(body, content_type).method == "lossy"


def _store_page(
    store: Store,
    cur: Any,
    row: dict[str, Any],
    parsed: ParsedRelease,
    chain_ids: dict[str, int],
    scheme: str,
    lossy: bool = False,
) -> str:
    """Store one parsed page inside a savepoint, so a row the database refuses fails only its own page.

    A page the database refuses is marked failed here; the caller marks stored pages done (`Store.mark_done`).
    """
    cur.execute("SAVEPOINT page")
    try:
        outcome = _store_release(store, cur, row, parsed, chain_ids, scheme)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        raise  # the connection is gone: the step stops, the batch stays pending for the next run
    except Exception as exc:
        # e.g. a value Postgres refuses (a NUL byte, an out-of-range date): this page fails, the batch goes on.
        cur.execute("ROLLBACK TO SAVEPOINT page")
        reason = f"not stored: {type(exc).__name__}: {str(exc).strip()}"[:1000]
        log.exception("page %s (%s) %s", row["id"], row["url"], reason)
        store.mark_processed(cur, row["id"], "failed", reason, decoded_lossily=lossy)
        return "failed"
    cur.execute("RELEASE SAVEPOINT page")
    return outcome


def _store_release(
    store: Store, cur: Any, row: dict[str, Any], parsed: ParsedRelease, chain_ids: dict[str, int], scheme: str
) -> str:
    """Insert or update one release and put it in its cluster; return what happened."""
    extraction, fp = parsed.extraction, parsed.fingerprint
    release = {
        "source": row["source"],
        "canonical_url": row["canonical_url"],
        "url": row["final_url"],
        "title": extraction.title,
        "published_at": extraction.published_at,
        "publisher": extraction.publisher,
        "body": extraction.body,
        "speakers": [{"name": s.name, "role": s.role} for s in extraction.speakers],
        "attachments": [{"url": a.url, "name": a.name} for a in extraction.attachments],
        "content_hash": fp.content_hash,
        "minhash": fp.signature,
        "search_text": parsed.search_text,
        "raw_page_id": row["id"],
    }
    tags = [(chain_ids[t.chain], t.score, t.evidence) for t in parsed.tags]
    existing = store.release_by_url(cur, row["canonical_url"])
    if existing is not None:
        if bytes(existing["content_hash"]) == fp.content_hash:
            store.touch_release(cur, existing["id"], row["id"])
            return "unchanged"
        store.update_release_version(cur, existing["id"], release)
        store.set_bands(cur, existing["id"], fp.buckets)
        store.set_paragraphs(cur, existing["id"], fp.paragraphs)
        store.replace_tags(cur, existing["id"], scheme, tags)
        return "updated"

    cluster_id, outcome = assign_cluster(store, cur, fp)
    release["cluster_id"] = cluster_id
    store.insert_new_release(cur, release, fp.buckets, fp.paragraphs, tags)
    store.elect_canonical(cur, cluster_id)
    return outcome


def retag(config: Config, scheme_code: str | None = None, progress: ProgressArg = QUIET) -> dict[str, int]:
    """Tag every release again with a scheme, replacing that scheme's tags and keeping other schemes' tags."""
    progress = as_progress(progress)
    code = scheme_code or config.scheme
    from parsers.tag import Tagger

    tagger = Tagger(load_scheme(code))
    counts: Counter[str] = Counter()
    with Store.open(config) as store:
        chain_ids = sync_taxonomy(store, code, current=code == config.scheme)
        progress.start(f"retag with {code}", store.totals()["copies"], "releases")
        after = 0
        while batch := store.releases_for_retag(after, config.batch_size):
            with store.transaction() as cur:
                for release in batch:
                    tags = tagger.tag(release["title"], release["body"])
                    store.replace_tags(
                        cur, release["id"], code, [(chain_ids[t.chain], t.score, t.evidence) for t in tags]
                    )
                    counts["releases"] += 1
                    counts["tags"] += len(tags)
            after = batch[-1]["id"]
            progress.update(counts["releases"], None, f"{counts['tags']} tags")
        progress.finish()
    return dict(counts)


def assign_cluster(store: Store, cur: Any, fp: Fingerprint) -> tuple[int, str]:
    """Find the cluster a new copy belongs to: same text, else the most similar LSH candidate, else a new one.

    Candidates come from an index lookup per band, so the cost per release does not grow with the archive.
    """
    from parsers.fingerprint import SAME_RELEASE_THRESHOLD, contained, similarity

    cluster_id = store.cluster_of_hash(cur, fp.content_hash)
    if cluster_id is not None:
        return cluster_id, "duplicate"
    candidates = [
        (similarity(fp.signature, bytes(c["minhash"])), c["cluster_id"])
        for c in store.near_duplicate_candidates(cur, fp.buckets)
    ]
    best = max(((sim, cid) for sim, cid in candidates if sim >= SAME_RELEASE_THRESHOLD), default=None)
    if best is not None:
        return best[1], "near_duplicate"
    for c in store.paragraph_candidates(cur, fp.paragraphs):
        if contained(c["shared"], c["shared_chars"], fp.paragraph_chars, c["chars"]):
            return c["cluster_id"], "near_duplicate"
    return store.new_cluster(cur), "new"


# -- alerts ---------------------------------------------------------------------------------------------


def alert(config: Config, now: datetime | None = None, progress: ProgressArg = QUIET) -> dict[str, int]:
    """Queue deliveries for new matching clusters, then send one digest per subscription with pending ones.

    Exactly once: a digest the SMTP server did not take stays pending for the next run; one it refused for
    good (5xx) is marked failed and does not hold up the others; one whose run died after handing the server
    the whole message is counted as sent by the next run (see `Store.reconcile_sending`).
    """
    progress = as_progress(progress)
    now = now or datetime.now(UTC)
    target = mail.SmtpTarget.from_url(config.smtp_url) if config.smtp_url else None
    counts: Counter[str] = Counter()
    with Store.open(config) as store, store.alert_lock():
        presumed = store.reconcile_sending()
        if presumed:
            log.warning("%d deliveries of a run that died mid-send counted as sent", presumed)
            counts["presumed_sent"] = presumed
        counts["queued"] = store.queue_deliveries()
        digests = store.pending_digests()
        if target is None:
            if digests:
                progress.note(
                    f"{len(digests)} digests pending, but no SMTP server is configured (PRESSMON_SMTP_URL)"
                )
            counts["pending"] = sum(len(d["items"]) for d in digests)
            return dict(counts)
        for digest in digests:
            outcome = _send_digest(store, target, digest, config.mail_from, now)
            counts[outcome] += 1
            if outcome == "emails":
                counts["releases_sent"] += len(digest["items"])
        counts["pending"] = store.pending_deliveries()
        progress.note(
            f"alerts: {counts['emails']} digests sent, {counts['failed_emails']} failed, "
            f"{counts['refused_emails']} refused, {counts['pending']} deliveries pending"
        )
    return dict(counts)


@dataclass(frozen=True)
class Ledger:
    """Where one message's fate is recorded: the rows of one digest, or of one weekly report."""

    sending: Callable[[str], None]  # (message id) just before the end of the SMTP data
    sent: Callable[[str, str | None], None]  # (message id, note)
    failed: Callable[[str, bool], None]  # (error, permanent)


def deliver_once(target: mail.SmtpTarget, message: EmailMessage, ledger: Ledger) -> str:
    """Send one message and record what happened; return "emails", "refused_emails" or "failed_emails".

    The one rule for every message pressmon sends: `sending` is recorded at the last moment a crash still
    means "not sent", and a run that dies after it counts as delivered (`Store.reconcile_sending`); a 5xx is
    a refusal for good; anything else, a connection lost before the answer to the end of data included,
    leaves the message pending for the next run.
    """
    message_id = str(message["Message-ID"])
    recipient = str(message["To"])
    try:
        mail.send(target, message, before_end_of_data=lambda: ledger.sending(message_id))
    except DeliveryRefused as exc:
        ledger.failed(str(exc), True)
        log.warning("message for %s refused for good: %s", recipient, exc)
        return "refused_emails"
    except DeliveryError as exc:
        ledger.failed(str(exc), False)
        log.warning("message for %s stays pending: %s", recipient, exc)
        return "failed_emails"
    ledger.sent(message_id, None)
    return "emails"


def _send_digest(
    store: Store, target: mail.SmtpTarget, digest: dict[str, Any], sender: str, now: datetime
) -> str:
    """Send one subscription's digest and record the outcome in the ledger; return what happened."""
    subscription_id = digest["subscription_id"]
    cluster_ids = [item["cluster_id"] for item in digest["items"]]
    ledger = Ledger(
        sending=lambda mid: store.mark_sending(subscription_id, cluster_ids, mid),
        sent=lambda mid, note: store.mark_sent(subscription_id, cluster_ids, mid, note=note),
        failed=lambda error, permanent: store.mark_failed(
            subscription_id, cluster_ids, error, permanent=permanent
        ),
    )
    return deliver_once(target, alerts.render_digest(digest, sender, now), ledger)


def _report_ledger(store: Store, subscription_id: int, week: date) -> Ledger:
    return Ledger(
        sending=lambda mid: store.mark_report_sending(subscription_id, week, mid),
        sent=lambda mid, note: store.mark_report_sent(subscription_id, week, mid, note=note),
        failed=lambda error, permanent: store.mark_report_failed(
            subscription_id, week, error, permanent=permanent
        ),
    )


# -- source health --------------------------------------------------------------------------------------


def declared_update_days(code: str) -> int:
    """The days a source declares between releases (`update_days`), or 7 when its declaration has none."""
    from pressmon import sources

    declared = sources.registry()
    return declared[code].update_days if code in declared else health.DEFAULT_UPDATE_DAYS


def judge_health(
    config: Config, run_id: int, now: datetime | None = None, progress: ProgressArg = QUIET
) -> dict[str, Any]:
    """Judge the health of every source the run crawled, record it, and mail each change of state once.

    Runs after processing (parse and encoding errors are processing's findings). Judging a run again replaces
    its states; a notice, once queued for a run and source, is never sent twice (the digests' ledger rules,
    through `deliver_once`). Without PRESSMON_OPERATOR_EMAIL the states are recorded and nobody is mailed.
    Return the states by source and the notices' counts.
    """
    progress = as_progress(progress)
    now = now or datetime.now(UTC)
    today = now.astimezone(health.BEIJING).date()
    counts: Counter[str] = Counter()
    states: dict[str, str] = {}
    with Store.open(config) as store, store.health_lock():
        if store.run(run_id) is None:
            raise CrawlError(f"no crawl run {run_id}")
        judged = {row["source"]: row for row in store.run_health(run_id)}
        for crawled in store.run_sources(run_id):
            source = crawled["source"]
            evidence = _health_evidence(store, run_id, crawled, today)
            verdict = health.judge(evidence, config.parse_error_share)
            previous = store.previous_health(run_id, source)
            before = previous["state"] if previous else None
            if before == verdict.state:
                since, changed_from = previous["since"], previous["changed_from"]
            else:
                again = judged.get(source)
                since = again["since"] if again and again["state"] == verdict.state else now
                changed_from = before
            store.record_health(
                {
                    "run_id": run_id,
                    "source": source,
                    "state": verdict.state,
                    "reason": verdict.reason,
                    "since": since,
                    "changed_from": changed_from,
                    "counts": verdict.counts,
                    "failures": [f.as_json() for f in verdict.failures],
                    "new_items": verdict.counts["new_items"],
                    "last_new_item": evidence.last_new_item,
                    "period_declared": verdict.period_declared,
                    "period_learned": verdict.period_learned,
                    "period_days": verdict.period_days,
                    "judged_at": now,
                }
            )
            states[source] = verdict.state
            log.info("health of %s: %s (%s)", source, verdict.state, verdict.reason)
            if not health.should_notify(before, verdict.state):
                store.drop_pending_notice(run_id, source)
            elif config.operator_email:
                counts["queued"] += store.queue_notice(run_id, source, config.operator_email)
        counts.update(_send_notices(store, config, now, progress))
    progress.note(
        "health: " + (", ".join(f"{s} {state}" for s, state in states.items()) or "no source crawled")
    )
    return {"states": states, **counts}


def _health_evidence(store: Store, run_id: int, crawled: dict[str, Any], today: date) -> health.Evidence:
    """Gather what the run's crawl and processing left about one source."""
    from parsers.decode import decode_html

    source = crawled["source"]
    lossy_lists = [
        page["final_url"]
        for page in store.run_list_pages(run_id, source)
        if decode_html(bytes(page["body"]), _content_type(page)).method == "lossy"
    ]
    details = store.run_detail_outcomes(run_id, source)
    history = store.release_history(run_id, source)
    return health.Evidence(
        crawl_status=crawled["status"],
        errors=crawled["errors"],
        list_pages=crawled["list_pages"],
        detail_pages=details["detail_pages"],
        parsed=details["parsed"],
        parse_failures=details["parse_failures"],
        lossy_urls=lossy_lists + list(details["lossy"]),
        pending=details["pending"],
        new_items=history["new_items"],
        last_new_item=history["last_new_item"],
        release_days=history["release_days"],
        declared_days=declared_update_days(source),
        today=today,
    )


def _send_notices(store: Store, config: Config, now: datetime, progress: Progress) -> Counter[str]:
    """Send every pending health notice once (the caller holds the health lock)."""
    counts: Counter[str] = Counter()
    presumed = store.reconcile_notice_sending()
    if presumed:
        log.warning("%d health notices of a run that died mid-send counted as sent", presumed)
        counts["presumed_sent"] = presumed
    pending = store.pending_notices()
    if not pending:
        return counts
    if not config.smtp_url:
        progress.note(f"{len(pending)} health notices pending, but no SMTP server is configured")
        counts["pending"] = len(pending)
        return counts
    target = mail.SmtpTarget.from_url(config.smtp_url)
    for row in pending:
        message = health.render_notice(row, config.mail_from, row["recipient"], now)
        counts[deliver_once(target, message, _notice_ledger(store, row["run_id"], row["source"]))] += 1
    return counts


def _notice_ledger(store: Store, run_id: int, source: str) -> Ledger:
    return Ledger(
        sending=lambda mid: store.mark_notice_sending(run_id, source, mid),
        sent=lambda mid, note: store.mark_notice_sent(run_id, source, mid, note=note),
        failed=lambda error, permanent: store.mark_notice_failed(run_id, source, error, permanent=permanent),
    )


# -- the weekly report ----------------------------------------------------------------------------------


def reader_url(config: Config) -> str:
    """The read-only role's URL: PRESSMON_READER_URL, else the database URL as pressmon_reader."""
    return config.reader_url or as_role(database_url(config), "pressmon_reader")


def weekly_data(config: Config, week: weekly.Week) -> weekly.WeeklyData:
    """Read a week's report data as the read-only role, from the reporting views only."""
    conn = connect(reader_url(config))
    try:
        conn.set_session(readonly=True)
        return weekly.gather(conn, week)
    finally:
        conn.close()


def newest_week(config: Config) -> weekly.Week | None:
    """The week of the newest release (what the demo reports on), or None when there is none."""
    conn = connect(reader_url(config))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT max(published_at) FROM reporting.releases")
            newest = cur.fetchone()[0]
    finally:
        conn.close()
    return weekly.Week.of(newest) if newest else None


def write_weekly_report(config: Config, week: weekly.Week, out_dir: Path) -> Path:
    """Write a week's report (HTML with its charts inside, and the charts as PNG files); return the HTML path."""
    data = weekly_data(config, week)
    return weekly.write_report(data, weekly.render_charts(data), out_dir)


def weekly_mailing(
    config: Config, week: weekly.Week, now: datetime | None = None, progress: ProgressArg = QUIET
) -> dict[str, int]:
    """Queue a week's report for every weekly subscription, then send each pending report exactly once.

    Reports left pending by an earlier run (SMTP down) go out too, each with its own week's data. The ledger
    (report_deliveries) follows the digests' rules, through the same `deliver_once`.
    """
    progress = as_progress(progress)
    now = now or datetime.now(UTC)
    target = mail.SmtpTarget.from_url(config.smtp_url) if config.smtp_url else None
    counts: Counter[str] = Counter()
    with Store.open(config) as store, store.report_lock():
        presumed = store.reconcile_report_sending()
        if presumed:
            log.warning("%d weekly reports of a run that died mid-send counted as sent", presumed)
            counts["presumed_sent"] = presumed
        counts["queued"] = store.queue_reports(week.monday)
        pending = store.pending_reports()
        if target is None:
            if pending:
                progress.note(f"{len(pending)} weekly reports pending, but no SMTP server is configured")
            counts["pending"] = len(pending)
            return dict(counts)
        for monday in sorted({row["week"] for row in pending}):
            data = weekly_data(config, weekly.Week(monday))
            charts = weekly.render_charts(data)
            for row in (r for r in pending if r["week"] == monday):
                message = weekly.report_message(
                    data,
                    charts,
                    sender=config.mail_from,
                    recipient=row["email"],
                    subscription_id=row["subscription_id"],
                    sent_at=now,
                )
                ledger = _report_ledger(store, row["subscription_id"], monday)
                counts[deliver_once(target, message, ledger)] += 1
        counts["pending"] = store.pending_report_count()
        progress(
            f"weekly report {week.label}: {counts['emails']} sent, {counts['failed_emails']} failed, "
            f"{counts['refused_emails']} refused, {counts['pending']} pending"
        )
    return dict(counts)


# -- report ---------------------------------------------------------------------------------------------


def report(config: Config, run_id: int) -> dict[str, Any]:
    """Summarise the run (per-source pages, new releases, duplicates, errors) into crawl_runs; return it."""
    with Store.open(config) as store:
        run = store.run(run_id)
        if run is None:
            raise CrawlError(f"no crawl run {run_id}")
        sources = store.run_sources(run_id)
        judged = {row["source"]: row for row in store.run_health(run_id)}
        counts = store.run_counts(run["started_at"])
        new_by_source = store.new_releases_by_source(run["started_at"])
        failed_pages = store.failed_pages(run["started_at"])
        owed = store.owed_pages()
        summary = {
            "sources": {
                row["source"]: {
                    "status": row["status"],
                    "list_pages": row["list_pages"],
                    "detail_pages": row["detail_pages"],
                    "new_releases": new_by_source.get(row["source"], 0),
                    "errors": row["errors"],
                    "owed": row["stats"].get("owed", 0),
                    "given_up": row["stats"].get("given_up", 0),
                    # None until judge_health has judged the run (after processing).
                    "health": judged[row["source"]]["state"] if row["source"] in judged else None,
                    "health_reason": judged[row["source"]]["reason"] if row["source"] in judged else None,
                }
                for row in sources
            },
            "pages_fetched": sum(r["list_pages"] + r["detail_pages"] for r in sources),
            "new_releases": counts["new_releases"],
            "new_copies": counts["new_copies"],
            "duplicates": counts["duplicates"],
            "updated_releases": counts["updated_releases"],
            "failed_pages": [
                {"source": p["source"], "url": p["url"], "reason": p["process_error"]} for p in failed_pages
            ],
            "owed_pages": [
                {key: page[key] for key in ("source", "url", "state", "attempts", "last_code", "last_error")}
                for page in owed
            ],
            "emails_sent": counts["emails_sent"],
            "deliveries_pending": counts["deliveries_pending"],
            "deliveries_failed": counts["deliveries_failed"],
        }
        failed_sources = [row["source"] for row in sources if row["status"] != "succeeded"]
        errors = sum(len(row["errors"]) for row in sources) + len(failed_pages)
        if sources and len(failed_sources) == len(sources):
            status = "failed"
        elif failed_sources or errors:
            status = "partial"
        else:
            status = "succeeded"
        store.finish_run(run_id, status, summary)
        summary["status"] = status
        return summary
