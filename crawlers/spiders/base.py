"""What every press-release spider does: walk list pages newest first, fetch only detail pages not held yet."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.items import RawPage
from crawlers.pipelines import store_for
from parsers.urls import canonical_url
from pressmon.config import Config

NEXT_PAGE_TEXTS = ("下一页", "下页", "后一页", "下一頁")


class PressReleaseSpider(scrapy.Spider):
    """A source whose list pages link to detail pages matching a URL pattern.

    Subclasses declare: `name` (the source code), `agency` (publisher in full Chinese), `default_base_url`,
    `list_paths` (first list page of each section, relative to the base URL), `detail_url` (pattern of detail
    page paths), and `authority` (higher = more official, used to choose a cluster's canonical copy).
    """

    agency: ClassVar[str]
    default_base_url: ClassVar[str]
    list_paths: ClassVar[tuple[str, ...]]
    detail_url: ClassVar[re.Pattern[str]]
    authority: ClassVar[int] = 50

    def __init__(self, *args: Any, run_id: str | None = None, recheck: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.config = Config.from_env()
        self.base_url = self.config.base_urls.get(self.name, self.default_base_url).rstrip("/")
        self.allowed_domains = [urlsplit(self.base_url).hostname or ""]
        self.mirrors = {self.base_url: self.default_base_url} if self.base_url != self.default_base_url else {}
        run = run_id or os.environ.get("PRESSMON_RUN_ID")
        self.run_id = int(run) if run else None
        self.recheck = recheck not in (None, "", "0", "false")
        self.errors: list[dict[str, Any]] = []
        self.list_pages_ok = 0
        self.known_seen = 0
        self.known: set[str] = set()
        self.scheduled: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.known = store_for(self).known_detail_urls(self.name)
        self.logger.info("%s: %d detail pages already held; crawling %s", self.name, len(self.known), self.base_url)
        for path in self.list_paths:
            yield self._list_request(f"{self.base_url}/{path.lstrip('/')}", page=1)

    def _list_request(self, url: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"page": page},
            meta={"handle_httpstatus_all": True, "pressmon_kind": "list"},
            dont_filter=True,
        )

    def parse_list(self, response: Response, page: int) -> Iterator[RawPage | scrapy.Request]:
        """Store the list page, schedule new detail pages, and follow pagination until known pages recur."""
        yield self._raw_page(response, "list")
        if response.status != 200:
            self.errors.append({"url": response.url, "reason": f"list page answered HTTP {response.status}"})
            return
        self.list_pages_ok += 1
        overlap = self.config.crawl_overlap
        for url in self.detail_links(response):
            key = canonical_url(url, self.mirrors)
            if key in self.scheduled:
                continue
            if key in self.known:
                self.known_seen += 1
                if not (self.recheck and self.known_seen <= overlap):
                    continue
            self.scheduled.add(key)
            yield scrapy.Request(
                url,
                callback=self.parse_detail,
                errback=self.on_error,
                meta={"handle_httpstatus_all": True, "pressmon_kind": "detail"},
            )
        if self.known_seen >= max(overlap, 1):
            self.logger.info("%s: reached pages already held on list page %d; stopping", self.name, page)
            return
        if page >= self.config.max_list_pages:
            self.logger.warning("%s: stopped at the list page limit (%d)", self.name, page)
            return
        next_url = self.next_page(response)
        if next_url:
            yield self._list_request(next_url, page + 1)

    def parse_detail(self, response: Response) -> Iterator[RawPage]:
        """Store the detail page as fetched; parsing happens later, from the database."""
        if response.status != 200:
            self.errors.append({"url": response.url, "reason": f"HTTP {response.status}"})
        yield self._raw_page(response, "detail")

    def detail_links(self, response: Response) -> list[str]:
        """Return absolute URLs of detail pages linked from a list page, in page order."""
        links = []
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if self.detail_url.search(urlsplit(url).path):
                links.append(url)
        return links

    def next_page(self, response: Response) -> str | None:
        """Return the URL of the next list page, if the page links one."""
        for link in response.css("a"):
            text = "".join(link.css("::text").getall()).strip()
            href = link.attrib.get("href", "").strip()
            if text in NEXT_PAGE_TEXTS and href and not href.startswith(("#", "javascript")):
                return response.urljoin(href)
        return None

    def on_error(self, failure: Failure) -> None:
        """Record a request that got no response (timeout, refused, truncated) and go on."""
        request = failure.request
        reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        self.errors.append({"url": request.url, "reason": reason})
        self.logger.warning("%s: %s failed: %s", self.name, request.url, reason)

    def _raw_page(self, response: Response, kind: str) -> RawPage:
        return RawPage(
            kind=kind,
            url=response.request.url if response.request else response.url,
            final_url=response.url,
            canonical_url=canonical_url(response.url, self.mirrors),
            status=response.status,
            headers={
                key.decode("latin-1"): [v.decode("latin-1") for v in values]
                for key, values in response.headers.items()
            },
            body=response.body,
        )
