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
# Error answers are stored and recorded, not dropped; redirects are followed by Scrapy as usual.
ERROR_STATUSES = list(range(400, 600))


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
        self.mirrors = (
            {self.base_url: self.default_base_url} if self.base_url != self.default_base_url else {}
        )
        run = run_id or os.environ.get("PRESSMON_RUN_ID")
        self.run_id = int(run) if run else None
        self.recheck = recheck not in (None, "", "0", "false")
        self.errors: list[dict[str, Any]] = []
        self.list_pages_ok = 0
        self.known_seen = 0
        self.known: set[str] = set()
        self.scheduled: set[str] = set()
        self.incremental = True
        self.reached_end = False

    async def start(self) -> AsyncIterator[scrapy.Request]:
        store = store_for(self)
        held = store.known_detail_urls(self.name)
        for url, key in held:
            self.known.update((key, canonical_url(url, self.mirrors)))
        # Until the archive has been walked to its end once, keep walking past known pages.
        self.incremental = store.archive_walked(self.name)
        self.logger.info(
            "%s: %d detail pages already held; crawling %s (%s)",
            self.name,
            len({key for _, key in held}),
            self.base_url,
            "incremental" if self.incremental else "full walk",
        )
        for path in self.list_paths:
            yield self._list_request(f"{self.base_url}/{path.lstrip('/')}", page=1)
        for key in store.failed_detail_urls(self.name):
            self.scheduled.add(key)
            yield self._detail_request(self.crawl_url(key))

    def crawl_url(self, key: str) -> str:
        """Return where to fetch a page given its canonical URL (on the mirror, when crawling one)."""
        parts = urlsplit(key)
        return f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def _detail_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_detail,
            errback=self.on_error,
            meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": "detail"},
        )

    def _list_request(self, url: str, page: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"page": page},
            meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": "list"},
            dont_filter=True,
        )

    def parse_list(self, response: Response, page: int) -> Iterator[RawPage | scrapy.Request]:
        """Store the list page, schedule new detail pages, and follow pagination until known pages recur."""
        yield self._raw_page(response, "list")
        if response.status != 200:
            self.errors.append(
                {"url": response.url, "kind": "list", "reason": f"list page answered HTTP {response.status}"}
            )
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
            yield self._detail_request(url)
        if self.incremental and self.known_seen >= max(overlap, 1):
            self.logger.info("%s: reached pages already held on list page %d; stopping", self.name, page)
            return
        if page >= self.config.max_list_pages:
            self.logger.warning("%s: stopped at the list page limit (%d)", self.name, page)
            return
        next_url = self.next_page(response)
        if next_url:
            yield self._list_request(next_url, page + 1)
        else:
            self.reached_end = True

    def parse_detail(self, response: Response) -> Iterator[RawPage]:
        """Store the detail page as fetched; parsing happens later, from the database."""
        if response.status != 200:
            self.errors.append({"url": response.url, "kind": "detail", "reason": f"HTTP {response.status}"})
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
        self.errors.append({"url": request.url, "kind": request.meta.get("pressmon_kind"), "reason": reason})
        self.logger.warning("%s: %s failed: %s", self.name, request.url, reason)

    def _raw_page(self, response: Response, kind: str) -> RawPage:
        redirects = response.meta.get("redirect_urls") or []
        return RawPage(
            kind=kind,
            url=redirects[0] if redirects else response.url,
            final_url=response.url,
            canonical_url=canonical_url(response.url, self.mirrors),
            status=response.status,
            headers={
                key.decode("latin-1"): [v.decode("latin-1") for v in values]
                for key, values in response.headers.items()
            },
            body=response.body,
        )
