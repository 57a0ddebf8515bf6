"""`pressmon reprocess` over an archive of synthetic pages: its time and peak memory (`make bench-reprocess`).

Each page is a distinct release: an offline detail page whose text is replaced by 14 sentences drawn from the
offline transcripts (the real vocabulary and boilerplate), under its own URL. The pages are loaded as already
processed; the benchmark then runs the real command, `pressmon reprocess`, in its own process, and reports
its wall time, pages per second and peak resident memory (the command's and its largest parsing worker's).
Run twice on the same archive, the second pass finds every release unchanged.

    python -m benchmarks.reprocess --pages 10000 100000
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg2

from benchmarks.search import SENTENCE
from parsers.urls import canonical_url
from pressmon import steps
from pressmon.config import Config
from pressmon.offline import qd_press
from pressmon.offline.qd_press import detail_path, load_releases, real_url, render_detail_page
from pressmon.store import Store

ROOT = Path(__file__).resolve().parent.parent


def synthetic_pages(count: int, seed: int = 7):
    """Yield (url, page bytes) of `count` distinct releases."""
    rng = random.Random(seed)
    templates = load_releases(qd_press.RELEASES_DIR)
    pool = [s for t in templates for p in t.paragraphs for s in SENTENCE.findall(p) if len(s) >= 12]
    first = date(2015, 1, 1)
    for n in range(count):
        template = templates[n % len(templates)]
        picks = rng.sample(pool, 14)
        release = dataclasses.replace(
            template,
            id=1_000_000 + n,
            published=first + timedelta(days=n % 3650),
            list_title=f"第{n}号 {picks[0][:16]}新闻发布会",
            title_lines=(f"第{n}号 {picks[0][:16]}新闻发布会",),
            paragraphs=tuple("".join(picks[k : k + 2]) for k in range(0, 14, 2)),
            repeat_body=False,
            same_release_as=None,
        )
        yield real_url(detail_path(release)), render_detail_page(release, views=n % 5000).encode()


def load(url: str, count: int) -> None:
    """COPY `count` synthetic detail pages in as already processed."""
    config = Config(database_url=url)
    with Store.open(config) as store:
        steps.prepare(store, config)
    headers = json.dumps({"Content-Type": ["text/html; charset=utf-8"]})
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        chunk: list[str] = []

        def flush() -> None:
            cur.copy_expert(
                "COPY raw_pages (source, kind, url, final_url, canonical_url, status, headers, body, "
                "process_state) FROM STDIN",
                io.StringIO("".join(chunk)),
            )
            chunk.clear()

        for page_url, body in synthetic_pages(count):
            chunk.append(
                f"qd_press\tdetail\t{page_url}\t{page_url}\t{canonical_url(page_url)}\t200\t{headers}\t"
                f"\\\\x{body.hex()}\tdone\n"
            )
            if len(chunk) == 2000:
                flush()
        flush()
    conn.close()


def reprocess(url: str) -> dict[str, object]:
    """Run `pressmon reprocess` in its own process; return its counts, time and peak memory."""
    env = {**os.environ, "PRESSMON_DATABASE_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pressmon.cli", "reprocess"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    ).stdout
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "counts": json.loads(out.strip().splitlines()[-1]),
        "seconds": seconds,
        # The largest process the command ran (itself or a parsing worker); only a new high shows.
        "peak_mb": max(peak, before) / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    from tests.support.db import scratch_database

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--twice", action="store_true", help="run a second pass over the same archive")
    args = parser.parse_args(argv)
    for count in args.pages:
        with scratch_database() as url:
            start = time.perf_counter()
            load(url, count)
            print(f"{count} synthetic pages loaded in {time.perf_counter() - start:.0f} s", flush=True)
            for attempt in range(2 if args.twice else 1):
                result = reprocess(url)
                seconds = float(result["seconds"])  # type: ignore[arg-type]
                print(
                    f"reprocess pass {attempt + 1}: {count} pages in {seconds:.0f} s "
                    f"({count / seconds:.1f} pages/s), peak RSS {result['peak_mb']:.0f} MB; {result['counts']}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
