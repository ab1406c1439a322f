"""How well could any model comparing these fields do? The oracle ceiling of the linkage model on
generated lists, and where the model errs.

Runs the engine in-process on a list of `jatigi.demo.linkage_data` (model trained on the list,
pairs scored from a low threshold), then:
- blocking recall: the share of true pairs that blocking offers to the model at all;
- the model's F1 at the threshold before and after the household pass (`jatigi.dedup.household_pass`);
- the oracle: for each combination of comparison levels (the vector the model sees), the truth
  decides whether to call its pairs matches (the majority wins); the F1 of these decisions is the
  best any model using these comparisons and this blocking can reach (without the household pass,
  which uses what the other pairs say);
- the combinations that cost most: false positives and false negatives of the model at the threshold.

    python bench/dedup_oracle.py [--records 100000] [--rate 0.3] [--threshold 0.9] [--seed 2013]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import pyarrow as pa


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--floor", type=float, default=0.001, help="pairs are scored from this probability")
    parser.add_argument("--show", type=int, default=12)
    args = parser.parse_args()

    from jatigi.dedup.engine import Linkage
    from jatigi.dedup.prepare import prepare_people
    from jatigi.demo.linkage_data import REFERENCE_DAY, people_lists, true_pairs

    started = time.perf_counter()
    records = list(people_lists(args.records, args.rate, seed=args.seed))
    truth = true_pairs(records)
    table = prepare_people([r.__dict__ for r in records], id_column="record_id", reference=REFERENCE_DAY).to_arrow()
    with Linkage(table) as linkage:
        model = linkage.train()
        found = linkage.predict(model, threshold=args.threshold, weights=True, floor=args.floor)
        frame: pa.Table = found.scored_pairs()
        final: pa.Table = found.frame.as_pyarrow_table()
    gammas = sorted(c for c in frame.column_names if c.startswith("gamma_"))
    ids_l, ids_r = frame.column("unique_id_l").to_pylist(), frame.column("unique_id_r").to_pylist()
    probs = frame.column("match_probability").to_pylist()
    vectors = list(zip(*(frame.column(g).to_pylist() for g in gammas), strict=True))
    same = [(min(a, b), max(a, b)) in truth for a, b in zip(ids_l, ids_r, strict=True)]
    print(f"{args.records:,} records, {args.rate:.0%} duplicates: {len(truth):,} true pairs, "
          f"{len(frame):,} pairs scored ≥ {args.floor} ({time.perf_counter() - started:.0f} s)")

    def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, 2 * p * r / (p + r) if p + r else 0.0

    tp = sum(1 for s, p in zip(same, probs, strict=True) if s and p >= args.threshold)
    fp = sum(1 for s, p in zip(same, probs, strict=True) if not s and p >= args.threshold)
    offered = sum(same)
    print(f"model at {args.threshold}, before the household pass: precision {f1(tp, fp, len(truth) - tp)[0]:.3f} "
          f"recall {f1(tp, fp, len(truth) - tp)[1]:.3f} F1 {f1(tp, fp, len(truth) - tp)[2]:.3f}")
    kept = {(min(a, b), max(a, b)) for a, b in zip(final.column("unique_id_l").to_pylist(),
                                                   final.column("unique_id_r").to_pylist(), strict=True)}
    ftp = len(kept & truth)
    fp_, fr_, ff_ = f1(ftp, len(kept) - ftp, len(truth) - ftp)
    print(f"model at {args.threshold}, as written (after the household pass when the list has households): "
          f"precision {fp_:.3f} recall {fr_:.3f} F1 {ff_:.3f}")
    print(f"true pairs scored ≥ {args.floor}: {offered / len(truth):.3f} of all true pairs")
    by_vector: dict[tuple[int, ...], list[int]] = {}
    for v, s in zip(vectors, same, strict=True):
        counts = by_vector.setdefault(v, [0, 0])
        counts[0 if s else 1] += 1
    otp = sum(t for t, n in by_vector.values() if t > n)
    ofp = sum(n for t, n in by_vector.values() if t > n)
    p, r, f = f1(otp, ofp, len(truth) - otp)
    print(f"oracle over {len(by_vector):,} level combinations ({', '.join(g[6:] for g in gammas)}): "
          f"precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
    wrong_fp: Counter[tuple[int, ...]] = Counter()
    wrong_fn: Counter[tuple[int, ...]] = Counter()
    for v, s, prob in zip(vectors, same, probs, strict=True):
        if s and prob < args.threshold:
            wrong_fn[v] += 1
        elif not s and prob >= args.threshold:
            wrong_fp[v] += 1
    for title, counter in (("false positives", wrong_fp), ("false negatives", wrong_fn)):
        print(f"\n{title} by level combination ({', '.join(g[6:] for g in gammas)}): true / other pairs")
        for v, n in counter.most_common(args.show):
            t, o = by_vector[v]
            print(f"  {v}: {n} wrong; {t} true / {o} other")


if __name__ == "__main__":
    main()
