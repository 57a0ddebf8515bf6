"""rjieba and jieba segment alike: the same tokens, and so the same tags, on the labelled set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import tag
from parsers.normalize import normalize_text
from parsers.tag import RustSegmenter, Tagger, segmenter, tokenizer
from parsers.taxonomy import load_scheme, user_dictionary
from tests.parsers.test_tagging_quality import load_examples

pytest.importorskip("rjieba")


@pytest.fixture(scope="module")
def rust() -> RustSegmenter:
    scheme = load_scheme()
    return RustSegmenter(user_dictionary(scheme), tokenizer(scheme.code))


def test_rjieba_is_the_segmenter_where_installed() -> None:
    assert isinstance(segmenter(), RustSegmenter)


def test_same_tokens_on_the_labelled_set(rust: RustSegmenter) -> None:
    jieba = tokenizer()
    for example in load_examples():
        for text in (example.title, example.body):
            assert rust.lcut(normalize_text(text)) == jieba.lcut(normalize_text(text)), example.id


@pytest.mark.parametrize(
    "text",
    ["增长2.3%，达18.6%", "2019-09-23发布", "E-CVT变速箱", "电话：0532-85911234", "一汽-大众", "C++与C#……"],
)
def test_runs_of_digits_and_latin_letters_are_cut_as_jieba_cuts_them(rust: RustSegmenter, text: str) -> None:
    assert rust.lcut(text) == tokenizer().lcut(text)


def test_same_tags_on_the_labelled_set(rust: RustSegmenter, monkeypatch: pytest.MonkeyPatch) -> None:
    tagger = Tagger()
    examples = load_examples()
    with_rust = [tagger.tag(e.title, e.body) for e in examples]
    monkeypatch.setattr(tag, "segmenter", lambda scheme_code=tag.CURRENT_SCHEME: tokenizer(scheme_code))
    with_jieba = [tagger.tag(e.title, e.body) for e in examples]
    assert with_rust == with_jieba
    assert any(with_rust)


TEXT_PIECES = (
    "人形机器人",
    "产业链",
    "低空经济",
    "发展",
    "，",
    "。",
    "、",
    " ",
    "  ",
    "\n",
    "\t",
    "2.3",
    "%",
    "2019-09-23",
    "AI",
    "E-CVT",
    "C++",
    "_",
    "ΣΑΣ",
    "Ａ",
    "x",
    "-",
    "①",
    "٣",
    "……",
    "——",
    "《",
)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(TEXT_PIECES), max_size=12).map("".join))
def test_normalised_tokens_in_one_pass_are_the_tokens_normalised(rust: RustSegmenter, text: str) -> None:
    # The one-pass `normalised_lcut` must give what lower-casing and filtering `lcut`'s tokens gives.
    assert rust.normalised_lcut(text) == tag._normalised(rust.lcut(text))
