"""Write the weekly report and mail it to the weekly subscribers once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from pressmon import mail, weekly
from pressmon.config import Config
from pressmon.progress import QUIET, ProgressArg, as_progress
from pressmon.steps.delivery import Ledger, deliver_once
from pressmon.store import Store, as_role, connect, database_url

log = logging.getLogger(__name__)


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


def _report_ledger(store: Store, subscription_id: int, week: date) -> Ledger:
    return Ledger(
        sending=lambda mid: store.mark_report_sending(subscription_id, week, mid),
        sent=lambda mid, note: store.mark_report_sent(subscription_id, week, mid, note=note),
        failed=lambda error, permanent: store.mark_report_failed(
            subscription_id, week, error, permanent=permanent
        ),
    )
