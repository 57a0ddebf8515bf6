"""Fingerprints: one hash for copies that differ only in noise, MinHash similarity for edited re-posts."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasketch import MinHash

from parsers.fingerprint import (
    NUM_PERM,
    SAME_RELEASE_THRESHOLD,
    SEED,
    _crc32,
    fingerprint,
    minhash_values,
    same_release,
    shingles,
    similarity,
)
from pressmon.offline import qd_press

RELEASES_DIR = qd_press.RELEASES_DIR

# Two paragraphs of release 2023 and the same paragraphs written in traditional characters, by hand.
SIMPLIFIED = (
    "低空经济是以民用有人驾驶和无人驾驶航空器的低空飞行活动为牵引，辐射带动相关领域融合发展的综合性经济形态。\n"
    "二是壮大低空制造产业。重点发展工业级无人机、电动垂直起降飞行器、航空发动机及关键零部件，引进整机制造龙头企业，"
    "培育飞控系统、动力电池、复合材料机身等配套企业，在胶州市、西海岸新区、即墨区打造三个低空产业集聚区。"
)
TRADITIONAL = (
    "低空經濟是以民用有人駕駛和無人駕駛航空器的低空飛行活動為牽引，輻射帶動相關領域融合發展的綜合性經濟形態。\n"
    "二是壯大低空製造產業。重點發展工業級無人機、電動垂直起降飛行器、航空發動機及關鍵零部件，引進整機製造龍頭企業，"
    "培育飛控系統、動力電池、複合材料機身等配套企業，在膠州市、西海岸新區、即墨區打造三個低空產業集聚區。"
)
TITLE = "《青岛市低空经济高质量发展行动方案》新闻发布会"

# Release 1580 (1,525 characters) with two sentences changed, as a re-post with edits would have them.
EDITS_1580 = (
    (
        "明年全市计划新建、改扩建中小学40所，新增学位约4.5万个，进一步缓解部分区域学位紧张问题。",
        "明年全市计划新建、改扩建中小学42所，新增学位约4.8万个，重点缓解城区和新区学位紧张问题。",
    ),
    (
        "各区市将开设线上咨询渠道，方便家长提前了解政策、准备材料。",
        "各区市还将开通咨询热线，方便家长随时了解政策、备齐材料。",
    ),
)


def release(release_id: int) -> tuple[str, str]:
    data = json.loads((RELEASES_DIR / f"{release_id}.json").read_text(encoding="utf-8"))
    return data["list_title"], "\n".join(data["paragraphs"])


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_the_same_text_has_the_same_fingerprint() -> None:
    title, body = release(2023)

    assert fingerprint(title, body) == fingerprint(title, body)


@pytest.mark.parametrize(
    "counters", [("浏览：126", "浏览：127"), ("浏览:126", "浏览：98765"), ("", "浏览：5")]
)
def test_a_different_view_counter_gives_the_same_hash(counters: tuple[str, str]) -> None:
    title, body = release(1206)
    first, second = (f"{counter}\n{body}" for counter in counters)

    assert fingerprint(title, first).content_hash == fingerprint(title, second).content_hash


def test_traditional_characters_give_the_same_hash() -> None:
    assert fingerprint(TITLE, TRADITIONAL).content_hash == fingerprint(TITLE, SIMPLIFIED).content_hash


def test_full_width_forms_give_the_same_hash() -> None:
    title, body = release(2023)
    assert any("!" <= ch <= "~" for ch in body), "the release has ASCII digits to widen"

    assert fingerprint(title, full_width(body)).content_hash == fingerprint(title, body).content_hash


def test_different_spacing_and_indentation_give_the_same_hash() -> None:
    title, body = release(2023)
    indented = "\n\n".join("\u3000\u3000" + line + "  " for line in body.split("\n"))

    assert fingerprint(title, indented).content_hash == fingerprint(title, body).content_hash


def test_an_edited_copy_is_the_same_release_but_not_the_same_text() -> None:
    title, body = release(1580)
    assert 1400 <= len(body) <= 1600
    edited = body
    for old, new in EDITS_1580:
        assert body.count(old) == 1
        edited = edited.replace(old, new)

    original, copy = fingerprint(title, body), fingerprint(title, edited)

    assert original.content_hash != copy.content_hash
    assert similarity(original.signature, copy.signature) >= SAME_RELEASE_THRESHOLD
    assert same_release(original, copy)
    assert set(original.buckets) & set(copy.buckets), "an edited copy must share an LSH bucket to be found"


def test_two_releases_of_one_series_are_different_releases() -> None:
    first, second = fingerprint(*release(1688)), fingerprint(*release(1702))

    assert similarity(first.signature, second.signature) < SAME_RELEASE_THRESHOLD
    assert not same_release(first, second)


def test_a_repost_with_small_edits_is_the_same_release() -> None:
    original_data = json.loads((RELEASES_DIR / "1703.json").read_text(encoding="utf-8"))
    assert original_data["same_release_as"] == 1702
    original, repost = fingerprint(*release(1702)), fingerprint(*release(1703))

    assert original.content_hash != repost.content_hash
    assert similarity(original.signature, repost.signature) >= SAME_RELEASE_THRESHOLD
    assert same_release(original, repost)
    assert set(original.buckets) & set(repost.buckets)


def test_unrelated_releases_are_far_apart() -> None:
    heating, chips = fingerprint(*release(1150)), fingerprint(*release(1003))

    assert similarity(heating.signature, chips.signature) < SAME_RELEASE_THRESHOLD / 2


def test_similarity_is_symmetric_and_one_for_itself() -> None:
    a, b = fingerprint(*release(1702)), fingerprint(*release(1703))

    assert similarity(a.signature, a.signature) == 1.0
    assert similarity(a.signature, b.signature) == similarity(b.signature, a.signature)


def test_an_empty_body_is_fingerprinted_by_its_title() -> None:
    assert fingerprint(TITLE, "").content_hash == fingerprint(TITLE, "\u3000 \n").content_hash
    assert (
        fingerprint(TITLE, "").content_hash
        != fingerprint("《青岛市集成电路产业发展情况》新闻发布会", "").content_hash
    )


def test_shingles_are_overlapping_five_character_windows() -> None:
    assert shingles("低空经济发展") == {"低空经济发", "空经济发展"}
    assert shingles("低空") == {"低空"}
    assert shingles("") == set()


# Characters of one, two, three and four UTF-8 bytes.
KEY_CHARACTERS = "国务院新闻办公室发布会青岛市人工智能产业链abcXYZ0123（）。，、ⅰ𠀀"


@pytest.mark.parametrize("length", [0, 1, 4, 5, 6, 50, 3000])
def test_the_vectorised_minhash_gives_datasketchs_signature(length: int) -> None:
    """Signatures stored before stay comparable with new ones."""
    rng = random.Random(length)
    for _ in range(20):
        key = "".join(rng.choice(KEY_CHARACTERS) for _ in range(length))
        minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_crc32)
        minhash.update_batch([s.encode("utf-8") for s in shingles(key)])
        assert minhash_values(key).tobytes() == minhash.hashvalues.astype(np.uint32).tobytes()
