"""Drive the real pipeline through a night, break it on purpose, and measure what was lost or doubled.

A `World` is one scenario's private setting: its own database, offline site, offsite host and SMTP server. Each
step runs as the `pressmon` command in its own process group, configured only by environment variables, as
the nightly job runs it. The measures (`score`) compare the end state with the fault-free `Baseline`.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import psycopg2.extras

from pressmon.offline import qd_press
from pressmon.offline.server import OfflineSite, OffsiteServer
from tests.faults.smtp import FaultySmtp
from tests.pages import CANONICAL_BASE

ROOT = Path(__file__).resolve().parents[2]
SEED = 8  # issue 8: the kill points are drawn from this, so every run kills at the same points
PUBLISHED = 34  # 3 list pages of 15, 15 and 4
NEW_ON_NIGHT_2 = 2
BATCH_SIZE = 10
HANG_SECONDS = 6.0  # a hanging response outlasts the crawler's 3 s download timeout
MAX_PAGE_BYTES = 10 * 1024 * 1024
STEP_TIMEOUTS = {"crawl": 150.0, "process": 90.0, "alert": 60.0, "db": 60.0}
POLL = 0.05
TRACEBACK = "Traceback (most recent call last)"
SUBSCRIBERS = {
    "all@example.org": {"chains": [], "keywords": []},
    "ai@example.org": {"chains": ["人工智能"], "keywords": []},
    "health@example.org": {"chains": ["生命健康"], "keywords": []},
}
BOUNCER = "health@example.org"
# Detail page states that mean "still to do": pending, or claimed by a worker that may have died.
DONE_STATES = ("done", "failed", "skipped")


class HarnessError(Exception):
    """The harness could not set up or inject its fault (not a finding about the pipeline)."""


# -- steps ----------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One run of a `pressmon` command, as it ended."""

    label: str
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timeout: float
    timed_out: bool = False
    killed: bool = False  # on purpose, by the scenario
    peak_rss: int | None = None  # bytes: the largest high-water mark of a process in the step's group

    @property
    def crash(self) -> str | None:
        """Say how this step crashed: a traceback, a hang, or an exit without a one-line reason."""
        if self.killed:
            return None
        if self.timed_out:
            return f"{self.label} hung past {self.timeout:.0f} s"
        if TRACEBACK in self.stderr:
            last = [line for line in self.stderr.strip().splitlines() if line.strip()][-1:]
            return f"{self.label} traceback: {last[0].strip()[:160] if last else '?'}"
        if self.returncode != 0 and not any(
            line.startswith("pressmon: ") for line in self.stderr.splitlines()
        ):
            return f"{self.label} exited {self.returncode} without a 'pressmon: …' line"
        return None

    @property
    def reason(self) -> str:
        """The step's one-line failure reason, if it gave one."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("pressmon: ")]
        return lines[0][:200] if lines else ""


class Running:
    """A `pressmon` command running in its own session, so a kill reaches its Scrapy child too."""

    def __init__(
        self, label: str, argv: list[str], env: dict[str, str], timeout: float, *, sample_memory: bool = False
    ):
        self.label, self.argv, self.timeout = label, argv, timeout
        # Files, not pipes: a step that writes a lot cannot block while the harness polls something else.
        # They are closed in wait().
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.monotonic()
        self.killed = False
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._out, stderr=self._err, start_new_session=True
        )
        self._sampler = MemorySampler(self.proc.pid) if sample_memory else None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group, on purpose."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self) -> Step:
        """Wait for the step to end (or kill it at its timeout) and return what happened."""
        timed_out = False
        try:
            self.proc.wait(max(0.0, self.started + self.timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        peak_rss = self._sampler.stop() if self._sampler else None
        # Whatever the leader left behind in its group (a Scrapy child) must not outlive the step.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        step = Step(
            label=self.label,
            argv=self.argv,
            returncode=self.proc.returncode,
            stdout=_read(self._out),
            stderr=_read(self._err),
            seconds=time.monotonic() - self.started,
            timeout=self.timeout,
            timed_out=timed_out,
            killed=self.killed,
            peak_rss=peak_rss,
        )
        self._out.close()
        self._err.close()
        return step


class MemorySampler:
    """Follow the peak resident memory (VmHWM) of every process in a process group, in a thread."""

    def __init__(self, pgid: int, interval: float = 0.05):
        self.pgid, self.interval = pgid, interval
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(10)
        return max(self.peaks.values(), default=0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != self.pgid:
                    continue
                status = (proc / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    self.peaks[int(proc.name)] = max(self.peaks.get(int(proc.name), 0), kib * 1024)


def _read(file: Any) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


def pressmon_command() -> list[str]:
    script = Path(sys.executable).with_name("pressmon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pressmon.cli"]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until condition() holds; raise HarnessError naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(POLL)
    raise HarnessError(f"gave up after {timeout:.0f} s waiting for {what}")


# -- the world of one scenario --------------------------------------------------------------------------


@dataclass
class CrawlRecord:
    """What one crawl left behind: its run, the source's outcome, and what it asked the site for."""

    night: int
    step: Step
    run: dict[str, Any] | None
    source: dict[str, Any] | None
    walked_before: Any
    walked_after: Any
    list_paths: list[str]
    detail_paths: list[str]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list((self.source or {}).get("errors") or [])


@dataclass
class World:
    """One scenario's database, sites, SMTP server and the steps run against them."""

    name: str
    db_url: str
    site: OfflineSite
    offsite: OffsiteServer
    smtp: FaultySmtp
    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    crawls: list[CrawlRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    night_marks: dict[int, int] = field(default_factory=dict)  # night -> messages received before it
    restart_postgres: Callable[[], None] | None = None
    started: list[Running] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{SEED}:{self.name}")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRESSMON_")},
            "PRESSMON_DATABASE_URL": self.db_url,
            "PRESSMON_BASE_URL_QD_PRESS": self.site.base_url,
            "PRESSMON_SMTP_URL": self.smtp.url,
            "PRESSMON_CRAWL_DELAY": "0",
            "PRESSMON_DOWNLOAD_TIMEOUT": "3",
            "PRESSMON_BATCH_SIZE": str(BATCH_SIZE),
            "PRESSMON_CRAWL_LOG_LEVEL": "WARNING",
            "PRESSMON_VAR_DIR": str(self.var_dir),
        }

    # -- running steps -----------------------------------------------------------------------------------

    def start(
        self, label: str, *args: str, env: dict[str, str] | None = None, sample_memory: bool = False
    ) -> Running:
        timeout = STEP_TIMEOUTS.get(args[0], 60.0)
        argv = [*pressmon_command(), *args]
        running = Running(label, argv, {**self.env, **(env or {})}, timeout, sample_memory=sample_memory)
        self.started.append(running)
        return running

    def close(self) -> None:
        """Kill whatever a scenario that stopped early left running."""
        for running in self.started:
            if running.alive():
                running.kill()
                running.wait()

    def finish(self, running: Running) -> Step:
        step = running.wait()
        self.steps.append(step)
        return step

    def run(self, label: str, *args: str, env: dict[str, str] | None = None) -> Step:
        return self.finish(self.start(label, *args, env=env))

    def crawl(
        self, night: int, attempt: int = 1, *, running: Running | None = None, sample_memory: bool = False
    ) -> CrawlRecord:
        """Crawl qd_press as a new run (or wait for a crawl already started); record what it did."""
        key = self.run_key(night, attempt)
        before_requests = len(self.site.requests)
        walked_before = self.archive_walked_at()
        step = self.finish(running or self.start_crawl(night, attempt, sample_memory=sample_memory))
        requests = self.site.requests[before_requests:]
        record = CrawlRecord(
            night=night,
            step=step,
            run=self.one("SELECT * FROM crawl_runs WHERE run_key = %s", (key,)),
            source=self.one(
                """SELECT s.* FROM crawl_run_sources s JOIN crawl_runs r ON r.id = s.run_id
                    WHERE r.run_key = %s AND s.source = 'qd_press'""",
                (key,),
            ),
            walked_before=walked_before,
            walked_after=self.archive_walked_at(),
            list_paths=[p for _, p, _ in requests if qd_press.parse_list_path(p) is not None],
            detail_paths=[p for _, p, _ in requests if qd_press.parse_detail_path(p) is not None],
        )
        self.crawls.append(record)
        return record

    def start_crawl(self, night: int, attempt: int = 1, *, sample_memory: bool = False) -> Running:
        key = self.run_key(night, attempt)
        label = f"night {night} crawl#{attempt}"
        return self.start(label, "crawl", "qd_press", "--run-key", key, sample_memory=sample_memory)

    def run_key(self, night: int, attempt: int) -> str:
        return f"fault-{self.name}-n{night}-{attempt}"

    def process(self, night: int, attempt: int = 1, env: dict[str, str] | None = None) -> Step:
        return self.run(f"night {night} process#{attempt}", "process", env=env)

    def start_process(self, night: int, attempt: int = 1, env: dict[str, str] | None = None) -> Running:
        return self.start(f"night {night} process#{attempt}", "process", env=env)

    def alert(self, night: int, attempt: int = 1) -> Step:
        self.night_marks.setdefault(night, len(self.smtp.received))
        return self.run(f"night {night} alert#{attempt}", "alert")

    def start_alert(self, night: int, attempt: int = 1) -> Running:
        self.night_marks.setdefault(night, len(self.smtp.received))
        return self.start(f"night {night} alert#{attempt}", "alert")

    def night(self, night: int, *, sample_memory: bool = False) -> CrawlRecord:
        """A whole fault-free night: crawl, process, alert."""
        record = self.crawl(night, sample_memory=sample_memory)
        self.process(night)
        self.alert(night)
        return record

    def new_day(self) -> None:
        """What the site publishes between night 1 and night 2."""
        self.site.publish(NEW_ON_NIGHT_2)

    # -- the database, as the harness sees it ------------------------------------------------------------

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        conn = psycopg2.connect(self.db_url, application_name="pressmon-faults", connect_timeout=10)
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        with self.connection() as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params or None)  # without parameters, a literal % stays as it is
            return [dict(row) for row in cur.fetchall()] if cur.description else []

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: tuple | dict = ()) -> Any:
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def has_table(self, name: str) -> bool:
        return bool(self.scalar("SELECT to_regclass(%s) IS NOT NULL", (name,)))

    def has_column(self, table: str, column: str) -> bool:
        return bool(
            self.scalar(
                """SELECT count(*) FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s""",
                (table, column),
            )
        )

    def archive_walked_at(self) -> Any:
        return self.scalar("SELECT archive_walked_at FROM sources WHERE code = 'qd_press'")

    def processed_pages(self) -> int:
        """How far processing got: releases stored (whatever states raw pages go through)."""
        return self.scalar("SELECT count(*) FROM releases")

    def pressmon_backends(self) -> list[dict[str, Any]]:
        """The pipeline's own sessions on this scenario's database."""
        return self.query(
            """SELECT pid, state, xact_start, wait_event_type, wait_event FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'pressmon'
                  AND pid <> pg_backend_pid()"""
        )

    def blocked_on_advisory_lock(self) -> list[int]:
        """Pids of pipeline sessions waiting for an advisory lock on this database."""
        rows = self.query(
            """SELECT DISTINCT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()
                  AND a.application_name = 'pressmon'"""
        )
        return [row["pid"] for row in rows]

    def owed(self, canonical_url: str) -> dict[str, Any] | None:
        """The owed_pages row of a URL (matched by path), or None (also when the table does not exist)."""
        if not self.has_table("owed_pages"):
            return None
        path = urlsplit(canonical_url).path
        rows = self.query("SELECT * FROM owed_pages WHERE source = 'qd_press'")
        return next((row for row in rows if urlsplit(row["canonical_url"]).path == path), None)

    # -- the site --------------------------------------------------------------------------------------

    def canonical(self, index: int) -> str:
        """Canonical URL of the index-th oldest release (what releases.canonical_url holds)."""
        return f"{CANONICAL_BASE}{qd_press.detail_path(self.site.releases[index])}"

    def detail_path(self, index: int) -> str:
        return qd_press.detail_path(self.site.releases[index])


# -- what a scenario ended with -------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """The end state that the measures compare: releases, clusters and the emails received."""

    releases: dict[str, dict[str, Any]]  # canonical URL -> title, body, version
    clusters: frozenset[frozenset[str]]
    emails: dict[tuple[str, frozenset[str]], int]  # (recipient, cluster) -> digests that listed it
    message_ids: Counter[tuple[str, str]]  # (recipient, Message-ID) -> copies received
    unknown_urls: frozenset[str]


def picture(world: World, cluster_of: dict[str, frozenset[str]] | None = None) -> Picture:
    """Read the scenario's end state; URLs in emails are grouped by the baseline's clusters when given."""
    rows = world.query("SELECT id, canonical_url, title, body, version, cluster_id FROM releases")
    releases = {row["canonical_url"]: row for row in rows}
    members: dict[int, set[str]] = {}
    for row in rows:
        members.setdefault(row["cluster_id"], set()).add(row["canonical_url"])
    clusters = frozenset(frozenset(urls) for urls in members.values())
    own_cluster = {url: frozenset(urls) for urls in members.values() for url in urls}
    grouping = cluster_of if cluster_of is not None else own_cluster
    emails: Counter[tuple[str, frozenset[str]]] = Counter()
    message_ids: Counter[tuple[str, str]] = Counter()
    unknown: set[str] = set()
    for received in world.smtp.received:
        for recipient in received.recipients:
            message_ids[(recipient, received.message_id)] += 1
            listed = set()
            for url in received.urls:
                cluster = grouping.get(url)
                if cluster is None:
                    unknown.add(url)
                    cluster = frozenset({url})
                listed.add(cluster)
            for cluster in listed:
                emails[(recipient, cluster)] += 1
    return Picture(releases, clusters, dict(emails), message_ids, frozenset(unknown))


@dataclass(frozen=True)
class Baseline:
    """The fault-free run: the releases, clusters and emails every scenario must end with."""

    picture: Picture
    cluster_of: dict[str, frozenset[str]]
    problems: tuple[str, ...]
    seconds: float
    crawl_peak_rss: int | None

    @property
    def releases(self) -> dict[str, dict[str, Any]]:
        return self.picture.releases

    @property
    def deliveries(self) -> frozenset[tuple[str, frozenset[str]]]:
        return frozenset(self.picture.emails)


def baseline_from(world: World, seconds: float) -> Baseline:
    first = picture(world)
    cluster_of = {url: cluster for cluster in first.clusters for url in cluster}
    pic = picture(world, cluster_of)
    problems = [step.crash for step in world.steps if step.crash]
    problems += [f"{s.label} exited {s.returncode}: {s.reason}" for s in world.steps if s.returncode]
    problems += [
        f"night {c.night} crawl: {(c.run or {}).get('status')}, {len(c.errors)} errors"
        for c in world.crawls
        if (c.run or {}).get("status") != "succeeded" or c.errors
    ]
    twice = [key for key, n in pic.emails.items() if n != 1] + [
        k for k, n in pic.message_ids.items() if n != 1
    ]
    if twice:
        problems.append(f"{len(twice)} (recipient, release) pairs not received exactly once")
    if len(first.releases) != PUBLISHED + NEW_ON_NIGHT_2:
        problems.append(f"{len(first.releases)} releases, expected {PUBLISHED + NEW_ON_NIGHT_2}")
    for recipient in SUBSCRIBERS:
        if not any(r == recipient for r, _ in pic.emails):
            problems.append(f"{recipient} received nothing")
    peak = world.crawls[0].step.peak_rss if world.crawls else None
    return Baseline(pic, cluster_of, tuple(problems), seconds, peak)


# -- the measures ---------------------------------------------------------------------------------------


@dataclass
class Result:
    """One scenario's measures and the checks it failed, as one line of the matrix."""

    name: str
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.missed or self.crashes or self.failures)

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicates)

    def line(self) -> str:
        what = "; ".join(
            [
                *(f"lost {u}" for u in _short(self.lost)),
                *(f"crash: {c}" for c in self.crashes),
                *self.failures,
                *(f"duplicate: {d}" for d in _short(self.duplicates)),
                *(f"missed: {m}" for m in _short(self.missed)),
            ]
        )
        if not what:
            what = "; ".join(self.notes) or "as the fault-free run"
        elif self.notes:
            what += " [" + "; ".join(self.notes) + "]"
        return (
            f"fault {self.name}: {'ok' if self.ok else 'FAIL'} lost={len(self.lost)} dup={self.duplicate_count}"
            f" missed={len(self.missed)} crashes={len(self.crashes)} ({self.seconds:.0f} s) — {what}"
        )


def _ordinal(n: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _short(items: list[str], limit: int = 3) -> list[str]:
    return items[:limit] + ([f"… {len(items) - limit} more"] if len(items) > limit else [])


def release_name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def score(
    world: World,
    baseline: Baseline,
    *,
    excusable: frozenset[str] = frozenset(),
    bounced: frozenset[str] = frozenset(),
) -> Result:
    """Count what the scenario lost, doubled, missed and crashed on, against the baseline.

    Args:
        excusable: canonical URLs a permanent fault makes unreachable; their loss is excused only when the
            page is reported (owed_pages with a reason, and an error naming it in a run summary).
        bounced: recipients whose mail is refused for good; their deliveries are checked by the scenario.
    """
    result = Result(world.name)
    pic = picture(world, baseline.cluster_of)
    excused: set[str] = set()
    for url in sorted(baseline.releases):
        if url in pic.releases:
            continue
        if url in excusable:
            reported = reported_as_owed(world, url)
            if reported is None:
                excused.add(url)
                result.notes.append(f"{release_name(url)} not stored, reported as owed")
                continue
            result.lost.append(f"{release_name(url)} ({reported}; {fetched_as(world, url)})")
            continue
        result.lost.append(f"{release_name(url)} ({fetched_as(world, url)})")
    for (recipient, message_id), copies in sorted(pic.message_ids.items()):
        for copy in range(2, copies + 1):
            result.duplicates.append(f"{recipient} got Message-ID {message_id} a {_ordinal(copy)} time")
    for (recipient, cluster), copies in sorted(
        pic.emails.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))
    ):
        for _ in range(copies - 1):
            result.duplicates.append(f"{recipient} got {release_name(min(cluster))} again")
    for recipient, cluster in sorted(baseline.deliveries, key=lambda kv: (kv[0], sorted(kv[1]))):
        if recipient in bounced or cluster & excused:
            continue
        if pic.emails.get((recipient, cluster), 0) == 0:
            result.missed.append(f"{recipient} never got {release_name(min(cluster))}")
    if pic.unknown_urls:
        result.notes.append(f"emails listed {len(pic.unknown_urls)} URLs the baseline does not have")
    result.crashes = [step.crash for step in world.steps if step.crash]
    return result


def fetched_as(world: World, url: str) -> str:
    """Say what became of a page's fetches: never stored, or each raw page's status and state."""
    path = urlsplit(url).path
    rows = world.query(
        """SELECT status, process_state, process_error, octet_length(body) AS size FROM raw_pages
            WHERE kind = 'detail' AND canonical_url LIKE %s ORDER BY id""",
        (f"%{path}",),
    )
    if not rows:
        return "never stored"
    return ", ".join(
        f"stored {r['status']} {r['size'] // 1024} KiB {r['process_state']}"
        + (f": {str(r['process_error'])[:60]}" if r["process_error"] else "")
        for r in rows
    )


def reported_as_owed(world: World, url: str) -> str | None:
    """Return why a page not stored does not count as reported, or None when it is reported."""
    owed = world.owed(url)
    if owed is None:
        return "not in owed_pages" if world.has_table("owed_pages") else "no owed_pages table"
    if owed.get("state") not in ("owed", "given_up"):
        return f"owed_pages state {owed.get('state')!r}"
    if not (owed.get("last_error") or owed.get("last_code")):
        return "owed_pages row without a reason"
    path = urlsplit(url).path
    if not any(_error_path(e) == path for crawl in world.crawls for e in crawl.errors):
        return "no run summary error names it"
    return None


def _error_path(error: dict[str, Any]) -> str | None:
    url = error.get("url")
    return urlsplit(url).path if isinstance(url, str) else None


# -- checks scenarios share -----------------------------------------------------------------------------


def errors_matching(
    crawl: CrawlRecord, *, code: str | None = None, kind: str | None = None, path: str | None = None
) -> list[dict[str, Any]]:
    return [
        e
        for e in crawl.errors
        if (code is None or e.get("code") == code)
        and (kind is None or e.get("kind") == kind)
        and (path is None or _error_path(e) == path)
    ]


def describe_errors(crawl: CrawlRecord, limit: int = 3) -> str:
    if not crawl.errors:
        return "no errors"
    shown = [f"{e.get('kind')}/{e.get('code')}: {str(e.get('reason'))[:60]}" for e in crawl.errors[:limit]]
    more = f" (+{len(crawl.errors) - limit})" if len(crawl.errors) > limit else ""
    return "errors " + ", ".join(shown) + more


def expect_error(
    crawl: CrawlRecord,
    code: str,
    *,
    kind: str | None,
    path: str | None = None,
    source_status: str | None = None,
) -> list[str]:
    """Check that a crawl reported an error with this code (for this page), and the source's status."""
    failures = []
    where = f"night {crawl.night}"
    if not errors_matching(crawl, code=code, kind=kind, path=path):
        target = f" for {release_name(path)}" if path and kind == "detail" else ""
        what = f"{kind} error" if kind else "error"
        failures.append(f"{where}: no {what} with code {code!r}{target} ({describe_errors(crawl)})")
    status = (crawl.source or {}).get("status")
    if source_status is not None and status != source_status:
        failures.append(f"{where}: source {status!r}, expected {source_status!r}")
    run_status = (crawl.run or {}).get("status")
    if run_status == "succeeded":
        failures.append(f"{where}: run 'succeeded' although the crawl met {code!r}")
    return failures


def expect_archive_not_walked(crawl: CrawlRecord) -> list[str]:
    if crawl.walked_after is not None and crawl.walked_after != crawl.walked_before:
        return [f"night {crawl.night}: archive marked walked after a failed list walk"]
    return []


def expect_owed_then_stored(world: World, url: str) -> list[str]:
    """Check the page was recorded as owed and is stored by the end."""
    owed = world.owed(url)
    if owed is None:
        why = "not in owed_pages" if world.has_table("owed_pages") else "no owed_pages table"
        return [f"{release_name(url)} {why}"]
    if owed.get("state") != "stored":
        return [f"{release_name(url)} owed_pages state {owed.get('state')!r} at the end, expected 'stored'"]
    return []


def general_checks(world: World) -> list[str]:
    """Rules of the run summary every crawl must keep, whatever the fault."""
    failures = []
    for crawl in world.crawls:
        if crawl.step.killed or crawl.run is None:
            continue
        where = f"night {crawl.night} crawl#{crawl.run['run_key'].rsplit('-', 1)[-1]}"
        status = (crawl.source or {}).get("status")
        if crawl.run.get("status") == "succeeded" and crawl.errors:
            failures.append(f"{where}: run 'succeeded' with {len(crawl.errors)} errors")
        if status == "succeeded" and any(e.get("kind") == "list" for e in crawl.errors):
            failures.append(f"{where}: source 'succeeded' with a list-page error")
        if status != "succeeded" and crawl.walked_after != crawl.walked_before:
            failures.append(f"{where}: archive marked walked by a failed crawl")
        if crawl.run.get("status") == "running":
            failures.append(f"{where}: run left 'running' by a crawl that ended")
    return failures


def pipeline_invariants(world: World) -> list[str]:
    """No detail page left pending or claimed; one release per URL; nothing processed twice."""
    failures = []
    stuck = world.query(
        """SELECT process_state, count(*) AS n FROM raw_pages
            WHERE kind = 'detail' AND status = 200 AND NOT process_state = ANY (%s)
            GROUP BY process_state""",
        (list(DONE_STATES),),
    )
    if stuck:
        failures.append("pages left " + ", ".join(f"{r['process_state']}: {r['n']}" for r in stuck))
    twice = world.scalar("SELECT count(*) - count(DISTINCT canonical_url) FROM releases")
    if twice:
        failures.append(f"{twice} duplicate release rows")
    bumped = world.scalar("SELECT count(*) FROM releases WHERE version > 1")
    if bumped:
        failures.append(f"{bumped} releases got a new version")
    return failures
