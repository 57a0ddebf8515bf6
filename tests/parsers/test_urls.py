"""Canonical URLs: one identity key per page, whatever form its URL came in."""

from __future__ import annotations

import pytest

from parsers.urls import canonical_url

PAGE = "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html"
MIRRORS = {"http://127.0.0.1:8000": "http://qdfb.shiminjia.com"}


def test_key_of_a_clean_https_url_is_the_url_itself() -> None:
    assert canonical_url(PAGE) == PAGE


@pytest.mark.parametrize(
    "variant",
    [
        "http://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "HTTP://QDFB.Shiminjia.COM/xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "http://qdfb.shiminjia.com:80/xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "https://qdfb.shiminjia.com:443/xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "https://qdfb.shiminjia.com./xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html#top",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html?",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html#",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html/",
        "  https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html \n",
        "https://qdfb.shiminjia.com//xwfbHtml/wangqihuigu//2023/0223/1206.html",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html;jsessionid=A1B2C3D4E5",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html?utm_source=wechat&utm_medium=share",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html?from=timeline&isappinstalled=0",
        "https://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html?spm=a2c4g.11186623&share_token=x1",
    ],
)
def test_noise_in_a_url_does_not_change_its_key(variant: str) -> None:
    assert canonical_url(variant) == canonical_url(PAGE)


def test_http_and_https_give_one_key_that_uses_https() -> None:
    key = canonical_url("http://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2023/0223/1206.html")

    assert key == PAGE


def test_path_case_is_kept() -> None:
    # Servers compare paths case-sensitively: /xwfbHtml/ and /xwfbhtml/ can be different pages.
    assert "/xwfbHtml/" in canonical_url("HTTP://QDFB.SHIMINJIA.COM/xwfbHtml/wangqihuigu/index.html")
    assert canonical_url(PAGE) != canonical_url(PAGE.replace("xwfbHtml", "xwfbhtml"))


def test_a_non_default_port_is_part_of_the_key() -> None:
    assert canonical_url("http://qdfb.shiminjia.com:8080/a.html") == "https://qdfb.shiminjia.com:8080/a.html"
    assert canonical_url("http://qdfb.shiminjia.com:8080/a.html") != canonical_url(
        "http://qdfb.shiminjia.com/a.html"
    )


def test_real_parameters_are_kept_and_sorted_while_tracking_ones_go() -> None:
    url = "https://www.qingdao.gov.cn/search.jsp?page=2&utm_campaign=x&id=5&from=singlemessage&channel=zwgk"

    assert canonical_url(url) == "https://www.qingdao.gov.cn/search.jsp?channel=zwgk&id=5&page=2"
    assert canonical_url("https://www.qingdao.gov.cn/search.jsp?id=5&page=2") == canonical_url(
        "https://www.qingdao.gov.cn/search.jsp?page=2&id=5"
    )


def test_different_real_parameters_are_different_pages() -> None:
    assert canonical_url("https://www.qingdao.gov.cn/art.jsp?id=5") != canonical_url(
        "https://www.qingdao.gov.cn/art.jsp?id=6"
    )


def test_session_id_in_the_path_is_dropped_but_the_query_is_kept() -> None:
    url = "http://www.qingdao.gov.cn/n172/n24624151/art.jsp;jsessionid=0F3A9C1B2E?id=118&utm_source=qq"

    assert canonical_url(url) == "https://www.qingdao.gov.cn/n172/n24624151/art.jsp?id=118"


def test_percent_encoded_and_raw_chinese_paths_give_one_key() -> None:
    assert canonical_url("https://www.qingdao.gov.cn/新闻/1.html") == canonical_url(
        "https://www.qingdao.gov.cn/%E6%96%B0%E9%97%BB/1.html"
    )


def test_page_fetched_from_a_mirror_gets_the_real_sites_key() -> None:
    mirrored = "http://127.0.0.1:8000/xwfbHtml/wangqihuigu/2023/0223/1206.html"

    assert canonical_url(mirrored, MIRRORS) == PAGE
    assert canonical_url(mirrored + "?utm_source=test#x", MIRRORS) == PAGE


def test_mirror_base_with_a_trailing_slash_maps_the_same() -> None:
    mirrors = {"http://127.0.0.1:8000/": "http://qdfb.shiminjia.com/"}

    assert canonical_url("http://127.0.0.1:8000/xwfbHtml/wangqihuigu/2023/0223/1206.html", mirrors) == PAGE


def test_mirror_root_without_a_slash_gets_the_real_sites_key() -> None:
    assert canonical_url("http://127.0.0.1:8000", MIRRORS) == canonical_url("http://qdfb.shiminjia.com/")
    assert canonical_url("http://127.0.0.1:8000/", MIRRORS) == canonical_url("http://qdfb.shiminjia.com/")


def test_a_host_that_merely_starts_like_the_mirror_is_not_mapped() -> None:
    mirrors = {"http://mirror.qd": "http://qdfb.shiminjia.com"}

    assert (
        canonical_url("http://mirror.qdnews.cn/xwfbHtml/a.html", mirrors)
        == "https://mirror.qdnews.cn/xwfbHtml/a.html"
    )


def test_without_mirrors_the_mirror_host_is_its_own_key() -> None:
    mirrored = "http://127.0.0.1:8000/xwfbHtml/wangqihuigu/2023/0223/1206.html"

    assert canonical_url(mirrored) == "https://127.0.0.1:8000/xwfbHtml/wangqihuigu/2023/0223/1206.html"


@pytest.mark.parametrize("url", ["mailto:press@qingdao.gov.cn", "javascript:void(0)"])
def test_non_web_urls_are_left_alone(url: str) -> None:
    assert canonical_url(url) == url
