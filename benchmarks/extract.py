"""Side by side: pressmon, trafilatura and GNE on the same real pages (`make bench-extract`).

Prints, per split ("tuned", "held_out", any other a case file names) and per tool: title, date and 来源
exact-match rates, body precision/recall/F1 on the snippets, pages with mojibake, and milliseconds per page
(median of repeated runs). The last line is machine-readable: `summary: key=value …`, with per-split keys
such as `held_out_pressmon_f1` and `held_out_best_peer_f1`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

from tests.support.harness import Case, Output, Scores, Tool, all_cases, pressmon_tool, score


def trafilatura_tool(case: Case) -> Output:
    import trafilatura

    doc = trafilatura.bare_extraction(case.body, url=case.url, with_metadata=True, as_dict=True)
    if not doc:
        return Output()
    return Output(doc.get("title"), doc.get("date"), doc.get("sitename"), doc.get("text") or "")


def gne_tool(case: Case) -> Output:
    # GNE takes text, not bytes: decode as a typical caller would, with BeautifulSoup's UnicodeDammit.
    from bs4 import UnicodeDammit
    from gne import GeneralNewsExtractor

    html = UnicodeDammit(case.body, is_html=True).unicode_markup or ""
    try:
        result = GeneralNewsExtractor().extract(html, host=case.url)
    except Exception:  # GNE raises on pages it cannot handle; that is a miss, not a crash of the benchmark
        return Output()
    published = (result.get("publish_time") or "")[:10] or None
    return Output(result.get("title"), published, result.get("author") or None, result.get("content") or "")


TOOLS: dict[str, Tool] = {"pressmon": pressmon_tool, "trafilatura": trafilatura_tool, "gne": gne_tool}


def run_tool(tool: Tool, cases: list[Case], repeats: int) -> tuple[list[Output], list[float]]:
    """Return the tool's outputs and each page's milliseconds (median over repeated runs)."""
    outputs = [tool(case) for case in cases]  # warm-up: imports, dictionaries, caches
    runs = []
    for _ in range(repeats):
        times = []
        for case in cases:
            start = time.perf_counter()
            tool(case)
            times.append((time.perf_counter() - start) * 1000)
        runs.append(times)
    return outputs, [statistics.median(page) for page in zip(*runs, strict=True)]


def groups(cases: list[Case]) -> dict[str, list[int]]:
    """Return the indices of the cases of each split, of each page group within a split, and of all."""
    found: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        found.setdefault(case.split, []).append(i)
    for i, case in enumerate(cases):
        if len({c.group for c in cases if c.split == case.split}) > 1:
            found.setdefault(f"{case.split}/{case.group}", []).append(i)
    found["all"] = list(range(len(cases)))
    return found


def table(rows: dict[str, tuple[Scores, float]]) -> str:
    head = (
        f"{'tool':<12} {'title':>6} {'date':>6} {'source':>6} {'prec':>6} {'recall':>6} {'F1':>6} "
        f"{'mojibake':>8} {'ms/page':>8}"
    )
    lines = [head, "-" * len(head)]
    for name, (s, ms) in rows.items():
        lines.append(
            f"{name:<12} {s.title_rate:6.3f} {s.date_rate:6.3f} {s.publisher_rate:6.3f} {s.precision:6.3f} "
            f"{s.recall:6.3f} {s.f1:6.3f} {s.mojibake_pages:8d} {ms:8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="list the snippets each tool missed")
    parser.add_argument(
        "--cases",
        type=Path,
        action="append",
        default=[],
        help="one more case file (JSON), as tests/eval/*_cases.json",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    cases = all_cases(tuple(args.cases))
    results = {name: run_tool(tool, cases, args.repeats) for name, tool in TOOLS.items()}
    summary: dict[str, float] = {}
    for label, subset in groups(cases).items():
        print(f"\n== {label}: {len(subset)} pages ==")
        rows = {
            name: (
                score([cases[i] for i in subset], [outs[i] for i in subset]),
                sum(ms[i] for i in subset) / len(subset),
            )
            for name, (outs, ms) in results.items()
        }
        print(table(rows))
        if "/" not in label:
            key = "" if label == "all" else f"{label}_"
            for name, (s, _) in rows.items():
                for measure in ("title_rate", "date_rate", "f1"):
                    summary[f"{key}{name}_{measure}"] = getattr(s, measure)
            summary[f"{key}best_peer_f1"] = max(rows[name][0].f1 for name in TOOLS if name != "pressmon")
    if args.misses:
        for name, (outs, _) in results.items():
            print(f"\n{name} missed:", *score(cases, outs).misses[:40], sep="\n  ")
    ms = {name: sum(times) / len(times) for name, (_, times) in results.items()}
    print(
        f"\nsummary: pressmon_f1={summary['pressmon_f1']:.3f} best_peer_f1={summary['best_peer_f1']:.3f} "
        f"pressmon_ms={ms['pressmon']:.2f} trafilatura_ms={ms['trafilatura']:.2f} "
        + " ".join(f"{k}={v:.3f}" for k, v in summary.items() if k not in {"pressmon_f1", "best_peer_f1"})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
