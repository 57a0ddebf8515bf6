"""Extraction quality on real pages stays at or above the recorded floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import needs_corpus
from tests.support.harness import HELD_OUT, RECONSTRUCTED, TUNED, all_cases, pressmon_tool, score

pytestmark = needs_corpus

FLOORS = json.loads((Path(__file__).parent / "floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outputs():
    cases = all_cases()
    return cases, [pressmon_tool(case) for case in cases]


@pytest.fixture(scope="module")
def scores(outputs):
    """Scores on the pages pressmon was tuned on: what the floors hold."""
    return _split(outputs, TUNED)


@pytest.fixture(scope="module")
def held_out(outputs):
    return _split(outputs, HELD_OUT)


def _split(outputs, split):
    cases, outs = outputs
    picked = [(c, o) for c, o in zip(cases, outs, strict=True) if c.split == split]
    return score([c for c, _ in picked], [o for _, o in picked])


def test_the_evaluation_covers_every_corpus_page_and_the_offline_site(scores):
    assert scores.pages == 17 + 47
    assert scores.non_articles == 4


def test_the_held_out_pages_are_in_the_evaluation(held_out):
    assert held_out.pages == 12
    assert held_out.non_articles == 1


@pytest.mark.parametrize(
    "measure", ["title_rate", "date_rate", "publisher_rate", "precision", "recall", "f1"]
)
def test_score_is_not_below_its_floor(scores, measure):
    value = getattr(scores, measure)
    assert value >= FLOORS[measure] - 1e-9, (
        f"{measure} {value:.3f} < floor {FLOORS[measure]}; missed: {scores.misses[:10]}"
    )


@pytest.mark.parametrize("split", [HELD_OUT, RECONSTRUCTED])
@pytest.mark.parametrize(
    "measure", ["title_rate", "date_rate", "publisher_rate", "precision", "recall", "f1"]
)
def test_untuned_score_is_not_below_its_floor(outputs, split, measure):
    scores = _split(outputs, split)
    value = getattr(scores, measure)
    floor = FLOORS[split][measure]
    assert value >= floor - 1e-9, (
        f"{split} {measure} {value:.3f} < floor {floor}; missed: {scores.misses[:10]}"
    )


def test_every_declared_source_s_first_release_is_in_the_evaluation(outputs):
    from pressmon.sources import registry

    reconstructed = _split(outputs, RECONSTRUCTED)
    # All but qd_press, whose pages are the offline group.
    assert reconstructed.pages == len([code for code in registry() if code != "qd_press"]) >= 20


def test_no_more_pages_with_mojibake_than_the_floor(scores):
    assert scores.mojibake_pages <= FLOORS["max_mojibake_pages"]


def test_list_and_empty_pages_are_not_turned_into_articles(scores, held_out):
    assert scores.non_articles_rejected / scores.non_articles >= FLOORS["non_article_rejection_rate"]
    assert (
        held_out.non_articles_rejected / held_out.non_articles
        >= FLOORS["held_out"]["non_article_rejection_rate"]
    )
