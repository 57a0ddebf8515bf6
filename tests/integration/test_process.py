"""Processing raw pages into releases, clusters and tags in a real Postgres."""

from __future__ import annotations

import importlib

import pytest

from parsers.fingerprint import fingerprint
from pressmon import steps
from tests.pages import CANONICAL_BASE, add_page, edited, page_url, releases

RELEASES = releases()
# Where the step looks parse_release up (`steps.process` is the step itself, not its module).
processing = importlib.import_module("pressmon.steps.process")


def _scalar(store, sql, params=()):
    with store.transaction() as cur:
        cur.execute(sql, params)
        return next(iter(cur.fetchone().values()))


def test_pages_become_releases_with_the_fields_of_the_page(store, config):
    seed = RELEASES[1206]
    add_page(store, seed)
    counts = steps.process(config)
    assert counts == {"new": 1}
    with store.transaction() as cur:
        cur.execute("SELECT * FROM reporting.releases")
        (row,) = cur.fetchall()
    assert row["title"] == seed.list_title
    assert row["published_at"] == seed.published
    assert row["url"] == f"{CANONICAL_BASE}/xwfbHtml/wangqihuigu/2023/0223/1206.html"
    assert row["duplicates"] == 0
    # The real page shows the transcript twice; the release holds it once.
    assert row["body"].count(seed.paragraphs[3]) == 1
    assert {s["name"] for s in row["speakers"]} >= {"刘学辉", "李香"}
    assert _scalar(store, "SELECT count(*) FROM raw_pages WHERE process_state = 'done'") == 1


def test_http_and_https_copies_and_a_changed_view_counter_are_one_release(store, config):
    release = RELEASES[2023]
    add_page(store, release, url=page_url(release, "http"), views=10)
    add_page(store, release, url=page_url(release, "https"), views=11)
    add_page(store, release, url=page_url(release, "http") + "?utm_source=wechat", views=12)
    counts = steps.process(config)
    assert counts == {"new": 1, "unchanged": 2}
    assert _scalar(store, "SELECT count(*) FROM releases") == 1
    assert _scalar(store, "SELECT count(*) FROM clusters") == 1


def test_a_repost_under_another_url_joins_the_cluster_of_the_original(store, config):
    add_page(store, RELEASES[1702])
    add_page(store, RELEASES[1703])
    counts = steps.process(config)
    assert counts == {"new": 1, "near_duplicate": 1}
    with store.transaction() as cur:
        cur.execute("SELECT cluster_id, duplicates, url FROM reporting.releases")
        (row,) = cur.fetchall()
    assert row["duplicates"] == 1
    assert row["url"].endswith("/1702.html")


def test_two_conferences_of_one_series_stay_two_releases(store, config):
    add_page(store, RELEASES[1688])
    add_page(store, RELEASES[1702])
    assert steps.process(config) == {"new": 2}
    assert _scalar(store, "SELECT count(*) FROM reporting.releases") == 2


def test_a_changed_page_under_the_same_url_is_a_new_version_of_the_same_release(store, config):
    release = RELEASES[2236]
    add_page(store, release)
    steps.process(config)
    corrected = edited(
        release, paragraphs=(*release.paragraphs, "（本文有更正：无人机起降点数量更正为46个。）")
    )
    add_page(store, corrected)
    assert steps.process(config) == {"updated": 1}
    with store.transaction() as cur:
        # The canonical copy's search tokens are its new text's.
        cur.execute("SELECT title FROM reporting.releases WHERE search @@ plainto_tsquery('simple', '更正')")
        assert [r["title"] for r in cur.fetchall()] == [release.list_title]
        cur.execute("SELECT version, body FROM releases")
        (row,) = cur.fetchall()
        cur.execute("SELECT version, body FROM release_versions")
        (old,) = cur.fetchall()
    assert row["version"] == 2 and "更正" in row["body"]
    assert old["version"] == 1 and "更正" not in old["body"]
    assert _scalar(store, "SELECT count(*) FROM clusters") == 1


def test_a_broken_page_is_recorded_with_its_reason_and_the_batch_goes_on(store, config):
    good = add_page(store, RELEASES[2023])
    broken = add_page(
        store, RELEASES[2098], body=b"<html><body><ul><li><a href='/a'>a</a></li></ul></body></html>"
    )
    binary = add_page(store, RELEASES[2135], body=bytes(range(256)) * 40)
    counts = steps.process(config)
    assert counts == {"new": 1, "failed": 2}
    with store.transaction() as cur:
        cur.execute("SELECT id, process_state, process_error FROM raw_pages ORDER BY id")
        rows = {row["id"]: row for row in cur.fetchall()}
    assert rows[good]["process_state"] == "done"
    for page in (broken, binary):
        assert rows[page]["process_state"] == "failed"
        assert rows[page]["process_error"].startswith("NotAnArticle")


def test_processing_twice_changes_nothing(store, config):
    add_page(store, RELEASES[1650])
    steps.process(config)
    before = _scalar(store, "SELECT md5(string_agg(r::text, '|' ORDER BY id)) FROM releases r")
    assert steps.process(config) == {}
    assert _scalar(store, "SELECT md5(string_agg(r::text, '|' ORDER BY id)) FROM releases r") == before


def test_releases_are_tagged_with_official_chain_names_scores_and_evidence(store, config):
    add_page(store, RELEASES[2023])
    steps.process(config)
    with store.transaction() as cur:
        cur.execute("SELECT chains FROM reporting.releases")
        chains = cur.fetchone()["chains"]
        cur.execute("SELECT chain, score, evidence, scheme FROM reporting.release_chains ORDER BY score DESC")
        top = cur.fetchone()
    assert chains[0] == "低空经济"
    assert top["chain"] == "低空经济" and top["scheme"] == "qingdao-10plus1-2025"
    assert 0.5 <= top["score"] <= 1
    assert top["evidence"]["title"].get("低空经济") == 1
    assert top["evidence"]["body"]["无人机"] >= 1


def test_full_text_search_finds_releases_by_jieba_tokens(store, config):
    add_page(store, RELEASES[2023])
    add_page(store, RELEASES[1650])
    steps.process(config)
    with store.transaction() as cur:
        cur.execute("SELECT title FROM reporting.releases WHERE search @@ to_tsquery('simple', '无人机')")
        titles = [r["title"] for r in cur.fetchall()]
    assert titles == [RELEASES[2023].list_title]


def test_a_reprint_keeping_only_the_opening_statement_joins_the_cluster_of_the_full_release(store, config):
    full = RELEASES[1206]
    opening = edited(full, id=9001, paragraphs=full.paragraphs[:30], repeat_body=False)
    add_page(store, full)
    add_page(store, opening, url="http://www.example-news.cn/qingdao/2023/0224/9001.html")
    assert steps.process(config) == {"new": 1, "near_duplicate": 1}
    with store.transaction() as cur:
        cur.execute("SELECT duplicates FROM reporting.releases")
        assert [r["duplicates"] for r in cur.fetchall()] == [1]


# -- one bad page never stops the batch ------------------------------------------------------------------


def _states(store) -> dict[str, tuple[str, str | None]]:
    with store.transaction() as cur:
        cur.execute("SELECT canonical_url, process_state, process_error FROM raw_pages")
        return {row["canonical_url"]: (row["process_state"], row["process_error"]) for row in cur.fetchall()}


def test_a_page_whose_parser_raises_anything_is_failed_with_its_reason_and_the_batch_goes_on(
    store, config, monkeypatch
):
    good, bad, other = RELEASES[2023], RELEASES[1688], RELEASES[2199]
    for release in (good, bad, other):
        add_page(store, release)
    real_parse = processing.parse_release

    def parse(body, url, *args, **kwargs):
        if url == page_url(bad, "https"):
            raise ValueError("invalid charset name 'utf\\x00-8'")
        return real_parse(body, url, *args, **kwargs)

    monkeypatch.setattr(processing, "parse_release", parse)
    counts = steps.process(config)
    assert counts == {"new": 2, "failed": 1}
    states = _states(store)
    assert states[page_url(bad, "https")] == (
        "failed",
        "parser error: ValueError: invalid charset name 'utf\\x00-8'",
    )
    assert states[page_url(good, "https")][0] == states[page_url(other, "https")][0] == "done"


def _refuse_to_store(monkeypatch, release) -> None:
    """Make the release's page parse into a title Postgres refuses (a NUL character)."""
    import dataclasses

    real_parse = processing.parse_release

    def parse(body, url, *args, **kwargs):
        parsed = real_parse(body, url, *args, **kwargs)
        if url != page_url(release, "https"):
            return parsed
        extraction = dataclasses.replace(parsed.extraction, title="NUL\x00in the title")
        return dataclasses.replace(parsed, extraction=extraction)

    monkeypatch.setattr(processing, "parse_release", parse)


def test_a_refused_page_amid_a_batch_leaves_the_others_stored_with_their_clusters_elected(
    store, config, monkeypatch
):
    # A batch is stored without savepoints first: a refused page in its middle rolls back the pages before
    # it (and the clusters they made), and the batch is stored again page by page. Nothing may be lost or
    # made twice on the way.
    good, bad, other = RELEASES[2023], RELEASES[1688], RELEASES[1206]
    add_page(store, good)
    add_page(store, bad)
    add_page(store, other, source="qd_gov_news")
    reprint = page_url(good, "http").replace("qdfb.", "news.qdfb.")
    add_page(store, good, url=reprint, views=7, source="qingdaonews_qd")
    _refuse_to_store(monkeypatch, bad)
    counts = steps.process(config)
    assert counts == {"failed": 1, "new": 2, "duplicate": 1}
    assert _scalar(store, "SELECT count(*) FROM releases") == 3
    assert _scalar(store, "SELECT count(*) FROM clusters") == 2
    # Every cluster has its canonical copy, and it is one of its own members.
    assert (
        _scalar(
            store,
            "SELECT count(*) FROM clusters c JOIN releases r ON r.id = c.canonical_release_id AND r.cluster_id = c.id",
        )
        == 2
    )
    # The press office's copy, not the later reprint stored after the refused page, is the canonical one.
    assert (
        _scalar(
            store,
            "SELECT r.source FROM clusters c JOIN releases r ON r.id = c.canonical_release_id"
            " WHERE c.id = (SELECT cluster_id FROM releases WHERE url = %s)",
            (reprint,),
        )
        == "qd_press"
    )
    assert _scalar(store, "SELECT count(*) FROM raw_pages WHERE process_state = 'pending'") == 0


def test_a_release_the_database_refuses_fails_only_its_own_page(store, config, monkeypatch):
    good, bad = RELEASES[2023], RELEASES[1688]
    add_page(store, bad)
    add_page(store, good)
    _refuse_to_store(monkeypatch, bad)
    counts = steps.process(config)
    assert counts == {"failed": 1, "new": 1}
    state, reason = _states(store)[page_url(bad, "https")]
    assert state == "failed" and reason.startswith("not stored: ValueError") and "NUL" in reason
    assert _scalar(store, "SELECT count(*) FROM releases") == 1
    assert _scalar(store, "SELECT count(*) FROM clusters") == 1


def test_search_finds_a_release_by_the_copy_elected_when_a_more_authoritative_one_arrives(store, config):
    # The search indexes hold canonical copies only (releases.is_canonical, kept in step with the election):
    # when a later copy wins the election, search finds the release by that copy's text, and no longer by
    # the text of the copy it replaced.
    release = RELEASES[2023]
    _add_reprint(store, release, "珊瑚湾样板片区同步推进。")
    assert steps.process(config) == {"new": 1}
    assert [r["source"] for r in _search(store, "珊瑚湾样板")] == ["qingdaonews_qd"]

    add_page(store, edited(release, paragraphs=(*release.paragraphs, "鲸歌港区试点首批启动。")))
    assert steps.process(config) == {"near_duplicate": 1}
    assert _scalar(store, "SELECT count(*) FROM clusters") == 1
    assert [r["source"] for r in _search(store, "鲸歌港区")] == ["qd_press"]
    assert _search(store, "珊瑚湾样板") == []
    # Exactly the copy each cluster names is flagged.
    assert (
        _scalar(
            store,
            "SELECT count(*) FROM releases r JOIN clusters c ON c.id = r.cluster_id"
            " WHERE r.is_canonical <> (r.id = c.canonical_release_id)",
        )
        == 0
    )


def test_a_copy_elected_after_it_was_stored_is_found_by_its_own_words(store, config):
    # A copy that joins a cluster keeps its search text, and its jieba-token tsvector is computed when an
    # election first chooses it (0015): then reporting.releases.search finds the release by that copy's words,
    # exactly as if its tokens had been computed when it was stored.
    def copies():
        with store.transaction() as cur:
            cur.execute(
                "SELECT r.id, r.source, r.search_text, r.search_tokens::text AS tokens,"
                "       tsvector_to_array(r.search_tokens) AS words"
                "  FROM releases r ORDER BY r.id"
            )
            return {row["source"]: row for row in cur.fetchall()}

    def found(word):
        with store.transaction() as cur:
            cur.execute(
                "SELECT source FROM reporting.releases WHERE search @@ plainto_tsquery('simple', %s)", (word,)
            )
            return [row["source"] for row in cur.fetchall()]

    release = RELEASES[2023]
    add_page(store, release)
    assert steps.process(config) == {"new": 1}
    _add_reprint(store, release)
    assert steps.process(config) == {"duplicate": 1}
    assert copies()["qingdaonews_qd"]["tokens"] is None  # a copy that joins a cluster: its tokens wait
    # The reprint is corrected the next night: a new version of a copy that is not elected.
    _add_reprint(store, release, "鲸歌港区试点首批启动。")
    assert steps.process(config) == {"updated": 1}

    before = copies()
    press, copy = before["qd_press"], before["qingdaonews_qd"]
    # The press office's copy is elected; the reprint's new version is stored with its text, and its tokens
    # wait.
    assert copy["tokens"] is None and copy["search_text"]
    own_words = set(copy["search_text"].split()) - set(press["words"])
    assert own_words, "the reprint's correction gives it words of its own"
    word = sorted(own_words)[0]
    assert found(word) == []

    # An owner's fix-up (say, the press office took its page down) elects the reprint.
    with store.transaction() as cur:
        cur.execute("UPDATE clusters SET canonical_release_id = %s", (copy["id"],))
        cur.execute("SELECT to_tsvector('simple', %s)::text AS tokens", (copy["search_text"],))
        expected = cur.fetchone()["tokens"]
    after = copies()["qingdaonews_qd"]
    assert after["tokens"] == expected
    assert after["search_text"] is None  # stored once: the text goes once its tokens are computed
    assert found(word) == ["qingdaonews_qd"]

    # Elected back, the press office's copy has kept its tokens all along.
    with store.transaction() as cur:
        cur.execute("UPDATE clusters SET canonical_release_id = %s", (press["id"],))
    assert copies()["qd_press"]["tokens"] == press["tokens"]
    assert found(word) == []


def test_the_per_page_lookup_is_prepared_once_per_connection_and_outlives_a_rolled_back_batch(store):
    # The queries run for every page are prepared statements of the store's connection: parsed and planned
    # once, and still there after a batch is rolled back (and stored again, guarded).
    fp = fingerprint("标题", "正文第一段，足够长的一段话。\n正文第二段，也是一段话。")
    for _ in range(2):
        with pytest.raises(RuntimeError), store.transaction() as cur:
            assert store.page_lookup(cur, "https://example.invalid/a.html", fp).existing is None
            raise RuntimeError("the batch is rolled back")
    with store.transaction() as cur:
        assert store.page_lookup(cur, "https://example.invalid/a.html", fp).candidates == []
        cur.execute(
            "SELECT generic_plans + custom_plans AS runs FROM pg_prepared_statements"
            " WHERE name = 'pressmon_page_lookup'"
        )
        assert [row["runs"] for row in cur.fetchall()] == [3]


def _add_reprint(store, release, *added_paragraphs):
    # The release as a city news site reprints it, under its own URL, with any paragraphs it adds.
    page = edited(release, paragraphs=(*release.paragraphs, *added_paragraphs))
    reprint = page_url(release, "http").replace("qdfb.", "news.qdfb.")
    return add_page(store, page, url=reprint, source="qingdaonews_qd")


def _search(store, query):
    # Every match (no page size): looked up, not found by walking the newest releases.
    with store.transaction() as cur:
        cur.execute("SELECT * FROM reporting.search(%s, NULL)", (query,))
        return cur.fetchall()


def test_near_duplicate_candidates_share_a_bucket_in_the_same_band_and_are_counted_band_by_band(store):
    # A copy's buckets are stored as one array in band order. A candidate is a copy holding one of the page's
    # buckets in the same band; holding it in another band does not count. Candidates come most-shared first.
    fp = fingerprint("标题", "正文第一段，足够长的一段话。\n正文第二段，也是一段话。")
    mine = list(fp.buckets)
    other = [bucket + 1 for bucket in mine]  # shares nothing with mine

    def stored(n: int, buckets: list[int]) -> int:
        release = {
            "source": "qd_press",
            "canonical_url": f"https://example.invalid/{n}.html",
            "url": f"https://example.invalid/{n}.html",
            "title": "标题",
            "body": "正文",
            "content_hash": bytes([n]) * 32,
            "minhash": fp.signature,
        }
        with store.transaction() as cur:
            release["cluster_id"] = store.new_cluster(cur)
            return store.insert_new_release(cur, release, buckets, (), [], starts_cluster=True)

    all_of_them = stored(1, mine)
    five = stored(2, mine[:5] + other[5:])
    one = stored(3, [mine[0], *other[1:4], mine[3], *other[5:]])  # mine[3] held at band 4: not shared
    stored(4, mine[1:] + mine[:1])  # every one of my buckets, each in the band after its own

    def candidates() -> list[tuple[int, int]]:
        with store.transaction() as cur:
            lookup = store.page_lookup(cur, "https://example.invalid/page.html", fp)
        return [(c["id"], c["shared_bands"]) for c in lookup.candidates]

    assert candidates() == [(all_of_them, 32), (five, 5), (one, 1)]
    with store.transaction() as cur:
        store.set_bands(cur, five, mine)  # a new version of that copy, with my text's buckets
        store.set_bands(cur, all_of_them, other)
    assert candidates() == [(five, 32), (one, 1)]
    assert _scalar(store, "SELECT count(*) FROM release_lsh_buckets WHERE release_id = %s", (five,)) == 1
