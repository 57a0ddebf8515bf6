"""What every press-release spider does: walk list pages newest first, fetch only detail pages not held yet.

Nothing a list page links is dropped silently: every new detail URL is recorded as owed before it is
requested, and stays owed (fetched again by later runs, whatever the list walk's stop rule says) until a
usable copy is stored or it has failed `PRESSMON_OWED_RETRIES` times. A list walk that cannot be trusted
(blocked, empty, looping, cut off at the ceiling, refused by robots.txt) ends the source's crawl as failed and
never marks its archive as walked.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers.items import FetchFailure, OwedPages, RawPage
from crawlers.middlewares import RefusedRequest
from crawlers.pipelines import store_for
from parsers.blockpage import block_reason
from parsers.decode import decode_html
from parsers.urls import canonical_url
from pressmon.config import Config

NEXT_PAGE_TEXTS = ("下一页", "下页", "后一页", "下一頁")
# Error answers are stored and recorded, not dropped; redirects are followed by Scrapy as usual.
ERROR_STATUSES = list(range(400, 600))
WEB_SCHEMES = frozenset({"http", "https"})


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
        # The hosts this source is declared on: the crawled base URL's only. Redirects, links and <base href>
        # that lead elsewhere (another site, an internal address, file: or ftp:) are refused and recorded.
        self.hosts = frozenset({urlsplit(self.base_url).hostname or ""})
        self.allowed_domains = sorted(self.hosts)
        self.mirrors = (
            {self.base_url: self.default_base_url} if self.base_url != self.default_base_url else {}
        )
        run = run_id or os.environ.get("PRESSMON_RUN_ID")
        self.run_id = int(run) if run else None
        self.recheck = recheck not in (None, "", "0", "false")
        self.errors: list[dict[str, Any]] = []
        self.list_pages_ok = 0
        self.list_failed = False
        self.known_seen = 0
        self.known: set[str] = set()
        self.scheduled: set[str] = set()
        self.list_pages_seen: set[str] = set()
        self.offsite_links = 0
        self.incremental = True
        self.reached_end = False

    def allows(self, url: str) -> bool:
        """Tell whether a URL is on one of the source's declared hosts, over HTTP(S)."""
        parts = urlsplit(url)
        return parts.scheme in WEB_SCHEMES and (parts.hostname or "") in self.hosts

    async def start(self) -> AsyncIterator[scrapy.Request]:
        store = store_for(self)
        for key, url in store.held_detail_urls(self.name):
            self.known.update((key, canonical_url(url, self.mirrors)))
        # Until the archive has been walked to its end once, keep walking past known pages.
        self.incremental = store.archive_walked(self.name)
        owed = store.owed_detail_urls(self.name)
        self.logger.info(
            "%s: %d detail pages already held, %d owed; crawling %s (%s)",
            self.name,
            len(self.known),
            len(owed),
            self.base_url,
            "incremental" if self.incremental else "full walk",
        )
        for path in self.list_paths:
            yield self._list_request(f"{self.base_url}/{path.lstrip('/')}", page=1)
        for key, _ in owed:
            if key not in self.scheduled:
                self.scheduled.add(key)
                yield self._detail_request(self.crawl_url(key), key)

    def crawl_url(self, key: str) -> str:
        """Return where to fetch a page given its canonical URL (on the mirror, when crawling one)."""
        parts = urlsplit(key)
        return f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def _detail_request(self, url: str, key: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_detail,
            errback=self.on_error,
            meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": "detail", "pressmon_key": key},
        )

    def _list_request(self, url: str, page: int) -> scrapy.Request:
        self.list_pages_seen.add(canonical_url(url, self.mirrors))
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"page": page},
            meta={"handle_httpstatus_list": ERROR_STATUSES, "pressmon_kind": "list"},
            dont_filter=True,
        )

    def parse_list(self, response: Response, page: int) -> Iterator[RawPage | OwedPages | scrapy.Request]:
        """Store the list page, schedule new detail pages, and follow pagination until known pages recur."""
        yield self._raw_page(response, "list")
        problem = page_problem(response)
        if problem is not None:
            self.fail_list(response.url, *problem)
            return
        self.list_pages_ok += 1
        response = decoded_as_parsers_do(response)
        links = self.detail_links(response)
        if not links:
            self.fail_list(response.url, "empty_list", f"list page {page} links to no detail pages")
            return
        overlap = self.config.crawl_overlap
        new: list[tuple[str, str]] = []
        for url in links:
            key = canonical_url(url, self.mirrors)
            if key in self.scheduled:
                continue
            if key in self.known:
                self.known_seen += 1
                if not (self.recheck and self.known_seen <= overlap):
                    continue
            self.scheduled.add(key)
            new.append((key, url))
        # Owed before requested: a crawl killed now leaves them for the next run, not lost.
        if new:
            yield OwedPages(pages=new)
        for key, url in new:
            yield self._detail_request(url, key)
        if self.incremental and self.known_seen >= max(overlap, 1):
            self.logger.info("%s: reached pages already held on list page %d; stopping", self.name, page)
            return
        next_url = self.next_page(response)
        if next_url is None:
            self.reached_end = True
        elif not self.allows(next_url):
            self.fail_list(
                response.url, "offsite", f"list page {page} continues outside the source: {next_url}"
            )
        elif canonical_url(next_url, self.mirrors) in self.list_pages_seen:
            self.fail_list(
                response.url, "pagination_loop", f"list page {page} links back to a list page: {next_url}"
            )
        elif page >= self.config.max_list_pages:
            self.fail_list(
                response.url, "list_ceiling", f"stopped at the list page limit ({page}) with pages left"
            )
        else:
            yield self._list_request(next_url, page + 1)

    def parse_detail(self, response: Response) -> Iterator[RawPage]:
        """Store the detail page as fetched; parsing happens later, from the database."""
        item = self._raw_page(response, "detail")
        item["owed_key"] = response.meta.get("pressmon_key") or item["canonical_url"]
        item["problem"] = page_problem(response)
        if item["problem"] is not None:
            self.record(response.url, "detail", *item["problem"])
        yield item

    def detail_links(self, response: Response) -> list[str]:
        """Return absolute URLs of detail pages linked from a list page, in page order."""
        links = []
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            if not self.detail_url.search(urlsplit(url).path):
                continue
            if self.allows(url):
                links.append(url)
            else:
                self.offsite_links += 1
        return links

    def next_page(self, response: Response) -> str | None:
        """Return the URL of the next list page, if the page links one."""
        for link in response.css("a"):
            text = "".join(link.css("::text").getall()).strip()
            href = link.attrib.get("href", "").strip()
            if text in NEXT_PAGE_TEXTS and href and not href.startswith(("#", "javascript")):
                return response.urljoin(href)
        return None

    def on_error(self, failure: Failure) -> Iterator[FetchFailure]:
        """Record a request that got no usable response (timeout, truncated, refused, too large) and go on."""
        request = failure.request
        kind = request.meta.get("pressmon_kind")
        code = failure_code(failure)
        reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        self.logger.warning("%s: %s failed: %s", self.name, request.url, reason)
        if kind == "list":
            self.fail_list(request.url, code, reason)
            return
        self.record(request.url, kind, code, reason)
        if kind == "detail":
            key = request.meta.get("pressmon_key") or canonical_url(request.url, self.mirrors)
            yield FetchFailure(key=key, url=request.url, code=code, reason=reason)

    def record(self, url: str | None, kind: str | None, code: str, reason: str) -> None:
        """Add an error to this crawl's outcome."""
        self.errors.append({"url": url, "kind": kind, "code": code, "reason": reason})

    def fail_list(self, url: str, code: str, reason: str) -> None:
        """Record a list walk that cannot be trusted: the source's crawl fails, its archive stays unwalked."""
        self.list_failed = True
        self.record(url, "list", code, reason)
        self.logger.warning("%s: list walk failed at %s: %s", self.name, url, reason)

    def gave_up(self, key: str, attempts: int) -> None:
        self.record(key, "detail", "given_up", f"gave up after {attempts} failed attempts")

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


def decoded_as_parsers_do(response: Response) -> Response:
    """Return the response read with the encoding its bytes really have, not the one it declares.

    A list page that says UTF-8 and sends GB18030 still has ASCII links, but its 下一页 turns to mojibake:
    read as declared, the walk would end on page 1 and call the archive walked.
    """
    if not isinstance(response, TextResponse):
        return response
    content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
    encoding = decode_html(response.body, content_type).encoding
    if codecs.lookup(encoding).name == codecs.lookup(response.encoding).name:
        return response
    return response.replace(encoding=encoding)


def page_problem(response: Response) -> tuple[str, str] | None:
    """Return (code, reason) when a response is not a usable page of the site, else None."""
    blocked = block_reason(response.status, response.body)
    if blocked is not None:
        return "blocked", blocked
    if response.status != 200:
        return "http_status", f"HTTP {response.status}"
    return None


def failure_code(failure: Failure) -> str:
    """Name the kind of a failed download in one word, as run summaries and source health use it."""
    error = failure.value
    message = str(error).lower()
    name = type(error).__name__
    if isinstance(error, RefusedRequest):
        return error.code
    if isinstance(error, IgnoreRequest) and "robots.txt" in message:
        return "robots_disallowed"
    if name == "DownloadCancelledError" or "max size" in message:
        return "too_large"
    if "timeout" in name.lower() or "timed out" in message or "took longer than" in message:
        return "timeout"
    if "dataloss" in name.lower() or "dataloss" in message or "data loss" in message:
        return "truncated"
    if name == "HttpError":
        return "http_status"
    return "connection"
