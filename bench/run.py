"""Registry benchmarks: Kobo import of ~1 M people into SQLite against a raw baseline, and
summary/search times at that size. Prints a Markdown table; `--record` appends it to
BENCHMARKS.md with the machine and the date.

    python bench/run.py [--households 170000] [--record]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JATIGI = str(Path(sys.executable).with_name("jatigi"))
PY = sys.executable


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


BASELINE = r'''
import csv, sqlite3, sys
db, main, members = sys.argv[1:4]
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=NORMAL")
for path, table in ((main, "raw_households"), (members, "raw_people")):
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        headers = next(reader)
        cols = ", ".join(f'c{i} TEXT' for i in range(len(headers)))
        con.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {cols})")
        marks = ", ".join("?" for _ in headers)
        names = ", ".join(f"c{i}" for i in range(len(headers)))
        con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", reader)
con.commit()
print(con.execute("SELECT count(*) FROM raw_people").fetchone()[0])
'''


def bench(households: int, workdir: Path) -> list[tuple[str, str]]:
    env = {**os.environ, "JATIGI_LANG": "en", "JATIGI_KEY_FILE": str(workdir / "bench.key")}
    export_dir = workdir / "kobo"
    t_export, _rss, _ = run_measured(
        [JATIGI, "demo", "kobo-export", "--households", str(households), "--out", str(export_dir)], env)
    main, members = export_dir / "registration.csv", export_dir / "members.csv"
    with members.open(encoding="utf-8") as fh:
        people = sum(1 for _ in fh) - 1
    size_mb = sum(p.stat().st_size for p in export_dir.iterdir()) / 1e6

    t_base, rss_base, _ = run_measured([PY, "-c", BASELINE, str(workdir / "raw.db"), str(main), str(members)], env)

    db = workdir / "jatigi.db"
    env["JATIGI_DATABASE_URL"] = f"sqlite:///{db}"
    for cmd in (["db", "upgrade"], ["places", "gazetteer"],
                ["users", "add-org", "AMSS", "--name", "AMSS", "--kind", "nngo"]):
        run_measured([JATIGI, *cmd], env)
    t_import, rss_import, out = run_measured(
        [JATIGI, "import", str(main), str(members), str(export_dir / "separated_relatives.csv"),
         str(export_dir / "movements.csv"), "--org", "AMSS"], env)

    timings = query_timings(env)
    rows_demo = demo_build(workdir)
    rows = [
        ("Kobo export written (households / people / MB)", f"{households:,} / {people:,} / {size_mb:,.0f}"),
        ("Writing the export (not a target)", f"{t_export:.1f} s"),
        ("Raw baseline: csv read + executemany, no validation", f"{t_base:.1f} s, peak {rss_base:,.0f} MiB"),
        ("`jatigi import` (validate, seal, audit, write)", f"{t_import:.1f} s, peak {rss_import:,.0f} MiB"),
        ("Import ÷ baseline", f"{t_import / t_base:.1f}×"),
    ]
    rows += timings
    rows += rows_demo
    return rows


def demo_build(workdir: Path, households: int = 200_000) -> list[tuple[str, str]]:
    """The demo data set at its largest documented size, with the full Mali boundaries if present."""
    env = {**os.environ, "JATIGI_LANG": "en", "JATIGI_KEY_FILE": str(workdir / "demo.key"),
           "JATIGI_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}"}
    run_measured([JATIGI, "db", "upgrade"], env)
    seconds, rss, out = run_measured([JATIGI, "demo", "build", "--households", str(households)], env)
    t_places, _rss, _ = run_measured([JATIGI, "places", "import-dir", str(ROOT.parent / "shared" / "data" / "mali")],
                                     env) if (ROOT.parent / "shared" / "data" / "mali").is_dir() else (0.0, 0, "")
    rows = [(f"`jatigi demo build --households {households:,}` (places, accounts, registry)",
             f"{seconds:.1f} s, peak {rss:,.0f} MiB")]
    if t_places:
        rows.append(("`jatigi places import-dir` of the Mali COD-AB folder (19,601 units, reload)", f"{t_places:.1f} s"))
    return rows


QUERIES = r'''
import json, statistics, sys, time
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.accounts.service import create_user, actor_for, user_by_name
from jatigi.registry import service
with session_scope() as s:
    create_user(session=s, actor=SYSTEM, username="bench", full_name="Bench", org_acronym="AMSS",
                password="bench-password-1", roles=["im_officer"])
with session_scope() as s:
    actor = actor_for(session=s, user=user_by_name(session=s, username="bench"))
    from jatigi.registry.models import Person
    import sqlalchemy as sa
    name = s.scalar(sa.select(Person.family_name).where(Person.id == 123457))
    given = s.scalar(sa.select(Person.given_name).where(Person.id == 123457))
    from jatigi.core.crypto import keyring
    from jatigi.registry.models import Household
    sealed = s.scalar(sa.select(Household.phone_sealed).where(Household.phone_sealed.is_not(None)).offset(77777).limit(1))
    phone = keyring().open(sealed)
cases = {
    "summary": lambda s: service.summary(session=s, actor=actor),
    "search by family name (first 50)": lambda s: service.search(session=s, actor=actor, q=name),
    "search by given + family name": lambda s: service.search(session=s, actor=actor, q=f"{given} {name}"),
    "search by phone": lambda s: service.search(session=s, actor=actor, phone=phone),
    "search by P-code (a Bamako quartier)": lambda s: service.search(session=s, actor=actor, pcode="ML090104223"),
    "search by P-code prefix (Bamako region)": lambda s: service.search(session=s, actor=actor, pcode="ML09"),
}
out = {}
for label, fn in cases.items():
    times = []
    for _ in range(15):
        with session_scope() as s:
            t = time.perf_counter(); fn(s); s.flush(); times.append((time.perf_counter() - t) * 1000)
    out[label] = (statistics.median(times), max(times))
print(json.dumps(out))
'''


def query_timings(env: dict[str, str]) -> list[tuple[str, str]]:
    import json

    _t, _rss, out = run_measured([PY, "-c", QUERIES], env)
    data = json.loads(out.strip().splitlines()[-1])
    t_cli, _rss, _ = run_measured([JATIGI, "registry", "summary", "--json"], env)
    rows = [(f"{label} at 1 M people", f"median {med:.0f} ms (max {mx:.0f} ms)") for label, (med, mx) in data.items()]
    rows.append(("`jatigi registry summary --json`, whole process (Python start-up included)", f"{t_cli * 1000:.0f} ms"))
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=170_000)
    parser.add_argument("--record", action="store_true", help="append the results to BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jatigi-bench-"))
    try:
        rows = bench(args.households, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    table = ["| measure | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]]
    text = "\n".join(table)
    print(text)
    if args.record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\n## Registry import and queries — {date.today().isoformat()}\n\n"
                     f"Machine: {machine()}.\n\n{text}\n")


if __name__ == "__main__":
    csv.field_size_limit(1 << 20)
    main()
