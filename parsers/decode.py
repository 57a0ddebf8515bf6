"""Turn the bytes of a page into text: HTTP header, BOM, <meta>, each verified by actually decoding."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
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
# The encodings of the WHATWG Encoding Standard, as Python names them (and the CJK supersets Python has).
# A label naming any other Python codec (unicode_escape, utf-7, punycode, cp037...) is ignored, as browsers
# ignore it: those codecs turn ordinary bytes into NULs, lone surrogates or control characters.
WEB_ENCODINGS = frozenset(
    {
        "utf-8",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "gb18030",
        "big5hkscs",
        "euc-jp",
        "iso2022-jp",
        "shift-jis",
        "cp932",
        "euc-kr",
        "cp949",
        "cp866",
        "koi8-r",
        "koi8-u",
        "mac-roman",
        "mac-cyrillic",
        "cp874",
        *(f"cp{n}" for n in range(1250, 1259)),
        *(f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
        "ascii",
    }
)
# Fallbacks tried, in order, when nothing declared decodes cleanly.
FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
LABEL = re.compile(r"[a-z0-9][a-z0-9._:-]{0,39}")
CHARSET_IN_CONTENT_TYPE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# Where a page declares its charset: an XML declaration at the very start, or a <meta> in the first bytes.
# Each tag is scanned at most once and a bounded length, so a page of a million unclosed `<meta` stays linear.
XML_DECLARATION = re.compile(rb"\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([^\"'>]{0,64})", re.I)
META_TAG = re.compile(rb"<\s*meta\b[^>]{0,1024}", re.I)
CHARSET_IN_META = re.compile(rb"charset\s*=\s*[\"']?\s*([^\s\"'>;/]{0,64})", re.I)
META_SCAN_BYTES = 32_768
# The Chinese characters the verdict counts: the CJK Unified Ideographs block.
FIRST_HANZI, LAST_HANZI = 0x4E00, 0x9FFF
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

    declared = [(_charset_of(content_type), "header"), (_normalise(declared_in_page(body)), "meta")]
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
    # A few corrupt bytes in a page that says what it is in (or in UTF-8, which garbage rarely passes for)
    # are more likely than a page in some other encoding a detector might guess from them.
    lossy = [enc for enc, _ in declared if enc] + ["utf-8"]
    for encoding in dict.fromkeys(lossy):
        if (text := _lossy(body, encoding)) is not None:
            return Decoded(text, encoding, "lossy")
    detected = _detect(body)
    if detected is not None:
        return detected
    for encoding in FALLBACKS[1:]:
        if (text := _lossy(body, encoding)) is not None:
            return Decoded(text, encoding, "lossy")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "lossy")


def declared_in_page(body: bytes) -> str | None:
    """Return the charset label the page itself declares, as written, or None."""
    if match := XML_DECLARATION.match(body, 0, 1024):
        return match.group(1).decode("ascii", "replace")
    for tag in META_TAG.finditer(body, 0, META_SCAN_BYTES):
        if match := CHARSET_IN_META.search(tag.group()):
            return match.group(1).decode("ascii", "replace")
    return None


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
    # The sample's code points, its Chinese characters among them, and how many of those are everyday ones:
    # numpy over the code points, not Python over the characters.
    points = np.frombuffer(sample.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    hanzi = points[(points >= FIRST_HANZI) & (points <= LAST_HANZI)]
    if len(hanzi) < MIN_CJK_FOR_VERDICT:
        return False
    common = int(np.count_nonzero(_common_hanzi_mask()[hanzi - FIRST_HANZI]))
    return common / len(hanzi) < COMMON_CJK_FLOOR


def _lossy(body: bytes, encoding: str) -> str | None:
    """Decode with bad bytes replaced, if they are few and what is left reads as text."""
    text = body.decode(encoding, errors="replace")
    if text.count("\ufffd") > max(3, len(text) // 1000) or looks_mojibake(text):
        return None
    return text


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
    except UnicodeError:
        return None


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = CHARSET_IN_CONTENT_TYPE.search(content_type)
    return _normalise(match.group(1)) if match else None


def _normalise(label: str | None) -> str | None:
    """Return the codec a charset label names, or None if it names no web encoding."""
    if not label:
        return None
    label = label.strip().lower()
    if not LABEL.fullmatch(label):  # a NUL or a stray quote in the label: codecs.lookup would raise
        return None
    label = ENCODING_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = ENCODING_ALIASES.get(name, name.replace("_", "-"))
    return name if name in WEB_ENCODINGS else None


def _detect(body: bytes) -> Decoded | None:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is None:
        return None
    encoding = _normalise(best.encoding)
    if encoding is None:
        return None
    text = _strict(body, encoding)
    if text is None or looks_mojibake(text):
        return None
    return Decoded(text, encoding, "detector")


@cache
def _common_hanzi_mask() -> np.ndarray:
    """For each code point from FIRST_HANZI to LAST_HANZI, whether it is an everyday character."""
    mask = np.zeros(LAST_HANZI - FIRST_HANZI + 1, dtype=bool)
    mask[[ord(ch) - FIRST_HANZI for ch in _common_hanzi() if FIRST_HANZI <= ord(ch) <= LAST_HANZI]] = True
    return mask


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
