"""Hanweb (大汉) JCMS sites: channels `/col/colNNNN/index.html`, articles `/art/YYYY/M/D/art_COLID_ARTID.html`.

A channel page seldom holds its rows as plain HTML. They come in one of two script forms:
- a datastore, `<script type="text/xml"><datastore><recordset><record><![CDATA[<li>…</li>]]></record>…`, each
  record an HTML row (link, title, date), with the totals as `<totalrecord>`/`<totalpage>` or in the pager
  script (`totalRecord`, `perPage`);
- JS assignments, `urls[i]='…';headers[i]="…";year[i]='YYYY';month[i]='MM';day[i]='DD';`.
A page with neither is read as plain HTML rows by the source's selector.

Pagination scheme `hanweb_pagenum`: page N is the channel URL with `?uid=<unit>&pageNum=N`, where the unit is
the id of the element around the datastore (or `options.uid`); the walk stops at the page count the totals
give. Detail pages carry `ArticleTitle`/`PubDate` metas and the body in `#zoom`.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from parsers.hints import PageHints
from pressmon.sources.families.base import WEB_SCHEMES, Family, ListItem, ListPage, PageRequest, row_date

if TYPE_CHECKING:
    from pressmon.sources import Source

RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
ASSIGNMENT = re.compile(
    r"""urls\[i\]\s*=\s*'(?P<url>[^']*)'\s*;\s*headers\[i\]\s*=\s*"(?P<header>(?:[^"\\]|\\.)*)"\s*;"""
    r"""(?:\s*year\[i\]\s*=\s*'(?P<y>\d{4})'\s*;\s*month\[i\]\s*=\s*'(?P<m>\d{1,2})'\s*;"""
    r"""\s*day\[i\]\s*=\s*'(?P<d>\d{1,2})'\s*;)?"""
)
TOTAL_PAGES = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>|\btotalPage\s*[:=]\s*['\"]?(\d+)", re.I)
TOTAL_RECORDS = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|\btotalRecord\s*[:=]\s*['\"]?(\d+)", re.I)
PER_PAGE = re.compile(r"\bperPage\s*[:=]\s*['\"]?(\d+)", re.I)


class Hanweb(Family):
    name = "hanweb"
    schemes = frozenset({"hanweb_pagenum", "next_link", "none"})
    default_hints = PageHints(title="meta[name=ArticleTitle]", date="meta[name=PubDate]", body="#zoom")

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        soup = BeautifulSoup(text, "html.parser")
        items = script_items(source, url, text) or self.html_items(source, url, soup)
        count = page_count(text, source.options.get("per_page"))
        if source.pagination != "hanweb_pagenum":
            return ListPage(tuple(items), tuple(self.next_requests(source, request, url, text, soup)), count)
        uid = str(source.options.get("uid") or unit_id(soup) or "")
        following: tuple[PageRequest, ...] = ()
        if uid and count is not None and request.page < count:
            parts = urlsplit(url)
            query = urlencode({"uid": uid, "pageNum": request.page + 1})
            following = (replace(request, url=urlunsplit((*parts[:3], query, "")), page=request.page + 1),)
        return ListPage(tuple(items), following, count)


def script_items(source: Source, url: str, text: str) -> list[ListItem]:
    """The rows a channel page embeds in a datastore or in `urls[i]=` assignments, in page order."""
    found: list[ListItem] = []
    for fragment in RECORD.findall(text):
        row = BeautifulSoup(fragment, "html.parser")
        link = row.find("a", href=True)
        if isinstance(link, Tag):
            title = str(link.get("title") or "").strip() or link.get_text(" ", strip=True) or None
            found.append(ListItem(str(link["href"]).strip(), title, row_date(link)))
    for match in ASSIGNMENT.finditer(text):
        header = BeautifulSoup(match["header"].replace('\\"', '"'), "html.parser")
        link = header.find("a")
        title = (str(link.get("title") or "") if isinstance(link, Tag) else "").strip()
        title = title or header.get_text(" ", strip=True) or None
        published = date(int(match["y"]), int(match["m"]), int(match["d"])) if match["y"] else None
        found.append(ListItem(match["url"].strip(), title, published))
    items = []
    for item in found:
        href = urljoin(url, item.url)
        if urlsplit(href).scheme in WEB_SCHEMES and source.is_detail(href):
            items.append(replace(item, url=href))
    return items


def page_count(text: str, per_page: object = None) -> int | None:
    """The number of pages the datastore or pager script declares, if it does."""
    if match := TOTAL_PAGES.search(text):
        return int(match.group(1) or match.group(2))
    records = TOTAL_RECORDS.search(text)
    size = per_page if isinstance(per_page, int) else None
    if size is None and (found := PER_PAGE.search(text)):
        size = int(found.group(1))
    if records and size:
        return max(1, math.ceil(int(records.group(1) or records.group(2)) / size))
    return None


def unit_id(soup: BeautifulSoup) -> str | None:
    """The id of the element around the rows' script (datastore or assignments): the paging requests' `uid`."""
    for script in soup.find_all("script"):
        if script.get("type") == "text/xml" or "urls[i]" in script.get_text():
            parent = script.find_parent(id=True)
            if parent is not None:
                return str(parent["id"])
    return None


FAMILY = Hanweb()
