"""Processing throughput on one core, beside bare jieba on the same texts (`make bench-process`).

Raw pages: the offline site's 47 detail pages, each rendered in several variants (other view counter, one
sentence changed) so every page is a distinct copy, loaded into a scratch database. pressmon's rate is the
whole `pressmon.steps.process` step (decode, extract, normalise, fingerprint, tag, cluster, load) in releases
per second; the baseline is `jieba.lcut` over the same release bodies. The last line is machine-readable:
summary: ratio=<pressmon releases/s ÷ bare jieba releases/s>.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import jieba

from parsers.urls import canonical_url
from pressmon import steps
from pressmon.config import Config
from pressmon.offline import qd_press
from pressmon.offline.qd_press import detail_path, load_releases, real_url, render_detail_page
from pressmon.store import Store

ROOT = Path(__file__).resolve().parent.parent
RELEASES = qd_press.RELEASES_DIR


def variants(copies: int) -> list[tuple[str, bytes, str]]:
    """Return (url, page bytes, body text) for every release in `copies` distinct variants."""
    pages = []
    for release in load_releases(RELEASES):
        for n in range(copies):
            paragraphs = list(release.paragraphs)
            paragraphs[len(paragraphs) // 2] += f"（第{n}次更新）"
            variant = dataclasses.replace(release, paragraphs=tuple(paragraphs))
            url = f"{real_url(detail_path(release))}?v={n}"
            pages.append(
                (url, render_detail_page(variant, views=release.views + n).encode(), "\n".join(paragraphs))
            )
    return pages


def jieba_rate(bodies: list[str], repeats: int) -> float:
    jieba.initialize()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for body in bodies:
            jieba.lcut(body)
        rates.append(len(bodies) / (time.perf_counter() - start))
    return max(rates)


def pressmon_rate(pages: list[tuple[str, bytes, str]], url: str) -> tuple[float, dict[str, int]]:
    config = Config(database_url=url, batch_size=100)
    with Store.open(config) as store:
        steps.prepare(store, config)
        for page_url, body, _ in pages:
            store.add_raw_page(
                source="qd_press",
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
    steps.process(Config(database_url=url, batch_size=1))  # warm-up: jieba dictionary, OpenCC, imports
    with Store.open(config) as store, store.transaction() as cur:
        cur.execute("UPDATE raw_pages SET process_state = 'pending'")
        cur.execute(
            "TRUNCATE releases, clusters, release_lsh_bands, release_chains, release_versions CASCADE"
        )
    start = time.perf_counter()
    counts = steps.process(config)
    return len(pages) / (time.perf_counter() - start), counts


def main(argv: list[str] | None = None) -> int:
    from benchmarks.db import scratch_database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    pages = variants(args.copies)
    bodies = [body for _, _, body in pages]
    chars = sum(len(b) for b in bodies) / len(bodies)
    print(f"{len(pages)} pages, {chars:.0f} characters of body on average")
    # The baseline is measured before and after, and its best pass counts (as timeit does): the shared
    # machine's load only ever slows a pass down, so the ratio errs against pressmon, never for it.
    before = jieba_rate(bodies, args.repeats)
    with scratch_database() as url:
        ours, counts = pressmon_rate(pages, url)
    bare = max(before, jieba_rate(bodies, args.repeats))
    print(f"bare jieba.lcut:            {bare:8.1f} releases/s")
    print(f"pressmon process (one core): {ours:8.1f} releases/s  {counts}")
    print(f"summary: ratio={ours / bare:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
