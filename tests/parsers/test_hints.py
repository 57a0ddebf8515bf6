"""A source's PageHints steer extraction when they match, and are ignored when its template has changed."""

from __future__ import annotations

from datetime import date

import pytest

from parsers.extract import extract_page
from parsers.hints import PageHints
from parsers.release import parse_release
from parsers.tag import Tagger

TITLE = "青岛市2025年第一季度工业经济运行情况新闻发布会"
BODY = (
    "主持人：各位记者朋友，大家上午好！欢迎参加市政府新闻办召开的新闻发布会。",
    "今天，我们邀请到市工业和信息化局有关负责同志，介绍一季度全市工业经济运行情况。",
    "一季度，全市规模以上工业增加值同比增长7.2%，高于全省平均水平1.1个百分点。",
    "下一步，我们将加大技术改造支持力度，推动工业经济持续回升向好。",
)
RELATED = "相关阅读：二〇二四年全市工业经济运行情况新闻发布会实录全文，敬请关注。"
PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>新闻发布会 - 青岛市人民政府新闻办公室</title>
<meta name="PubDate" content="2025-04-18 10:00">
<meta name="ContentSource" content="青岛市人民政府新闻办公室">
</head><body>
<div class="nav"><a href="/">首页</a> <a href="/fbh/">新闻发布会</a></div>
<div class="fbh">
  <div class="fbh-name">{TITLE}</div>
  <div class="fbh-meta"><span class="fbh-date">发布会日期：2025年4月17日</span>
  <span class="fbh-host">发布单位：青岛市工业和信息化局</span></div>
  <div class="fbh-text">{"".join(f"<p>{p}</p>" for p in BODY)}<p class="rel">{RELATED}</p></div>
</div>
<div class="bottom"><p>网站标识码：3702000001　鲁ICP备05000001号</p></div>
</body></html>""".encode()
URL = "http://www.qingdao.gov.cn/fbh/2025/0418/123.html"
HINTS = PageHints(
    title=".fbh-name",
    date=".fbh-date",
    body=".fbh-text",
    publisher=".fbh-host",
    drop=(".rel",),
)


def test_hints_that_match_are_used_first():
    release = extract_page(PAGE, URL, hints=HINTS)

    assert release.title == TITLE
    assert release.published_at == date(2025, 4, 17)  # the conference date, not the meta's 04-18
    assert release.publisher == "青岛市工业和信息化局"
    assert release.paragraphs == BODY
    assert release.method == "hint .fbh-text"


def test_without_hints_the_generic_rules_decide():
    release = extract_page(PAGE, URL)

    assert release.published_at == date(2025, 4, 18)
    assert release.publisher == "青岛市人民政府新闻办公室"
    assert RELATED in release.paragraphs


def test_meta_tags_give_their_content():
    hints = PageHints(title="meta[name=ArticleTitle]", date="meta[name=PubDate]")
    page = PAGE.replace(b"</head>", f'<meta name="ArticleTitle" content="{TITLE}（实录）"></head>'.encode())

    release = extract_page(page, URL, hints=hints)

    assert release.title == f"{TITLE}（实录）"
    assert release.published_at == date(2025, 4, 18)


def test_stale_hints_fall_back_to_the_generic_rules():
    stale = PageHints(
        title="h1.article-title",
        date="#pubtime",
        body=".TRS_Editor",
        publisher=".source",
        drop=("#share",),
    )

    assert extract_page(PAGE, URL, hints=stale) == extract_page(PAGE, URL)


def test_a_body_hint_matching_a_near_empty_element_is_ignored():
    hints = PageHints(body=".fbh-meta", drop=(".rel",))

    release = extract_page(PAGE, URL, hints=hints)

    assert release.paragraphs == BODY
    assert not release.method.startswith("hint")


def test_a_date_hint_without_a_date_is_ignored():
    release = extract_page(PAGE, URL, hints=PageHints(date=".fbh-name"))

    assert release.published_at == date(2025, 4, 18)


def test_drop_removes_elements_before_extraction_and_keeps_their_neighbours_text():
    page = PAGE.replace(
        f"<p>{BODY[-1]}</p>".encode(), f'<p>{BODY[-1]}<span class="zan">点赞 12</span></p>'.encode()
    )

    release = extract_page(page, URL, hints=PageHints(drop=(".rel", ".zan", "body")))

    assert release.paragraphs == BODY  # `body` itself is never dropped


def test_an_invalid_selector_is_a_bug_of_the_declaration():
    with pytest.raises(SyntaxError):
        extract_page(PAGE, URL, hints=PageHints(title="div[["))


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


def test_parse_release_passes_the_hints_on(tagger):
    parsed = parse_release(PAGE, URL, "text/html; charset=utf-8", tagger, hints=HINTS)

    assert parsed.extraction.published_at == date(2025, 4, 17)
    assert RELATED not in parsed.extraction.body
