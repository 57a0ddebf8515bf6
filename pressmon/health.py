"""Source health: what one crawl run, once processed, says about a source, as one state.

A broken site must never read as a quiet night. Each run is judged per source from what the crawl recorded
(crawl_run_sources), what processing made of the run's pages (raw_pages), and the source's history of
releases. When several states apply, the most urgent wins, in the order of STATES:

    blocked         the list pages could not be read: a list page failed with a block/captcha/login page, an
                    HTTP error status (403, 429, 5xx, …), no answer (timeout, connection, truncated), a
                    refused redirect or robots.txt, or the crawl did not finish; or more than the parse-error
                    share of the run's detail pages were block pages or HTTP 403/429
    empty_list      a list page parsed to zero items (`empty_list`) or its pagination looped back: the list
                    layout changed
    encoding_error  a list or detail page of the run could be decoded only lossily (no charset reads its bytes
                    cleanly): releases would be mojibake
    parse_errors    more than `parse_error_share` (PRESSMON_PARSE_ERROR_SHARE, default 0.25) of the run's
                    processed detail pages failed extraction
    stale           nothing new this run, and the last new release was stored more than the expected period
                    ago (`period_days`)
    no_new_items    the list was read, nothing new on it
    ok              new releases found and stored

The expected period is the source's declared `update_days` (7 when it declares none) until its release days
(publication date, else the day first stored) show at least MIN_GAPS gaps; from then on it is learned: the
95th percentile (nearest rank) of the last HISTORY_GAPS gaps, at least FLOOR_DAYS.

Nothing here touches the database or the network: `pressmon.steps.judge_health` gathers the evidence and
records the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

# Most urgent first: the first state whose rule holds is the verdict.
STATES = ("blocked", "empty_list", "encoding_error", "parse_errors", "stale", "no_new_items", "ok")
# Moving between these is a source's ordinary life (a quiet day, then a release): no notice.
HEALTHY = frozenset({"ok", "no_new_items"})
DEFAULT_UPDATE_DAYS = 7
DEFAULT_PARSE_ERROR_SHARE = 0.25
MIN_GAPS = 5
HISTORY_GAPS = 30
LEARNED_PERCENTILE = 0.95
FLOOR_DAYS = 3
FIRST_FAILURES = 5
BEIJING = ZoneInfo("Asia/Shanghai")
# The counts of a verdict, in the order people read them (jsonb keeps no order).
COUNT_KEYS = (
    "list_pages",
    "list_errors",
    "detail_pages",
    "detail_errors",
    "blocked_details",
    "parsed",
    "parse_failed",
    "lossy",
    "pending",
    "new_items",
)
# Error codes of a list page that mean the list could not be read at all; `None`: a crawl process that died
# before recording its own outcome.
UNREADABLE_LIST_CODES = frozenset(
    {
        "blocked",
        "http_status",
        "timeout",
        "connection",
        "truncated",
        "too_large",
        "redirect_refused",
        "offsite",
        "robots_disallowed",
        "closed",
        None,
    }
)
LAYOUT_CODES = frozenset({"empty_list", "pagination_loop"})
BLOCKING_STATUSES = ("HTTP 403", "HTTP 429")


@dataclass(frozen=True)
class Failure:
    url: str | None
    code: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Evidence:
    """What one run left about one source, read after processing.

    Args:
        crawl_status: the crawl_run_sources status: succeeded, failed, or running (its process died).
        errors: the crawl's errors, each {url, kind, code, reason}.
        list_pages: list pages stored by the crawl.
        detail_pages: detail pages stored by the crawl (usable or not).
        parsed: the run's detail pages processing handled (parsed, or failed extraction).
        parse_failures: (url, reason) of those that failed extraction or storage.
        lossy_urls: pages of the run (list or detail) whose bytes decoded only lossily.
        pending: the run's detail pages processing has not handled yet.
        new_items: releases first stored from the run's pages.
        last_new_item: the last day a new release of the source was stored (this run's included).
        release_days: the source's distinct release days, for learning its period.
        declared_days: the declared `update_days`.
        today: the day (Beijing) the run is judged.
    """

    crawl_status: str
    errors: Sequence[dict[str, Any]] = ()
    list_pages: int = 0
    detail_pages: int = 0
    parsed: int = 0
    parse_failures: Sequence[tuple[str, str]] = ()
    lossy_urls: Sequence[str] = ()
    pending: int = 0
    new_items: int = 0
    last_new_item: date | None = None
    release_days: Sequence[date] = ()
    declared_days: int = DEFAULT_UPDATE_DAYS
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    counts: dict[str, int]
    failures: tuple[Failure, ...]
    period_declared: int
    period_learned: int | None

    @property
    def period_days(self) -> int:
        return self.period_learned if self.period_learned is not None else self.period_declared


def learned_period(release_days: Sequence[date], today: date) -> int | None:
    """Return the learned update period in days, or None while the history has fewer than MIN_GAPS gaps."""
    days = sorted({d for d in release_days if d <= today})
    gaps = [(b - a).days for a, b in pairwise(days)][-HISTORY_GAPS:]
    if len(gaps) < MIN_GAPS:
        return None
    ranked = sorted(gaps)
    percentile = ranked[math.ceil(LEARNED_PERCENTILE * len(ranked)) - 1]
    return max(FLOOR_DAYS, percentile)


def judge(evidence: Evidence, parse_error_share: float = DEFAULT_PARSE_ERROR_SHARE) -> Verdict:
    """Return the state of a source after one run, with its reason, counts and first failing URLs."""
    e = evidence
    list_errors = [err for err in e.errors if err.get("kind") in ("list", None)]
    detail_errors = [err for err in e.errors if err.get("kind") == "detail"]
    unreadable = [err for err in list_errors if err.get("code") in UNREADABLE_LIST_CODES]
    layout = [err for err in list_errors if err.get("code") in LAYOUT_CODES]
    blocked_details = [
        err
        for err in detail_errors
        if err.get("code") == "blocked" or str(err.get("reason") or "").startswith(BLOCKING_STATUSES)
    ]
    failed_parses = list(e.parse_failures)
    learned = learned_period(e.release_days, e.today)
    period = learned if learned is not None else e.declared_days
    idle_days = (e.today - e.last_new_item).days if e.last_new_item else None
    counts = {
        "list_pages": e.list_pages,
        "list_errors": len(list_errors),
        "detail_pages": e.detail_pages,
        "detail_errors": len(detail_errors),
        "blocked_details": len(blocked_details),
        "parsed": e.parsed,
        "parse_failed": len(failed_parses),
        "lossy": len(e.lossy_urls),
        "pending": e.pending,
        "new_items": e.new_items,
    }

    def verdict(state: str, reason: str, failures: Sequence[Failure]) -> Verdict:
        return Verdict(state, reason, counts, tuple(failures[:FIRST_FAILURES]), e.declared_days, learned)

    def as_failures(errors: Sequence[dict[str, Any]]) -> list[Failure]:
        return [
            Failure(
                err.get("url"), str(err.get("code") or err.get("kind") or "crawl"), _line(err.get("reason"))
            )
            for err in errors
        ]

    if e.crawl_status == "running":
        return verdict("blocked", "the crawl did not finish (its process died)", as_failures(list_errors))
    if unreadable:
        first = unreadable[0]
        return verdict(
            "blocked",
            f"list page not readable: {first.get('code') or 'crawl failed'}: {_line(first.get('reason'))}",
            as_failures(unreadable),
        )
    if blocked_details and len(blocked_details) / max(e.detail_pages, 1) > parse_error_share:
        return verdict(
            "blocked",
            f"{len(blocked_details)} of {e.detail_pages} detail pages were block pages or refused "
            f"(more than {parse_error_share:.0%})",
            as_failures(blocked_details),
        )
    if layout:
        return verdict(
            "empty_list", f"list layout changed: {_line(layout[0].get('reason'))}", as_failures(layout)
        )
    if e.crawl_status == "failed" and e.list_pages == 0:
        # A failed crawl that stored no list page and named no reason we know: the list was not read.
        return verdict("blocked", "no list page was read", as_failures(list_errors))
    if e.lossy_urls:
        pages = e.list_pages + e.detail_pages
        return verdict(
            "encoding_error",
            f"{len(e.lossy_urls)} of {pages} pages could be decoded only lossily (mojibake)",
            [Failure(url, "encoding", "no charset reads the bytes cleanly") for url in e.lossy_urls],
        )
    if failed_parses and len(failed_parses) / max(e.parsed, 1) > parse_error_share:
        return verdict(
            "parse_errors",
            f"{len(failed_parses)} of {e.parsed} detail pages failed extraction "
            f"(more than {parse_error_share:.0%})",
            [Failure(url, "parse", _line(reason)) for url, reason in failed_parses],
        )
    other = as_failures(list_errors + detail_errors)
    if e.new_items:
        return verdict("ok", f"{e.new_items} new releases stored", other)
    if idle_days is not None and idle_days > period:
        how = "learned" if learned is not None else "declared"
        return verdict(
            "stale",
            f"nothing new for {idle_days} days (since {e.last_new_item}); expected every {period} days ({how})",
            other,
        )
    since = f" (last new release {e.last_new_item})" if e.last_new_item else ""
    return verdict("no_new_items", f"list read, nothing new{since}", other)


def should_notify(previous: str | None, current: str) -> bool:
    """Tell whether a change of state is worth the operator's email: any change into, out of or between
    problem states; not the daily back and forth between ok and no_new_items (nor a first ok)."""
    before = previous or "ok"
    return before != current and not (before in HEALTHY and current in HEALTHY)


def notice_message_id(run_id: int, source: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "pressmon.local"
    return f"<pressmon.health.{run_id}.{source}@{domain}>"


def render_notice(row: dict[str, Any], sender: str, recipient: str, sent_at: datetime) -> EmailMessage:
    """Build the operator's email about one source's change of state (row: a source_health row with the
    source's name and the run's key)."""
    was = row["changed_from"] or "none"
    message = EmailMessage()
    message["Subject"] = f"pressmon: source {row['source']} is {row['state']} (was {was})"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = notice_message_id(row["run_id"], row["source"], sender)
    message["X-Pressmon-Source"] = row["source"]
    counts = row["counts"] or {}
    lines = [
        f"Source: {row['source']} ({row['source_name']})",
        f"State: {row['state']} (was {was}), since {row['since'].astimezone(BEIJING):%Y-%m-%d %H:%M} Beijing time",
        f"Why: {row['reason']}",
        f"Run: {row['run_key']} (crawl run {row['run_id']})",
        "",
        "Counts: " + ", ".join(f"{key} {counts[key]}" for key in COUNT_KEYS if key in counts),
        f"New releases: {row['new_items']}; last new release stored: {row['last_new_item'] or 'never'}",
        f"Expected period: {row['period_days']} days "
        f"(declared {row['period_declared']}, learned {row['period_learned'] or 'not yet'})",
    ]
    failures = row["failures"] or []
    if failures:
        lines += ["", "First failing URLs:"]
        lines += [f"  {f.get('url') or '(no URL)'}  {f.get('code')}: {f.get('reason')}" for f in failures]
    lines += ["", "States and what to do: README, 'Source health'. reporting.source_health has every source."]
    message.set_content("\n".join(lines) + "\n", charset="utf-8")
    return message


def _line(reason: object) -> str:
    text = str(reason or "").strip()
    return text.splitlines()[0][:300] if text else ""
