"""The fault matrix: one row per fault, each a short script of nights and the checks the contract asks for.

Every scenario starts from the same site (34 releases on 3 list pages, 2 more published before night 2) and
the same three subscriptions as the fault-free baseline; night 1 meets the fault, later nights run with the
fault cleared (unless it is permanent). A scenario's `run` drives the nights and returns the failures of its
own checks; the four measures (lost, duplicate, missed emails, crashes) are computed for every scenario.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2

from pressmon.offline import qd_press
from pressmon.store import CLUSTERING_LOCK
from tests.faults.harness import (
    BOUNCER,
    MAX_PAGE_BYTES,
    PUBLISHED,
    Baseline,
    CrawlRecord,
    HarnessError,
    Running,
    Step,
    World,
    expect_archive_not_walked,
    expect_error,
    expect_owed_then_stored,
    release_name,
    wait_until,
)
from tests.faults.smtp import Kill

# A release on list page 2 in night 1: once the archive counts as walked, a crawl stopping at known pages on
# list page 1 never sees its link again, so losing it there is losing it for good.
DEEP = 5
LOCK_WAIT = 60.0
Run = Callable[[World, Baseline], list[str]]


@dataclass(frozen=True)
class Scenario:
    """A row of the matrix: what breaks, what is checked beyond the four measures, and how it runs."""

    name: str
    fault: str
    checks: str
    run: Run
    permanent: Callable[[World], frozenset[str]] = lambda world: frozenset()
    bounced: frozenset[str] = frozenset()
    embedded_postgres: bool = False
    # Begin from the baseline's database after night 1's "crawled" or "processed" step, when the fault
    # starts later: the pages are the same bytes a crawl here would store.
    starts_after: str | None = None


# -- site faults ----------------------------------------------------------------------------------------


def _detail_fault(kind: str, code: str, extra: Run | None = None) -> Run:
    """Night 1: one deep detail page fails as `kind`; night 2 serves it again and must fetch it."""

    def run(world: World, baseline: Baseline) -> list[str]:
        path = world.detail_path(DEEP)
        world.site.set_fault(path, kind)
        first = world.night(1)
        world.site.clear_faults()
        world.new_day()
        world.night(2)
        failures = expect_error(first, code, kind="detail", path=path, source_status="succeeded")
        failures += expect_owed_then_stored(world, world.canonical(DEEP))
        if extra is not None:
            failures += extra(world, baseline)
        return failures

    return run


def _list_fault(
    path: str,
    kind: str,
    code: str,
    extra: Callable[[World, CrawlRecord], list[str]] | None = None,
    *,
    error_kind: str | None = "list",
) -> Run:
    """Night 1: a list page (or robots.txt) fails as `kind`; the source must fail and the archive stay unwalked."""

    def run(world: World, baseline: Baseline) -> list[str]:
        world.site.set_fault(path, kind)
        first = world.night(1)
        world.site.clear_faults()
        world.new_day()
        world.night(2)
        failures = expect_error(first, code, kind=error_kind, source_status="failed")
        failures += expect_archive_not_walked(first)
        if extra is not None:
            failures += extra(world, first)
        return failures

    return run


def _same_text_as_baseline(world: World, baseline: Baseline) -> list[str]:
    url = world.canonical(DEEP)
    row = world.one("SELECT title, body FROM releases WHERE canonical_url = %s", (url,))
    expected = baseline.releases.get(url)
    if row is None or expected is None:
        return []  # counted as lost
    failures = []
    if row["title"] != expected["title"]:
        failures.append(
            f"{release_name(url)} title {row['title'][:30]!r}, expected {expected['title'][:30]!r}"
        )
    if row["body"] != expected["body"]:
        failures.append(f"{release_name(url)} body differs from the fault-free run")
    return failures


def _no_block_page_release(world: World, baseline: Baseline) -> list[str]:
    rows = world.query(
        "SELECT canonical_url FROM releases WHERE title LIKE %s OR body LIKE %s",
        (f"%{qd_press.BLOCK_TITLE}%", f"%{qd_press.BLOCK_LINES[0]}%"),
    )
    failures = [f"block page stored as release {release_name(r['canonical_url'])}" for r in rows]
    return failures + _same_text_as_baseline(world, baseline)


def _offsite_untouched(world: World, baseline: Baseline) -> list[str]:
    requests = world.offsite.requests
    return [f"the other host got {len(requests)} requests: {requests[:2]}"] if requests else []


def _robots_obeyed(world: World, first: CrawlRecord) -> list[str]:
    if first.list_paths:
        return [f"night 1 fetched {len(first.list_paths)} disallowed list pages"]
    return []


def _loop_note(world: World, first: CrawlRecord) -> list[str]:
    world.notes.append(f"night 1 fetched {len(first.list_paths)} list pages")
    return []


def run_charset_lies_on_detail(world: World, baseline: Baseline) -> list[str]:
    """Night 1: a deep detail page is GB18030 while header and <meta> say UTF-8."""
    world.site.set_fault(world.detail_path(DEEP), "wrong-charset")
    world.night(1)
    world.site.clear_faults()
    world.new_day()
    world.night(2)
    return _same_text_as_baseline(world, baseline)


def run_charset_lies_on_list(world: World, baseline: Baseline) -> list[str]:
    """Night 1: list page 1 is GB18030 while header and <meta> say UTF-8 (下一页 unreadable as UTF-8)."""
    world.site.set_fault(qd_press.list_path(1), "wrong-charset")
    first = world.night(1)
    world.site.clear_faults()
    world.new_day()
    world.night(2)
    failures = []
    pages = qd_press.list_page_count(PUBLISHED)
    walked = first.walked_after is not None and first.walked_after != first.walked_before
    unvisited = sorted({qd_press.list_path(n) for n in range(2, pages + 1)} - set(first.list_paths))
    if walked and unvisited:
        failures.append(f"night 1 marked the archive walked without fetching list pages {unvisited}")
    world.notes.append(f"night 1 fetched {len(set(first.list_paths))} of {pages} list pages")
    return failures


def run_huge_page(world: World, baseline: Baseline) -> list[str]:
    """A detail page of 20 MB, for good: refused while downloading, reported, never stored whole."""
    path = world.detail_path(DEEP)
    world.site.set_fault(path, "huge")
    first = world.crawl(1, sample_memory=True)
    world.process(1)
    world.alert(1)
    world.new_day()
    world.night(2)
    failures = expect_error(first, "too_large", kind="detail", path=path, source_status="succeeded")
    biggest = world.scalar("SELECT coalesce(max(octet_length(body)), 0) FROM raw_pages")
    if biggest > MAX_PAGE_BYTES:
        failures.append(f"a raw page of {biggest / 2**20:.1f} MiB was stored")
    owed = world.owed(world.canonical(DEEP))
    if owed is not None and owed.get("last_code") != "too_large":
        failures.append(f"owed_pages last_code {owed.get('last_code')!r}, expected 'too_large'")
    peak, normal = first.step.peak_rss, baseline.crawl_peak_rss
    if peak and normal:
        world.notes.append(f"crawl peak RSS {peak / 2**20:.0f} MiB (fault-free {normal / 2**20:.0f} MiB)")
        if peak > normal + MAX_PAGE_BYTES + 32 * 2**20:
            failures.append(f"crawl peak RSS {peak / 2**20:.0f} MiB: the page was held whole in memory")
    return failures


def run_empty_list(world: World, baseline: Baseline) -> list[str]:
    """Night 2: list page 1 comes without items (layout change) while 2 new releases are on it; night 3 heals."""
    world.night(1)
    world.new_day()
    world.site.set_fault(qd_press.list_path(1), "empty-list")
    second = world.night(2)
    world.site.clear_faults()
    world.night(3)
    failures = expect_error(second, "empty_list", kind="list", source_status="failed")
    return failures + expect_archive_not_walked(second)


# -- database faults ------------------------------------------------------------------------------------


class LockHolder:
    """A session of the harness holding pressmon's clustering lock, so `process` stops mid-batch."""

    def __init__(self, world: World):
        self.conn = psycopg2.connect(world.db_url, application_name="pressmon-faults")
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SET lock_timeout = %s", (f"{int(LOCK_WAIT * 1000)}",))
            cur.execute("SELECT pg_advisory_lock(%s)", (CLUSTERING_LOCK,))

    def release(self) -> None:
        with contextlib.suppress(psycopg2.Error), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (CLUSTERING_LOCK,))
        with contextlib.suppress(psycopg2.Error):
            self.conn.close()


def _stop_mid_batch(world: World, running: Running, after_pages: int) -> tuple[LockHolder, list[int]]:
    """Let `process` store `after_pages` pages, then hold the clustering lock until it waits for it."""
    wait_until(
        lambda: world.processed_pages() >= after_pages or not running.alive(),
        LOCK_WAIT,
        f"process to store {after_pages} pages",
    )
    if not running.alive():
        raise HarnessError(f"process ended before {after_pages} pages were stored")
    holder = LockHolder(world)
    try:
        wait_until(
            lambda: bool(world.blocked_on_advisory_lock()) or not running.alive(),
            LOCK_WAIT,
            "process to wait for the clustering lock",
        )
    except HarnessError:
        holder.release()
        raise
    blocked = world.blocked_on_advisory_lock()
    if not blocked:
        holder.release()
        raise HarnessError("process ended before it reached the clustering lock again")
    return holder, blocked


def _finish_nights(world: World) -> None:
    world.alert(1)
    world.new_day()
    world.night(2)


def run_postgres_restart(world: World, baseline: Baseline) -> list[str]:
    """Postgres (the scenario's own embedded server) restarts while `process` is in the middle of a batch."""
    assert world.restart_postgres is not None
    world.crawl(1)
    running = world.start_process(1, env={"PRESSMON_BATCH_SIZE": "5"})
    holder, _ = _stop_mid_batch(world, running, 10)
    world.restart_postgres()
    holder.release()
    first = world.finish(running)
    world.notes.append(f"process during the restart: exit {first.returncode} {first.reason[:80]}".strip())
    world.process(1, attempt=2)
    _finish_nights(world)
    return []


def run_connection_dropped(world: World, baseline: Baseline) -> list[str]:
    """pg_terminate_backend of `process`'s session while it holds a claimed, unfinished batch."""
    running = world.start_process(1, env={"PRESSMON_BATCH_SIZE": "5"})
    holder, blocked = _stop_mid_batch(world, running, 10)
    for pid in blocked:
        world.scalar("SELECT pg_terminate_backend(%s)", (pid,))
    holder.release()
    first = world.finish(running)
    world.notes.append(f"process after the drop: exit {first.returncode} {first.reason[:80]}".strip())
    world.process(1, attempt=2)
    _finish_nights(world)
    return []


def run_two_workers(world: World, baseline: Baseline) -> list[str]:
    """Two `process` runs at once on the same pending pages, small batches."""
    env = {"PRESSMON_BATCH_SIZE": "3"}
    workers = [world.start_process(1, attempt, env=env) for attempt in (1, 2)]
    steps = [world.finish(worker) for worker in workers]
    failures = [f"{s.label} exited {s.returncode}: {s.reason}" for s in steps if s.returncode and not s.crash]
    failures += [f"{s.label}: deadlock" for s in steps if "deadlock" in s.stderr.lower()]
    _finish_nights(world)
    ours = _clusters(world)
    theirs = {frozenset(c) for c in baseline.picture.clusters}
    if ours != theirs:
        split = len(ours - theirs)
        failures.append(f"clusters differ from the fault-free run ({split} not in it)")
    return failures


def _clusters(world: World) -> set[frozenset[str]]:
    rows = world.query(
        "SELECT cluster_id, array_agg(canonical_url) AS urls FROM releases GROUP BY cluster_id"
    )
    return {frozenset(row["urls"]) for row in rows}


def run_alert_during_open_transaction(world: World, baseline: Baseline) -> list[str]:
    """`alert` runs while `process` holds its batch transaction open (blocked on the clustering lock)."""
    holder = LockHolder(world)
    try:
        running = world.start_process(1)
        wait_until(
            lambda: bool(world.blocked_on_advisory_lock()) or not running.alive(),
            LOCK_WAIT,
            "process to wait for the clustering lock",
        )
        if not running.alive() and not world.blocked_on_advisory_lock():
            raise HarnessError("process ended without waiting for the clustering lock")
        alert = world.start_alert(1)
        try:
            alert.proc.wait(20)
        except subprocess.TimeoutExpired:
            world.notes.append("alert waited for process's transaction")
    finally:
        holder.release()
    world.finish(alert)
    world.finish(running)
    world.alert(1, attempt=2)
    world.new_day()
    world.night(2)
    return []


# -- killed processes -----------------------------------------------------------------------------------


def _deliveries_settled(world: World) -> list[str]:
    rows = world.query("SELECT status, count(*) AS n FROM deliveries WHERE status <> 'sent' GROUP BY status")
    return ["deliveries left " + ", ".join(f"{r['status']}: {r['n']}" for r in rows)] if rows else []


def run_kill_crawl(world: World, baseline: Baseline) -> list[str]:
    """SIGKILL `crawl` (and its Scrapy child) after a random number of detail pages, then crawl again."""
    point = world.rng.randint(1, PUBLISHED - 1)
    before = len(world.site.requests)
    running = world.start_crawl(1)

    def served() -> int:
        return sum(1 for _, p, _ in world.site.requests[before:] if qd_press.parse_detail_path(p))

    wait_until(lambda: served() >= point or not running.alive(), 120, f"{point} detail pages served")
    if not running.alive():
        raise HarnessError(f"crawl ended before serving {point} detail pages")
    running.kill()
    world.crawl(1, running=running)
    world.notes.append(f"killed after {point} detail pages")
    world.crawl(1, attempt=2)
    world.process(1)
    _finish_nights(world)
    return []


def run_kill_process(world: World, baseline: Baseline) -> list[str]:
    """SIGKILL `process` in the middle of a batch (pages claimed, not stored), then process again."""
    point = world.rng.randint(1, PUBLISHED - 6)
    running = world.start_process(1, env={"PRESSMON_BATCH_SIZE": "4"})
    holder, _ = _stop_mid_batch(world, running, point)
    running.kill()
    holder.release()
    world.finish(running)
    # The killed worker's session was waiting for the lock, so it learns of the kill only now: let it go
    # (and roll back) before the next run, as it would have at once without the harness's lock.
    wait_until(lambda: not world.pressmon_backends(), LOCK_WAIT, "the killed worker's session to end")
    world.notes.append(f"killed mid-batch after {point}+ pages")
    world.process(1, attempt=2)
    _finish_nights(world)
    return []


def run_kill_alert(world: World, baseline: Baseline) -> list[str]:
    """SIGKILL `alert` at a random SMTP command (MAIL, RCPT, end of DATA, QUIT), then alert again."""
    point = world.rng.randint(1, 9)
    running = world.start_alert(1)
    kill = world.smtp.arm_kill(running.pid, at_event=point)
    step = _finish_killed(world, running, kill)
    world.smtp.disarm()
    if not kill.done:
        raise HarnessError(f"alert ended (exit {step.returncode}) before SMTP command {point}")
    world.notes.append(f"killed at {kill.event}")
    world.alert(1, attempt=2)
    world.new_day()
    world.night(2)
    return _deliveries_settled(world)


def _finish_killed(world: World, running: Running, kill: Kill) -> Step:
    """Wait for a step the SMTP server may kill; a kill it made on purpose is no crash."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        running.proc.wait(max(0.0, running.started + running.timeout - time.monotonic()))
    running.killed = running.killed or kill.done
    return world.finish(running)


# -- mail faults ----------------------------------------------------------------------------------------


def _mail_fault(mode: str, *, pending_after: bool) -> Run:
    """Night 1's alert meets SMTP `mode`; night 2 finds the server well again."""

    def run(world: World, baseline: Baseline) -> list[str]:
        world.smtp.set_mode(mode)
        world.alert(1)
        states = world.query("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
        world.smtp.set_mode("ok")
        world.new_day()
        world.night(2)
        failures = []
        if pending_after and {r["status"] for r in states} != {"pending"}:
            shown = ", ".join(f"{r['status']}: {r['n']}" for r in states) or "none queued"
            failures.append(f"after night 1 deliveries are {shown}, expected all pending")
        return failures + _deliveries_settled(world)

    return run


def run_accept_then_kill(world: World, baseline: Baseline) -> list[str]:
    """SMTP keeps the first digest, then SIGKILLs `alert` before answering 250; alert runs again."""
    running = world.start_alert(1)
    kill = world.smtp.arm_kill(running.pid)
    step = _finish_killed(world, running, kill)
    world.smtp.disarm()
    if not kill.done:
        raise HarnessError(f"alert ended (exit {step.returncode}) without sending a digest")
    world.alert(1, attempt=2)
    world.new_day()
    world.night(2)
    return _deliveries_settled(world)


def run_bounce(world: World, baseline: Baseline) -> list[str]:
    """One recipient is refused with 550 at RCPT, every night; the others must get theirs that same night."""
    world.alert(1)
    first_night = world.smtp.received[world.night_marks.get(1, 0) :]
    world.new_day()
    world.night(2)
    failures = []
    got = {r for message in first_night for r in message.recipients}
    for recipient in {r for r, _ in baseline.deliveries} - {BOUNCER}:
        if recipient not in got:
            failures.append(f"{recipient} got nothing in night 1 (blocked by the bounce)")
    rows = world.query(
        """SELECT d.status, d.last_error FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
            WHERE s.email = %s""",
        (BOUNCER,),
    )
    expected = sum(1 for r, _ in baseline.deliveries if r == BOUNCER)
    if len(rows) != expected:
        failures.append(f"{BOUNCER}: {len(rows)} deliveries queued, expected {expected}")
    states = sorted({r["status"] for r in rows})
    if states != ["failed"]:
        failures.append(f"{BOUNCER} deliveries are {states}, expected ['failed']")
    if any(not r["last_error"] for r in rows):
        failures.append(f"{BOUNCER}: a failed delivery without a reason")
    others = world.query(
        """SELECT count(*) AS n FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
            WHERE s.email <> %s AND d.status <> 'sent'""",
        (BOUNCER,),
    )
    if others and others[0]["n"]:
        failures.append(f"{others[0]['n']} deliveries of other recipients not sent")
    return failures


# -- the table ------------------------------------------------------------------------------------------


def _deep(world: World) -> frozenset[str]:
    return frozenset({world.canonical(DEEP)})


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "list-503",
        "list page 2 answers 503 all night 1",
        "source failed with a list error http_status; archive not walked; night 2 completes",
        _list_fault(qd_press.list_path(2), "503", "http_status"),
    ),
    Scenario(
        "detail-500",
        "a detail page on list page 2 answers 500 all night 1",
        "detail error http_status, source succeeded, run not succeeded; owed, then stored",
        _detail_fault("500", "http_status"),
    ),
    Scenario(
        "detail-timeout",
        "a detail page on list page 2 hangs 6 s (timeout 3 s) all night 1",
        "detail error timeout; owed, then stored",
        _detail_fault("timeout", "timeout"),
    ),
    Scenario(
        "detail-truncated",
        "a detail page on list page 2 sends a third of its announced length all night 1",
        "detail error truncated; owed, then stored",
        _detail_fault("truncate", "truncated"),
    ),
    Scenario(
        "charset-lies-detail",
        "a detail page is GB18030 while header and <meta> say UTF-8, night 1",
        "the release's title and body are those of the fault-free run",
        run_charset_lies_on_detail,
    ),
    Scenario(
        "charset-lies-list",
        "list page 1 is GB18030 while header and <meta> say UTF-8, night 1",
        "the archive is not marked walked unless every list page was fetched",
        run_charset_lies_on_list,
    ),
    Scenario(
        "redirect-offsite",
        "a detail page on list page 2 redirects (302) to another host, 127.0.0.2, night 1",
        "detail error redirect_refused; the other host gets no request; owed, then stored",
        _detail_fault("redirect-offsite", "redirect_refused", _offsite_untouched),
    ),
    Scenario(
        "pagination-loop",
        "下一页 on list page 2 links back to page 1, night 1",
        "source failed with pagination_loop; archive not walked; page 3 fetched in night 2",
        _list_fault(qd_press.list_path(2), "pagination-loop", "pagination_loop", _loop_note),
    ),
    Scenario(
        "huge-page",
        "a detail page of 20 MiB, streamed without Content-Length, every night",
        "detail error too_large; no raw page over 10 MiB; owed with code too_large; crawl memory bounded",
        run_huge_page,
        permanent=_deep,
    ),
    Scenario(
        "blocked-list",
        "list page 1 is a captcha / 访问受限 page with HTTP 200, night 1",
        "source failed with a list error blocked (not 'no news'); archive not walked",
        _list_fault(qd_press.list_path(1), "blocked", "blocked"),
    ),
    Scenario(
        "blocked-detail",
        "a detail page on list page 2 is a captcha / 访问受限 page with HTTP 200, night 1",
        "detail error blocked; no release made of the block page; owed, then stored",
        _detail_fault("blocked", "blocked", _no_block_page_release),
    ),
    Scenario(
        "robots-disallow",
        "robots.txt disallows the archive, night 1",
        "source failed with robots_disallowed; no disallowed page fetched; archive not walked",
        # The refused request is a list page, but the contract leaves the error's kind open here.
        _list_fault(
            qd_press.ROBOTS_PATH, "robots-disallow", "robots_disallowed", _robots_obeyed, error_kind=None
        ),
    ),
    Scenario(
        "empty-list",
        "night 2: list page 1 has no items (layout change) while it holds 2 new releases; night 3 heals",
        "night 2 source failed with empty_list; archive walk untouched",
        run_empty_list,
    ),
    Scenario(
        "postgres-restart",
        "Postgres (the scenario's own) restarts while process is mid-batch",
        "no crash; process run again finishes every page",
        run_postgres_restart,
        embedded_postgres=True,
    ),
    Scenario(
        "connection-dropped",
        "pg_terminate_backend of process's session mid-batch (batch size 5)",
        "no crash; process run again finishes every page",
        run_connection_dropped,
        starts_after="crawled",
    ),
    Scenario(
        "two-workers",
        "two process runs at once on the same pending pages (batch size 3)",
        "both exit 0, no deadlock; same clusters as the fault-free run",
        run_two_workers,
        starts_after="crawled",
    ),
    Scenario(
        "alert-during-process",
        "alert runs while process holds its batch transaction open",
        "every matching release sent exactly once (this run or the next)",
        run_alert_during_open_transaction,
        starts_after="crawled",
    ),
    Scenario(
        "kill-crawl",
        "crawl SIGKILLed after a random number of detail pages, then run again",
        "no page stuck or processed twice; nothing lost",
        run_kill_crawl,
    ),
    Scenario(
        "kill-process",
        "process SIGKILLed mid-batch at a random page, then run again",
        "no page stuck in a claimed state or processed twice",
        run_kill_process,
        starts_after="crawled",
    ),
    Scenario(
        "kill-alert",
        "alert SIGKILLed at a random SMTP command, then run again",
        "no delivery left unsent; no second copy",
        run_kill_alert,
        starts_after="processed",
    ),
    Scenario(
        "smtp-refused",
        "nothing listens on the SMTP port during night 1",
        "deliveries stay pending after night 1; all sent once by night 2",
        _mail_fault("refuse", pending_after=True),
        starts_after="processed",
    ),
    Scenario(
        "smtp-drop-data",
        "SMTP drops the connection at the end of DATA (nothing kept), night 1",
        "deliveries pending after night 1; all sent once by night 2",
        _mail_fault("drop-data", pending_after=True),
        starts_after="processed",
    ),
    Scenario(
        "smtp-451-data",
        "SMTP answers 451 to the end of DATA, night 1",
        "deliveries pending after night 1; all sent once by night 2",
        _mail_fault("451-data", pending_after=True),
        starts_after="processed",
    ),
    Scenario(
        "smtp-quit-451",
        "SMTP accepts each digest (250), then answers QUIT with 451, night 1",
        "no second copy of an accepted digest",
        _mail_fault("quit-451", pending_after=False),
        starts_after="processed",
    ),
    Scenario(
        "smtp-accept-then-kill",
        "SMTP keeps the first digest, then SIGKILLs alert before answering 250; alert runs again",
        "no second copy; every delivery settled",
        run_accept_then_kill,
        starts_after="processed",
    ),
    Scenario(
        "smtp-bounce",
        f"{BOUNCER} refused with 550 at RCPT, every night",
        "its deliveries failed with a reason; the others get theirs the same night",
        run_bounce,
        bounced=frozenset({BOUNCER}),
        starts_after="processed",
    ),
)
