#!/usr/bin/env python3
"""Validate tests/eval/extraction_cases.json against the real corpus pages.

Run by hand (not collected by pytest):

    .venv/bin/python tests/eval/check_cases.py [CORPUS_HTML_DIR]

The corpus directory defaults to $PRESSMON_CORPUS_HTML, else $PRESSMON_CORPUS_DIR/html, else ../shared/corpus/html
(read-only copies of ../shared/corpus/html).

Checks:
  * every .html file of the corpus has exactly one case, and no case names a missing file;
  * all fields are present with the right types; dates are YYYY-MM-DD or null;
  * the "encoding" field matches the corpus manifests (bytes really UTF-8 -> "utf-8",
    GB2312/GBK bytes -> "gb18030") and the file decodes strictly with it;
  * non-articles have title/published/publisher null and no must snippets;
  * snippet counts and lengths follow the brief (must 6-10 x 8-30 chars for articles,
    must_not 4-8 x 6-30 chars; shorter must_not labels only where the page has no longer
    boilerplate, which is reported as a warning);
  * every must / must_not snippet occurs verbatim in the decoded visible text of the page
    (scripts/styles removed, whitespace collapsed), both when text nodes are joined with
    nothing and with a space -- i.e. the snippet does not straddle a tag;
  * no snippet has leading/trailing whitespace, no must snippet equals (or contains, or is
    contained in) a must_not snippet of the same case.

Warnings (not failures): a must snippet that occurs more than once on the page (it may
also be in boilerplate), a short must_not label.

Exit status 0 when there are no errors.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

HERE = Path(__file__).resolve().parent
CASES = HERE / "extraction_cases.json"
DEFAULT_CORPUS = Path(os.environ.get("PRESSMON_CORPUS_DIR") or HERE.parents[2] / "shared" / "corpus") / "html"

FIELDS = {
    "file": str,
    "url": str,
    "encoding": str,
    "is_article": bool,
    "title": (str, type(None)),
    "published": (str, type(None)),
    "publisher": (str, type(None)),
    "must": list,
    "must_not": list,
    "notes": str,
}
OPTIONAL_FIELDS = {"split": str}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WS_RE = re.compile(r"\s+")

MUST_COUNT = (6, 10)
MUST_LEN = (8, 30)
MUST_NOT_COUNT = (4, 8)
MUST_NOT_LEN = (6, 30)
MUST_NOT_HARD_MIN_LEN = 4  # below 6 only with a warning (pages with almost no boilerplate)

# Pages whose visible text has nothing to test for must_not (empty <body>).
EMPTY_PAGE_OK = {"gb2312-stub-html4.html", "gb2312-stub-html5.html"}


def manifest_encodings(corpus: Path) -> dict[str, str]:
    """file -> expected "encoding" value, from the corpus manifests."""
    out: dict[str, str] = {}
    for name in ("manifest-gne.json", "manifest-encodings.json"):
        path = corpus / name
        if not path.exists():
            continue
        for entry in json.loads(path.read_text(encoding="utf-8")):
            bytes_are = entry.get("bytes_are", "").lower()
            if bytes_are.startswith("utf-8"):
                out[entry["file"]] = "utf-8"
            elif "gb" in bytes_are:
                out[entry["file"]] = "gb18030"
    return out


def visible_texts(html: str) -> tuple[str, str]:
    """Decoded page text with tags stripped and whitespace collapsed.

    Returns (joined with "", joined with " "). A snippet inside one text node is found
    in both; one that straddles a tag boundary is found in at most one of them.
    """
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    tight = WS_RE.sub(" ", soup.get_text("")).strip()
    spaced = WS_RE.sub(" ", soup.get_text(" ")).strip()
    return tight, spaced


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else Path(os.environ.get("PRESSMON_CORPUS_HTML", DEFAULT_CORPUS))
    errors: list[str] = []
    warnings: list[str] = []

    def err(case: str, msg: str) -> None:
        errors.append(f"{case}: {msg}")

    def warn(case: str, msg: str) -> None:
        warnings.append(f"{case}: {msg}")

    cases = json.loads(CASES.read_text(encoding="utf-8"))
    if not isinstance(cases, list):
        print(f"ERROR: {CASES} must hold a JSON list", file=sys.stderr)
        return 1

    html_files = sorted(p.name for p in corpus.glob("*.html"))
    if not html_files:
        print(f"ERROR: no .html files in {corpus}", file=sys.stderr)
        return 1
    names = [c.get("file") for c in cases if isinstance(c, dict)]
    for name in html_files:
        if names.count(name) != 1:
            err(name, f"expected exactly 1 case, found {names.count(name)}")
    for name in names:
        if name not in html_files:
            err(str(name), "case names a file that is not in the corpus")

    expected_enc = manifest_encodings(corpus)

    for case in cases:
        if not isinstance(case, dict):
            err("?", f"case is not an object: {case!r}")
            continue
        name = case.get("file", "?")

        missing = [k for k in FIELDS if k not in case]
        if missing:
            err(name, f"missing fields {missing}")
            continue
        extra = [k for k in case if k not in FIELDS and k not in OPTIONAL_FIELDS]
        if extra:
            warn(name, f"extra fields {extra}")
        bad_types = [k for k, t in FIELDS.items() if not isinstance(case[k], t)]
        if bad_types:
            err(name, f"wrong types for {bad_types}")
            continue
        if not all(isinstance(s, str) for s in case["must"] + case["must_not"]):
            err(name, "snippets must be strings")
            continue

        # --- metadata ---
        if not re.match(r"^https?://[^/\s]+", case["url"]):
            err(name, f"url is not an http(s) URL: {case['url']!r}")
        if case["encoding"] not in ("utf-8", "gb18030"):
            err(name, f"encoding must be utf-8 or gb18030, got {case['encoding']!r}")
        elif name in expected_enc and expected_enc[name] != case["encoding"]:
            err(name, f"encoding {case['encoding']} but the manifest says {expected_enc[name]}")
        if case["published"] is not None and not DATE_RE.match(case["published"]):
            err(name, f"published must be YYYY-MM-DD or null: {case['published']!r}")
        if not case["notes"].strip():
            err(name, "notes are empty")

        must, must_not = case["must"], case["must_not"]
        if case["is_article"]:
            if not case["title"]:
                err(name, "article without a title")
            if not case["published"]:
                warn(name, "article without a published date")
            if not MUST_COUNT[0] <= len(must) <= MUST_COUNT[1]:
                err(name, f"{len(must)} must snippets, want {MUST_COUNT[0]}-{MUST_COUNT[1]}")
        else:
            for key in ("title", "published", "publisher"):
                if case[key] is not None:
                    err(name, f"non-article must have {key} null")
            if must:
                err(name, "non-article must have an empty must list")
        if name in EMPTY_PAGE_OK and not must_not:
            pass
        elif not MUST_NOT_COUNT[0] <= len(must_not) <= MUST_NOT_COUNT[1]:
            err(name, f"{len(must_not)} must_not snippets, want {MUST_NOT_COUNT[0]}-{MUST_NOT_COUNT[1]}")

        # --- snippet shape ---
        for s in must:
            if s != s.strip():
                err(name, f"must snippet has surrounding whitespace: {s!r}")
            if not MUST_LEN[0] <= len(s) <= MUST_LEN[1]:
                err(name, f"must snippet length {len(s)} outside {MUST_LEN}: {s!r}")
        for s in must_not:
            if s != s.strip():
                err(name, f"must_not snippet has surrounding whitespace: {s!r}")
            if len(s) > MUST_NOT_LEN[1] or len(s) < MUST_NOT_HARD_MIN_LEN:
                err(name, f"must_not snippet length {len(s)} outside {MUST_NOT_LEN}: {s!r}")
            elif len(s) < MUST_NOT_LEN[0]:
                warn(name, f"short must_not snippet ({len(s)} chars): {s!r}")
        for s in must + must_not:
            if s.strip().isdigit():
                err(name, f"digits-only snippet: {s!r}")
        for a in (must, must_not):
            dups = {s for s in a if a.count(s) > 1}
            if dups:
                err(name, f"duplicate snippets {sorted(dups)}")
        for m in must:
            for n in must_not:
                if m == n or m in n or n in m:
                    err(name, f"must {m!r} overlaps must_not {n!r}")

        # --- snippets against the decoded page ---
        path = corpus / name
        if not path.exists():
            continue
        raw = path.read_bytes()
        try:
            html = raw.decode(case["encoding"] if case["encoding"] in ("utf-8", "gb18030") else "utf-8")
        except UnicodeDecodeError as exc:
            err(name, f"does not decode as {case['encoding']}: {exc}")
            continue
        tight, spaced = visible_texts(html)
        if (
            case["title"]
            and case["title"] not in tight
            and WS_RE.sub("", case["title"]) not in WS_RE.sub("", tight)
        ):
            err(name, f"title not found in page text: {case['title']!r}")
        if case["publisher"] and case["publisher"] not in tight:
            err(name, f"publisher not found in page text: {case['publisher']!r}")
        for kind, snippets in (("must", must), ("must_not", must_not)):
            for s in snippets:
                if s not in tight or s not in spaced:
                    where = "straddles a tag" if (s in tight) != (s in spaced) else "not found"
                    err(name, f"{kind} snippet {where}: {s!r}")
                elif kind == "must" and spaced.count(s) > 1:
                    warn(name, f"must snippet occurs {spaced.count(s)}x on the page: {s!r}")

    for w in warnings:
        print(f"warning: {w}")
    for e in errors:
        print(f"ERROR: {e}")
    n_art = sum(1 for c in cases if isinstance(c, dict) and c.get("is_article"))
    print(
        f"{len(cases)} cases ({n_art} articles) checked against {len(html_files)} pages in {corpus}: "
        f"{len(errors)} error(s), {len(warnings)} warning(s)"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
