"""Web pages under load: 20 concurrent users over loopback for 60 s on the 200,000-household demo.

Builds the demo in a temporary SQLite database (or reuses one given with --db), serves the app
with uvicorn, logs in as a demo user, and drives each page with wrk (Debian package `wrk`),
reporting requests, errors and latency percentiles. `--record` appends the table to
BENCHMARKS.md.

    python bench/web.py [--households 200000] [--seconds 60] [--connections 20] [--workers 2] [--db PATH] [--record]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
JATIGI = str(Path(sys.executable).with_name("jatigi"))
LUA = r'''
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000))
end
'''
TARGETS = {"dashboard": 300, "registry list": 300, "household page": 150}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="server processes (jatigi serve --workers)")
    parser.add_argument("--db", type=Path, help="reuse a demo database (and its key file beside it)")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--pages", default="dashboard,registry list,household page",
                        help="which pages, comma-separated")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="jatigi-web-bench-"))
    db = args.db or work / "demo.db"
    env = {**os.environ, "JATIGI_DATABASE_URL": f"sqlite:///{db}", "JATIGI_KEY_FILE": str(db.with_suffix(".key")),
           "JATIGI_LANG": "fr"}
    if not args.db:
        subprocess.run([JATIGI, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([JATIGI, "demo", "build", "--households", str(args.households)], env=env, check=True,
                       capture_output=True)
    port = free_port()
    server = subprocess.Popen([JATIGI, "serve", "--port", str(port), "--workers", str(args.workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = httpx.Client(base_url=base)
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "im.unhcr", "password": "jatigi-demo-2013", "csrf_token": csrf,
                                    "next": "/"})
        listing = client.get("/households")
        code = re.search(r'href="/households/(HH-[0-9A-Z]+)"', listing.text).group(1)  # type: ignore[union-attr]
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        script = work / "report.lua"
        script.write_text(LUA)
        rows = []
        wanted = {p.strip() for p in args.pages.split(",")}
        for label, path in (("dashboard", "/"), ("registry list", "/households"),
                            ("household page", f"/households/{code}")):
            if label not in wanted:
                continue
            out = subprocess.run(["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s",
                                  "--timeout", "10s", "-s", str(script), "-H", f"Cookie: {cookie}", base + path],
                                 capture_output=True, text=True, check=True).stdout
            n, errors, micros, p50, p95, worst = out.split("RESULT ")[1].split()
            rows.append((label, path.replace(code, "{code}"), int(n), int(errors), int(n) / (int(micros) / 1e6),
                         float(p50), float(p95), float(worst)))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    table = ["| page | requests | errors | req/s | p50 ms | p95 ms (target) | max ms |", "|---|---|---|---|---|---|---|"]
    for label, path, n, errors, rate, p50, p95, worst in rows:
        table.append(f"| {label} `{path}` | {n:,} | {errors} | {rate:.0f} | {p50:.0f} | {p95:.0f} (≤ {TARGETS[label]}) "
                     f"| {worst:.0f} |")
    text = "\n".join(table)
    print(text)
    if args.record:
        with (ROOT / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\n## Web pages under load — {date.today().isoformat()}\n\n"
                     f"{args.connections} concurrent connections over loopback for {args.seconds} s each (wrk), "
                     f"`jatigi serve --workers {args.workers}`, SQLite, demo of {args.households:,} households, "
                     f"user `im.unhcr`.\n\n"
                     f"{text}\n")


if __name__ == "__main__":
    main()
