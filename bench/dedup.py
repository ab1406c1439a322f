"""Finding duplicates in a list: precision, recall, F1, time and peak memory of `jatigi dedup file`.

Generates lists of Malian-named people with planted duplicates (`jatigi.demo.linkage_data`) at
each size and duplicate rate, runs the real command on each (`jatigi dedup file … --engine E`)
as a child process, and compares the pairs it writes with the truth. Peak memory is the largest
total proportional set size of the command and the processes it starts (sampled from /proc every
0.1 s; with Spark, the Java process and its Python workers count too, pages they share once).

    python bench/dedup.py [--sizes 10000,100000] [--rates 0.1,0.3] [--engines duckdb]
                          [--threshold 0.9] [--sweep 0.8,0.95] [--spark-sizes 10000,100000] [--memory 8GB]
                          [--record]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JATIGI = str(Path(sys.executable).with_name("jatigi"))
COLUMNS = ("given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,phone=phone,place=place,"
           "address=address,household=household")


@dataclass
class Result:
    engine: str
    records: int
    rate: float
    true_pairs: int
    found: int
    precision: float
    recall: float
    f1: float
    seconds: float
    peak_bytes: int
    cluster_f1: float
    best: tuple[float, float] | None = None  # (F1, threshold) over the sweep


def _pss(pid: int) -> int | None:
    """Proportional set size: resident bytes with pages shared between processes (Spark's Python
    workers are forks) counted once across them, not once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _tree_rss(root: int) -> int:
    """Memory of a process and all its descendants, from /proc: the sum of their proportional set
    sizes (or resident sizes where the kernel gives none)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in rss:
            pss = _pss(pid)
            total += rss[pid] if pss is None else pss
        todo.extend(children.get(pid, []))
    return total


def run_measured(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Run a command; its wall time and the peak resident memory of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if peak == 0:  # too short to sample: the largest child process instead
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return seconds, peak, subprocess.CompletedProcess(command, proc.returncode, out, err)


def _pairs_in_clusters(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every pair inside the connected components of `pairs` (what clustering at a threshold does)."""
    from jatigi.dedup.components import Components

    out: set[tuple[str, str]] = set()
    for ids in Components(pairs).groups():
        ids.sort()
        out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1:])
    return out


def _scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def measure(engine: str, records: int, rate: float, threshold: float, sweep: list[float], work: Path,
            seed: int, memory: str | None = None) -> Result:
    from jatigi.demo.linkage_data import REFERENCE_DAY, people_lists, true_pairs, write_csv

    listed = list(people_lists(records, rate, seed=seed))
    truth = true_pairs(listed)
    source = work / f"list_{records}_{rate}.csv"
    write_csv(iter(listed), source, with_truth=False)
    del listed
    pairs_file, clusters_file = work / "pairs.csv", work / "clusters.csv"

    def run(at: float) -> tuple[float, int, set[tuple[str, str]]]:
        command = [JATIGI, "--lang", "en", "dedup", "file", str(source), "--id-column", "record_id", "--map",
                   COLUMNS, "--out", str(pairs_file), "--clusters", str(clusters_file), "--threshold", str(at),
                   "--engine", engine, "--ages-on", REFERENCE_DAY.isoformat(), *(["--memory", memory] if memory else [])]
        seconds, peak, done = run_measured(command)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        with pairs_file.open(encoding="utf-8", newline="") as fh:
            pairs = {(min(r["id_a"], r["id_b"]), max(r["id_a"], r["id_b"])) for r in csv.DictReader(fh)}
        return seconds, peak, pairs

    # The household pass depends on the threshold (the pairs at or above it support the others), so
    # each threshold of the sweep is a run of its own, not a filter of one run's pairs.
    seconds, peak, found = run(threshold)
    precision, recall, f1 = _scores(found, truth)
    cluster_f1 = _scores(_pairs_in_clusters(found), truth)[2]
    best = max([(f1, threshold)] + [(_scores(run(t)[2], truth)[2], t) for t in sweep if t != threshold]) \
        if sweep else None
    source.unlink()
    return Result(engine, records, rate, len(truth), len(found), precision, recall, f1, seconds, peak, cluster_f1,
                  best)


def table(results: list[Result], threshold: float) -> str:
    lines = [f"| engine | records | duplicate rate | true pairs | pairs ≥ {threshold} | precision | recall | F1 "
             "| F1 of clusters | best F1 (threshold) | time (s) | peak memory |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.engine} | {r.records:,} | {r.rate:.0%} | {r.true_pairs:,} | {r.found:,} "
                     f"| {r.precision:.3f} | {r.recall:.3f} | **{r.f1:.3f}** | {r.cluster_f1:.3f} "
                     f"| {f'{r.best[0]:.3f} ({r.best[1]})' if r.best else '—'} | {r.seconds:.1f} "
                     f"| {r.peak_bytes / 2**30:.2f} GiB |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import splink

    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, Python {platform.python_version()}, "
            f"Splink {splink.__version__}, DuckDB {duckdb.__version__}, Linux {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rates", default="0.1,0.3")
    parser.add_argument("--engines", default="duckdb")
    parser.add_argument("--spark-sizes", default="10000,100000", help="sizes run on Spark (when in --engines)")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--sweep", default="",
                        help="also report the best F1 over these thresholds and --threshold (one more run of the "
                             "command for each, not timed), e.g. 0.8,0.95")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--memory", default=None, help="passed to the command's --memory (default: the engine's own)")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    spark_sizes = {int(s) for s in args.spark_sizes.split(",") if s}
    rates = [float(r) for r in args.rates.split(",") if r]
    sweep = [float(t) for t in args.sweep.split(",") if t]
    work = Path(tempfile.mkdtemp(prefix="jatigi-dedup-bench-"))
    results: list[Result] = []
    try:
        for engine in args.engines.split(","):
            for size in sizes:
                if engine == "spark" and size not in spark_sizes:
                    continue
                for rate in rates:
                    result = measure(engine, size, rate, args.threshold, sweep, work, args.seed, args.memory)
                    results.append(result)
                    print(table([result], args.threshold).splitlines()[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(results, args.threshold)
    print()
    print(text)
    if args.record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\n## Finding duplicates in a list — {date.today().isoformat()}\n\n"
                     f"`python bench/dedup.py --sizes {args.sizes} --rates {args.rates} --engines {args.engines} "
                     f"--spark-sizes {args.spark_sizes} --threshold {args.threshold}`: lists generated by `jatigi.demo.linkage_data` (seed "
                     f"{args.seed}), each run through `jatigi dedup file … --clusters` as a child process (a model "
                     f"trained on the list itself). Precision, recall and F1 over pairs of records; "
                     f"\"F1 of clusters\" counts every pair inside a cluster at the threshold; \"best F1\" is the "
                     f"best over the thresholds {args.sweep} and {args.threshold} (a run of the command for each). Peak memory: the command's process tree. Machine: {machine()}.\n\n{text}\n")


if __name__ == "__main__":
    main()
