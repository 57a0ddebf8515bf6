"""Turn the bytes of a page into text: HTTP header, BOM, <meta>, each verified by actually decoding."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache

from bs4.dammit import EncodingDetector

# Legacy Chinese labels are read as their superset, so a GBK-only character in a page labelled gb2312 survives.
ENCODING_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "utf8": "utf-8",
    "unicode": "utf-8",
}
# Fallbacks tried, in order, when nothing declared decodes cleanly.
FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
CHARSET_IN_CONTENT_TYPE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")
# UTF-8 read as Latin-1/cp1252: a lead byte shown as À-ï followed by continuation bytes shown as €-¿.
LATIN1_MOJIBAKE = re.compile(r"[\u00c2-\u00ef][\u0080-\u00bf\u2018-\u203a\u20ac\u0152-\u0178]")
COMMON_CJK_FLOOR = 0.80
MIN_CJK_FOR_VERDICT = 20


@dataclass(frozen=True)
class Decoded:
    """Text of a page and how its encoding was decided."""

    text: str
    encoding: str
    method: str  # "bom", "header", "meta", "utf-8", "gb18030", "big5hkscs", "detector", "lossy", "empty"


def decode_html(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode page bytes, trusting a declaration only when the bytes decode cleanly under it.

    Args:
        body: the bytes as fetched.
        content_type: the HTTP Content-Type header, if any.
    """
    if not body:
        return Decoded("", "utf-8", "empty")
    data, bom_encoding = EncodingDetector.strip_byte_order_mark(body)
    if bom_encoding:
        return Decoded(data.decode(bom_encoding, errors="replace"), bom_encoding, "bom")

    declared = [
        (_charset_of(content_type), "header"),
        (_normalise(EncodingDetector.find_declared_encoding(body, is_html=True)), "meta"),
    ]
    utf8_text = _strict(body, "utf-8")
    # Valid multi-byte UTF-8 is almost never an accident, so it beats a legacy label that contradicts it.
    if utf8_text is not None and not utf8_text.isascii() and not looks_mojibake(utf8_text):
        return Decoded(utf8_text, "utf-8", declared_as(declared, "utf-8") or "utf-8")

    for encoding, method in declared:
        if encoding is None:
            continue
        text = utf8_text if encoding == "utf-8" else _strict(body, encoding)
        if text is not None and not looks_mojibake(text):
            return Decoded(text, encoding, method)
    for encoding in FALLBACKS:
        text = utf8_text if encoding == "utf-8" else _strict(body, encoding)
        if text is not None and not looks_mojibake(text):
            return Decoded(text, encoding, encoding)
    detected = _detect(body)
    if detected is not None:
        return detected
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "lossy")


def declared_as(declared: list[tuple[str | None, str]], encoding: str) -> str | None:
    """Return how an encoding was declared ("header"/"meta"), or None if it was not."""
    return next((method for enc, method in declared if enc == encoding), None)


def looks_mojibake(text: str) -> bool:
    """Tell whether text is what a wrong decoding typically produces."""
    sample = text[:50000]
    # A few replacement characters can be in the page itself; many mean bytes were decoded lossily.
    if sample.count("\ufffd") > max(3, len(sample) // 50):
        return True
    if len(LATIN1_MOJIBAKE.findall(sample)) > max(3, len(sample) // 200):
        return True
    hanzi = CJK.findall(sample)
    if len(hanzi) < MIN_CJK_FOR_VERDICT:
        return False
    common = _common_hanzi()
    share = sum(1 for ch in hanzi if ch in common) / len(hanzi)
    return share < COMMON_CJK_FLOOR


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        # A body cut short inside a multi-byte character is still that encoding.
        if exc.start >= len(body) - 3 and exc.reason in {
            "unexpected end of data",
            "incomplete multibyte sequence",
        }:
            try:
                return body[: exc.start].decode(encoding)
            except UnicodeDecodeError:
                return None
        return None
    except (UnicodeError, LookupError):  # e.g. the "undefined" codec some templates name
        return None


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = CHARSET_IN_CONTENT_TYPE.search(content_type)
    return _normalise(match.group(1)) if match else None


def _normalise(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = ENCODING_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (UnicodeError, LookupError):  # e.g. the "undefined" codec some templates name
        return None
    return ENCODING_ALIASES.get(name, name.replace("_", "-"))


def _detect(body: bytes) -> Decoded | None:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is None:
        return None
    encoding = _normalise(best.encoding) or best.encoding
    text = _strict(body, encoding)
    if text is None or looks_mojibake(text):
        return None
    return Decoded(text, encoding, "detector")


@cache
def _common_hanzi() -> frozenset[str]:
    """Return the everyday characters: GB 2312 level 1 (simplified) and Big5's frequent set (traditional)."""
    chars = set()
    for encoding, leads, trails in (
        ("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]),
    ):
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes((lead, trail)).decode(encoding))
                except UnicodeDecodeError:
                    continue
    return frozenset(chars)
