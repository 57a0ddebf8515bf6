"""Find publication dates in Chinese text and URLs."""

from __future__ import annotations

import re
from datetime import date

CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "Ｏ": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
NUMERIC = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})(?!\d)"
)
CHINESE = re.compile(
    r"(?P<y>[〇零○Ｏ一二三四五六七八九]{4})年(?P<m>[一二三四五六七八九十]{1,3})月(?P<d>[一二三四五六七八九十]{1,3})日"
)
COMPACT = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")
# Paths such as /2023/0223/1206.html, /202302/t20230223_123.shtml, /20/0229/18/ID.html (NetEase).
URL_PATTERNS = (
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[01]\d)(?P<d>[0-3]\d)/"),
    re.compile(r"/t(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)_"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)/"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)/(?P<d>[0-3]\d)/"),
)


def find_date(text: str) -> date | None:
    """Return the first valid date written in text, in any common Chinese form."""
    candidates = []
    for pattern in (NUMERIC, CHINESE):
        for match in pattern.finditer(text):
            parsed = _to_date(match)
            if parsed:
                candidates.append((match.start(), parsed))
                break
    return min(candidates)[1] if candidates else None


def date_in_url(url: str | None) -> date | None:
    """Return the date a CMS wrote into a URL path, if any."""
    if not url:
        return None
    for pattern in URL_PATTERNS:
        match = pattern.search(url)
        if match and (parsed := _to_date(match)):
            return parsed
    return None


def parse_iso_like(value: str) -> date | None:
    """Parse a meta-tag date: ISO 8601, '2023-02-23 15:00', '2023年2月23日' or '20230223'."""
    return find_date(value) or _compact(value)


def _compact(value: str) -> date | None:
    match = COMPACT.search(value)
    return _to_date(match) if match else None


def _to_date(match: re.Match[str]) -> date | None:
    year, month, day = (_number(match.group(k)) for k in ("y", "m", "d"))
    if year is None or month is None or day is None or not 1990 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    if len(token) == 4 and all(ch in CN_DIGITS for ch in token):
        return int("".join(str(CN_DIGITS[ch]) for ch in token))
    if token == "十":
        return 10
    if token.startswith("十") and len(token) == 2:
        return 10 + CN_DIGITS.get(token[1], 0)
    if token.endswith("十") and len(token) == 2:
        return CN_DIGITS.get(token[0], 0) * 10
    if len(token) == 3 and token[1] == "十":
        return CN_DIGITS.get(token[0], 0) * 10 + CN_DIGITS.get(token[2], 0)
    if len(token) == 1 and token in CN_DIGITS:
        return CN_DIGITS[token]
    return None
