"""The qdfb family: the Qingdao press office's own CMS at qdfb.shiminjia.com (press conferences).

A list page is a `<ul class="list">` of detail links, newest first, with a pager of `index.html`,
`index_1.html`, … whose 下一页 link names the next page and whose `共N页` says how many there are.
The generated offline site (pressmon/offline/qd_press.py) renders this family; it has no static files.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bs4 import BeautifulSoup

from parsers.hints import PageHints
from pressmon.sources.families.base import Family, ListPage, PageRequest

if TYPE_CHECKING:
    from pressmon.sources import Source

PAGE_COUNT = re.compile(r"共\s*(\d+)\s*页")


class Qdfb(Family):
    name = "qdfb"
    schemes = frozenset({"next_link"})
    default_items = ".list li a"
    default_hints = PageHints(
        title=".detail-title", body=".TRS_Editor", drop=(".detail-tools", ".share", ".qrcode", ".prev-next")
    )

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        soup = BeautifulSoup(text, "html.parser")
        pager = soup.select_one(".page .total")
        match = PAGE_COUNT.search(pager.get_text(" ", strip=True)) if pager else None
        return ListPage(
            items=tuple(self.html_items(source, url, soup)),
            next=tuple(self.next_requests(source, request, url, text, soup)),
            page_count=int(match.group(1)) if match else None,
        )


FAMILY = Qdfb()
