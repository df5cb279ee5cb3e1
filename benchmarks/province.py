"""A province on a Dask ``LocalCluster``: many parks at once, with 2 workers and with 1.

Run ``python -m benchmarks.province [--workers-total 1000000] [--parks 40] [--ms-per-worker 0.75]``.
Park sizes are drawn like real parks (lognormal, clipped to 5k–60k, scaled to the total), each a
generated scenario (:func:`benchmarks.generate.generate`; the parks lie near Zhengzhou, Kunshan
and Chongqing in turn, seeds 1, 2, …). Each park's time limit is ``ms-per-worker`` × its workers
(at least 5 s). The province is planned on a ``LocalCluster`` of 2 worker processes, then of 1;
printed: wall time, the slowest park, the peak memory of each worker process (its own
``ru_maxrss`` and its forked children's), whether every plan passed the checker, and the speed-up;
then the projected wall time on 16 and 64 workers from the measured per-park times (parks
longest first onto the least loaded worker: the largest park is the floor).
"""

from __future__ import annotations

import argparse
import heapq
import resource
import time

import numpy as np


def sizes(total: int, parks: int, seed: int = 7) -> list[int]:
    """Park headcounts: lognormal, clipped to 5k–60k, summing to ``total``."""
    rng = np.random.default_rng(seed)
    raw = np.clip(rng.lognormal(np.log(20_000), 0.6, size=parks), 5_000, 60_000)
    scaled = np.clip(raw * total / raw.sum(), 5_000, 60_000)
    out = [int(x) // 100 * 100 for x in scaled]
    out[int(np.argmax(out))] += total - sum(out)
    return out


def _peak() -> tuple[float, float]:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)


def projected(times: list[float], workers: int) -> float:
    """Wall time of ``times`` on ``workers``: longest first onto the least loaded worker."""
    load = [0.0] * workers
    heapq.heapify(load)
    for t in sorted(times, reverse=True):
        heapq.heappush(load, heapq.heappop(load) + t)
    return max(load)


def main(argv: list[str] | None = None) -> int:
    from distributed import Client  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from benchmarks.generate import generate  # noqa: PLC0415
    from planner.province import Province, local_cluster, plan_province  # noqa: PLC0415

    ap = argparse.ArgumentParser(prog="python -m benchmarks.province", description=__doc__.split("\n")[0])
    ap.add_argument("--workers-total", type=int, default=1_000_000)
    ap.add_argument("--parks", type=int, default=40)
    ap.add_argument("--ms-per-worker", type=float, default=0.75, help="time limit per park, ms per worker")
    ap.add_argument("--cluster", default="2,1", help="LocalCluster sizes to run, e.g. 2,1")
    args = ap.parse_args(argv)
    console = Console(width=160)
    heads = sizes(args.workers_total, args.parks)
    where = ("zhengzhou", "kunshan", "chongqing")
    started = time.monotonic()
    parks = {f"park{i + 1:02d}": generate(n, max(60, n // 65), max(1, min(10, n // 8000)), seed=i + 1,
                                          park=where[i % 3]) for i, n in enumerate(heads)}
    console.print(f"[dim]{len(parks)} parks, {sum(heads):,} workers ({min(heads):,}–{max(heads):,}), generated in "
                  f"{time.monotonic() - started:.0f} s[/dim]")
    province = Province("benchmark", parks)
    limits = {name: max(5.0, args.ms_per_worker * n / 1000.0) for name, n in zip(parks, heads)}
    table = Table(title=f"province: {len(parks)} parks, {sum(heads):,} workers, time limit "
                        f"{args.ms_per_worker:g} ms per worker and park (≥ 5 s), LocalCluster on this machine")
    for col in ("workers", "wall s", "slowest park s", "Σ park s", "peak MB per worker (own + children)",
                "plans checker-clean", "planned"):
        table.add_column(col, justify="right")
    walls: dict[int, float] = {}
    park_seconds: dict[str, float] = {}
    for n_workers in [int(x) for x in args.cluster.split(",")]:
        cluster = local_cluster(n_workers)
        client = Client(cluster)
        t0 = time.monotonic()
        result = plan_province(province, client, time_limit=limits, seed=0)
        walls[n_workers] = time.monotonic() - t0
        peaks = client.run(_peak)
        client.close()
        cluster.close()
        plans = result.plans
        clean = sum(1 for v in result.violations.values() if not v)
        planned = sum(p["summary"]["workers_planned"] for p in plans.values())
        park_seconds = {n: p["solver"]["seconds"] for n, p in plans.items()}
        table.add_row(str(n_workers), f"{walls[n_workers]:.0f}", f"{max(park_seconds.values()):.1f}",
                      f"{sum(park_seconds.values()):.0f}",
                      ", ".join(f"{a:,.0f} + {b:,.0f}" for a, b in peaks.values()),
                      f"{clean} / {len(plans)}", f"{planned:,}")
    console.print(table)
    if 1 in walls and 2 in walls:
        console.print(f"speed-up with 2 workers: {walls[1] / walls[2]:.2f}×")
    times = list(park_seconds.values())
    for k in (16, 64):
        console.print(f"projected wall time on {k} workers (planning only, the parks' measured times): "
                      f"{projected(times, k):.0f} s (largest park {max(times):.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
