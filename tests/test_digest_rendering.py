"""Pure parts of the digest: evidence terms, the excerpt that shows them, the subject."""

from __future__ import annotations

from pressmon.alerts import evidence_terms, excerpt, subject

BODY = (
    "主持人：各位记者朋友们，大家上午好！欢迎参加新闻发布会。\n"
    "今年以来，全市经济运行总体平稳，各项工作有序推进，城市更新、民生保障等方面都取得了新的进展，群众满意度持续提升。\n"
    "在产业方面，青岛加快发展人形机器人和工业机器人，推动人工智能与制造业深度融合，已有多家企业落地。\n"
    "最后，欢迎大家继续关注。"
)


def test_evidence_terms_put_title_matches_and_frequent_terms_first():
    evidence = [
        {
            "chain": "人工智能",
            "evidence": {"title": {"人形机器人": 1}, "body": {"人工智能": 2, "人形机器人": 1}},
        },
        {"chain": "智能装备", "evidence": {"title": {}, "body": {"工业机器人": 1}}},
    ]
    assert evidence_terms(evidence) == {"人工智能": ["人形机器人", "人工智能"], "智能装备": ["工业机器人"]}


def test_the_excerpt_is_the_stretch_with_most_terms_and_marks_each_occurrence():
    segments = excerpt(BODY, ["人形机器人", "人工智能", "工业机器人"], width=60)
    marked = [text for text, hit in segments if hit]
    assert marked == ["人形机器人", "工业机器人", "人工智能"]
    joined = "".join(text for text, _ in segments)
    assert joined.startswith("…") and joined.strip("…") in BODY.replace("\n", " ")
    assert len(joined.strip("…")) <= 60


def test_letters_match_without_case_and_the_text_keeps_its_own():
    segments = excerpt("我市5G基站已超过3万个，AI应用加快普及。", ["5g", "ai"])
    assert [text for text, hit in segments if hit] == ["5G", "AI"]


def test_without_any_term_in_the_text_the_excerpt_is_the_first_substantive_sentence():
    segments = excerpt(BODY, ["低空经济"])
    assert segments == [(segments[0][0], False)] and segments[0][0].startswith("今年以来")


def test_the_subject_counts_releases_per_chain_busiest_first():
    items = [
        {"chains": ["人工智能", "智能装备"]},
        {"chains": ["人工智能"]},
        {"chains": []},
        {"chains": ["低空经济"]},
        {"chains": ["绿色能源"]},
    ]
    assert subject(items) == (
        "pressmon 新发布提醒：5 条新发布（人工智能 2 条、低空经济 1 条、智能装备 1 条 等 4 个产业链、未归入产业链 1 条）"
    )
