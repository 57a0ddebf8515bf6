"""Keep every request on the hosts a source is declared on, and say so when a site tries to lead it away."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.response import get_meta_refresh


class RefusedRequest(IgnoreRequest):
    """A request (or a redirect) to a host, scheme or address the source is not declared on."""

    code = "offsite"


class RefusedRedirect(RefusedRequest):
    """A redirect, by Location header or meta refresh, away from the source's declared hosts."""

    code = "redirect_refused"


class HostGuard:
    """Refuse requests and redirects that leave the spider's declared hosts (`spider.allows(url)`).

    Scrapy's own offsite filter drops a redirect to another host silently at scheduling time; refusing it
    here, before the redirect middleware sees the response, hands it to the request's errback instead, so the
    page is recorded as owed with its reason. Placed after RedirectMiddleware in DOWNLOADER_MIDDLEWARES so
    that its process_response runs first.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuard:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        if spider is not None and hasattr(spider, "allows") and not spider.allows(request.url):
            raise RefusedRequest(f"refused request outside the source's hosts: {request.url}")

    def process_response(self, request: Request, response: Response) -> Response:
        spider = self.crawler.spider
        if spider is None or not hasattr(spider, "allows"):
            return response
        target = _redirect_target(request, response)
        if target is not None and not spider.allows(target):
            raise RefusedRedirect(
                f"redirect from {request.url} to {target} refused: not a host of this source"
            )
        return response


def _redirect_target(request: Request, response: Response) -> str | None:
    """Return where a response sends the crawler next (Location or meta refresh), if anywhere."""
    if 300 <= response.status < 400 and "Location" in response.headers:
        location = response.headers["Location"].decode("latin-1").strip()
        return request.url if not location else response.urljoin(location)
    if isinstance(response, HtmlResponse) and response.status == 200:
        _, url = get_meta_refresh(response)
        return url
    return None
