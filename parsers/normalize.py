"""Normalise text for comparison: width, script, volatile bits, whitespace."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

# Mirrors that gloss characters with pinyin: 產(chǎn)業(yè) → 產業.
# A gloss is lower case, which tells it from an abbreviation: 人工智能（AI） keeps its AI.
# The bracket comes first and the character before it is checked behind it: a pattern that starts with a
# look-behind is tried at every character of the text, one that starts with a bracket only at brackets.
PINYIN_GLOSS = re.compile(r"[(（](?<=[\u4e00-\u9fff][(（])[a-züāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]{1,7}[)）]")
VOLATILE = re.compile(
    r"(?:本文)?(?:浏览|阅读|点击|访问)(?:次数|人次|量|数|率)?\s*[:：(（]?\s*\d[\d,，.]*\s*[万千]?\s*[)）]?\s*次?"
    r"|【?\s*字号\s*[:：]?\s*大\s*中\s*小\s*】?"
    r"|扫一扫在手机(?:上)?打开(?:当前页)?"
    r"|分享到\s*[:：]?"
)
# A volatile bit holds one of these words (each branch of VOLATILE needs one), and most texts hold none: a
# scan for them is 20 times cheaper than VOLATILE's own, which tries every branch at every character.
VOLATILE_WORDS = re.compile("浏览|阅读|点击|访问|字号|扫一扫|分享到")
# What a paragraph's key drops: everything but letters and digits (\w), and the line breaks between keys.
NON_WORD_WITHIN_LINES = re.compile(r"[^\w\n]+")


# Variants OpenCC leaves as they are but that mean the same character in running text (replaced one by one:
# no variant's replacement is itself a variant).
VARIANTS = {"馀": "余"}
# The characters NFKC changes that Chinese text is full of: full-width punctuation and the ideographic space.
# Replaced by their NFKC forms first, they leave most texts already normalised, which `unicodedata` then
# tells at a glance; normalising a text of them whole costs 15 times as much.
FULL_WIDTH = tuple((c, unicodedata.normalize("NFKC", c)) for c in "，：；！？（）\u3000")


@cache
def _converters():
    import opencc

    # Hong Kong and Taiwan forms first (衞 → 卫, 著 → 着), then the general traditional → simplified table.
    return tuple(opencc.OpenCC(config) for config in ("hk2s", "tw2s", "t2s"))


def to_simplified(text: str) -> str:
    """Convert traditional characters (mainland, Taiwan and Hong Kong forms) to simplified ones."""
    for converter in _converters():
        text = converter.convert(text)
    for variant, character in VARIANTS.items():
        text = text.replace(variant, character)
    return text


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, quicker on Chinese text.

    Replacing a character by its NFKC form leaves the text's NFKC form as it was, so the replacements of
    FULL_WIDTH change nothing in the result; they only spare the full normalisation where no other
    character needs it.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    for character, normalised in FULL_WIDTH:
        if character in text:
            text = text.replace(character, normalised)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def simplify(text: str) -> str:
    """Return text in NFKC width and simplified script without pinyin glosses: the costly common part of
    `normalize_text` and `paragraph_keys`, for callers that need both of one text."""
    return to_simplified(PINYIN_GLOSS.sub("", nfkc(text)))


def normalize_text(text: str) -> str:
    """Return the form two copies of one release share: NFKC width, simplified script, no volatile bits."""
    return normalize_simplified(simplify(text))


def normalize_simplified(text: str) -> str:
    """`normalize_text` of text that `simplify` returned."""
    # Runs of whitespace become one space: `str.split` splits at exactly the characters `\s` matches.
    return " ".join(_without_volatile(text, " ").split())


def comparison_key(text: str) -> str:
    """Return normalised text with punctuation and spaces removed: what fingerprints are computed over."""
    return "".join(paragraph_keys(text))


def paragraph_keys(text: str) -> list[str]:
    """Return the comparison key of each line of text, normalising the whole text in one pass.

    There is exactly one key per line, even where a volatile bit runs across a line break.
    """
    return paragraph_keys_simplified(simplify(text))


def paragraph_keys_simplified(text: str) -> list[str]:
    """`paragraph_keys` of text that `simplify` returned."""
    text = _without_volatile(text, _blank_keeping_line_breaks)
    # Lower-casing the lines together is lower-casing them one by one: a line break is neither a cased nor a
    # case-ignorable character, so it ends the context a final sigma is judged by, as a line's end does.
    return NON_WORD_WITHIN_LINES.sub("", text).lower().split("\n")


def _blank_keeping_line_breaks(match: re.Match[str]) -> str:
    # "阅读" ending one paragraph and "5" starting the next is a match: dropping its line break would merge
    # the two paragraphs' keys, and the joined key (the fingerprint's input) is the same either way.
    return " " + "\n" * match.group().count("\n")


def _without_volatile(text: str, replacement: str | Callable[[re.Match[str]], str]) -> str:
    """`VOLATILE.sub(replacement, text)`, without the scan on text that holds none of VOLATILE_WORDS."""
    return VOLATILE.sub(replacement, text) if VOLATILE_WORDS.search(text) else text
