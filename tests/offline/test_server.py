"""The offline copy of qd_press's site, fetched over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from pressmon.offline import qd_press
from pressmon.offline.server import DEFAULT_RELEASES_DIR, OfflineSite, OfflineSites, OffsiteServer

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_INDEX = "/xwfbHtml/wangqihuigu/index.html"
RELEASE_COUNT = 20
FIRST_ID = 400
FIRST_DAY = date(2023, 1, 5)
LIST_ITEM = re.compile(
    r'<li><a href="(?P<href>[^"]+)" title="(?P<title>[^"]*)">(?P=title)</a>'
    r'<span class="date">(?P<date>[0-9-]+)</span></li>'
)
NEXT_LINK = re.compile(r'<a href="([^"]+)">下一页</a>')
HREF = re.compile(r'(?:href|src|action)="([^"]*)"')
ABSOLUTE_URL = re.compile(r"https?://|(?:href|src|action)=\"//")
VIEWS = re.compile(r"浏览：([0-9]+)")


def release_id(index: int) -> int:
    """Return the id of the index-th generated release; ids grow but skip numbers."""
    return FIRST_ID + index * 7 + index % 3


def release_json(index: int) -> dict:
    """Return the JSON of the index-th generated release (0 is the oldest)."""
    published = FIRST_DAY + timedelta(days=9 * (index - 1 if index == 6 else index))
    title = f"《第{index}场“测试主题”情况》新闻发布会"
    title_lines = {0: [], 3: [title, f"《第{index}场“另一主题”情况》新闻发布会"]}.get(index, [title])
    attachments = (
        [{"name": f"附件{index}：政策原文", "file": f"P020230{index:02d}123456.pdf"}] if index == 12 else []
    )
    return {
        "id": release_id(index),
        "published": published.isoformat(),
        "list_title": title,
        "title_lines": title_lines,
        "date_line": index >= 15,
        "views": 100 + index,
        "paragraphs": [
            "主持人：各位记者朋友们：",
            f"大家上午好！这是第{index}场发布会。",
            f"王某某：第{index}场的内容<如下>。",
        ],
        "repeat_body": index == 10,
        "attachments": attachments,
        "chains": [],
        "same_release_as": None,
        "notes": "generated for tests",
    }


@pytest.fixture
def releases_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "releases"
    folder.mkdir()
    for index in range(RELEASE_COUNT):
        data = release_json(index)
        (folder / f"{data['id']}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "README.md").write_text("not a release", encoding="utf-8")
    return folder


@pytest.fixture
def site(releases_dir: Path) -> Iterator[OfflineSite]:
    with OfflineSite(releases_dir) as running:
        yield running


def fetch(site: OfflineSite, path: str, *, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """GET path without following redirects; return status, headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def page_text(site: OfflineSite, path: str) -> str:
    """GET a page that must exist and return its UTF-8 text."""
    status, headers, body = fetch(site, path)
    assert status == 200, path
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    return body.decode("utf-8")


def list_items(html: str) -> list[re.Match[str]]:
    return list(LIST_ITEM.finditer(html))


def item_path(page_path: str, item: re.Match[str]) -> str:
    return urlsplit(urljoin(page_path, item["href"])).path


def test_load_releases_sorts_by_date_then_id(releases_dir: Path) -> None:
    releases = qd_press.load_releases(releases_dir)

    assert len(releases) == RELEASE_COUNT
    assert releases[5].published == releases[6].published and releases[5].id < releases[6].id
    assert [(r.published, r.id) for r in releases] == sorted((r.published, r.id) for r in releases)
    first = releases[0]
    assert first.id == FIRST_ID
    assert first.published == FIRST_DAY
    assert first.title_lines == ()
    assert first.paragraphs[0] == "主持人：各位记者朋友们："


def test_load_releases_rejects_a_file_named_after_another_id(releases_dir: Path) -> None:
    (releases_dir / "999.json").write_text(json.dumps(release_json(0), ensure_ascii=False), encoding="utf-8")

    with pytest.raises(ValueError, match=r"999\.json"):
        qd_press.load_releases(releases_dir)


def test_detail_path_follows_the_real_url_scheme(releases_dir: Path) -> None:
    release = qd_press.load_releases(releases_dir)[1]

    assert qd_press.detail_path(release) == "/xwfbHtml/wangqihuigu/2023/0114/408.html"
    assert qd_press.parse_detail_path("/xwfbHtml/wangqihuigu/2023/0114/408.html") == 408
    assert qd_press.parse_list_path("/xwfbHtml/wangqihuigu/index_2.html") == 3
    assert qd_press.list_path(3) == "/xwfbHtml/wangqihuigu/index_2.html"


def test_list_pages_hold_fifteen_items_newest_first(site: OfflineSite) -> None:
    first = page_text(site, ARCHIVE_INDEX)
    second = page_text(site, "/xwfbHtml/wangqihuigu/index_1.html")
    items = list_items(first) + list_items(second)

    assert [len(list_items(first)), len(list_items(second))] == [15, 5]
    assert "共2页" in first and "共2页" in second
    assert [m["date"] for m in items] == sorted((m["date"] for m in items), reverse=True)
    newest = site.releases[-1]
    assert items[0]["title"] == newest.list_title
    assert items[0]["date"] == newest.published.isoformat()
    assert [item_path(ARCHIVE_INDEX, m) for m in items] == [
        qd_press.detail_path(r) for r in reversed(site.releases)
    ]
    assert fetch(site, "/xwfbHtml/wangqihuigu/index_2.html")[0] == 404
    assert page_text(site, "/xwfbHtml/wangqihuigu/") == page_text(site, ARCHIVE_INDEX)


def test_list_items_mix_relative_and_root_relative_links(site: OfflineSite) -> None:
    hrefs = [m["href"] for m in list_items(page_text(site, ARCHIVE_INDEX))]

    assert any(href.startswith("./") for href in hrefs)
    assert any(href.startswith("/xwfbHtml/wangqihuigu/") for href in hrefs)


def test_next_links_walk_every_list_page(site: OfflineSite) -> None:
    path: str | None = ARCHIVE_INDEX
    seen: list[str] = []
    while path:
        html = page_text(site, path)
        seen += [item_path(path, m) for m in list_items(html)]
        following = NEXT_LINK.search(html)
        path = urlsplit(urljoin(path, following[1])).path if following else None

    assert len(seen) == len(set(seen)) == RELEASE_COUNT
    assert all(fetch(site, detail)[0] == 200 for detail in seen)


def test_detail_page_shows_title_lines_counter_and_boilerplate(site: OfflineSite) -> None:
    release = site.releases[3]
    html = page_text(site, qd_press.detail_path(release))

    assert f"<title>{release.list_title}-往期回顾-青岛新闻发布</title>" in html
    assert '<meta charset="utf-8">' in html
    assert [f"<h1>{release.title_lines[0]}</h1>", f"<h2>{release.title_lines[1]}</h2>"] == re.findall(
        r"<h[12]>[^<]*</h[12]>", html
    )
    assert VIEWS.findall(html) == [str(release.views + 1)]
    assert "发布会日期" not in html
    assert "<p>\u3000\u3000主持人：各位记者朋友们：</p>" in html
    assert "王某某：第3场的内容&lt;如下&gt;。" in html
    for boilerplate in (
        "青岛市人民政府新闻办公室",
        "当前位置：",
        "发布会直播",
        "政策解读",
        "分享到：",
        "QQ空间",
        "扫一扫在手机打开当前页",
        "上一篇：",
        "下一篇：",
        "主办：青岛市人民政府新闻办公室",
        "ICP备",
        "版权所有",
    ):
        assert boilerplate in html


def test_page_without_title_lines_has_no_title_element(site: OfflineSite) -> None:
    html = page_text(site, qd_press.detail_path(site.releases[0]))

    assert 'class="detail-title"' not in html
    assert "<h1>" not in html
    assert f"<title>{site.releases[0].list_title}-往期回顾-青岛新闻发布</title>" in html


def test_view_counter_is_the_only_difference_between_two_fetches(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[5])

    first, second = page_text(site, path), page_text(site, path)

    assert int(VIEWS.search(second)[1]) == int(VIEWS.search(first)[1]) + 1
    assert first != second
    assert VIEWS.sub("", first) == VIEWS.sub("", second)


def test_view_counter_counts_concurrent_requests(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[7])
    threads = [threading.Thread(target=fetch, args=(site, path)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert VIEWS.findall(page_text(site, path)) == [str(site.releases[7].views + 9)]


def test_date_line_shows_the_conference_date(site: OfflineSite) -> None:
    release = site.releases[16]
    html = page_text(site, qd_press.detail_path(release))

    assert release.date_line
    assert f"发布会日期：{release.published.year}年{release.published:%m}月{release.published:%d}日" in html


def test_repeat_body_shows_the_transcript_twice(site: OfflineSite) -> None:
    repeated = page_text(site, qd_press.detail_path(site.releases[10]))
    single = page_text(site, qd_press.detail_path(site.releases[9]))

    assert repeated.count("大家上午好！这是第10场发布会。") == 2
    assert repeated.count("主持人：各位记者朋友们：") == 2
    assert single.count("大家上午好！这是第9场发布会。") == 1


def test_neighbour_links_point_to_older_and_newer_pages(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[4])
    html = page_text(site, path)
    older = re.search(r'上一篇：<a href="([^"]+)"', html)[1]
    newer = re.search(r'下一篇：<a href="([^"]+)"', html)[1]

    assert urljoin(path, older) == qd_press.detail_path(site.releases[3])
    assert urljoin(path, newer) == qd_press.detail_path(site.releases[5])
    assert "下一篇：没有了" in page_text(site, qd_press.detail_path(site.releases[-1]))


def test_attachments_are_linked_and_served_as_pdf(site: OfflineSite) -> None:
    release = site.releases[12]
    path = qd_press.detail_path(release)
    html = page_text(site, path)
    attachment = release.attachments[0]
    href = re.search(r'附件：</p>\s*<ul>\s*<li><a href="([^"]+)"[^>]*>([^<]+)</a>', html)

    assert href[1] == f"./{attachment.file}" and href[2] == attachment.name
    status, headers, body = fetch(site, urljoin(path, href[1]))
    assert status == 200
    assert headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF-1.4\n") and body.endswith(b"%%EOF\n")
    assert len(body) < 1000


def test_attachment_pdf_has_a_consistent_cross_reference_table() -> None:
    pdf = qd_press.render_attachment_pdf("P020230223123456.pdf")
    xref = int(re.search(rb"startxref\n([0-9]+)\n", pdf)[1])
    offsets = [int(offset) for offset in re.findall(rb"([0-9]{10}) 00000 n ", pdf)]

    assert pdf[xref:].startswith(b"xref\n0 6\n")
    assert [pdf[offset:].split(b"\n", 1)[0] for offset in offsets] == [b"%d 0 obj" % n for n in range(1, 6)]
    assert b"P020230223123456.pdf" in pdf


def test_publish_puts_new_pages_on_top_of_page_one(releases_dir: Path) -> None:
    with OfflineSite(releases_dir, published=15) as site:
        newest_before = site.visible[-1]
        unpublished = qd_press.detail_path(site.releases[15])
        before = list_items(page_text(site, ARCHIVE_INDEX))
        assert len(before) == 15 and "共1页" in page_text(site, ARCHIVE_INDEX)
        assert fetch(site, unpublished)[0] == 404
        assert "下一篇：没有了" in page_text(site, qd_press.detail_path(newest_before))

        published = site.publish(2)

        after = list_items(page_text(site, ARCHIVE_INDEX))
        second = list_items(page_text(site, "/xwfbHtml/wangqihuigu/index_1.html"))
        assert published == site.releases[15:17]
        assert len(site.visible) == 17
        assert [m["title"] for m in after[:2]] == [site.releases[16].list_title, site.releases[15].list_title]
        assert after[2]["title"] == newest_before.list_title
        assert [m["title"] for m in second] == [site.releases[1].list_title, site.releases[0].list_title]
        assert fetch(site, unpublished)[0] == 200
        assert site.releases[15].list_title in page_text(site, qd_press.detail_path(newest_before))


def test_publish_stops_at_the_last_release(releases_dir: Path) -> None:
    with OfflineSite(releases_dir, published=RELEASE_COUNT - 1) as site:
        assert site.publish(5) == site.releases[-1:]
        assert site.publish() == ()


def test_unpublished_pages_are_absent_everywhere(releases_dir: Path) -> None:
    with OfflineSite(releases_dir, published=0) as site:
        html = page_text(site, ARCHIVE_INDEX)

        assert list_items(html) == []
        assert "共1页" in html
        assert fetch(site, qd_press.detail_path(site.releases[0]))[0] == 404
        assert (
            fetch(site, qd_press.attachment_path(site.releases[12], site.releases[12].attachments[0]))[0]
            == 404
        )


def test_unknown_and_misdated_paths_are_404(site: OfflineSite) -> None:
    release = site.releases[2]
    misdated = f"/xwfbHtml/wangqihuigu/1999/0101/{release.id}.html"

    assert fetch(site, misdated)[0] == 404
    assert fetch(site, "/xwfbHtml/wangqihuigu/2023/0101/1.html")[0] == 404
    assert fetch(site, "/admin/")[0] == 404


def test_robots_txt_disallows_search_and_admin_only(site: OfflineSite) -> None:
    status, headers, body = fetch(site, "/robots.txt")

    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert body.decode("ascii").splitlines() == [
        "User-agent: *",
        "Disallow: /xwfbHtml/search/",
        "Disallow: /admin/",
    ]


@pytest.mark.parametrize("path", ["/", "/xwfbHtml/", "/xwfbHtml"])
def test_site_roots_redirect_to_the_archive_index(site: OfflineSite, path: str) -> None:
    status, headers, _ = fetch(site, path)

    assert status == 302
    assert headers["Location"] == ARCHIVE_INDEX


@pytest.mark.parametrize("kind", ["500", "503", "404"])
def test_error_faults_answer_with_their_status(site: OfflineSite, kind: str) -> None:
    path = qd_press.detail_path(site.releases[2])
    site.set_fault(path, kind)

    assert fetch(site, path)[0] == int(kind)
    assert fetch(site, path)[0] == int(kind)
    site.clear_faults()
    assert fetch(site, path)[0] == 200


def test_a_fault_can_last_a_given_number_of_requests(site: OfflineSite) -> None:
    site.set_fault(ARCHIVE_INDEX, "503", times=1)

    assert [fetch(site, ARCHIVE_INDEX)[0] for _ in range(2)] == [503, 200]


def test_unknown_fault_kinds_are_rejected(site: OfflineSite) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        site.set_fault(ARCHIVE_INDEX, "slow")


def test_timeout_fault_stalls_then_answers(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[2])
    site.timeout_delay = 1.0
    site.set_fault(path, "timeout")

    with pytest.raises(TimeoutError):
        fetch(site, path, timeout=0.3)
    started = time.monotonic()
    assert fetch(site, path, timeout=5)[0] == 200
    assert time.monotonic() - started >= 0.9


def test_stopping_the_site_ends_a_stalled_request(releases_dir: Path) -> None:
    site = OfflineSite(releases_dir).start()
    site.set_fault(ARCHIVE_INDEX, "timeout")
    outcome: list[BaseException | int] = []

    def client() -> None:
        try:
            outcome.append(fetch(site, ARCHIVE_INDEX, timeout=20)[0])
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.5)
    stopped = time.monotonic()
    site.stop()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert time.monotonic() - stopped < 3
    assert isinstance(outcome[0], (OSError, http.client.HTTPException))


def test_truncate_fault_sends_a_third_of_the_announced_body(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[2])
    site.set_fault(path, "truncate")
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    announced = int(response.getheader("Content-Length"))

    with pytest.raises(http.client.IncompleteRead) as error:
        response.read()
    connection.close()

    assert response.status == 200
    assert announced > 3000
    assert len(error.value.partial) == announced // 3
    assert error.value.partial.decode("utf-8", errors="ignore").startswith("<!DOCTYPE html>")


def test_wrong_charset_fault_sends_gb18030_labelled_utf8(site: OfflineSite) -> None:
    release = site.releases[2]
    path = qd_press.detail_path(release)
    site.set_fault(path, "wrong-charset")

    status, headers, body = fetch(site, path)

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    html = body.decode("gb18030")
    assert '<meta charset="utf-8">' in html
    assert release.list_title in html


def test_gbk_fault_sends_correctly_labelled_gbk(site: OfflineSite) -> None:
    release = site.releases[-1]
    site.set_fault(ARCHIVE_INDEX, "gbk")
    site.set_fault(qd_press.detail_path(release), "gbk")

    for path in (ARCHIVE_INDEX, qd_press.detail_path(release)):
        status, headers, body = fetch(site, path)
        html = body.decode("gbk")
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=gbk"
        assert '<meta charset="gbk">' in html
        assert release.list_title in html


def test_requests_record_method_path_and_status(site: OfflineSite) -> None:
    site.set_fault(ARCHIVE_INDEX, "500")
    for path in ("/robots.txt", ARCHIVE_INDEX, "/", "/nothing-here.html"):
        fetch(site, path)

    assert site.requests == [
        ("GET", "/robots.txt", 200),
        ("GET", ARCHIVE_INDEX, 500),
        ("GET", "/", 302),
        ("GET", "/nothing-here.html", 404),
    ]


def test_serving_writes_nothing_to_stderr(site: OfflineSite, capfd: pytest.CaptureFixture[str]) -> None:
    fetch(site, ARCHIVE_INDEX)
    fetch(site, "/nothing-here.html")

    assert capfd.readouterr().err == ""


def test_no_page_links_outside_the_machine(site: OfflineSite) -> None:
    queue, seen = ["/", "/robots.txt"], set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = fetch(site, path)
        assert status in (200, 302), path
        assert not ABSOLUTE_URL.search(body.decode("latin-1")), path
        if "Location" in headers:
            queue.append(headers["Location"])
        if headers["Content-Type"].startswith("text/html"):
            links = (urljoin(path, href) for href in HREF.findall(body.decode("utf-8")) if href != "#")
            queue += [urlsplit(link).path for link in links if not link.startswith(qd_press.SEARCH_PATH)]

    assert len([path for path in seen if qd_press.parse_detail_path(path)]) == RELEASE_COUNT


def test_rendered_error_and_fault_pages_have_no_absolute_urls(site: OfflineSite) -> None:
    for status in (404, 500, 503):
        assert not ABSOLUTE_URL.search(qd_press.render_error_page(status))
    site.set_fault(ARCHIVE_INDEX, "503")
    assert not ABSOLUTE_URL.search(fetch(site, ARCHIVE_INDEX)[2].decode("utf-8"))


def test_published_must_fit_the_releases(releases_dir: Path) -> None:
    with pytest.raises(ValueError, match="published"):
        OfflineSite(releases_dir, published=RELEASE_COUNT + 1)


def test_command_line_serves_until_interrupted(releases_dir: Path) -> None:
    command = [sys.executable, "-m", "pressmon.offline.server", "--port", "0", "--published", "3"]
    process = subprocess.Popen(
        [*command, "--releases-dir", str(releases_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        variable, _, base_url = process.stdout.readline().strip().partition("=")
        assert variable == "PRESSMON_BASE_URL_QD_PRESS"
        port = urlsplit(base_url).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", ARCHIVE_INDEX)
        html = connection.getresponse().read().decode("utf-8")
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)

    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+", base_url)
    assert len(list_items(html)) == 3
    assert process.returncode == 0


def test_bundled_releases_load_and_serve() -> None:
    assert len(list(DEFAULT_RELEASES_DIR.glob("*.json"))) >= 40, "the offline copy holds at least 40 pages"
    with OfflineSite() as site:
        first = list_items(page_text(site, ARCHIVE_INDEX))
        assert first[0]["title"] == site.releases[-1].list_title
        for release in site.releases:
            html = page_text(site, qd_press.detail_path(release))
            assert release.list_title in html
            assert not ABSOLUTE_URL.search(html)
        seed = next(r for r in site.releases if r.id == 1206)
        assert qd_press.detail_path(seed) == "/xwfbHtml/wangqihuigu/2023/0223/1206.html"
        assert seed.repeat_body


# -- faults of the fault matrix (tests/faults) ----------------------------------------------------------


def test_redirect_offsite_fault_sends_the_client_to_another_loopback_host(releases_dir: Path) -> None:
    with OffsiteServer() as offsite, OfflineSite(releases_dir, offsite_base_url=offsite.base_url) as site:
        path = qd_press.detail_path(site.releases[2])
        site.set_fault(path, "redirect-offsite")

        status, headers, _ = fetch(site, path)
        host, port = urlsplit(headers["Location"]).hostname, urlsplit(headers["Location"]).port
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("GET", urlsplit(headers["Location"]).path)
        followed = connection.getresponse()
        followed.read()
        connection.close()

        assert status == 302
        assert headers["Location"] == offsite.base_url + path
        assert host == "127.0.0.2"
        assert followed.status == 200
        assert offsite.requests == [("GET", path, 200)]


def test_the_offsite_server_records_nothing_until_asked() -> None:
    with OffsiteServer() as offsite:
        assert re.fullmatch(r"http://127\.0\.0\.2:[0-9]+", offsite.base_url)
        assert offsite.requests == []


def test_blocked_fault_serves_a_captcha_page_with_http_200(site: OfflineSite) -> None:
    release = site.releases[2]
    path = qd_press.detail_path(release)
    site.set_fault(path, "blocked")

    html = page_text(site, path)

    assert "<title>访问受限</title>" in html
    assert "验证码" in html and 'name="captcha"' in html
    assert release.list_title not in html
    assert qd_press.OFFICE_NAME not in html
    assert not ABSOLUTE_URL.search(html)
    site.clear_faults()
    assert release.list_title in page_text(site, path)


def test_blocked_fault_on_the_first_list_page_hides_every_item(site: OfflineSite) -> None:
    site.set_fault(ARCHIVE_INDEX, "blocked")

    html = page_text(site, ARCHIVE_INDEX)

    assert list_items(html) == []
    assert "下一页" not in html and "访问受限" in html


def test_huge_fault_streams_a_page_of_twenty_megabytes_without_a_length(site: OfflineSite) -> None:
    release = site.releases[4]
    path = qd_press.detail_path(release)
    site.set_fault(path, "huge")

    status, headers, body = fetch(site, path, timeout=30)

    assert status == 200
    assert "Content-Length" not in headers
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert len(body) >= 20 * 1024 * 1024
    html = body.decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")
    assert release.list_title in html
    assert html.count(qd_press.OVERSIZE_ROW) > 100_000
    assert "\x00" not in html


def test_huge_fault_size_can_be_set(site: OfflineSite) -> None:
    path = qd_press.detail_path(site.releases[4])
    site.huge_page_bytes = 300_000
    site.set_fault(path, "huge")

    _, _, body = fetch(site, path)

    assert 300_000 <= len(body) < 300_000 + 70_000


def test_robots_disallow_fault_forbids_the_archive(site: OfflineSite) -> None:
    site.set_fault("/robots.txt", "robots-disallow")

    _, _, body = fetch(site, "/robots.txt")

    assert "Disallow: /xwfbHtml/wangqihuigu/" in body.decode("ascii").splitlines()
    site.clear_faults()
    assert "wangqihuigu" not in fetch(site, "/robots.txt")[2].decode("ascii")


def test_pagination_loop_fault_links_the_next_page_back_to_the_first(releases_dir: Path) -> None:
    with OfflineSite(releases_dir) as site:
        second = qd_press.list_path(2)
        site.set_fault(second, "pagination-loop")

        html = page_text(site, second)

        assert NEXT_LINK.search(html)[1] == "./index.html"
        assert len(list_items(html)) == RELEASE_COUNT - 15
        assert NEXT_LINK.search(page_text(site, ARCHIVE_INDEX))[1] == "./index_1.html"


def test_empty_list_fault_keeps_pagination_but_lists_no_item(site: OfflineSite) -> None:
    site.set_fault(ARCHIVE_INDEX, "empty-list")

    html = page_text(site, ARCHIVE_INDEX)

    assert list_items(html) == []
    assert not any(qd_press.parse_detail_path(urlsplit(href).path) for href in HREF.findall(html))
    assert NEXT_LINK.search(html)[1] == "./index_1.html"
    assert "共2页" in html and f"共{RELEASE_COUNT}条" in html


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/robots.txt", "pagination-loop"),
        ("/xwfbHtml/wangqihuigu/2023/0114/408.html", "empty-list"),
        (ARCHIVE_INDEX, "huge"),
        (ARCHIVE_INDEX, "robots-disallow"),
    ],
)
def test_faults_for_one_kind_of_page_are_refused_elsewhere(site: OfflineSite, path: str, kind: str) -> None:
    with pytest.raises(ValueError, match=kind):
        site.set_fault(path, kind)


# -- every source, one listener per host ------------------------------------------------------------------


SAMPLE = """\
code = "{code}"
agency = "某某市人民政府办公厅"
family = "links"
base_url = "https://{host}"
lists = ["/xwfb/"]
pagination = "next_link"
detail_url = '/xwfb/t\\d+\\.html$'
structure_from = "a test"
"""


@pytest.fixture
def declared(tmp_path: Path) -> tuple[dict, Path]:
    """qd_press, two static sources sharing one host, and one source without offline pages."""
    from pressmon import sources

    registry_dir, sites_dir = tmp_path / "registry", tmp_path / "sites"
    registry_dir.mkdir()
    for code, host in (
        ("gov_a", "www.a.gov.cn"),
        ("gov_a2", "www.a.gov.cn"),
        ("gov_none", "www.none.gov.cn"),
    ):
        (registry_dir / f"{code}.toml").write_text(SAMPLE.format(code=code, host=host), encoding="utf-8")
    for code, listing, detail in (
        ("gov_a", "xwfb/index.html", "xwfb/t1.html"),
        ("gov_a2", "", "xwfb/t2.html"),
    ):
        folder = sites_dir / code
        for name, text in (
            (listing, '<a href="t1.html">一</a><a href="index_1.html">下一页</a>'),
            (detail, "正文"),
        ):
            if name:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(f"<html><body>{text}</body></html>", encoding="utf-8")
    found = {**sources.registry(), **sources.registry(registry_dir)}
    return found, sites_dir


def get_from(base_url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_every_source_is_served_on_its_host_listener_and_a_source_without_pages_is_skipped(declared):
    found, sites_dir = declared
    with OfflineSites(declared=found, sites_dir=sites_dir) as sites:
        urls = sites.base_urls
        assert set(urls) == {"qd_press", "gov_a", "gov_a2"}
        assert "gov_none" in sites.skipped and "no pages" in sites.skipped["gov_none"]
        assert urls["gov_a"] == urls["gov_a2"] != urls["qd_press"]
        assert sites.env()["PRESSMON_BASE_URL_GOV_A"] == urls["gov_a"]
        status, body = get_from(urls["gov_a"], "/xwfb/")
        assert status == 200 and "下一页" in body.decode()
        assert get_from(urls["gov_a2"], "/xwfb/t2.html") == (200, "<html><body>正文</body></html>".encode())
        assert get_from(urls["gov_a"], "/xwfb/nothing.html")[0] == 404
        assert get_from(urls["gov_a"], "/../../etc/passwd")[0] == 404
        assert get_from(urls["qd_press"], ARCHIVE_INDEX)[0] == 200
        assert ("GET", "/xwfb/t2.html", 200) in sites["gov_a2"].requests


def test_a_fault_on_one_source_leaves_the_others_untouched(declared):
    found, sites_dir = declared
    with OfflineSites(declared=found, sites_dir=sites_dir) as sites:
        sites["gov_a"].set_fault("/xwfb/index.html", "503")
        assert get_from(sites["gov_a"].base_url, "/xwfb/index.html")[0] == 503
        assert get_from(sites["gov_a2"].base_url, "/xwfb/t2.html")[0] == 200
        assert get_from(sites["qd_press"].base_url, ARCHIVE_INDEX)[0] == 200
        sites["qd_press"].set_fault(ARCHIVE_INDEX, "500", times=1)
        assert get_from(sites["qd_press"].base_url, ARCHIVE_INDEX)[0] == 500
        assert get_from(sites["gov_a"].base_url, "/xwfb/t1.html")[0] == 200


def test_parse_errors_fault_serves_the_detail_page_without_its_article(site: OfflineSite) -> None:
    release = site.releases[4]
    path = qd_press.detail_path(release)
    site.set_fault(path, "parse-errors")

    html = page_text(site, path)

    assert release.list_title in html and "浏览：" in html
    assert not any(paragraph in html for paragraph in release.paragraphs)
    assert '<div class="detail-content" id="zoom"></div>' in html
    assert release.paragraphs[0] in page_text(site, qd_press.detail_path(site.releases[5]))


def test_encoding_error_fault_sends_bytes_no_charset_reads_cleanly(site: OfflineSite) -> None:
    from parsers.decode import decode_html

    detail = qd_press.detail_path(site.releases[3])
    for path in (ARCHIVE_INDEX, detail):
        site.set_fault(path, "encoding-error")
        status, headers, body = fetch(site, path)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(headers["Content-Length"]) == len(body)
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert decode_html(body, headers["Content-Type"]).method == "lossy", path


def fetch_with(base_url: str, path: str, cookie: str | None = None) -> tuple[int, str | None]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Set-Cookie")


def test_an_anti_bot_gate_answers_403_until_its_cookie_comes_back() -> None:
    with OfflineSites() as sites:
        base = sites["stats_zxfb"].base_url
        assert fetch_with(base, "/sj/zxfb/")[0] == 403
        status, cookie = fetch_with(base, "/")
        assert status == 200 and cookie is not None and cookie.startswith("wzws_sessionid=")
        assert fetch_with(base, "/sj/zxfb/", cookie.split(";")[0])[0] == 200


def test_a_list_api_answers_only_with_the_cookie_its_list_page_set() -> None:
    from pressmon.sources import get
    from pressmon.sources.families import family_of

    source = get("miit_wjfb")
    family = family_of(source)
    with OfflineSites() as sites:
        base = sites["miit_wjfb"].base_url
        shell = family.first_requests(source)[0]
        status, cookie = fetch_with(base, urlsplit(shell.url).path)
        assert status == 200 and cookie is not None
        shell_text = (sites["miit_wjfb"].directory / family.offline_path(shell.url)).read_text(
            encoding="utf-8"
        )
        api = family.parse_list(source, shell, shell.url, shell_text).next[0].url
        path = urlsplit(api).path + "?" + urlsplit(api).query
        assert fetch_with(base, path)[0] == 403
        assert fetch_with(base, path, cookie.split(";")[0])[0] == 200


def test_a_source_s_other_host_is_served_under_its_host_prefix() -> None:
    with OfflineSites() as sites:
        site = sites["qingdaonews_qd"]
        article = next(p for p in site.directory.rglob("content_*.htm"))
        relative = article.relative_to(site.directory).as_posix()
        assert fetch_with(site.base_url, f"/_host/news.qingdaonews.com/{relative}")[0] == 200
        assert fetch_with(site.base_url, f"/_host/elsewhere.example/{relative}")[0] == 404
