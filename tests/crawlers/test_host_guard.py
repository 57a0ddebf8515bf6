"""The host guard: redirects and requests that leave a source's declared hosts are refused, and say why."""

from __future__ import annotations

import pytest
import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawlers.middlewares import HostGuard, RefusedRedirect, RefusedRequest
from crawlers.spiders.source import SourceSpider

MIRROR = "http://127.0.0.1:8765"
PAGE = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> HostGuard:
    monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", MIRROR)
    crawler = get_crawler(SourceSpider)
    crawler.spider = SourceSpider(source="qd_press", run_id=None)
    return HostGuard.from_crawler(crawler)


def redirect(location: str, status: int = 302) -> Response:
    return Response(PAGE, status=status, headers={"Location": location}, request=scrapy.Request(PAGE))


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.2:8765/xwfbHtml/wangqihuigu/2023/0223/1206.html",
        "http://10.1.2.3/admin",
        "http://169.254.169.254/latest/meta-data/",
        "https://evil.example/x.html",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
    ],
)
def test_a_redirect_away_from_the_declared_host_is_refused_before_scrapy_follows_it(guard, location):
    with pytest.raises(RefusedRedirect, match=r"redirect from .* refused"):
        guard.process_response(scrapy.Request(PAGE), redirect(location))


@pytest.mark.parametrize("location", ["/xwfbHtml/wangqihuigu/2023/0223/1207.html", MIRROR + "/moved.html"])
def test_a_redirect_within_the_host_is_left_to_scrapy(guard, location):
    response = redirect(location, 301)
    assert guard.process_response(scrapy.Request(PAGE), response) is response


def test_a_meta_refresh_away_from_the_host_is_refused(guard):
    body = b'<html><head><meta http-equiv="refresh" content="0;url=http://127.0.0.2/x.html"></head></html>'
    response = HtmlResponse(PAGE, status=200, body=body, request=scrapy.Request(PAGE))
    with pytest.raises(RefusedRedirect):
        guard.process_response(scrapy.Request(PAGE), response)


def test_a_page_without_redirect_passes(guard):
    response = HtmlResponse(
        PAGE, status=200, body=b"<html><body>ok</body></html>", request=scrapy.Request(PAGE)
    )
    assert guard.process_response(scrapy.Request(PAGE), response) is response


@pytest.mark.parametrize("url", ["http://127.0.0.2/x", "file:///etc/passwd", "http://192.168.0.1/"])
def test_a_request_to_another_host_never_leaves(guard, url):
    with pytest.raises(RefusedRequest):
        guard.process_request(scrapy.Request(url))


def test_a_request_to_the_declared_host_goes(guard):
    assert guard.process_request(scrapy.Request(PAGE)) is None


def test_the_guard_is_installed_after_the_redirect_middleware(monkeypatch: pytest.MonkeyPatch):
    from scrapy.utils.project import get_project_settings

    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    order = {**settings.getdict("DOWNLOADER_MIDDLEWARES_BASE"), **settings.getdict("DOWNLOADER_MIDDLEWARES")}
    redirect_at = order["scrapy.downloadermiddlewares.redirect.RedirectMiddleware"]
    assert order["crawlers.middlewares.HostGuard"] > redirect_at
