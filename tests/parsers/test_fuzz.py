"""Fuzz decode and extract with mutated real pages, generated pages and raw bytes, from a fixed seed.

A page may extract or raise ParseError; anything else is a bug. Every extracted string must be storable in
Postgres `text` (no NUL) and encodable as UTF-8 (no lone surrogate), and no page may overrun the time cap by
more than SLACK_SECONDS. PRESSMON_FUZZ_EXAMPLES sets the number of pages (10,000 by default, `make fuzz`
runs 100,000): 70 % mutated real pages and 20 % generated ones, each built by its own seeded Random, so page n
is the same in every run; 10 % raw bytes drawn by Hypothesis from a fixed seed, for its shrinking. The
session's count and times are printed in the terminal summary.
"""

from __future__ import annotations

import codecs
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from parsers.decode import WEB_ENCODINGS, Decoded, decode_html, looks_mojibake
from parsers.extract import DEFAULT_OPTIONS, ParseError, extract_page
from pressmon.offline import qd_press
from tests.corpus import needs_corpus
from tests.parsers.fuzzing import (
    EXAMPLES,
    SEED,
    SLACK_SECONDS,
    FuzzRecord,
    SeedPage,
    check_extraction,
    seed_pages,
)

# The seeds are the real pages of the shared corpus.
pytestmark = needs_corpus

PAGE_URL = qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html")
DECODE_METHODS = {"bom", "header", "meta", "utf-8", "gb18030", "big5hkscs", "detector", "lossy", "empty"}

# Shares of the run: mutated real pages, pages built from fragments, raw bytes.
MUTATED = EXAMPLES * 7 // 10
GENERATED = EXAMPLES * 2 // 10
RAW = EXAMPLES - MUTATED - GENERATED


# A fuzzed page: its bytes, the Content-Type header sent with it, its URL, and how it was made.
Page = tuple[bytes, str | None, str | None, object]


# -- what goes into pages -------------------------------------------------------------------------------

# Charset labels as pages and servers write them, and as a broken template or a flipped byte leaves them.
LABELS = (
    "utf-8",
    "UTF-8",
    "gbk",
    "gb2312",
    "GB18030",
    "big5",
    "utf-16",
    "utf-16le",
    "iso-8859-1",
    "windows-1252",
    "shift_jis",
    "unicode",
    "undefined",
    "x-user-defined",
    "",
    "gb\x002312",
    "\x00",
    "utf-8\x00",
    "unicode_escape",
    "raw-unicode-escape",
    "utf-7",
    "punycode",
    "idna",
    "rot13",
    "base64",
    "cp037",
    "utf-32",
    "gbk gbk",
    "\u00e9",
    "a" * 300,
)
HEADERS = (
    None,
    *(f"text/html; charset={label}" for label in LABELS),
    "text/html",
    "text/html; charset",
    ";;;",
    'charset="gbk',
    "charset=\x00",
)
CONTENT_TYPES = st.sampled_from(HEADERS)
META_CHARSETS = (
    *(f'<meta charset="{label}">'.encode() for label in LABELS),
    b'<meta http-equiv="Content-Type" content="text/html; charset=gb\x00k">',
    b"<meta charset=utf-8\x00>",
    b'<meta charset="\xff\xfe">',
    b'<meta charset="gb2312"><meta charset="utf-8"><meta charset="big5">',
)
# Byte sequences that no decoder, or not the declared one, accepts; and byte-order marks that lie.
BAD_BYTES = (
    b"\x00",
    b"\x81\x20",  # a GBK lead byte before ASCII
    b"\x80",
    b"\xff",
    b"\xfe\xfe",
    b"\x81\x30\x81",  # a GB18030 four-byte sequence cut short
    b"\x84\x31\xa5\x30",  # the first GB18030 four-byte sequence past the BMP's: unassigned
    b"\xa3\xe1",  # unassigned in Big5
    b"\xf9\xfe\xff",  # a Big5 pair unassigned, then a lone lead byte
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xc0\xaf",  # overlong UTF-8
    b"\xe9\x9d",  # UTF-8 cut inside a character
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xff\xfe\x00\x00",
)
MARKUP = tuple(
    s.encode("utf-8")
    for s in (
        "<div",
        "<p",
        "</",
        "<!--",
        "-->",
        "<![CDATA[",
        "<?xml version='1.0' encoding='gbk'?>",
        "<script>",
        "</script>",
        "<style>",
        "<title>",
        "</title>",
        "<textarea>",
        "<plaintext>",
        "<xmp>",
        "<noscript>",
        "<iframe>",
        "<svg><foreignObject>",
        "<template>",
        "<table><tr><td>",
        "</body></html><html><body>",
        '<div id="zoom">',
        '<div class="TRS_Editor">',
        '<div style="display:none">',
        "&#0;",
        "&#1;",
        "&#x1b;",
        "&#127;",
        "&#xD800;",
        "&#xDFFF;",
        "&#x110000;",
        "&#99999999999;",
        "&#xFFFE;",
        "&",
        "&nbsp",
        '<meta name="ArticleTitle" content="&#1;标题&#0;\x01">',
        '<meta name="ContentSource" content="&#2;市科技局\x1b">',
        '<meta name="ColumnName" content="&#x1f;">',
        '<meta name="PubDate" content="2023-02-30">',
        '<a href="./P0&#1;.pdf">&#2;附件&#x7f;</a>',
        '<a href="./P0\x01\x00.pdf" title="\x02">\x03</a>',
        '<a href="http://[bad/x.pdf">附件</a>',
        '<time datetime="\x00">',
        "来源：&#1;市科技局\x02",
        "主持人：\x01",
        "<p>刘学辉\x01：各位记者朋友们，大家好。</p>",
        '<a href="' + "x" * 20_000 + '.pdf">',
        '<div class="' + "TRS_Editor " * 2_000 + '">',
        '<p title="' + "标" * 10_000 + '">',
    )
)
SNIPPETS = BAD_BYTES + META_CHARSETS + MARKUP
# Repeated many times: deep nesting, piles of scripts and styles, runs of NUL.
REPEATABLE = tuple(
    s.encode("utf-8")
    for s in (
        "<div>",
        "<p>",
        "<span>",
        "<font>",
        "<li>",
        "<table><tr><td>",
        "<b><i>",
        "</div>",
        "<script>var a='<p>';</script>",
        "<style>p{}</style>",
        "<script>",
        "<!--",
        "<br>",
        "\x00",
        "。",
        "<a href='a.pdf'>附件</a>",
        "<p>主持人：各位记者朋友们，大家上午好！</p>",
    )
)
# Positions in a page are in 1/65536ths of its length, so a mutation means something on any page.


def at(body: bytes, position: int) -> int:
    return len(body) * position >> 16


# -- mutations: each says what it does to the bytes, so a failing example reads as a recipe ---------------


@dataclass(frozen=True)
class Flip:
    position: int
    mask: int
    count: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        page = bytearray(body)
        start = at(body, self.position)
        for i in range(start, min(len(page), start + self.count * 7), 7):
            page[i] ^= self.mask
        return bytes(page)


@dataclass(frozen=True)
class Truncate:
    position: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        return body[: at(body, self.position)]


@dataclass(frozen=True)
class Delete:
    position: int
    length: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        start = at(body, self.position)
        return body[:start] + body[start + self.length :]


@dataclass(frozen=True)
class Insert:
    position: int
    snippet: bytes

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        start = at(body, self.position)
        return body[:start] + self.snippet + body[start:]


@dataclass(frozen=True)
class Repeat:
    position: int
    snippet: bytes
    times: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        start = at(body, self.position)
        return body[:start] + self.snippet * self.times + body[start:]


@dataclass(frozen=True)
class Splice:
    """Put a piece of another page, cut at a tag boundary, into this one."""

    position: int
    donor: int
    donor_position: int
    length: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        donor = donors[self.donor % len(donors)].body
        begin = donor.find(b"<", at(donor, self.donor_position))
        piece = donor[begin : begin + self.length] if begin >= 0 else b""
        start = body.find(b"<", at(body, self.position))
        start = len(body) if start < 0 else start
        return body[:start] + piece + body[start:]


@dataclass(frozen=True)
class SprayNul:
    every: int

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        return b"\x00".join(body[i : i + self.every] for i in range(0, len(body), self.every))


@dataclass(frozen=True)
class Relabel:
    """Replace every declared charset in the page with another label (or a garbled one)."""

    label: bytes

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        return re.sub(rb"(?i)(charset\s*=\s*[\"']?)[^\"'>\s;/]*", lambda m: m.group(1) + self.label, body)


@dataclass(frozen=True)
class Prepend:
    snippet: bytes

    def apply(self, body: bytes, donors: tuple[SeedPage, ...]) -> bytes:
        return self.snippet + body


Mutation = Flip | Truncate | Delete | Insert | Repeat | Splice | SprayNul | Relabel | Prepend


def random_mutation(rng: random.Random) -> Mutation:
    at_ = rng.randrange(1 << 16)
    kind = rng.randrange(9)
    if kind == 0:
        return Flip(at_, rng.randint(1, 255), rng.randint(1, 64))
    if kind == 1:
        return Truncate(at_)
    if kind == 2:
        return Delete(at_, rng.randint(1, 4096))
    if kind == 3:
        return Insert(at_, rng.choice(SNIPPETS))
    if kind == 4:
        return Repeat(at_, rng.choice(REPEATABLE), rng.randint(2, 3_000))
    if kind == 5:
        return Splice(at_, rng.randrange(1 << 10), rng.randrange(1 << 16), rng.randint(1, 8192))
    if kind == 6:
        return SprayNul(rng.randint(1, 4096))
    if kind == 7:
        return Relabel(rng.choice(LABELS).encode())
    return Prepend(rng.choice(BAD_BYTES + META_CHARSETS))


@dataclass(frozen=True)
class Recipe:
    """How a fuzzed page is made from a seed page: the part kept, what is done to it, the header sent."""

    page: str
    keep: tuple[int, int, int] | None  # bytes of the head, where the rest starts, bytes in all
    mutations: tuple[Mutation, ...]
    content_type: str | None

    def cook(self, pages: tuple[SeedPage, ...]) -> bytes:
        body = next(page.body for page in pages if page.name == self.page)
        if self.keep is not None:
            head, start, size = self.keep
            body = body[:head] + body[start : start + size - head]
        for mutation in self.mutations:
            body = mutation.apply(body, pages)
        return body


def random_recipe(rng: random.Random, pages: tuple[SeedPage, ...]) -> Recipe:
    """Pick a seed page, cut it, mutate it up to six times.

    Most pages are cut to a few KB so that ten thousand run in about a minute; one in fifty is kept whole.
    """
    page = rng.choice(pages)
    size = rng.choices((6_000, 24_000, None), weights=(85, 13, 2))[0]
    keep = None
    if size is not None and len(page.body) > size:
        head = min(2_000, size // 4)  # the <head>, where the charset and the CMS meta tags are
        keep = (head, rng.randint(head, len(page.body) - size + head), size)
    mutations = tuple(random_mutation(rng) for _ in range(rng.randrange(7)))
    content_type = page.content_type if rng.random() < 0.5 else rng.choice(HEADERS)
    return Recipe(page.name, keep, mutations, content_type)


# Text an article is made of: sentences, the words the extractor and the normaliser look for (labels, view
# counters, speakers' turns, dates), and characters that break storage or decoding. Whole pieces, not single
# characters, keep Hypothesis's work per page small.
PIECES = (
    "各位记者朋友们，大家上午好！",
    "欢迎参加市政府新闻办新闻发布会。",
    "低空经济产业發展情況請見附件。",
    "主持人：",
    "来源：",
    "信息来源：市科技局",
    "发布时间：",
    "发布日期：",
    "2023年2月23日",
    "2023-02-30",
    "浏览",
    "阅读",
    "点击",
    "访问",
    "次数",
    "126",
    "5",
    "次",
    "字号",
    "大中小",
    "分享到",
    "扫一扫在手机打开",
    "產(chǎn)業(yè)",
    "今天，我们邀请到了：",
    "市科技局副局长 刘学辉同志；",
    "刘学辉：",
    "谢谢。",
    "附件：",
    "上一篇：",
    "&#1;",
    "&#0;",
    "&amp;",
    "<",
    "&",
    *"：，。；！？（）“”、\u3000 \n\t\r",
    *"\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\u2028\ufeff\ufffd\ufffe\U0001f600\U00020000\ud800\udc80",
)
ANY_CHARACTER = "".join(map(chr, (*range(0x20), 0xD7FF, 0xD800, 0xDFFF, 0xE000, 0xFFFF, 0x10FFFF)))
CODECS = ("utf-8", "gb18030", "gbk", "big5hkscs", "utf-16", "utf-16-be", "latin-1", "utf-7")


def generated_page(rng: random.Random) -> Page:
    """Build an article page the extractor should read, then mix in broken markup and characters.

    A seeded Random does the drawing: drawn through Hypothesis, the hundred choices a page takes cost ten times
    the page's extraction.
    """

    def text() -> str:
        length = rng.randrange(11)
        return "".join(
            rng.choice(PIECES) if rng.random() < 0.9 else rng.choice(ANY_CHARACTER) for _ in range(length)
        )

    title = text()
    junk = [rng.choice(MARKUP + REPEATABLE).decode("utf-8") for _ in range(rng.randrange(7))]
    container = rng.choice(('<div id="zoom">', '<div class="TRS_Editor">', "<article>", "<div>"))
    meta = rng.choice(("", *(m.decode("utf-8", "replace") for m in META_CHARSETS)))
    parts = [
        f"<html><head>{meta}<title>{title}</title>",
        f'<meta name="ContentSource" content="{text()}">',
        f"</head><body><h1>{title}</h1>{container}",
        "<p>主持人：各位记者朋友们，大家上午好！欢迎参加市政府新闻办新闻发布会。</p>",
        *(f"<p>{text()}</p>" for _ in range(rng.randint(1, 8))),
        "<p>今天，我们邀请到了市科技局、市发展改革委的负责同志。</p>",
    ]
    for piece in junk:
        parts.insert(rng.randint(0, len(parts)), piece)
    parts.append("</div></body></html>")
    codec = rng.choice(CODECS)
    body = "".join(parts).encode(codec, "surrogatepass" if codec.startswith("utf-") else "replace")
    return body, rng.choice(HEADERS), rng.choice((PAGE_URL, None, "http://[bad/", "%zz")), f"in {codec}"


RAW_BYTES = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.sampled_from(SNIPPETS + REPEATABLE), max_size=40).map(b"".join),
)


# -- the contract ---------------------------------------------------------------------------------------


def check_decoded(decoded: Decoded) -> None:
    assert isinstance(decoded.text, str)
    assert decoded.method in DECODE_METHODS
    assert decoded.method == "bom" or decoded.encoding in WEB_ENCODINGS, decoded.encoding
    assert codecs.lookup(decoded.encoding)
    assert not re.search(r"[\ud800-\udfff]", decoded.text)
    assert isinstance(looks_mojibake(decoded.text), bool)


def fuzz_page(record: FuzzRecord, body: bytes, content_type: str | None, url: str | None = PAGE_URL) -> None:
    """Extract a page and check the contract: an Extraction or a ParseError, within the time cap."""
    started = time.perf_counter()
    try:
        extraction = extract_page(body, url, content_type)
    except ParseError:
        extraction = None
    except Exception:
        record.uncaught += 1
        raise
    seconds = time.perf_counter() - started
    record.add(seconds * 1000, len(body), extracted=extraction is not None)
    assert seconds <= DEFAULT_OPTIONS.max_seconds + SLACK_SECONDS, f"took {seconds:.2f}s"
    if extraction is not None:
        check_extraction(extraction)


def warm_up() -> None:
    # Untimed: the first page of a process also loads the OpenCC tables and the charset detector.
    extract_page(seed_pages()[-3].body, PAGE_URL)


def fuzz_seeded(record: FuzzRecord, kind: str, examples: int, page: Callable[[random.Random], Page]) -> None:
    """Fuzz with pages built from seeded Randoms, one per page, and report every page that broke the contract.

    Page n of a kind comes from Random("SEED:kind:n") in every run, whatever else the process has loaded
    (Hypothesis's own choices depend on the modules imported before it runs).
    """
    warm_up()
    failures = []
    for n in range(examples):
        page_seed = f"{SEED}:{kind}:{n}"
        body, content_type, url, recipe = page(random.Random(page_seed))
        try:
            fuzz_page(record, body, content_type, url)
        except Exception as exc:  # every page is tried; the failures are reported together below
            failures.append(f"{page_seed} {recipe}: {exc!r}"[:2000])
    assert not failures, f"{len(failures)} of {examples} pages broke the contract:\n" + "\n".join(
        failures[:10]
    )


# -- the runs -------------------------------------------------------------------------------------------


def test_fuzz_mutated_real_pages(fuzz_record: FuzzRecord) -> None:
    pages = seed_pages()

    def page(rng: random.Random) -> Page:
        recipe = random_recipe(rng, pages)
        return recipe.cook(pages), recipe.content_type, PAGE_URL, recipe

    fuzz_seeded(fuzz_record, "mutated", MUTATED, page)


def test_fuzz_generated_pages(fuzz_record: FuzzRecord) -> None:
    fuzz_seeded(fuzz_record, "generated", GENERATED, generated_page)


def test_fuzz_raw_bytes_through_decode_and_extract(fuzz_record: FuzzRecord) -> None:
    @seed(SEED)
    @settings(
        max_examples=RAW,
        database=None,
        deadline=None,  # the time cap is checked on every page instead
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=RAW_BYTES, content_type=CONTENT_TYPES)
    def fuzz(body: bytes, content_type: str | None) -> None:
        check_decoded(decode_html(body, content_type))
        fuzz_page(fuzz_record, body, content_type)

    warm_up()
    before = fuzz_record.pages
    fuzz()
    assert fuzz_record.pages - before >= RAW, f"fuzzed {fuzz_record.pages - before} pages of {RAW}"
