"""The gov.cn family on the offline copies of www.gov.cn's 要闻 and 部门政务 lists, and their first articles."""

from __future__ import annotations

import pytest

from pressmon.sources import get
from pressmon.sources.families import family_of
from pressmon.sources.families.base import PageRequest
from tests.sources.support import cases, check_first, check_walk, list_page, walk

SOURCES = ("gov_yaowen", "gov_bumen")


@pytest.mark.parametrize("code", SOURCES)
def test_the_walk_finds_every_list_page_and_item(code):
    check_walk(code)


def test_the_first_page_names_the_next_by_its_trs_page_count():
    page = list_page("gov_yaowen", PageRequest("https://www.gov.cn/yaowen/index.htm"))

    assert page.page_count == 2
    assert [r.url for r in page.next] == ["https://www.gov.cn/yaowen/index_1.htm"]
    assert page.next[0].page == 2
    assert [i.url for i in page.items] == [
        "https://www.gov.cn/yaowen/liebiao/202511/content_7051842.htm",
        "https://www.gov.cn/yaowen/liebiao/202511/content_7051655.htm",
    ]
    assert page.items[0].title == "工业和信息化部部署推进制造业数字化转型重点工作"
    assert str(page.items[0].published) == "2025-11-06"


def test_the_last_page_ends_the_walk():
    page = list_page("gov_bumen", PageRequest("https://www.gov.cn/lianbo/bumen/index_1.htm", page=2))

    assert page.next == ()
    assert [i.url for i in page.items] == ["https://www.gov.cn/lianbo/bumen/202511/content_7051320.htm"]


def test_separator_rows_are_not_items():
    assert all(item.title for item in walk("gov_yaowen").items)
    assert len(walk("gov_yaowen").pages[0].items) == 2


def test_the_family_hints_name_the_publish_time_meta_not_the_revision_time():
    hints = family_of(get("gov_yaowen")).hints(get("gov_yaowen"))

    assert hints.date == "meta[name=firstpublishedtime]"
    assert hints.body == "#UCAP-CONTENT, .pages_content"
    assert set(hints.drop) == {".shuzi", "#myFlash", ".pages_print"}


@pytest.mark.parametrize(("code", "field"), cases(SOURCES, {}))
def test_the_first_article_reads_as_the_expectation_file_says(code, field):
    check_first(code, field)
