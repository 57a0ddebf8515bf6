"""The Hanweb family on the offline copies of www.shandong.gov.cn's 要闻 and 新闻发布会 channels."""

from __future__ import annotations

import pytest

from pressmon.sources.families.base import PageRequest
from pressmon.sources.families.hanweb import page_count
from tests.sources.support import cases, check_first, check_walk, list_page

SOURCES = ("sd_gov_yw", "sd_xwfb")
YW = "https://www.shandong.gov.cn/col/col97902/index.html"
XWFB = "https://www.shandong.gov.cn/col/col94237/index.html"


@pytest.mark.parametrize("code", SOURCES)
def test_the_walk_finds_every_list_page_and_item(code):
    check_walk(code)


def test_datastore_records_are_the_rows_and_totalrecord_with_perpage_the_page_count():
    page = list_page("sd_gov_yw", PageRequest(YW))

    assert page.page_count == 2
    assert [i.url for i in page.items] == [
        "https://www.shandong.gov.cn/art/2026/1/8/art_97902_10462113.html",
        "https://www.shandong.gov.cn/art/2026/1/7/art_97902_10461985.html",
        "https://www.shandong.gov.cn/art/2026/1/5/art_97902_10461702.html",
    ]
    assert page.items[0].title == "省政府常务会议研究部署先进制造业强省建设工作"
    assert str(page.items[0].published) == "2026-01-08"
    assert [(r.url, r.page) for r in page.next] == [(YW + "?uid=280631&pageNum=2", 2)]


def test_the_last_page_ends_the_walk():
    page = list_page("sd_gov_yw", PageRequest(YW + "?uid=280631&pageNum=2", page=2))

    assert page.next == ()
    assert [i.url for i in page.items] == [
        "https://www.shandong.gov.cn/art/2025/12/30/art_97902_10460531.html"
    ]


def test_urls_assignments_are_rows_with_their_title_and_date():
    page = list_page("sd_xwfb", PageRequest(XWFB))

    assert [(str(i.published), i.url) for i in page.items] == [
        ("2026-01-09", "https://www.shandong.gov.cn/art/2026/1/9/art_94237_10462350.html"),
        ("2026-01-06", "https://www.shandong.gov.cn/art/2026/1/6/art_94237_10461877.html"),
    ]
    assert page.items[1].title == "省政府新闻办举行发布会介绍2025年全省外贸进出口情况"
    assert [r.url for r in page.next] == [XWFB + "?uid=312580&pageNum=2"]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("<totalpage>7</totalpage>", 7),
        ("<totalrecord>31</totalrecord> perPage: 15", 3),
        ("var totalRecord = 30;var perPage = 15;", 2),
        ("<totalrecord>31</totalrecord>", None),
        ("", None),
    ],
)
def test_the_page_count_comes_from_the_datastore_or_the_pager_script(text, count):
    assert page_count(text) == count


@pytest.mark.parametrize(("code", "field"), cases(SOURCES, {}))
def test_the_first_article_reads_as_the_expectation_file_says(code, field):
    check_first(code, field)
