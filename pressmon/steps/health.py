"""Judge the health of each crawled source and mail each change of state once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from pressmon import health, mail, sources
from pressmon.config import Config
from pressmon.errors import CrawlError
from pressmon.progress import QUIET, Progress, ProgressArg, as_progress
from pressmon.steps.delivery import Ledger, deliver_once
from pressmon.steps.process import _content_type
from pressmon.store import Store

log = logging.getLogger(__name__)


def declared_update_days(code: str) -> int:
    """The days a source declares between releases (`update_days`), or 7 when its declaration has none."""
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
