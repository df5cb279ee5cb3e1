"""Whole coach-loads straight from a county to its site: the first trips, at the bound's own cost.

Pipeline step "full coaches": workers are pooled by *key* = (home place, cohort, site). Every
whole load of the largest coach a key can fill goes on a trip of its own, depot → county → site →
depot: the lower bound's own tour, so these trips cost nothing above it; so does a whole load of
a county's leftovers for several sites that one coach can reach in turn within its ride limit and
hours. What is left goes to the pooling step.
"""

from __future__ import annotations

from ._pricing import Key, best_route, site_room, trip_fits
from ._trips import DraftTrip
from .eligibility import Eligible
from .problem import ProblemData


def full_coaches(data: ProblemData, demand: dict[Key, int], big: int) -> tuple[list[DraftTrip], dict[Key, int]]:
    """Send whole loads of the largest coach straight from each county; return them and what is left.

    Site-pure coaches first, then coaches mixing a county's leftovers for several sites.
    """
    cap = data.vehicles[big].capacity
    depot = data.vehicles[big].depot
    drafts: list[DraftTrip] = []
    left = dict(demand)
    for key in sorted(demand):
        site_cap = min(cap, site_room(data, key[2]))
        n = left[key] // site_cap
        # never leave a remainder too small to ride on its own
        if n and 0 < left[key] - n * site_cap < data.min_riders:
            n -= 1
        if n and site_cap < cap:
            km, p, s = best_route(data, depot, [key[0]], [key[2]])
            drafts += [DraftTrip(big, p, s, ((key, site_cap),), km)] * n
            left[key] -= n * site_cap
            continue
        if n:
            km, p, s = best_route(data, depot, [key[0]], [key[2]])
            drafts += [DraftTrip(big, p, s, ((key, cap),), km)] * n
            left[key] -= n * cap
    by_county: dict[tuple[int, int], list[Key]] = {}
    for key, n in left.items():
        if n:
            by_county.setdefault((key[0], key[1]), []).append(key)
    for (place, _), keys in sorted(by_county.items()):
        if any(site_room(data, k[2]) < cap for k in keys):
            continue  # intake-limited sites are pooled by the split, which respects intake
        total = sum(left[k] for k in keys)
        while total >= cap and total - cap not in range(1, data.min_riders):
            # fill one coach with the largest leftovers first (fewest drop sites)
            keys.sort(key=lambda k: -left[k])
            room = cap
            loads: list[tuple[Key, int]] = []
            for k in keys:
                take = min(room, left[k])
                # only sites one coach can reach in turn within the ride limit and its hours
                if take and (not loads or _sites_fit(data, depot, place, {x[2] for x, _ in loads} | {k[2]})):
                    loads.append((k, take))
                    room -= take
                if not room:
                    break
            if room:
                break  # the sites it can serve together do not fill a coach: left to the pooling
            for k, take in loads:
                left[k] -= take
            km, p, s = best_route(data, depot, [place], sorted({k[2] for k, _ in loads}))
            drafts.append(DraftTrip(big, p, s, tuple(loads), km))
            total -= cap
    return drafts, {k: n for k, n in left.items() if n}


def demand_by_key(data: ProblemData, eligible: list[Eligible]) -> dict[Key, int]:
    """Eligible workers by key (home place, cohort, site)."""
    demand: dict[Key, int] = {}
    for e in eligible:
        o = data.orders[e.order]
        key = (o.place, e.cohort, o.site)
        demand[key] = demand.get(key, 0) + e.count
    return demand


def largest_type(data: ProblemData, vtypes: list[int]) -> int:
    """The coach type of the full coaches: the most seats, then the cheapest per km."""
    return max(vtypes, key=lambda v: (data.vehicles[v].capacity, -data.vehicles[v].cost_per_km, -v))


def _sites_fit(data: ProblemData, depot: int, place: int, sites: set[int]) -> bool:
    """Whether one coach from ``place`` can drop at every one of ``sites`` in turn: within the
    ride limit at some boarding hour and its hours (:func:`trip_fits`)."""
    _, p, s = best_route(data, depot, [place], sorted(sites))
    return trip_fits(data, depot, p, s)
