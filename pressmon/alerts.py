"""Alert digests: one email per subscription and run, listing the new releases that match it."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

SNIPPET_CHARS = 120
SKIPPED_OPENINGS = ("主持人", "各位记者", "大家上午好", "大家下午好", "大家好", "今天，我们", "今天,我们")


def snippet(body: str, limit: int = SNIPPET_CHARS) -> str:
    """Return the first substantive sentence(s) of a release, skipping the moderator's greetings."""
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    chosen = next(
        (p for p in paragraphs if len(p) >= 40 and not p.startswith(SKIPPED_OPENINGS)),
        paragraphs[0] if paragraphs else "",
    )
    return chosen if len(chosen) <= limit else chosen[: limit - 1].rstrip("，,、；;：: ") + "…"


def message_id(subscription_id: int, cluster_ids: Sequence[int], domain: str) -> str:
    """Return the same Message-ID for the same digest, so a resent copy can be recognised downstream."""
    digest = hashlib.sha256(",".join(map(str, sorted(cluster_ids))).encode()).hexdigest()[:16]
    return f"<pressmon.digest.{subscription_id}.{digest}@{domain}>"


def render_digest(digest: dict[str, Any], sender: str, sent_at: datetime) -> EmailMessage:
    """Build the digest email (plain text and HTML, UTF-8) of one subscription's pending releases."""
    items = digest["items"]
    cluster_ids = [item["cluster_id"] for item in items]
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "pressmon.local"
    message = EmailMessage()
    message["Subject"] = _subject(items)
    message["From"] = sender
    message["To"] = digest["email"]
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id(digest["subscription_id"], cluster_ids, domain)
    message["X-Pressmon-Subscription"] = str(digest["subscription_id"])
    message.set_content(_text(digest), charset="utf-8")
    message.add_alternative(_html(digest), subtype="html", charset="utf-8")
    return message


def _subject(items: list[dict[str, Any]]) -> str:
    chains: dict[str, None] = {}
    for item in items:
        for chain in item["chains"]:
            chains.setdefault(chain, None)
    about = f"（{'、'.join(list(chains)[:3])}{'等' if len(chains) > 3 else ''}）" if chains else ""
    return f"pressmon 新发布提醒：{len(items)} 条新发布{about}"


def _criteria(digest: dict[str, Any]) -> str:
    parts = []
    if digest["chains"]:
        parts.append("产业链：" + "、".join(digest["chains"]))
    if digest["sources"]:
        parts.append("来源：" + "、".join(digest["sources"]))
    if digest["keywords"]:
        parts.append("关键词：" + "、".join(digest["keywords"]))
    return "；".join(parts) or "全部新发布"


def _date(value: date | None) -> str:
    return value.isoformat() if value else "日期不详"


def _text(digest: dict[str, Any]) -> str:
    lines = [f"您订阅的条件（{_criteria(digest)}）有 {len(digest['items'])} 条新发布：", ""]
    for number, item in enumerate(digest["items"], 1):
        chains = "、".join(item["chains"]) or "无"
        copies = f"（另有 {item['duplicates']} 处转载）" if item["duplicates"] else ""
        lines += [
            f"{number}. {item['title']}",
            f"   日期：{_date(item['published_at'])}  来源：{item['source_name']}{copies}",
            f"   产业链：{chains}",
            f"   {snippet(item['body'])}",
            f"   {item['url']}",
            "",
        ]
    lines.append("—— pressmon 政府新闻发布监测。退订请联系管理员（pressmon subscribe remove）。")
    return "\n".join(lines)


def _html(digest: dict[str, Any]) -> str:
    e = html.escape
    rows = []
    for item in digest["items"]:
        chains = "、".join(item["chains"]) or "无"
        copies = f"（另有 {item['duplicates']} 处转载）" if item["duplicates"] else ""
        rows.append(
            '<li style="margin-bottom:1em">'
            f'<a href="{e(item["url"], quote=True)}"><strong>{e(item["title"])}</strong></a><br>'
            f"<small>{e(_date(item['published_at']))} · {e(item['source_name'])}{e(copies)} · 产业链：{e(chains)}</small><br>"
            f"{e(snippet(item['body']))}</li>"
        )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>'
        f"<p>您订阅的条件（{e(_criteria(digest))}）有 {len(digest['items'])} 条新发布：</p>"
        f"<ol>{''.join(rows)}</ol>"
        "<p><small>pressmon 政府新闻发布监测</small></p></body></html>"
    )
