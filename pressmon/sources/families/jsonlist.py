"""Lists served as JSON: a list request's text is the JSON document; the rows sit at a declared path.

Schemes:
- `buildstatic` (JCMS "jpaas" sites such as www.miit.gov.cn): the list page is an HTML shell with no rows and a
  `<script parseType="buildstatic" url="…" querydata="{…}">`. Its parse returns one request: site root + `url`,
  the querydata (a JS object in single quotes) as query parameters, plus `paramJson={"pageNo":N,"pageSize":S}`
  (`options.page_size`), sent with the shell as Referer. The JSON answer holds an HTML fragment at
  `options.html` (default `data.html`) whose rows the source's `items` CSS selector finds. The next page asks
  for pageNo+1 until `options.total` (a JSON path to the record count) says the end, or, without it, until a
  page comes back short.
- `json_page` (e.g. the www.gov.cn policy library, `…/search-gov/data?…&p=1&n=20`): the source's `items` is a
  dotted JSON path to the rows (`*` walks every member of an object: `searchVO.catMap.*.listVO`); each row's
  link, title and date are the fields `options.url_field`, `title_field`, `date_field` (a date may be a
  millisecond timestamp). The page parameter `options.page_param` (default `p`) goes up by one until the totals
  at `options.total` divided by the page size (`options.size_param`, default `n`) say the end, or a short page.
- `none`: one JSON document holds the whole list (`items = "."` for a top-level array).
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from pressmon.sources.families.base import DATE, WEB_SCHEMES, Family, ListItem, ListPage, PageRequest

if TYPE_CHECKING:
    from pressmon.sources import Source

CHINA_TIME = timedelta(hours=8)
JSON_HEADERS = {
    "Accept": "application/json, text/javascript, */*; q=0.01",
    "X-Requested-With": "XMLHttpRequest",
}
# Longer queries (the jpaas parameters run to ~300 characters) would make file names past the 255-byte limit.
MAX_QUERY_IN_PATH = 120


class ListPageError(ValueError):
    """A list page that does not hold what its family expects (no JSON, no buildstatic script)."""


class JsonList(Family):
    name = "jsonlist"
    schemes = frozenset({"buildstatic", "json_page", "none"})

    def parse_list(self, source: Source, request: PageRequest, url: str, text: str) -> ListPage:
        if source.pagination == "buildstatic" and not text.lstrip().startswith(("{", "[")):
            return ListPage(next=(shell_request(source, request, url, text),))
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ListPageError(f"{source.code}: {url} is not JSON: {error}") from None
        if source.pagination == "buildstatic":
            return fragment_page(source, request, url, data)
        rows = [row for row in json_path(data, source.items or ".") if isinstance(row, Mapping)]
        items = tuple(item for row in rows if (item := json_item(source, url, row)))
        if source.pagination != "json_page":
            return ListPage(items)
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        size = _int(params.get(str(source.options.get("size_param", "n"))))
        count = _page_count(source, data, size)
        following = ()
        if _more(request.page, count, len(rows), size):
            params[str(source.options.get("page_param", "p"))] = str(request.page + 1)
            following = (replace(request, url=_with_query(request.url, params), page=request.page + 1),)
        return ListPage(items, following, count)

    def offline_path(self, url: str) -> str:
        """As the base family's, but a long query is named by a digest of its sorted parameters."""
        parts = urlsplit(url)
        if len(parts.query) <= MAX_QUERY_IN_PATH:
            return super().offline_path(url)
        canonical = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
        return f"{super().offline_path(urlunsplit((*parts[:3], '', '')))}@{digest}"


def shell_request(source: Source, request: PageRequest, url: str, text: str) -> PageRequest:
    """The JSON request a buildstatic shell page describes, for its first page."""
    soup = BeautifulSoup(text, "html.parser")
    script = soup.find("script", attrs={"parsetype": "buildstatic"})
    if not isinstance(script, Tag) or not script.get("url") or not script.get("querydata"):
        raise ListPageError(f"{source.code}: {url} has no buildstatic script")
    query = querydata(str(script["querydata"]))
    query["paramJson"] = _param_json(query.get("paramJson"), 1, _page_size(source))
    parts = urlsplit(url)
    endpoint = urljoin(f"{parts.scheme}://{parts.netloc}/", str(script["url"]).strip())
    headers = {**request.headers, **JSON_HEADERS, "Referer": url}
    return PageRequest(_with_query(endpoint, query), 1, MappingProxyType(headers))


def fragment_page(source: Source, request: PageRequest, url: str, data: Any) -> ListPage:
    """The rows of a buildstatic JSON answer (an HTML fragment) and the request for its next page."""
    fragments = list(json_path(data, str(source.options.get("html", "data.html"))))
    if not fragments or not isinstance(fragments[0], str):
        raise ListPageError(f"{source.code}: {url} holds no HTML fragment")
    soup = BeautifulSoup(fragments[0], "html.parser")
    base = request.headers.get("Referer") or url
    rows = soup.select(source.items or "ul li")
    items = []
    for row in rows:
        link = row if row.name == "a" else row.find("a", href=True)
        if not isinstance(link, Tag) or not link.get("href"):
            continue
        href = urljoin(base, str(link["href"]).strip())
        if urlsplit(href).scheme not in WEB_SCHEMES or not source.is_detail(href):
            continue
        title = str(link.get("title") or "").strip() or link.get_text(" ", strip=True) or None
        items.append(ListItem(href, title, _date_in(row.get_text(" ", strip=True))))
    size = _page_size(source)
    count = _page_count(source, data, size)
    following = ()
    if _more(request.page, count, len(rows), size):
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        params["paramJson"] = _param_json(params.get("paramJson"), request.page + 1, size)
        following = (replace(request, url=_with_query(request.url, params), page=request.page + 1),)
    return ListPage(tuple(items), following, count)


def json_item(source: Source, url: str, row: Mapping[str, Any]) -> ListItem | None:
    """A JSON row as a list item, if its link is a detail page of the source."""
    link = row.get(str(source.options.get("url_field", "url")))
    if not isinstance(link, str) or not link.strip():
        return None
    href = urljoin(url, link.strip())
    if urlsplit(href).scheme not in WEB_SCHEMES or not source.is_detail(href):
        return None
    title = row.get(str(source.options.get("title_field", "title")))
    title = BeautifulSoup(title, "html.parser").get_text(" ", strip=True) if isinstance(title, str) else None
    return ListItem(href, title or None, row_date(row.get(str(source.options.get("date_field", "ptime")))))


def querydata(value: str) -> dict[str, str]:
    """The parameters of a buildstatic `querydata` attribute, a JS object literal written in single quotes."""
    try:
        # Quoted keys and string values in single quotes read as a Python literal, even with JSON inside.
        data = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        try:
            data = json.loads(value.replace("'", '"'))
        except ValueError as error:
            raise ListPageError(f"querydata is not an object literal: {error}") from None
    if not isinstance(data, dict):
        raise ListPageError("querydata is not an object literal")
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in data.items()
    }


def json_path(data: Any, path: str) -> Iterator[Any]:
    """The values at a dotted path; `*` stands for every member of an object (or element of an array)."""
    nodes = [data]
    for key in (k for k in path.split(".") if k):
        found = []
        for node in nodes:
            if key == "*":
                found.extend(
                    node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else []
                )
            elif isinstance(node, Mapping) and key in node:
                found.append(node[key])
        nodes = found
    for node in nodes:
        yield from node if isinstance(node, list) else [node]


def row_date(value: Any) -> date | None:
    """A row's date: a millisecond (or second) timestamp, in China time, or a written date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        seconds = value / 1000 if value > 10**11 else value
        return (datetime.fromtimestamp(seconds, UTC) + CHINA_TIME).date()
    return _date_in(value) if isinstance(value, str) else None


def _date_in(text: str) -> date | None:
    match = DATE.search(text)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _page_count(source: Source, data: Any, size: int | None) -> int | None:
    path = source.options.get("total")
    totals = [t for t in json_path(data, str(path)) if isinstance(t, int)] if path else []
    if not totals or not size:
        return None
    return max(1, math.ceil(max(totals) / size))


def _more(page: int, count: int | None, rows: int, size: int | None) -> bool:
    if count is not None:
        return page < count
    return rows > 0 and size is not None and rows >= size


def _page_size(source: Source) -> int:
    size = source.options.get("page_size", 15)
    return size if isinstance(size, int) and size > 0 else 15


def _param_json(current: str | None, page: int, size: int) -> str:
    try:
        value = json.loads(current) if current else {}
    except ValueError:
        value = {}
    value = value if isinstance(value, dict) else {}
    value.update(pageNo=page, pageSize=size)
    return json.dumps(value, separators=(",", ":"))


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    return urlunsplit((*parts[:3], urlencode(dict(params)), ""))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


FAMILY = JsonList()
