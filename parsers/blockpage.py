"""Tell a block page (captcha, WAF, access denied) from a real page, whatever HTTP status it came with.

Government sites sit behind web application firewalls (知道创宇/WZWS, 安全狗, 云锁, 加速乐, 瑞数) that
answer a crawler with a challenge or a refusal, often with HTTP 200. Stored as a release it would fail
extraction; counted as a list page it would read as "no news". Either way the site was not read.
"""

from __future__ import annotations

import re

# Statuses WAFs and rate limiters answer with (412 and 521 are 瑞数 and 加速乐 challenges).
BLOCK_STATUSES = frozenset({401, 403, 407, 412, 418, 429, 451, 521})
# Phrases of block, captcha and challenge pages; a real article is long, a block page is short.
BLOCK_PHRASES = (
    "访问受限",
    "访问被拒绝",
    "拒绝访问",
    "访问被阻断",
    "访问异常",
    "访问过于频繁",
    "访问频率过高",
    "请求过于频繁",
    "验证码",
    "安全验证",
    "人机验证",
    "滑动验证",
    "请完成验证",
    "网站防火墙",
    "安全狗",
    "云锁",
    "创宇盾",
    "知道创宇",
    "加速乐",
    "请开启javascript",
    "请启用javascript",
    "enable javascript",
    "access denied",
    "attention required",
    "just a moment",
    "request blocked",
    "403 forbidden",
    "captcha",
)
# Cookie challenges: a script that sets a cookie and reloads the page, and next to no text.
CHALLENGE_SCRIPT = re.compile(rb"document\.cookie|wzws|__jsl_clearance|_waf_|location\.reload", re.I)
TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
SPACE = re.compile(r"\s+")
SHORT_PAGE_CHARS = 800
CHALLENGE_PAGE_CHARS = 200
PROBE_BYTES = 200_000


def block_reason(status: int, body: bytes) -> str | None:
    """Return why a response is a block page (a short reason), or None when it looks like the site's own."""
    if status in BLOCK_STATUSES:
        return f"HTTP {status}"
    head = body[:PROBE_BYTES]
    text = visible_text(head)
    if len(text) <= CHALLENGE_PAGE_CHARS and CHALLENGE_SCRIPT.search(head):
        return "cookie challenge page"
    if len(text) > SHORT_PAGE_CHARS:
        return None
    lowered = text.lower()
    phrase = next((p for p in BLOCK_PHRASES if p in lowered), None)
    return f"block page ({phrase})" if phrase else None


def visible_text(body: bytes) -> str:
    """Return the page's text without tags, scripts and styles (roughly: enough to measure and search)."""
    for codec in ("utf-8", "gb18030"):
        try:
            html = body.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        html = body.decode("utf-8", errors="replace")
    return SPACE.sub(" ", TAG.sub(" ", html)).strip()
