"""Tag a release by industry chain: jieba tokens matched against a scheme, scored with evidence."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import jieba

from parsers.normalize import normalize_text
from parsers.taxonomy import CURRENT_SCHEME, TERM_WEIGHTS, Scheme, load_scheme, user_dictionary

jieba.setLogLevel(logging.WARNING)
_TOKENIZER_LOCK = threading.Lock()
# PRESSMON_SEGMENTER=jieba forces the pure-Python segmenter even where rjieba is installed.
SEGMENTER_ENV = "PRESSMON_SEGMENTER"
# The characters jieba keeps in one block with Han text but segments with its own rules ("2.3", "10%",
# "2019-09-23" → 2019 - 09 - 23), where jieba-rs differs.
_LATIN_RUN = re.compile(r"[a-zA-Z0-9+#&._%\-]+")


class Segmenter(Protocol):
    def lcut(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class TagOptions:
    """How points become a score, and which score makes a tag."""

    title_weight: float = 6.0
    # Body points are counted per this many characters, so a long transcript is not "about" everything.
    chars_per_unit: int = 2500
    # score = 1 - exp(-points / scale)
    scale: float = 10.0
    min_score: float = 0.55
    max_count_per_term: int = 20
    # Without a title match, a chain needs this many distinct terms in the body ...
    min_distinct_terms: int = 2
    # ... and this share of the strongest chain's points: what a release is about dominates it.
    min_share: float = 0.3


@dataclass(frozen=True)
class Tag:
    chain: str
    score: float
    evidence: dict[str, Any]

    def as_json(self) -> dict[str, object]:
        return {"chain": self.chain, "score": round(self.score, 4), "evidence": self.evidence}


@cache
def tokenizer(scheme_code: str = CURRENT_SCHEME) -> jieba.Tokenizer:
    """Return a jieba tokenizer that knows every term of a scheme as one word (one per scheme and process)."""
    with _TOKENIZER_LOCK:
        tok = jieba.Tokenizer()
        tok.initialize()
        tok.load_userdict(io.StringIO(user_dictionary(load_scheme(scheme_code))))
        return tok


class RustSegmenter:
    """jieba-rs (rjieba) over jieba's own dictionary and a scheme's user dictionary: jieba's tokens, 20× faster.

    jieba-rs cuts runs of digits, Latin letters and `+#&._%-` its own way; those runs, short and rare, are
    handed to jieba, so the tokens are jieba's.
    """

    def __init__(self, user_dictionary: str, fallback: jieba.Tokenizer):
        import rjieba

        self._rust = rjieba.Jieba()
        for line in user_dictionary.splitlines():
            word, freq = line.rsplit(" ", 1)
            self._rust.add_word(word, int(freq), None)
        self._jieba = fallback

    def lcut(self, text: str) -> list[str]:
        out: list[str] = []
        run: list[str] = []
        for token in self._rust.cut(text):
            if _LATIN_RUN.fullmatch(token):
                run.append(token)
                continue
            if run:
                out.extend(self._latin(run))
                run = []
            out.append(token)
        if run:
            out.extend(self._latin(run))
        return out

    def _latin(self, run: list[str]) -> list[str]:
        if len(run) == 1 and run[0].isalnum():
            return run
        return self._jieba.lcut("".join(run))

    def normalised_lcut(self, text: str) -> list[str]:
        """`_normalised(self.lcut(text))` in one pass over jieba-rs's tokens: a thousand tokens a release, where
        a second pass and a regular expression on every token cost more than jieba-rs's own cut."""
        out: list[str] = []
        run: list[str] = []
        latin = _LATIN_RUN.fullmatch
        for token in self._rust.cut(text):
            if token.isascii() and latin(token):  # the Latin-run characters are all ASCII
                run.append(token)
                continue
            if run:
                out.extend(_normalised(self._latin(run)))
                run = []
            if len(token) > 1:
                if token.strip():
                    out.append(token.lower())
            elif token.isalnum():  # a single character: kept if a letter or digit
                out.append(token.lower())
        if run:
            out.extend(_normalised(self._latin(run)))
        return out


@cache
def segmenter(scheme_code: str = CURRENT_SCHEME) -> Segmenter:
    """Return the segmenter of a scheme: rjieba where installed (and not switched off), else jieba."""
    fallback = tokenizer(scheme_code)
    if os.environ.get(SEGMENTER_ENV, "").lower() == "jieba":
        return fallback
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return fallback
    return RustSegmenter(user_dictionary(load_scheme(scheme_code)), fallback)


def tokens(text: str, scheme_code: str = CURRENT_SCHEME) -> list[str]:
    """Segment text into lower-case jieba tokens, dropping whitespace and punctuation."""
    return normalised_tokens(normalize_text(text), scheme_code)


def normalised_tokens(text: str, scheme_code: str = CURRENT_SCHEME) -> list[str]:
    """Segment text already normalised with `normalize_text`."""
    cut = segmenter(scheme_code)
    if isinstance(cut, RustSegmenter):
        return cut.normalised_lcut(text)
    return _normalised(cut.lcut(text))


def _normalised(tokens: list[str]) -> list[str]:
    """Lower-case tokens without whitespace and single punctuation marks."""
    return [t.lower() for t in tokens if t.strip() and (t.isalnum() or len(t) > 1)]


class Tagger:
    """Score a release against every chain of one scheme."""

    def __init__(self, scheme: Scheme | None = None, options: TagOptions | None = None):
        self.scheme = scheme or load_scheme()
        self.options = options or TagOptions()
        self._terms: dict[str, list[tuple[str, str]]] = {}
        for chain in self.scheme.chains:
            for term, kind in chain.terms():
                self._terms.setdefault(term, []).append((chain.name, kind))

    def tokens(self, text: str) -> list[str]:
        """Segment text with this scheme's dictionary."""
        return tokens(text, self.scheme.code)

    def normalised_tokens(self, text: str) -> list[str]:
        """Segment text already normalised with `normalize_text`."""
        return normalised_tokens(text, self.scheme.code)

    def tag(
        self,
        title: str,
        body: str,
        body_tokens: list[str] | None = None,
        title_tokens: list[str] | None = None,
    ) -> list[Tag]:
        """Return the chains the release is about, strongest first."""
        scored = self.score_all(title, body, body_tokens, title_tokens)
        if not scored:
            return []
        top = max(t.evidence["points"] for t in scored)
        return [t for t in scored if self._about(t, top)]

    def _about(self, tag: Tag, top_points: float) -> bool:
        o = self.options
        if tag.score < o.min_score:
            return False
        if tag.evidence["title"]:
            return True
        return (
            len(tag.evidence["body"]) >= o.min_distinct_terms
            and tag.evidence["points"] >= o.min_share * top_points
        )

    def score_all(
        self,
        title: str,
        body: str,
        body_tokens: list[str] | None = None,
        title_tokens: list[str] | None = None,
    ) -> list[Tag]:
        """Return a scored Tag for every chain with any evidence, strongest first."""
        title_hits = self._hits(title_tokens if title_tokens is not None else self.tokens(title))
        body_hits = self._hits(body_tokens if body_tokens is not None else self.tokens(body))
        body_chars = len(body)
        units = max(1.0, body_chars / self.options.chars_per_unit)
        tags = []
        for chain in {c for hits in (title_hits, body_hits) for c in hits}:
            title_terms = title_hits.get(chain, {})
            body_terms = body_hits.get(chain, {})
            title_points = sum(self._weight(chain, t) * min(n, 2) for t, n in title_terms.items())
            body_points = sum(
                self._weight(chain, t) * (1 + math.log(min(n, self.options.max_count_per_term)))
                for t, n in body_terms.items()
            )
            density = body_points / math.sqrt(units)
            points = self.options.title_weight * title_points + density
            score = 1 - math.exp(-points / self.options.scale)
            tags.append(
                Tag(
                    chain=chain,
                    score=score,
                    evidence={
                        "title": dict(title_terms),
                        "body": dict(sorted(body_terms.items(), key=lambda kv: -kv[1])),
                        "body_chars": body_chars,
                        "title_points": round(title_points, 3),
                        "body_points": round(body_points, 3),
                        "density": round(density, 3),
                        "points": round(points, 3),
                    },
                )
            )
        return sorted(tags, key=lambda t: (-t.score, t.chain))

    def _hits(self, toks: list[str]) -> dict[str, dict[str, int]]:
        counts = Counter(t for t in toks if t in self._terms)
        hits: dict[str, dict[str, int]] = {}
        for term, n in counts.items():
            for chain, _kind in self._terms[term]:
                hits.setdefault(chain, {})[term] = n
        return hits

    def _weight(self, chain: str, term: str) -> float:
        return max(TERM_WEIGHTS[kind] for c, kind in self._terms[term] if c == chain)
