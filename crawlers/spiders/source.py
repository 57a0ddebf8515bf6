"""The one spider: crawl any declared source by its code (`scrapy crawl source -a source=CODE`).

The source's declaration (pressmon/sources/registry/<code>.toml) says where its lists start and which URLs are
detail pages; its CMS family (pressmon/sources/families/) reads each list page into detail links, the list
pages that follow and, when the list says so, how many pages there are. This spider does the rest, the same
for every source: walk list pages newest first, fetch only detail pages not held yet, store every page as it
came.

Nothing a list page links is dropped silently: every new detail URL is recorded as owed before it is
requested, and stays owed (fetched again by later runs, whatever the list walk's stop rule says) until a
usable copy is stored or it has failed `PRESSMON_OWED_RETRIES` times. A list walk that cannot be trusted
(blocked, empty, looping, cut off at the ceiling, ending before the page count the list declares, refused by
robots.txt) ends the source's crawl as failed and never marks its archive as walked.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers.items import FetchFailure, OwedPages, RawPage
from crawlers.middlewares import RefusedRequest
from crawlers.pipelines import store_for
from parsers.blockpage import block_reason
from parsers.decode import decode_html
from parsers.urls import canonical_url
from pressmon import sources
from pressmon.config import Config
from pressmon.sources.families import family_of
from pressmon.sources.families.base import PageRequest

# Error answers are stored and recorded, not dropped; redirects are followed by Scrapy as usual.
ERROR_STATUSES = list(range(400, 600))
WEB_SCHEMES = frozenset({"http", "https"})
# A detail page that sends the reader on by script is followed this many times at most.
MAX_DETAIL_REDIRECTS = 3
# Where a mirror serves a source's other hosts: <mirror>/_host/<host>/<path> (pressmon.offline.server too).
HOST_PREFIX = "/_host/"


class SourceSpider(scrapy.Spider):
    """Crawl one declared source.

    Args (spider arguments, `-a name=value`):
        source: the source's code in the registry.
        base_url: where to crawl instead of the declared base URL (a mirror); default: the configuration's
            `PRESSMON_BASE_URL_<CODE>`, else the declared one.
        run_id: the crawl run to record into (default: `PRESSMON_RUN_ID`).
        recheck: fetch the first already-held pages again (`PRESSMON_CRAWL_OVERLAP` of them).
    """

    name = "source"

    def __init__(
        self,
        *args: Any,
        source: str | None = None,
        base_url: str | None = None,
        run_id: str | int | None = None,
        recheck: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        if not source:
            raise ValueError("which source? run `scrapy crawl source -a source=CODE`")
        self.source = sources.get(source)
        self.family = family_of(self.source)
        self.code = self.source.code
        self.config = Config.from_env()
        self.overlap = self.config.crawl_overlap
        self.max_list_pages = self.config.max_list_pages
        self.owed_retries = self.config.owed_retries
        declared = self.source.base_url
        self.base_url = (base_url or self.config.base_urls.get(self.code) or declared).rstrip("/")
        # The hosts this source is crawled on: the crawled base URL's only. Redirects, links and <base href>
        # that lead elsewhere (another site, an internal address, file: or ftp:) are refused and recorded.
        # A source may list on one host and publish its detail pages on others (`detail_hosts`): on a mirror
        # those are fetched from the mirror too, under /_host/<host>/, and keep their own host in their keys.
        self.detail_hosts = frozenset(str(h) for h in self.source.options.get("detail_hosts", ()))
        self.declared_host = self.source.host
        self.mirrored = self.base_url != declared
        self.hosts = frozenset({urlsplit(self.base_url).hostname or ""})
        if not self.mirrored:
            self.hosts |= self.detail_hosts
        self.allowed_domains = sorted(self.hosts)
        self.mirrors = (
            {
                **{
                    f"{self.base_url}{HOST_PREFIX}{host}": f"http://{host}"
                    for host in sorted(self.detail_hosts)
                },
                self.base_url: declared,
            }
            if self.mirrored
            else {}
        )
        run = run_id if run_id not in (None, "") else os.environ.get("PRESSMON_RUN_ID")
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
        self.sections = len(self.source.lists)
        self.sections_ended: set[int] = set()
        self.known_in_section: dict[int, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Crawl settings reach the spider as Scrapy settings (crawlers/settings.py fills them from Config).
        settings = crawler.settings
        spider.overlap = settings.getint("PRESSMON_CRAWL_OVERLAP", spider.overlap)
        spider.max_list_pages = settings.getint("PRESSMON_MAX_LIST_PAGES", spider.max_list_pages)
        spider.owed_retries = settings.getint("PRESSMON_OWED_RETRIES", spider.owed_retries)
        return spider

    @property
    def reached_end(self) -> bool:
        """Tell whether every list section was walked to its last page in this crawl."""
        return len(self.sections_ended) == self.sections

    def allows(self, url: str) -> bool:
        """Tell whether a URL is on one of the source's crawled hosts, over HTTP(S)."""
        parts = urlsplit(url)
        return parts.scheme in WEB_SCHEMES and (parts.hostname or "") in self.hosts

    async def start(self) -> AsyncIterator[scrapy.Request]:
        store = store_for(self)
        for key, url in store.held_detail_urls(self.code):
            self.known.update((key, canonical_url(url, self.mirrors)))
        # Until the archive has been walked to its end once, keep walking past known pages.
        self.incremental = store.archive_walked(self.code)
        owed = store.owed_detail_urls(self.code)
        self.logger.info(
            "%s: %d detail pages already held, %d owed; crawling %s (%s)",
            self.code,
            len(self.known),
            len(owed),
            self.base_url,
            "incremental" if self.incremental else "full walk",
        )
        for section, request in enumerate(self.family.first_requests(self.source, self.base_url)):
            yield self._list_request(request, section)
        for key, _ in owed:
            if key not in self.scheduled:
                self.scheduled.add(key)
                yield self._detail_request(self.crawl_url(key), key)

    def crawl_url(self, key: str) -> str:
        """Return where to fetch a page given its canonical URL (on the mirror, when crawling one)."""
        parts = urlsplit(key)
        host = parts.hostname or ""
        if not self.mirrored and host in self.detail_hosts:
            return key
        prefix = f"{HOST_PREFIX}{host}" if host in self.detail_hosts else ""
        return f"{self.base_url}{prefix}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def _detail_request(self, url: str, key: str, hops: int = 0) -> scrapy.Request:
        return scrapy.Request(
            url,
            headers=dict(self.source.headers),
            callback=self.parse_detail,
            errback=self.on_error,
            meta={
                "handle_httpstatus_list": ERROR_STATUSES,
                "pressmon_kind": "detail",
                "pressmon_key": key,
                "pressmon_hops": hops,
            },
        )

    def _list_request(self, request: PageRequest | str, section: int = 0, page: int = 1) -> scrapy.Request:
        if isinstance(request, str):
            request = PageRequest(request, page, self.source.headers)
        self.list_pages_seen.add(canonical_url(request.url, self.mirrors))
        return scrapy.Request(
            request.url,
            headers=dict(request.headers),
            callback=self.parse_list,
            errback=self.on_error,
            cb_kwargs={"page": request.page},
            meta={
                "handle_httpstatus_list": ERROR_STATUSES,
                "pressmon_kind": "list",
                "pressmon_request": request,
                "pressmon_section": section,
            },
            dont_filter=True,
        )

    def parse_list(self, response: Response, page: int) -> Iterator[RawPage | OwedPages | scrapy.Request]:
        """Store the list page, schedule new detail pages, and follow pagination until known pages recur."""
        request = response.meta.get("pressmon_request") or PageRequest(
            response.url, page, self.source.headers
        )
        if not request.prime:  # a gate page fetched for its cookies is no list page of the source
            yield self._raw_page(response, "list")
        problem = page_problem(response)
        if problem is not None:
            self.fail_list(response.url, *problem)
            return
        if request.prime:
            listed = self.family.parse_list(self.source, request, response.url, "")
            for section, following in enumerate(listed.next):
                yield from self._next_list(response.url, page, following, section)
            return
        self.list_pages_ok += 1
        section = response.meta.get("pressmon_section", 0)
        response = decoded_as_parsers_do(response)
        text = (
            response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        )
        listed = self.family.parse_list(self.source, request, response.url, text)
        links = self.detail_links(url for url in (item.url for item in listed.items))
        # A shell page whose rows come from a request of its own (a JSON list behind an HTML page) is no empty
        # list: its follow-up is the same page number.
        shell = any(following.page <= page for following in listed.next)
        if not links and not shell:
            self.fail_list(response.url, "empty_list", f"list page {page} links to no detail pages")
            return
        new: list[tuple[str, str]] = []
        for url in links:
            key = canonical_url(url, self.mirrors)
            if key in self.scheduled:
                continue
            if key in self.known:
                self.known_seen += 1
                self.known_in_section[section] = self.known_in_section.get(section, 0) + 1
                if not (self.recheck and self.known_in_section[section] <= self.overlap):
                    continue
            self.scheduled.add(key)
            new.append((key, url))
        # Owed before requested: a crawl killed now leaves them for the next run, not lost.
        if new:
            yield OwedPages(pages=new)
        for key, url in new:
            yield self._detail_request(url, key)
        if self.incremental and self.known_in_section.get(section, 0) >= max(self.overlap, 1):
            self.logger.info("%s: reached pages already held on list page %d; stopping", self.code, page)
            return
        if not listed.next:
            if listed.page_count is not None and page < listed.page_count:
                self.fail_list(
                    response.url,
                    "list_cut_short",
                    f"list page {page} links no next page, but the list says it has {listed.page_count}",
                )
            else:
                self.sections_ended.add(section)
            return
        for following in listed.next:
            yield from self._next_list(response.url, page, following, section)

    def _next_list(
        self, url: str, page: int, following: PageRequest, section: int
    ) -> Iterator[scrapy.Request]:
        if not self.allows(following.url):
            self.fail_list(url, "offsite", f"list page {page} continues outside the source: {following.url}")
        elif canonical_url(following.url, self.mirrors) in self.list_pages_seen:
            self.fail_list(
                url, "pagination_loop", f"list page {page} links back to a list page: {following.url}"
            )
        elif following.page > self.max_list_pages:
            self.fail_list(
                url, "list_ceiling", f"stopped at the list page limit ({self.max_list_pages}) with pages left"
            )
        else:
            yield self._list_request(following, section)

    def parse_detail(self, response: Response) -> Iterator[RawPage | FetchFailure | scrapy.Request]:
        """Store the detail page as fetched (the page a script redirect leads to); parsing happens later."""
        key = response.meta.get("pressmon_key") or canonical_url(response.url, self.mirrors)
        hops = response.meta.get("pressmon_hops", 0)
        problem = page_problem(response)
        if problem is None and isinstance(response, TextResponse):
            target = self.family.detail_redirect(
                self.source, response.url, decoded_as_parsers_do(response).text
            )
            if target is not None and target != response.url:
                yield from self._follow_redirect(response, key, target, hops)
                return
        item = self._raw_page(response, "detail")
        item["owed_key"] = key
        item["problem"] = problem
        if problem is not None:
            self.record(response.url, "detail", *problem)
        yield item

    def _follow_redirect(
        self, response: Response, key: str, target: str, hops: int
    ) -> Iterator[FetchFailure | scrapy.Request]:
        target = self.on_crawled_host(target)
        if not self.allows(target):
            code, reason = "redirect_refused", f"script redirect from {response.url} to {target} refused"
        elif hops >= MAX_DETAIL_REDIRECTS:
            code, reason = "redirect_loop", f"more than {MAX_DETAIL_REDIRECTS} script redirects from {key}"
        else:
            request = self._detail_request(target, key, hops + 1)
            first = response.meta.get("pressmon_first_url") or response.url
            request.meta["pressmon_first_url"] = first
            yield request
            return
        self.record(response.url, "detail", code, reason)
        yield FetchFailure(key=key, url=response.url, code=code, reason=reason)

    def on_crawled_host(self, url: str) -> str:
        """Return a URL on the declared host moved to the crawled one (a mirror); others unchanged."""
        host = urlsplit(url).hostname or ""
        if self.mirrored and (host == self.declared_host or host in self.detail_hosts):
            return self.crawl_url(canonical_url(url))
        return url

    def detail_links(self, urls: Iterator[str] | list[str]) -> list[str]:
        """Return the detail URLs the source may fetch, in order: on its host and matching detail_url."""
        links = []
        for url in urls:
            if not self.source.is_detail(url):
                continue
            url = self.on_crawled_host(url)
            if self.allows(url):
                links.append(url)
            else:
                self.offsite_links += 1
        return links

    def on_error(self, failure: Failure) -> Iterator[FetchFailure]:
        """Record a request that got no usable response (timeout, truncated, refused, too large) and go on."""
        request = failure.request
        kind = request.meta.get("pressmon_kind")
        code = failure_code(failure)
        reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        self.logger.warning("%s: %s failed: %s", self.code, request.url, reason)
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
        self.logger.warning("%s: list walk failed at %s: %s", self.code, url, reason)

    def gave_up(self, key: str, attempts: int) -> None:
        self.record(key, "detail", "given_up", f"gave up after {attempts} failed attempts")

    def _raw_page(self, response: Response, kind: str) -> RawPage:
        redirects = response.meta.get("redirect_urls") or []
        first = response.meta.get("pressmon_first_url") or (redirects[0] if redirects else response.url)
        return RawPage(
            kind=kind,
            url=first,
            final_url=response.url,
            canonical_url=canonical_url(response.url, self.mirrors),
            status=response.status,
            headers=_headers(response.headers),
            body=response.body,
        )


def _headers(headers: Mapping[bytes, list[bytes]]) -> dict[str, list[str]]:
    return {key.decode("latin-1"): [v.decode("latin-1") for v in values] for key, values in headers.items()}


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
