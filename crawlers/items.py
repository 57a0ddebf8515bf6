"""The one item crawlers produce: a page as fetched."""

from __future__ import annotations

import scrapy


class RawPage(scrapy.Item):
    """A fetched page: bytes, headers, status, final URL, and what kind of page it is."""

    kind = scrapy.Field()  # "list" or "detail"
    url = scrapy.Field()
    final_url = scrapy.Field()
    canonical_url = scrapy.Field()
    status = scrapy.Field()
    headers = scrapy.Field()
    body = scrapy.Field()
    raw_page_id = scrapy.Field()
    owed_key = scrapy.Field()  # detail pages: the canonical URL the list page linked (before redirects)
    problem = scrapy.Field()  # detail pages: (code, reason) when the page is not usable, else None


class OwedPages(scrapy.Item):
    """Detail pages a list page links that are not held yet: (canonical URL, URL) pairs, owed until stored."""

    pages = scrapy.Field()


class FetchFailure(scrapy.Item):
    """A detail page that got no usable response: one more failed attempt at an owed page."""

    key = scrapy.Field()  # the canonical URL the list page linked
    url = scrapy.Field()
    code = scrapy.Field()
    reason = scrapy.Field()
