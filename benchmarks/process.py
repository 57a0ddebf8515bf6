"""Processing throughput beside bare jieba on the same texts (`make bench-process`).

Raw pages: the offline site's 47 detail pages, each rendered in several variants (other view counter, one
sentence changed) so every page is a distinct copy, loaded into a scratch database. pressmon's rate is the
whole `pressmon.steps.process` step (decode, extract, normalise, fingerprint, tag, cluster, load) in releases
per second, with its default worker processes (PRESSMON_PROCESS_WORKERS, the CPU count), in the best of
`--passes` passes; the baseline is `jieba.lcut` over the same release bodies, on one core, in the best of its
passes before and after. The last line is machine-readable:
summary: ratio=<pressmon releases/s ÷ bare jieba releases/s>. Beside the rate, the CPU the timed step used per
release: its own process, its parsing workers, and this machine's Postgres processes (where /proc shows them).

`--profile` runs the step once more in this process with a clock on each stage (decode, extract, normalise,
segment, MinHash, tag) and prints CPU milliseconds per release for each; "database" is the rest of the step's
wall time: its queries, the server's work and the loop around them.

`--perf` runs the step once more as configured, under Linux `perf record -a` (on PATH, allowed to sample every
CPU), and prints the CPU milliseconds per release of each process (the step's own, its parsing workers,
Postgres) by the code they ran: the Python interpreter (libpython: bytecode, and the str, dict and list
methods and the `re` engine compiled into it), each native library, the kernel. Run it on a quiet machine:
every other python and postgres process counts too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jieba

from pressmon import steps
from pressmon.config import Config
from pressmon.offline import qd_press
from pressmon.offline.qd_press import load_releases
from pressmon.store import Store
from tests.support.variants import add_pages, iter_variants

ROOT = Path(__file__).resolve().parent.parent
RELEASES = qd_press.RELEASES_DIR


def variants(copies: int) -> list[tuple[str, bytes, str]]:
    """Return (url, page bytes, body text) for every release in `copies` distinct variants."""
    return list(iter_variants(copies))


def jieba_rate(bodies: list[str], repeats: int) -> float:
    jieba.initialize()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for body in bodies:
            jieba.lcut(body)
        rates.append(len(bodies) / (time.perf_counter() - start))
    return max(rates)


def load_pages(pages: Iterable[tuple[str, bytes, str]], url: str, config: Config) -> None:
    with Store.open(config) as store:
        steps.prepare(store, config)
        add_pages(store, pages)


def requeue(url: str, config: Config) -> None:
    """Make every page pending again over an empty archive."""
    with Store.open(config) as store, store.transaction() as cur:
        cur.execute("UPDATE raw_pages SET process_state = 'pending'")
        cur.execute(
            "TRUNCATE releases, clusters, release_lsh_buckets, release_chains, release_versions CASCADE"
        )


def pressmon_rate(
    pages: list[tuple[str, bytes, str]], url: str, passes: int
) -> tuple[list[float], dict[str, int], dict[str, float]]:
    """Return the step's releases per second in each pass, its counts, and CPU milliseconds per release by
    process in its fastest pass."""
    config = Config(database_url=url, batch_size=100)
    load_pages(pages, url, config)
    steps.process(Config(database_url=url, batch_size=1))  # warm-up: jieba dictionary, OpenCC, imports
    rates: list[float] = []
    best: dict[str, float] = {}
    for _ in range(passes):
        requeue(url, config)
        time.sleep(1)  # the backends of the connections above are reaped (see below)
        server_before, before = postgres_cpu(), os.times()
        start = time.perf_counter()
        counts = steps.process(config)
        wall = time.perf_counter() - start
        after = os.times()
        # The step's Postgres backend has exited once the step returns, but its CPU reaches the server's main
        # process (where /proc shows it from then on) only once that process has reaped it: wait for that.
        time.sleep(1)
        server_after = postgres_cpu()
        per_page = 1000 / len(pages)
        cpu = {
            "step": (after.user + after.system - before.user - before.system) * per_page,
            "parsing workers": (
                after.children_user + after.children_system - before.children_user - before.children_system
            )
            * per_page,
            "wall": wall * per_page,
        }
        if server_before is not None and server_after is not None:
            cpu["postgres"] = (server_after - server_before) * per_page
        rates.append(len(pages) / wall)
        if rates[-1] == max(rates):
            best = cpu
    return rates, counts, best


def postgres_cpu() -> float | None:
    """Seconds of CPU used so far by this machine's processes named postgres (None where /proc is not readable).

    That is the benchmark's server when it runs here (the local one, or the embedded one), backends that have
    exited included, and any other database's work on it as well: run on a quiet machine.
    """
    total, found = 0, False
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            # utime and stime, and cutime and cstime: a backend that has exited counts in its postmaster's.
            total += sum(int(f) for f in fields[11:15])
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


class StageClock:
    """Exclusive time per stage: a stage called inside another is counted once, in its own stage."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._nested: list[float] = []

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._nested.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.seconds[stage] += elapsed - self._nested.pop()
                if self._nested:
                    self._nested[-1] += elapsed

        return timed


# The functions the step calls for each stage: (stage, module or class, attribute).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("decode", "parsers.extract", "decode_html"),
    ("extract", "parsers.extract", "_extract"),
    ("normalise", "parsers.normalize", "normalize_text"),
    ("normalise", "parsers.normalize", "paragraph_keys"),
    ("normalise", "parsers.tag", "normalize_text"),
    ("normalise", "parsers.fingerprint", "paragraph_keys"),
    ("normalise", "parsers.extract", "simplify"),  # extraction simplifies the body once, for everyone
    ("normalise", "parsers.extract", "paragraph_keys_simplified"),
    ("normalise", "parsers.release", "simplify"),
    ("normalise", "parsers.release", "normalize_text"),
    ("normalise", "parsers.release", "normalize_simplified"),
    ("normalise", "parsers.release", "paragraph_keys_simplified"),
    ("segment", "jieba", "Tokenizer.lcut"),
    ("segment", "parsers.tag", "RustSegmenter.lcut"),
    ("segment", "parsers.tag", "RustSegmenter.normalised_lcut"),  # what tagging and search text call
    ("MinHash", "parsers.release", "fingerprint_keys"),
    ("tag", "parsers.tag", "Tagger.tag"),
)


@contextmanager
def clocked(clock: StageClock) -> Iterator[None]:
    """Put the clock on every stage function for the duration."""
    import importlib

    patched = []
    for stage, module_name, attribute in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[name]
        patched.append((owner, name, original))
        setattr(owner, name, clock.wrap(stage, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def profile(pages: list[tuple[str, bytes, str]], url: str) -> dict[str, float]:
    """Return milliseconds per release of each stage of one clocked run of the step in this process."""
    config = Config(database_url=url, batch_size=100, **PROFILE_SETTINGS)
    requeue(url, config)
    clock = StageClock()
    with clocked(clock):
        start = time.perf_counter()
        steps.process(config)
        wall = time.perf_counter() - start
    ms = {stage: seconds * 1000 / len(pages) for stage, seconds in clock.seconds.items()}
    ms["database"] = wall * 1000 / len(pages) - sum(ms.values())
    ms["total"] = wall * 1000 / len(pages)
    return ms


# Run in a fresh interpreter, so its peak resident memory is the step's alone (and its workers').
MEMORY_PROBE = """
import json, resource, sys
from pressmon import steps
from pressmon.config import Config
counts = steps.process(Config(database_url=sys.argv[1], batch_size=100))
print(json.dumps({"counts": counts,
                  "step_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def peak_memory(page_counts: list[int]) -> None:
    """Print the peak resident memory of `pressmon.steps.process` (and of its largest worker) over N pages."""
    import json
    import math
    import subprocess

    from tests.support.db import scratch_database

    releases = len(load_releases(RELEASES))
    for count in page_counts:
        with scratch_database() as url:
            load_pages(iter_variants(math.ceil(count / releases)), url, Config(database_url=url))
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_PROBE, url],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            seconds = time.perf_counter() - start
        result = json.loads(out.strip().splitlines()[-1])
        pages = sum(result["counts"].values())
        print(
            f"{pages:6d} pages: peak RSS {result['step_mb']:6.0f} MB (step), {result['worker_mb']:6.0f} MB "
            f"(largest worker); {seconds:6.1f} s, {pages / seconds:5.1f} pages/s"
        )


# One of several processing tasks sharing the pages, as the DAG's mapped `process` tasks do on Celery workers:
# its pages, its wall time, and how long it waited for the clustering lock and held it.
TASK_PROBE = """
import importlib, json, sys, time
from pressmon import steps
from pressmon.config import Config
from pressmon.store import Store
processing = importlib.import_module("pressmon.steps.process")
clock = {"wait": 0.0, "held": 0.0}
lock, store_batch = Store.lock_clustering, processing._store_batch
def timed_lock(self, cur):
    start = time.perf_counter()
    lock(self, cur)
    clock["wait"] += time.perf_counter() - start
def timed_store(*args, **kwargs):
    start = time.perf_counter()
    try:
        return store_batch(*args, **kwargs)
    finally:
        clock["held"] += time.perf_counter() - start
Store.lock_clustering, processing._store_batch = timed_lock, timed_store
config = Config(database_url=sys.argv[1], batch_size=int(sys.argv[2]), process_workers=int(sys.argv[3]))
sys.stdin.readline()
start = time.perf_counter()
counts = steps.process(config)
wall = time.perf_counter() - start
print(json.dumps({"pages": sum(counts.values()), "wall": wall, "wait": clock["wait"],
                  "held": clock["held"] - clock["wait"]}))
"""


def shared(pages: list[tuple[str, bytes, str]], url: str, tasks: int, workers: int) -> float:
    """Run `tasks` processing tasks at once over the pages; print each one's share; return releases/s."""
    import json
    import subprocess

    requeue(url, Config(database_url=url))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TASK_PROBE, url, "100", str(workers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(tasks)
    ]
    time.sleep(3)  # every task has imported what it needs
    start = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]
    wall = time.perf_counter() - start
    for n, r in enumerate(results):
        print(
            f"  task {n}: {r['pages']:4d} pages in {r['wall']:5.2f} s; clustering lock: waited {r['wait']:5.2f} s, "
            f"held {r['held']:5.2f} s"
        )
    return len(pages) / wall


PERF_HZ = 999


def perf_breakdown(pages: list[tuple[str, bytes, str]], url: str) -> dict[str, Counter[str]]:
    """Return CPU milliseconds per release of the step under `perf record -a`, by process and by code."""
    import shutil
    import signal
    import subprocess
    import tempfile

    perf = shutil.which("perf")
    if perf is None:
        raise SystemExit("--perf needs Linux perf on PATH (Debian: apt-get install linux-perf)")
    config = Config(database_url=url, batch_size=100)
    requeue(url, config)
    time.sleep(1)  # the backends of the connections above are gone
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "perf.data")
        recorder = subprocess.Popen(
            [perf, "record", "--all-cpus", "--freq", str(PERF_HZ), "--output", data],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)  # perf is sampling
        if recorder.poll() is not None:
            raise SystemExit(f"perf record failed: {recorder.communicate()[1].strip()}")
        steps.process(config)
        time.sleep(1)  # the step's backend has exited
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        report = subprocess.run(
            [
                perf,
                "report",
                "--input",
                data,
                "--no-children",
                "--sort",
                "pid,dso",
                "--stdio",
                "--show-nr-samples",
                "--field-separator",
                "|",
                "-g",
                "none",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return cpu_by_code(report, os.getpid(), len(pages))


def cpu_by_code(report: str, step_pid: int, releases: int) -> dict[str, Counter[str]]:
    """Sum `perf report --sort pid,dso` samples into ms per release by process (the step: `step_pid`; its
    parsing workers: every other python process; Postgres) and by code (python, kernel, native libraries)."""
    ms: dict[str, Counter[str]] = {"step": Counter(), "parsing workers": Counter(), "postgres": Counter()}
    for line in report.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if line.startswith("#") or len(fields) != 4 or not fields[1].isdigit():
            continue
        samples, (pid, _, command), dso = int(fields[1]), fields[2].partition(":"), fields[3]
        if command.startswith("postgres"):
            process = "postgres"
        elif command.startswith("python"):
            process = "step" if int(pid) == step_pid else "parsing workers"
        else:
            continue  # idle, perf itself, other daemons
        code = "python" if dso.startswith("libpython") else "kernel" if dso.startswith("[kernel") else dso
        ms[process][code] += samples * 1000 / PERF_HZ / releases
    return ms


def print_cpu_by_code(ms: dict[str, Counter[str]], ratio: float) -> None:
    total = sum(sum(codes.values()) for codes in ms.values())
    print("CPU by process and code (perf; ms per release):")
    for process, codes in ms.items():
        native = {code: v for code, v in codes.items() if code not in ("python", "kernel") and v >= 0.005}
        top = sorted(native.items(), key=lambda kv: -kv[1])[:4]
        interpreter = f"Python interpreter {codes['python']:4.2f}, " if process != "postgres" else ""
        print(
            f"  {process:<16} {sum(codes.values()):5.2f}: {interpreter}native {sum(native.values()):4.2f} ("
            + ", ".join(f"{code.split('.')[0]} {v:.2f}" for code, v in top)
            + f"), kernel {codes['kernel']:4.2f}"
        )
    python = sum(codes["python"] for codes in ms.values())
    print(
        f"  total {total:.2f}, of which the Python interpreter {python:.2f} ({python / total:.0%}); "
        f"with none of it, at the same ratio of CPU to wall: ratio={ratio * total / (total - python):.2f}"
    )


# Settings of the clocked run: every stage in this process, where the clock can see it.
PROFILE_SETTINGS: dict[str, Any] = {"process_workers": 1}


def main(argv: list[str] | None = None) -> int:
    from tests.support.db import scratch_database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5, help="passes of bare jieba, before and after")
    parser.add_argument("--passes", type=int, default=3, help="passes of the pressmon step")
    parser.add_argument("--profile", action="store_true", help="also print ms per release of each stage")
    parser.add_argument(
        "--perf", action="store_true", help="also print the step's CPU by process and code (Linux perf)"
    )
    parser.add_argument(
        "--tasks",
        type=int,
        metavar="N",
        help="also run N processing tasks at once (each with CPUs/N parsing workers), as on N Celery workers",
    )
    parser.add_argument(
        "--memory",
        type=int,
        nargs="+",
        metavar="PAGES",
        help="only print the step's peak memory over PAGES pages",
    )
    args = parser.parse_args(argv)
    if args.memory:
        peak_memory(args.memory)
        return 0
    pages = variants(args.copies)
    bodies = [body for _, _, body in pages]
    chars = sum(len(b) for b in bodies) / len(bodies)
    print(f"{len(pages)} pages, {chars:.0f} characters of body on average")
    # Each side counts its best pass (as timeit does): the shared machine's load only ever slows a pass down,
    # and one pass of either can lose a fifth to it. The baseline has more passes (before and after
    # pressmon), so the ratio errs against pressmon, never for it.
    before = jieba_rate(bodies, args.repeats)
    with scratch_database() as url:
        rates, counts, cpu = pressmon_rate(pages, url, args.passes)
        ours = max(rates)
        stages = profile(pages, url) if args.profile else {}
        by_code = perf_breakdown(pages, url) if args.perf else None
        if args.tasks:
            workers = max(1, (os.cpu_count() or 1) // args.tasks)
            print(f"{args.tasks} processing tasks at once, {workers} parsing worker(s) each:")
            together = shared(pages, url, args.tasks, workers)
            print(f"  together:                 {together:8.1f} releases/s")
    bare = max(before, jieba_rate(bodies, args.repeats))
    print(f"bare jieba.lcut:            {bare:8.1f} releases/s")
    print(f"pressmon process:           {ours:8.1f} releases/s  {counts}")
    if len(rates) > 1:
        print("  its passes: " + ", ".join(f"{rate:.1f}" for rate in rates) + " releases/s (the best counts)")
    print(
        "  CPU ms per release: "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if k != "wall")
        + f"; total {sum(v for k, v in cpu.items() if k != 'wall'):.2f} in {cpu['wall']:.2f} ms of wall"
    )
    if stages:
        print("profile (ms per release, one process):")
        for stage in ("decode", "extract", "normalise", "segment", "MinHash", "tag", "database", "total"):
            print(f"  {stage:<10} {stages.get(stage, 0.0):6.2f}")
    if by_code is not None:
        print_cpu_by_code(by_code, ours / bare)
    print(f"summary: ratio={ours / bare:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
