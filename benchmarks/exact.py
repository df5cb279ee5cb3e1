"""How far from the optimum: fangang and its lower bounds against an exact optimum on small parks.

Run ``python -m benchmarks.exact [--instances NAME,...] [--limits 10,30] [--mip-seconds S] [--seed N]``.

Each instance is a small *relaxed* park (:func:`instance`): one site, one depot, every worker
cleared and ready at once, 53-seat coaches (or a mixed fleet of 19/35/45/53 seats in limited
numbers), at most 3 pickups a trip, no driving or time rules (``policy.driving_rules`` and
``time_rules`` false), and each coach free for 29 h with a 24 h turnaround, so that it runs one
trip at most (the counts of a mixed fleet then bind as they do in the exact model).

The exact optimum (:func:`optimum`) comes from two models of its own (OR-Tools, built here and
nowhere in the planner): every route of up to 3 pickup counties, its km the planner's own (depot →
counties in their best order → site → depot on the compiled problem's road matrix, what a trip's
``km`` and the summary's ``km`` add up), integer coaches per route and coach type (at most the
type's count) and integer workers per county and route. :func:`_patterns` solves the LP over every
coach pattern (route, type, workers per county) by column generation (GLOP; exact pricing: fill a
coach with the counties of highest dual price first), then SCIP over the patterns generated;
:func:`_compact` gives SCIP the compact model with the layered cuts of the sharp bound. The
optimum lies between the higher of the two proven lower bounds and the best plan known (the two
models' and fangang's own, when it plans every worker and the checker accepts it); the table gives
both and the gap between them.

Then fangang plans each instance at each time limit, and the table gives its km against the
best plan known, and the plan's ``summary.lower_bound_km`` (per worker) and
``summary.lower_bound_km_sharp`` (whole coaches) against it. A bound above a plan's km is an error (exit 1).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from ortools.linear_solver import pywraplp

from benchmarks.generate import WINDOW_START, generate
from planner.contract import Scenario
from planner.problem import ProblemData, compile_scenario

MIXED = ((53, 0.30), (45, 0.25), (35, 0.25), (19, 0.45))  # seats, share of the workers' seats


@dataclass(frozen=True)
class Instance:
    name: str
    workers: int
    counties: int
    seed: int
    mixed: bool = False


INSTANCES = {i.name: i for i in (
    Instance("1k-20", 1_000, 20, 1),
    Instance("1.5k-20", 1_500, 20, 2),
    Instance("2k-30", 2_000, 30, 3),
    Instance("2.5k-25", 2_500, 25, 4),
    Instance("3k-40", 3_000, 40, 5),
    Instance("1.5k-20-mixed", 1_500, 20, 6, mixed=True),
    Instance("2k-25-mixed", 2_000, 25, 7, mixed=True),
)}


def instance(workers: int, counties: int, *, seed: int, mixed: bool = False, far_km: float = 600.0) -> dict:
    """A relaxed one-site park of ``workers`` from ``counties`` counties (see the module's doc)."""
    sc = generate(workers, counties, 1, seed=seed, risk=False, rules=False, far_km=far_km)
    start = WINDOW_START
    until = start + timedelta(hours=29)
    for o in sc["orders"]:
        o["cleared"] = o["headcount"]
        o.pop("failed", None)
        o.pop("screening_valid_until", None)
        o["earliest_departure"] = start.isoformat()
        o["arrive_by"] = (start + timedelta(days=3)).isoformat()
    base = dict(sc["fleet"][0])
    base.update(available_from=start.isoformat(), available_until=until.isoformat(), fixed_cost=1000.0,
                cost_per_km=6.0, crew_cost=500.0)
    if mixed:
        fleet = [{**base, "id": f"coach{seats}", "seats": seats, "count": max(1, round(workers * share / seats))}
                 for seats, share in MIXED]
    else:
        fleet = [{**base, "id": "coach53", "seats": 53, "count": workers // 53 + counties}]
    sc["fleet"] = fleet
    sc["policy"] = {"max_pickup_stops": 3, "driving_rules": False, "time_rules": False,
                    "turnaround_minutes": 1440, "boarding_hours": None}
    sc["name"] = (f"relaxed park, {workers:,} workers, {counties} counties, one site, seed {seed}"
                  + (", mixed fleet" if mixed else ""))
    return sc


@dataclass
class Optimum:
    km: float
    bound: float  # the solver's proven lower bound
    status: str
    seconds: float
    routes: int

    @property
    def gap(self) -> float:
        return (self.km - self.bound) / self.km if self.km else 0.0


def route_km(data: ProblemData, depot: int, site: int, counties: tuple[int, ...]) -> float:
    """depot → counties in their best order → site → depot (the planner's trip km, one site)."""
    km = data.km
    return float(min(km[depot, p[0]] + sum(km[a, b] for a, b in zip(p, p[1:])) + km[p[-1], site] + km[site, depot]
                     for p in itertools.permutations(counties)))


def _relaxed(scenario: Scenario) -> tuple[ProblemData, int, int, dict[int, int], list[int], list[tuple[int, int]]]:
    """A relaxed one-site scenario compiled: (data, depot, site, workers by place, the places with
    workers, coach types as (seats, count))."""
    data = compile_scenario(scenario)
    assert len(data.site_place) == 1 and len(set(data.depot_place)) == 1, "one site and one depot"
    heads: dict[int, int] = {}
    for o in data.orders:
        heads[o.place] = heads.get(o.place, 0) + o.cleared
    places = sorted(p for p, n in heads.items() if n > 0)
    types = [(v.capacity, v.count) for v in data.vehicles if v.count > 0 and v.capacity > 0]
    return data, data.depot_place[0], data.site_place[0], heads, places, types


def _patterns(scenario: Scenario, *, seconds: float = 120.0, threads: int = 1) -> Optimum:
    """The fewest coach-km bringing every worker of a relaxed one-site ``scenario``.

    A coach's *pattern* is its route (up to ``max_pickup_stops`` counties), its type and how many
    workers it takes from each county (at most its capacity in all). Every plan is a multiset of
    patterns covering every county's workers, so the LP over all patterns is a lower bound; it is
    solved by column generation (GLOP), whose pricing is exact and cheap: for each route and type,
    the best pattern fills the coach with the counties of highest dual price first. Then SCIP
    solves the integer model over the patterns generated (and those of every route priced within
    ``slack`` of zero): its best plan is the optimum's upper bound, the LP the lower.
    """
    data, depot, site, heads, places, types = _relaxed(scenario)
    kmax = data.max_stops
    started = time.monotonic()
    routes = [r for k in range(1, kmax + 1) for r in itertools.combinations(range(len(places)), k)]
    cost = np.array([route_km(data, depot, site, tuple(places[i] for i in r)) for r in routes])
    pad = len(places)  # a county of no workers fills the unused stops
    stops = np.full((len(routes), kmax), pad)
    for j, r in enumerate(routes):
        stops[j, :len(r)] = r
    need = np.array([heads[p] for p in places] + [0])
    columns: dict[tuple[int, int, tuple[int, ...]], None] = {}

    def best(duals: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Every route's best pattern for type ``t``: loads (routes × stops) and their dual value."""
        cap = types[t][0]
        pi = duals[stops]
        order = np.argsort(-pi, axis=1)
        idx = np.take_along_axis(stops, order, axis=1)
        loads = np.zeros_like(idx)
        room = np.full(len(routes), cap)
        for k in range(kmax):
            take = np.minimum(need[idx[:, k]], room)
            take[np.take_along_axis(pi, order, axis=1)[:, k] <= 0] = 0
            loads[:, k] = take
            room -= take
        value = (np.take_along_axis(pi, order, axis=1) * loads).sum(axis=1)
        out = np.zeros_like(loads)
        np.put_along_axis(out, order, loads, axis=1)
        return out, value

    def add(j: int, t: int, loads: np.ndarray) -> None:
        columns[(j, t, tuple(int(v) for v in loads))] = None

    for i in range(len(places)):  # one county on its own
        for t, (cap, _) in enumerate(types):
            j = routes.index((i,))
            add(j, t, np.array([min(heads[places[i]], cap)] + [0] * (kmax - 1)))
    big = 10.0 * float(cost.max())  # a worker left out
    lp_bound = 0.0
    while True:
        lp = pywraplp.Solver.CreateSolver("GLOP")
        cols = list(columns)
        z = [lp.NumVar(0, lp.infinity(), "") for _ in cols]
        short = [lp.NumVar(0, lp.infinity(), "") for _ in places]
        cover = []
        for i in range(len(places)):
            cover.append(lp.Add(sum(ld[k] * z[c] for c, (j, _, ld) in enumerate(cols) for k in range(kmax)
                                    if stops[j, k] == i and ld[k]) + short[i] >= int(need[i])))
        fleet = [lp.Add(sum(z[c] for c, (_, t2, _) in enumerate(cols) if t2 == t) <= count)
                 for t, (_, count) in enumerate(types)]
        lp.Minimize(sum(float(cost[j]) * z[c] for c, (j, _, _) in enumerate(cols)) + big * sum(short))
        if lp.Solve() != pywraplp.Solver.OPTIMAL:
            raise RuntimeError("the LP over patterns failed")
        duals = np.array([cv.dual_value() for cv in cover] + [0.0])
        mus = [cv.dual_value() for cv in fleet]  # ≤ 0
        value = lp.Objective().Value()
        added = 0
        lagrange = value
        for t in range(len(types)):
            loads, val = best(duals, t)
            reduced = cost - val - mus[t]
            # Lagrangian bound: the LP value plus each coach's most negative reduced cost
            lagrange += types[t][1] * min(0.0, float(reduced.min()))
            for j in np.argsort(reduced)[:200]:
                if reduced[j] < -1e-6 and (int(j), t, tuple(int(v) for v in loads[j])) not in columns:
                    add(int(j), t, loads[j])
                    added += 1
        lp_bound = max(lp_bound, lagrange)
        if not added:
            lp_bound = value
            break
    # the integer model over the patterns generated, and each route's best pattern near zero
    slack = 0.02 * value / max(1, sum(heads.values()) / max(c for c, _ in types))
    for t in range(len(types)):
        loads, val = best(duals, t)
        for j in np.nonzero(cost - val - mus[t] <= slack)[0]:
            add(int(j), t, loads[j])
    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:
        raise RuntimeError("OR-Tools has no SCIP")
    mip.SetNumThreads(threads)
    mip.SetTimeLimit(int(max(1.0, seconds - (time.monotonic() - started)) * 1000))
    cols = list(columns)
    z = [mip.IntVar(0, types[t][1], "") for (_, t, _) in cols]
    for i in range(len(places)):
        mip.Add(sum(ld[k] * z[c] for c, (j, _, ld) in enumerate(cols) for k in range(kmax)
                    if stops[j, k] == i and ld[k]) >= int(need[i]))
    for t, (_, count) in enumerate(types):
        mip.Add(sum(z[c] for c, (_, t2, _) in enumerate(cols) if t2 == t) <= count)
    mip.Minimize(sum(float(cost[j]) * z[c] for c, (j, _, _) in enumerate(cols)))
    status = mip.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise RuntimeError(f"SCIP found no plan over the patterns (status {status})")
    km = mip.Objective().Value()
    return Optimum(km=km, bound=min(km, lp_bound), status="optimal" if km <= lp_bound + 1e-6 else "feasible",
                   seconds=time.monotonic() - started, routes=len(cols))


def _compact(scenario: Scenario, *, seconds: float, threads: int = 1) -> tuple[float, float]:
    """The compact model (integer coaches per route and type, integer workers per county and
    route) by SCIP, with the layered cuts of ``lower_bound_km_sharp``: (best km, proven bound)."""
    data, depot, site, heads, places, types = _relaxed(scenario)
    kmax = data.max_stops
    cap = max(c for c, _ in types)
    cost = {r: route_km(data, depot, site, r) for k in range(1, kmax + 1) for r in itertools.combinations(places, k)}
    routes = list(cost)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise RuntimeError("OR-Tools has no SCIP")
    solver.SetNumThreads(threads)
    solver.SetTimeLimit(int(seconds * 1000))
    x = {(r, t): solver.IntVar(0, min(count, sum(-(-heads[p] // c) for p in r)), "")
         for r in routes for t, (c, count) in enumerate(types)}
    y = {(r, p): solver.IntVar(0, heads[p], "") for r in routes for p in r}
    for p in places:
        solver.Add(sum(y[r, p] for r in routes if p in r) == heads[p])
    for r in routes:
        coaches = sum(x[r, t] for t in range(len(types)))
        solver.Add(sum(y[r, p] for p in r) <= sum(c * x[r, t] for t, (c, _) in enumerate(types)))
        for p in r:
            solver.Add(y[r, p] <= min(heads[p], cap) * coaches)
    for t, (_, count) in enumerate(types):
        solver.Add(sum(x[r, t] for r in routes) <= count)
    tour = {p: cost[(p,)] for p in places}
    for far in sorted(set(tour.values())):
        beyond = [p for p in places if tour[p] >= far]
        need = max(-(-sum(heads[p] for p in beyond) // cap), -(-sum(-(-heads[p] // cap) for p in beyond) // kmax))
        solver.Add(sum(x[r, t] for r in routes if max(tour[p] for p in r) >= far for t in range(len(types))) >= need)
    solver.Minimize(sum(cost[r] * x[r, t] for r in routes for t in range(len(types))))
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return math.inf, solver.Objective().BestBound()
    return solver.Objective().Value(), solver.Objective().BestBound()


def optimum(scenario: Scenario, *, seconds: float = 120.0, threads: int = 1) -> Optimum:
    """The optimum's bounds: the pattern LP's (column generation) and the compact model's proven
    bound, whichever is higher; the better plan of the two models' (:func:`_patterns`, :func:`_compact`)."""
    started = time.monotonic()
    pat = _patterns(scenario, seconds=seconds / 3, threads=threads)
    km, bound = _compact(scenario, seconds=max(1.0, seconds - (time.monotonic() - started)), threads=threads)
    best, low = min(km, pat.km), max(bound, pat.bound)
    return Optimum(km=best, bound=min(best, low), status="optimal" if best <= low + 1e-6 else "feasible",
                   seconds=time.monotonic() - started, routes=pat.routes)


def _plan(scenario: Scenario, time_limit: float, seed: int) -> dict:
    from planner.check import check  # noqa: PLC0415
    from planner.optimize import solve  # noqa: PLC0415

    plan = solve(scenario, time_limit=time_limit, seed=seed)
    s = plan.summary
    return {"km": s.km, "planned": s.workers_planned, "bound": s.lower_bound_km,
            "sharp": s.lower_bound_km_sharp or 0.0, "violations": len(check(scenario, plan))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", default=",".join(INSTANCES), help="comma-separated: " + ", ".join(INSTANCES))
    ap.add_argument("--limits", default="10,30", help="fangang's time limits (s), comma-separated")
    ap.add_argument("--mip-seconds", type=float, default=120.0, help="the exact models' time per instance")
    ap.add_argument("--seed", type=int, default=1, help="fangang's seed")
    args = ap.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",") if x]
    header = (["instance", "workers", "counties", "optimum km: best known (proven bound, gap)"]
              + [f"fangang @{t:g}s km (÷ best)" for t in limits]
              + ["old bound (÷ best)", "sharp bound (÷ best)"])
    rows = []
    bad = []
    for name in [n for n in args.instances.split(",") if n]:
        inst = INSTANCES[name]
        sc = Scenario.model_validate(instance(inst.workers, inst.counties, seed=inst.seed, mixed=inst.mixed))
        opt = optimum(sc, seconds=args.mip_seconds)
        print(f"{name}: SCIP/GLOP {opt.status}, {opt.km:,.1f} km, proven bound {opt.bound:,.1f} "
              f"(gap {100 * opt.gap:.2f} %), {opt.seconds:.1f} s", flush=True)
        runs = []
        for t in limits:
            r = _plan(sc, t, args.seed)
            runs.append(r)
            print(f"  fangang @{t:g}s: {r['km']:,.1f} km, {r['planned']:,} planned, {r['violations']} violations, "
                  f"bounds {r['bound']:,.1f} / {r['sharp']:,.1f}", flush=True)
        whole = [r for r in runs if r["planned"] == inst.workers and not r["violations"]]
        best = min([opt.km] + [r["km"] for r in whole])
        source = "SCIP" if best == opt.km else "fangang"
        cells = [name, f"{inst.workers:,}", str(inst.counties),
                 f"{best:,.1f} {source} ({opt.bound:,.1f}, {100 * (best - opt.bound) / best:.2f} %)"]
        for r in runs:
            note = "" if r["planned"] == inst.workers else f", {r['planned']:,} planned"
            note += f", {r['violations']} violations" if r["violations"] else ""
            cells.append(f"{r['km']:,.1f} ({r['km'] / best:.3f}{note})")
        if whole:
            b = whole[-1]
            cells += [f"{b['bound']:,.1f} ({b['bound'] / best:.3f})", f"{b['sharp']:,.1f} ({b['sharp'] / best:.3f})"]
            for what in ("bound", "sharp"):
                if b[what] > best + 0.5:
                    bad.append(f"{name}: {what} {b[what]:,.1f} > the best plan's {best:,.1f} km")
        else:
            cells += ["—", "—"]
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    for b in bad:
        print("NOT A BOUND: " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
