"""The links family on the offline copy of 青岛新闻网's Qingdao section: reprints of the city's releases."""

from __future__ import annotations

import json

import opencc
import pytest

from pressmon.sources.families.base import PageRequest
from tests.sources.support import SITES, cases, check_first, check_walk, first_release, list_page, walk

SOURCES = ("qingdaonews_qd",)
LIST = "http://www.qingdaonews.com/node/node_103215.htm"


def test_the_walk_finds_every_list_page_and_item():
    check_walk("qingdaonews_qd")


def test_the_next_page_is_the_下一页_link_and_the_last_page_has_none():
    first = list_page("qingdaonews_qd", PageRequest(LIST))
    last = list_page(
        "qingdaonews_qd", PageRequest("http://www.qingdaonews.com/node/node_103215_2.htm", page=2)
    )

    assert [r.url for r in first.next] == ["http://www.qingdaonews.com/node/node_103215_2.htm"]
    assert last.next == ()
    assert [i.url.split("/")[2] for i in first.items] == ["news.qingdaonews.com"] * 2


def release(release_id: int) -> dict:
    return json.loads((SITES / "qd_press" / "releases" / f"{release_id}.json").read_text(encoding="utf-8"))


def test_the_first_reprint_carries_the_original_release_text():
    original = release(2258)
    body = first_release("qingdaonews_qd").extraction.body

    assert first_release("qingdaonews_qd").extraction.title == original["list_title"]
    assert all(paragraph in body for paragraph in original["paragraphs"])


def test_one_reprint_is_the_original_in_traditional_characters():
    original, s2t = release(2245), opencc.OpenCC("s2t")
    page = (SITES / "qingdaonews_qd" / "qingdao/2025-11/20/content_23502217.htm").read_text(encoding="utf-8")

    assert walk("qingdaonews_qd").items[1].title == s2t.convert(original["list_title"])
    assert all(s2t.convert(paragraph) in page for paragraph in original["paragraphs"])


@pytest.mark.parametrize(("code", "field"), cases(SOURCES, {}))
def test_the_first_article_reads_as_the_expectation_file_says(code, field):
    check_first(code, field)
