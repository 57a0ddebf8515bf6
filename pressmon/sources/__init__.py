"""The sources pressmon watches, declared as data: one TOML file per source in `registry/`.

A source is what a crawler needs to know about one section of one site: who publishes it, where its list
pages start, how a list page names its items and its next page (its CMS family and the family's options),
which URLs are detail pages, and what the detail template looks like when the generic extractor needs a hint.
This package does not import Scrapy: the registry is read by the CLI, the DAG, the offline site and the tests
alike, and one generic spider (crawlers/spiders/source.py) runs any source by its code.

Declaration (registry/<code>.toml):

    code = "ndrc_xwfb"                  # the file's name; lower case, digits and _
    agency = "国家发展和改革委员会"        # publisher, in full
    authority = 80                      # 0-100: higher wins a cluster's canonical copy
    family = "trs"                      # pressmon/sources/families/<family>.py
    base_url = "https://www.ndrc.gov.cn"
    lists = ["/xwdt/xwfb/"]             # first list page of each section, relative to base_url
    items = ".u-list li a"              # list item links: a CSS selector (HTML lists) or a dotted JSON path
    pagination = "trs_index"            # one of the family's schemes (see the family's module)
    detail_url = '/xwdt/xwfb/\\d{6}/t\\d{8}_\\d+\\.html$'   # regex searched in a detail page's URL path
    update_days = 7                     # expected gap between releases; `stale` after this, once learned
    verified = true                     # false: structure inferred from the CMS family, not documented
    structure_from = "…"                # where the URL scheme, selectors and pagination come from
    fixtures = "reconstructed"          # or "corpus" (real pages read in place from the shared corpus)
    enabled = true                      # optional; disabled sources are listed but not crawled
    headers = { Referer = "…" }         # optional request headers
    [options]                           # optional, family-specific (e.g. a JSON endpoint's parameters)
    [detail]                            # optional PageHints: title, date, body, publisher, drop
    body = ".TRS_Editor"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from parsers.hints import NO_HINTS, PageHints

REGISTRY_DIR = Path(__file__).parent / "registry"
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
FIXTURE_KINDS = frozenset({"corpus", "reconstructed", "generated"})
_REQUIRED = ("code", "agency", "family", "base_url", "lists", "pagination", "detail_url", "structure_from")
_OPTIONAL = (
    "authority",
    "items",
    "update_days",
    "verified",
    "fixtures",
    "enabled",
    "headers",
    "options",
    "detail",
)
_HINT_FIELDS = frozenset(PageHints.__dataclass_fields__)


class SourceError(ValueError):
    """A declaration that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Source:
    code: str
    agency: str
    family: str
    base_url: str
    lists: tuple[str, ...]
    pagination: str
    detail_url: re.Pattern[str]
    structure_from: str
    authority: int = 50
    items: str | None = None
    update_days: int = 7
    verified: bool = False
    fixtures: str = "reconstructed"
    enabled: bool = True
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    hints: PageHints = NO_HINTS

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    def list_urls(self, base_url: str | None = None) -> list[str]:
        """Return the absolute first list page of each section (on `base_url` when crawling a mirror)."""
        root = (base_url or self.base_url).rstrip("/")
        return [f"{root}/{path.lstrip('/')}" for path in self.lists]

    def is_detail(self, url: str) -> bool:
        return bool(self.detail_url.search(urlsplit(url).path))


def parse(data: Mapping[str, Any], where: str) -> Source:
    """Return the Source a declaration describes, or raise SourceError naming `where` and the field."""
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise SourceError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise SourceError(f"{where}: unknown field(s) {', '.join(unknown)}")

    def text(key: str) -> str:
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise SourceError(f"{where}: {key} must be a non-empty string")
        return value.strip()

    code = text("code")
    if not CODE.match(code):
        raise SourceError(f"{where}: code {code!r} must be lower case letters, digits and _ (2-40)")
    base_url = text("base_url").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
        raise SourceError(f"{where}: base_url {base_url!r} must be an http(s) URL with a host")
    lists = data["lists"]
    if not isinstance(lists, list) or not lists or not all(isinstance(p, str) and p for p in lists):
        raise SourceError(f"{where}: lists must be a non-empty list of paths")
    try:
        detail_url = re.compile(text("detail_url"))
    except re.error as error:
        raise SourceError(f"{where}: detail_url is not a regular expression: {error}") from None
    authority = data.get("authority", 50)
    if not isinstance(authority, int) or not 0 <= authority <= 100:
        raise SourceError(f"{where}: authority must be an integer from 0 to 100")
    update_days = data.get("update_days", 7)
    if not isinstance(update_days, int) or update_days < 1:
        raise SourceError(f"{where}: update_days must be a positive integer")
    fixtures = data.get("fixtures", "reconstructed")
    if fixtures not in FIXTURE_KINDS:
        raise SourceError(f"{where}: fixtures must be one of {', '.join(sorted(FIXTURE_KINDS))}")
    for key in ("verified", "enabled"):
        if key in data and not isinstance(data[key], bool):
            raise SourceError(f"{where}: {key} must be true or false")
    headers = data.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise SourceError(f"{where}: headers must be a table of strings")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise SourceError(f"{where}: options must be a table")
    detail = data.get("detail", {})
    if not isinstance(detail, dict) or set(detail) - _HINT_FIELDS:
        raise SourceError(f"{where}: detail may hold only {', '.join(sorted(_HINT_FIELDS))}")
    hints = PageHints(**{k: (tuple(v) if k == "drop" else v) for k, v in detail.items()})
    items = data.get("items")
    if items is not None and (not isinstance(items, str) or not items.strip()):
        raise SourceError(f"{where}: items must be a non-empty string")
    source = Source(
        code=code,
        agency=text("agency"),
        family=text("family"),
        base_url=base_url,
        lists=tuple(lists),
        pagination=text("pagination"),
        detail_url=detail_url,
        structure_from=text("structure_from"),
        authority=authority,
        items=items,
        update_days=update_days,
        verified=data.get("verified", False),
        fixtures=fixtures,
        enabled=data.get("enabled", True),
        headers=MappingProxyType(dict(headers)),
        options=MappingProxyType(dict(options)),
        hints=hints,
    )
    from pressmon.sources.families import family_of

    try:
        family_of(source)  # an unknown family, or a pagination scheme it does not offer
    except SourceError as error:
        raise SourceError(f"{where}: {str(error).removeprefix(f'{code}: ')}") from None
    return source


def load_file(path: Path) -> Source:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SourceError(f"{path.name}: cannot read: {error}") from None
    source = parse(data, path.name)
    if source.code != path.stem:
        raise SourceError(f"{path.name}: code {source.code!r} differs from the file name")
    return source


@cache
def registry(directory: Path = REGISTRY_DIR) -> Mapping[str, Source]:
    """Return every declared source by code, in code order; raise SourceError on the first bad file."""
    sources = [load_file(path) for path in sorted(directory.glob("*.toml"))]
    return MappingProxyType({s.code: s for s in sources})


def get(code: str) -> Source:
    try:
        return registry()[code]
    except KeyError:
        known = ", ".join(registry()) or "none"
        raise SourceError(f"unknown source {code!r} (declared: {known})") from None
