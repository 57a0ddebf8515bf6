"""Extraction of every detail page of the offline copy of qd_press's site, checked against its release JSON."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache

import pytest

from parsers.extract import Extraction, NotAnArticle, extract, extract_page
from parsers.normalize import simplify
from pressmon.offline import qd_press
from tests.conftest import CORPUS
from tests.corpus import needs_corpus

pytestmark = needs_corpus

RELEASES_DIR = qd_press.RELEASES_DIR
SITE = qd_press.real_url("")
VIEWS = 98765

# A speaker line of the introduction: "市科技局副局长 刘学辉同志；" (the seed page ends it with ";").
SPEAKER_LINE = re.compile(r"\s(?P<name>[\u4e00-\u9fff]{2,4})(?:同志|先生|女士)[；;。]$")
# "本场发布会由市科技局发布" / "由市民政局、市卫生健康委员会、市医疗保障局共同发布".
HOST_SENTENCE = re.compile(r"由(?P<host>[^，。；：“”\s]+?)(?:联合|共同)?发布")
# Page furniture the renderer puts around the transcript; none of it is release text.
FURNITURE = (
    qd_press.VIEWS_LABEL,
    "浏览",
    qd_press.FONT_SIZE_LABEL,
    qd_press.QR_HINT,
    "扫一扫",
    qd_press.SHARE_LABEL,
    "分享到",
    qd_press.OLDER_LABEL,
    "上一篇",
    "下一篇",
    *qd_press.TOOLS,
    qd_press.FOOTER_SPONSOR,
    qd_press.FOOTER_ICP,
    qd_press.FOOTER_COPYRIGHT,
    qd_press.FOOTER_HINT,
    *qd_press.FOOTER_LINKS,
    qd_press.BREADCRUMB_LABEL,
    qd_press.TOP_WELCOME,
    qd_press.ATTACHMENTS_LABEL,
)


def _release_json() -> dict[int, dict]:
    files = sorted(RELEASES_DIR.glob("*.json"))
    assert files, f"no releases under {RELEASES_DIR}"
    return {int(p.stem): json.loads(p.read_text(encoding="utf-8")) for p in files}


DATA = _release_json()
IDS = sorted(DATA, key=lambda i: (DATA[i]["published"], i))


def page_url(release_id: int) -> str:
    published = date.fromisoformat(DATA[release_id]["published"])
    return f"{SITE}/xwfbHtml/wangqihuigu/{published:%Y}/{published:%m%d}/{release_id}.html"


@cache
def rendered(release_id: int) -> str:
    """Render a detail page as the site serves it, with its older and newer neighbours linked."""
    releases = qd_press.load_releases(RELEASES_DIR)
    at = next(n for n, r in enumerate(releases) if r.id == release_id)
    older = releases[at - 1] if at > 0 else None
    newer = releases[at + 1] if at + 1 < len(releases) else None
    return qd_press.render_detail_page(releases[at], views=VIEWS, older=older, newer=newer)


@cache
def extracted(release_id: int) -> Extraction:
    return extract(rendered(release_id), page_url(release_id))


def expected_speakers(paragraphs: list[str]) -> list[str]:
    return [m["name"] for p in paragraphs if (m := SPEAKER_LINE.search(p))]


def expected_publisher(paragraphs: list[str]) -> str | None:
    for paragraph in paragraphs:
        if match := HOST_SENTENCE.search(paragraph):
            return match["host"]
    return None


def test_the_release_ids_are_the_page_urls_of_the_site() -> None:
    assert page_url(1206) == qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html")
    assert len(IDS) == len(qd_press.load_releases(RELEASES_DIR))


@pytest.mark.parametrize("release_id", IDS)
def test_title_is_the_list_title(release_id: int) -> None:
    data = DATA[release_id]
    title = extracted(release_id).title

    if data["list_title"] in data["title_lines"]:
        assert title == data["list_title"]
    else:
        # No title line carries the list title (none at all, or the title split over two lines):
        # the title must come from <title>, which reads "<list title>-往期回顾-青岛新闻发布".
        assert title.replace(" ", "") == data["list_title"].replace(" ", "")
        assert qd_press.SITE_NAME not in title
        assert qd_press.SECTION_NAME not in title


@pytest.mark.parametrize("release_id", IDS)
def test_published_at_is_the_conference_date(release_id: int) -> None:
    assert extracted(release_id).published_at == date.fromisoformat(DATA[release_id]["published"])


@pytest.mark.parametrize("release_id", IDS)
def test_body_is_the_transcript_exactly_once(release_id: int) -> None:
    paragraphs = DATA[release_id]["paragraphs"]
    got = extracted(release_id).paragraphs

    for paragraph in paragraphs:
        assert got.count(paragraph) == paragraphs.count(paragraph), paragraph
    assert list(got) == paragraphs


@pytest.mark.parametrize("release_id", IDS)
def test_the_simplified_body_extraction_carries_is_its_body_simplified(release_id: int) -> None:
    # Fingerprinting and tagging start from it instead of simplifying the body again.
    extraction = extracted(release_id)
    assert extraction.simplified_body == simplify(extraction.body)


@pytest.mark.parametrize("release_id", IDS)
def test_body_holds_no_page_furniture(release_id: int) -> None:
    body = extracted(release_id).body
    transcript = "\n".join(DATA[release_id]["paragraphs"])

    for text in FURNITURE:
        if text not in transcript:
            assert text not in body, text
    assert str(VIEWS) not in body
    for title_line in DATA[release_id]["title_lines"]:
        assert title_line not in body


@pytest.mark.parametrize("release_id", IDS)
def test_speakers_of_the_introduction_are_found(release_id: int) -> None:
    names = expected_speakers(DATA[release_id]["paragraphs"])
    assert names, "every release introduces its speakers"

    found = [s.name for s in extracted(release_id).speakers]

    for name in names:
        assert name in found


@pytest.mark.parametrize("release_id", IDS)
def test_attachments_have_absolute_urls_and_names(release_id: int) -> None:
    attachments = DATA[release_id]["attachments"]
    folder = page_url(release_id).rsplit("/", 1)[0]
    expected = {(f"{folder}/{a['file']}", a["name"]) for a in attachments}

    found = {(a.url, a.name) for a in extracted(release_id).attachments}

    assert found == expected


def test_some_releases_have_attachments() -> None:
    assert [i for i in IDS if DATA[i]["attachments"]], "the attachment checks would check nothing"


@pytest.mark.parametrize("release_id", IDS)
def test_publisher_is_the_department_holding_the_conference_or_none(release_id: int) -> None:
    # A page that names no department in 由…发布 (and has no 来源) must not get an invented publisher.
    assert extracted(release_id).publisher == expected_publisher(DATA[release_id]["paragraphs"])


def test_gb2312_page_of_the_site_extracts_like_the_utf8_one() -> None:
    releases = {r.id: r for r in qd_press.load_releases(RELEASES_DIR)}
    html = qd_press.render_detail_page(releases[2023], views=VIEWS, charset="gb2312")

    from_bytes = extract_page(html.encode("gb18030"), page_url(2023))

    assert from_bytes.encoding == "gb18030"
    assert list(from_bytes.paragraphs) == DATA[2023]["paragraphs"]
    assert from_bytes.title == DATA[2023]["list_title"]


# -- the real seed page ---------------------------------------------------------------------------------


def seed_lines() -> list[str]:
    text = (CORPUS / "qdfb-1206-seed.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_seed_page_text_gives_its_transcript_once() -> None:
    lines = seed_lines()
    title, counter, *transcript_twice = lines
    assert counter.startswith("浏览")
    half = len(transcript_twice) // 2
    transcript = transcript_twice[:half]
    assert transcript_twice[half:] == transcript, "the seed carries the transcript twice"
    paragraphs = "\n".join(f"<p>\u3000\u3000{line}</p>" for line in [counter, *transcript_twice])
    html = (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<h1>{title}</h1><div id='zoom'>{paragraphs}</div></body></html>"
    )

    extraction = extract(html, qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html"))

    assert extraction.title == title
    assert list(extraction.paragraphs) == transcript
    assert "浏览" not in extraction.body
    assert extraction.published_at == date(2023, 2, 23)
    assert [s.name for s in extraction.speakers] == expected_speakers(transcript)
    assert extraction.publisher == expected_publisher(transcript) == "市科技局"


# -- pages that are not articles ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "file", ["gne-listpage-163-1.html", "gb2312-stub-html4.html", "gb2312-stub-html5.html"]
)
def test_list_pages_and_stubs_are_not_articles(file: str) -> None:
    raw = (CORPUS / "html" / file).read_bytes()

    with pytest.raises(NotAnArticle):
        extract_page(raw, "https://www.163.com/")


@pytest.mark.parametrize("html", ["", "   \n\t ", "\x00\x01"])
def test_empty_page_is_not_an_article(html: str) -> None:
    with pytest.raises(NotAnArticle):
        extract(html, qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html"))


def test_empty_bytes_are_not_an_article() -> None:
    with pytest.raises(NotAnArticle):
        extract_page(b"", None)


def test_site_list_page_is_not_an_article() -> None:
    releases = qd_press.load_releases(RELEASES_DIR)
    html = qd_press.render_list_page(releases, 1)

    with pytest.raises(NotAnArticle):
        extract(html, f"{SITE}{qd_press.list_path(1)}")
