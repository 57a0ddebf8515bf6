"""Distinct copies of the offline site's detail pages: what the processing benchmark and the worker tests load.

Each release is rendered in several variants (another view counter, one sentence changed), so every page is
its own copy and the variants of one release are near-duplicates of each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from parsers.urls import canonical_url
from pressmon.offline import qd_press
from pressmon.offline.qd_press import detail_path, load_releases, real_url, render_detail_page
from pressmon.store import Store


def iter_variants(copies: int) -> Iterator[tuple[str, bytes, str]]:
    """Yield (url, page bytes, body text) for every offline release in `copies` distinct variants."""
    for release in load_releases(qd_press.RELEASES_DIR):
        for n in range(copies):
            paragraphs = list(release.paragraphs)
            paragraphs[len(paragraphs) // 2] += f"（第{n}次更新）"
            variant = dataclasses.replace(release, paragraphs=tuple(paragraphs))
            url = f"{real_url(detail_path(release))}?v={n}"
            yield url, render_detail_page(variant, views=release.views + n).encode(), "\n".join(paragraphs)


def add_pages(store: Store, pages: Iterable[tuple[str, bytes, str]], source: str = "qd_press") -> None:
    """Store pages as pending detail pages of a source, as a crawl would."""
    for page_url, body, _ in pages:
        store.add_raw_page(
            source=source,
            run_id=None,
            kind="detail",
            url=page_url,
            final_url=page_url,
            canonical_url=canonical_url(page_url),
            status=200,
            headers={"Content-Type": ["text/html; charset=utf-8"]},
            body=body,
            process_state="pending",
        )
