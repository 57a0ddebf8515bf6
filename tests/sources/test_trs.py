"""The TRS family on the TRS sources' offline pages, and each source's first release against its expectation file.

The pages are the reconstructed fixtures in pressmon/offline/sites/<code>/, read from disk at the path the family
maps each URL to; the expectation files in tests/sources/expected/ were written by hand from those pages.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from parsers.decode import decode_html
from parsers.fingerprint import fingerprint, same_release
from parsers.release import ParsedRelease, parse_release
from parsers.tag import Tagger
from parsers.taxonomy import load_scheme
from parsers.urls import canonical_url
from pressmon.sources import Source, get, registry
from pressmon.sources.families import family_of
from pressmon.sources.families.base import ListPage, PageRequest
from pressmon.sources.families.trs import FAMILY, page_count

SITES = Path(__file__).resolve().parents[2] / "pressmon" / "offline" / "sites"
EXPECTED = Path(__file__).resolve().parent / "expected"
TRS_CODES = sorted(
    code
    for code, source in registry().items()
    if source.family == "trs" and (EXPECTED / f"{code}.toml").exists()
)
MIRROR = "http://127.0.0.1:8770"
# Expectations pressmon's extractor does not meet yet: {(code, field): what it gives instead}.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def page_text(source: Source, url: str) -> str:
    return decode_html(page_bytes(source, url)).text


def page_bytes(source: Source, url: str) -> bytes:
    return (SITES / source.code / FAMILY.offline_path(url)).read_bytes()


def list_page(code: str, url: str, page: int = 1) -> ListPage:
    source = get(code)
    request = PageRequest(url, page, MappingProxyType(dict(source.headers)))
    return FAMILY.parse_list(source, request, url, page_text(source, url))


def walk(source: Source, base_url: str | None = None) -> tuple[list[PageRequest], list[str]]:
    """Fetch every list page the family asks for, from disk; return the list requests and the item URLs."""
    family = family_of(source)
    pending = list(family.first_requests(source, base_url))
    fetched: list[PageRequest] = []
    items: list[str] = []
    while pending:
        request = pending.pop(0)
        assert len(fetched) < 10, "the walk does not stop"
        found = family.parse_list(source, request, request.url, page_text(source, request.url))
        if not request.prime:
            fetched.append(request)
        items += [item.url for item in found.items if item.url not in items]
        pending += found.next
    return fetched, items


def expected(code: str) -> dict[str, Any]:
    return tomllib.loads((EXPECTED / f"{code}.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_scheme())


# -- pagination ---------------------------------------------------------------------------------------------


def test_first_page_gives_absolute_links_the_page_count_and_the_next_numbered_page() -> None:
    page = list_page("ndrc_xwfb", "https://www.ndrc.gov.cn/xwdt/xwfb/")

    assert [item.url for item in page.items] == [
        "https://www.ndrc.gov.cn/xwdt/xwfb/202601/t20260116_1402817.html",
        "https://www.ndrc.gov.cn/xwdt/xwfb/202601/t20260109_1401930.html",
    ]
    assert page.items[0].title == "国家发展改革委举行1月份新闻发布会"
    assert page.items[0].published == date(2026, 1, 16)
    assert page.page_count == 2
    assert [(r.url, r.page) for r in page.next] == [("https://www.ndrc.gov.cn/xwdt/xwfb/index_1.html", 2)]


def test_last_page_asks_for_no_further_page_and_resolves_hrefs_from_the_site_root() -> None:
    page = list_page("ndrc_xwfb", "https://www.ndrc.gov.cn/xwdt/xwfb/index_1.html", page=2)

    # The row's href is ../../../xwdt/xwfb/…: three levels up from the list folder is the site root.
    assert [item.url for item in page.items] == [
        "https://www.ndrc.gov.cn/xwdt/xwfb/202512/t20251225_1401012.html"
    ]
    assert page.page_count == 2
    assert page.next == ()


def test_the_pager_call_names_the_page_files() -> None:
    page = list_page("qd_gov_news", "https://www.qingdao.gov.cn/ywdt/zwyw/")

    assert [r.url for r in page.next] == ["https://www.qingdao.gov.cn/ywdt/zwyw/index_1.shtml"]


def test_count_page_variable_with_the_declared_page_extension() -> None:
    page = list_page("qd_gxj", "https://gxj.qingdao.gov.cn/gzdt/")

    assert page.page_count == 2
    assert [r.url for r in page.next] == ["https://gxj.qingdao.gov.cn/gzdt/index_1.shtml"]


def test_next_pages_keep_the_request_headers() -> None:
    page = list_page("stats_zxfb", "http://www.stats.gov.cn/sj/zxfb/")

    assert dict(page.next[0].headers) == {"Referer": "http://www.stats.gov.cn/sj/zxfb/"}


def test_a_gbk_list_page_reads_as_chinese() -> None:
    raw = (SITES / "qd_tjj" / "tjfb" / "index.html").read_bytes()
    assert b'<meta charset="gbk">' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    page = list_page("qd_tjj", "https://tjj.qingdao.gov.cn/tjfb/")

    assert page.items[0].title == "2025年全市规模以上工业增加值增长7.2%"


@pytest.mark.parametrize(
    ("script", "count"),
    [
        ('createPageHTML(56, 0, "index", "html");', 56),
        ("createPageHTML('page_div', 12, 3, 'index', 'shtml', 230);", 12),
        ("var countPage = 7;//共多少页\nvar currentPage = 0;", 7),
        ("var countnum=5;countPage=56;currentPage=0;", 56),
        ('<a href="index_1.html">下一页</a>', None),
    ],
)
def test_page_count_from_each_pager_form(script: str, count: int | None) -> None:
    assert page_count(f"<script>{script}</script>") == count


def test_a_list_without_pager_script_asks_for_no_next_page() -> None:
    source = get("ndrc_xwfb")
    request = PageRequest(source.list_urls()[0])
    html = '<ul class="u-list"><li><a href="./202601/t20260116_1402817.html">标题</a></li></ul>'

    page = FAMILY.parse_list(source, request, request.url, html)

    assert len(page.items) == 1
    assert (page.next, page.page_count) == ((), None)


def test_next_link_pagination() -> None:
    first = list_page("mofcom_xwfb", "http://www.mofcom.gov.cn/article/xwfb/xwlxfbh/")
    second = list_page("mofcom_xwfb", first.next[0].url, page=2)

    assert [r.url for r in first.next] == ["http://www.mofcom.gov.cn/article/xwfb/xwlxfbh/?2"]
    assert FAMILY.offline_path(first.next[0].url) == "article/xwfb/xwlxfbh/index.html@2"
    assert [item.url for item in second.items] == [
        "http://www.mofcom.gov.cn/article/xwfb/xwlxfbh/202512/20251225098765.shtml"
    ]
    assert second.next == ()


def test_a_row_linking_its_page_twice_gives_one_item() -> None:
    page = list_page("stats_zxfb", "http://www.stats.gov.cn/sj/zxfb/")

    assert [item.url for item in page.items] == [
        "http://www.stats.gov.cn/sj/zxfb/202601/t20260117_1962001.html",
        "http://www.stats.gov.cn/sj/zxfb/202601/t20260116_1961870.html",
    ]
    assert page.items[0].title == "2025年国民经济运行稳中有进"


# -- the anti-bot cookie ------------------------------------------------------------------------------------


def test_a_cookie_gated_source_starts_with_its_home_page() -> None:
    source = get("stats_zxfb")

    (prime,) = FAMILY.first_requests(source)
    after = FAMILY.parse_list(source, prime, prime.url, page_text(source, prime.url))

    assert (prime.url, prime.prime, prime.page) == ("http://www.stats.gov.cn/", True, 0)
    assert dict(prime.headers) == {"Referer": "http://www.stats.gov.cn/sj/zxfb/"}
    assert after.items == ()
    assert [(r.url, r.page, r.prime) for r in after.next] == [("http://www.stats.gov.cn/sj/zxfb/", 1, False)]


def test_a_cookie_gated_source_on_a_mirror_stays_on_the_mirror() -> None:
    source = get("stats_zxfb")

    (prime,) = FAMILY.first_requests(source, MIRROR)
    after = FAMILY.parse_list(source, prime, prime.url, page_text(source, prime.url))

    assert prime.url == f"{MIRROR}/"
    assert [r.url for r in after.next] == [f"{MIRROR}/sj/zxfb/"]


# -- JS redirects -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "target"),
    [
        # window.location.href='…'
        ("202601/20260115012345.shtml", "http://www.mofcom.gov.cn/xwfbh/20260115.shtml"),
        # _cofing1={href:"…",type:…}
        ("202601/20260108009876.shtml", "http://www.mofcom.gov.cn/xwfbh/20260108.shtml"),
        # an ordinary page
        ("202512/20251225098765.shtml", None),
    ],
)
def test_detail_redirect_follows_mofcom_entries(entry: str, target: str | None) -> None:
    source = get("mofcom_xwfb")
    url = f"http://www.mofcom.gov.cn/article/xwfb/xwlxfbh/{entry}"

    assert FAMILY.detail_redirect(source, url, page_text(source, url)) == target


def test_detail_redirect_is_off_unless_the_source_asks() -> None:
    source = get("ndrc_xwfb")
    page = "<html><head><script>window.location.href='http://www.ndrc.gov.cn/xwdt/';</script></head></html>"

    assert FAMILY.detail_redirect(source, "https://www.ndrc.gov.cn/xwdt/xwfb/a.html", page) is None


@pytest.mark.parametrize(
    "page",
    [
        "<!-- window.location.href='http://example.com/' -->",
        "<p>window.location.href='http://example.com/'</p>",
        "<script>function go(q){window.location.href='/was5/web/search?q=' + q;}</script>",
        "<script>window.location.href='javascript:void(0)';</script>",
    ],
)
def test_detail_redirect_ignores_what_is_no_redirect(page: str) -> None:
    url = "http://www.mofcom.gov.cn/article/xwfb/xwlxfbh/202512/20251225098765.shtml"

    assert FAMILY.detail_redirect(get("mofcom_xwfb"), url, page) is None


# -- hints --------------------------------------------------------------------------------------------------


def test_detail_hints_are_the_trs_metas_unless_the_source_overrides_them() -> None:
    ndrc = FAMILY.hints(get("ndrc_xwfb"))
    stats = FAMILY.hints(get("stats_zxfb"))

    assert (ndrc.title, ndrc.date, ndrc.publisher) == (
        "meta[name=ArticleTitle]",
        "meta[name=PubDate]",
        "meta[name=ContentSource]",
    )
    assert ndrc.body == ".TRS_Editor, .TRS_UEDITOR, .trs_paper_default"
    assert (stats.title, stats.date, stats.body) == (
        "div.detail-title h1",
        "div.detail-title-des h2 p",
        ".TRS_Editor, .TRS_UEDITOR, .trs_paper_default",
    )


# -- each source: the walk and the first release ------------------------------------------------------------


@pytest.mark.parametrize("code", TRS_CODES)
def test_walk_fetches_the_expected_list_pages_and_items(code: str) -> None:
    source, expect = get(code), expected(code)

    fetched, items = walk(source)

    assert len(fetched) == expect["list_pages"]
    assert len(items) == expect["items"]
    assert all(item.startswith(source.base_url + "/") and source.is_detail(item) for item in items)
    assert [r.page for r in fetched] == list(range(1, len(fetched) + 1))


@pytest.mark.parametrize("code", TRS_CODES)
def test_walk_on_a_mirror_stays_on_the_mirror(code: str) -> None:
    fetched, items = walk(get(code), MIRROR)

    assert all(r.url.startswith(MIRROR + "/") for r in fetched)
    assert all(item.startswith(MIRROR + "/") for item in items)


def first_release(code: str, tagger: Tagger) -> tuple[str, ParsedRelease]:
    """The first item of the source's first list page, after any redirect, parsed: (its URL, the release)."""
    source = get(code)
    _, items = walk(source)
    url = items[0]
    redirect = family_of(source).detail_redirect(source, url, page_text(source, url))
    url = redirect or url
    return url, parse_release(page_bytes(source, url), url, "text/html", tagger)


def field_cases() -> list[Any]:
    cases = []
    for code in TRS_CODES:
        for name in ("url", "title", "published", "publisher", "body"):
            marks = []
            if (code, name) in KNOWN_FAILURES:
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[code, name])]
            cases.append(pytest.param(code, name, marks=marks, id=f"{code}-{name}"))
    return cases


@pytest.mark.parametrize(("code", "name"), field_cases())
def test_first_release_matches_the_expectation_file(code: str, name: str, tagger: Tagger) -> None:
    first = expected(code)["first"]
    url, release = first_release(code, tagger)
    extraction = release.extraction

    if name == "url":
        assert canonical_url(url) == first["url"]
    elif name == "title":
        assert extraction.title == first["title"]
    elif name == "published":
        assert extraction.published_at == date.fromisoformat(first["published"])
    elif name == "publisher":
        assert extraction.publisher == first["publisher"]
    else:
        for snippet in first["body_contains"]:
            assert snippet in extraction.body
        for furniture in ("网站标识码", "ICP备", "分享到", "打印", "当前位置"):
            assert furniture not in extraction.body


# -- reprints -----------------------------------------------------------------------------------------------

REPRINTS = [
    ("dzwww_qd", "http://www.dzwww.com/2014/xwfbh/202512/t20251226_14012345.htm", 2258),
    ("dzwww_qd", "http://www.dzwww.com/2014/xwfbh/202511/t20251121_13987654.htm", 2245),  # traditional
    ("qd_gov_press", "https://www.qingdao.gov.cn/ywdt/xwfbh/202510/t20251023_8990123.shtml", 2236),
]


@pytest.mark.parametrize(("code", "url", "release_id"), REPRINTS)
def test_a_reprint_is_the_same_release_as_the_press_office_page(
    code: str, url: str, release_id: int, tagger: Tagger
) -> None:
    original = json.loads(
        (SITES / "qd_press" / "releases" / f"{release_id}.json").read_text(encoding="utf-8")
    )
    reprint = parse_release(page_bytes(get(code), url), url, "text/html", tagger)

    assert same_release(
        reprint.fingerprint, fingerprint(original["list_title"], "\n".join(original["paragraphs"]))
    )


def test_the_traditional_reprint_names_its_source(tagger: Tagger) -> None:
    url = REPRINTS[1][1]
    release = parse_release(page_bytes(get("dzwww_qd"), url), url, "text/html", tagger)

    assert release.extraction.publisher == "青島市人民政府新聞辦公室"


def test_every_fixture_page_says_it_is_reconstructed() -> None:
    for code in TRS_CODES:
        for path in (SITES / code).rglob("*"):
            if path.is_file():
                head = decode_html(path.read_bytes()[:2000]).text
                assert head.startswith("<!-- Reconstructed for pressmon"), path
