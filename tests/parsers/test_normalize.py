"""Text normalisation: what two copies of one release have in common."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from parsers.normalize import (
    PINYIN_GLOSS,
    VARIANTS,
    VOLATILE,
    VOLATILE_WORDS,
    comparison_key,
    nfkc,
    normalize_simplified,
    normalize_text,
    paragraph_keys_simplified,
    simplify,
    to_simplified,
)

PARAGRAPH = "二是壮大低空制造产业。重点发展工业级无人机、电动垂直起降飞行器、航空发动机及关键零部件。"
PARAGRAPH_TRADITIONAL = (
    "二是壯大低空製造產業。重點發展工業級無人機、電動垂直起降飛行器、航空發動機及關鍵零部件。"
)


def full_width(text: str) -> str:
    """Write every printable ASCII character in its full-width form, as some CMSs do."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_full_width_letters_and_digits_become_half_width() -> None:
    assert normalize_text("２０２３年建成５Ｇ基站５．６万个") == "2023年建成5G基站5.6万个"
    assert normalize_text(full_width("AI 2023 5G")) == "AI 2023 5G"


def test_full_width_space_is_whitespace() -> None:
    assert normalize_text("\u3000\u3000主持人：各位记者朋友们：") == "主持人:各位记者朋友们:"


def test_full_width_and_half_width_copies_share_a_comparison_key() -> None:
    text = "到2027年，全市低空经济相关产业规模突破300亿元（含5G应用）。"

    assert comparison_key(full_width(text)) == comparison_key(text)


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("產業鏈", "产业链"),
        ("人工智能產業", "人工智能产业"),
        ("低空經濟", "低空经济"),
        ("智能網聯新能源汽車", "智能网联新能源汽车"),
        ("綠色能源", "绿色能源"),
        ("智能家電", "智能家电"),
        (PARAGRAPH_TRADITIONAL, PARAGRAPH),
    ],
)
def test_traditional_characters_become_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified
    assert comparison_key(traditional) == comparison_key(simplified)


def test_simplified_text_is_left_as_it_is() -> None:
    assert to_simplified(PARAGRAPH) == PARAGRAPH


@pytest.mark.parametrize(
    "glossed",
    ["產(chǎn)業(yè)鏈", "產（chǎn）業（yè）鏈", "产(chǎn)业(yè)链", "產(chan)業(ye)鏈"],
)
def test_pinyin_glosses_are_removed(glossed: str) -> None:
    assert normalize_text(glossed) == "产业链"


def test_bracketed_chinese_is_not_a_gloss() -> None:
    assert normalize_text("青岛市（含即墨区）") == "青岛市(含即墨区)"
    assert normalize_text("行动方案（2025—2027年）") == "行动方案(2025—2027年)"


@pytest.mark.parametrize(
    ("text", "kept"),
    [("发展人工智能（AI）产业", "AI"), ("虚拟现实（VR）", "VR"), ("有机发光二极管（OLED）", "OLED")],
)
def test_an_english_abbreviation_in_brackets_is_not_a_pinyin_gloss(text: str, kept: str) -> None:
    # AI, VR and OLED are tagging keywords of the current scheme; a gloss remover must not eat them.
    assert kept in normalize_text(text)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("浏览：126", "浏览：127"),
        ("浏览:126", "浏览：98765"),
        ("浏览次数：5", "浏览次数：12次"),
        ("阅读：3", "阅读：4000"),
        ("点击数：10", "点击数：11"),
    ],
)
def test_pages_differing_only_in_the_view_counter_compare_equal(first: str, second: str) -> None:
    page_a = f"《青岛市低空经济高质量发展行动方案》新闻发布会\n{first}\n主持人：各位记者朋友们：\n{PARAGRAPH}"
    page_b = (
        f"《青岛市低空经济高质量发展行动方案》新闻发布会\n{second}\n主持人：各位记者朋友们：\n{PARAGRAPH}"
    )

    assert normalize_text(page_a) == normalize_text(page_b)
    assert comparison_key(page_a) == comparison_key(page_b)


def test_the_view_counter_is_gone_from_normalised_text() -> None:
    normalised = normalize_text("浏览：126 " + PARAGRAPH)

    assert "126" not in normalised
    assert "浏览" not in normalised
    assert normalised == PARAGRAPH.replace("，", ",")


def test_page_furniture_words_are_gone_from_normalised_text() -> None:
    normalised = normalize_text(f"【字号：大 中 小】{PARAGRAPH}分享到：扫一扫在手机打开当前页")

    assert normalised == PARAGRAPH


def test_numbers_in_the_text_are_kept() -> None:
    assert "300" in normalize_text("全市低空经济相关产业规模突破300亿元")


def test_comparison_key_drops_punctuation_and_spacing_only() -> None:
    assert comparison_key("主持人：各位记者朋友们！ 大家上午好。") == "主持人各位记者朋友们大家上午好"
    assert comparison_key("Qingdao 5G") == "qingdao5g"


# Pieces that each step of `simplify` changes: full-width forms (NFKC), traditional forms (OpenCC, phrases
# included), pinyin glosses, the variant 馀; and what they sit beside.
PIECES = (
    "產業鏈",
    "著名",
    "看著",
    "(chǎn)",
    "（yè）",
    "人工智能（AI）",
    "５Ｇ",
    "馀",
    "乾隆",
    "乾燥",
    "。",
    " ",
    "a",
    "1",
)


@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=6).map("".join), min_size=1, max_size=6))
def test_simplifying_lines_one_by_one_is_simplifying_them_together(lines: list[str]) -> None:
    # Extraction simplifies a page's lines in one pass and keeps the lines of the body out of the result:
    # that is only right while no step of `simplify` reaches across a line break.
    assert simplify("\n".join(lines)) == "\n".join(simplify(line) for line in lines)


@given(st.from_regex(VOLATILE, fullmatch=True))
def test_every_volatile_bit_holds_one_of_the_words_that_let_a_text_skip_the_volatile_scan(bit: str) -> None:
    # Text without any of VOLATILE_WORDS skips VOLATILE's scan: a branch of VOLATILE that matched without
    # one of them (added, say, for a new CMS's share bar) would leave its bits in the keys of such text.
    assert VOLATILE_WORDS.search(bit)


VOLATILE_PIECES = (
    "阅读",
    "阅读次数：",
    "浏览量 1,234 次",
    "点击",
    "：",
    "5",
    "\n",
    "【字号 大 中 小】",
    "字号",
    "扫一扫在手机打开当前页",
    "分享到：",
    "访问",
    "创新发展。",
    " ",
)


# The rules, as the plainest patterns state them: whitespace runs become one space; a paragraph's key is its
# line without what is not a letter or digit, lower-cased on its own.
WHITESPACE_RULE = re.compile(r"\s+")
NON_WORD_RULE = re.compile(r"[^\w]+")


def keys_by_rule(text: str) -> list[str]:
    return [NON_WORD_RULE.sub("", line).lower() for line in text.split("\n")]


@given(st.lists(st.sampled_from(VOLATILE_PIECES), max_size=12).map("".join))
def test_normalising_drops_volatile_bits_as_the_volatile_pattern_finds_them(text: str) -> None:
    assert normalize_simplified(text) == WHITESPACE_RULE.sub(" ", VOLATILE.sub(" ", text)).strip()
    with_breaks = VOLATILE.sub(lambda m: " " + "\n" * m.group().count("\n"), text)
    assert paragraph_keys_simplified(text) == keys_by_rule(with_breaks)


def test_str_split_splits_at_exactly_the_characters_the_whitespace_pattern_matches() -> None:
    # normalize_simplified collapses whitespace with str.split and join: the rule's `\s+` and strip() only
    # while the two agree on every character.
    differ = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(WHITESPACE_RULE.match(chr(code))) != chr(code).isspace()
    ]
    assert differ == []


# Letters whose lower case depends on their neighbours (a final sigma), letters that lower-case to two
# characters, letters and marks that casing skips over (ʰ, the combining acute), and what keys drop.
KEY_PIECES = (
    "ΑΣ",
    "Σ",
    "σ",
    "İ",
    "ʰ",
    "\u0301",
    "'",
    "_",
    "\n",
    "A",
    "a",
    "。",
    "产业",
    " ",
    "1",
    "²",
    "\u00ad",
)


@given(st.lists(st.sampled_from(KEY_PIECES), max_size=16).map("".join) | st.text(max_size=30))
def test_paragraph_keys_are_each_lines_letters_and_digits_lower_cased_on_their_own(text: str) -> None:
    assume(not VOLATILE_WORDS.search(text))
    assert paragraph_keys_simplified(text) == keys_by_rule(text)


GLOSS_RULE = re.compile(r"(?<=[\u4e00-\u9fff])[(（][a-züāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]{1,7}[)）]")
GLOSS_PIECES = ("產", "业", "AI", "(", ")", "（", "）", "chǎn", "yè", "ü", "a", " ", "\n", "。")


@given(st.lists(st.sampled_from(GLOSS_PIECES), max_size=14).map("".join))
def test_the_pinyin_gloss_pattern_finds_the_glosses_a_look_behind_first_finds(text: str) -> None:
    assert [m.span() for m in PINYIN_GLOSS.finditer(text)] == [m.span() for m in GLOSS_RULE.finditer(text)]


NFKC_PIECES = (
    "，",
    "：",
    "（",
    "）",
    "\u3000",
    "。",
    "“",
    "２",
    "Ａ",
    "Ⅱ",
    "℃",
    "…",
    "ｶ",
    "ﾞ",
    "e",
    "\u0301",
    "\u0323",
    "가",
    "\u1100",
    "\u1161",
    "产业",
    "a",
    " ",
    "\n",
    "ﬁ",
    "㈱",
)


@given(st.lists(st.sampled_from(NFKC_PIECES), max_size=10).map("".join) | st.text(max_size=20))
def test_the_quick_nfkc_is_nfkc(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_variants_are_replaced_one_by_one_without_chains() -> None:
    # to_simplified replaces each variant in turn: right only while no replacement is itself a variant.
    assert not set(VARIANTS.values()) & set(VARIANTS)
    assert to_simplified("其馀") == "其余"
