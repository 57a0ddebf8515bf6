"""The qd_press spider on saved pages: what it stores, which detail pages it schedules, where it stops."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import scrapy
from scrapy.http import HtmlResponse

from crawlers.items import RawPage
from crawlers.spiders.source import ERROR_STATUSES, SourceSpider
from parsers.urls import canonical_url
from pressmon.offline import qd_press
from tests.pages import CANONICAL_BASE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qd_press"
ROOT = Path(__file__).resolve().parents[2]
RELEASES_DIR = qd_press.RELEASES_DIR
MIRROR = "http://127.0.0.1:8765"
REAL = CANONICAL_BASE
ARCHIVE = "/xwfbHtml/wangqihuigu/"
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Server": "nginx"}


@pytest.fixture
def spider(monkeypatch: pytest.MonkeyPatch) -> SourceSpider:
    """The spider pointed at a local mirror of the site, as the tests and the demo run it."""
    monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", MIRROR)
    return SourceSpider(source="qd_press", run_id=None)


def newest_first() -> list[qd_press.Release]:
    return sorted(qd_press.load_releases(RELEASES_DIR), key=lambda r: (r.published, r.id), reverse=True)


def saved_response(name: str, url: str, *, kind: str, page: int | None = None) -> HtmlResponse:
    """Build the response the spider would get for a saved page, with the meta its request carries."""
    request = scrapy.Request(
        url,
        meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": kind},
        cb_kwargs={} if page is None else {"page": page},
    )
    return HtmlResponse(
        url=url, status=200, headers=HTML_HEADERS, body=(FIXTURES / name).read_bytes(), request=request
    )


def list_response(name: str, page: int) -> HtmlResponse:
    path = qd_press.list_path(page)
    return saved_response(name, MIRROR + path, kind="list", page=page)


def parse_list(spider: SourceSpider, response: HtmlResponse) -> list[RawPage | scrapy.Request]:
    return list(spider.parse_list(response, **response.request.cb_kwargs))


def detail_requests(output: list) -> list[scrapy.Request]:
    return [r for r in output if isinstance(r, scrapy.Request) and r.callback.__name__ == "parse_detail"]


def list_requests(output: list) -> list[scrapy.Request]:
    return [r for r in output if isinstance(r, scrapy.Request) and r.callback.__name__ == "parse_list"]


def first_page_detail_urls() -> list[str]:
    """The detail pages list page 1 links, on the mirror, newest first: the oracle the spider must match."""
    return [MIRROR + qd_press.detail_path(r) for r in newest_first()[: qd_press.PAGE_SIZE]]


# -- list page 1 ----------------------------------------------------------------------------------------


def test_parse_list_yields_the_list_page_as_a_raw_page_first(spider):
    response = list_response("list-1.html", 1)
    output = parse_list(spider, response)
    item = output[0]
    assert isinstance(item, RawPage)
    assert item["kind"] == "list"
    assert item["url"] == MIRROR + qd_press.ARCHIVE_INDEX
    assert item["final_url"] == MIRROR + qd_press.ARCHIVE_INDEX
    assert item["canonical_url"] == REAL + qd_press.ARCHIVE_INDEX
    assert item["status"] == 200
    assert item["headers"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert item["body"] == (FIXTURES / "list-1.html").read_bytes()
    assert all(not isinstance(o, RawPage) for o in output[1:])


def test_parse_list_schedules_one_detail_request_per_list_item(spider):
    response = list_response("list-1.html", 1)
    requests = detail_requests(parse_list(spider, response))
    assert len(requests) == len(response.css("ul.list > li")) == qd_press.PAGE_SIZE
    assert [r.url for r in requests] == first_page_detail_urls()


def test_detail_requests_are_absolute_urls_on_the_crawled_host_matching_the_detail_pattern(spider):
    requests = detail_requests(parse_list(spider, list_response("list-1.html", 1)))
    assert requests
    for request in requests:
        parts = urlsplit(request.url)
        assert parts.scheme == "http"
        assert f"{parts.scheme}://{parts.netloc}" == MIRROR
        assert spider.source.is_detail(request.url), request.url
        assert request.meta["pressmon_kind"] == "detail"
        assert (
            500 in request.meta["handle_httpstatus_list"]
            and 301 not in request.meta["handle_httpstatus_list"]
        )


def test_parse_list_follows_the_next_page_link_to_index_1(spider):
    next_requests = list_requests(parse_list(spider, list_response("list-1.html", 1)))
    assert [r.url for r in next_requests] == [MIRROR + ARCHIVE + "index_1.html"]
    assert next_requests[0].cb_kwargs == {"page": 2}


# -- stopping at pages already held ---------------------------------------------------------------------


def test_a_list_page_of_known_detail_pages_schedules_nothing_and_stops(spider):
    spider.known = {canonical_url(url, spider.mirrors) for url in first_page_detail_urls()}
    output = parse_list(spider, list_response("list-1.html", 1))
    assert detail_requests(output) == []
    assert list_requests(output) == []
    assert isinstance(output[0], RawPage)


def test_known_pages_are_keyed_on_the_real_site_not_the_mirror(spider):
    spider.known = {REAL + qd_press.detail_path(r) for r in newest_first()[: qd_press.PAGE_SIZE]}
    assert detail_requests(parse_list(spider, list_response("list-1.html", 1))) == []


def test_fewer_known_pages_than_the_overlap_still_schedules_the_new_ones_and_follows_the_next_page(spider):
    assert spider.config.crawl_overlap == 3
    urls = first_page_detail_urls()
    spider.known = {canonical_url(url, spider.mirrors) for url in urls[-2:]}
    output = parse_list(spider, list_response("list-1.html", 1))
    assert [r.url for r in detail_requests(output)] == urls[:-2]
    assert [r.url for r in list_requests(output)] == [MIRROR + ARCHIVE + "index_1.html"]


def test_as_many_known_pages_as_the_overlap_stops_after_scheduling_the_new_ones(spider):
    urls = first_page_detail_urls()
    spider.known = {canonical_url(url, spider.mirrors) for url in urls[-3:]}
    output = parse_list(spider, list_response("list-1.html", 1))
    assert [r.url for r in detail_requests(output)] == urls[:-3]
    assert list_requests(output) == []


# -- the last list page ---------------------------------------------------------------------------------


def test_the_last_list_page_has_no_next_page_request(spider):
    last = qd_press.list_page_count(len(newest_first()))
    response = list_response("list-last.html", last)
    output = parse_list(spider, response)
    assert list_requests(output) == []
    expected = [MIRROR + qd_press.detail_path(r) for r in newest_first()[(last - 1) * qd_press.PAGE_SIZE :]]
    assert [r.url for r in detail_requests(output)] == expected
    assert len(expected) == len(response.css("ul.list > li"))


# -- detail pages ---------------------------------------------------------------------------------------


def test_parse_detail_yields_the_page_as_fetched_keyed_on_the_real_site(spider):
    path = "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    response = saved_response("detail-1206.html", MIRROR + path, kind="detail")
    (item,) = list(spider.parse_detail(response))
    assert isinstance(item, RawPage)
    assert dict(item) == {
        "kind": "detail",
        "url": MIRROR + path,
        "final_url": MIRROR + path,
        "canonical_url": REAL + path,
        "status": 200,
        "headers": {"Content-Type": ["text/html; charset=utf-8"], "Server": ["nginx"]},
        "body": (FIXTURES / "detail-1206.html").read_bytes(),
        "owed_key": REAL + path,
        "problem": None,
    }
    assert spider.errors == []


def test_parse_detail_of_an_error_page_stores_it_and_records_the_error(spider):
    url = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    response = saved_response("detail-1206.html", url, kind="detail").replace(status=500)
    (item,) = list(spider.parse_detail(response))
    assert item["status"] == 500
    assert item["problem"] == ("http_status", "HTTP 500")
    assert spider.errors == [{"url": url, "kind": "detail", "code": "http_status", "reason": "HTTP 500"}]


# -- redirects -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["detail", "list"])
def test_the_spiders_requests_follow_a_moved_page_to_its_new_address(spider, kind):
    # Sites move (http to https, new paths); a page that answers 301 must be fetched where it went, so that
    # raw_pages gets the page and its final URL rather than an empty 301.
    from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
    from scrapy.utils.test import get_crawler

    output = parse_list(spider, list_response("list-1.html", 1))
    request = (detail_requests if kind == "detail" else list_requests)(output)[0]
    moved_to = request.url.replace("/xwfbHtml/", "/xwfb/")
    moved = HtmlResponse(request.url, status=301, headers={"Location": moved_to}, body=b"", request=request)
    middleware = RedirectMiddleware.from_crawler(get_crawler(SourceSpider))
    followed = middleware.process_response(request, moved)
    assert isinstance(followed, scrapy.Request), "the 301 answer was handed to the spider instead of followed"
    assert followed.url == moved_to


# -- politeness -----------------------------------------------------------------------------------------


def test_the_project_settings_are_polite(monkeypatch: pytest.MonkeyPatch):
    from scrapy.utils.project import get_project_settings

    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert 1 <= settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert "pressmon" in settings.get("USER_AGENT")
    assert settings.getint("CLOSESPIDER_ERRORCOUNT") > 0
