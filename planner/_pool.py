"""Which coaches carry whom: full coaches straight from a county, then set partitioning.

Workers are pooled by *key* = (home place, cohort, site). Whole coach-loads of a county go
straight to the park (the lower bound's own tour, so they cost nothing above it). What is left,
each county's remainder, is covered by choosing among candidate trips (a set of ≤ k nearby
counties of one cohort, a coach type) with OR-Tools CP-SAT: integer coach counts per candidate
and integer loads per county, so a county's remainder may be split over several trips to fill
coaches, and a small coach can take a small remainder.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from ortools.sat.python import cp_model

from .eligibility import ProblemData

Key = tuple[int, int, int]  # (place, cohort, site index)


@dataclass(frozen=True)
class Draft:
    """A trip before it has a time or a coach: type, pickup order, site order, loads per key."""

    vehicle: int
    pickups: tuple[int, ...]
    sites: tuple[int, ...]
    loads: tuple[tuple[Key, int], ...]
    km: float

    @property
    def riders(self) -> int:
        return sum(n for _, n in self.loads)


# ---------------------------------------------------------------- routes of a candidate


def best_route(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]
               ) -> tuple[float, tuple[int, ...], tuple[int, ...]]:
    """Shortest depot → pickups → sites → depot over all orders (≤ 3! × small site orders)."""
    km = data.km
    site_places = [data.site_place[s] for s in sites]
    best = (math.inf, tuple(pickups), tuple(sites))
    site_perms = (list(itertools.permutations(range(len(sites)))) if len(sites) <= 4
                  else [tuple(range(len(sites)))])
    for perm in itertools.permutations(pickups):
        d = km[depot, perm[0]] + sum(km[a, b] for a, b in zip(perm, perm[1:]))
        for sp in site_perms:
            seq = [site_places[i] for i in sp]
            e = d + km[perm[-1], seq[0]] + sum(km[a, b] for a, b in zip(seq, seq[1:])) + km[seq[-1], depot]
            if e < best[0]:
                best = (e, perm, tuple(sites[i] for i in sp))
    return best


def crew_needed(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]) -> int:
    """2 when the outbound run (depot → last pickup) or the loaded run (first pickup → last drop)
    exceeds the two-driver distance."""
    km = data.km
    out = km[depot, pickups[0]] + sum(km[a, b] for a, b in zip(pickups, pickups[1:]))
    seq = list(pickups) + [data.site_place[s] for s in sites]
    loaded = sum(km[a, b] for a, b in zip(seq, seq[1:]))
    return 2 if max(out, loaded) > data.two_driver_km else 1


def trip_cost(data: ProblemData, v: int, km: float, crew: int) -> float:
    vt = data.vehicles[v]
    return vt.fixed_cost + vt.cost_per_km * km + vt.crew_cost * (crew - 1)


# ---------------------------------------------------------------- full coaches


def full_coaches(data: ProblemData, demand: dict[Key, int], big: int) -> tuple[list[Draft], dict[Key, int]]:
    """Send whole loads of the largest coach straight from each county; return them and what is left.

    Site-pure coaches first, then coaches mixing a county's leftovers for several sites.
    """
    cap = data.vehicles[big].capacity
    depot = data.vehicles[big].depot
    drafts: list[Draft] = []
    left = dict(demand)
    for key in sorted(demand):
        n = left[key] // cap
        if n:
            km, p, s = best_route(data, depot, [key[0]], [key[2]])
            drafts += [Draft(big, p, s, ((key, cap),), km)] * n
            left[key] -= n * cap
    by_county: dict[tuple[int, int], list[Key]] = {}
    for key, n in left.items():
        if n:
            by_county.setdefault((key[0], key[1]), []).append(key)
    for (place, cohort), keys in sorted(by_county.items()):
        total = sum(left[k] for k in keys)
        while total >= cap:
            # fill one coach with the largest leftovers first (fewest drop sites)
            keys.sort(key=lambda k: -left[k])
            room, loads = cap, []
            for k in keys:
                take = min(room, left[k])
                if take:
                    loads.append((k, take))
                    left[k] -= take
                    room -= take
                if not room:
                    break
            km, p, s = best_route(data, depot, [place], sorted({k[2] for k, _ in loads}))
            drafts.append(Draft(big, p, s, tuple(loads), km))
            total -= cap
    return drafts, {k: n for k, n in left.items() if n}


# ---------------------------------------------------------------- clusters


def clusters(data: ProblemData, places: Sequence[int], size: int) -> list[list[int]]:
    """Split places into geographic groups of at most ``size`` by recursive median bisection."""
    pts = np.array([[data.places[p].lat, data.places[p].lon * math.cos(math.radians(data.places[p].lat))]
                    for p in places]) if places else np.zeros((0, 2))
    out: list[list[int]] = []

    def split(idx: np.ndarray) -> None:
        if len(idx) <= size:
            out.append([places[i] for i in idx])
            return
        sub = pts[idx]
        axis = int(np.argmax(sub.max(axis=0) - sub.min(axis=0)))
        order = idx[np.argsort(sub[:, axis], kind="stable")]
        half = len(order) // 2
        split(order[:half])
        split(order[half:])

    if len(places):
        split(np.arange(len(places)))
    return out


# ---------------------------------------------------------------- set partitioning


@dataclass(frozen=True)
class PoolParams:
    neighbours: int = 8
    cluster_size: int = 36
    seed: int = 0
    objective: str = "km"  # "km": fewest coach-km, then cost; "cost": cheapest


def objective_weight(data: ProblemData, v: int, km: float, crew: int, objective: str) -> int:
    """The integer weight of one coach on a route: km first (0.1 km steps), cost as tie-break."""
    cost = trip_cost(data, v, km, crew)
    if objective == "cost":
        return int(round(cost * 100))
    return int(round(km * 10)) * 100_000 + int(round(cost))


def pool_remainders(data: ProblemData, left: dict[Key, int], *, time_limit: float, params: PoolParams,
                    extra_sets: Sequence[tuple[int, ...]] = (),
                    report: Optional[Callable[[float], None]] = None) -> list[Draft]:
    """Cover every remaining worker with candidate trips chosen by CP-SAT, cluster by cluster."""
    vtypes = [v for v, vt in enumerate(data.vehicles) if vt.capacity >= data.min_riders and vt.count > 0]
    if not left or not vtypes:
        return []
    drafts: list[Draft] = []
    jobs: list[tuple[int, list[int]]] = []
    for cohort in sorted({k[1] for k in left}):
        places = sorted({k[0] for k in left if k[1] == cohort})
        for group in clusters(data, places, params.cluster_size):
            jobs.append((cohort, group))
    total = sum(len(g) for _, g in jobs)
    deadline = time.monotonic() + time_limit
    done = 0
    for cohort, group in jobs:
        remaining = max(0.05, deadline - time.monotonic())
        share = remaining * len(group) / max(1, total - done)
        drafts += _solve_cluster(data, {k: n for k, n in left.items() if k[1] == cohort and k[0] in set(group)},
                                 vtypes, share, params, extra_sets)
        done += len(group)
        if report:
            report(done / total)
    return drafts


def _candidates(data: ProblemData, places: list[int], params: PoolParams,
                extra_sets: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    k = data.max_stops
    sets: set[tuple[int, ...]] = {(p,) for p in places}
    if k >= 2 and len(places) > 1:
        sub = data.km[np.ix_(places, places)]
        m = min(params.neighbours, len(places) - 1)
        near = np.argsort(sub, axis=1, kind="stable")[:, 1:m + 1]
        for i, p in enumerate(places):
            nb = [places[j] for j in near[i]]
            for size in range(2, min(k, m + 1) + 1):
                for combo in itertools.combinations(nb, size - 1):
                    sets.add(tuple(sorted((p,) + combo)))
    inside = set(places)
    for s in extra_sets:
        if len(s) <= k and set(s) <= inside:
            sets.add(tuple(sorted(s)))
    return sorted(sets)


def _solve_cluster(data: ProblemData, left: dict[Key, int], vtypes: list[int], seconds: float,
                   params: PoolParams, extra_sets: Sequence[tuple[int, ...]]) -> list[Draft]:
    places = sorted({k[0] for k in left})
    keys_of: dict[int, list[Key]] = {}
    for key in sorted(left):
        keys_of.setdefault(key[0], []).append(key)
    sets = _candidates(data, places, params, extra_sets)
    # the cheapest route and cost of each (set, type); types that share a depot share the route
    routes: dict[tuple[tuple[int, ...], int], tuple[float, tuple, tuple]] = {}
    cost: dict[tuple[tuple[int, ...], int], float] = {}
    for s in sets:
        sites = sorted({key[2] for p in s for key in keys_of[p]})
        for v in vtypes:
            depot = data.vehicles[v].depot
            rk = (s, depot)
            if rk not in routes:
                routes[rk] = best_route(data, depot, s, sites)
            km, p, st = routes[rk]
            cost[(s, v)] = objective_weight(data, v, km, crew_needed(data, depot, p, st), params.objective)
    model = cp_model.CpModel()
    x: dict[tuple[tuple[int, ...], int], cp_model.IntVar] = {}
    y: dict[tuple[tuple[int, ...], Key], cp_model.IntVar] = {}
    load_of_set: dict[tuple[int, ...], int] = {}
    for s in sets:
        load_of_set[s] = sum(left[key] for p in s for key in keys_of[p])
        for v in vtypes:
            cap = data.vehicles[v].capacity
            ub = min(math.ceil(load_of_set[s] / cap), data.vehicles[v].count * 50)
            x[(s, v)] = model.NewIntVar(0, ub, "")
        for p in s:
            for key in keys_of[p]:
                y[(s, key)] = model.NewIntVar(0, left[key], "")
    for key, n in left.items():
        model.Add(sum(y[(s, key)] for s in sets if key[0] in s) == n)
    for s in sets:
        ys = [y[(s, key)] for p in s for key in keys_of[p]]
        model.Add(sum(ys) <= sum(data.vehicles[v].capacity * x[(s, v)] for v in vtypes))
        if data.min_riders > 1:
            model.Add(sum(ys) >= data.min_riders * sum(x[(s, v)] for v in vtypes))
        if len(s) > 1:
            # each county of a multi-stop trip must board someone, or the stop is wasted
            used = model.NewBoolVar("")
            model.Add(sum(x[(s, v)] for v in vtypes) >= 1).OnlyEnforceIf(used)
            model.Add(sum(x[(s, v)] for v in vtypes) == 0).OnlyEnforceIf(used.Not())
            for p in s:
                model.Add(sum(y[(s, key)] for key in keys_of[p]) >= 1).OnlyEnforceIf(used)
    model.Minimize(sum(cost[k] * var for k, var in x.items()))
    # hint: every county alone, in the type that carries it most cheaply
    hint = {k: 0 for k in x}
    for p in places:
        n = sum(left[key] for key in keys_of[p])
        best_v = min(vtypes, key=lambda v: (cost[((p,), v)] * math.ceil(n / data.vehicles[v].capacity), v))
        hint[((p,), best_v)] = math.ceil(n / data.vehicles[best_v].capacity)
    for k, var in x.items():
        model.AddHint(var, hint[k])
    for (s, key), var in y.items():
        model.AddHint(var, left[key] if len(s) == 1 else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.2, seconds)
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = params.seed
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _singles(data, left, vtypes, cost)
    out: list[Draft] = []
    for s in sets:
        counts = {v: solver.Value(x[(s, v)]) for v in vtypes}
        if not any(counts.values()):
            continue
        loads = [(key, solver.Value(y[(s, key)])) for p in s for key in keys_of[p]]
        loads = [(k, n) for k, n in loads if n > 0]
        out += _split_loads(data, s, counts, loads, routes, keys_of)
    return out


def _split_loads(data: ProblemData, s: tuple[int, ...], counts: dict[int, int],
                 loads: list[tuple[Key, int]], routes, keys_of) -> list[Draft]:
    """Spread a candidate's loads over its coaches (largest first), splitting keys as needed."""
    coaches = sorted((v for v, c in counts.items() for _ in range(c)),
                     key=lambda v: -data.vehicles[v].capacity)
    pending = list(loads)
    out: list[Draft] = []
    for v in coaches:
        room = data.vehicles[v].capacity
        mine: list[tuple[Key, int]] = []
        rest: list[tuple[Key, int]] = []
        for key, n in pending:
            take = min(room, n)
            if take:
                mine.append((key, take))
                room -= take
            if n - take:
                rest.append((key, n - take))
        pending = rest
        if not mine:
            continue
        pk = sorted({k[0] for k, _ in mine})
        sites = sorted({k[2] for k, _ in mine})
        km, p, st = best_route(data, data.vehicles[v].depot, pk, sites)
        out.append(Draft(v, p, st, tuple(mine), km))
    return out


def _singles(data: ProblemData, left: dict[Key, int], vtypes: list[int], cost) -> list[Draft]:
    """Fallback: each county alone in the largest coach type."""
    big = max(vtypes, key=lambda v: data.vehicles[v].capacity)
    out: list[Draft] = []
    by_place: dict[int, list[tuple[Key, int]]] = {}
    for key, n in sorted(left.items()):
        by_place.setdefault(key[0], []).append((key, n))
    for p, loads in by_place.items():
        out += _split_loads(data, (p,), {big: math.ceil(sum(n for _, n in loads) / data.vehicles[big].capacity)},
                            loads, {}, {})
    return out
