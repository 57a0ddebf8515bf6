"""Queue and send the nightly digests of new releases to subscribers."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pressmon import alerts, mail
from pressmon.config import Config
from pressmon.progress import QUIET, ProgressArg, as_progress
from pressmon.steps.delivery import Ledger, deliver_once
from pressmon.store import Store

log = logging.getLogger(__name__)


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
