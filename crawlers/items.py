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
