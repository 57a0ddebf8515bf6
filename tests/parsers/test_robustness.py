"""Any bytes at all: extract_page returns an Extraction or raises ParseError, within its time cap."""

from __future__ import annotations

import contextlib
import gc
import time
from datetime import timedelta
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.extract import Extraction, ExtractOptions, ParseError, extract_page
from pressmon.offline import qd_press
from tests.conftest import CORPUS
from tests.corpus import needs_corpus

pytestmark = needs_corpus

RELEASES_DIR = qd_press.RELEASES_DIR
PAGE_URL = qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html")

OPTIONS = ExtractOptions(max_seconds=2)
# Huge inputs are cut at max_chars before parsing; a small cap keeps a hundred of them fast.
HUGE_OPTIONS = ExtractOptions(max_seconds=2, max_chars=100_000)
# What a time cap may overrun by: the checks sit between steps, not inside every loop.
SLACK_SECONDS = 0.5

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=OPTIONS.max_seconds + 1),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# Charset labels as pages and servers write them, including the broken ones templates produce.
CHARSET_LABELS = (
    "utf-8",
    "UTF-8",
    "utf8",
    "gbk",
    "GBK",
    "gb2312",
    "GB2312",
    "gb18030",
    "x-gbk",
    "big5",
    "utf-16",
    "iso-8859-1",
    "windows-1252",
    "unicode",
    "undefined",
    "null",
    "none",
    "",
    "bogus",
    "utf-8;",
)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(CHARSET_LABELS).map(lambda label: f"text/html; charset={label}"),
    st.sampled_from(["text/html", "application/octet-stream", "text/html; charset", ";;;", 'charset="gbk']),
)
CODECS = ("utf-8", "gb18030", "gbk", "big5", "utf-16-le", "utf-16-be", "latin-1", "cp1252")
HANZI = "主持人各位记者朋友们大家上午好欢迎参加市政府新闻办发布会今天我们邀请到了低空经济产业发展情况青岛"
PUNCTUATION = "：，。；！？（）“”、\u3000 \n"
CHINESE_TEXT = st.text(alphabet=HANZI + PUNCTUATION + "0123456789abcXYZ<>&;#/=\"'", max_size=80)

# Fragments of real-looking pages: containers the extractor knows, furniture, dates, broken markup and links.
HTML_FRAGMENTS = (
    "<html>",
    "</html>",
    "<head>",
    "</head>",
    "<body>",
    "</body>",
    "<title>",
    "</title>",
    "<h1>",
    "</h1>",
    "<h2>",
    "</h2>",
    "<p>",
    "</p>",
    "<br>",
    "<br/>",
    "<div>",
    "</div>",
    "<span>",
    "</span>",
    "<b>",
    "</b>",
    '<div id="zoom">',
    '<div class="TRS_Editor">',
    '<div class="detail-content">',
    '<div id="content">',
    '<div class="detail-title">',
    '<div class="share">',
    '<div class="footer">',
    '<div style="display:none">',
    "<article>",
    "</article>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<ul><li>",
    "</li></ul>",
    "<script>var a = '<p>';</script>",
    "<style>p{}</style>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml ?>",
    '<meta charset="gb2312">',
    '<meta charset="undefined">',
    '<meta name="PubDate" content="2023-02-30">',
    '<meta name="ArticleTitle" content="《测试》新闻发布会">',
    '<meta name="ContentSource" content="市科技局">',
    '<meta name="pubdate" content="">',
    '<time datetime="二〇二三年二月二十三日">',
    '<a href="./P020230223.pdf">附件</a>',
    '<a href="http://[2001:db8::1/plan.pdf">附件</a>',
    '<a href="http://[bad/x.pdf">下载</a>',
    '<a href="//cdn.example.cn/a.docx">',
    '<a href="javascript:void(0)">',
    '<a href="mailto:a@b.cn">',
    '<a href="%zz.pdf">',
    '<a href="http://host:99999/a.pdf">',
    "<a>",
    "</a>",
    "&nbsp;",
    "&#0;",
    "&#xD800;",
    "&#x110000;",
    "&amp;",
    "&",
    "\x00",
    "\x0b",
    "\ufeff",
    "\u200b",
    "浏览：126",
    "发布会日期：2023年02月23日",
    "发布时间：2023-02-30",
    "来源：市科技局",
    "上一篇：",
    "分享到：",
    "主持人：",
    "市科技局副局长 刘学辉同志；",
    "今天，我们邀请到了：",
    "刘学辉：",
    "由市科技局发布。",
    "《“科技创新推动先进制造业高质量发展”总体情况》新闻发布会",
)
HTML_ISH = st.lists(st.one_of(st.sampled_from(HTML_FRAGMENTS), CHINESE_TEXT), max_size=120).map("".join)
REPEATED_FRAGMENTS = (
    "<p>青岛市低空经济产业发展情况，今天我们邀请到了。</p>",
    "<div>",
    "<div><p>主持人：各位记者朋友们，大家上午好！</p>",
    "<h2>第一部分</h2>",
    "浏览：126<br>",
    "<a href='./P0.pdf'>附件</a>",
    "<b>",
    "。",
    "<!--",
    "\xa0",
    "<table><tr><td>数据，</td>",
)


@cache
def corpus_pages() -> tuple[bytes, ...]:
    pages = [p.read_bytes() for p in sorted((CORPUS / "html").glob("*.html"))]
    releases = qd_press.load_releases(RELEASES_DIR)
    for release in releases[:3]:
        pages.append(qd_press.render_detail_page(release, views=1).encode("utf-8"))
    pages.append(qd_press.render_detail_page(releases[-1], views=1, charset="gb2312").encode("gb18030"))
    return tuple(pages)


def check(body: bytes, url: str | None, content_type: str | None, options: ExtractOptions = OPTIONS) -> None:
    """Extract and check the contract: an Extraction or a ParseError, and no overrun of the time cap."""
    started = time.monotonic()
    try:
        result = extract_page(body, url, content_type, options)
    except ParseError:
        result = None
    elapsed = time.monotonic() - started
    assert elapsed <= options.max_seconds + SLACK_SECONDS, f"took {elapsed:.2f}s"
    if result is not None:
        assert isinstance(result, Extraction)
        assert result.title.strip()
        assert result.paragraphs
        assert all(isinstance(p, str) and p for p in result.paragraphs)
        assert len(result.body) <= options.max_chars
        assert "\x00" not in result.body


@FUZZ
@given(body=st.binary(max_size=8192), content_type=CONTENT_TYPES)
def test_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    check(body, PAGE_URL, content_type)


@FUZZ
@given(
    page=st.sampled_from(range(len(corpus_pages()))),
    cut=st.floats(min_value=0.0, max_value=1.0),
    content_type=CONTENT_TYPES,
)
def test_truncated_real_pages(page: int, cut: float, content_type: str | None) -> None:
    body = corpus_pages()[page]
    check(body[: int(len(body) * cut)], PAGE_URL, content_type)


@FUZZ
@given(
    fragments=st.lists(st.sampled_from(REPEATED_FRAGMENTS), min_size=1, max_size=4),
    times=st.integers(min_value=1_000, max_value=60_000),
    with_head=st.booleans(),
)
def test_huge_repetitive_input_is_capped(fragments: list[str], times: int, with_head: bool) -> None:
    head = "<html><head><title>《测试》新闻发布会</title></head><body><div id='zoom'>" if with_head else ""
    body = (head + "".join(fragments) * times).encode("utf-8")
    check(body, PAGE_URL, None, HUGE_OPTIONS)


@FUZZ
@given(html=HTML_ISH, codec=st.sampled_from(("utf-8", "gb18030")), url=st.sampled_from((PAGE_URL, None)))
def test_random_html_ish_pages(html: str, codec: str, url: str | None) -> None:
    check(html.encode(codec, errors="replace"), url, None)


@FUZZ
@given(
    parts=st.lists(
        st.tuples(st.one_of(CHINESE_TEXT, st.sampled_from(HTML_FRAGMENTS)), st.sampled_from(CODECS)),
        max_size=40,
    ),
    bom=st.sampled_from((b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")),
    content_type=CONTENT_TYPES,
)
def test_mixed_encodings(parts: list[tuple[str, str]], bom: bytes, content_type: str | None) -> None:
    body = bom + b"".join(text.encode(codec, errors="replace") for text, codec in parts)
    check(body, PAGE_URL, content_type)


# -- known hard cases, one each ---------------------------------------------------------------------------

ARTICLE = (
    "<html><head><title>《青岛市低空经济高质量发展行动方案》新闻发布会</title></head><body>"
    "<h1>《青岛市低空经济高质量发展行动方案》新闻发布会</h1><div id='zoom'>"
    "<p>主持人：各位记者朋友们：大家上午好！欢迎参加市政府新闻办新闻发布会。</p>"
    "<p>日前，市政府办公厅印发《青岛市低空经济高质量发展行动方案（2025—2027年）》。本场发布会由市发展和改革委员会发布。</p>"
    "{extra}</div></body></html>"
)


@pytest.mark.parametrize(
    "href",
    [
        "http://[2001:db8::1/plan.pdf",
        "http://[bad/x.pdf",
        "http://host:99999/a.pdf",
        "%zz.pdf",
    ],
)
def test_a_malformed_attachment_link_does_not_break_extraction(href: str) -> None:
    html = ARTICLE.format(extra=f'<p><a href="{href}">行动方案.pdf</a></p>')

    extraction = extract_page(html.encode("utf-8"), PAGE_URL)

    assert extraction.title == "《青岛市低空经济高质量发展行动方案》新闻发布会"
    assert "本场发布会由市发展和改革委员会发布。" in extraction.body


def test_a_well_formed_attachment_link_next_to_it_is_kept() -> None:
    html = ARTICLE.format(
        extra='<p><a href="http://[bad/x.pdf">坏链接.pdf</a></p><p><a href="./P0202501.pdf">方案.pdf</a></p>'
    )

    extraction = extract_page(html.encode("utf-8"), PAGE_URL)

    assert (qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/P0202501.pdf"), "方案.pdf") in {
        (a.url, a.name) for a in extraction.attachments
    }


@pytest.mark.parametrize("content_type", [None, "text/html; charset=undefined"])
def test_a_page_declaring_charset_undefined_does_not_break_extraction(content_type: str | None) -> None:
    html = ARTICLE.format(extra="").replace("<head>", '<head><meta charset="undefined">')

    extraction = extract_page(html.encode("gb18030"), PAGE_URL, content_type)

    assert extraction.encoding == "gb18030"
    assert extraction.title == "《青岛市低空经济高质量发展行动方案》新闻发布会"


def page_of_many_headings() -> bytes:
    # None of the headings is the <title>: the extractor has to look at every one of them.
    headings = "".join(f"<h2>第{i}个小标题</h2>" for i in range(60_000))
    html = ARTICLE.format(extra="").replace("<h1>", headings + "<h3>").replace("</h1>", "</h3>")
    assert "<h1>" not in html
    return html.encode("utf-8")


def test_time_cap_holds_on_a_page_of_many_headings() -> None:
    options = ExtractOptions(max_seconds=0.5)
    body = page_of_many_headings()
    # What earlier tests left for the collector is not the extractor's time (the next test covers its own).
    gc.collect()

    started = time.monotonic()
    with contextlib.suppress(ParseError):  # ExtractionTimeout is the expected way out; only the time matters
        extract_page(body, PAGE_URL, None, options)
    elapsed = time.monotonic() - started

    assert elapsed <= options.max_seconds + SLACK_SECONDS, (
        f"took {elapsed:.2f}s with a {options.max_seconds}s cap"
    )


def test_a_page_of_many_headings_does_not_become_an_object_per_heading() -> None:
    # 60,000 headings held at once set off about 80 young collections, and in a process with a large heap
    # (a worker late in a night, this test suite) a full one that alone outlasted a 0.5 s cap in CI.
    body = page_of_many_headings()
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        extract_page(body, PAGE_URL, None, ExtractOptions(max_seconds=60))
    finally:
        gc.callbacks.remove(count)

    assert len(collections) <= 2, f"collections by generation: {collections}"
