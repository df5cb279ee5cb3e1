"""The trips re-chosen whole: a set-covering pass over candidate routes, within the fleet.

Pipeline step "cover", after the local search (``_improve``): the full coaches and the improved
pooled trips are one plan among many made of the same kind of trips. This step hands CP-SAT
(:func:`planner._routing.cover_routes`) every route the search ended with and every route of up
to ``max_pickup_stops`` (3 at most) nearby counties for one site, with integer coaches per route
and coach type and integer workers per key and route, and asks for the plan that carries the most
workers, then weighs least (the objective's weight, as everywhere), starting from the search's.

Where a coach type is scarce the search's plan may need more coaches of it than there are (each
trip takes the type that carries its load best, and every whole load goes on the largest): the
pass bounds each type's coaches by what its fleet can run — as many trips as coaches when no
coach has time for two of the shortest trip (availability, turnaround), and the coach-minutes
its coaches have — so large coaches go to big loads, small ones take remainders, and remainders
share coaches within the pickup limit, carrying everyone who can be carried. Its plan replaces
the search's when it carries more workers within those bounds (the search's plan breaking them),
or as many for less weight.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from typing import Optional

import numpy as np

from ._improve import _Prices
from ._pricing import Key, best_route, crew_needed, key_pairs, objective_weight, site_room, trip_minutes
from ._routing import CoverProblem, cover_routes
from ._trips import DraftTrip
from .problem import NO_LIMIT, ProblemData

#: per county, its nearest counties (same cohort) that candidate routes combine it with
NEAR = 12
#: at most this many candidate routes (fewer neighbours per county beyond it)
MAX_ROUTES = 12_000
#: the weights go to CP-SAT as integers: hundredths
SCALE = 100
#: at least this long for the model to be worth building and solving (seconds)
MIN_SECONDS = 0.3

Route = tuple[int, frozenset, frozenset]  # (cohort, pickup places, sites)


def cover(data: ProblemData, drafts: list[DraftTrip], vtypes: list[int], objective: str, *,
          deadline: float, seed: int = 0, windows: Optional[dict[Key, tuple[int, int]]] = None,
          extra: Optional[dict[Key, int]] = None) -> Optional[list[DraftTrip]]:
    """The drafts re-chosen by the set-covering pass (see the module's doc), or None when it finds
    nothing better by ``deadline`` (``time.monotonic()``). ``extra``: workers by key on no draft
    yet, to carry too."""
    extra = {k: n for k, n in (extra or {}).items() if n > 0}
    if (not drafts and not extra) or not vtypes or time.monotonic() + MIN_SECONDS > deadline:
        return None
    prices = _Prices(data, vtypes, objective, windows)
    demand: dict[Key, int] = dict(extra)
    for d in drafts:
        for k, n in d.loads:
            demand[k] = demand.get(k, 0) + n
    keys = sorted(demand)
    index = {k: i for i, k in enumerate(keys)}
    routes = _candidates(data, drafts, keys, min(3, data.max_stops))
    # each candidate: its keys, and for each coach type its seats, weight and minutes
    kept: list[Route] = []
    route_keys: list[tuple[int, ...]] = []
    options: list[tuple[tuple[int, int, int, int], ...]] = []
    option_type: list[list[int]] = []
    by_place: dict[tuple[int, int], list[Key]] = {}
    for k in keys:
        by_place.setdefault((k[0], k[1]), []).append(k)
    own = {_route_of(d) for d in drafts}
    for route in routes:
        if time.monotonic() + MIN_SECONDS > deadline:
            return None
        cohort, places, sites = route
        mine = tuple(k for p in sorted(places) for k in by_place.get((p, cohort), []) if k[2] in sites)
        if not mine or {k[0] for k in mine} != set(places):
            continue
        if route not in own and not prices.fits({k: demand[k] for k in mine}):
            continue
        km, pk, st, room = prices.route(places, sites)
        crew = crew_needed(data, prices.depot, pk, st)
        minutes = _minutes(data, prices.depot, pk, st)
        opts, types = [], []
        for v in vtypes:
            cap = min(data.vehicles[v].capacity, room)
            if cap < data.min_riders:
                continue
            w = objective_weight(data, v, km, crew, objective)
            opts.append((vtypes.index(v), cap, int(round(w * SCALE)), minutes))
            types.append(v)
        if not opts:
            continue
        kept.append(route)
        route_keys.append(tuple(index[k] for k in mine))
        options.append(tuple(opts))
        option_type.append(types)
    at = {route: r for r, route in enumerate(kept)}
    # the search's plan as the hint
    hx: dict[tuple[int, int], int] = {}
    hy: dict[tuple[int, int], int] = {}
    for d in drafts:
        r = at.get(_route_of(d))
        if r is None or d.vehicle not in option_type[r]:
            return None  # the search's trip is not among the candidates: nothing to compare with
        o = option_type[r].index(d.vehicle)
        hx[(r, o)] = hx.get((r, o), 0) + 1
        for k, n in d.loads:
            hy[(r, index[k])] = hy.get((r, index[k]), 0) + n
    if not options:
        return None
    limits = _limits(data, vtypes, _shortest(data, prices.depot, keys))
    heaviest = max(o[2] for opts in options for o in opts)
    coaches = sum(hx.values()) + sum(-(-n // data.min_riders) for n in extra.values())
    problem = CoverProblem(demand=tuple(demand[k] for k in keys), routes=tuple(route_keys), options=tuple(options),
                           types=tuple(limits), min_riders=data.min_riders,
                           short=heaviest * (coaches + 1) + 1, hint=(hx, hy),
                           seeds=tuple(r for r, route in enumerate(kept) if len(route[1]) == 1))
    hint_left = sum(extra.values())
    hint_value = problem.short * hint_left + sum(options[r][o][2] * n for (r, o), n in hx.items())
    within = _within(problem, hx)
    if not within:
        # a start beyond the fleet only leads SCIP astray (it tries to complete it first)
        problem = replace(problem, hint=None)
    seconds = deadline - time.monotonic()
    if seconds < MIN_SECONDS:
        return None
    got = cover_routes(problem, time_limit=seconds, seed=seed)
    if got.status == "none" or (within and got.objective >= hint_value):
        return None  # the search's plan keeps the fleet's bounds: kept unless beaten
    return _drafts(data, prices, kept, options, option_type, keys, got.coaches, got.riders)


def fleet_short(data: ProblemData, drafts: list[DraftTrip], vtypes: list[int], left: dict[Key, int]) -> bool:
    """Whether ``drafts`` need more coaches of some type than its fleet can run (see :func:`cover`)."""
    if not drafts or not vtypes:
        return False
    depot = data.vehicles[vtypes[0]].depot
    keys = sorted({k for d in drafts for k, _ in d.loads} | set(left))
    limits = _limits(data, vtypes, _shortest(data, depot, keys))
    trips: dict[int, int] = {}
    minutes: dict[int, int] = {}
    for d in drafts:
        if d.vehicle not in vtypes:
            continue
        t = vtypes.index(d.vehicle)
        trips[t] = trips.get(t, 0) + 1
        minutes[t] = minutes.get(t, 0) + _minutes(data, depot, d.pickups, d.sites)
    return any((count >= 0 and trips.get(t, 0) > count) or (most >= 0 and minutes.get(t, 0) > most)
               for t, (count, most) in enumerate(limits))


def _shortest(data: ProblemData, depot: int, keys: list[Key]) -> int:
    """The minutes of the shortest trip any of ``keys`` could ride (its county alone)."""
    return min((_minutes(data, depot, (k[0],), (k[2],)) for k in keys), default=0)


def _route_of(d: DraftTrip) -> Route:
    return (d.loads[0][0][1], frozenset(d.pickups), frozenset(d.sites))


def _candidates(data: ProblemData, drafts: list[DraftTrip], keys: list[Key], size: int) -> list[Route]:
    """The drafts' own routes, then per county every route of up to ``size`` counties among its
    nearest of the same cohort, for each site all of them have workers for."""
    out: dict[Route, None] = {_route_of(d): None for d in drafts}
    sites_at: dict[tuple[int, int], set[int]] = {}
    for k in keys:
        sites_at.setdefault((k[1], k[0]), set()).add(k[2])
    cohorts = sorted({c for c, _ in sites_at})
    places = {c: sorted(p for cc, p in sites_at if cc == c) for c in cohorts}
    total = sum(len(ps) for ps in places.values())
    near = NEAR
    # C(near, size - 1) routes per county at most: fewer neighbours on larger parks
    while near > 1 and total * sum(math.comb(near, j) for j in range(size)) > MAX_ROUTES:
        near -= 1
    for c in cohorts:
        ps = places[c]
        if not ps:
            continue
        sub = data.km[np.ix_(ps, ps)]
        order = np.argsort(sub, axis=1, kind="stable")[:, 1:near + 1]
        for i, p in enumerate(ps):
            others = [ps[j] for j in order[i]]
            for j in range(size):
                for pick in itertools.combinations(others, j):
                    group = frozenset((p, *pick))
                    common = set.intersection(*(sites_at[(c, q)] for q in group))
                    for s in sorted(common):
                        out.setdefault((c, group, frozenset((s,))), None)
    return list(out)


def _minutes(data: ProblemData, depot: int, pickups: tuple, sites: tuple) -> int:
    """A coach's minutes on a route: driving, boarding and alighting, and the turnaround after."""
    return trip_minutes(data, depot, pickups, sites) + data.turnaround


def _limits(data: ProblemData, vtypes: list[int], shortest: int) -> list[tuple[int, int]]:
    """Per coach type: (most trips, most coach-minutes) its coaches can run; -1 for no bound.
    Trips are bounded by the coaches when no coach has time for two of the shortest trips
    (``shortest`` minutes, its turnaround included)."""
    out = []
    for v in vtypes:
        vt = data.vehicles[v]
        span = vt.available_until - vt.available_from
        if vt.available_until >= NO_LIMIT // 2 or vt.available_from <= -NO_LIMIT // 2 or span <= 0:
            out.append((-1, -1))
            continue
        room = span + data.turnaround  # the last trip needs no turnaround after it
        trips = vt.count if 2 * shortest > room else -1
        out.append((trips, vt.count * room))
    return out


def _within(problem: CoverProblem, coaches: dict[tuple[int, int], int]) -> bool:
    """Whether coaches per (route, option) keep every type's bounds."""
    trips: dict[int, int] = {}
    minutes: dict[int, int] = {}
    for (r, o), n in coaches.items():
        t, _, _, mm = problem.options[r][o]
        trips[t] = trips.get(t, 0) + n
        minutes[t] = minutes.get(t, 0) + n * mm
    for t, (count, most) in enumerate(problem.types):
        if (count >= 0 and trips.get(t, 0) > count) or (most >= 0 and minutes.get(t, 0) > most):
            return False
    return True


def _drafts(data: ProblemData, prices: _Prices, routes: list[Route], options: list, option_type: list[list[int]],
            keys: list[Key], coaches: dict[tuple[int, int], int], riders: dict[tuple[int, int], int]
            ) -> Optional[list[DraftTrip]]:
    """The chosen coaches as drafts: each route's riders cut along its pickup order among its
    coaches (every coach its fewest riders first, then filled largest first); None when a
    coach's trip would break a rule."""
    out: list[DraftTrip] = []
    by_route: dict[int, list[tuple[int, int]]] = {}
    for (r, o), n in coaches.items():
        by_route.setdefault(r, []).extend([(option_type[r][o], options[r][o][1])] * n)
    for r, buses in by_route.items():
        _, places, sites = routes[r]
        _, pk, _, _ = prices.route(places, sites)
        loads = [(keys[k], n) for (rr, k), n in riders.items() if rr == r]
        loads.sort(key=lambda kn: (pk.index(kn[0][0]), kn[0]))
        total = sum(n for _, n in loads)
        buses.sort(key=lambda b: (-b[1], b[0]))
        take = [min(data.min_riders, cap) for _, cap in buses]
        extra = total - sum(take)
        if extra < 0:
            return None
        for i, (_, cap) in enumerate(buses):
            more = min(cap - take[i], extra)
            take[i] += more
            extra -= more
        if extra > 0:
            return None
        queue = [k for k, _ in loads]
        rest = dict(loads)
        for (v, _), want in zip(buses, take):
            got: dict[Key, int] = {}
            while want > 0 and queue:
                k = queue[0]
                m = min(rest[k], want)
                got[k] = got.get(k, 0) + m
                want -= m
                rest[k] -= m
                if rest[k] == 0:
                    queue.pop(0)
            if not got:
                continue
            ps = frozenset(k[0] for k in got)
            ss = frozenset(k[2] for k in got)
            if not prices.fits(got):
                return None
            km, p, s = best_route(data, data.vehicles[v].depot, sorted(ps), sorted(ss), key_pairs(got))
            if sum(got.values()) > min(site_room(data, x) for x in ss):
                return None
            out.append(DraftTrip(v, p, s, tuple(sorted(got.items())), km))
    return out
