"""Clustering cost per release at 10,000 and at 100,000 releases (`make bench-dedup`).

Background releases are synthetic texts built from the sentences of the offline site's transcripts (so they
share vocabulary and boilerplate like real releases), fingerprinted with the production code and bulk-loaded.
Two archives are loaded, of 10,000 and of 100,000 releases. Then probe releases (half new texts, half edited
copies of held ones) go through the production clustering path (`pressmon.steps.assign_cluster`, then the
release row, its LSH buckets and paragraphs), timed per release, the two archives taking turns probe by probe.
The last line is machine-readable: summary: flatness=<time per release at 100k / at 10k>.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

from parsers.fingerprint import Fingerprint, fingerprint
from pressmon import steps
from pressmon.config import Config
from pressmon.offline import qd_press
from pressmon.store import Store

ROOT = Path(__file__).resolve().parent.parent
RELEASES = qd_press.RELEASES_DIR
SENTENCE = re.compile(r"[^。！？]+[。！？]")


def sentence_pool() -> list[str]:
    pool = []
    for path in sorted(RELEASES.glob("*.json")):
        for paragraph in json.loads(path.read_text(encoding="utf-8"))["paragraphs"]:
            pool.extend(s for s in SENTENCE.findall(paragraph) if len(s) >= 12)
    return pool


# Every third release opens with the same long greeting, as real transcripts do: boilerplate the paragraph
# index must ignore rather than scan.
BOILERPLATE = "各位记者朋友们，大家上午好！欢迎参加市政府新闻办召开的新闻发布会，今天的发布会由市有关部门介绍相关情况并回答大家关心的问题。"


def synthetic_text(rng: random.Random, pool: list[str], serial: int) -> str:
    sentences = rng.sample(pool, 14)
    paragraphs = [f"第{serial}号发布。" + sentences[0]] + [
        "".join(sentences[i : i + 2]) for i in range(1, 14, 2)
    ]
    if serial % 3 == 0:
        paragraphs.insert(0, BOILERPLATE)
    return "\n".join(paragraphs)


def edited_copy(rng: random.Random, text: str, pool: list[str]) -> str:
    paragraphs = text.split("\n")
    paragraphs[rng.randrange(1, len(paragraphs))] = rng.choice(pool)
    return "\n".join(["（转载）", *paragraphs, "（责任编辑：王某）"])


def _fingerprint(text: str) -> Fingerprint:
    return fingerprint("", text)


def fingerprints(texts: list[str], workers: int) -> list[Fingerprint]:
    with Pool(workers) as pool:
        return pool.map(_fingerprint, texts, chunksize=500)


def bulk_load(store: Store, texts: list[str], fps: list[Fingerprint], first_serial: int) -> None:
    """Load releases with one cluster each and their bands through COPY (not timed)."""
    with store.transaction() as cur:
        cur.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM clusters) AS c, (SELECT coalesce(max(id), 0) FROM releases) AS r"
        )
        row = cur.fetchone()
        cbase, base = row["c"], row["r"]
        clusters = io.StringIO("".join(f"{cbase + i + 1}\n" for i in range(len(texts))))
        cur.copy_expert("COPY clusters (id) FROM STDIN", clusters)
        cur.execute("SELECT setval('clusters_id_seq', %s)", (cbase + len(texts),))
        releases = io.StringIO()
        for i, (text, fp) in enumerate(zip(texts, fps, strict=True)):
            serial = first_serial + i
            url = f"https://bench.invalid/{serial}.html"
            text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
            releases.write(
                f"{base + i + 1}\tqd_press\t{url}\t{url}\tbench {serial}\t{text}\t\\\\x{fp.content_hash.hex()}\t"
                f"\\\\x{fp.signature.hex()}\t{cbase + i + 1}\n"
            )
        releases.seek(0)
        cur.copy_expert(
            "COPY releases (id, source, canonical_url, url, title, body, content_hash, minhash, cluster_id) FROM STDIN",
            releases,
        )
        cur.execute("SELECT setval('releases_id_seq', (SELECT max(id) FROM releases))")
        buckets = io.StringIO()
        for i, fp in enumerate(fps):
            buckets.write(f"{base + i + 1}\t{{{','.join(map(str, fp.buckets))}}}\n")
        buckets.seek(0)
        cur.copy_expert("COPY release_lsh_buckets (release_id, buckets) FROM STDIN", buckets)
        paragraphs = io.StringIO()
        for i, fp in enumerate(fps):
            for digest, chars in fp.paragraphs:
                paragraphs.write(f"{digest}\t{base + i + 1}\t{chars}\n")
        paragraphs.seek(0)
        cur.copy_expert("COPY release_paragraphs (hash, release_id, chars) FROM STDIN", paragraphs)
        cur.execute(
            """UPDATE clusters c SET canonical_release_id = r.id FROM releases r
                WHERE r.cluster_id = c.id AND c.canonical_release_id IS NULL"""
        )
    with store.conn.cursor() as cur:
        store.conn.autocommit = True
        cur.execute("VACUUM ANALYZE releases, release_lsh_buckets, release_paragraphs, clusters")
        store.conn.autocommit = False


def time_probe(store: Store, text: str, fp: Fingerprint, serial: int) -> tuple[float, str]:
    """Cluster one probe through the production path; return its seconds and its outcome."""
    start = time.perf_counter()
    with store.transaction() as cur:
        store.lock_clustering(cur)
        cluster_id, outcome = steps.assign_cluster(store, cur, fp)
        release_id = store.insert_release(
            cur,
            {
                "source": "qd_press",
                "canonical_url": f"https://probe.invalid/{serial}.html",
                "url": f"https://probe.invalid/{serial}.html",
                "title": "probe",
                "published_at": None,
                "body": text,
                "content_hash": fp.content_hash,
                "minhash": fp.signature,
                "cluster_id": cluster_id,
            },
        )
        store.set_bands(cur, release_id, fp.buckets)
        store.set_paragraphs(cur, release_id, fp.paragraphs)
        store.elect_canonical(cur, [cluster_id])
    return time.perf_counter() - start, outcome


def measure(archives: dict[int, Store], probes, rounds: int) -> dict[int, float]:
    """Time `rounds` rounds of probes against every archive, after one round that warms the caches; return
    the median of each archive's round medians.

    The archives take turns probe by probe, so that the shared machine's changes of speed, which can last
    minutes, fall on every archive alike instead of on whichever was measured at the time.
    """
    medians: dict[int, list[float]] = {held: [] for held in archives}
    for r in range(rounds + 1):
        batches = {held: probes(held, r * 1_000_000 + held) for held in archives}
        durations: dict[int, list[float]] = {held: [] for held in archives}
        outcomes: dict[int, Counter[str]] = {held: Counter() for held in archives}
        for i in range(len(next(iter(batches.values())))):
            order = list(archives) if i % 2 else list(reversed(archives))
            for held in order:
                text, fp = batches[held][i]
                seconds, outcome = time_probe(archives[held], text, fp, 10_000_000 * (r + 1) + i)
                durations[held].append(seconds)
                outcomes[held][outcome] += 1
        if not r:
            continue  # warming the caches
        for held in archives:
            medians[held].append(statistics.median(durations[held]))
            print(
                f"{held:>7} releases held, round {r}: {medians[held][-1] * 1000:.2f} ms per release "
                f"{dict(outcomes[held])}"
            )
    return {held: statistics.median(times) for held, times in medians.items()}


def main(argv: list[str] | None = None) -> int:
    from tests.support.db import scratch_database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=300, help="probes per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    rng = random.Random(20230223)
    pool = sentence_pool()
    print(f"sentence pool: {len(pool)} sentences from the offline transcripts")
    start = time.perf_counter()
    texts = [synthetic_text(rng, pool, n) for n in range(args.large)]
    fps = fingerprints(texts, args.workers)
    print(f"fingerprinted {len(texts)} synthetic releases in {time.perf_counter() - start:.0f} s")

    def probes(held: int, salt: int) -> list[tuple[str, Fingerprint]]:
        chosen = []
        for k in range(args.probes):
            if k % 2:
                text = edited_copy(rng, texts[rng.randrange(held)], pool)
            else:
                text = synthetic_text(rng, pool, 10_000_000 + salt + k)
            chosen.append((text, fingerprint("", text)))
        return chosen

    with scratch_database() as small_url, scratch_database() as large_url:
        archives: dict[int, Store] = {}
        with contextlib.ExitStack() as stack:
            for held, url in ((args.small, small_url), (args.large, large_url)):
                config = Config(database_url=url)
                store = stack.enter_context(Store.open(config))
                steps.prepare(store, config)
                bulk_load(store, texts[:held], fps[:held], 0)
                archives[held] = store
            times = measure(archives, probes, args.rounds)
    small_time, large_time = times[args.small], times[args.large]
    print(f"summary: flatness={large_time / small_time:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
