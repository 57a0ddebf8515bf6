"""reporting.search on the demo data, as the read-only role: what an analyst types, found wherever it occurs.

Expected results are computed here from the releases' own text with Python's `in`, never taken from the
function under test.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from pressmon.store import as_role

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def reader(demo_db_url):
    conn = psycopg2.connect(as_role(demo_db_url, "pressmon_reader"))
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def releases(reader) -> dict[int, dict]:
    with reader.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT cluster_id, title, body, publisher, published_at, chains FROM reporting.releases")
        return {row["cluster_id"]: row for row in cur.fetchall()}


def rows(reader, sql: str, params=()) -> list[dict]:
    with reader.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def containing(releases: dict[int, dict], *terms: str) -> set[int]:
    return {
        cid
        for cid, r in releases.items()
        if all(t.lower() in (r["title"] + "\n" + r["body"]).lower() for t in terms)
    }


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("机器人", ["机器人"]),  # a word that is also part of a longer word (人形机器人)
        ("人形", ["人形"]),  # part of a word
        ("磁存储", ["磁存储"]),
        ("低空经济发展", ["低空经济发展"]),  # a phrase jieba cuts in two
        ("人形机器人 产业", ["人形机器人", "产业"]),  # several terms, all required
        ("氢", ["氢"]),  # one character
        ("5g", ["5G"]),  # letters without case
        ("“智能 家电”", ["智能 家电"]),  # a quoted phrase keeps its space (and finds nothing here)
    ],
)
def test_search_returns_every_release_containing_the_query(reader, releases, query, terms):
    found = [r["cluster_id"] for r in rows(reader, "SELECT cluster_id FROM reporting.search(%s)", (query,))]
    assert len(found) == len(set(found))
    assert set(found) == containing(releases, *terms)


def test_what_the_issue_reported_now_finds_every_release(reader, releases):
    def count(sql, *params):
        return rows(reader, sql, params)[0]["n"]

    # The jieba column finds fewer than a plain LIKE; search finds what LIKE finds.
    like = count("SELECT count(*) AS n FROM reporting.releases WHERE title || body LIKE '%%机器人%%'")
    jieba = count(
        "SELECT count(*) AS n FROM reporting.releases WHERE search @@ plainto_tsquery('simple', '机器人')"
    )
    assert (like, jieba) == (7, 5)
    assert count("SELECT count(*) AS n FROM reporting.search('机器人')") == like
    for query in ("磁存储", "人形", "低空经济发展"):
        assert (
            count(
                "SELECT count(*) AS n FROM reporting.releases WHERE search @@ plainto_tsquery('simple', %s)",
                query,
            )
            == 0
        )
        assert (
            count("SELECT count(*) AS n FROM reporting.search(%s)", query)
            == len(containing(releases, query))
            > 0
        )


def test_results_are_ranked_title_matches_first_with_marked_excerpts(reader, releases):
    found = rows(reader, "SELECT * FROM reporting.search('机器人')")
    ranks = [r["rank"] for r in found]
    assert ranks == sorted(ranks, reverse=True)
    in_title = [("机器人" in r["title"]) for r in found]
    assert in_title == sorted(in_title, reverse=True) and in_title[0]
    for r in found:
        marked = re.findall(r"【([^】]*)】", r["excerpt"])
        assert marked and all(m == "机器人" for m in marked), r["excerpt"]
        plain = r["excerpt"].replace("【", "").replace("】", "").strip("…")
        body = re.sub(r"\s+", " ", releases[r["cluster_id"]]["body"])
        assert plain in body


def test_max_results_keeps_the_best(reader):
    best = rows(reader, "SELECT cluster_id FROM reporting.search('产业', 3)")
    everything = rows(reader, "SELECT cluster_id FROM reporting.search('产业')")
    assert len(best) == 3 and best == everything[:3]


@pytest.mark.parametrize("query", ["产业", "机器人", "发展"])
def test_pages_follow_one_another_and_together_are_every_result(reader, query):
    everything = [
        r["cluster_id"] for r in rows(reader, "SELECT cluster_id FROM reporting.search(%s)", (query,))
    ]
    pages = [
        [
            r["cluster_id"]
            for r in rows(reader, "SELECT cluster_id FROM reporting.search(%s, 3, %s)", (query, skip))
        ]
        for skip in range(0, len(everything) + 3, 3)
    ]
    assert len(everything) > 6 and pages[-1] == []
    assert [cid for page in pages for cid in page] == everything


def test_title_hits_rank_first_then_the_text_newest_first(reader, releases):
    found = rows(reader, "SELECT rank, cluster_id, published_at FROM reporting.search('机器人')")
    for r in found:
        assert r["rank"] == int("机器人" in releases[r["cluster_id"]]["title"])
    assert {r["rank"] for r in found} == {1, 0}
    order = [(r["rank"], r["published_at"] or date.min) for r in found]
    assert order == sorted(order, reverse=True)


def test_search_uses_its_index_when_the_reader_calls_it(reader):
    # 46 releases fit in a few pages, where a scan is cheaper: ask whether the index can serve the query at all.
    rows(reader, "SET enable_seqscan = off")
    rows(reader, "SET enable_indexscan = off")
    rows(reader, "SET enable_nestloop = off")
    plan = "\n".join(
        r["QUERY PLAN"] for r in rows(reader, "EXPLAIN SELECT * FROM reporting.search('人形机器人 产业')")
    )
    assert "releases_search_grams" in plan, plan
    assert "Function Scan" not in plan, "search() must be inlined, so outer conditions and the index apply"
    rows(reader, "RESET enable_seqscan")
    rows(reader, "RESET enable_indexscan")
    rows(reader, "RESET enable_nestloop")


def test_an_empty_or_punctuation_query_finds_nothing(reader):
    for query in ("", "   ", "，。！", None):
        assert rows(reader, "SELECT * FROM reporting.search(%s)", (query,)) == []


def _readme_sql(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    block = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    return [s.strip() for s in block.split(";") if s.strip()]


def _statements(block: list[str]) -> list[str]:
    return [re.sub(r"^(--[^\n]*\n)+", "", s).strip() for s in block]


def test_the_readme_sample_queries_return_rows_on_the_demo_data(reader):
    samples = _statements(_readme_sql("Every view and every column carries"))
    assert len(samples) == 3
    for sql in samples:
        assert rows(reader, sql.replace("%", "%%")), sql


def test_the_five_worked_queries_give_what_the_text_says(reader, releases):
    phrase, company, chain_dates, department, copies = (
        rows(reader, sql.replace("%", "%%")) for sql in _statements(_readme_sql("### Searching"))
    )
    by_title = {r["title"]: cid for cid, r in releases.items()}
    assert {by_title[r["title"]] for r in phrase} == containing(releases, "低空经济发展") != set()
    assert all("【低空经济发展】" in r["excerpt"] for r in phrase)
    assert {by_title[r["title"]] for r in company} == containing(releases, "海尔") != set()
    expected = {
        cid
        for cid in containing(releases, "机器人")
        if "人工智能" in releases[cid]["chains"] and releases[cid]["published_at"].year in (2024, 2025)
    }
    assert {by_title[r["title"]] for r in chain_dates} == expected != set()
    expected = {
        cid
        for cid in containing(releases, "储能")
        if "发展和改革委员会" in (releases[cid]["publisher"] or "")
    }
    assert {by_title[r["title"]] for r in department} == expected != set()
    # 1702 and its re-post 1703: two URLs, one canonical.
    assert len(copies) == 2 and sorted(r["is_canonical"] for r in copies) == [False, True]


def test_pages_agree_with_the_order_whether_walked_or_looked_up(db_url):
    # 2,500 releases: more than a walk reads (1,000 + 50 per result asked for), so each group's page comes
    # from the newest releases when they hold it and from the indexes when its matches are old or few.
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO sources (code, name, base_url) VALUES ('s', '测试', 'https://s.example/')")
        cur.execute("INSERT INTO clusters (id) SELECT n FROM generate_series(1, 2500) AS n")
        cur.execute(
            """INSERT INTO releases (id, source, canonical_url, url, title, published_at, body, content_hash,
                                     minhash, cluster_id)
               SELECT n, 's', 'https://s.example/' || n, 'https://s.example/' || n,
                      '第' || n || '号' || CASE WHEN n % 40 = 0 OR n < 30 THEN '旧港' ELSE '' END
                                        || CASE WHEN n % 2 = 0 THEN '新城' ELSE '' END
                                        || CASE WHEN n % 900 = 0 OR n < 5 THEN '灯塔' ELSE '' END,
                      CASE WHEN n % 97 = 0 THEN NULL ELSE date '2020-01-01' + n / 3 END,
                      '正文' || CASE WHEN n % 3 = 0 THEN '新城发展' ELSE '' END
                             || CASE WHEN n <= 60 THEN '旧港码头' ELSE '' END
                             || CASE WHEN n % 700 = 0 OR n <= 80 THEN '灯塔' ELSE '' END,
                      decode(md5(n::text), 'hex'), '\\x00', n
                 FROM generate_series(1, 2500) AS n"""
        )
        cur.execute("UPDATE clusters SET canonical_release_id = id")
        cur.execute("ANALYZE releases")
        cur.execute("SELECT id, title, body, published_at FROM releases")
        corpus = cur.fetchall()
    conn.close()
    reader = psycopg2.connect(as_role(db_url, "pressmon_reader"))
    reader.autocommit = True

    def expected(*terms: str) -> list[int]:
        found = [
            (int(all(t in title for t in terms)), published or date.min, rid)
            for rid, title, body, published in corpus
            if all(t in title + "\n" + body for t in terms)
        ]
        # NULL dates come last within a rank, as NULLS LAST does.
        return [
            rid
            for _, _, rid in sorted(found, key=lambda f: (f[0], f[1] != date.min, f[1], f[2]), reverse=True)
        ]

    with reader.cursor() as cur:
        for query, terms in (
            ("新城", ["新城"]),
            ("旧港", ["旧港"]),
            ("新城 发展", ["新城", "发展"]),
            ("码头", ["码头"]),  # only in old releases
            ("灯塔", ["灯塔"]),  # a few new, more old: the newest hold too few for a page
        ):
            everything = expected(*terms)
            cur.execute("SELECT cluster_id FROM reporting.search(%s)", (query,))
            assert [cid for (cid,) in cur.fetchall()] == everything, query
            for max_results, skip in ((1, 0), (20, 0), (20, 40), (50, 900), (30, len(everything) - 10)):
                cur.execute("SELECT cluster_id FROM reporting.search(%s, %s, %s)", (query, max_results, skip))
                page = [cid for (cid,) in cur.fetchall()]
                assert page == everything[skip : skip + max_results], (query, max_results, skip)
    reader.close()
