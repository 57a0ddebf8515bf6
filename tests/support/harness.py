"""The extraction evaluation: real pages paired with what a careful reader expects, and the scores of a tool."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from parsers.decode import looks_mojibake
from pressmon.offline import qd_press

ROOT = Path(__file__).resolve().parents[2]
# Every `tests/eval/*_cases.json` is read: a new group of pages is one more file, no code change.
CASES_DIR = ROOT / "tests" / "eval"
CORPUS_HTML = Path(os.environ.get("PRESSMON_CORPUS_DIR") or ROOT.parent / "shared" / "corpus") / "html"
OFFLINE_RELEASES = qd_press.RELEASES_DIR
# Page furniture of the offline site that must never reach a body.
OFFLINE_MUST_NOT = ("浏览：", "扫一扫在手机打开当前页", "分享到", "版权所有", "上一篇", "鲁ICP备", "当前位置")
SPACES = re.compile(r"\s+")
# Pages the extractor was tuned on, and pages kept out of tuning: their annotations were committed before any
# extractor change that could have looked at them.
TUNED = "tuned"
HELD_OUT = "held_out"
# The first release of every declared source, from its offline site: pages written by the sources' authors
# from each site's documented structure, with what a reader takes from them in tests/sources/expected/.
RECONSTRUCTED = "reconstructed"
EXPECTED_DIR = ROOT / "tests" / "sources" / "expected"
# Site furniture every reconstructed page carries somewhere; none of it belongs in a body.
SITE_FURNITURE = ("网站标识码", "ICP备", "主办单位", "Copyright", "版权所有", "分享到", "当前位置")


@dataclass(frozen=True)
class Case:
    """A page and what a careful reader takes from it."""

    name: str
    body: bytes
    url: str
    is_article: bool
    title: str | None
    published: str | None
    publisher: str | None
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    group: str  # where the page comes from: "corpus", "offline", or the case file's pages
    split: str = TUNED  # "tuned", "held_out", or another group a case file names


@dataclass(frozen=True)
class Output:
    """What a tool extracted from a page (body "" when it found no article)."""

    title: str | None = None
    published: str | None = None
    publisher: str | None = None
    body: str = ""


@dataclass
class Scores:
    pages: int = 0
    articles: int = 0
    title_hits: int = 0
    date_hits: int = 0
    publisher_hits: int = 0
    publisher_cases: int = 0
    true_positives: int = 0
    false_negatives: int = 0
    false_positives: int = 0
    mojibake_pages: int = 0
    non_articles_rejected: int = 0
    non_articles: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def title_rate(self) -> float:
        return self.title_hits / self.articles if self.articles else 0.0

    @property
    def date_rate(self) -> float:
        return self.date_hits / self.articles if self.articles else 0.0

    @property
    def publisher_rate(self) -> float:
        return self.publisher_hits / self.publisher_cases if self.publisher_cases else 0.0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def same_text(a: str | None, b: str | None) -> bool:
    """Compare titles or publishers as a reader would: width and spacing do not matter."""
    if a is None or b is None:
        return a is None and b is None
    return _norm(a) == _norm(b)


def _norm(text: str) -> str:
    return SPACES.sub("", unicodedata.normalize("NFKC", text))


def score(cases: list[Case], outputs: list[Output]) -> Scores:
    """Score a tool's outputs against the cases.

    Body: a `must` snippet found once is a true positive, missing a false negative; a `must_not` snippet found,
    and every extra copy of a `must` snippet (text shown twice), is a false positive.
    """
    s = Scores()
    for case, out in zip(cases, outputs, strict=True):
        s.pages += 1
        body = _norm(out.body or "")
        if looks_mojibake((out.title or "") + "\n" + (out.body or "")):
            s.mojibake_pages += 1
        s.false_positives += sum(1 for snippet in case.must_not if _norm(snippet) in body)
        if not case.is_article:
            s.non_articles += 1
            s.non_articles_rejected += int(len(body) < 50)
            continue
        s.articles += 1
        s.title_hits += int(same_text(out.title, case.title))
        s.date_hits += int((out.published or None) == case.published)
        if case.publisher is not None:
            s.publisher_cases += 1
            s.publisher_hits += int(same_text(out.publisher, case.publisher))
        for snippet in case.must:
            count = body.count(_norm(snippet))
            if count:
                s.true_positives += 1
                s.false_positives += count - 1
            else:
                s.false_negatives += 1
                s.misses.append(f"{case.name}: {snippet}")
    return s


def file_cases(path: Path) -> list[Case]:
    """Return the hand-labelled cases of one case file.

    An entry names its page as `file` (a page of the shared corpus, read in place) or `page` (a path relative
    to the repository root), and its `split` ("tuned" when absent).
    """
    cases = []
    for entry in json.loads(path.read_text(encoding="utf-8")):
        if "file" in entry:
            name, page, group = entry["file"], CORPUS_HTML / entry["file"], "corpus"
        else:
            name, page, group = entry["page"], ROOT / entry["page"], path.stem.removesuffix("_cases")
        split = entry.get("split", TUNED)
        cases.append(
            Case(
                name=name,
                body=page.read_bytes(),
                url=entry["url"],
                is_article=entry["is_article"],
                title=entry["title"],
                published=entry["published"],
                publisher=entry["publisher"],
                must=tuple(entry["must"]),
                must_not=tuple(entry["must_not"]),
                group=group,
                split=split,
            )
        )
    return cases


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*_cases.json"))


def offline_cases() -> list[Case]:
    """Return cases built from the offline site's release data: what the page says, not what a parser says."""
    from pressmon.offline.qd_press import detail_path, load_releases, render_detail_page

    cases = []
    for release in load_releases(OFFLINE_RELEASES):
        paragraphs = [p for p in release.paragraphs if len(p) >= 12]
        picks = (
            {paragraphs[1], paragraphs[len(paragraphs) // 2], paragraphs[-1]}
            if len(paragraphs) > 2
            else set(paragraphs)
        )
        cases.append(
            Case(
                name=f"qd_press/{release.id}",
                body=render_detail_page(release, views=release.views + 1).encode("utf-8"),
                url=qd_press.real_url(detail_path(release)),
                is_article=True,
                title=release.list_title,
                published=release.published.isoformat(),
                publisher=None,  # the site names no 来源; not scored
                must=tuple(p[:24] for p in sorted(picks)),
                must_not=OFFLINE_MUST_NOT,
                group="offline",
            )
        )
    return cases


def all_cases(extra: tuple[Path, ...] = ()) -> list[Case]:
    """Return every case: the case files of tests/eval, the offline site's pages, and any extra case files."""
    files = [*case_files(), *(p for p in extra if p.resolve() not in {f.resolve() for f in case_files()})]
    return [case for path in files for case in file_cases(path)] + offline_cases() + source_cases()


Tool = Callable[[Case], Output]


def pressmon_tool(case: Case) -> Output:
    from parsers.extract import ParseError, extract_page

    try:
        e = extract_page(case.body, case.url)
    except ParseError:
        return Output()
    return Output(e.title, e.published_at.isoformat() if e.published_at else None, e.publisher, e.body)


def source_cases() -> list[Case]:
    """Return the first release of every declared source that has an expectation file (split "reconstructed").

    The expected title, date, 来源 and body snippets are the ones tests/sources checks after a real crawl; the
    sources' pages were written from the documented structure of each site, not for the extractor.
    """
    import tomllib

    from pressmon.sources import registry
    from pressmon.sources.families import family_of

    cases = []
    for code, source in registry().items():
        expected_file = EXPECTED_DIR / f"{code}.toml"
        if code == "qd_press" or not expected_file.exists():
            continue  # qd_press's pages are the offline group already
        first = tomllib.loads(expected_file.read_text(encoding="utf-8"))["first"]
        page = ROOT / "pressmon" / "offline" / "sites" / code / family_of(source).offline_path(first["url"])
        body = page.read_bytes()
        text = body.decode("utf-8", "replace") + body.decode("gb18030", "replace")
        cases.append(
            Case(
                name=f"{code}/{page.name}",
                body=body,
                url=first["url"],
                is_article=True,
                title=first["title"],
                published=first["published"],
                publisher=first.get("publisher"),
                must=tuple(first["body_contains"]),
                must_not=tuple(m for m in SITE_FURNITURE if m in text),
                group="sources",
                split=RECONSTRUCTED,
            )
        )
    return cases
