"""Alert digests: one email per subscription and run, listing the new releases that match it."""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

SNIPPET_CHARS = 120
EXCERPT_CHARS = 110
EVIDENCE_TERMS = 4
WHITESPACE = re.compile(r"\s+")
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
    items = [_explain(item) for item in digest["items"]]
    digest = {**digest, "items": items}
    cluster_ids = [item["cluster_id"] for item in items]
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "pressmon.local"
    message = EmailMessage()
    message["Subject"] = subject(items)
    message["From"] = sender
    message["To"] = digest["email"]
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id(digest["subscription_id"], cluster_ids, domain)
    message["X-Pressmon-Subscription"] = str(digest["subscription_id"])
    message.set_content(_text(digest), charset="utf-8")
    message.add_alternative(_html(digest), subtype="html", charset="utf-8")
    return message


def subject(items: list[dict[str, Any]]) -> str:
    """Say how many releases and for which chains, busiest chain first."""
    per_chain: Counter[str] = Counter(chain for item in items for chain in item["chains"])
    unchained = sum(1 for item in items if not item["chains"])
    parts = [f"{chain} {n} 条" for chain, n in sorted(per_chain.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
    if len(per_chain) > 3:
        parts[-1] += f" 等 {len(per_chain)} 个产业链"
    if unchained:
        parts.append(f"未归入产业链 {unchained} 条")
    return f"pressmon 新发布提醒：{len(items)} 条新发布（{'、'.join(parts)}）"


# -- why a release is in the digest ---------------------------------------------------------------------


def evidence_terms(evidence: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Return, per matched chain, its evidence terms, the most frequent first (title matches count double)."""
    terms = {}
    for tag in evidence:
        counts: Counter[str] = Counter()
        for term, n in tag["evidence"].get("title", {}).items():
            counts[term] += 2 * n
        for term, n in tag["evidence"].get("body", {}).items():
            counts[term] += n
        terms[tag["chain"]] = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return terms


Segment = tuple[str, bool]  # (text, highlighted)


def excerpt(body: str, terms: list[str], width: int = EXCERPT_CHARS) -> list[Segment]:
    """Return the stretch of the text that holds the most distinct terms, cut into plain and matched parts.

    Terms are jieba tokens of normalised text (lower case); the text is searched without case. A text in which
    no term occurs (terms found only in the title) gives its first substantive sentence, unmarked.
    """
    text = WHITESPACE.sub(" ", body).strip()
    lowered = text.lower()
    hits = sorted(
        {(at, at + len(term)) for term in terms if term for at in _positions(lowered, term)},
        key=lambda span: (span[0], -span[1]),
    )
    if not hits:
        return [(snippet(body, width), False)]
    lead = width // 5
    best_start, best_key = 0, None
    for begin, _ in hits:
        start = max(0, begin - lead)
        inside = [(b, e) for b, e in hits if b >= start and e <= start + width]
        key = (len({lowered[b:e] for b, e in inside}), len(inside), -start)
        if best_key is None or key > best_key:
            best_start, best_key = start, key
    start, end = best_start, min(len(text), best_start + width)
    segments: list[Segment] = [("…", False)] if start > 0 else []
    cursor = start
    for begin, finish in hits:
        if begin < cursor or finish > end:
            continue
        if begin > cursor:
            segments.append((text[cursor:begin], False))
        segments.append((text[begin:finish], True))
        cursor = finish
    segments.append((text[cursor:end] + ("…" if end < len(text) else ""), False))
    return [s for s in segments if s[0]]


def _positions(text: str, term: str) -> Iterator[int]:
    start = text.find(term)
    while start >= 0:
        yield start
        start = text.find(term, start + len(term))


def _explain(item: dict[str, Any]) -> dict[str, Any]:
    """Add to a digest item the evidence terms per chain and the excerpt that shows them."""
    terms = evidence_terms(item.get("evidence") or [])
    ordered = list(dict.fromkeys(t for chain in item["chains"] for t in terms.get(chain, [])))
    return {**item, "terms": terms, "excerpt": excerpt(item["body"], ordered)}


# -- rendering ------------------------------------------------------------------------------------------


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


def _copies(item: dict[str, Any]) -> str:
    if not item["duplicates"]:
        return "其他网站转载 0 处，无其他副本"
    same_site = item["duplicates"] - item.get("other_sites", 0)
    text = f"其他网站转载 {item.get('other_sites', 0)} 处"
    return (
        text
        + (f"，同一网站另有 {same_site} 个页面" if same_site else "")
        + f"（另有 {item['duplicates']} 处转载）"
    )


def _chain_line(item: dict[str, Any], mark) -> str:
    if not item["chains"]:
        return "未归入产业链（按来源或关键词匹配）"
    return "；".join(
        f"{chain}（{'、'.join(mark(t) for t in item['terms'].get(chain, [])[:EVIDENCE_TERMS])}）"
        if item["terms"].get(chain)
        else chain
        for chain in item["chains"]
    )


def _text(digest: dict[str, Any]) -> str:
    lines = [f"您订阅的条件（{_criteria(digest)}）有 {len(digest['items'])} 条新发布：", ""]
    for number, item in enumerate(digest["items"], 1):
        lines += [
            f"{number}. {item['title']}",
            f"   日期：{_date(item['published_at'])}  发布单位：{item.get('publisher') or '未注明'}"
            f"  网站：{item['source_name']}",
            f"   产业链：{_chain_line(item, lambda t: t)}",
            "   摘录：" + "".join(f"【{text}】" if hit else text for text, hit in item["excerpt"]),
            f"   副本：{_copies(item)}",
            f"   原文：{item['url']}",
            "",
        ]
    lines.append("—— pressmon 政府新闻发布监测。退订请联系管理员（pressmon subscribe remove）。")
    return "\n".join(lines)


MUTED = "color:#666;font-size:13px"


def _html(digest: dict[str, Any]) -> str:
    e = html.escape

    def mark(term: str) -> str:
        return f'<mark style="background:#ffe58f;padding:0 1px">{e(term)}</mark>'

    rows = []
    for number, item in enumerate(digest["items"], 1):
        quoted = "".join(mark(text) if hit else e(text) for text, hit in item["excerpt"])
        rows.append(
            '<div class="release" style="margin:0 0 22px;padding:12px 14px;border:1px solid #e3e3e3;'
            'border-radius:6px">'
            f'<div style="font-size:16px;font-weight:bold;margin-bottom:4px">{number}. '
            f'<a href="{e(item["url"], quote=True)}" style="color:#0b57d0;text-decoration:none">'
            f"{e(item['title'])}</a></div>"
            f'<div style="{MUTED}">日期：{e(_date(item["published_at"]))} · 发布单位：'
            f"{e(item.get('publisher') or '未注明')} · 网站：{e(item['source_name'])}</div>"
            f'<div class="chains" style="margin:6px 0">产业链：{_chain_line(item, mark)}</div>'
            f'<blockquote class="excerpt" style="margin:6px 0;padding:6px 10px;border-left:3px solid #ccc;'
            f'background:#fafafa">{quoted}</blockquote>'
            f'<div style="{MUTED}">副本：{e(_copies(item))}</div>'
            f'<div style="{MUTED}">原文：<a href="{e(item["url"], quote=True)}">{e(item["url"])}</a></div>'
            "</div>"
        )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{e(subject(digest['items']))}</title></head>"
        "<body style=\"margin:0;padding:16px;font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',"
        "'PingFang SC','Microsoft YaHei',sans-serif;font-size:14px;line-height:1.7;color:#222;"
        'max-width:760px">'
        f"<p>您订阅的条件（{e(_criteria(digest))}）有 {len(digest['items'])} 条新发布：</p>"
        f"{''.join(rows)}"
        f'<p style="{MUTED}">pressmon 政府新闻发布监测</p></body></html>'
    )
