"""Scoring and simulation at scale: every shipped model over the demo registry, in SQL, against the
straightforward per-household evaluation in Python.

Builds the demo (households, members, assessments) in a temporary SQLite database, or reuses one
given with --db; then for each shipped model times `runs.score` (one INSERT … SELECT of every
household's score into the run) and a simulation on that run, and times the same model evaluated
household by household in Python (`model_score.score_household`) over the same rows, fetched in
one query. `--record` appends the table to BENCHMARKS.md.

    python bench/targeting.py [--households 1000000] [--db PATH] [--python-sample N] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JATIGI = str(Path(sys.executable).with_name("jatigi"))


def build(households: int, folder: Path) -> Path:
    db = folder / "bench.db"
    env = {**os.environ, "JATIGI_DATABASE_URL": f"sqlite:///{db}", "JATIGI_KEY_FILE": str(folder / "bench.key")}
    subprocess.run([JATIGI, "db", "upgrade"], check=True, env=env, capture_output=True)
    started = time.perf_counter()
    subprocess.run([JATIGI, "demo", "build", "--households", str(households)], check=True, env=env,
                   capture_output=True)
    print(f"demo of {households:,} households built in {time.perf_counter() - started:.0f} s")
    return db


def python_scores(session: Any, actor: Any, loaded: Any, sample: int | None) -> tuple[int, float]:
    """The model evaluated one household at a time in Python, on rows fetched in one query each."""
    import sqlalchemy as sa

    from jatigi.targeting import params
    from jatigi.targeting.catalogue import registry_catalogue
    from jatigi.targeting.model_score import needed_columns, score_household
    from jatigi.targeting.scope import Scope, members_select, scope_select

    model = loaded.model
    names, member_names = needed_columns(model, registry_catalogue())
    started = time.perf_counter()
    query = scope_select(Scope(actor), names, params.registry_params())
    if sample:  # the first households by id, and their members only
        sub = query.subquery()
        query = sa.select(sub).order_by(sub.c.household_id).limit(sample)
    rows = [dict(r) for r in session.execute(query).mappings()]
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if member_names and rows:
        m = members_select().subquery()
        last = max(r["household_id"] for r in rows)
        for r in session.execute(sa.select(m).where(m.c.household_id <= last)).mappings():
            members[r["household_id"]].append(dict(r))
    for row in rows:
        score_household(model, row, members.get(row["household_id"], ()))
    return len(rows), time.perf_counter() - started


def measure(db: Path, sample: int | None) -> list[dict[str, Any]]:
    os.environ["JATIGI_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("JATIGI_KEY_FILE", str(db.with_suffix(".key")))
    from jatigi.cli.common import acting_user
    from jatigi.core.db import session_scope
    from jatigi.targeting import runs, simulate
    from jatigi.targeting.scope import Scope

    results = []
    for name in ("economic", "food_security", "protection"):
        with session_scope() as s:
            actor = acting_user(s, "admin")
            loaded = runs.model_by_name(s, actor, name)
        with session_scope() as s:
            actor = acting_user(s, "admin")
            started = time.perf_counter()
            run = runs.score(session=s, actor=actor, loaded=loaded, scope=Scope(actor))
            scored = time.perf_counter() - started
            run_id, n = run.id, run.counts["households"]
        with session_scope() as s:
            actor = acting_user(s, "admin")
            started = time.perf_counter()
            sim = simulate.simulate(session=s, actor=actor, run_id=run_id,
                                    budget=simulate.Budget(3_000_000_000, 40_000, 6))
            simulated = time.perf_counter() - started
        with session_scope() as s:
            actor = acting_user(s, "admin")
            py_n, py_time = python_scores(s, actor, loaded, sample)
        per_household = py_time / py_n
        results.append({"model": name, "households": n, "score_s": scored, "simulate_s": simulated,
                        "selected": sim.total.selected, "python_s": per_household * n, "python_n": py_n})
        print(f"{name}: {n:,} households scored in {scored:.2f} s; simulation {simulated:.2f} s "
              f"({sim.total.selected:,} selected); Python per household {per_household * n:.1f} s "
              f"({'measured' if py_n == n else f'{py_n:,} measured, scaled'}), ratio {per_household * n / scored:.1f}×")
    return results


def record(results: list[dict[str, Any]], households: int) -> None:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "",
        f"### Targeting: scoring and simulation ({date.today().isoformat()})",
        "",
        f"`python bench/targeting.py --households {households}`: the demo registry (households, members and",
        "about 70 % of households assessed), SQLite, one process; machine: " + machine + ".",
        "Scoring = one run recorded (INSERT … SELECT of every household's score); simulation = selection",
        "within a budget and the breakdowns by population group, sex of the head and region, from the run.",
        "Python = the same model evaluated household by household over rows fetched in one query.",
        "",
        "| Model | Households | Scoring (target ≤ 5 s) | Simulation (target ≤ 2 s) | Python per household | Ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        python = f"{r['python_s']:.1f} s" + ("" if r["python_n"] == r["households"] else
                                             f" (scaled from {r['python_n']:,})")
        lines.append(f"| {r['model']} | {r['households']:,} | {r['score_s']:.2f} s | {r['simulate_s']:.2f} s | "
                     f"{python} | {r['python_s'] / r['score_s']:.1f}× |")
    with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--python-sample", type=int, default=None,
                        help="evaluate only this many households in Python and scale (default: all)")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build(args.households, Path(tmp))
        results = measure(db, args.python_sample)
        if args.record:
            record(results, results[0]["households"])


if __name__ == "__main__":
    main()
