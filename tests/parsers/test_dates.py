"""Publication dates in Chinese text and in CMS URL paths."""

from __future__ import annotations

from datetime import date

import pytest

from parsers.dates import date_in_url, find_date, parse_iso_like


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年2月23日", date(2023, 2, 23)),
        ("2023年02月23日", date(2023, 2, 23)),
        ("发布会日期：2023年11月16日", date(2023, 11, 16)),
        ("2023-02-23 15:00", date(2023, 2, 23)),
        ("发布时间：2023-02-23 15:00:00 来源：市科技局", date(2023, 2, 23)),
        ("2023/2/3", date(2023, 2, 3)),
        ("2023.2.3", date(2023, 2, 3)),
        ("二〇二三年二月二十三日", date(2023, 2, 23)),
        ("二〇二四年十月十日", date(2024, 10, 10)),
        ("二〇二四年十二月三十一日", date(2024, 12, 31)),
        ("二〇二〇年七月十六日", date(2020, 7, 16)),
        ("二○二三年二月三日", date(2023, 2, 3)),  # ○ (white circle) for zero, as some typesetters write it
    ],
)
def test_find_date_reads_common_chinese_forms(text: str, expected: date) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-30",
        "2023年2月30日",
        "2023/13/01",
        "2023-00-10",
        "二〇二三年二月三十日",
        "1206",
        "浏览：126",
        "",
    ],
)
def test_find_date_rejects_dates_that_do_not_exist(text: str) -> None:
    assert find_date(text) is None


def test_find_date_skips_an_impossible_date_for_a_real_one() -> None:
    assert find_date("更新：2023-02-30 发布：2023-03-01") == date(2023, 3, 1)


def test_find_date_returns_the_first_date_in_the_text() -> None:
    assert find_date("发布会日期：2024年04月25日，上次发布会于2024年4月11日举行") == date(2024, 4, 25)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-02-23T15:00:00+08:00", date(2023, 2, 23)),
        ("2023-02-23 15:00", date(2023, 2, 23)),
        ("2023年2月23日", date(2023, 2, 23)),
        ("20230223", date(2023, 2, 23)),
    ],
)
def test_parse_iso_like_reads_meta_tag_dates(value: str, expected: date) -> None:
    assert parse_iso_like(value) == expected


@pytest.mark.parametrize("value", ["20230230", "2023-02-30T10:00:00", "not a date"])
def test_parse_iso_like_rejects_impossible_dates(value: str) -> None:
    assert parse_iso_like(value) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html", date(2023, 2, 23)),
        ("https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2020/0716/427.html", date(2020, 7, 16)),
        ("https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2025/1225/2258.html", date(2025, 12, 25)),
        (
            "http://www.qingdao.gov.cn/zwgk/xxgk/fgw/gkml/gwfg/202302/t20230223_7012345.shtml",
            date(2023, 2, 23),
        ),
        ("https://www.qingdao.gov.cn/zwgk/zdgk/202410/t20241017_8412345.shtml", date(2024, 10, 17)),
    ],
)
def test_date_in_url_reads_qdfb_and_trs_paths(url: str, expected: date) -> None:
    assert date_in_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/index_1.html",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0230/1206.html",
        "http://www.qingdao.gov.cn/zwgk/202302/t20230230_7012345.shtml",
    ],
)
def test_date_in_url_is_none_without_a_valid_date(url: str | None) -> None:
    assert date_in_url(url) is None
