"""Decoding page bytes: real pages to their true encoding, declarations verified by decoding, edge cases."""

from __future__ import annotations

import json

import pytest

from parsers.decode import decode_html, looks_mojibake
from tests.conftest import CORPUS
from tests.corpus import needs_corpus

pytestmark = needs_corpus

HTML = CORPUS / "html"
LYING_META = ("gne-people-1.html", "gne-163-9.html")

# Big5 bytes of this text also decode strictly as GB18030 (into nonsense): a pair of labels that both decode.
TRADITIONAL = (
    "低空經濟是以民用有人駕駛和無人駕駛航空器的低空飛行活動為牽引，輻射帶動相關領域融合發展的綜合性經濟形態。"
)
SIMPLIFIED = (
    "低空经济是以民用有人驾驶和无人驾驶航空器的低空飞行活动为牵引，辐射带动相关领域融合发展的综合性经济形态。"
)


def _manifest_entries() -> dict[str, dict]:
    entries = {}
    for name in ("manifest-gne.json", "manifest-encodings.json"):
        if not (HTML / name).exists():  # no corpus here: the module's tests are skipped (needs_corpus)
            continue
        for entry in json.loads((HTML / name).read_text(encoding="utf-8")):
            entries[entry["file"]] = entry
    return entries


MANIFEST = _manifest_entries()


def true_encoding(file: str) -> str:
    """Return the codec family the manifest says the bytes are in: UTF-8, or GB2312/GBK read as GB18030."""
    bytes_are = MANIFEST[file]["bytes_are"].lower()
    if bytes_are == "utf-8":
        return "utf-8"
    if bytes_are.startswith(("gb2312", "gbk")):
        return "gb18030"
    raise AssertionError(f"{file}: manifest names bytes the tests do not know: {bytes_are!r}")


def page(text: str, charset: str | None = None, title: str = "发布会") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}<title>{title}</title></head><body><p>{text}</p></body></html>"


def test_decoding_covers_every_corpus_page() -> None:
    files = sorted(p.name for p in HTML.glob("*.html"))
    assert files, f"no corpus pages under {HTML}"
    assert sorted(MANIFEST) == files


@pytest.mark.parametrize("file", sorted(MANIFEST))
def test_corpus_page_decodes_to_its_true_encoding(file: str) -> None:
    raw = (HTML / file).read_bytes()
    expected = true_encoding(file)

    decoded = decode_html(raw)

    assert decoded.encoding == expected
    assert decoded.text == raw.decode(expected)
    assert not looks_mojibake(decoded.text)


@pytest.mark.parametrize("file", LYING_META)
def test_meta_that_says_gb2312_over_utf8_bytes_is_not_trusted(file: str) -> None:
    raw = (HTML / file).read_bytes()
    assert MANIFEST[file]["declared_charset"][0].lower() == "gb2312"
    assert MANIFEST[file]["bytes_are"] == "utf-8"

    for content_type in (None, "text/html; charset=gb2312", "text/html; charset=GBK"):
        decoded = decode_html(raw, content_type)
        assert decoded.encoding == "utf-8", content_type
        assert decoded.text == raw.decode("utf-8")
        assert not looks_mojibake(decoded.text)
        assert MANIFEST[file]["title_tag"].split("_")[0].split("--")[0] in decoded.text


def test_header_charset_beats_meta_when_both_decode() -> None:
    text = page(TRADITIONAL, charset="gbk", title="發布會")
    body = text.encode("big5")
    # Precondition, checked with the standard codecs: both labels decode these bytes.
    body.decode("gb18030")
    body.decode("big5hkscs")

    decoded = decode_html(body, "text/html; charset=big5")

    assert decoded.method == "header"
    assert decoded.encoding == "big5hkscs"
    assert decoded.text == text


def test_header_charset_beats_meta_for_single_byte_encodings() -> None:
    # 0xA4 is ¤ in ISO-8859-1 and € in ISO-8859-15: both decode, only the header's reading may be used.
    body = b'<html><head><meta charset="iso-8859-15"></head><body><p>Prix 10 \xa4</p></body></html>'

    latin1 = decode_html(body, "text/html; charset=iso-8859-1")
    latin9 = decode_html(body, "text/html; charset=iso-8859-15")
    meta_only = decode_html(body)

    assert latin1.method == "header"
    assert "Prix 10 ¤" in latin1.text
    assert latin9.method == "header"
    assert "Prix 10 €" in latin9.text
    assert meta_only.method == "meta"
    assert "Prix 10 €" in meta_only.text


def test_header_charset_beats_meta_on_ascii_bytes() -> None:
    body = b'<html><head><meta charset="gb2312"></head><body><p>Press conference</p></body></html>'

    decoded = decode_html(body, "text/html; charset=UTF-8")

    assert (decoded.encoding, decoded.method) == ("utf-8", "header")


def test_header_that_says_utf8_over_gbk_bytes_is_rejected() -> None:
    raw = (HTML / "gbk-jb51-home.html").read_bytes()
    assert true_encoding("gbk-jb51-home.html") == "gb18030"

    decoded = decode_html(raw, "text/html; charset=utf-8")

    assert decoded.encoding == "gb18030"
    assert decoded.method != "header"
    assert decoded.text == raw.decode("gb18030")
    assert not looks_mojibake(decoded.text)


def test_header_that_says_utf8_over_gbk_bytes_without_meta_falls_back_to_gb18030() -> None:
    body = page(SIMPLIFIED).encode("gbk")

    decoded = decode_html(body, "text/html; charset=utf-8")

    assert decoded.encoding == "gb18030"
    assert decoded.text == page(SIMPLIFIED)


def test_utf8_bom_wins_over_header_and_meta() -> None:
    text = page(SIMPLIFIED, charset="gb2312")
    body = b"\xef\xbb\xbf" + text.encode("utf-8")

    decoded = decode_html(body, "text/html; charset=gbk")

    assert decoded.method == "bom"
    assert decoded.encoding == "utf-8"
    assert decoded.text == text


def test_utf16_bom_wins_over_header_and_meta() -> None:
    text = page(SIMPLIFIED, charset="gb2312")
    body = b"\xff\xfe" + text.encode("utf-16-le")

    decoded = decode_html(body, "text/html; charset=gbk")

    assert decoded.method == "bom"
    assert decoded.text == text


def test_utf8_body_cut_inside_a_character_still_decodes() -> None:
    text = page(SIMPLIFIED)[: -len("</p></body></html>")]
    assert text.endswith("。")
    body = text.encode("utf-8")[:-1]

    decoded = decode_html(body)

    assert decoded.encoding == "utf-8"
    assert decoded.text == text[:-1]


def test_real_utf8_page_cut_inside_a_character_still_decodes() -> None:
    raw = (HTML / "gne-people-1.html").read_bytes()
    text = raw.decode("utf-8")
    cut_before = next(i for i in range(len(text) // 2, len(text)) if len(text[i].encode("utf-8")) == 3)
    body = text[:cut_before].encode("utf-8") + text[cut_before].encode("utf-8")[:2]

    decoded = decode_html(body)

    assert decoded.encoding == "utf-8"
    assert decoded.text == text[:cut_before]
    assert not looks_mojibake(decoded.text)


def test_gbk_page_cut_inside_a_character_still_decodes() -> None:
    raw = (HTML / "gbk-jb51-home.html").read_bytes()
    text = raw.decode("gb18030")
    cut_before = next(i for i in range(len(text) // 2, len(text)) if len(text[i].encode("gb18030")) == 2)
    body = text[:cut_before].encode("gb18030") + text[cut_before].encode("gb18030")[:1]

    decoded = decode_html(body)

    assert decoded.encoding == "gb18030"
    assert decoded.text == text[:cut_before]


@pytest.mark.parametrize(
    ("charset", "content_type"),
    [
        ("gb2312", None),
        ("GB2312", None),
        (None, "text/html; charset=gb2312"),
        (None, "text/html; charset=GBK"),
        ("x-gbk", None),
    ],
)
def test_gb2312_and_gbk_labels_read_as_gb18030(charset: str | None, content_type: str | None) -> None:
    text = page("朱镕基同志在青岛考察。喆、堃、珺都是常见的人名用字。", charset=charset)
    with pytest.raises(UnicodeEncodeError):
        "镕".encode("gb2312")  # a GBK-only character: a strict GB2312 decoder would lose it
    body = text.encode("gbk")

    decoded = decode_html(body, content_type)

    assert decoded.encoding == "gb18030"
    assert decoded.text == text
    assert "朱镕基" in decoded.text


def test_html4_http_equiv_gb2312_declaration_is_read() -> None:
    text = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>青岛</title></head><body><p>朱镕基</p></body></html>"
    )

    decoded = decode_html(text.encode("gbk"))

    assert decoded.encoding == "gb18030"
    assert decoded.method == "meta"
    assert decoded.text == text


@pytest.mark.parametrize("content_type", [None, "text/html; charset=gbk"])
def test_empty_bytes_give_empty_text(content_type: str | None) -> None:
    decoded = decode_html(b"", content_type)

    assert decoded.text == ""


@pytest.mark.parametrize("label", ["undefined", "null", "x-user-defined", "bogus-charset", "", "idna"])
def test_a_label_that_names_no_usable_text_codec_is_ignored(label: str) -> None:
    # `charset="undefined"` is what a template writes when its variable is unset; such pages exist.
    text = page(SIMPLIFIED, charset=label)
    body = text.encode("gbk")

    for content_type in (None, f"text/html; charset={label}"):
        decoded = decode_html(body, content_type)
        assert decoded.encoding == "gb18030", content_type
        assert decoded.text == text


def test_looks_mojibake_flags_utf8_read_as_latin1_and_gbk_read_as_big5() -> None:
    utf8_as_latin1 = SIMPLIFIED.encode("utf-8").decode("latin-1")
    big5_as_gbk = TRADITIONAL.encode("big5").decode("gb18030")

    assert looks_mojibake(utf8_as_latin1)
    assert looks_mojibake(big5_as_gbk)
    assert not looks_mojibake(SIMPLIFIED)
    assert not looks_mojibake(TRADITIONAL)


def test_undeclared_big5_falls_back_past_gb18030_to_big5() -> None:
    text = "青島市政府新聞辦公室今天舉行新聞發布會，介紹人工智能產業發展情況。" * 5
    decoded = decode_html(f"<html><body><p>{text}</p></body></html>".encode("big5"))
    assert text in decoded.text
    assert decoded.encoding == "big5hkscs"


def test_an_encoding_no_label_or_fallback_fits_is_left_to_the_detector() -> None:
    text = "これは日本語のページです。新しい発表があります。" * 10
    decoded = decode_html(f"<html><body><p>{text}</p></body></html>".encode("shift_jis"))
    assert decoded.method == "detector"
    assert text in decoded.text
