"""Tagging releases by industry chain with the current scheme."""

from __future__ import annotations

import json
from functools import cache

import opencc
import pytest

from parsers.tag import Tagger, tokens
from parsers.taxonomy import CURRENT_SCHEME, load_scheme
from pressmon.offline import qd_press

RELEASES_DIR = qd_press.RELEASES_DIR


def release(release_id: int) -> dict:
    return json.loads((RELEASES_DIR / f"{release_id}.json").read_text(encoding="utf-8"))


def body_of(data: dict) -> str:
    return "\n".join(data["paragraphs"])


@cache
def tagger() -> Tagger:
    return Tagger(load_scheme())


def chains_of(title: str, body: str) -> list[str]:
    return [t.chain for t in tagger().tag(title, body)]


def test_the_current_scheme_is_loaded() -> None:
    scheme = load_scheme()

    assert scheme.code == CURRENT_SCHEME
    assert "低空经济" in scheme.chain_names


def test_low_altitude_release_gets_low_altitude_economy_as_top_tag() -> None:
    data = release(2023)
    assert data["chains"] == ["低空经济"]
    title, body = data["list_title"], body_of(data)

    tags = tagger().tag(title, body)

    assert tags, "a release about one chain gets a tag"
    top = tags[0]
    assert top.chain == "低空经济"
    assert top.score >= tagger().options.min_score
    assert top.evidence["title"] == {"低空经济": title.count("低空经济")}
    body_terms = top.evidence["body"]
    assert "低空经济" in body_terms
    assert "无人机" in body_terms
    for term, count in body_terms.items():
        assert 1 <= count <= body.count(term), term
    assert top.evidence["body_chars"] == len(body)


def test_evidence_is_only_terms_of_the_tagged_chain() -> None:
    data = release(2023)
    chain = load_scheme().chain("低空经济")
    own_terms = {term for term, _ in chain.terms()}

    top = tagger().tag(data["list_title"], body_of(data))[0]

    assert set(top.evidence["title"]) <= own_terms
    assert set(top.evidence["body"]) <= own_terms


def test_traditional_text_of_a_release_gets_the_same_top_tag() -> None:
    data = release(2023)
    to_traditional = opencc.OpenCC("s2t")
    title, body = to_traditional.convert(data["list_title"]), to_traditional.convert(body_of(data))
    assert "低空經濟" in body and "低空经济" not in body

    tags = tagger().tag(title, body)

    assert tags[0].chain == "低空经济"
    assert "低空经济" in tags[0].evidence["body"]


# A long transcript about holidays and culture that the analysts label [] and that names no chain term.
UNRELATED = 1612


@pytest.mark.parametrize("chain_name", load_scheme().chain_names)
def test_one_passing_mention_in_a_long_unrelated_transcript_is_no_tag(chain_name: str) -> None:
    data = release(UNRELATED)
    assert data["chains"] == []
    body = body_of(data)
    chain = load_scheme().chain(chain_name)
    assert not [term for term, _ in chain.terms() if term in body], "precondition: the base names no term"
    at = len(data["paragraphs"]) // 2
    paragraphs = list(data["paragraphs"])
    paragraphs[at] += f"此外，我市近年来也在推动{chain_name}发展。"

    assert chain_name not in chains_of(data["list_title"], "\n".join(paragraphs))


@pytest.mark.parametrize("chain_name", ["低空经济", "高端化工与新材料", "现代轻工"])
def test_one_passing_mention_in_the_long_seed_transcript_is_no_tag(chain_name: str) -> None:
    data = release(1206)
    body = body_of(data)
    chain = load_scheme().chain(chain_name)
    assert not [term for term, _ in chain.terms() if term in body], "precondition: the base names no term"

    assert chain_name not in chains_of(data["list_title"], body + f"\n我市还将积极培育{chain_name}。")


@pytest.mark.parametrize(
    ("release_id", "passing_chain"),
    [(1580, "人工智能"), (2160, "人工智能"), (2251, "智能家电")],
)
def test_labelled_passing_mentions_are_no_tag(release_id: int, passing_chain: str) -> None:
    # The analysts label these releases [] and their notes name the chain as mentioned only in passing.
    data = release(release_id)
    assert data["chains"] == []
    assert "passing" in data["notes"]
    title, body = data["list_title"], body_of(data)

    tagged = chains_of(title, body)

    assert passing_chain not in tagged


def test_a_release_about_no_chain_gets_no_tag() -> None:
    data = release(UNRELATED)

    assert chains_of(data["list_title"], body_of(data)) == []


def test_empty_text_gets_no_tag() -> None:
    assert tagger().tag("", "") == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("充电桩建设", "充电桩"),
        ("推动低空经济高质量发展", "低空经济"),
        ("发展低空经济产业", "低空经济产业"),
        ("推动新型储能项目落地", "新型储能"),
        ("青岛啤酒厂", "青岛啤酒"),
    ],
)
def test_multi_character_terms_are_one_token(text: str, term: str) -> None:
    assert term in tokens(text)


def test_the_longer_of_two_nested_terms_wins() -> None:
    # 无人驾驶航空器 (低空经济) contains 无人驾驶 (智能网联新能源汽车); the scheme file says the longer wins.
    toks = tokens("规范无人驾驶航空器飞行活动")

    assert "无人驾驶航空器" in toks
    assert "无人驾驶" not in toks


def test_tokens_are_normalised_simplified_and_lower_case() -> None:
    toks = tokens("發展ＡＩ產業和低空經濟")

    assert "低空经济" in toks
    assert "ai" in toks
    assert all(t == t.lower() for t in toks)


def test_tokens_drop_punctuation_and_whitespace() -> None:
    toks = tokens("主持人：各位记者朋友们，大家好！\u3000\n")

    assert toks
    assert not [t for t in toks if not t.strip() or t in "：，！:,!"]
