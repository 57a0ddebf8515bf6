"""The pure state function: each rule, the precedence when several hold, the thresholds, the learned period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pressmon.health import (
    FIRST_FAILURES,
    STATES,
    Evidence,
    judge,
    learned_period,
    should_notify,
)

TODAY = date(2026, 3, 2)
LIST = "http://site/list/index.html"


def err(kind: str | None, code: str | None, reason: str = "why", url: str = LIST) -> dict:
    return {"url": url, "kind": kind, "code": code, "reason": reason}


def weekly(n: int, last: date = TODAY) -> list[date]:
    """n release days a week apart, the last one on `last`."""
    return [last - timedelta(days=7 * i) for i in range(n)]


QUIET = {"crawl_status": "succeeded", "list_pages": 1, "last_new_item": TODAY - timedelta(days=1)}

CASES = [
    # (id, evidence fields, expected state)
    ("new items", {**QUIET, "new_items": 2, "detail_pages": 2, "parsed": 2}, "ok"),
    ("nothing new", QUIET, "no_new_items"),
    ("never stored anything, nothing new", {**QUIET, "last_new_item": None}, "no_new_items"),
    (
        "block page on the list",
        {**QUIET, "crawl_status": "failed", "errors": [err("list", "blocked")]},
        "blocked",
    ),
    (
        "HTTP 503 on list page 2",
        {**QUIET, "crawl_status": "failed", "errors": [err("list", "http_status", "HTTP 503")]},
        "blocked",
    ),
    ("list timeout", {**QUIET, "crawl_status": "failed", "errors": [err("list", "timeout")]}, "blocked"),
    ("crawl process died", {**QUIET, "crawl_status": "running"}, "blocked"),
    (
        "scrapy exited, no code",
        {**QUIET, "crawl_status": "failed", "list_pages": 0, "errors": [err(None, None, "exit 1", None)]},
        "blocked",
    ),
    ("empty list", {**QUIET, "crawl_status": "failed", "errors": [err("list", "empty_list")]}, "empty_list"),
    (
        "pagination loop",
        {**QUIET, "crawl_status": "failed", "errors": [err("list", "pagination_loop")]},
        "empty_list",
    ),
    (
        "list ceiling alone is no fault",
        {**QUIET, "errors": [err("list", "list_ceiling")], "new_items": 3},
        "ok",
    ),
    ("one lossy page", {**QUIET, "new_items": 1, "lossy_urls": ["http://site/a.html"]}, "encoding_error"),
    (
        "parse failures above the share",
        {**QUIET, "parsed": 4, "parse_failures": [("http://site/a", "NotAnArticle: x")] * 2},
        "parse_errors",
    ),
    (
        "parse failures at the share exactly",
        {**QUIET, "parsed": 4, "new_items": 3, "parse_failures": [("http://site/a", "NotAnArticle: x")]},
        "ok",
    ),
    (
        "detail fetch errors alone are no state",
        {
            **QUIET,
            "detail_pages": 5,
            "new_items": 4,
            "errors": [err("detail", "timeout", url="http://site/d")],
        },
        "ok",
    ),
    (
        "most detail pages blocked",
        {**QUIET, "detail_pages": 2, "errors": [err("detail", "blocked", url="http://site/d")] * 2},
        "blocked",
    ),
    (
        "one detail 403 of ten",
        {**QUIET, "detail_pages": 10, "new_items": 9, "errors": [err("detail", "http_status", "HTTP 403")]},
        "ok",
    ),
    ("stale by the declared period", {**QUIET, "last_new_item": TODAY - timedelta(days=8)}, "stale"),
    (
        "not stale on the last day of the period",
        {**QUIET, "last_new_item": TODAY - timedelta(days=7)},
        "no_new_items",
    ),
    (
        "stale by the learned period",
        {
            **QUIET,
            "last_new_item": TODAY - timedelta(days=8),
            "release_days": weekly(10, TODAY - timedelta(days=8)),
        },
        "stale",
    ),
    (
        "a monthly source is not stale after 20 days",
        {
            **QUIET,
            "last_new_item": TODAY - timedelta(days=20),
            "release_days": [TODAY - timedelta(days=20 + 30 * i) for i in range(8)],
        },
        "no_new_items",
    ),
    (
        "new items today are never stale",
        {
            **QUIET,
            "new_items": 1,
            "last_new_item": TODAY,
            "release_days": [date(2020, 1, 1), date(2020, 1, 2)],
        },
        "ok",
    ),
    # Precedence: blocked > empty_list > encoding_error > parse_errors > stale > no_new_items/ok
    (
        "blocked beats empty list",
        {**QUIET, "crawl_status": "failed", "errors": [err("list", "empty_list"), err("list", "blocked")]},
        "blocked",
    ),
    (
        "empty list beats encoding",
        {**QUIET, "crawl_status": "failed", "errors": [err("list", "empty_list")], "lossy_urls": [LIST]},
        "empty_list",
    ),
    (
        "encoding beats parse errors",
        {**QUIET, "parsed": 1, "parse_failures": [("http://site/a", "x")], "lossy_urls": ["http://site/a"]},
        "encoding_error",
    ),
    (
        "parse errors beat stale",
        {**QUIET, "parsed": 1, "parse_failures": [("http://site/a", "x")], "last_new_item": date(2020, 1, 1)},
        "parse_errors",
    ),
    ("stale beats no new items", {**QUIET, "last_new_item": date(2020, 1, 1)}, "stale"),
]


@pytest.mark.parametrize("fields, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_state_of_a_run(fields, expected):
    verdict = judge(Evidence(today=TODAY, **fields))
    assert verdict.state == expected
    assert verdict.reason


def test_every_state_has_a_case_and_states_are_listed_most_urgent_first():
    assert {c[2] for c in CASES} == set(STATES)
    assert STATES == (
        "blocked",
        "empty_list",
        "encoding_error",
        "parse_errors",
        "stale",
        "no_new_items",
        "ok",
    )


@pytest.mark.parametrize(
    "share, failures, expected",
    [
        (0.25, 1, "ok"),
        (0.25, 2, "parse_errors"),
        (0.5, 2, "ok"),
        (0.5, 3, "parse_errors"),
        (0.0, 1, "parse_errors"),
    ],
)
def test_the_parse_error_share_is_a_threshold_to_exceed(share, failures, expected):
    evidence = Evidence(
        **{**QUIET, "new_items": 1},
        today=TODAY,
        parsed=4,
        parse_failures=[(f"http://site/{i}", "NotAnArticle: too little") for i in range(failures)],
    )
    assert judge(evidence, share).state == expected


def test_counts_and_the_first_failing_urls_are_kept():
    failures = [(f"http://site/{i}.html", f"NotAnArticle: page {i}\nmore") for i in range(8)]
    verdict = judge(Evidence(**QUIET, today=TODAY, detail_pages=8, parsed=8, parse_failures=failures))
    assert verdict.state == "parse_errors"
    assert verdict.reason == "8 of 8 detail pages failed extraction (more than 25%)"
    assert [f.url for f in verdict.failures] == [f"http://site/{i}.html" for i in range(FIRST_FAILURES)]
    assert verdict.failures[0].as_json() == {
        "url": "http://site/0.html",
        "code": "parse",
        "reason": "NotAnArticle: page 0",
    }
    assert (
        verdict.counts["parse_failed"] == 8
        and verdict.counts["parsed"] == 8
        and verdict.counts["list_pages"] == 1
    )


@pytest.mark.parametrize(
    "gaps, expected",
    [
        ([7, 7, 7, 7], None),  # four gaps: not yet a history
        ([7, 7, 7, 7, 7], 7),
        ([1, 1, 1, 1, 1, 1], 3),  # the floor: a daily source is not stale after one quiet weekend day
        ([7] * 19 + [60], 7),  # one long gap in twenty is the 5 % the 95th percentile leaves out
        ([7] * 18 + [60, 60], 60),
        ([90] * 10 + [7] * 30, 7),  # only the last 30 gaps count: the source's recent rhythm
        ([30, 28, 35, 31, 29, 33], 35),
    ],
)
def test_the_learned_period(gaps, expected):
    days = [date(2024, 1, 1)]
    for gap in gaps:
        days.append(days[-1] + timedelta(days=gap))
    assert learned_period(list(reversed(days)), today=days[-1]) == expected


def test_the_learned_period_ignores_days_after_the_judged_day_and_duplicates():
    days = weekly(6, TODAY) + weekly(6, TODAY) + [TODAY + timedelta(days=1)]
    assert learned_period(days, TODAY) == 7


def test_the_verdict_reports_both_periods_and_uses_the_learned_one():
    verdict = judge(Evidence(**QUIET, today=TODAY, declared_days=2, release_days=weekly(8)))
    assert (verdict.period_declared, verdict.period_learned, verdict.period_days) == (2, 7, 7)
    assert verdict.state == "no_new_items"
    verdict = judge(Evidence(**QUIET, today=TODAY, declared_days=30))
    assert (verdict.period_declared, verdict.period_learned, verdict.period_days) == (30, None, 30)


@pytest.mark.parametrize(
    "previous, current, notify",
    [
        (None, "ok", False),
        (None, "no_new_items", False),
        (None, "blocked", True),
        ("ok", "no_new_items", False),
        ("no_new_items", "ok", False),
        ("ok", "ok", False),
        ("blocked", "blocked", False),
        ("ok", "blocked", True),
        ("blocked", "ok", True),
        ("blocked", "no_new_items", True),
        ("blocked", "empty_list", True),
        ("no_new_items", "stale", True),
        ("stale", "no_new_items", True),
    ],
)
def test_which_changes_the_operator_is_told_of(previous, current, notify):
    assert should_notify(previous, current) is notify
