"""Load benchmark of the service on loopback: concurrent uploads, then /health during a plan.

1. Starts ``fangang serve`` on 127.0.0.1 (a free port) with a temporary SQLite database.
2. Creates a coordinator and 50 agencies with ``fangang admin`` (in process, same database).
3. Puts a generated park's reference data (``benchmarks.generate``), then has the 50 agencies
   upload a 200-row CSV each (Chinese headers, ~12 % address origins), all at once (httpx
   async): prints the throughput and the latency percentiles.
4. Starts a plan of all 10,000 orders with a 60 s time limit and polls ``GET /health`` every
   50 ms while it runs: prints the latency percentiles.

Every loop is bounded in count and time; traffic goes to 127.0.0.1 only. Usage::

    python -m benchmarks.service_load [--agencies 50] [--rows 200] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HEADERS = ["编号", "区县", "地址", "人数", "已筛查", "最早出发", "最晚到达", "工厂", "筛查有效期"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _files(scenario: dict, agencies: int, rows: int, seed: int) -> list[bytes]:
    """``agencies`` CSV files of ``rows`` orders each, drawn from the generated park's orders."""
    rng = np.random.default_rng(seed)
    orders = scenario["orders"]
    out = []
    for a in range(agencies):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(HEADERS)
        for i in range(rows):
            o = orders[int(rng.integers(len(orders)))]
            head = int(rng.integers(2, 9))
            cleared = head if rng.random() < 0.9 else head - 1
            origin = o["origin"]
            w.writerow([f"A{a:02d}-{i + 1:03d}", origin.get("county", ""), origin.get("address", ""), head, cleared,
                        o["earliest_departure"], o["arrive_by"], o["site"], o.get("screening_valid_until", "")])
        out.append(buf.getvalue().encode("utf-8"))
    return out


def _keys(n_agencies: int) -> tuple[str, list[str]]:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()

    def create(kind: str, name: str) -> str:
        res = runner.invoke(app, ["admin", kind, name])
        if res.exit_code != 0:
            raise SystemExit(f"fangang admin {kind} failed: {res.output}")
        return res.output.split()[-1]

    return create("create-coordinator", "park"), [create("create-agency", f"agency-{i:02d}") for i in range(n_agencies)]


async def _uploads(base: str, keys: list[str], files: list[bytes]) -> tuple[float, list[float], list[int]]:
    limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=len(keys))
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        async def one(key: str, data: bytes) -> tuple[float, int]:
            t = time.perf_counter()
            r = await client.post("/v1/orders/upload", files={"file": ("orders.csv", data, "text/csv")},
                                  headers={"Authorization": f"Bearer {key}"})
            return time.perf_counter() - t, r.status_code

        started = time.perf_counter()
        results = await asyncio.gather(*(one(k, d) for k, d in zip(keys, files)))
        wall = time.perf_counter() - started
    return wall, [r[0] for r in results], [r[1] for r in results]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agencies", type=int, default=50)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    from benchmarks.generate import generate

    tmp = tempfile.TemporaryDirectory(prefix="fangang-bench-")
    env = dict(os.environ, FANGANG_DATA_DIR=tmp.name, FANGANG_DATABASE_URL=f"sqlite:///{tmp.name}/bench.db",
               FANGANG_MAX_TIME_LIMIT=str(max(900.0, args.time_limit)))
    os.environ.update({k: env[k] for k in ("FANGANG_DATA_DIR", "FANGANG_DATABASE_URL")})
    scenario = generate(workers=50_000, counties=1000, sites=3, seed=args.seed)
    reference = {k: v for k, v in scenario.items() if k != "orders"}
    files = _files(scenario, args.agencies, args.rows, args.seed)
    coordinator, agencies = _keys(args.agencies)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve", "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    figures: dict = {"agencies": args.agencies, "rows_per_file": args.rows}
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not come up in 60 s")
                time.sleep(0.2)
            coord = {"Authorization": f"Bearer {coordinator}"}
            r = http.put("/v1/reference", json=reference, headers=coord)
            r.raise_for_status()

            wall, latencies, codes = asyncio.run(_uploads(base, agencies, files))
            bad = [c for c in codes if c != 201]
            stored = len(http.get("/v1/orders", params={"limit": 10000}, headers=coord).json())
            figures["uploads"] = {
                "files": len(files), "rows": len(files) * args.rows, "stored_orders": stored, "non_201": len(bad),
                "wall_s": round(wall, 2), "files_per_s": round(len(files) / wall, 2),
                "rows_per_s": round(len(files) * args.rows / wall, 1),
                "latency_p50_s": round(_pct(latencies, 50), 3), "latency_p95_s": round(_pct(latencies, 95), 3),
                "latency_max_s": round(max(latencies), 3)}
            print(json.dumps({"uploads": figures["uploads"]}, ensure_ascii=False), flush=True)

            r = http.post("/v1/plans", json={"time_limit": args.time_limit}, headers=coord)
            r.raise_for_status()
            plan_id = r.json()["id"]
            health: list[float] = []
            status, last_poll, started = "queued", 0.0, time.monotonic()
            bound = started + args.time_limit * 3 + 120
            while time.monotonic() < bound:
                now = time.monotonic()
                if now - last_poll >= 1.0:
                    status = http.get(f"/v1/plans/{plan_id}", headers=coord).json()["status"]
                    last_poll = now
                    if status in ("done", "failed", "cancelled"):
                        break
                t = time.perf_counter()
                http.get("/health")
                if status == "running":
                    health.append(time.perf_counter() - t)
                time.sleep(0.05)
            plan = http.get(f"/v1/plans/{plan_id}", headers=coord).json()
            solver = {}
            if plan["status"] == "done":
                solver = http.get(f"/v1/plans/{plan_id}/plan.json", headers=coord).json().get("solver", {})
            figures["plan"] = {
                "status": plan["status"], "error": plan.get("error"),
                "seconds": round((time.monotonic() - started), 1), "solver_seconds": solver.get("seconds"),
                "workers_planned": (plan.get("summary") or {}).get("workers_planned"),
                "trips": (plan.get("summary") or {}).get("trips"),
                "health_samples": len(health), "health_p50_ms": round(_pct(health, 50) * 1000, 1),
                "health_p95_ms": round(_pct(health, 95) * 1000, 1),
                "health_max_ms": round(max(health) * 1000, 1) if health else None}
            print(json.dumps({"plan": figures["plan"]}, ensure_ascii=False), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        tmp.cleanup()
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
