"""What the fuzz tests start from, check and report: settings, seed pages, the contract, the record of a run.

Settings are read when this module is first imported. tests/conftest.py clears every PRESSMON_* variable
it does not know, so a run that sets them loads this module first: `pytest -p tests.parsers.fuzzing`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from parsers.extract import DEFAULT_OPTIONS, Extraction
from pressmon.offline import qd_press

ROOT = Path(__file__).resolve().parents[2]
# The shared corpus in place, then the repository's read-only copy of it.
CORPUS_DIRS = (ROOT.parent / "shared" / "corpus",)
RELEASES_DIR = qd_press.RELEASES_DIR

DEFAULT_EXAMPLES = 10_000
SEED = 20_240_817
EXAMPLES = int(os.environ.get("PRESSMON_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
CORPUS_DIR = os.environ.get("PRESSMON_CORPUS_DIR") or None

# What the time cap may overrun by: one step between two checks of the clock (at most one pass over a page
# of max_chars), on a machine other processes share.
SLACK_SECONDS = 3.0
# Controls other than tab and newline, and lone surrogates: Postgres `text` refuses NUL, UTF-8 surrogates.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class SeedPage:
    """A real or rendered page the fuzzer mutates."""

    name: str
    body: bytes
    content_type: str | None = None


def corpus_dir() -> Path:
    """Return the corpus folder: PRESSMON_CORPUS_DIR if set, else the first of CORPUS_DIRS that has pages."""
    if CORPUS_DIR:
        return Path(CORPUS_DIR)
    return next((d for d in CORPUS_DIRS if any((d / "html").glob("*.html"))), CORPUS_DIRS[-1])


@cache
def seed_pages() -> tuple[SeedPage, ...]:
    """Return the corpus pages and the offline site's pages: articles, lists and an error page."""
    html = corpus_dir() / "html"
    pages = [SeedPage(p.name, p.read_bytes()) for p in sorted(html.glob("*.html"))]
    if not pages:
        raise FileNotFoundError(f"no corpus pages under {html}")
    releases = qd_press.load_releases(RELEASES_DIR)
    for release in releases:
        page = qd_press.render_detail_page(release, views=release.id)
        pages.append(
            SeedPage(f"qd_press/{release.id}.html", page.encode("utf-8"), "text/html; charset=utf-8")
        )
    for release in releases[:3]:
        page = qd_press.render_detail_page(release, views=1, charset="gb2312")
        pages.append(SeedPage(f"qd_press/{release.id}-gbk.html", page.encode("gb18030")))
        page = qd_press.render_detail_page(release, views=1, charset="big5")
        pages.append(
            SeedPage(f"qd_press/{release.id}-big5.html", page.encode("big5hkscs", "xmlcharrefreplace"))
        )
    pages.append(SeedPage("qd_press/list-1.html", qd_press.render_list_page(releases, 1).encode("utf-8")))
    pages.append(SeedPage("qd_press/404.html", qd_press.render_error_page(404).encode("utf-8")))
    return tuple(pages)


def strings_of(extraction: Extraction) -> Iterator[str | None]:
    """Yield every string field of an extraction, the nested ones included."""
    yield from (extraction.title, extraction.publisher, extraction.column, extraction.body)
    yield from extraction.paragraphs
    for attachment in extraction.attachments:
        yield from (attachment.url, attachment.name)
    for speaker in extraction.speakers:
        yield from (speaker.name, speaker.role)


def check_extraction(extraction: Extraction) -> None:
    """Assert what any extraction must be: a title and a body, every string storable as it is."""
    assert isinstance(extraction, Extraction)
    assert extraction.title.strip()
    assert extraction.paragraphs
    assert all(paragraph.strip() for paragraph in extraction.paragraphs)
    assert len(extraction.body) <= DEFAULT_OPTIONS.max_body_chars
    for value in strings_of(extraction):
        assert value is None or isinstance(value, str), repr(value)
        assert value is None or not UNSTORABLE.search(value), repr(value[:200])


@dataclass
class FuzzRecord:
    """Pages fed to the extractor in this session, how many raised what they must not, and how long each took."""

    seed: int = SEED
    pages: int = 0
    extracted: int = 0
    uncaught: int = 0  # pages that raised something other than ParseError (Hypothesis's shrinking included)
    millis: list[float] = field(default_factory=list, repr=False)
    max_millis: float = 0.0
    slowest_bytes: int = 0  # the size of the slowest page

    def add(self, millis: float, size: int, *, extracted: bool) -> None:
        if millis >= self.max_millis:
            self.max_millis, self.slowest_bytes = millis, size
        self.pages += 1
        self.extracted += extracted
        self.millis.append(millis)

    def summary(self) -> str:
        ordered = sorted(self.millis)
        p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] if ordered else 0.0
        return (
            f"fuzz: pages={self.pages} uncaught={self.uncaught} max_ms={self.max_millis:.1f} "
            f"p99_ms={p99:.1f} seed={self.seed} extracted={self.extracted} slowest_bytes={self.slowest_bytes}"
        )
