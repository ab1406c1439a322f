"""Privacy-preserving linkage against the truth and against the plain engine, on the same data.

Generated people lists (`demo.linkage_data.people_lists`, 20 % planted duplicates) are split by
agency: set 1 (UNHCR, OIM, CRM) is agency A, set 2 (AMSS, NRC, DRC) agency B. PPRL encodes A
and B with one secret and matches the encodings (the CLI, each step a measured subprocess); the
plain engine (`jatigi.dedup.engine`, when importable) finds duplicates in A and B together, of
which the pairs across A and B are kept: once with the fields PPRL encodes, once with every
column (address and household too). Both are scored on the true pairs across A and B.

    python bench/pprl.py [--records 10000 100000] [--record] [--no-plain] [--calibrate-up-to 100000]
    python bench/pprl.py --fit     # refit the PPRL model on other generated lists (FIT_LISTS); prints MODEL
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SET_1 = frozenset({"UNHCR", "OIM", "CRM"})
DUPLICATE_RATE = 0.2
SEED = 2013
FIT_LISTS = ((20_000, 42, 0.2), (100_000, 43, 0.2), (20_000, 44, 0.1), (20_000, 45, 0.4))
PLAIN_THRESHOLDS = (0.5, 0.9)

CLI = "import sys; from jatigi.cli.dedup_pprl import app; sys.argv[0] = 'jatigi dedup pprl'; app()"

PLAIN = r'''
import csv, sys
from datetime import date
from jatigi.dedup.engine import Linkage
from jatigi.dedup.prepare import prepare_people
from jatigi.demo.linkage_data import REFERENCE_DAY
src, out, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
keep = sys.argv[4].split(",") if len(sys.argv) > 4 else None
with open(src, encoding="utf-8", newline="") as fh:
    rows = [{k: v for k, v in r.items() if keep is None or k in keep} for r in csv.DictReader(fh)]
table = prepare_people(rows, id_column="record_id", reference=REFERENCE_DAY).to_arrow()
with Linkage(table) as linkage:
    model = linkage.train()
    pairs = linkage.predict(model, threshold=threshold).pairs()
with open(out, "w", encoding="utf-8", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["id_a", "id_b", "match_probability"])
    for a, b, p in zip(*(pairs.column(c).to_pylist() for c in ("id_a", "id_b", "match_probability"))):
        w.writerow([a, b, p])
'''


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return wall seconds, peak RSS in MiB and its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def make_lists(n: int, workdir: Path, seed: int = SEED) -> set[tuple[str, str]]:
    """Write A.csv, B.csv and AB.csv (both, for the plain engine); return the true pairs (id in A, id in B)."""
    from jatigi.demo.linkage_data import people_lists, true_pairs, write_csv

    records = list(people_lists(n, DUPLICATE_RATE, seed))
    in_a = {r.record_id for r in records if r.agency in SET_1}
    write_csv(iter([r for r in records if r.record_id in in_a]), workdir / "A.csv", with_truth=False)
    write_csv(iter([r for r in records if r.record_id not in in_a]), workdir / "B.csv", with_truth=False)
    write_csv(iter(records), workdir / "AB.csv", with_truth=False)
    return {(a, b) if a in in_a else (b, a) for a, b in true_pairs(records) if (a in in_a) != (b in in_a)}


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def read_pairs(path: Path, in_a: set[str], threshold: float = 0.0) -> set[tuple[str, str]]:
    """Pairs from a pairs.csv oriented (id in A, id in B); pairs within one list are dropped."""
    out = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if float(row["match_probability"]) < threshold:
                continue
            a, b = row["id_a"], row["id_b"]
            if (a in in_a) != (b in in_a):
                out.add((a, b) if a in in_a else (b, a))
    return out


def ids_of(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["record_id"] for row in csv.DictReader(fh)}


def bench_pprl(workdir: Path, env: dict[str, str], truth: set[tuple[str, str]], in_a: set[str]) -> list[str]:
    key = workdir / "secret.key"
    if not key.exists():
        subprocess.run([PY, "-c", CLI, "secret", "--out", str(key)], env=env, check=True, capture_output=True)
    seconds, peak = 0.0, 0.0
    for side in ("A", "B"):
        t, rss, _out = run_measured(
            [PY, "-c", CLI, "encode", str(workdir / f"{side}.csv"), "--secret-file", str(key), "--id-column",
             "record_id", "--map", "given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,"
             "phone=phone,place=place", "--ages-on", "2013-10-15", "--out", str(workdir / f"{side}.enc.csv")],
            env)
        seconds, peak = seconds + t, max(peak, rss)
    t, rss, _out = run_measured([PY, "-c", CLI, "match", str(workdir / "A.enc.csv"), str(workdir / "B.enc.csv"),
                                 "--out", str(workdir / "pprl_pairs.csv")], env)
    seconds, peak = seconds + t, max(peak, rss)
    p, r, f1 = scores(read_pairs(workdir / "pprl_pairs.csv", in_a), truth)
    return ["PPRL (Bloom filters, threshold 0.5)", f"{p:.3f}", f"{r:.3f}", f"{f1:.3f}", f"{seconds:.1f}", f"{peak:.0f}"]


BANDS = ((0.05, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01))


def calibration(workdir: Path, env: dict[str, str], truth: set[tuple[str, str]], in_a: set[str]) -> list[str]:
    """For each band of match probability: the pairs in it, their mean probability and the share
    that are truly the same person (calibrated: the two agree)."""
    subprocess.run([PY, "-c", CLI, "match", str(workdir / "A.enc.csv"), str(workdir / "B.enc.csv"), "--out",
                    str(workdir / "all_pairs.csv"), "--threshold", str(BANDS[0][0])], env=env, check=True,
                   capture_output=True)
    with (workdir / "all_pairs.csv").open(encoding="utf-8", newline="") as fh:
        rows = [(r["id_a"], r["id_b"], float(r["match_probability"])) for r in csv.DictReader(fh)]
    cells = []
    for low, high in BANDS:
        band = [(a, b, p) for a, b, p in rows if low <= p < high]
        if band:
            mean = sum(p for _a, _b, p in band) / len(band)
            true = sum(((a, b) if a in in_a else (b, a)) in truth for a, b, _p in band) / len(band)
            cells.append(f"{len(band):,} pairs: {mean:.2f} / {true:.2f}")
        else:
            cells.append("—")
    return cells


# The fields PPRL encodes; the plain engine runs with these only, then with every column of the
# lists (address and household too), which PPRL does not encode.
PPRL_FIELDS = ("record_id", "given_name", "family_name", "birth_date", "sex", "phone", "place")


def bench_plain(workdir: Path, env: dict[str, str], truth: set[tuple[str, str]], in_a: set[str]) -> list[list[str]]:
    rows = []
    for label, keep in (("PPRL's fields", ",".join(PPRL_FIELDS)), ("all fields", None)):
        t, rss, _out = run_measured([PY, "-c", PLAIN, str(workdir / "AB.csv"), str(workdir / "plain_pairs.csv"),
                                     str(min(PLAIN_THRESHOLDS)), *([keep] if keep else [])], env)
        for threshold in PLAIN_THRESHOLDS:
            p, r, f1 = scores(read_pairs(workdir / "plain_pairs.csv", in_a, threshold), truth)
            rows.append([f"plain engine, {label} (Splink, DuckDB; threshold {threshold})", f"{p:.3f}", f"{r:.3f}",
                         f"{f1:.3f}", f"{t:.1f}", f"{rss:.0f}"])
    return rows


def plain_available() -> bool:
    try:
        import jatigi.dedup.engine  # noqa: F401
    except ImportError:
        return False
    return True


def bench(sizes: list[int], plain: bool, calibrate_up_to: int = 100_000) -> str:
    env = {**os.environ, "JATIGI_LANG": "en"}
    lines = ["| records | A / B | true pairs A–B | method | precision | recall | F1 | time (s) | peak memory (MiB) |",
             "|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    calibrated = ["| records | " + " | ".join(f"{low:.2f}–{min(high, 1):.2f}" for low, high in BANDS) + " |",
                  "|---:|" + "---|" * len(BANDS)]
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="jatigi-pprl-") as tmp:
            workdir = Path(tmp)
            truth = make_lists(n, workdir)
            in_a = ids_of(workdir / "A.csv")
            n_b = len(ids_of(workdir / "B.csv"))
            rows = [bench_pprl(workdir, env, truth, in_a)]
            if n <= calibrate_up_to:  # a second match of the lists, as long as the first
                calibrated.append(f"| {n:,} | " + " | ".join(calibration(workdir, env, truth, in_a)) + " |")
            if plain and plain_available():
                rows += bench_plain(workdir, env, truth, in_a)
            for row in rows:
                lines.append(f"| {n:,} | {len(in_a):,} / {n_b:,} | {len(truth):,} | " + " | ".join(row) + " |")
                print(lines[-1], flush=True)
    return "\n".join(lines) + ("\n\nPPRL calibration: pairs in each band of match probability, their mean "
                               "probability / the share truly the same person.\n\n") + "\n".join(calibrated)


def fit() -> None:
    """Refit the PPRL model on generated lists other than the benchmark's and print it. Lists of
    several sizes and duplicate rates weigh the same, so that the model holds across them."""
    from jatigi.dedup import pprl, pprl_match
    from jatigi.dedup.prepare import prepare_people
    from jatigi.demo.linkage_data import REFERENCE_DAY, people_lists, true_pairs

    secret = pprl.Secret(secrets.token_bytes(32))
    samples: list[tuple[tuple[int, ...], bool, float]] = []
    for n, seed, rate in FIT_LISTS:
        records = list(people_lists(n, rate, seed))
        truth = true_pairs(records)
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for name, keep in (("A", True), ("B", False)):
                rows = [r.__dict__ for r in records if (r.agency in SET_1) == keep]
                prepared = prepare_people(rows, id_column="record_id", reference=REFERENCE_DAY)
                path = Path(tmp) / f"{name}.csv"
                pprl.write_encodings(path, prepared.rows, secret)
                files.append(pprl.read_encodings(path))
        a, b = files
        blocking = pprl_match.Blocking(a, b)
        comparer = pprl_match.Comparer(a, b)
        counts: dict[tuple[tuple[int, ...], bool], int] = {}
        for i, j in blocking:
            x, y = a.ids[i], b.ids[j]
            key = (comparer.levels(i, j), (min(x, y), max(x, y)) in truth)
            counts[key] = counts.get(key, 0) + 1
        weight = 100_000 / blocking.count
        samples += [(levels, same, n_pairs * weight) for (levels, same), n_pairs in counts.items()]
        print(f"# {blocking.count:,} candidate pairs from {n:,} records (seed {seed}, {rate:.0%} duplicates)")
    model = pprl_match.fit(samples)
    print("MODEL: dict[str, object] = {")
    print(f'    "intercept": {model["intercept"]},')
    print('    "weights": {')
    for k, v in model["weights"].items():  # type: ignore[attr-defined]
        print(f'        "{k}": {v},')
    print("    },")
    print("}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--record", action="store_true", help="append the table to BENCHMARKS.md")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain engine")
    parser.add_argument("--calibrate-up-to", type=int, default=100_000,
                        help="measure calibration (a second match) for lists up to this size")
    parser.add_argument("--fit", action="store_true", help="refit the PPRL model and print it")
    args = parser.parse_args()
    if args.fit:
        fit()
        return
    table = bench(args.records, plain=not args.no_plain, calibrate_up_to=args.calibrate_up_to)
    print(table)
    if args.record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\n## Privacy-preserving linkage — {date.today()} — {platform.node()} "
                     f"({os.cpu_count()} cores, Python {platform.python_version()})\n\n{table}\n")


if __name__ == "__main__":
    main()
