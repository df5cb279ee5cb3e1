"""What a trip costs and whether it can run: the pricing every optimisation step shares.

A trip is priced the same way wherever it is built (the full coaches, the giant-tour split, the
local search, allocation and scheduling): its shortest route depot → pickups → sites → depot,
the crew its longest one-way run needs, the coach type that carries its load best, and whether
its ride can fit the ride limit at some boarding hour.
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

from .driving import DriveLog, drive
from .problem import NO_LIMIT, ProblemData

Key = tuple[int, int, int]  # (place, cohort, site index): workers pooled alike


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
    return cap if (cap is not None and data.time_rules) else NO_LIMIT


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
    legs = [int(data.drive[a, b]) for a, b in zip(seq, seq[1:])]
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


def objective_weight(data: ProblemData, v: int, km: float, crew: int, objective: str) -> float:
    """The objective weight of one coach on a route: km first, cost as a tie-break (or cost alone)."""
    cost = trip_cost(data, v, km, crew)
    if objective == "cost":
        return cost
    return km + cost * 1e-4


def pooling_types(data: ProblemData) -> list[int]:
    """The coach types that may carry a pooled trip (enough seats for the fewest riders allowed)."""
    return [v for v, vt in enumerate(data.vehicles) if vt.capacity >= data.min_riders and vt.count > 0]


def pickup_span(data: ProblemData, pickups: tuple[int, ...]) -> int:
    """An estimate of the minutes from the first boarding to the last: the drives between pickups
    with their breaks and the boarding stops (a night rest in between is left to the scheduler)."""
    if len(pickups) < 2:
        return 0
    rules = data.rules
    drive_min = sum(int(data.drive[a, b]) for a, b in zip(pickups, pickups[1:]))
    span = drive_min + data.boarding * (len(pickups) - 1)
    if rules.enabled:
        span += (drive_min // rules.night_continuous + 1) * rules.break_minutes
    return span


def usable_types(data: ProblemData) -> list[int]:
    """The coach types that can carry anyone (coaches and seats)."""
    return [v for v, vt in enumerate(data.vehicles) if vt.count > 0 and vt.capacity > 0]

