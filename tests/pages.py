"""Build raw pages from the offline site's release data, for tests that start after the crawl."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit, urlunsplit

from parsers.urls import canonical_url
from pressmon.offline.qd_press import (
    RELEASES_DIR,
    Release,
    detail_path,
    load_releases,
    real_url,
    render_detail_page,
)

# The real site, as declared (pressmon/sources/registry/qd_press.toml), and as canonical URLs spell it.
REAL_BASE = real_url("")
CANONICAL_BASE = canonical_url(real_url("/")).rstrip("/")


def releases() -> dict[int, Release]:
    return {r.id: r for r in load_releases(RELEASES_DIR)}


def page_url(release: Release, scheme: str = "http") -> str:
    return urlunsplit((scheme, urlsplit(REAL_BASE).netloc, detail_path(release), "", ""))


def add_page(
    store,
    release: Release,
    *,
    url: str | None = None,
    views: int = 100,
    body: bytes | None = None,
    status: int = 200,
    source: str = "qd_press",
    charset: str = "utf-8",
) -> int:
    """Store a rendered detail page of a release as a pending raw page; return its id."""
    url = url or page_url(release)
    html = body if body is not None else render_detail_page(release, views=views).encode(charset)
    return store.add_raw_page(
        source=source,
        run_id=None,
        kind="detail",
        url=url,
        final_url=url,
        canonical_url=canonical_url(url),
        status=status,
        headers={"Content-Type": [f"text/html; charset={charset}"]},
        body=html,
        process_state="pending" if status == 200 else "failed",
        process_error=None if status == 200 else f"HTTP {status}",
    )


def edited(release: Release, **changes) -> Release:
    return dataclasses.replace(release, **changes)
