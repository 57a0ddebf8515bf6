"""Side by side: pressmon, trafilatura and GNE on the same real pages (`make bench-extract`).

Prints per tool: title and date exact-match rates, body precision/recall/F1 on the snippets, pages with
mojibake, and milliseconds per page (median of repeated runs). The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from benchmarks.harness import Case, Output, Scores, Tool, all_cases, pressmon_tool, score


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


def run_tool(tool: Tool, cases: list[Case], repeats: int) -> tuple[list[Output], float]:
    """Return the tool's outputs and its milliseconds per page (median over repeated runs)."""
    outputs = [tool(case) for case in cases]  # warm-up: imports, dictionaries, caches
    per_page = []
    for _ in range(repeats):
        start = time.perf_counter()
        for case in cases:
            tool(case)
        per_page.append((time.perf_counter() - start) * 1000 / len(cases))
    return outputs, statistics.median(per_page)


def table(rows: dict[str, tuple[Scores, float]]) -> str:
    head = f"{'tool':<12} {'title':>6} {'date':>6} {'prec':>6} {'recall':>6} {'F1':>6} {'mojibake':>8} {'ms/page':>8}"
    lines = [head, "-" * len(head)]
    for name, (s, ms) in rows.items():
        lines.append(
            f"{name:<12} {s.title_rate:6.3f} {s.date_rate:6.3f} {s.precision:6.3f} {s.recall:6.3f} "
            f"{s.f1:6.3f} {s.mojibake_pages:8d} {ms:8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="list the snippets each tool missed")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    cases = all_cases()
    results: dict[str, tuple[list[Output], float]] = {
        name: run_tool(tool, cases, args.repeats) for name, tool in TOOLS.items()
    }
    for group in ("corpus", "offline", None):
        subset = [i for i, c in enumerate(cases) if group is None or c.group == group]
        label = group or "all"
        print(f"\n== {label}: {len(subset)} pages ==")
        rows = {
            name: (score([cases[i] for i in subset], [outs[i] for i in subset]), ms)
            for name, (outs, ms) in results.items()
        }
        print(table(rows))
    overall = {name: score(cases, outs) for name, (outs, _) in results.items()}
    if args.misses:
        for name, s in overall.items():
            print(f"\n{name} missed:", *s.misses[:40], sep="\n  ")
    best_peer = max(overall[name].f1 for name in TOOLS if name != "pressmon")
    print(
        f"\nsummary: pressmon_f1={overall['pressmon'].f1:.3f} best_peer_f1={best_peer:.3f} "
        f"pressmon_ms={results['pressmon'][1]:.2f} trafilatura_ms={results['trafilatura'][1]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
