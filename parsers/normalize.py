"""Normalise text for comparison: width, script, volatile bits, whitespace."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Mirrors that gloss characters with pinyin: 產(chǎn)業(yè) → 產業.
# A gloss is lower case, which tells it from an abbreviation: 人工智能（AI） keeps its AI.
PINYIN_GLOSS = re.compile(r"(?<=[\u4e00-\u9fff])[(（][a-züāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]{1,7}[)）]")
VOLATILE = re.compile(
    r"(?:浏览|阅读|点击|访问|浏览次数|阅读数|点击数|访问量|浏览量)(?:次数|量)?\s*[:：]?\s*\d+\s*次?"
    r"|【?\s*字号\s*[:：]?\s*大\s*中\s*小\s*】?"
    r"|扫一扫在手机(?:上)?打开(?:当前页)?"
    r"|分享到\s*[:：]?"
)
WHITESPACE = re.compile(r"\s+")
NON_WORD = re.compile(r"[^\w]+")


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional characters to simplified ones (OpenCC phrases and characters)."""
    return _t2s().convert(text)


def normalize_text(text: str) -> str:
    """Return the form two copies of one release share: NFKC width, simplified script, no volatile bits."""
    text = unicodedata.normalize("NFKC", text)
    text = PINYIN_GLOSS.sub("", text)
    text = to_simplified(text)
    text = VOLATILE.sub(" ", text)
    return WHITESPACE.sub(" ", text).strip()


def comparison_key(text: str) -> str:
    """Return normalised text with punctuation and spaces removed: what fingerprints are computed over."""
    return NON_WORD.sub("", normalize_text(text)).lower()
