"""TRS WCM sites: static list pages numbered from 0, the page count in an inline pager script.

Most ministries and many provincial and city portals publish with TRS WCM. A list section is a folder:
page 0 is `index.html` (or the folder itself), page k is `index_k.html`; the page's own script says how many
pages there are, in one of the forms `createPageHTML(N, 0, "index", "html")`, `var countPage = N` or
`countPage=N` (with `currentPage`, 0-based). Detail pages live under the section as
`YYYYMM/tYYYYMMDD_ID.html` (or `.shtml`, `.htm`), linked from the list by relative hrefs (`./…`, `../../…`),
and carry the TRS meta tags ArticleTitle, PubDate and ContentSource.

Schemes:
    trs_index   the numbered pages the pager script announces; none past the last.
    next_link   the page's 下一页 link (sites whose pager is a plain link).
    none        one page only.

Options (a source's `[options]`):
    js_redirect = true   some detail entries are only a script sending the reader on (MOFCOM's press
                         conferences: `window.location.href='…'`, `_cofing1={href:"…"`); follow them.
    cookie_from = "/"    the site sits behind an anti-bot gate (WZWS) that answers 403 until a cookie it sets
                         on this page is sent back: the walk starts with a `prime` request for it.
    page_ext = "shtml"   the extension of the numbered pages when neither the list URL (a folder) nor the pager
                         call names one; "html" when unset.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from parsers.hints import PageHints
from pressmon.sources.families.base import WEB_SCHEMES, Family, ListPage, PageRequest

if TYPE_CHECKING:
    from pressmon.sources import Source

# createPageHTML(count, current, "index", "html"); newer templates put the pager element's id first.
CREATE_PAGE_HTML = re.compile(
    r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?['\"]?(\d+)['\"]?\s*,\s*['\"]?\d+['\"]?"
    r"(?:\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"])?"
)
COUNT_PAGE = re.compile(r"\bcountPage\s*=\s*['\"]?(\d+)")
# index.html, index_3.shtml: the page's name, its number (none for page 0) and its extension.
PAGE_FILE = re.compile(r"^(?P<name>[A-Za-z]\w*?)(?:_(?P<number>\d+))?\.(?P<ext>s?html?)$")
DEFAULT_PAGE_FILE = ("index", "html")
# A script whose only job is to send the reader to the real page; a literal followed by `+` is a
# search box or a link builder, not a redirect.
JS_REDIRECTS = (
    re.compile(r"_cofing1\s*=\s*\{\s*href\s*:\s*\"([^\"]+)\""),
    re.compile(r"(?:window\.|self\.|top\.)?location(?:\.href)?\s*=\s*(['\"])([^'\"]+)\1(?!\s*\+)"),
)


class Trs(Family):
    name = "trs"
    schemes = frozenset({"trs_index", "next_link", "none"})
    default_hints = PageHints(
        title="meta[name=ArticleTitle]",
        date="meta[name=PubDate]",
        publisher="meta[name=ContentSource]",
        body=".TRS_Editor, .TRS_UEDITOR, .trs_paper_default",
    )

    # -- requests -----------------------------------------------------------------------------------------

    def first_requests(self, source: Source, base_url: str | None = None) -> list[PageRequest]:
        """The first list page of each section, or the page that sets the anti-bot cookie first."""
        cookie_from = source.options.get("cookie_from")
        if cookie_from:
            root = (base_url or source.base_url).rstrip("/")
            headers = MappingProxyType(dict(source.headers))
            return [PageRequest(f"{root}/{str(cookie_from).lstrip('/')}", 0, headers, prime=True)]
        return super().first_requests(source, base_url)

    # -- list pages ---------------------------------------------------------------------------------------

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        if request.prime:
            parts = urlsplit(url)
            root = f"{parts.scheme}://{parts.netloc}"
            mirror = None if root == source.base_url.rstrip("/") else root
            return ListPage(next=tuple(super().first_requests(source, mirror)))
        soup = BeautifulSoup(text, "html.parser")
        items = tuple(self.html_items(source, url, soup))
        count = page_count(text)
        if source.pagination == "trs_index":
            return ListPage(items, tuple(self.index_requests(source, request, url, text, count)), count)
        return ListPage(items, tuple(self.next_requests(source, request, url, text, soup)), count)

    def index_requests(
        self, source: Source, request: PageRequest, url: str, text: str, count: int | None
    ) -> list[PageRequest]:
        """The next numbered page after the one at `url`, while the pager says there is one."""
        if count is None:
            return []
        name, number, ext = page_file(url, text, str(source.options.get("page_ext", DEFAULT_PAGE_FILE[1])))
        if number + 1 >= count:
            return []
        following = urljoin(url, f"{name}_{number + 1}.{ext}")
        return [replace(request, url=following, page=request.page + 1)]

    # -- detail pages -------------------------------------------------------------------------------------

    def detail_redirect(self, source: Source, url: str, text: str) -> str | None:
        """Where a MOFCOM-style JS redirect entry sends the reader, when the source says it has them."""
        if not source.options.get("js_redirect"):
            return None
        # Only scripts: the same words in a comment or in the text are no redirect.
        scripts = "\n".join(s.get_text() for s in BeautifulSoup(text, "html.parser").find_all("script"))
        for pattern in JS_REDIRECTS:
            match = pattern.search(scripts)
            if match:
                target = urljoin(url, match.group(match.lastindex or 1).strip())
                if urlsplit(target).scheme in WEB_SCHEMES and target != url:
                    return target
        return None


def page_count(text: str) -> int | None:
    """The number of list pages the pager script announces, if it announces one."""
    for pattern in (CREATE_PAGE_HTML, COUNT_PAGE):
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def page_file(url: str, text: str, ext: str = DEFAULT_PAGE_FILE[1]) -> tuple[str, int, str]:
    """The list page's file name stem, its 0-based number and its extension (`index`, 2, `shtml`).

    A section's folder URL (`…/xwfb/`) is its page 0; the pager's own arguments name the files when the URL
    does not (`createPageHTML(5, 0, "index", "shtml")`), else `ext`.
    """
    name = DEFAULT_PAGE_FILE[0]
    created = CREATE_PAGE_HTML.search(text)
    if created and created.group(2):
        name, ext = created.group(2), created.group(3)
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    match = PAGE_FILE.match(last)
    if not match:
        return name, 0, ext
    return match["name"], int(match["number"] or 0), match["ext"]


FAMILY = Trs()
