"""What a source's declaration tells the parsers about its detail pages, as plain data.

Parsers stay pure: they learn a page's CMS family only through these hints, never by importing the registry.
Every field is optional; a hint that matches nothing on a page is ignored and extraction falls back to its
own rules (a template change must degrade to the generic extractor, not to an empty release).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageHints:
    """CSS selectors of a detail page's parts, as a source declares them."""

    title: str | None = None  # the element holding the title, e.g. "h1" or "meta[name=ArticleTitle]"
    date: str | None = (
        None  # the element holding the publication date, e.g. "meta[name=PubDate]", ".pages-date"
    )
    body: str | None = None  # the container of the text, e.g. ".TRS_Editor", "#UCAP-CONTENT"
    publisher: str | None = None  # the element naming the publisher, e.g. "meta[name=ContentSource]"
    drop: tuple[str, ...] = ()  # elements to remove before extraction, e.g. (".pages_print", "#myFlash")


NO_HINTS = PageHints()
