"""The JSON-list family on the offline copies of MIIT's buildstatic lists and www.gov.cn's JSON lists."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from pressmon.sources import get
from pressmon.sources.families import family_of
from pressmon.sources.families.base import PageRequest
from pressmon.sources.families.jsonlist import ListPageError, json_path, querydata, row_date
from tests.sources.support import SITES, cases, check_first, check_walk, list_page, walk

SOURCES = ("gov_zcjd", "gov_zhengceku", "miit_zcjd", "miit_wjfb")
# First articles the extractor misreads, as strict xfails: none left.
FAILING: dict[tuple[str, str], str] = {}
MIIT = "https://www.miit.gov.cn"
UNIT = MIIT + "/api-gateway/jpaas-publish-server/front/page/build/unit"


@pytest.mark.parametrize("code", SOURCES)
def test_the_walk_finds_every_list_page_and_item(code):
    check_walk(code)


@pytest.mark.parametrize(
    ("code", "shell"), [("miit_zcjd", "/zwgk/zcjd/index.html"), ("miit_wjfb", "/jgsj/ghs/wjfb/index.html")]
)
def test_a_buildstatic_shell_has_no_rows_and_asks_for_its_json_with_the_shell_as_referer(code, shell):
    page = list_page(code, PageRequest(MIIT + shell))

    assert page.items == ()
    (request,) = page.next
    assert request.url.split("?")[0] == UNIT
    assert request.headers["Referer"] == MIIT + shell
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"
    params = dict(parse_qsl(urlsplit(request.url).query))
    assert params["parseType"] == "buildstatic"
    assert params["webId"] == "8d828e408d90447786ddbe128d495e9e"
    assert params["tagId"] == "右侧内容"
    assert json.loads(params["paramJson"]) == {"pageNo": 1, "pageSize": 3}


def test_json_pages_go_on_while_full_and_stop_at_a_short_page():
    requests = walk("miit_zcjd").requests
    pages = [json.loads(dict(parse_qsl(urlsplit(r.url).query))["paramJson"]) for r in requests[1:]]

    assert pages == [{"pageNo": 1, "pageSize": 3}, {"pageNo": 2, "pageSize": 3}]
    assert [len(p.items) for p in walk("miit_zcjd").pages] == [0, 3, 1]
    assert walk("miit_zcjd").pages[-1].next == ()
    assert all(r.headers["Referer"] == MIIT + "/zwgk/zcjd/index.html" for r in requests[1:])


def test_fragment_rows_are_absolute_on_the_real_host_with_title_attribute_and_date():
    first = walk("miit_wjfb").items[0]

    assert first.url == MIIT + "/jgsj/ghs/wjfb/art/2025/art_66eeea3806b023b4ec57aa4e5a11ed32.html"
    assert first.title == "工业和信息化部关于印发《制造业单项冠军企业培育提升专项行动实施方案》的通知"
    assert str(first.published) == "2025-11-11"


def test_a_long_query_is_named_offline_by_a_digest_that_ignores_parameter_order_and_encoding():
    family = family_of(get("miit_zcjd"))
    request = walk("miit_zcjd").requests[1]
    params = parse_qsl(urlsplit(request.url).query)
    reordered = UNIT + "?" + "&".join(f"{k}={v}" for k, v in reversed(params))

    assert family.offline_path(request.url) == family.offline_path(reordered)
    assert family.offline_path(request.url).startswith(
        "api-gateway/jpaas-publish-server/front/page/build/unit@"
    )
    assert (SITES / "miit_zcjd" / family.offline_path(request.url)).is_file()


def test_single_quoted_querydata_reads_as_parameters_even_with_json_inside():
    assert querydata("{'pageId':'ab','editType':'null'}") == {"pageId": "ab", "editType": "null"}
    assert querydata("""{'paramJson':'{"pageNo":2}','webId':'w'}""") == {
        "paramJson": '{"pageNo":2}',
        "webId": "w",
    }
    with pytest.raises(ListPageError):
        querydata("{webId: w}")


def test_the_policy_library_walks_p_until_the_category_totals_say_the_end():
    got = walk("gov_zhengceku")

    assert [dict(parse_qsl(urlsplit(r.url).query, keep_blank_values=True))["p"] for r in got.requests] == [
        "1",
        "2",
    ]
    assert [p.page_count for p in got.pages] == [2, 2]
    assert got.pages[-1].next == ()
    first = got.items[0]
    assert first.url == "https://www.gov.cn/zhengce/content/202511/content_7052501.htm"
    assert str(first.published) == "2025-11-10"  # ptime 1762765500000 ms, in China time


def test_a_json_array_at_the_top_is_the_whole_list():
    got = walk("gov_zcjd")

    assert len(got.requests) == 1 and got.pages[0].next == ()
    assert got.items[0].title == "工业和信息化部有关负责人解读《关于加快工业互联网规模化应用的实施意见》"
    assert str(got.items[0].published) == "2025-11-08"


def test_a_json_list_that_is_not_json_is_an_error_naming_the_source():
    with pytest.raises(ListPageError, match="gov_zhengceku"):
        family_of(get("gov_zhengceku")).parse_list(
            get("gov_zhengceku"),
            PageRequest("https://sousuo.www.gov.cn/x"),
            "https://sousuo.www.gov.cn/x",
            "<html>",
        )


def test_json_paths_walk_every_member_of_an_object():
    data = {"a": {"x": {"rows": [1, 2]}, "y": {"rows": [3]}}, "results": [4]}

    assert list(json_path(data, "a.*.rows")) == [1, 2, 3]
    assert list(json_path(data, "results")) == [4]
    assert list(json_path([5, 6], ".")) == [5, 6]
    assert list(json_path(data, "a.missing.rows")) == []


@pytest.mark.parametrize(
    ("value", "day"),
    [
        (1762765500000, "2025-11-10"),
        (1762707600000, "2025-11-10"),
        ("2025-11-08 10:30:00", "2025-11-08"),
        (None, None),
    ],
)
def test_row_dates_read_millisecond_timestamps_in_china_time_and_written_dates(value, day):
    assert (str(row_date(value)) if row_date(value) else None) == day


@pytest.mark.parametrize(("code", "field"), cases(SOURCES, FAILING))
def test_the_first_article_reads_as_the_expectation_file_says(code, field):
    check_first(code, field)
