"""How far from the optimum: fangang and its lower bounds against an exact optimum on small parks.

Run ``python -m benchmarks.exact [--instances NAME,...] [--limits 10,30] [--mip-seconds S] [--seed N]``.

Each instance is a small *relaxed* park (:func:`instance`): one site, one depot, every worker
cleared and ready at once, 53-seat coaches (or a mixed fleet of 19/35/45/53 seats in limited
numbers), at most 3 pickups a trip, no driving or time rules (``policy.driving_rules`` and
``time_rules`` false), and each coach free for 29 h with a 24 h turnaround, so that it runs one
trip at most (the counts of a mixed fleet then bind as they do in the exact model).

The exact optimum (:func:`optimum`) comes from models of its own (OR-Tools, built here and
nowhere in the planner): every route of up to 3 pickup counties that a coach can drive within its
29 h (depot → counties → site → depot with a boarding stop at each county and the alighting,
:func:`route_fits`: the fleet's availability rule, which the planner and its checker keep; before
2026-12-07 the model had no such limit, and its "optimum" of 1.5k-20, 27,149.1 km, used a
2,160 km route that no coach can drive in 29 h), its km the planner's own (depot →
counties in their best order → site → depot on the compiled problem's road matrix, what a trip's
``km`` and the summary's ``km`` add up), integer coaches per route and coach type (at most the
type's count) and integer workers per county and route. :func:`_patterns` solves the LP over every
coach pattern (route, type, workers per county) by column generation (GLOP; exact pricing: fill a
coach with the counties of highest dual price first), with rounded capacity cuts (the coaches
stopping in a county, or a pair of counties, are at least the fewest coaches of the fleet seating
its workers) and layered cuts (for each tour t of a county on its own, the coaches whose route's
dearest county has a tour of t or more are at least the fewest seating the workers of the counties
of tour t or more, and at least those counties' own cuts ÷ the pickup limit, rounded up), then
SCIP over the patterns generated. :func:`_compact` gives SCIP the compact model with the same
layered cuts and the capacity cuts, reduced by *reduced-cost fixing*
below the best plan known (SCIP's over the patterns, or fangang's when the checker accepts it and
it carries every worker: :func:`model_plan` reads it as a plan of the model, each trip a coach on
its pickup counties' route, its km the route's, at most the trip's), which is also SCIP's first
incumbent.

Why the cuts hold. In a plan of the model each coach runs one trip and a type has at most its count
of coaches, so any k coaches of a plan seat at most the fleet's k largest seats added
(:func:`fewest` takes the largest first, each type up to its count; with one type of enough
coaches it is ⌈workers ÷ seats⌉). The workers of a set S of counties ride coaches stopping in S,
so those are at least the fewest of the fleet seating them. The workers of the counties of tour
t or more ride coaches stopping in one of them, whose dearest county then has a tour of t or
more: those coaches seat them all, and make every such county's own cut, each stopping at 3
counties at most. A set the fleet cannot seat has no plan, and any right-hand side holds.

Why the fixing is a proof. Let π ≥ 0 be the LP's cover prices (one a county), μ_t ≤ 0 its fleet
prices (one a coach type), σ ≥ 0 its capacity cut prices and τ ≥ 0 its layered cut prices, and
D = Σ π_p·workers_p + Σ μ_t·count_t + Σ σ_S·coaches_S + Σ τ_t·coaches_t their dual objective
(the LP's value when they are optimal; the argument needs only their signs, and they are clipped
to them). For a pattern j of type t, its reduced cost is rc_j = km_j − Σ_p π_p·a_jp − μ_t −
Σ_{S it stops in} σ_S − Σ_{t ≤ its dearest tour} τ_t. Every plan z (coaches per pattern)
covers every county (Σ_j a_jp z_j ≥ workers_p), keeps within the fleet (Σ_{j of t} z_j ≤
count_t) and meets the cuts, so subtracting from its km those slacks times their prices (each
product ≥ 0) gives km(z) ≥ D + Σ_j rc_j z_j. The least reduced cost of a coach of type t on route
r, lrc_rt = km_r − max_a π·a − μ_t − Σ_{S ∩ r ≠ ∅} σ_S − Σ_{t ≤ r's dearest} τ_t (the pricing's
best load), is at most that
of any of its patterns, so km(x) ≥ D + Σ_rt lrc_rt·x_rt for every plan x of the compact model. A
plan of at most UB km (UB: the km of a plan of the model) thus has Σ lrc·x ≤ UB − D: a (route,
type) whose lrc exceeds UB − D − neg (neg ≤ 0: what the pairs of negative lrc, a hair below zero
by GLOP's tolerances, can take off the sum) carries no coach, the others at most (UB − D − neg) /
lrc, and Σ lrc·x ≤ UB − D is a valid cut (with a small float margin on each). Every plan of at
most UB km, an optimal plan among them, is therefore a plan of the reduced model: its optimum is
the park's, and its proven bound B gives min(B, UB) ≤ the optimum (no plan outside it is below
UB).

The optimum lies between the proven bound and the best plan known (the models' and fangang's);
the table gives both, what each comes from, the gap between them, and how many (route, type) pairs the
fixing kept. The proven bound is the largest of the pattern LP's, the (reduced) compact model's
by SCIP, and the ``summary.lower_bound_km_sharp`` of a fangang plan carrying every worker: the
planner's bound holds for every plan of all the workers, and relaxes the exact model as well (its
routes of 3 pickups at most cost the same route km, a coach seats its seats, and it lets a coach
run as many trips as its availability fits, one at least), so it bounds the model's optimum too.

fangang plans each instance first, at each time limit (its plans are upper bounds for the
fixing), and the table gives its km against the best plan known, and the plan's
``summary.lower_bound_km`` (per worker) and ``summary.lower_bound_km_sharp`` (whole coaches)
against it. A bound above a plan's km is an error (exit 1).
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
    #: (route, type) pairs the reduced-cost fixing kept, of how many (None: no fixing run)
    kept: tuple[int, int] | None = None
    #: the upper bound the fixing run started from, and whose plan it was
    ub: float = math.inf
    ub_source: str = ""
    #: whose plan ``km`` is: SCIP's (over the patterns or the compact model) or one of ``plans``
    source: str = "SCIP"
    #: what proves ``bound``: the pattern LP or SCIP on the (reduced) compact model
    bound_source: str = "pattern LP"
    #: the pattern LP's dual bound D (the fixing's, :class:`Duals`)
    lp: float = 0.0

    @property
    def gap(self) -> float:
        return (self.km - self.bound) / self.km if self.km else 0.0


def route_km(data: ProblemData, depot: int, site: int, counties: tuple[int, ...]) -> float:
    """depot → counties in their best order → site → depot (the planner's trip km, one site)."""
    km = data.km
    return float(min(km[depot, p[0]] + sum(km[a, b] for a, b in zip(p, p[1:])) + km[p[-1], site] + km[site, depot]
                     for p in itertools.permutations(counties)))


def route_fits(data: ProblemData, depot: int, site: int, counties: tuple[int, ...]) -> bool:
    """Whether a coach can drive depot → ``counties`` (some order) → site → depot within its
    availability, boarding at each county and alighting at the site: the fleet's rule
    (``availability``: back at the depot by ``available_until``), which the model keeps so that
    its plans are plans the planner may make. Every type of a relaxed park has the same hours."""
    spans = [v.available_until - v.available_from for v in data.vehicles if v.count > 0 and v.capacity > 0]
    fixed = data.boarding * len(counties) + data.alighting
    drive = data.drive
    return any(int(drive[depot, p[0]]) + sum(int(drive[a, b]) for a, b in zip(p, p[1:])) + int(drive[p[-1], site])
               + int(drive[site, depot]) + fixed <= max(spans)
               for p in itertools.permutations(counties))


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


Route = tuple[int, ...]  # pickup places (indices into ProblemData.places), ascending


@dataclass
class ModelPlan:
    """A plan of the exact models: coaches per (route, type) and workers per (route, place); its
    km are the routes' (:func:`route_km`)."""

    coaches: dict[tuple[Route, int], int]
    loads: dict[tuple[Route, int], int]
    km: float
    source: str


@dataclass
class Duals:
    """What the pattern LP's column generation ends with: cover prices π ≥ 0, fleet prices μ_t ≤ 0
    and cut prices σ, τ ≥ 0. ``bound`` is their dual objective D (the module's doc), and
    ``lrc[(r, t)]`` the least reduced cost of a coach of type ``t`` on route ``r``: km_r − max π·a
    − μ_t − its cuts' prices, over its loads ``a`` (at most ``seats_t`` in all, at most ``heads_p``
    from a county ``p``)."""

    bound: float
    lrc: dict[tuple[Route, int], float]
    #: rounded capacity cuts (counties, coaches): so many coaches at least stop in those counties
    cuts: list[tuple[tuple[int, ...], int]]


def fewest(types: list[tuple[int, int]], workers: int) -> int:
    """The fewest coaches of the fleet ``types`` ((seats, count) each) whose seats add up to
    ``workers``: the largest first, each type at most its count (any k coaches of the fleet seat
    at most its k largest). With one type of enough coaches, ⌈workers ÷ seats⌉. When the whole
    fleet seats fewer, every coach (no plan carries them all, so any number is a bound)."""
    left, n = workers, 0
    for seats, count in sorted(types, reverse=True):
        if left <= 0:
            break
        k = min(count, -(-left // seats))
        n, left = n + k, left - k * seats
    return n


def _types(data: ProblemData) -> list[str]:
    """The coach types' ids in the order of :func:`_relaxed`'s ``types``."""
    return [v.id for v in data.vehicles if v.count > 0 and v.capacity > 0]


def model_plan(scenario: Scenario, plan, source: str = "fangang") -> ModelPlan | None:  # noqa: ANN001
    """fangang's ``plan`` as a plan of the exact models (each trip a coach on the route of its
    pickup counties, its km the route's best order, at most the trip's), or None when it does
    not fit them: a worker left out, a coach type over its count, more pickups than the limit."""
    data, depot, site, heads, _places, types = _relaxed(scenario)
    ids = {v: t for t, v in enumerate(_types(data))}
    place_of = {o.id: o.place for o in data.orders}
    coaches: dict[tuple[Route, int], int] = {}
    loads: dict[tuple[Route, int], int] = {}
    for trip in plan.trips:
        if trip.purpose != "direct" or trip.vehicle_type not in ids:
            return None
        board: dict[int, int] = {}
        for stop in trip.stops:
            for ld in stop.board:
                board[place_of[ld.order]] = board.get(place_of[ld.order], 0) + ld.count
        if not board:
            continue  # an empty coach costs km but carries no one: leaving it out only lowers the km
        r = tuple(sorted(board))
        if len(r) > data.max_stops or sum(board.values()) > types[ids[trip.vehicle_type]][0]:
            return None
        coaches[r, ids[trip.vehicle_type]] = coaches.get((r, ids[trip.vehicle_type]), 0) + 1
        for p, n in board.items():
            loads[r, p] = loads.get((r, p), 0) + n
    carried: dict[int, int] = {}
    for (_, p), n in loads.items():
        carried[p] = carried.get(p, 0) + n
    if carried != {p: n for p, n in heads.items() if n > 0}:
        return None
    if any(sum(n for (_, t2), n in coaches.items() if t2 == t) > count for t, (_, count) in enumerate(types)):
        return None
    km = sum(route_km(data, depot, site, r) * n for (r, _), n in coaches.items())
    return ModelPlan(coaches, loads, km, source)


def _patterns(scenario: Scenario, *, seconds: float = 120.0,
              threads: int = 1) -> tuple[Optimum, Duals, ModelPlan | None]:
    """The fewest coach-km bringing every worker of a relaxed one-site ``scenario``.

    A coach's *pattern* is its route (up to ``max_pickup_stops`` counties), its type and how many
    workers it takes from each county (at most its capacity in all). Every plan is a multiset of
    patterns covering every county's workers, so the LP over all patterns is a lower bound; it is
    solved by column generation (GLOP), whose pricing is exact and cheap: for each route and type,
    the best pattern fills the coach with the counties of highest dual price first. Then SCIP
    solves the integer model over the patterns generated (and those of every route priced within
    ``slack`` of zero): its best plan is the optimum's upper bound, the LP the lower. Also
    returns the final duals (:class:`Duals`, for :func:`_compact`'s reduced-cost fixing) and the
    plan SCIP found.
    """
    data, depot, site, heads, places, types = _relaxed(scenario)
    kmax = data.max_stops
    started = time.monotonic()
    routes = [r for k in range(1, kmax + 1) for r in itertools.combinations(range(len(places)), k)
              if route_fits(data, depot, site, tuple(places[i] for i in r))]
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
    inc = np.zeros((len(routes), len(places) + 1), dtype=bool)  # route j stops at county i
    for j, r in enumerate(routes):
        inc[j, list(r)] = True
    # rounded capacity cuts: the coaches stopping in a set S of counties are at least the fewest
    # coaches of the fleet seating the workers of S (:func:`fewest`; in every plan, not in the
    # LP): every county alone, then the pairs the LP violates, round after round
    cuts: list[tuple[tuple[int, ...], int]] = [((i,), fewest(types, int(need[i]))) for i in range(len(places))]
    # layered cuts: for each tour t of a county on its own, the workers of the counties whose tour
    # is t or more ride coaches whose route's dearest county has a tour of t or more, so those
    # coaches are at least the fewest seating them, and at least ⌈Σ those counties' visits ÷
    # stops⌉ (each such county needs its own cut's coaches, each coach stops at ``kmax`` at most)
    tour = np.array([cost[routes.index((i,))] for i in range(len(places))])
    levels = np.unique(tour)
    level_of = np.searchsorted(levels, np.append(tour, -np.inf)[stops].max(axis=1))  # route → its dearest level
    layers: list[tuple[tuple[int, ...], int]] = []  # (counties of tour ≥ levels[i], coaches) for each i
    for lv in levels:
        beyond = tuple(int(i) for i in np.nonzero(tour >= lv)[0])
        layers.append((beyond, max(fewest(types, int(need[list(beyond)].sum())),
                                   -(-sum(rhs for (S, rhs) in cuts[:len(places)] if S[0] in beyond) // kmax))))
    lp_bound = 0.0
    for _round in range(20):
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
            rows = [lp.Add(sum(z[c] for c, (j, _, _) in enumerate(cols) if inc[j, list(S)].any())
                           + sum(short[i] for i in S) >= rhs) for S, rhs in cuts]
            layer = [lp.Constraint(float(rhs), lp.infinity()) for _, rhs in layers]
            for c, (j, _, _) in enumerate(cols):
                for i in range(int(level_of[j]) + 1):
                    layer[i].SetCoefficient(z[c], 1.0)
            for (beyond, _), ct in zip(layers, layer):
                for i in beyond:
                    ct.SetCoefficient(short[i], 1.0)
            lp.Minimize(sum(float(cost[j]) * z[c] for c, (j, _, _) in enumerate(cols)) + big * sum(short))
            if lp.Solve() != pywraplp.Solver.OPTIMAL:
                raise RuntimeError("the LP over patterns failed")
            duals = np.array([cv.dual_value() for cv in cover] + [0.0])
            mus = [cv.dual_value() for cv in fleet]  # ≤ 0
            sigma = [cv.dual_value() for cv in rows]  # ≥ 0
            tau = [cv.dual_value() for cv in layer]  # ≥ 0
            bonus = np.zeros(len(routes))  # each route's share of the cuts' duals
            for (S, _), sg in zip(cuts, sigma):
                if sg > 0:
                    bonus += sg * inc[:, list(S)].any(axis=1)
            bonus += np.cumsum(tau)[level_of]  # a route counts in the layers up to its dearest
            value = lp.Objective().Value()
            added = 0
            lagrange = value
            for t in range(len(types)):
                loads, val = best(duals, t)
                reduced = cost - val - bonus - mus[t]
                # Lagrangian bound: the LP value plus each coach's most negative reduced cost
                lagrange += types[t][1] * min(0.0, float(reduced.min()))
                for j in np.argsort(reduced)[:200]:
                    if reduced[j] < -1e-6 and (int(j), t, tuple(int(v) for v in loads[j])) not in columns:
                        add(int(j), t, loads[j])
                        added += 1
            lp_bound = max(lp_bound, lagrange)
            if not added:
                lp_bound = max(lp_bound, value)
                break
        if time.monotonic() - started > 0.5 * seconds:
            break
        # pairs {a, b}: coaches stopping at a or b = at a + at b − at both
        zval = np.array([zc.solution_value() for zc in z])
        A = inc[[j for j, _, _ in cols], :len(places)].astype(float)
        at = zval @ A
        both = (A * zval[:, None]).T @ A
        have = {S for S, _ in cuts}
        found = []
        for i1, i2 in itertools.combinations(range(len(places)), 2):
            rhs = fewest(types, int(need[i1] + need[i2]))
            lack = rhs - (at[i1] + at[i2] - both[i1, i2])
            if lack > 1e-4 and (i1, i2) not in have:
                found.append((lack, (i1, i2), rhs))
        if not found:
            break
        cuts += [(S, rhs) for _, S, rhs in sorted(found, reverse=True)[:3 * len(places)]]
    # the duals' own bound and each (route, type)'s least reduced cost: valid for any π ≥ 0,
    # μ ≤ 0 and σ ≥ 0, so they are clipped against GLOP's round-off rather than trusted to be signed
    pi = np.maximum(duals, 0.0)
    mu = [min(0.0, m) for m in mus]
    sigma = [max(0.0, sg) for sg in sigma]
    tau = [max(0.0, tv) for tv in tau]
    bonus = np.zeros(len(routes))
    for (S, _), sg in zip(cuts, sigma):
        bonus += sg * inc[:, list(S)].any(axis=1)
    bonus += np.cumsum(tau)[level_of]
    dual_bound = (float((pi[:-1] * need[:-1]).sum()) + sum(m * count for m, (_, count) in zip(mu, types))
                  + sum(sg * rhs for sg, (_, rhs) in zip(sigma, cuts))
                  + sum(tv * rhs for tv, (_, rhs) in zip(tau, layers)))
    lrc: dict[tuple[Route, int], float] = {}
    for t in range(len(types)):
        _, val = best(pi, t)
        for r, rc in zip(routes, cost - val - bonus - mu[t]):
            lrc[tuple(places[i] for i in r), t] = float(rc)
    lp_bound = max(lp_bound, dual_bound)
    # the integer model over the patterns generated, and each route's best pattern near zero
    slack = 0.02 * value / max(1, sum(heads.values()) / max(c for c, _ in types))
    for t in range(len(types)):
        loads, val = best(duals, t)
        for j in map(int, np.nonzero(cost - val - mus[t] <= slack)[0]):
            add(j, t, loads[j])
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
    used: dict[tuple[Route, int], int] = {}
    carry: dict[tuple[Route, int], int] = {}
    for c, (j, t, ld) in enumerate(cols):
        n = round(z[c].solution_value())
        if n:
            r = tuple(places[i] for i in routes[j])
            used[r, t] = used.get((r, t), 0) + n
            for k in range(kmax):
                if ld[k]:
                    key = (r, places[stops[j, k]])
                    carry[key] = carry.get(key, 0) + n * int(ld[k])
    for i, p in enumerate(places):  # the cover is ≥: take the surplus off (the compact model's is =)
        over = int(sum(n for (_, q), n in carry.items() if q == p)) - int(need[i])
        for key in [key for key in carry if key[1] == p]:
            off = min(over, carry[key])
            carry[key] -= off
            over -= off
    plan = ModelPlan(used, {k: n for k, n in carry.items() if n}, km, "SCIP over patterns")
    return (Optimum(km=km, bound=min(km, lp_bound), status="optimal" if km <= lp_bound + 1e-6 else "feasible",
                    seconds=time.monotonic() - started, routes=len(cols)),
            Duals(dual_bound, lrc, [(tuple(places[i] for i in S), rhs) for S, rhs in cuts]), plan)


#: SCIP's settings for the compact model: no probing in presolve (on 2k-30's reduced model of
#: 4,524 pairs it took the whole 60 s, three million implications, and SCIP had no bound; without
#: it the root LP and cuts are done in 50 s, and on 1k-20 the bound is the same either way)
SCIP_COMPACT = "propagating/probing/maxprerounds = 0"


@dataclass
class Compact:
    km: float  # the best plan found (inf: none)
    bound: float  # SCIP's proven bound over the model it solved
    status: str  # "optimal", "feasible", "infeasible" or "unknown"
    kept: int  # (route, type) pairs in the model
    pairs: int  # (route, type) pairs of the relaxed park
    plan: ModelPlan | None = None


def _compact(scenario: Scenario, *, seconds: float, threads: int = 1, duals: Duals | None = None,
             ub: float = math.inf, hint: ModelPlan | None = None, cuts: bool = True,
             params: str = SCIP_COMPACT) -> Compact:
    """The compact model (integer coaches per route and type, integer workers per county and
    route) by SCIP, with the layered cuts of ``lower_bound_km_sharp``.

    With ``duals`` and a finite ``ub`` (the km of a plan of this model), the model is reduced to
    the plans of at most ``ub`` km by reduced-cost fixing (the module's doc says why that is a
    proof): a (route, type) whose least reduced cost exceeds the gap ``ub − duals.bound`` is left
    out, the others get at most gap / lrc coaches, and two cuts join: Σ lrc·x ≤ gap and
    Σ (km − lrc)·x ≥ duals.bound. ``hint``, a plan of the model, is SCIP's first incumbent.
    ``cuts`` false leaves out the capacity and layered cuts (the plain model, for the tests);
    ``params``: SCIP's own settings (``name = value`` lines, :data:`SCIP_COMPACT` unless told)."""
    data, depot, site, heads, places, types = _relaxed(scenario)
    kmax = data.max_stops
    cost = {r: route_km(data, depot, site, r) for k in range(1, kmax + 1) for r in itertools.combinations(places, k)
            if route_fits(data, depot, site, r)}
    pairs = [(r, t) for r in cost for t in range(len(types))]
    limit = {(r, t): min(types[t][1], sum(-(-heads[p] // types[t][0]) for p in r)) for r, t in pairs}
    lrc: dict[tuple[Route, int], float] = {}
    gap = math.inf
    if duals is not None and math.isfinite(ub):
        # float safety: a pair stays unless its lrc exceeds the gap by more than ``eps``; and as
        # the lrc can be a hair below zero (GLOP's tolerance), what the negative ones can take
        # off the sum (``neg``, every coach of a type on its most negative pair) widens the gap
        eps = 1e-6 * max(1.0, abs(ub)) + 1e-3
        neg = sum(count * min(0.0, min(duals.lrc[r, t] for r in cost)) for t, (_, count) in enumerate(types))
        gap = ub - duals.bound + eps
        lrc = {k: duals.lrc[k] for k in pairs}
        pairs = [k for k in pairs if lrc[k] <= gap - neg]
        for k in pairs:
            if lrc[k] > 0:
                limit[k] = min(limit[k], math.floor((gap - neg) / lrc[k]))
        pairs = [k for k in pairs if limit[k] > 0]
    n_pairs = len(cost) * len(types)
    routes = list(dict.fromkeys(r for r, _ in pairs))
    if any(not any(p in r for r in routes) for p in places):  # some county on no route kept
        return Compact(math.inf, ub, "infeasible", len(pairs), n_pairs)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise RuntimeError("OR-Tools has no SCIP")
    solver.SetNumThreads(threads)
    solver.SetTimeLimit(int(max(1.0, seconds) * 1000))
    if params and not solver.SetSolverSpecificParametersAsString(params):
        raise ValueError(f"SCIP refused {params!r}")
    x = {k: solver.IntVar(0, limit[k], "") for k in pairs}
    y = {(r, p): solver.IntVar(0, heads[p], "") for r in routes for p in r}
    for p in places:
        solver.Add(sum(y[r, p] for r in routes if p in r) == heads[p])
    on: dict[Route, list[int]] = {}
    for r, t in pairs:
        on.setdefault(r, []).append(t)
    for r in routes:
        solver.Add(sum(y[r, p] for p in r) <= sum(types[t][0] * x[r, t] for t in on[r]))
        for p in r:
            solver.Add(y[r, p] <= sum(min(heads[p], types[t][0]) * x[r, t] for t in on[r]))
    # rounded capacity cuts: a county of h workers sees ⌈h / seats⌉ coaches at least, and the pairs
    # of counties the pattern LP found short
    sets: dict[tuple[int, ...], int] = {(p,): fewest(types, heads[p]) for p in places}
    if duals is not None:
        sets.update(dict(duals.cuts))
    for S, rhs in sets.items() if cuts else ():
        solver.Add(sum(x[r, t] for r, t in pairs if any(p in r for p in S)) >= rhs)
    for t, (_, count) in enumerate(types):
        solver.Add(sum(x[r, t2] for r, t2 in pairs if t2 == t) <= count)
    tour = {p: cost[(p,)] for p in places}
    for far in sorted(set(tour.values())) if cuts else ():
        beyond = [p for p in places if tour[p] >= far]
        need = max(fewest(types, sum(heads[p] for p in beyond)), -(-sum(sets[p,] for p in beyond) // kmax))
        solver.Add(sum(x[r, t] for r, t in pairs if max(tour[p] for p in r) >= far) >= need)
    if duals is not None and lrc:
        solver.Add(sum(lrc[k] * x[k] for k in pairs) <= gap)
        solver.Add(sum((cost[r] - lrc[r, t]) * x[r, t] for r, t in pairs) >= duals.bound - 1e-6 * abs(duals.bound))
    solver.Minimize(sum(cost[r] * x[r, t] for r, t in pairs))
    if hint is not None and all(k in x for k in hint.coaches):
        solver.SetHint(list(x.values()) + list(y.values()),
                       [float(hint.coaches.get(k, 0)) for k in x] + [float(hint.loads.get(k, 0)) for k in y])
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return Compact(math.inf, ub, "infeasible", len(pairs), n_pairs)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return Compact(math.inf, solver.Objective().BestBound(), "unknown", len(pairs), n_pairs)
    km = solver.Objective().Value()
    plan = ModelPlan({k: round(v.solution_value()) for k, v in x.items() if round(v.solution_value())},
                     {k: round(v.solution_value()) for k, v in y.items() if round(v.solution_value())},
                     km, "SCIP, compact model")
    return Compact(km, solver.Objective().BestBound(), "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible",
                   len(pairs), n_pairs, plan)


def optimum(scenario: Scenario, *, seconds: float = 120.0, threads: int = 1,
            plans: tuple[ModelPlan, ...] = ()) -> Optimum:
    """The optimum's bounds. A quarter of ``seconds`` goes to the pattern LP and SCIP over the
    patterns (:func:`_patterns`), the rest to the compact model reduced by reduced-cost fixing
    (:func:`_compact`) below the best plan known: SCIP's over the patterns or one of ``plans``
    (fangang's, as :func:`model_plan` reads them), which is also the reduced model's first
    incumbent. Its optimum is the park's; its proven bound, or the best plan's km where lower, is
    a lower bound of the park's. Without a plan, the whole compact model runs instead."""
    started = time.monotonic()
    pat, duals, found = _patterns(scenario, seconds=seconds / 4, threads=threads)
    known = [p for p in (found, *plans) if p is not None]
    start = min(known, key=lambda p: p.km) if known else None
    ub = start.km if start else math.inf
    rest = max(1.0, seconds - (time.monotonic() - started))
    run = _compact(scenario, seconds=rest, threads=threads, duals=duals if start else None, ub=ub, hint=start)
    best = min(run.km, ub, pat.km)
    source = "SCIP" if start is None or run.km < ub - 1e-6 else start.source  # the plan the fixing began from
    # the reduced model holds every plan of at most ``ub`` km: below its bound there is none
    scip = min(run.bound, ub) if start else run.bound
    low = max(pat.bound, duals.bound, scip)
    proof = "pattern LP" if max(pat.bound, duals.bound) >= scip else (
        "SCIP, reduced model" if start else "SCIP, compact model")
    return Optimum(km=best, bound=min(best, low), status="optimal" if best <= low + 1e-6 * max(1.0, best) else "feasible",
                   seconds=time.monotonic() - started, routes=pat.routes,
                   kept=(run.kept, run.pairs) if start else None, ub=ub,
                   ub_source=start.source if start else "", source=source.split(" @")[0], bound_source=proof,
                   lp=duals.bound)


def _plan(scenario: Scenario, time_limit: float, seed: int) -> dict:
    from planner.check import check  # noqa: PLC0415
    from planner.optimize import solve  # noqa: PLC0415

    plan = solve(scenario, time_limit=time_limit, seed=seed)
    s = plan.summary
    violations = len(check(scenario, plan))
    return {"km": s.km, "planned": s.workers_planned, "bound": s.lower_bound_km,
            "sharp": s.lower_bound_km_sharp or 0.0, "violations": violations,
            # only a plan the checker accepts serves as the exact models' upper bound
            "model": None if violations else model_plan(scenario, plan, f"fangang @{time_limit:g}s")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", default=",".join(INSTANCES), help="comma-separated: " + ", ".join(INSTANCES))
    ap.add_argument("--limits", default="10,30", help="fangang's time limits (s), comma-separated")
    ap.add_argument("--mip-seconds", type=float, default=120.0, help="the exact models' time per instance")
    ap.add_argument("--seed", type=int, default=1, help="fangang's seed")
    args = ap.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",") if x]
    header = (["instance", "workers", "counties", "best plan km (whose)", "proven bound km (by)", "gap", "status",
               "(route, type) kept"]
              + [f"fangang @{t:g}s km (÷ best)" for t in limits]
              + ["old bound (÷ best)", "sharp bound (÷ best)"])
    rows = []
    bad = []
    for name in [n for n in args.instances.split(",") if n]:
        inst = INSTANCES[name]
        sc = Scenario.model_validate(instance(inst.workers, inst.counties, seed=inst.seed, mixed=inst.mixed))
        runs = []  # fangang first: its plans are upper bounds for the reduced-cost fixing
        for t in limits:
            r = _plan(sc, t, args.seed)
            runs.append(r)
            print(f"{name}: fangang @{t:g}s: {r['km']:,.1f} km, {r['planned']:,} planned, {r['violations']} violations, "
                  f"bounds {r['bound']:,.1f} / {r['sharp']:,.1f}"
                  + (f"; as the exact models' plan {r['model'].km:,.1f} km" if r["model"]
                     else "; not a plan of the exact models"),
                  flush=True)
        opt = optimum(sc, seconds=args.mip_seconds, plans=tuple(r["model"] for r in runs if r["model"]))
        kept = f"{opt.kept[0]:,} of {opt.kept[1]:,}" if opt.kept else "—"
        print(f"{name}: SCIP/GLOP {opt.status}, {opt.km:,.1f} km, proven bound {opt.bound:,.1f} "
              f"({opt.bound_source}; gap {100 * opt.gap:.2f} %), pattern LP {opt.lp:,.1f}, {opt.seconds:.1f} s; "
              f"fixing below {opt.ub:,.1f} km "
              f"({opt.ub_source}) kept {kept} (route, type) pairs", flush=True)
        whole = [r for r in runs if r["planned"] == inst.workers and not r["violations"]]
        best = min([opt.km] + [r["km"] for r in whole])
        source = opt.source if best >= opt.km - 0.05 else "fangang"
        # the plan's sharp bound holds for every plan of all the workers (the planner's and the
        # exact models', which it relaxes too): the proven bound is the larger
        sharp = max([r["sharp"] for r in runs if r["planned"] == inst.workers], default=0.0)
        proven, by = (opt.bound, opt.bound_source) if opt.bound >= sharp else (sharp, "fangang's sharp bound")
        status = "optimal" if best <= proven + 1e-6 * max(1.0, best) else "feasible"  # SCIP's tolerance
        cells = [name, f"{inst.workers:,}", str(inst.counties), f"{best:,.1f} ({source})", f"{proven:,.1f} ({by})",
                 f"{100 * (best - proven) / best:.2f} %", status, kept]
        if proven > best + 0.5:
            bad.append(f"{name}: the proven bound {proven:,.1f} ({by}) > the best plan's {best:,.1f} km")
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
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    for msg in bad:
        print("NOT A BOUND: " + msg, file=sys.stderr)  # a lower bound above a plan
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
