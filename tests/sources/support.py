"""Walk a source's offline fixture files through its family, and read its hand-written expectation file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from parsers.release import ParsedRelease, parse_release
from parsers.tag import Tagger
from parsers.taxonomy import load_scheme
from parsers.urls import canonical_url
from pressmon.sources import Source, get
from pressmon.sources.families import family_of
from pressmon.sources.families.base import ListItem, ListPage, PageRequest

SITES = Path(__file__).resolve().parents[2] / "pressmon" / "offline" / "sites"
EXPECTED = Path(__file__).resolve().parent / "expected"
FIELDS = ("url", "title", "published", "publisher", "body")


@dataclass(frozen=True)
class Walk:
    requests: tuple[PageRequest, ...]
    pages: tuple[ListPage, ...]
    items: tuple[ListItem, ...]


def fixture_text(code: str, url: str) -> str:
    return (SITES / code / family_of(get(code)).offline_path(url)).read_text(encoding="utf-8")


def list_page(code: str, request: PageRequest) -> ListPage:
    source = get(code)
    return family_of(source).parse_list(source, request, request.url, fixture_text(code, request.url))


@cache
def walk(code: str) -> Walk:
    """Every list page of the source's offline site, in crawl order, and the distinct items they link."""
    source = get(code)
    queue = list(family_of(source).first_requests(source))
    requests, pages, items = [], [], {}
    while queue:
        request = queue.pop(0)
        assert len(requests) < 20, f"{code}: the walk does not end"
        page = list_page(code, request)
        requests.append(request)
        pages.append(page)
        items.update({item.url: item for item in page.items if item.url not in items})
        queue.extend(page.next)
    return Walk(tuple(requests), tuple(pages), tuple(items.values()))


@cache
def expected(code: str) -> dict:
    return tomllib.loads((EXPECTED / f"{code}.toml").read_text(encoding="utf-8"))


@cache
def tagger() -> Tagger:
    return Tagger(load_scheme())


@cache
def first_release(code: str) -> ParsedRelease:
    """The first item the walk finds (a JSON list's shell has none), parsed as the pipeline parses a page."""
    url = walk(code).items[0].url
    body = (SITES / code / family_of(get(code)).offline_path(url)).read_bytes()
    return parse_release(body, url, "text/html; charset=utf-8", tagger())


def check_walk(code: str) -> None:
    want, got = expected(code), walk(code)
    assert len(got.requests) == want["list_pages"]
    assert len(got.items) == want["items"]
    source: Source = get(code)
    hosts = {source.host, *source.options.get("detail_hosts", ())}
    for item in got.items:
        assert item.url.startswith(("http://", "https://")) and item.title and item.published, item
        assert item.url.split("/")[2] in hosts and source.is_detail(item.url), item.url
        assert (SITES / code / family_of(source).offline_path(item.url)).is_file(), item.url


def check_first(code: str, field: str) -> None:
    want = expected(code)["first"]
    if field == "url":
        assert canonical_url(walk(code).items[0].url) == want["url"]
        return
    extraction = first_release(code).extraction
    if field == "title":
        assert extraction.title == want["title"]
    elif field == "published":
        assert extraction.published_at == date.fromisoformat(want["published"])
    elif field == "publisher":
        assert extraction.publisher == want["publisher"]
    else:
        for snippet in want["body_contains"]:
            assert snippet in extraction.body
        assert "网站标识码" not in extraction.body and "主办" not in extraction.body


def cases(codes: tuple[str, ...], failing: dict[tuple[str, str], str]) -> list:
    """(code, field) pairs for the first-item tests; known extractor failures are strict xfails."""
    return [
        pytest.param(code, field, marks=pytest.mark.xfail(strict=True, reason=failing[code, field]))
        if (code, field) in failing
        else pytest.param(code, field)
        for code in codes
        for field in FIELDS
    ]
