"""The list walk's stop rules and what a spider reports when a site cannot be read, on saved pages."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
import scrapy
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.items import FetchFailure, OwedPages, RawPage
from crawlers.middlewares import RefusedRedirect, RefusedRequest
from crawlers.spiders.source import ERROR_STATUSES, SourceSpider, failure_code
from pressmon.offline import qd_press
from pressmon.sources.families.qdfb import Qdfb
from tests.pages import CANONICAL_BASE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qd_press"
MIRROR = "http://127.0.0.1:8765"
REAL = CANONICAL_BASE
HTML = {"Content-Type": "text/html; charset=utf-8"}
BLOCK_PAGE = (
    "<html><head><title>访问受限</title></head><body><h1>访问受限</h1>"
    "<p>您的访问过于频繁，请输入验证码后继续访问。</p><img src='/captcha.jpg'></body></html>"
).encode()


@pytest.fixture
def spider(monkeypatch: pytest.MonkeyPatch) -> SourceSpider:
    monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", MIRROR)
    return SourceSpider(source="qd_press", run_id=None)


def list_response(page: int, body: bytes | None = None, status: int = 200) -> HtmlResponse:
    url = MIRROR + qd_press.list_path(page)
    request = scrapy.Request(
        url,
        meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": "list"},
        cb_kwargs={"page": page},
    )
    body = (FIXTURES / "list-1.html").read_bytes() if body is None else body
    return HtmlResponse(url=url, status=status, headers=HTML, body=body, request=request)


def walk(spider: SourceSpider, response: HtmlResponse) -> list:
    return list(spider.parse_list(response, **response.request.cb_kwargs))


def requests_of(output: list, callback: str) -> list[scrapy.Request]:
    return [o for o in output if isinstance(o, scrapy.Request) and o.callback.__name__ == callback]


def test_new_detail_pages_are_owed_before_they_are_requested(spider):
    output = walk(spider, list_response(1))
    owed_at = next(i for i, o in enumerate(output) if isinstance(o, OwedPages))
    first_request = next(i for i, o in enumerate(output) if isinstance(o, scrapy.Request))
    assert owed_at < first_request
    details = requests_of(output, "parse_detail")
    assert [url for _, url in output[owed_at]["pages"]] == [r.url for r in details]
    assert all(key.startswith(REAL) for key, _ in output[owed_at]["pages"])
    assert [r.meta["pressmon_key"] for r in details] == [key for key, _ in output[owed_at]["pages"]]


def test_a_list_page_without_detail_links_fails_the_walk_as_empty(spider):
    saved = (FIXTURES / "list-1.html").read_bytes()
    body = saved.replace(b"/xwfbHtml/wangqihuigu/20", b"/moved/20").replace(b'"./20', b'"/moved/20')
    output = walk(spider, list_response(1, body))
    assert requests_of(output, "parse_detail") == [] and requests_of(output, "parse_list") == []
    assert spider.list_failed and not spider.reached_end
    assert [e["code"] for e in spider.errors] == ["empty_list"]


def test_a_next_page_link_back_to_a_list_page_already_walked_is_a_loop_not_a_new_page(spider):
    spider._list_request(MIRROR + qd_press.list_path(1), page=1)
    body = (FIXTURES / "list-1.html").read_bytes().replace(b"index_1.html", b"index.html")
    output = walk(spider, list_response(1, body))
    assert requests_of(output, "parse_list") == []
    assert len(requests_of(output, "parse_detail")) == qd_press.PAGE_SIZE
    assert spider.list_failed
    assert [e["code"] for e in spider.errors] == ["pagination_loop"]


def test_reaching_the_list_page_ceiling_with_pages_left_fails_the_walk(monkeypatch):
    monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", MIRROR)
    monkeypatch.setenv("PRESSMON_MAX_LIST_PAGES", "1")
    spider = SourceSpider(source="qd_press", run_id=None)
    output = walk(spider, list_response(1))
    assert requests_of(output, "parse_list") == []
    assert spider.list_failed and not spider.reached_end
    assert [e["code"] for e in spider.errors] == ["list_ceiling"]


def test_a_block_page_answered_with_200_on_a_list_page_is_blocked_not_a_quiet_night(spider):
    output = walk(spider, list_response(1, BLOCK_PAGE))
    assert isinstance(output[0], RawPage)
    assert output[1:] == []
    assert spider.list_failed
    assert [(e["code"], e["kind"]) for e in spider.errors] == [("blocked", "list")]


def test_a_list_page_answered_with_403_is_blocked(spider):
    walk(spider, list_response(1, b"<html><body>Forbidden</body></html>", status=403))
    assert [e["code"] for e in spider.errors] == ["blocked"]


def test_a_block_page_on_a_detail_page_is_stored_as_a_problem_and_stays_owed(spider):
    url = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    request = scrapy.Request(url, meta={"pressmon_kind": "detail", "pressmon_key": REAL + url[len(MIRROR) :]})
    (item,) = spider.parse_detail(
        HtmlResponse(url, status=200, headers=HTML, body=BLOCK_PAGE, request=request)
    )
    assert item["problem"][0] == "blocked"
    assert item["owed_key"] == REAL + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    assert spider.errors[0]["code"] == "blocked"


def test_detail_links_that_leave_the_source_through_base_href_are_not_followed(spider):
    body = (
        (FIXTURES / "list-1.html")
        .read_bytes()
        .replace(b"<head>", b'<head><base href="http://127.0.0.2/xwfbHtml/wangqihuigu/">', 1)
    )
    output = walk(spider, list_response(1, body))
    assert requests_of(output, "parse_detail") == []
    assert spider.offsite_links == qd_press.PAGE_SIZE
    assert [e["code"] for e in spider.errors] == ["empty_list"]


@pytest.mark.parametrize(
    "url, allowed",
    [
        (MIRROR + "/xwfbHtml/a.html", True),
        ("https://127.0.0.1:8765/xwfbHtml/a.html", True),
        ("http://127.0.0.2:8765/xwfbHtml/a.html", False),
        ("http://10.0.0.1/xwfbHtml/a.html", False),
        ("http://192.168.1.1/", False),
        ("file:///etc/passwd", False),
        ("ftp://127.0.0.1/a.html", False),
        ("http://qdfb.shiminjia.com.evil.example/a.html", False),
    ],
)
def test_the_spider_allows_only_its_declared_host(spider, url, allowed):
    assert spider.allows(url) is allowed


def test_a_detail_failure_becomes_an_item_for_the_ledger_and_an_error(spider):
    url = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    request = scrapy.Request(url, meta={"pressmon_kind": "detail", "pressmon_key": "K"})
    failure = Failure(DownloadTimeoutError("took longer than 3 seconds"))
    failure.request = request
    (item,) = spider.on_error(failure)
    assert isinstance(item, FetchFailure)
    assert (item["key"], item["url"], item["code"]) == ("K", url, "timeout")
    assert spider.errors[0]["code"] == "timeout"


def test_a_list_request_that_fails_fails_the_walk(spider):
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = scrapy.Request(MIRROR + qd_press.ARCHIVE_INDEX, meta={"pressmon_kind": "list"})
    assert list(spider.on_error(failure)) == []
    assert spider.list_failed
    assert [e["code"] for e in spider.errors] == ["robots_disallowed"]


@pytest.mark.parametrize(
    "error, code",
    [
        (DownloadTimeoutError("Getting http://x took longer than 3.0 seconds."), "timeout"),
        (ResponseDataLossError("Connection lost"), "truncated"),
        (
            DownloadCancelledError(
                "Expected to receive 20971520 bytes which is larger than download max size"
            ),
            "too_large",
        ),
        (IgnoreRequest("Forbidden by robots.txt"), "robots_disallowed"),
        (RefusedRedirect("redirect refused"), "redirect_refused"),
        (RefusedRequest("refused"), "offsite"),
        (ConnectionRefusedError("refused"), "connection"),
    ],
)
def test_failures_are_named_by_kind(error, code):
    assert failure_code(Failure(error)) == code


def test_an_http_error_from_scrapy_is_an_http_status_failure():
    response = HtmlResponse("http://x/", status=302, body=b"", request=scrapy.Request("http://x/"))
    assert failure_code(Failure(HttpError(response, "Ignoring non-200 response"))) == "http_status"


def test_a_list_page_whose_charset_lies_still_finds_its_next_page(spider):
    # The header says UTF-8, the bytes are GB18030: read as declared, 下一页 is mojibake and the walk would end.
    text = (FIXTURES / "list-1.html").read_bytes().decode("utf-8")
    body = text.replace('charset="utf-8"', 'charset="utf-8"').encode("gb18030")
    output = walk(spider, list_response(1, body))
    assert [r.url for r in requests_of(output, "parse_list")] == [
        MIRROR + "/xwfbHtml/wangqihuigu/index_1.html"
    ]
    assert len(requests_of(output, "parse_detail")) == qd_press.PAGE_SIZE
    assert not spider.list_failed


def test_a_walk_that_ends_before_the_page_count_the_list_declares_fails(spider):
    body = (FIXTURES / "list-1.html").read_bytes().replace("下一页".encode(), "更多".encode())
    output = walk(spider, list_response(1, body))
    assert requests_of(output, "parse_list") == []
    assert len(requests_of(output, "parse_detail")) == qd_press.PAGE_SIZE
    assert spider.list_failed and not spider.reached_end
    assert [e["code"] for e in spider.errors] == ["list_cut_short"]


def test_the_last_list_page_ends_the_walk_and_the_archive_is_walked(spider):
    url = MIRROR + qd_press.list_path(4)
    request = scrapy.Request(url, meta={"pressmon_kind": "list"}, cb_kwargs={"page": 4})
    body = (FIXTURES / "list-last.html").read_bytes()
    output = walk(spider, HtmlResponse(url, status=200, headers=HTML, body=body, request=request))
    assert requests_of(output, "parse_list") == [] and requests_of(output, "parse_detail")
    assert spider.reached_end and not spider.list_failed


class ScriptRedirects(Qdfb):
    """A family whose detail pages may send the reader on by script, as some CMS templates do."""

    def detail_redirect(self, source, url, text):
        match = re.search(r"location\.href\s*=\s*'([^']+)'", text)
        return urljoin(url, match.group(1)) if match else None


def detail_response(url: str, body: bytes, key: str = "K") -> HtmlResponse:
    request = scrapy.Request(url, meta={"pressmon_kind": "detail", "pressmon_key": key})
    return HtmlResponse(url, status=200, headers=HTML, body=body, request=request)


def test_a_script_redirect_on_a_detail_page_is_followed_and_only_the_final_page_stored(spider):
    spider.family = ScriptRedirects()
    first = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    hop = b"<html><script>location.href='/xwfbHtml/wangqihuigu/2023/0224/1207.html'</script></html>"
    (request,) = spider.parse_detail(detail_response(first, hop))
    assert isinstance(request, scrapy.Request)
    assert request.url == MIRROR + "/xwfbHtml/wangqihuigu/2023/0224/1207.html"
    assert request.meta["pressmon_key"] == "K" and request.meta["pressmon_first_url"] == first
    final = HtmlResponse(
        request.url,
        status=200,
        headers=HTML,
        body=(FIXTURES / "detail-1206.html").read_bytes(),
        request=request,
    )
    (item,) = spider.parse_detail(final)
    assert isinstance(item, RawPage)
    assert (item["url"], item["final_url"], item["owed_key"]) == (first, request.url, "K")
    assert item["canonical_url"] == REAL + "/xwfbHtml/wangqihuigu/2023/0224/1207.html"


def test_a_script_redirect_off_the_source_is_refused_and_stays_owed(spider):
    spider.family = ScriptRedirects()
    url = MIRROR + "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    body = b"<html><script>location.href='http://127.0.0.2/phish.html'</script></html>"
    (failure,) = spider.parse_detail(detail_response(url, body))
    assert isinstance(failure, FetchFailure) and failure["code"] == "redirect_refused"
    assert [e["code"] for e in spider.errors] == ["redirect_refused"]


def test_requests_carry_the_source_headers(monkeypatch):
    spider = SourceSpider(source="qd_press", base_url=MIRROR, run_id=None)
    spider.source = dataclasses.replace(spider.source, headers={"Referer": "http://qdfb.example/"})
    request = spider._detail_request(MIRROR + "/a.html", "K")
    assert request.headers.get("Referer") == b"http://qdfb.example/"
