"""Pathological pages and the bugs fuzzing found, one explicit case each.

Every page here ends in an Extraction or a ParseError within the time cap plus SLACK_SECONDS.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.decode import COMMON_CJK_FLOOR, MIN_CJK_FOR_VERDICT, _common_hanzi, decode_html, looks_mojibake
from parsers.extract import (
    DEFAULT_OPTIONS,
    Extraction,
    ExtractionTimeout,
    ExtractOptions,
    NotAnArticle,
    ParseError,
    extract,
    extract_page,
)
from parsers.normalize import comparison_key, paragraph_keys
from pressmon.offline import qd_press
from tests.parsers.fuzzing import SLACK_SECONDS, UNSTORABLE, check_extraction, strings_of

PAGE_URL = qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html")
# A short cap, for pages that used to run far past any cap: reaching it is the expected way out.
SHORT = ExtractOptions(max_seconds=1.0)

TITLE = "《青岛市低空经济高质量发展行动方案》新闻发布会"
OPENING = "主持人：各位记者朋友们，大家上午好！欢迎参加市政府新闻办新闻发布会。"
CLOSING = "今天，我们邀请到了市发展和改革委员会的负责同志，介绍低空经济发展情况。"
SENTENCE = "各位记者朋友们，大家上午好。"


def article(extra: str = "", *, head: str = "", charset: str = "utf-8") -> str:
    return (
        f'<html><head><meta charset="{charset}">{head}<title>{TITLE}</title></head><body>'
        f"<h1>{TITLE}</h1><div id='zoom'><p>{OPENING}</p>{extra}<p>{CLOSING}</p></div></body></html>"
    )


def timed(body: bytes, options: ExtractOptions = DEFAULT_OPTIONS, content_type: str | None = None):
    """Extract a page; return the Extraction or the ParseError, and the seconds it took."""
    started = time.monotonic()
    try:
        result: Extraction | ParseError = extract_page(body, PAGE_URL, content_type, options)
    except ParseError as exc:
        result = exc
    seconds = time.monotonic() - started
    assert seconds <= options.max_seconds + SLACK_SECONDS, f"took {seconds:.1f}s, cap {options.max_seconds}s"
    if isinstance(result, Extraction):
        check_extraction(result)
    return result, seconds


# -- pathological pages ---------------------------------------------------------------------------------


def test_fifty_thousand_nested_divs_end_within_the_cap() -> None:
    nested = f"<p>{CLOSING}</p>" + "<div>" * 50_000 + SENTENCE * 10 + "</div>" * 50_000

    result, _ = timed(article(nested).encode("utf-8"))

    # The parser stops at 256 levels; the article before the nesting is still read.
    assert isinstance(result, Extraction)
    assert result.paragraphs[:2] == (OPENING, CLOSING)


def test_fifty_thousand_nested_divs_around_the_article_end_within_the_cap() -> None:
    page = article().replace("<body>", "<body>" + "<div>" * 50_000)

    result, _ = timed(page.encode("utf-8"))

    assert isinstance(result, ParseError | Extraction)


def test_one_five_megabyte_text_node_is_cut_to_the_body_cap() -> None:
    node = SENTENCE * (5_000_000 // len(SENTENCE.encode("utf-8")) + 1)
    page = article(f"<p>{node}</p>").encode("utf-8")
    assert len(page) > 5_000_000

    result, _ = timed(page)

    assert isinstance(result, Extraction)
    assert len(result.body) <= DEFAULT_OPTIONS.max_body_chars
    assert f"body cut at {DEFAULT_OPTIONS.max_body_chars} characters" in result.warnings
    assert result.paragraphs[0] == OPENING


def test_a_twenty_megabyte_page_ends_within_the_cap() -> None:
    paragraph = f"<div class='item'><p>{SENTENCE}</p><a href='./{{}}.pdf'>附件</a></div>"
    page = article("".join(paragraph.format(i) for i in range(20_000_000 // len(paragraph.encode("utf-8")))))
    assert len(page.encode("utf-8")) > 20_000_000

    result, _ = timed(page.encode("utf-8"))

    assert isinstance(result, Extraction | ParseError)


def test_nul_bytes_everywhere_in_the_text_vanish() -> None:
    clean = article(f"<p>{SENTENCE}</p>")
    with_nul = clean.replace("，", "\x00，\x00").replace("<p>", "<p>\x00").replace("。", "。\x00\x00\x00")

    result, _ = timed(with_nul.encode("utf-8"))

    assert isinstance(result, Extraction)
    assert result.as_json() == extract_page(clean.encode("utf-8"), PAGE_URL).as_json()


def test_a_nul_between_every_byte_ends_within_the_cap() -> None:
    page = article(f"<p>{SENTENCE}</p>").encode("utf-8")

    result, _ = timed(b"\x00".join(page[i : i + 1] for i in range(len(page))))

    assert isinstance(result, Extraction | ParseError)


@pytest.mark.parametrize(
    "bad",
    [
        b"\x81\x20",  # a lead byte before ASCII
        b"\x80",  # not a lead byte in GBK
        b"\xff",
        b"\x81\x30\x81",  # a GB18030 four-byte sequence cut short
    ],
)
def test_invalid_gbk_sequences_cost_only_the_bad_bytes(bad: bytes) -> None:
    page = article(charset="gbk").encode("gbk")
    broken = page.replace("介绍".encode("gbk"), "介绍".encode("gbk") + bad, 1)
    assert broken != page

    result, _ = timed(broken)

    # Before: no decoding fitted, the page was read as lossy UTF-8 and became mojibake: NotAnArticle.
    assert isinstance(result, Extraction)
    assert result.encoding == "gb18030"
    assert result.title == TITLE
    assert result.paragraphs[0] == OPENING
    assert "bytes decoded lossily: no encoding fitted" in result.warnings


def test_a_page_made_of_invalid_gbk_ends_within_the_cap() -> None:
    result, _ = timed(b'<meta charset="gbk">' + b"\x81\x20\xff\x80" * 500_000)

    assert isinstance(result, ParseError)


# -- the time cap, where it used to be overrun ----------------------------------------------------------


def test_a_million_unclosed_meta_tags_do_not_stall_decoding() -> None:
    # Before: the charset sniffing regex was quadratic here (10 s for 2.4 MB) and ran before the cap started.
    body = b"<meta " * 1_000_000

    started = time.monotonic()
    decode_html(body)
    assert time.monotonic() - started <= SHORT.max_seconds + SLACK_SECONDS

    result, _ = timed(body, SHORT)
    assert isinstance(result, ParseError)


def test_nested_noise_blocks_inside_the_body_stop_at_the_cap() -> None:
    # Before: 66 s with the 5 s cap, each nested "share" block measured its whole subtree again.
    page = article("<div class='share'>" * 250 + f"<p>{SENTENCE}</p>" * 100_000)

    result, _ = timed(page.encode("utf-8"), SHORT)

    assert isinstance(result, ExtractionTimeout)


def test_nested_title_blocks_stop_at_the_cap() -> None:
    # Before: 9 s with the 5 s cap, each candidate heading took the text of the whole page.
    page = "<title>发布会</title>" + "<div class='title'>" * 250 + f"<p>{SENTENCE}</p>" * 100_000

    result, _ = timed(page.encode("utf-8"), SHORT)

    # The body is looked for before the title now, and lxml's depth limit leaves no body to find: a quick
    # refusal is as good as the cap (timed() fails past the cap).
    assert isinstance(result, ExtractionTimeout | NotAnArticle)


def test_a_page_of_attachment_links_stops_at_the_cap() -> None:
    # Every link is looked at (is it an attachment?), and the clock with it.
    page = article("<a href='./a.pdf'>附件</a>" * 200_000)

    result, _ = timed(page.encode("utf-8"), SHORT)

    assert isinstance(result, Extraction | ParseError)


def test_a_page_of_date_labels_without_dates_stops_at_the_cap() -> None:
    # Every label is tried for a date after it, and the clock with it.
    page = article("发布日期：2023年" * 300_000)

    result, _ = timed(page.encode("utf-8"), SHORT)

    assert isinstance(result, Extraction | ParseError)


# -- what fuzzing found ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label", [b"gb\x002312", b"\x00", b"utf-8\x00", b"gb2312\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"]
)
def test_a_nul_inside_a_meta_charset_is_not_a_label(label: bytes) -> None:
    # Before: ValueError("embedded null character") from codecs.lookup, out of extract_page.
    page = article(charset="CHARSET").encode("gbk").replace(b"CHARSET", label)

    result, _ = timed(page)

    assert isinstance(result, Extraction)
    assert result.encoding == "gb18030"
    assert result.title == TITLE


@pytest.mark.parametrize("label", ["unicode_escape", "raw-unicode-escape", "utf-7", "cp037"])
def test_a_label_naming_a_codec_no_browser_knows_is_ignored(label: str) -> None:
    # Before: an ASCII page (its Chinese written as character references) was decoded with the codec:
    # `\ud800` or `+2AA-` became a lone surrogate, at which lxml silently stopped reading, or (cp037) the
    # whole page became EBCDIC nonsense.
    text = r"代码\ud800与\x00和+2AA-，都是文字。"
    page = article(f"<p>{text}</p>", charset=label).encode("ascii", "xmlcharrefreplace")

    for content_type in (None, f"text/html; charset={label}"):
        result, _ = timed(page, content_type=content_type)
        assert isinstance(result, Extraction)
        assert result.encoding == "utf-8"
        assert text in result.body
        assert result.paragraphs[-1] == CLOSING


def test_an_entity_for_a_control_character_after_a_script_does_not_crash() -> None:
    # Before: ValueError("All strings must be XML compatible") from lxml's drop_tree.
    page = article(f"<p>开头<script>var a = 1;</script>&#1;{SENTENCE}</p>")

    result, _ = timed(page.encode("utf-8"))

    assert isinstance(result, Extraction)
    assert f"开头{SENTENCE}" in result.body


def test_control_characters_from_entities_are_not_in_any_field() -> None:
    # Before: `&#1;` came out as "\x01" in the title, the publisher, the column and attachment names and URLs.
    page = (
        "<html><head><title>&#1;关于低空经济&#x1b;的新闻发布会</title>"
        '<meta name="ContentSource" content="&#2;市科技局">'
        '<meta name="ColumnName" content="&#5;往期回顾&#0;"></head>'
        "<body><h1>&#1;关于低空经济&#x1b;的新闻发布会</h1><div id='zoom'>"
        f"<p>&#6;{OPENING}&#127;</p><p>{CLOSING}&#x1f;</p>"
        "<p><a href='./P0&#2;.pdf' title='&#3;'>&#4;行动方案&#127;.pdf</a></p></div></body></html>"
    )

    result, _ = timed(page.encode("utf-8"))

    assert isinstance(result, Extraction)
    assert result.title == "关于低空经济的新闻发布会"
    assert result.publisher == "市科技局"
    assert result.column == "往期回顾"
    assert result.paragraphs[:2] == (OPENING, CLOSING)
    assert [(a.url.rsplit("/", 1)[-1], a.name) for a in result.attachments] == [("P0.pdf", "行动方案.pdf")]
    assert not [value for value in strings_of(result) if value and UNSTORABLE.search(value)]


def test_a_lone_surrogate_in_text_does_not_cut_the_page() -> None:
    # Before: lxml stopped reading at the surrogate, so the closing paragraph was lost.
    result = extract(article(f"<p>前\ud800后，{SENTENCE}</p>"), PAGE_URL)

    assert f"前后，{SENTENCE}" in result.body
    assert result.paragraphs[-1] == CLOSING
    result.body.encode("utf-8")


def test_a_view_counter_word_ending_a_paragraph_before_a_number_does_not_crash() -> None:
    # Before: IndexError where repeats were collapsed: "阅读" + line break + "5" matched the view-counter pattern and
    # merged two paragraphs' keys, so there was one key fewer than paragraphs. Found as "0浏览" then "0".
    page = article("<p>他说，我每天坚持阅读</p><p>5本书，这是好习惯。</p>")

    result, _ = timed(page.encode("utf-8"))

    assert isinstance(result, Extraction)
    assert result.paragraphs[1:3] == ("他说，我每天坚持阅读", "5本书，这是好习惯。")


def test_paragraph_keys_give_one_key_per_line_and_the_same_joined_key() -> None:
    text = "0浏览\n0\n他说阅读\n5本书\n浏览：126次"

    keys = paragraph_keys(text)

    assert keys == ["0", "", "他说", "本书", ""]
    # Joined, they are what they were when the lines merged: fingerprints do not change.
    assert comparison_key(text) == "0他说本书"


# Everyday characters, rare ones, what UTF-8 read as GBK looks like, Latin and a lone surrogate.
MOJIBAKE_ALPHABET = "的是在发展产业经济" + "鍦ㄨ繖閲嶈鐨勬" + "亍丌兀丐廿卅" + "abc ，。" + "\ud800"


@given(st.text(alphabet=MOJIBAKE_ALPHABET, min_size=0, max_size=120))
def test_the_mojibake_verdict_counts_everyday_characters_among_the_chinese_ones(text: str) -> None:
    # The verdict on Chinese text, told character by character: too few everyday characters is mojibake.
    hanzi = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    common = sum(c in _common_hanzi() for c in hanzi)
    expected = len(hanzi) >= MIN_CJK_FOR_VERDICT and common / len(hanzi) < COMMON_CJK_FLOOR
    assert looks_mojibake(text) == expected


@pytest.mark.parametrize("rare", ["亍", "丌", "丂", "鍦", "閲", "龥", "\u9fff"])
@pytest.mark.parametrize("everyday", ["的", "是", "发", "產", "一", "在"])
def test_the_mojibake_verdict_turns_where_everyday_characters_fall_below_four_in_five(
    everyday: str, rare: str
) -> None:
    assert everyday in _common_hanzi() and rare not in _common_hanzi()
    verdicts = [looks_mojibake(everyday * n + rare * (25 - n)) for n in range(26)]
    assert verdicts == [n / 25 < COMMON_CJK_FLOOR for n in range(26)]
