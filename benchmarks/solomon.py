"""Solomon's 56 VRPTW instances through :func:`planner._routing.solve_routing`.

Pure total distance (vehicles are not minimised; the fleet is the file's 25), compared with the
best-known double-precision distance. OR-Tools sees integers: distances rounded and travel times
rounded *up* at ``--scale``, so that a route feasible in integers is feasible in double
precision; the routes it returns are then re-evaluated and re-checked in double precision here,
independently of the solver.

Run ``python -m benchmarks.solomon [--time-limit 10] [--jobs 2] [--only C101,R101]``; results go
to the console and to ``benchmarks/out/solomon.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import numpy as np

from planner._routing import RoutingParams, RoutingProblem, solve_routing

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "solomon"
OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Instance:
    """One Solomon instance: node 0 is the depot; times and distances in the file's units."""

    name: str
    vehicles: int
    capacity: int
    xy: np.ndarray        # (n, 2)
    demand: np.ndarray    # (n,)
    windows: np.ndarray   # (n, 2) ready, due
    service: np.ndarray   # (n,)

    @property
    def distance(self) -> np.ndarray:
        """Double-precision Euclidean distances (= travel times)."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((diff ** 2).sum(axis=2))


def read_instance(path: Path) -> Instance:
    """Parse the Solomon text format (name, VEHICLE block, CUSTOMER table)."""
    lines = [line.split() for line in path.read_text().splitlines()]
    lines = [line for line in lines if line]
    name = lines[0][0]
    head = next(i for i, line in enumerate(lines) if line[0] == "NUMBER")
    vehicles, capacity = int(lines[head + 1][0]), int(lines[head + 1][1])
    rows = np.array([[float(x) for x in line] for line in lines
                     if len(line) == 7 and line[0].isdigit()])
    rows = rows[np.argsort(rows[:, 0])]
    return Instance(name, vehicles, capacity, rows[:, 1:3], rows[:, 3].astype(np.int64),
                    rows[:, 4:6].astype(np.int64), rows[:, 6])


def to_problem(inst: Instance, scale: int) -> RoutingProblem:
    """Integer routing problem: distance rounded, time (travel + service at from) rounded up."""
    d = inst.distance
    travel = np.ceil((d + inst.service[:, None]) * scale - 1e-7).astype(np.int64)
    return RoutingProblem(
        distance=np.rint(d * scale).astype(np.int64),
        demand=inst.demand,
        capacities=(inst.capacity,) * inst.vehicles,
        time=travel,
        windows=inst.windows * scale,
    )


def evaluate(inst: Instance, routes) -> tuple[float, list[str]]:
    """Double-precision distance of ``routes`` and the feasibility violations found."""
    d = inst.distance
    problems: list[str] = []
    served = [c for route in routes for c in route]
    n = len(inst.demand)
    if sorted(served) != list(range(1, n)):
        problems.append("customers not served exactly once")
    if len(routes) > inst.vehicles:
        problems.append(f"{len(routes)} routes > {inst.vehicles} vehicles")
    total = 0.0
    for route in routes:
        if inst.demand[list(route)].sum() > inst.capacity:
            problems.append(f"capacity exceeded on {route}")
        prev, start = 0, float(inst.windows[0, 0])
        for c in route:
            total += d[prev, c]
            start = max(start + inst.service[prev] + d[prev, c], float(inst.windows[c, 0]))
            if start > inst.windows[c, 1] + 1e-9:
                problems.append(f"customer {c} starts at {start:.4f} > due {inst.windows[c, 1]}")
            prev = c
        total += d[prev, 0]
        back = start + inst.service[prev] + d[prev, 0]
        if back > inst.windows[0, 1] + 1e-9:
            problems.append(f"route ending {prev} returns at {back:.4f} > {inst.windows[0, 1]}")
    return total, problems


def read_bks(path: Path = DATA / "bks.csv") -> dict[str, float]:
    """Best-known pure distance: double-precision rows, else the truncated DIMACS optimum.

    The fallback is a valid lower bound on the double-precision optimum (see the README).
    """
    rows: dict[str, dict[str, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["instance"], {})[row["objective_kind"]] = float(row["distance"])
    return {name: kinds.get("distance_double_recomputed", kinds["distance_trunc1_dimacs"])
            for name, kinds in rows.items()}


def run_one(task: tuple[str, float, int, RoutingParams]) -> dict:
    """Solve one instance and check it; runs in a worker process."""
    name, time_limit, scale, params = task
    inst = read_instance(DATA / f"{name}.txt")
    started = time.monotonic()
    result = solve_routing(to_problem(inst, scale), time_limit=time_limit, params=params)
    seconds = time.monotonic() - started
    distance, problems = evaluate(inst, result.routes)
    return {"instance": name, "vehicles": len(result.routes), "distance": distance,
            "feasible": result.solved and not problems, "problems": "; ".join(problems[:3]),
            "seconds": seconds, "status": result.status}


def family(name: str) -> str:
    """C1, C2, R1, R2, RC1 or RC2."""
    return name.rstrip("0123456789") + name[len(name.rstrip("0123456789"))]


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.solomon", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--jobs", type=int, default=2, help="instances solved in parallel")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. C101,R101")
    parser.add_argument("--scale", type=int, default=1000, help="integer units per unit")
    parser.add_argument("--first-solution", default=RoutingParams.first_solution,
                        help="OR-Tools first-solution strategy")
    parser.add_argument("--ils-share", type=float, default=RoutingParams.ils_share,
                        help="share of the time for iterated local search (0: GLS alone)")
    parser.add_argument("--gls-lambda", type=float, default=RoutingParams.gls_lambda)
    parser.add_argument("--heuristic-lns", action="store_true",
                        help="keep OR-Tools' insertion-heuristic LNS operators")
    parser.add_argument("--out", type=Path, default=OUT / "solomon.csv")
    args = parser.parse_args(argv)

    bks = read_bks()
    names = ([n.strip().upper() for n in args.only.split(",") if n.strip()]
             or sorted(p.stem for p in DATA.glob("*.txt")))
    params = RoutingParams(first_solution=args.first_solution, ils_share=args.ils_share,
                           gls_lambda=args.gls_lambda, heuristic_lns=args.heuristic_lns)
    tasks = [(n, args.time_limit, args.scale, params) for n in names]
    console = Console()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        rows = []
        for row in pool.imap_unordered(run_one, tasks):
            row["bks"] = bks[row["instance"]]
            # An infeasible answer has no gap worth averaging; it is counted apart.
            row["gap"] = (100.0 * (row["distance"] / row["bks"] - 1.0) if row["feasible"]
                          else math.nan)
            rows.append(row)
            console.print(f"[dim]{row['instance']}: {row['distance']:.2f} "
                          f"({row['gap']:+.2f} %) {row['problems']}[/dim]")
    rows.sort(key=lambda r: names.index(r["instance"]))

    table = Table(title=f"Solomon VRPTW, {args.time_limit:g} s per instance, pure distance")
    for col in ("instance", "vehicles", "distance", "BKS", "gap %", "feasible", "seconds"):
        table.add_column(col, justify="left" if col == "instance" else "right")
    for r in rows:
        table.add_row(r["instance"], str(r["vehicles"]), f"{r['distance']:.2f}",
                      f"{r['bks']:.2f}", "—" if math.isnan(r["gap"]) else f"{r['gap']:.2f}",
                      "yes" if r["feasible"] else f"[red]NO[/red] {r['problems']}",
                      f"{r['seconds']:.1f}")
    console.print(table)
    feasible = [r for r in rows if r["feasible"]]
    families: dict[str, list[float]] = {}
    for r in feasible:
        families.setdefault(family(r["instance"]), []).append(r["gap"])
    console.print("  ".join(f"{f}: {mean(g):.2f} % ({len(g)})" for f, g in families.items()))
    gap = f"{mean(r['gap'] for r in feasible):.3f} %" if feasible else "—"
    console.print(f"mean gap {gap} over {len(feasible)} feasible of {len(rows)} instances; "
                  f"{len(rows) - len(feasible)} infeasible or unsolved")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        fields = ["instance", "vehicles", "distance", "bks", "gap", "feasible", "seconds",
                  "status", "problems"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
