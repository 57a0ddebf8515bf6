"""The `pressmon` command: file commands for checking quality by hand, subscriptions, sources, migrations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pressmon.cli import main
from pressmon.offline.qd_press import render_detail_page
from tests.corpus import CORPUS_HTML, needs_corpus
from tests.pages import CANONICAL_BASE, REAL_BASE, page_url, releases

RELEASES = releases()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_is_installed():
    exe = shutil.which("pressmon", path=str(Path(sys.executable).parent))
    assert exe is not None
    completed = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    for command in ("db", "demo", "crawl", "process", "alert", "subscribe", "sources", "extract", "tag"):
        assert command in completed.stdout


def test_extract_prints_the_json_contract_from_raw_bytes(capsys, tmp_path):
    release = RELEASES[2023]
    page = tmp_path / "2023.html"
    page.write_bytes(render_detail_page(release, views=5).encode("gb18030").replace(b"utf-8", b"gbk"))
    code, out, _ = run(capsys, "extract", str(page), "--url", page_url(release))
    assert code == 0
    data = json.loads(out)
    assert {"title", "published_at", "publisher", "body", "attachments", "speakers"} <= set(data)
    assert data["title"] == release.list_title
    assert data["published_at"] == release.published.isoformat()
    assert release.paragraphs[5] in data["body"]
    assert data["attachments"] == [
        {"url": f"{REAL_BASE}/xwfbHtml/wangqihuigu/2025/0116/{a.file}", "name": a.name}
        for a in release.attachments
    ]
    assert all({"name", "role"} <= set(s) for s in data["speakers"]) and data["speakers"]


@needs_corpus
def test_extract_reports_a_list_page_as_not_an_article(capsys):
    code, out, _ = run(
        capsys, "extract", str(CORPUS_HTML / "gne-listpage-163-1.html"), "--url", "https://news.163.com/"
    )
    assert code == 1
    assert json.loads(out)["error"] == "NotAnArticle"


def test_extract_of_a_missing_file_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "extract", str(tmp_path / "nope.html"))
    assert code == 1 and "cannot read" in err


def test_tag_a_text_file_prints_chains_ordered_by_score_with_evidence(capsys, tmp_path):
    release = RELEASES[2023]
    text = tmp_path / "release.txt"
    text.write_text(release.list_title + "\n" + "\n".join(release.paragraphs), encoding="utf-8")
    code, out, _ = run(capsys, "tag", str(text))
    assert code == 0
    tags = json.loads(out)
    assert tags[0]["chain"] == "低空经济"
    assert [t["score"] for t in tags] == sorted((t["score"] for t in tags), reverse=True)
    assert tags[0]["evidence"]["title"]


def test_tag_an_html_file_extracts_it_first(capsys, tmp_path):
    release = RELEASES[1650]
    page = tmp_path / "page.html"
    page.write_text(render_detail_page(release, views=1), encoding="utf-8")
    code, out, _ = run(capsys, "tag", str(page), "--url", page_url(release))
    assert code == 0
    assert json.loads(out)[0]["chain"] == "新一代信息技术"


def test_subscribe_add_list_remove(capsys, store):
    code, out, _ = run(
        capsys, "subscribe", "add", "desk@example.com", "--chain", "低空经济", "--keyword", "無人機"
    )
    assert code == 0 and "subscribed" in out
    code, out, _ = run(
        capsys, "subscribe", "add", "desk@example.com", "--chain", "低空经济", "--keyword", "無人機"
    )
    assert "already subscribed" in out
    code, out, _ = run(capsys, "subscribe", "list")
    assert "desk@example.com" in out and "低空经济" in out and "无人机" in out  # keyword stored simplified
    code, out, _ = run(capsys, "subscribe", "remove", "desk@example.com")
    assert code == 0 and "removed 1" in out
    _, out, _ = run(capsys, "subscribe", "list")
    assert "no subscriptions" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["subscribe", "add", "not-an-address", "--chain", "低空经济"], "not an email address"),
        (["subscribe", "add", "a@example.com", "--chain", "区块链"], "unknown chain"),
        (["subscribe", "add", "a@example.com", "--source", "nowhere"], "unknown source"),
        (["subscribe", "remove", "999"], "no active subscription"),
    ],
)
def test_bad_subscription_input_is_refused_with_a_clear_message(capsys, store, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err


def test_sources_lists_every_spider_and_can_disable_one(capsys, store):
    code, out, _ = run(capsys, "sources")
    assert code == 0 and "qd_press" in out and "青岛市人民政府新闻办公室" in out and "enabled" in out
    code, out, _ = run(capsys, "sources", "disable", "qd_press")
    assert "disabled" in out
    code, _, err = run(capsys, "sources", "disable", "nowhere")
    assert code == 1 and "no source" in err
    code, _, err = run(capsys, "sources", "disable")
    assert code == 1 and "needs a source code" in err


def test_sources_retry_owes_the_given_up_pages_of_a_source_again(capsys, store):
    store.owe("qd_press", [(f"{CANONICAL_BASE}/a.html", "http://127.0.0.1/a.html")])
    assert store.detail_failed(
        "qd_press",
        f"{CANONICAL_BASE}/a.html",
        "http://127.0.0.1/a.html",
        "too_large",
        "20 MB",
        retry_limit=1,
    )
    code, out, _ = run(capsys, "sources")
    assert "owed=0 given_up=1" in out
    code, out, _ = run(capsys, "sources", "retry", "qd_press")
    assert code == 0 and "1 given-up pages of qd_press owed again" in out and "owed=1 given_up=0" in out
    assert store.owed_detail_urls("qd_press") == [(f"{CANONICAL_BASE}/a.html", "http://127.0.0.1/a.html")]


def test_db_migrate_twice_reports_up_to_date(capsys, db_url):
    code, out, _ = run(capsys, "db", "migrate")
    assert code == 0 and "up to date" in out


def _write_text(path: Path, release) -> Path:
    path.write_text(release.list_title + "\n" + "\n".join(release.paragraphs), encoding="utf-8")
    return path


def test_compare_tells_a_repost_from_another_conference_of_the_series(capsys, tmp_path):
    original = _write_text(tmp_path / "1702.txt", RELEASES[1702])
    repost = _write_text(tmp_path / "1703.txt", RELEASES[1703])
    sibling = _write_text(tmp_path / "1688.txt", RELEASES[1688])
    _, out, _ = run(capsys, "compare", str(original), str(repost))
    same = json.loads(out)
    assert same["same_release"] is True and 0.5 < same["similarity"] < 1
    _, out, _ = run(capsys, "compare", str(original), str(sibling))
    different = json.loads(out)
    assert different["same_release"] is False and different["similarity"] < same["similarity"]


def test_compare_a_page_with_its_traditional_character_text(capsys, tmp_path):
    import opencc

    release = RELEASES[2023]
    page = tmp_path / "page.html"
    page.write_text(render_detail_page(release, views=3), encoding="utf-8")
    traditional = tmp_path / "trad.txt"
    text = release.list_title + "\n" + "\n".join(release.paragraphs)
    traditional.write_text(opencc.OpenCC("s2t").convert(text), encoding="utf-8")
    _, out, _ = run(capsys, "compare", str(page), str(traditional), "--url-a", page_url(release))
    assert json.loads(out) == {"same_release": True, "similarity": 1.0}


def test_retag_with_another_scheme_keeps_the_current_schemes_tags(capsys, store, config):
    from pressmon import steps
    from tests.pages import add_page

    add_page(
        store, RELEASES[1003]
    )  # integrated circuits: 集成电路 in the 2023 scheme, 新一代信息技术 in 10+1
    steps.process(config)
    code, out, _ = run(capsys, "retag", "--scheme", "qingdao-emerging10-2023")
    assert code == 0 and json.loads(out.splitlines()[-1])["releases"] == 1
    with store.transaction() as cur:
        cur.execute(
            "SELECT scheme, chain, current_scheme FROM reporting.release_chains ORDER BY scheme, score DESC"
        )
        rows = [(r["scheme"], r["chain"], r["current_scheme"]) for r in cur.fetchall()]
    assert ("qingdao-10plus1-2025", "新一代信息技术", True) in rows
    assert ("qingdao-emerging10-2023", "集成电路", False) in rows
    with store.transaction() as cur:
        cur.execute("SELECT chains FROM reporting.releases")
        assert cur.fetchone()["chains"][0] == "新一代信息技术"


def test_retag_twice_gives_the_same_tags(capsys, store, config):
    from pressmon import steps
    from tests.pages import add_page

    add_page(store, RELEASES[2061])
    steps.process(config)

    def tags():
        with store.transaction() as cur:
            cur.execute("SELECT chain, score, evidence FROM reporting.release_chains ORDER BY chain")
            return cur.fetchall()

    before = tags()
    run(capsys, "retag")
    assert tags() == before


def test_retag_with_an_unknown_scheme_is_a_clear_error(capsys, store):
    code, _, err = run(capsys, "retag", "--scheme", "nope")
    assert code == 1 and "no scheme 'nope'" in err


def test_tags_of_an_earlier_scheme_are_carried_to_the_current_one_through_the_crosswalk(
    capsys, store, config
):
    from pressmon import steps
    from tests.pages import add_page

    add_page(store, RELEASES[1003])
    steps.process(config)
    run(capsys, "retag", "--scheme", "qingdao-emerging10-2023")
    with store.transaction() as cur:
        cur.execute(
            """SELECT from_chain, to_chain FROM reporting.chain_crosswalk
                WHERE from_scheme = 'qingdao-emerging10-2023' AND from_chain = '集成电路'"""
        )
        assert [tuple(r.values()) for r in cur.fetchall()] == [("集成电路", "新一代信息技术")]
        cur.execute(
            "SELECT chain, via_scheme, via_chain FROM reporting.release_chains_current ORDER BY via_scheme"
        )
        rows = [tuple(r.values()) for r in cur.fetchall()]
    assert ("新一代信息技术", "qingdao-10plus1-2025", "新一代信息技术") in rows
    assert ("新一代信息技术", "qingdao-emerging10-2023", "集成电路") in rows
