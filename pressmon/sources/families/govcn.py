"""www.gov.cn (中国政府网): static HTML lists on the portal's TRS WCM templates, articles `…/content_N.htm`.

List rows: 要闻 `.news_box .list li:not(.line)`, 部门政务 `.infolist li` (the source declares which). Pagination
scheme `index_n`: the first page is `index.htm`, the next ones `index_1.htm`, `index_2.htm` … with the page
count in an inline script (`var countPage = N` or `createPageHTML(N, …)`), the TRS way; `next_link` (a 下一页
link) and `none` are also offered.

Detail pages: the publish time is `<meta name="firstpublishedtime">` (written `YYYY-MM-DD HH:mm:ss` or
`YYYY-MM-DD-HH:mm:ss`); `lastmodifiedtime` is the last revision, not publication. The visible line
`.pages-date` holds "YYYY-MM-DD HH:mm 来源：…" once the print/share widget `.pages_print` is removed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from parsers.hints import PageHints
from pressmon.sources.families.base import Family, ListPage, PageRequest

if TYPE_CHECKING:
    from pressmon.sources import Source

PAGE_COUNT = re.compile(r"(?:\bcountPage\s*=\s*|createPageHTML\(\s*['\"]?)(\d+)")
INDEX_PAGE = re.compile(r"^(?P<stem>.*/[a-z]+)(?:_(?P<n>\d+))?\.(?P<ext>html?|shtml)$")


class GovCn(Family):
    name = "govcn"
    schemes = frozenset({"index_n", "next_link", "none"})
    default_items = ".news_box .list li:not(.line), .infolist li"
    default_hints = PageHints(
        title="h1",
        date="meta[name=firstpublishedtime]",
        body="#UCAP-CONTENT, .pages_content",
        drop=(".shuzi", "#myFlash", ".pages_print"),
    )

    def next_requests(
        self, source: Source, request: PageRequest, url: str, text: str, soup: BeautifulSoup
    ) -> list[PageRequest]:
        if source.pagination != "index_n":
            return super().next_requests(source, request, url, text, soup)
        count = page_count(text)
        # Page numbers in the file names are 0-based and page 0 has no suffix: page p is index_{p-1}.
        if count is None or request.page >= count:
            return []
        parts = urlsplit(url)
        match = INDEX_PAGE.match(parts.path)
        if not match:
            return []
        path = f"{match['stem']}_{request.page}.{match['ext']}"
        return [replace(request, url=urljoin(url, path), page=request.page + 1)]

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        page = super().parse_list(source, request, url, text)
        if source.pagination == "index_n":
            return replace(page, page_count=page_count(text))
        return page


def page_count(text: str) -> int | None:
    """The page count a TRS pager script declares, if any."""
    match = PAGE_COUNT.search(text)
    return int(match.group(1)) if match else None


FAMILY = GovCn()
