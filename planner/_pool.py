"""Which coaches carry whom: full coaches straight from a county, then set partitioning.

Workers are pooled by *key* = (home place, cohort, site). Whole coach-loads of a county go
straight to the park (the lower bound's own tour, so they cost nothing above it). What is left,
each county's remainder, is pooled "route first, cluster second": OR-Tools routing lays a giant
tour through each cohort's counties so that neighbours follow each other, then a dynamic
programme cuts the tour's worker sequence into trips optimally — at most ``max_pickup_stops``
counties and one coach-load each, a county's remainder split between two trips where that fills
coaches, and each trip on the coach size that carries its load best.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .driving import DriveLog, drive
from .eligibility import ProblemData

Key = tuple[int, int, int]  # (place, cohort, site index)
SKIP = 1e12  # the DP's price of leaving one worker out


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


def site_room(data: ProblemData, site: int) -> int:
    """The most workers one coach may bring to ``site`` (its daily intake, when set)."""
    cap = data.site_intake[site]
    return cap if (cap is not None and data.time_rules) else 10**9


def crew_needed(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]) -> int:
    """2 when the outbound run (depot → last pickup) or the loaded run (first pickup → last drop)
    exceeds the two-driver distance."""
    km = data.km
    out = km[depot, pickups[0]] + sum(km[a, b] for a, b in zip(pickups, pickups[1:]))
    seq = list(pickups) + [data.site_place[s] for s in sites]
    loaded = sum(km[a, b] for a, b in zip(seq, seq[1:]))
    return 2 if max(out, loaded) > data.two_driver_km else 1


def ride_fits(data: ProblemData, pickups: Sequence[int], sites: Sequence[int]) -> bool:
    """Whether the ride from the first boarding to the last drop fits the ride limit when the
    trip boards at some hour of the day (two rested drivers, the driving rules): a pooled trip
    that fits at no hour is never drafted; the scheduler looks for the hour and rest that fit."""
    rules = data.rules
    seq = list(pickups) + [data.site_place[s] for s in sites]
    legs = [rules.minutes(data.km[a, b]) for a, b in zip(seq, seq[1:])]
    dwell = [data.boarding] * (len(pickups) - 1) + [data.alighting] * (len(sites) - 1) + [0]
    if sum(legs) + sum(dwell) > data.max_ride:
        return False  # even without breaks or rests
    if not rules.enabled:
        return True
    for hour in range(24):
        log = DriveLog(crew=2)
        t = hour * 60
        for leg, stay in zip(legs, dwell):
            t, _ = drive(log, t, leg, rules)
            t += stay
        if t - hour * 60 <= data.max_ride:
            return True
    return False


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
        site_cap = min(cap, site_room(data, key[2]))
        n = left[key] // site_cap
        # never leave a remainder too small to ride on its own
        if n and 0 < left[key] - n * site_cap < data.min_riders:
            n -= 1
        if n and site_cap < cap:
            km, p, s = best_route(data, depot, [key[0]], [key[2]])
            drafts += [Draft(big, p, s, ((key, site_cap),), km)] * n
            left[key] -= n * site_cap
            continue
        if n:
            km, p, s = best_route(data, depot, [key[0]], [key[2]])
            drafts += [Draft(big, p, s, ((key, cap),), km)] * n
            left[key] -= n * cap
    by_county: dict[tuple[int, int], list[Key]] = {}
    for key, n in left.items():
        if n:
            by_county.setdefault((key[0], key[1]), []).append(key)
    for (place, cohort), keys in sorted(by_county.items()):
        if any(site_room(data, k[2]) < cap for k in keys):
            continue  # intake-limited sites are pooled by the split, which respects intake
        total = sum(left[k] for k in keys)
        while total >= cap and total - cap not in range(1, data.min_riders):
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


# ---------------------------------------------------------------- giant tour, then split


@dataclass(frozen=True)
class PoolParams:
    seed: int = 0
    objective: str = "km"  # "km": fewest coach-km, then cost; "cost": cheapest
    radial: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)  # giant tours tried, best split kept


def objective_weight(data: ProblemData, v: int, km: float, crew: int, objective: str) -> float:
    """The objective weight of one coach on a route: km first, cost as a tie-break (or cost alone)."""
    cost = trip_cost(data, v, km, crew)
    if objective == "cost":
        return cost
    return km + cost * 1e-4


def pool_types(data: ProblemData) -> list[int]:
    """The coach types that may carry a pooled trip (enough seats for the fewest riders allowed)."""
    return [v for v, vt in enumerate(data.vehicles) if vt.capacity >= data.min_riders and vt.count > 0]


def pool_remainders(data: ProblemData, left: dict[Key, int], *, time_limit: float, params: PoolParams,
                    report: Optional[Callable[[float], None]] = None) -> list[Draft]:
    """Cover every remaining worker: per cohort, a giant tour through the counties, split into trips."""
    vtypes = pool_types(data)
    if not left or not vtypes:
        return []
    cohorts = sorted({k[1] for k in left})
    drafts: list[Draft] = []
    deadline = time.monotonic() + time_limit
    for i, cohort in enumerate(cohorts):
        part = {k: n for k, n in left.items() if k[1] == cohort}
        best: Optional[tuple[float, list[Draft]]] = None
        hub = data.vehicles[vtypes[0]].depot
        for j, radial in enumerate(params.radial):
            seconds = max(0.2, (deadline - time.monotonic()) / ((len(cohorts) - i) * (len(params.radial) - j)))
            order = giant_tour(data, sorted({k[0] for k in part}), seconds, radial, hub)
            got = split_tour(data, order, part, vtypes, params.objective)
            score = sum(objective_weight(data, d.vehicle, d.km, 1, params.objective) for d in got)
            if best is None or score < best[0]:
                best = (score, got)
        drafts += best[1] if best else []
        if report:
            report((i + 1) / len(cohorts))
    return drafts


def giant_tour(data: ProblemData, places: list[int], seconds: float, radial: float = 0.0,
               hub: int = 0) -> list[int]:
    """An open path through ``places`` that keeps neighbours together (OR-Tools routing).

    Node 0 is a free dummy, so the tour is a Hamiltonian path. Greedy descent stops at a local
    optimum on its own, so the result does not depend on the machine's speed.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(places)
    if n <= 2:
        return list(places)
    mat = np.zeros((n + 1, n + 1), dtype=np.int64)
    # neighbours on the tour should be near each other *and* about as far from the park: a trip
    # costs its farthest county's tour, while the bound credits each worker with their own
    r = data.km[hub, places]
    arc = data.km[np.ix_(places, places)] + radial * np.abs(r[:, None] - r[None, :])
    mat[1:, 1:] = np.rint(arc * 10).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n + 1, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitMatrix(mat.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    search.time_limit.FromMilliseconds(int(max(0.1, seconds) * 1000))
    sol = routing.SolveWithParameters(search)
    if sol is None:
        return list(places)
    out, idx = [], routing.Start(0)
    while not routing.IsEnd(idx):
        node = manager.IndexToNode(idx)
        if node:
            out.append(places[node - 1])
        idx = sol.Value(routing.NextVar(idx))
    return out


def split_tour(data: ProblemData, order: list[int], left: dict[Key, int], vtypes: list[int],
               objective: str) -> list[Draft]:
    """Cut the tour's worker sequence into trips, optimally (dynamic programming).

    Workers line up county by county along the tour. A trip takes a contiguous run of at most
    the largest capacity, touching at most ``max_stops`` counties, so a county's workers may be
    split between two trips; each trip takes the coach type that carries its load best.
    """
    keys: list[Key] = []
    for p in order:
        keys += sorted(k for k in left if k[0] == p)
    counts = [left[k] for k in keys]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    total = int(starts[-1])
    qmax = max(data.vehicles[v].capacity for v in vtypes)
    key_at = np.repeat(np.arange(len(keys)), counts)  # key index of every worker position
    caps = sorted({data.vehicles[v].capacity for v in vtypes})
    memo: dict[tuple[int, int], tuple[float, tuple, tuple, bool]] = {}
    ride_limited = data.time_rules

    def route(ka: int, kb: int) -> tuple[float, tuple, tuple, bool]:
        """Best route for keys ka..kb: (km, pickups, sites, whether its ride time can fit)."""
        got = memo.get((ka, kb))
        if got is None:
            span = keys[ka:kb + 1]
            pk = sorted({k[0] for k in span})
            st = sorted({k[2] for k in span})
            depot = data.vehicles[vtypes[0]].depot
            km, p, s_ = best_route(data, depot, pk, st)
            ok = len(pk) == 1 or not ride_limited or ride_fits(data, p, s_)
            got = memo[(ka, kb)] = (km, p, s_, ok)
        return got

    best_type: dict[tuple[int, int, int], tuple[float, int]] = {}

    def weight(ka: int, kb: int, load: int) -> tuple[float, int]:
        need = next(c for c in caps if c >= load)
        got = best_type.get((ka, kb, need))
        if got is None:
            km, p, s_, _ = route(ka, kb)
            depot = data.vehicles[vtypes[0]].depot
            crew = crew_needed(data, depot, p, s_)
            got = min((objective_weight(data, v, km, crew, objective), v)
                      for v in vtypes if data.vehicles[v].capacity >= load)
            best_type[(ka, kb, need)] = got
        return got

    inf = math.inf
    f = [inf] * (total + 1)
    back = [0] * (total + 1)
    f[0] = 0.0
    k_limit = data.max_stops
    for j in range(1, total + 1):
        kb = int(key_at[j - 1])
        places_seen: set[int] = set()
        best, arg = inf, -1
        # a trip's start i: only where it matters — the first worker of a key, or j - capacity
        lo = max(0, j - qmax)
        cand = {lo}
        ka = kb
        while ka >= 0 and starts[ka + 1] > lo:
            places_seen.add(keys[ka][0])
            if len(places_seen) > k_limit:
                break
            cand.add(max(lo, int(starts[ka])))
            ka -= 1
        if data.min_riders > 1:  # a cut inside a county may be needed to keep every trip full enough
            cand.update(range(lo, max(lo, j - data.min_riders) + 1))
        for i in sorted(cand):
            if f[i] == inf or j - i < data.min_riders:
                continue
            ka_i = int(key_at[i])
            if len({keys[k][0] for k in range(ka_i, kb + 1)}) > k_limit:
                continue
            if j - i > min(site_room(data, keys[k][2]) for k in range(ka_i, kb + 1)):
                continue
            if not route(ka_i, kb)[3]:
                continue
            w, _ = weight(ka_i, kb, j - i)
            if f[i] + w < best:
                best, arg = f[i] + w, i
        # leaving a worker out is allowed but costs more than any trip (min riders unreachable)
        if f[j - 1] + SKIP < best:
            best, arg = f[j - 1] + SKIP, -(j - 1) - 1
        f[j], back[j] = best, arg
    # walk back: trips as position ranges
    trips: list[tuple[int, int]] = []
    skipped: dict[Key, int] = {}
    j = total
    while j > 0:
        i = back[j]
        if i < 0:
            k = keys[int(key_at[j - 1])]
            skipped[k] = skipped.get(k, 0) + 1
            j -= 1
            continue
        trips.append((i, j))
        j = i
    out: list[Draft] = []
    for k, n in skipped.items():
        out.append(Draft(-1, (k[0],), (k[2],), ((k, n),), 0.0))  # vehicle -1: too few riders
    for i, j in reversed(trips):
        ka, kb = int(key_at[i]), int(key_at[j - 1])
        loads = []
        for k in range(ka, kb + 1):
            n = min(j, starts[k + 1]) - max(i, starts[k])
            if n > 0:
                loads.append((keys[k], int(n)))
        _, v = weight(ka, kb, j - i)
        km, p, s_ = best_route(data, data.vehicles[v].depot, sorted({k[0] for k, _ in loads}),
                               sorted({k[2] for k, _ in loads}))
        out.append(Draft(v, p, s_, tuple(loads), km))
    return out
