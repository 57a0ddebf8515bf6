"""Build raw pages from the offline site's release data, for tests that start after the crawl."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from parsers.urls import canonical_url
from pressmon.offline.qd_press import Release, detail_path, load_releases, render_detail_page

RELEASES_DIR = (
    Path(__file__).resolve().parent.parent / "pressmon" / "offline" / "sites" / "qd_press" / "releases"
)
REAL_BASE = "http://qdfb.shiminjia.com"


def releases() -> dict[int, Release]:
    return {r.id: r for r in load_releases(RELEASES_DIR)}


def page_url(release: Release, scheme: str = "http") -> str:
    return f"{scheme}://qdfb.shiminjia.com{detail_path(release)}"


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
