"""Rebuild the "offline" lines of tagging_labelled.jsonl from the offline site's release files.

    .venv/bin/python tests/data/make_tagging_labelled.py          # rewrite the file
    .venv/bin/python tests/data/make_tagging_labelled.py --check  # exit 1 if it is out of date

The labelled set for the tagging-quality test (tests/parsers/test_tagging_quality.py) has three sources:

* ``offline``: every release of qd_press.RELEASES_DIR/*.json; title = ``list_title``,
  body = ``paragraphs`` joined with "\\n" (once, even where the page repeats the transcript),
  chains = the analyst label ``chains``, note = the release's ``notes``. These lines are generated here,
  so a change to a release file or its label reaches the set by re-running this script.
* ``corpus``: the articles among the real pages of ../shared/corpus/html, as
  ``parsers.extract.extract_page`` returns them, labelled by hand.
* ``written``: short news items written for the set, labelled by hand.

Only the offline lines are rewritten; corpus and written lines are kept as they are, in their order,
after the offline ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pressmon.offline import qd_press

ROOT = Path(__file__).resolve().parents[2]
RELEASES_DIR = qd_press.RELEASES_DIR
OUT = Path(__file__).resolve().parent / "tagging_labelled.jsonl"
SOURCES = ("offline", "corpus", "written")


def offline_records(releases_dir: Path = RELEASES_DIR) -> list[dict]:
    """Return one record per release file, in id order."""
    records = []
    for path in sorted(releases_dir.glob("*.json"), key=lambda p: int(p.stem)):
        data = json.loads(path.read_text(encoding="utf-8"))
        records.append(
            {
                "id": f"offline-{data['id']}",
                "source": "offline",
                "title": data["list_title"],
                "body": "\n".join(data["paragraphs"]),
                "chains": list(data["chains"]),
                "note": data.get("notes") or "",
            }
        )
    return records


def read_records(path: Path = OUT) -> list[dict]:
    """Return the records of a labelled-set file ([] if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def render(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def rebuilt(path: Path = OUT, releases_dir: Path = RELEASES_DIR) -> str:
    """Return the file's new text: fresh offline lines, then the kept corpus and written lines."""
    kept = [r for r in read_records(path) if r.get("source") != "offline"]
    unknown = {r.get("source") for r in kept} - set(SOURCES)
    if unknown:
        raise SystemExit(f"{path}: unknown source(s) {sorted(map(str, unknown))}")
    return render(offline_records(releases_dir) + kept)


def main(argv: list[str]) -> int:
    text = rebuilt()
    current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    if "--check" in argv:
        if text != current:
            print(f"{OUT} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    if text != current:
        OUT.write_text(text, encoding="utf-8")
    counts = {s: sum(1 for line in text.splitlines() if f'"source": "{s}"' in line) for s in SOURCES}
    print(f"{OUT.name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
