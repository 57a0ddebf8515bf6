"""The generic extractor on templates it was not built around: old table layouts, closing signatures,
unlabelled bylines, publishers given as links, site-wide footers inside the text's container.

The pages are written for these tests, as the CMSs of city bureaus and news portals emit them.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.extract import _hanzi_count, _join_source_lines, extract_page

SITE = "青岛市工业和信息化局"
PARAGRAPHS = (
    "为加快推进制造业数字化转型，市工业和信息化局决定组织开展2025年度智能工厂认定工作，现将有关事项通知如下。",
    "申报企业应在本市注册，具有独立法人资格，近三年未发生重大安全、环保和质量事故。",
    "各区、市工业和信息化主管部门负责组织本辖区企业申报，并对申报材料进行初审，择优推荐。",
    "市工业和信息化局将组织专家进行评审，评审结果在局网站公示，公示期为五个工作日。",
)
FOOTER_LINES = (
    "主办单位：青岛市工业和信息化局　承办单位：青岛市大数据发展管理局",
    "网站标识码：3702000021　鲁ICP备05003456号-1　鲁公网安备 37020202000111号",
    "违法和不良信息举报电话：0532-12345678",
    "Copyright © 2025 qingdao.gov.cn All Rights Reserved",
    "技术支持：青岛信息港　网站地图　联系我们",
)


def page(head_title: str, middle: str, *, footer_inside: str = "", charset: str = "utf-8") -> bytes:
    """A detail page of a bureau's site: header, navigation, share links and a footer around `middle`."""
    footer = "".join(f"<p>{line}</p>" for line in FOOTER_LINES)
    html = f"""<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>{head_title}</title>
<link rel="stylesheet" href="/css/index.css"><script src="/js/jquery.min.js"></script></head>
<body>
<div class="header"><div class="logo">{SITE}</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/tzgg/">通知公告</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="main">
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/tzgg/">通知公告</a></div>
{middle}
<div class="bdshare">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
{footer_inside}
</div>
<div class="bottom">{footer}</div>
</body></html>"""
    return html.encode(charset)


def body_html(paragraphs: tuple[str, ...] = PARAGRAPHS) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def assert_no_footer(text: str) -> None:
    for word in (
        "网站标识码",
        "ICP备",
        "举报电话",
        "Copyright",
        "主办单位",
        "技术支持",
        "网站地图",
        "分享到",
    ):
        assert word not in text


# -- (a) old table layout: the headline sits in a styled cell, <title> holds the site name -------------


def test_a_title_in_a_styled_table_cell_wins_over_the_site_name():
    middle = f"""<table width="96%" align="center"><tr>
<td class="title" style="font-size:18px;font-weight:bold" align="center">关于开展2025年度智能工厂认定工作的通知</td>
</tr><tr><td class="content">{body_html()}</td></tr></table>"""
    release = extract_page(page(SITE, middle), "http://gxj.qingdao.gov.cn/tzgg/show.asp?id=88")
    assert release.title == "关于开展2025年度智能工厂认定工作的通知"


def test_a_bold_font_in_a_cell_is_a_headline_too():
    middle = f"""<table width="100%"><tr><td align="center" height="50">
<font color="#CC0000" style="font-size:20px"><b>全市工业和信息化工作会议召开</b></font></td></tr>
<tr><td>{body_html()}</td></tr></table>"""
    release = extract_page(page(f"{SITE}门户网站", middle), None)
    assert release.title == "全市工业和信息化工作会议召开"


def test_a_a_page_title_naming_the_article_still_wins():
    middle = f"""<div class="title" style="font-weight:bold">返回列表</div>
<h1>关于开展2025年度智能工厂认定工作的通知</h1><div class="TRS_Editor">{body_html()}</div>"""
    head = f"关于开展2025年度智能工厂认定工作的通知_{SITE}"
    assert extract_page(page(head, middle), None).title == "关于开展2025年度智能工厂认定工作的通知"


# -- (b) the date only in the closing signature (落款) -------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "expected"),
    [("2025年3月12日", date(2025, 3, 12)), ("二〇二五年三月十二日", date(2025, 3, 12))],
)
def test_b_date_and_publisher_from_the_closing_signature(signed, expected):
    middle = f"""<h2 class="tit">关于开展2025年度智能工厂认定工作的通知</h2>
<div class="article">{body_html()}<p style="text-align:right">{SITE}</p>
<p style="text-align:right">{signed}</p></div>"""
    release = extract_page(page(SITE, middle), "http://gxj.qingdao.gov.cn/tzgg/show.asp?id=88")
    assert release.published_at == expected
    assert release.publisher == SITE
    assert release.paragraphs[-1] == signed  # the signature stays part of the document


def test_b_signature_in_one_cell_with_line_breaks():
    text = "<br>".join(PARAGRAPHS)
    middle = f"""<table><tr><td style="font-size:18px;font-weight:bold">关于开展智能工厂认定工作的通知</td></tr>
<tr><td>{text}<br><br>{SITE}<br>2025年3月12日</td></tr></table>"""
    release = extract_page(page(SITE, middle), None)
    assert release.published_at == date(2025, 3, 12)


def test_b_a_labelled_date_beats_the_signature():
    middle = f"""<h1>关于开展2025年度智能工厂认定工作的通知</h1><p class="d">发布日期：2025-03-14</p>
<div class="article">{body_html()}<p>{SITE}</p><p>2025年3月12日</p></div>"""
    assert extract_page(page(SITE, middle), None).published_at == date(2025, 3, 14)


def test_b_a_date_inside_the_last_sentence_is_not_a_signature():
    last = "本通知自2025年4月1日起施行。"
    middle = f"""<h1>关于开展2025年度智能工厂认定工作的通知</h1>
<div class="article">{body_html((*PARAGRAPHS, last))}</div>"""
    assert extract_page(page(SITE, middle), None).published_at is None


# -- (c) unlabelled bylines on news portals; (d) dates in spans beside the title ------------------------


NEWS_PARAGRAPHS = (
    "记者从市工业和信息化局获悉，今年一季度，全市规模以上工业增加值同比增长7.2%，高于全省平均水平。",
    "分行业看，汽车、轨道交通装备和家电等重点行业保持较快增长，新能源汽车产量同比增长三成以上。",
    "市工业和信息化局有关负责人表示，下一步将加大技术改造支持力度，推动工业经济持续向好。",
)


def news_page(byline: str) -> bytes:
    middle = f"""<div class="article"><h1>一季度全市规模以上工业增加值增长7.2%</h1>{byline}
<div class="article-body">{body_html(NEWS_PARAGRAPHS)}</div></div>"""
    return page("一季度全市规模以上工业增加值增长7.2%_大众网", middle)


@pytest.mark.parametrize(
    "byline",
    [
        '<div class="info"><span>2025-03-12 09:30</span><span>来源：大众网</span></div>',
        '<div class="msg"><span class="time">2025年03月12日 09:30</span> <span>大众网</span></div>',
        '<p class="pubinfo">2025/03/12 09:30:15 &nbsp; 大众网 &nbsp; 编辑：王芳</p>',
    ],
)
def test_c_unlabelled_byline_date_is_found(byline):
    release = extract_page(news_page(byline), "https://qingdao.dzwww.com/xinwen/a.htm")
    assert release.published_at == date(2025, 3, 12)
    assert release.publisher == "大众网"
    assert not any("09:30" in p for p in release.paragraphs)


@pytest.mark.parametrize(
    "heading",
    [
        '<div class="con-title"><h2>一季度全市规模以上工业增加值增长7.2%</h2><span class="date">2025-03-12</span></div>',
        '<div class="con-title"><span class="date">[2025-03-12]</span><h2>一季度全市规模以上工业增加值增长7.2%</h2></div>',
    ],
)
def test_d_date_in_a_span_beside_the_title(heading):
    middle = f'{heading}<div class="con-text">{body_html(NEWS_PARAGRAPHS)}</div>'
    release = extract_page(page(SITE, middle), None)
    assert release.title == "一季度全市规模以上工业增加值增长7.2%"
    assert release.published_at == date(2025, 3, 12)


def test_c_a_date_in_the_first_sentence_is_not_a_byline():
    middle = f"""<h1>一季度全市规模以上工业增加值增长7.2%</h1>
<div class="article-body"><p>2025年3月12日，{NEWS_PARAGRAPHS[0]}</p>{body_html(NEWS_PARAGRAPHS[1:])}</div>"""
    # The sentence's date is the event's, not a byline: nothing says when the page was published.
    assert extract_page(page(SITE, middle), None).published_at is None


# -- (e) the publisher given only as a link ----------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '来源：<a href="http://kjj.qingdao.gov.cn/">青岛市科学技术局</a>',
        '<span>信息来源：</span><a href="http://kjj.qingdao.gov.cn/" target="_blank">青岛市科学技术局</a>',
    ],
)
def test_e_publisher_given_as_a_link(source):
    middle = f"""<h1>一季度全市规模以上工业增加值增长7.2%</h1>
<div class="attr"><span>发布时间：2025-03-12</span> <span>{source}</span></div>
<div class="article-body">{body_html(NEWS_PARAGRAPHS)}</div>"""
    assert extract_page(page(SITE, middle), None).publisher == "青岛市科学技术局"


# -- (f) site-wide footer lines never in the body ------------------------------------------------------


def test_f_footer_inside_the_text_container_is_dropped():
    footer = "".join(f"<p>{line}</p>" for line in FOOTER_LINES)
    middle = f"""<h1>关于开展2025年度智能工厂认定工作的通知</h1>
<div class="wrap">{body_html()}<p>分享到： 微信 微博 QQ空间</p>{footer}</div>"""
    release = extract_page(page(SITE, middle), None)
    assert release.paragraphs == PARAGRAPHS
    assert_no_footer(release.body)


def test_f_footer_cells_of_a_table_layout_are_dropped():
    footer = "<br>".join(FOOTER_LINES)
    middle = f"""<table><tr><td style="font-size:18px;font-weight:bold">关于开展智能工厂认定工作的通知</td></tr>
<tr><td>{"<br>".join(PARAGRAPHS)}</td></tr><tr><td align="center">{footer}</td></tr></table>"""
    release = extract_page(page(SITE, middle), None)
    assert_no_footer(release.body)
    assert release.paragraphs[-1] == PARAGRAPHS[-1]


def test_f_a_sentence_mentioning_a_hotline_is_article_text():
    sentence = "群众如发现违规行为，可拨打12345政务服务便民热线或举报电话进行反映。"
    middle = f"""<h1>关于开展2025年度智能工厂认定工作的通知</h1>
<div class="article">{body_html((*PARAGRAPHS, sentence))}</div>"""
    assert sentence in extract_page(page(SITE, middle), None).paragraphs


# -- (g) text broken across lines of the HTML source -----------------------------------------------------


def test_g_line_breaks_of_the_source_inside_chinese_text_are_not_spaces():
    broken = (
        "为加快推进制造业数字化转型，市工业和信息化局决定\n        组织开展2025年度\r\n"
        "智能工厂认定工作。\n\t申报企业应在本市注册，截至\n  2024\n 2025年底\n 共认定AI\n chip相关企业。"
    )
    middle = f"""<h1>关于开展2025年度智能工厂认定工作的通知</h1>
<div class="article"><p>{broken}</p>{body_html(PARAGRAPHS[1:])}</div>"""
    assert extract_page(page(SITE, middle), None).paragraphs[0] == (
        "为加快推进制造业数字化转型，市工业和信息化局决定组织开展2025年度智能工厂认定工作。"
        "申报企业应在本市注册，截至2024 2025年底共认定AI chip相关企业。"
    )


# The rule as a regular expression: a run of spaces and tabs, a line break and any whitespace after it go
# where the characters either side are Chinese (or punctuation) on both sides, a digit then Chinese, or
# Chinese then a digit. The extractor scans for line breaks instead (three times faster); both must agree.
SOURCE_LINE_BREAK = re.compile(
    r"(?<=[\u4e00-\u9fff，。、；：！？“”（）\d])[ \t]*[\r\n]\s*(?=[\u4e00-\u9fff，。、；：！？“”（）])"
    r"|(?<=[\u4e00-\u9fff，。、；：！？“”（）])[ \t]*[\r\n]\s*(?=\d)"
)
SOURCE_CHARACTERS = ("低", "空", "，", "“", "）", "5", "٣", "²", "a", "Z", "-", "\u3000", "\xa0")
SOURCE_WHITESPACE = (" ", "\t", "\n", "\r", "\x0b", "\u3000")
# Pieces of a source text: a character, then a run of whitespace (often none).
SOURCE_PIECE = st.tuples(
    st.sampled_from(SOURCE_CHARACTERS), st.lists(st.sampled_from(SOURCE_WHITESPACE), max_size=4).map("".join)
).map("".join)


@settings(max_examples=500)
@given(st.lists(SOURCE_PIECE, max_size=8).map("".join), st.sampled_from(("", *SOURCE_WHITESPACE)))
def test_g_the_line_break_scan_agrees_with_the_rule(text, lead):
    text = lead + text
    assert _join_source_lines(text) == SOURCE_LINE_BREAK.sub("", text)


@given(st.text(alphabet="低空经济一\u4e00\u9fff\u3400\ua000，。 a1\n", max_size=40))
def test_g_chinese_characters_are_counted_one_by_one(text):
    # What the extractor counts to find the text's container: the characters U+4E00 to U+9FFF.
    assert _hanzi_count(text) == sum("\u4e00" <= c <= "\u9fff" for c in text)
