"""What every CMS family offers the crawler, and the HTML-list behaviour most families share.

A family turns a fetched list page (its decoded text) into the detail links it holds and the requests for the
list pages that follow; it may also point a detail page elsewhere (a JS redirect) and give detail hints. It is
pure: no Scrapy, no network, no database. The generic spider (crawlers/spiders/source.py) does the fetching,
and the offline site serves each source's pages through its family's `offline_path`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from parsers.hints import PageHints

if TYPE_CHECKING:
    from pressmon.sources import Source

NEXT_PAGE_TEXTS = ("下一页", "下页", "后一页", "下一頁", "下一页>", "下一页 >")
DATE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
WEB_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class PageRequest:
    """A list page to fetch: GET `url` with `headers`; `page` is its 1-based number in the section's walk.

    A `prime` request is no list page: it is fetched only for the cookies the site sets (an anti-bot gate such
    as WZWS); its ListPage has no items, only the section's first list pages, to fetch with those cookies.
    """

    url: str
    page: int = 1
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    prime: bool = False


@dataclass(frozen=True)
class ListItem:
    """One detail page a list links, with what the list says about it."""

    url: str
    title: str | None = None
    published: date | None = None


@dataclass(frozen=True)
class ListPage:
    """What a list page holds.

    items: its detail links, in page order (absolute URLs; the spider checks hosts and detail_url).
    next: the list pages to fetch after it (usually one: the next page; none at the end).
    page_count: the number of pages the list says it has, when it says so (TRS countPage, JSON totals).
    """

    items: tuple[ListItem, ...] = ()
    next: tuple[PageRequest, ...] = ()
    page_count: int | None = None


class Family:
    """An HTML list family: items by CSS selector, pagination by scheme. Subclasses add schemes."""

    name: ClassVar[str] = "base"
    schemes: ClassVar[frozenset[str]] = frozenset({"next_link", "none"})
    default_hints: ClassVar[PageHints] = PageHints()
    default_items: ClassVar[str | None] = None

    # -- requests -----------------------------------------------------------------------------------------

    def first_requests(self, source: Source, base_url: str | None = None) -> list[PageRequest]:
        """The first page of each list section (on `base_url` when crawling a mirror)."""
        headers = MappingProxyType(dict(source.headers))
        return [PageRequest(url, 1, headers) for url in source.list_urls(base_url)]

    # -- list pages ---------------------------------------------------------------------------------------

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        """Return the items and next pages of a list page fetched for `request` (final URL `url`)."""
        soup = BeautifulSoup(text, "html.parser")
        items = tuple(self.html_items(source, url, soup))
        return ListPage(items=items, next=tuple(self.next_requests(source, request, url, text, soup)))

    def html_items(self, source: Source, url: str, soup: BeautifulSoup) -> list[ListItem]:
        """Items by the source's selector (or the family's default), else every link matching detail_url."""
        selector = source.items or self.default_items
        url = base_href(url, soup)
        found = []
        elements = soup.select(selector) if selector else soup.find_all("a")
        for element in elements:
            link = element if element.name == "a" else element.find("a", href=True)
            if not isinstance(link, Tag) or not link.get("href"):
                continue
            href = urljoin(url, str(link["href"]).strip())
            if urlsplit(href).scheme not in WEB_SCHEMES or not source.is_detail(href):
                continue
            title = str(link.get("title") or "").strip() or link.get_text(" ", strip=True) or None
            found.append(ListItem(href, title, row_date(element)))
        return found

    def next_requests(
        self, source: Source, request: PageRequest, url: str, text: str, soup: BeautifulSoup
    ) -> list[PageRequest]:
        if source.pagination == "next_link":
            url = base_href(url, soup)
            for link in soup.find_all("a", href=True):
                label = link.get_text("", strip=True)
                href = str(link["href"]).strip()
                if label in NEXT_PAGE_TEXTS and href and not href.startswith(("#", "javascript")):
                    return [replace(request, url=urljoin(url, href), page=request.page + 1)]
        return []

    # -- detail pages -------------------------------------------------------------------------------------

    def detail_redirect(self, source: Source, url: str, text: str) -> str | None:
        """The URL a detail page sends the reader on to (a JS redirect), else None."""
        return None

    def hints(self, source: Source) -> PageHints:
        """The family's detail hints, overridden field by field by the source's own."""
        own = {k: v for k, v in vars(source.hints).items() if v not in (None, ())}
        return replace(self.default_hints, **own)

    # -- offline site -------------------------------------------------------------------------------------

    def offline_path(self, url: str) -> str:
        """The file (relative to the source's offline site directory) that answers `url` offline.

        A path ending in / is its index.html; a query string is kept after '@' (`list.html@page=2`).
        """
        parts = urlsplit(url)
        path = parts.path.lstrip("/")
        if not path or path.endswith("/"):
            path += "index.html"
        return f"{path}@{parts.query}" if parts.query else path


def base_href(url: str, soup: BeautifulSoup) -> str:
    """The URL a page's relative links resolve against: its `<base href>` if it has one, else `url`.

    A browser (and Scrapy's response.urljoin) honours <base href>; a link that leaves the site through it must
    be seen as leaving, not be resolved against the page's own host.
    """
    base = soup.find("base", href=True)
    if isinstance(base, Tag) and str(base["href"]).strip():
        return urljoin(url, str(base["href"]).strip())
    return url


def row_date(element: Tag) -> date | None:
    """The first date written in a list row (its text, else its parent row's), if any."""
    for node in (element, element.parent):
        if node is None:
            continue
        match = DATE.search(node.get_text(" ", strip=True))
        if match:
            try:
                return date(*map(int, match.groups()))
            except ValueError:
                return None
    return None
