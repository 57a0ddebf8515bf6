"""Alert digests through a real SMTP server: one per subscriber and run, exactly once, pending while SMTP is down."""

from __future__ import annotations

import html
import re
from email.header import decode_header, make_header

import pytest

from pressmon import steps
from pressmon.config import Config
from tests.pages import CANONICAL_BASE, add_page, releases

RELEASES = releases()


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    markup = message.get_body(preferencelist=("html",)).get_content()
    return text, markup


@pytest.fixture
def subscribers(store):
    ai, _ = store.add_subscription("ai@example.com", ["人工智能"], [], [])
    sky, _ = store.add_subscription("sky@example.com", ["低空经济"], ["qd_press"], [])
    words, _ = store.add_subscription("words@example.com", [], [], ["合成生物"])
    return {"ai": ai, "sky": sky, "words": words}


def test_each_subscriber_gets_one_digest_of_the_releases_matching_it(smtp_server, subscribers, store):
    config = Config.from_env()
    for release_id in (1688, 2199, 2023, 2098, 1612):
        add_page(store, RELEASES[release_id])
    steps.process(config)
    counts = steps.alert(config)
    assert counts["emails"] == 3
    by_recipient = {tuple(r): m for r, m in zip(smtp_server.recipients, smtp_server.messages, strict=True)}
    assert set(by_recipient) == {("ai@example.com",), ("sky@example.com",), ("words@example.com",)}

    ai_text, ai_html = _parts(by_recipient[("ai@example.com",)])
    assert RELEASES[1688].list_title in ai_text and RELEASES[2199].list_title in ai_text
    assert RELEASES[2023].list_title not in ai_text and RELEASES[1612].list_title not in ai_text
    assert f"{CANONICAL_BASE}/xwfbHtml/wangqihuigu/2024/0411/1688.html" in ai_text
    assert "2024-04-11" in ai_text and "青岛市人民政府新闻办公室" in ai_text
    assert html.escape(RELEASES[2199].list_title) in ai_html

    sky_text, _ = _parts(by_recipient[("sky@example.com",)])
    assert RELEASES[2023].list_title in sky_text and "低空经济" in sky_text
    words_text, _ = _parts(by_recipient[("words@example.com",)])
    assert RELEASES[2098].list_title in words_text


def test_the_digest_is_utf8_with_text_and_html_parts_and_escaped_content(smtp_server, subscribers, store):
    config = Config.from_env()
    hostile = RELEASES[2023]
    hostile = type(hostile)(
        **{
            **hostile.__dict__,
            "list_title": "《低空经济<script>alert(1)</script>发展》新闻发布会",
            "title_lines": ("《低空经济<script>alert(1)</script>发展》新闻发布会",),
        }
    )
    add_page(store, hostile)
    steps.process(config)
    steps.alert(config)
    (message,) = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert {p.get_content_charset() for p in message.iter_parts()} == {"utf-8"}
    assert "新发布" in _subject(message)
    text, markup = _parts(message)
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "<script>alert(1)</script>" in text  # plain text shows the title as it is


def test_rerunning_alert_or_reprocessing_sends_nothing_twice(smtp_server, subscribers, store):
    config = Config.from_env()
    add_page(store, RELEASES[1688])
    steps.process(config)
    steps.alert(config)
    assert len(smtp_server.messages) == 1
    assert steps.alert(config).get("emails", 0) == 0
    # The same release again (re-crawl, another URL) and a re-post joining its cluster: no new alert.
    add_page(store, RELEASES[1688], views=999)
    add_page(store, RELEASES[1702])
    add_page(store, RELEASES[1703])
    steps.process(config)
    steps.alert(config)
    subjects = [m["To"] for m in smtp_server.messages]
    assert subjects.count("ai@example.com") == 2  # one digest with 1688, one with 1702 (1703 is its copy)
    second_text, _ = _parts(smtp_server.messages[-1])
    assert RELEASES[1702].list_title in second_text and RELEASES[1688].list_title not in second_text
    assert "另有 1 处转载" in second_text


def test_when_smtp_is_down_deliveries_stay_pending_and_go_out_next_run(
    smtp_server, subscribers, store, monkeypatch
):
    add_page(store, RELEASES[2023])
    steps.process(Config.from_env())
    smtp_server.stop()
    counts = steps.alert(Config.from_env())
    assert counts["failed_emails"] == 1 and counts["pending"] == 1
    with store.transaction() as cur:
        cur.execute("SELECT status, attempts, last_error FROM deliveries")
        (row,) = cur.fetchall()
    assert row["status"] == "pending" and row["attempts"] == 1 and "did not take" in row["last_error"]

    smtp_server.start()
    counts = steps.alert(Config.from_env())
    assert counts["emails"] == 1
    assert [m["To"] for m in smtp_server.messages] == ["sky@example.com"]
    with store.transaction() as cur:
        cur.execute("SELECT status, attempts, message_id FROM deliveries")
        (row,) = cur.fetchall()
    assert (
        row["status"] == "sent"
        and row["attempts"] == 2
        and row["message_id"] == smtp_server.messages[0]["Message-ID"]
    )


def test_a_subscription_added_later_is_not_sent_the_archive(smtp_server, store):
    config = Config.from_env()
    add_page(store, RELEASES[1688])
    steps.process(config)
    store.add_subscription("late@example.com", ["人工智能"], [], [])
    steps.alert(config)
    assert smtp_server.messages == []
    add_page(store, RELEASES[2199])
    steps.process(config)
    steps.alert(config)
    (message,) = smtp_server.messages
    text, _ = _parts(message)
    assert RELEASES[2199].list_title in text and RELEASES[1688].list_title not in text


def test_each_release_in_a_digest_shows_why_in_both_parts(smtp_server, store):
    """Title, date, publisher, chains with their evidence terms marked in an excerpt, copies, canonical link."""
    config = Config.from_env()
    store.add_subscription("robots@example.com", ["人工智能", "智能装备"], [], [])
    for release_id in (2061, 1702, 1703, 1347):
        add_page(store, RELEASES[release_id])
    steps.process(config)
    steps.alert(config)
    (message,) = smtp_server.messages
    text, markup = _parts(message)
    with store.transaction() as cur:
        cur.execute(
            """SELECT r.cluster_id, r.title, r.published_at, r.publisher, r.url, r.chains, r.duplicates,
                      (SELECT count(*) FROM reporting.release_copies c
                        WHERE c.cluster_id = r.cluster_id AND c.source <> r.source) AS other_sites,
                      (SELECT jsonb_object_agg(rc.chain, rc.evidence) FROM reporting.release_chains rc
                        WHERE rc.release_id = r.release_id AND rc.current_scheme) AS evidence
                 FROM reporting.releases r"""
        )
        shown = [row for row in cur.fetchall() if row["title"] in text]
    assert len(shown) == 3  # 1703 is a copy of 1702
    per_chain = {}
    for row in shown:
        block = text[text.index(row["title"]) :].split("\n\n")[0]
        assert row["published_at"].isoformat() in block and row["publisher"] in block
        assert f"原文：{row['url']}" in block and row["url"] in markup
        assert f"其他网站转载 {row['other_sites']} 处" in block
        assert (f"另有 {row['duplicates']} 处转载" in block) == bool(row["duplicates"])
        marked = re.findall(r"【([^】]+)】", block.split("摘录：")[1].split("\n")[0])
        terms = {
            t for chain in row["chains"] for part in ("title", "body") for t in row["evidence"][chain][part]
        }
        assert marked and {m.lower() for m in marked} <= terms
        for chain in row["chains"]:
            assert chain in block
            strongest = max(row["evidence"][chain]["body"].items(), key=lambda kv: kv[1])[0]
            assert strongest in block
            per_chain[chain] = per_chain.get(chain, 0) + 1
        assert any(
            "<mark" in part and html.escape(m) in part for m in marked for part in markup.split("</mark>")
        )
    subject = _subject(message)
    assert subject.startswith(f"pressmon 新发布提醒：{len(shown)} 条新发布")
    busiest = max(per_chain, key=per_chain.get)
    assert f"{busiest} {per_chain[busiest]} 条" in subject
