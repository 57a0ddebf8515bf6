"""Family behaviour, once: the links family on a hand-made list, the qdfb family on a saved qd_press list page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pressmon import sources
from pressmon.offline import qd_press
from pressmon.sources import parse
from pressmon.sources.families import family_of
from pressmon.sources.families.base import ListItem, PageRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qd_press"
MIRROR = "http://127.0.0.1:8765"
LINKS = parse(
    {
        "code": "sample",
        "agency": "某某市人民政府",
        "family": "links",
        "base_url": "https://www.example.gov.cn",
        "lists": ["/xwfb/index.html"],
        "pagination": "next_link",
        "detail_url": r"/xwfb/\d{6}/t\d+\.html$",
        "structure_from": "a test",
        "headers": {"Referer": "https://www.example.gov.cn/"},
    },
    "sample.toml",
)
LIST_PAGE = """<html><head><meta charset="utf-8"></head><body>
<ul><li><a href="202501/t1.html">第一条</a><span>2025-01-03</span></li>
<li><a href="/xwfb/202412/t2.html" title="第二条（全）">第二条</a> 2024年12月30日</li>
<li><a href="/about.html">关于我们</a></li>
<li><a href="javascript:void(0)">打印</a></li></ul>
<a href="index_1.html">下一页</a></body></html>"""


def test_links_family_reads_detail_links_with_titles_and_dates_and_the_next_page():
    family = family_of(LINKS)
    (first,) = family.first_requests(LINKS, MIRROR)
    assert first == PageRequest(f"{MIRROR}/xwfb/index.html", 1, LINKS.headers)
    page = family.parse_list(LINKS, first, first.url, LIST_PAGE)
    assert page.items == (
        ListItem(f"{MIRROR}/xwfb/202501/t1.html", "第一条", date(2025, 1, 3)),
        ListItem(f"{MIRROR}/xwfb/202412/t2.html", "第二条（全）", date(2024, 12, 30)),
    )
    assert [(r.url, r.page, dict(r.headers)) for r in page.next] == [
        (f"{MIRROR}/xwfb/index_1.html", 2, {"Referer": "https://www.example.gov.cn/"})
    ]
    assert page.page_count is None


def test_links_family_ends_the_walk_where_no_next_link_is():
    family = family_of(LINKS)
    request = PageRequest(f"{MIRROR}/xwfb/index_9.html", 10)
    page = family.parse_list(LINKS, request, request.url, LIST_PAGE.replace("下一页", "尾页"))
    assert page.next == ()


def test_relative_links_resolve_against_base_href_as_a_browser_does():
    family = family_of(LINKS)
    request = PageRequest(f"{MIRROR}/xwfb/index.html")
    html = LIST_PAGE.replace("<head>", '<head><base href="http://127.0.0.2/xwfb/">')
    page = family.parse_list(LINKS, request, request.url, html)
    assert page.items[0].url == "http://127.0.0.2/xwfb/202501/t1.html"
    assert page.next[0].url == "http://127.0.0.2/xwfb/index_1.html"


def test_offline_path_maps_a_url_to_a_file_of_the_source_folder():
    family = family_of(LINKS)
    assert family.offline_path("https://www.example.gov.cn/xwfb/") == "xwfb/index.html"
    assert family.offline_path("https://www.example.gov.cn/xwfb/202501/t1.html") == "xwfb/202501/t1.html"
    assert family.offline_path("https://www.example.gov.cn/api/list?page=2") == "api/list@page=2"


def test_qdfb_family_reads_the_saved_first_list_page_of_qd_press():
    source = sources.get("qd_press")
    family = family_of(source)
    (request,) = family.first_requests(source, MIRROR)
    assert request.url == MIRROR + qd_press.ARCHIVE_INDEX
    html = (FIXTURES / "list-1.html").read_text(encoding="utf-8")
    page = family.parse_list(source, request, request.url, html)
    assert len(page.items) == qd_press.PAGE_SIZE
    assert page.items[0] == ListItem(
        f"{MIRROR}/xwfbHtml/wangqihuigu/2025/1225/2258.html",
        "《青岛市磁存储芯片与先进封装产业发展情况》新闻发布会",
        date(2025, 12, 25),
    )
    assert all(source.is_detail(item.url) and item.url.startswith(MIRROR) for item in page.items)
    assert [(r.url, r.page) for r in page.next] == [(MIRROR + qd_press.list_path(2), 2)]
    assert page.page_count == 4


def test_qdfb_family_reads_no_next_page_on_the_last_list_page():
    source = sources.get("qd_press")
    family = family_of(source)
    request = PageRequest(MIRROR + qd_press.list_path(4), 4)
    html = (FIXTURES / "list-last.html").read_text(encoding="utf-8")
    page = family.parse_list(source, request, request.url, html)
    assert page.next == () and page.page_count == 4 and page.items


def test_qdfb_hints_come_from_the_family_when_the_declaration_has_none():
    source = sources.get("qd_press")
    hints = family_of(source).hints(source)
    assert hints.body == ".TRS_Editor"
    assert family_of(source).detail_redirect(source, MIRROR + "/x.html", "<html></html>") is None
