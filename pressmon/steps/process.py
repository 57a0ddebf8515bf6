"""Parse pending raw pages into releases, clusters and tags, in claimed batches any number of workers share."""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import psycopg2

from parsers.extract import ParseError
from parsers.taxonomy import load_scheme
from pressmon.config import Config
from pressmon.progress import QUIET, ProgressArg, as_progress
from pressmon.sources.families import family_of
from pressmon.steps.clusters import assign_cluster
from pressmon.steps.sources import declared_sources, sync_taxonomy
from pressmon.store import Store

if TYPE_CHECKING:
    from parsers.hints import PageHints
    from parsers.release import ParsedRelease
    from parsers.tag import Tagger

log = logging.getLogger(__name__)

# The planner's statistics of the archive are refreshed after this many pages, and again each time the step
# has doubled them: a reprocess or backfill grows the tables from nothing within one step, faster than
# autovacuum (if it runs at all) analyzes them.
FIRST_ANALYZE = 1000


def process(config: Config, progress: ProgressArg = QUIET) -> dict[str, int]:
    """Parse every pending raw page into releases, clusters and tags, batch by batch, until none is left.

    Any number of these can run at once (the DAG's mapped `process` tasks, on Celery workers): each claims
    its batches (`Store.claim_pages`), so they share the pages. A page that cannot be parsed or stored,
    whatever the reason, is marked failed with that reason and the batch goes on; only the database itself
    failing stops the step, and the pages it had claimed are taken by the next worker or run.

    Pages are parsed in `config.process_workers` processes, outside any transaction, one batch ahead: while
    a batch is stored, the next one is being parsed.
    """
    from parsers.tag import Tagger

    progress = as_progress(progress)
    tagger = Tagger(load_scheme(config.scheme))
    counts: Counter[str] = Counter()
    with Store.open(config) as store, _page_parser(config, tagger) as parse:
        chain_ids = sync_taxonomy(store, config.scheme, current=True)
        total = store.pending_count()
        progress.start("process", total, "pages")
        batch = _claim(store, config.batch_size, parse, held=())
        next_analyze = FIRST_ANALYZE
        while batch is not None:
            ahead = None
            try:
                ahead = _claim(store, config.batch_size, parse, held=(batch.claim,))
                counts.update(_store_batch(store, batch, batch.parsed(), chain_ids, config.scheme))
            except BaseException:
                for claimed in (batch, ahead):
                    if claimed is not None:
                        claimed.abandon()
                raise
            store.release_claim(batch.claim)
            if sum(counts.values()) >= next_analyze:
                store.analyze_archive()
                next_analyze = 2 * sum(counts.values())
            progress.update(
                sum(counts.values()), total, ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            )
            batch = ahead
        progress.finish()
    return dict(counts)


def process_batch(config: Config) -> dict[str, int] | None:
    """Claim one batch of pending pages, parse it in this process and store it; None when none is left.

    What a Celery task (or any other queue's worker) calls: it shares the pages with every other worker
    the same way `process` does.
    """
    with Store.open(config) as store:
        chain_ids = sync_taxonomy(store, config.scheme, current=True)
        batch = _claim(store, config.batch_size, _parse_here(_tagger(config.scheme)), held=())
        if batch is None:
            return None
        try:
            counts = _store_batch(store, batch, batch.parsed(), chain_ids, config.scheme)
        except BaseException:
            batch.abandon()
            raise
        store.release_claim(batch.claim)
    return dict(counts)


ParseResult = tuple["ParsedRelease | str", bool]
PageParser = Callable[[list[dict[str, Any]]], Callable[[], Iterable[ParseResult]]]


@dataclass
class _Claimed:
    """A batch of pages claimed by a store's session, and its parse (under way, or done)."""

    store: Store
    claim: int
    rows: list[dict[str, Any]]
    parsed: Callable[[], Iterable[ParseResult]]

    def abandon(self) -> None:
        """Give the pages back (they stay pending), as far as the connection still allows."""
        with contextlib.suppress(Exception):
            self.store.conn.rollback()
            self.store.release_claim(self.claim)


def _claim(store: Store, batch_size: int, parse: PageParser, held: tuple[int, ...]) -> _Claimed | None:
    """Claim a batch of pending pages and start parsing them; None when none is left."""
    claimed = store.claim_pages(batch_size, held)
    if claimed is None:
        return None
    claim, rows = claimed
    for row in rows:
        row["body"] = bytes(row["body"])  # a memoryview from the driver: bytes travel to the workers
    try:
        return _Claimed(store, claim, rows, parse(rows))
    except BaseException:
        store.release_claim(claim)
        raise


def _store_batch(
    store: Store, batch: _Claimed, parsed: Iterable[ParseResult], chain_ids: dict[str, int], scheme: str
) -> Counter[str]:
    """Store a parsed batch in one transaction, holding the clustering lock; return what happened to each page.

    `parsed` may still be arriving from the parsing workers: each page is stored as soon as it is parsed. The
    transaction starts once the first page is. Pages are stored without savepoints; a batch holding a page
    the database refuses (or that fails to store for any other reason) is rolled back and stored again with
    a savepoint per page, so that page alone fails and the rest are stored.
    """
    results = iter(parsed)
    first = next(results, None)
    arriving = results if first is None else itertools.chain((first,), results)
    seen: list[ParseResult] = []

    def remembered() -> Iterator[ParseResult]:
        for result in arriving:
            seen.append(result)
            yield result

    try:
        return _store_pages(store, batch.rows, remembered(), chain_ids, scheme, guarded=False)
    except _Refused as refused:
        log.warning(
            "claim %s: a page was not stored (%s); storing its batch page by page", batch.claim, refused
        )
    return _store_pages(store, batch.rows, [*seen, *remembered()], chain_ids, scheme, guarded=True)


class _Refused(Exception):
    """A page of a batch stored without savepoints failed to store: the batch is stored again, guarded."""


def _store_pages(
    store: Store,
    rows: list[dict[str, Any]],
    results: Iterable[ParseResult],
    chain_ids: dict[str, int],
    scheme: str,
    guarded: bool,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with store.transaction() as cur:
        store.lock_clustering(cur)
        done: list[tuple[int, bool]] = []
        clusters: set[int] = set()
        for row, (result, lossy) in zip(rows, results, strict=True):
            if isinstance(result, str):
                store.mark_processed(cur, row["id"], "failed", result, decoded_lossily=lossy)
                counts["failed"] += 1
                continue
            outcome, cluster_id = _store_page(store, cur, row, result, chain_ids, scheme, lossy, guarded)
            counts[outcome] += 1
            if outcome != "failed":
                done.append((row["id"], lossy))
            if cluster_id is not None:
                clusters.add(cluster_id)
        # Once per cluster the batch added to, not once per page: nothing reads the election meanwhile.
        store.elect_canonical(cur, sorted(clusters))
        store.mark_done(cur, done)
    return counts


@cache
def _tagger(scheme_code: str) -> Tagger:
    from parsers.tag import Tagger

    return Tagger(load_scheme(scheme_code))


def _parse_here(tagger: Tagger) -> PageParser:
    return lambda rows: lambda: [_parse_row(row, tagger) for row in rows]


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
    """Yield a function that starts parsing a batch and returns how to get its results.

    In worker processes, the results are an iterator that yields each page's as it is parsed, in order, so
    storing a batch can start before the workers have finished it (which matters for the first batch only:
    every later one is parsed while the one before it is stored).

    With more than one worker, pages are parsed in forked processes, which inherit the loaded dictionaries
    (the segmenter is loaded here first, once); the parsers are pure, so results are those of one process.
    A daemonic process (a Celery worker's task) may not start processes: there, pages are parsed in the
    process itself, and the Celery workers are the parallelism.
    """
    from parsers.tag import segmenter

    if config.process_workers <= 1 or multiprocessing.current_process().daemon:
        if config.process_workers > 1:
            log.info("parsing in this process: a daemonic process (a Celery task's) cannot start workers")
        yield _parse_here(tagger)
        return
    segmenter(tagger.scheme.code)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        config.process_workers, mp_context=context, initializer=_start_worker, initargs=(tagger,)
    ) as pool:

        def start(rows: list[dict[str, Any]]) -> Callable[[], Iterable[ParseResult]]:
            chunk = max(1, len(rows) // (config.process_workers * 4))
            results = pool.map(_parse_in_worker, rows, chunksize=chunk)
            return lambda: results

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
    lossy: bool,
    guarded: bool,
) -> tuple[str, int | None]:
    """Store one parsed page; return what happened, and the cluster a new release joined.

    Guarded, the page is stored inside a savepoint, so a row the database refuses fails only its own page: it
    is marked failed here. Unguarded, any failure to store raises `_Refused`, and the caller stores the batch
    again, guarded. The caller marks stored pages done (`Store.mark_done`).
    """
    if guarded:
        cur.execute("SAVEPOINT page")
    try:
        stored = _store_release(store, cur, row, parsed, chain_ids, scheme)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        raise  # the connection is gone: the step stops, the batch stays pending for the next run
    except Exception as exc:
        # e.g. a value Postgres refuses (a NUL byte, an out-of-range date): this page fails, the batch goes on.
        reason = f"not stored: {type(exc).__name__}: {str(exc).strip()}"[:1000]
        if not guarded:
            raise _Refused(f"page {row['id']} {reason}") from exc
        cur.execute("ROLLBACK TO SAVEPOINT page")
        log.exception("page %s (%s) %s", row["id"], row["url"], reason)
        store.mark_processed(cur, row["id"], "failed", reason, decoded_lossily=lossy)
        return "failed", None
    if guarded:
        cur.execute("RELEASE SAVEPOINT page")
    return stored


def _store_release(
    store: Store, cur: Any, row: dict[str, Any], parsed: ParsedRelease, chain_ids: dict[str, int], scheme: str
) -> tuple[str, int | None]:
    """Insert or update one release and put it in its cluster; return what happened, and the cluster a new
    release joined (whose canonical copy is then to be elected)."""
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
        "fetched_at": row.get("fetched_at"),
    }
    tags = [(chain_ids[t.chain], t.score, t.evidence) for t in parsed.tags]
    lookup = store.page_lookup(cur, row["canonical_url"], fp)
    existing = lookup.existing
    if existing is not None:
        if bytes(existing["content_hash"]) == fp.content_hash:
            store.touch_release(cur, existing["id"], row["id"])
            return "unchanged", None
        store.update_release_version(cur, existing["id"], release)
        store.set_bands(cur, existing["id"], fp.buckets)
        store.set_paragraphs(cur, existing["id"], fp.paragraphs)
        store.replace_tags(cur, existing["id"], scheme, tags)
        return "updated", None

    cluster_id, outcome = assign_cluster(store, cur, fp, lookup)
    release["cluster_id"] = cluster_id
    store.insert_new_release(cur, release, fp.buckets, fp.paragraphs, tags, starts_cluster=outcome == "new")
    return outcome, cluster_id
