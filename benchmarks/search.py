"""reporting.search on 100,000 releases (`make bench-search`).

Releases are synthetic: 14 sentences drawn from the offline site's transcripts (the same vocabulary and
boilerplate as real releases), plus a company name out of 10,000 (each in about 10 releases), so queries of every
rarity exist. Their jieba tokens come from the sentences' tokens (tokenised once), and the character-pair index
is built by Postgres from title and text, as in production. Each query runs as pressmon_reader, as an analyst
asks it: a first page (best 20) or a later one, or every match; every row with its rank and excerpt. The figure
is the median of the timed runs after a warm-up, planning included. Each query's plan, as it ran, must use an
index and never scan the releases table. The last line is machine-readable: summary: <name>_ms=<median> ...
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg2

from parsers.tag import tokens
from pressmon import steps
from pressmon.config import Config
from pressmon.offline import qd_press
from pressmon.store import Store, as_role

ROOT = Path(__file__).resolve().parent.parent
RELEASES = qd_press.RELEASES_DIR
SENTENCE = re.compile(r"[^。！？]+[。！？]")
SYLLABLES = "海晟瑞泰华鼎恒信达远博睿智航瀚越宏阳光启明辉安诚创新锐"
# (name, query, max_results, skip): what an analyst types, rarest first; company and company_part are filled
# in from the loaded names. Pages of 20 for every rarity, a later page, and every match of the broad ones.
QUERIES = (
    ("company", None, None, 0),  # a company name: about 10 releases
    ("company_part", None, None, 0),  # two characters of it: part of a word
    ("company_top20", None, 20, 0),  # a page of a rare query: the newest releases hold too few matches
    ("phrase_top20", "低空经济发展", 20, 0),  # about 2 % of releases
    ("two_terms_top20", "人形机器人 产业", 20, 0),  # about 14 %
    ("word_top20", "机器人", 20, 0),  # about 20 %, rarely in a title
    ("common_top20", "发展", 20, 0),  # about 80 %
    ("common_51_100", "发展", 50, 50),  # results 51-100
    ("phrase_all", "低空经济发展", None, 0),
    ("two_terms_all", "人形机器人 产业", None, 0),
    ("common_all", "发展", None, 0),
)
# The indexes a search reads from: one of them must appear in what a query ran.
INDEXES = ("releases_search_grams", "releases_title_grams", "releases_newest_first")


def sentence_pool() -> list[str]:
    pool = []
    for path in sorted(RELEASES.glob("*.json")):
        for paragraph in json.loads(path.read_text(encoding="utf-8"))["paragraphs"]:
            pool.extend(s for s in SENTENCE.findall(paragraph) if len(s) >= 12)
    return pool


def company(rng: random.Random) -> str:
    return "青岛" + "".join(rng.sample(SYLLABLES, 3)) + "科技有限公司"


def load(url: str, count: int, seed: int) -> list[str]:
    """Bulk-load `count` releases in two parallel COPY streams; return the company names used."""
    rng = random.Random(seed)
    pool = sentence_pool()
    pool_tokens = [" ".join(tokens(s)) for s in pool]
    companies = sorted({company(rng) for _ in range(20000)})[:10000]
    rows = []
    for n in range(1, count + 1):
        picks = rng.sample(range(len(pool)), 14)
        name = companies[n % len(companies)]
        body = "\n".join(["".join(pool[i] for i in picks[k : k + 2]) for k in range(0, 14, 2)])
        body = body.replace("。", f"。{name}参与其中。", 1)
        title = f"《第{n}号 {pool[picks[0]][:16]}》新闻发布会"
        search = " ".join(pool_tokens[i] for i in picks) + " " + name
        rows.append((n, title, body, search))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.copy_expert("COPY clusters (id) FROM STDIN", io.StringIO("".join(f"{n}\n" for n, *_ in rows)))
        cur.execute("SELECT setval('clusters_id_seq', %s)", (count,))
    chunks = [rows[: count // 2], rows[count // 2 :]]
    threads = [threading.Thread(target=_copy_releases, args=(url, chunk)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        # Each release starts its own cluster: stored as its canonical copy, as the processing step does.
        cur.execute("UPDATE clusters SET canonical_release_id = id")
        cur.execute("SELECT setval('releases_id_seq', %s)", (count,))
    conn.close()
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute("VACUUM ANALYZE")
    admin.close()
    return companies


def _copy_releases(url: str, rows: list[tuple[int, str, str, str]]) -> None:
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n")

    data = io.StringIO(
        "".join(
            f"{n}\tqd_press\thttp://bench.example/{n}.html\thttp://bench.example/{n}.html\t{escape(title)}\t"
            f"2025-01-01\t{escape(body)}\t\\\\x{n:064x}\t\\\\x00\t{escape(search)}\t{n}\n"
            for n, title, body, search in rows
        )
    )
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE incoming (id bigint, source text, canonical_url text, url text, title text, "
            "published_at date, body text, content_hash bytea, minhash bytea, search text, cluster_id bigint)"
        )
        cur.copy_expert("COPY incoming FROM STDIN", data)
        cur.execute(
            """INSERT INTO releases (id, source, canonical_url, url, title, published_at, body, content_hash,
                                     minhash, search_tokens, cluster_id, is_canonical)
               SELECT id, source, canonical_url, url, title, published_at, body, content_hash, minhash,
                      to_tsvector('simple', search), cluster_id, true FROM incoming"""
        )
    conn.close()


def measure(
    reader_url: str, query: str, max_results: int | None, skip: int, rounds: int
) -> tuple[float, int]:
    """Return the median milliseconds of `rounds` runs (after one warm-up) and the number of rows."""
    conn = psycopg2.connect(reader_url)
    conn.autocommit = True
    timings = []
    found = 0
    args = (query, max_results, skip)
    with conn.cursor() as cur:
        for attempt in range(rounds + 1):
            started = time.perf_counter()
            cur.execute("SELECT * FROM reporting.search(%s, %s, %s)", args)
            found = len(cur.fetchall())
            if attempt:
                timings.append((time.perf_counter() - started) * 1000)
        cur.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM reporting.search(%s, %s, %s)", args
        )
        plan = [row[0] for row in cur.fetchall()]
    conn.close()
    check_plan(f"search{args!r}", plan)
    return statistics.median(timings), found


def check_plan(call: str, plan: list[str]) -> None:
    """Exit unless the part of the plan that ran reads an index of search and never scans releases whole."""
    ran = [line for line in plan if "never executed" not in line]
    if any(re.search(r"Seq Scan on releases\b", line) for line in ran):
        raise SystemExit(f"{call} scans the releases table:\n" + "\n".join(plan))
    if not any(index in line for line in ran for index in INDEXES):
        raise SystemExit(f"{call} uses none of the indexes {', '.join(INDEXES)}:\n" + "\n".join(plan))


def main(argv: list[str] | None = None) -> int:
    from tests.support.db import scratch_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    with scratch_database() as url:
        config = Config(database_url=url)
        with Store.open(config) as store:
            steps.prepare(store, config)
        started = time.perf_counter()
        companies = load(url, args.releases, seed=11)
        print(f"{args.releases} releases loaded and indexed in {time.perf_counter() - started:.0f} s")
        name = companies[rng.randrange(min(len(companies), args.releases))]
        queries = {"company": name, "company_part": name[3:5], "company_top20": name}
        reader = as_role(url, "pressmon_reader")
        results = {}
        for label, query, max_results, skip in QUERIES:
            query = query or queries[label]
            ms, found = measure(reader, query, max_results, skip, args.rounds)
            results[label] = ms
            asked = "all" if max_results is None else f"{skip + 1}-{skip + max_results}"
            print(f"  {label:<16} {query!r:<26} {asked:>7} {found:>6} rows {ms:9.1f} ms")
    print("summary: " + " ".join(f"{k}_ms={v:.1f}" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
