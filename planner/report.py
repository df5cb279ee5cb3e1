"""Turn timed trips into a contract-v1 plan: trips, unassigned workers, summary and lower bound."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Iterable, Sequence

from ._trips import TimedTrip
from .contract import Load, Place, Plan, PlanWarning, SolverInfo, Stop, Summary, Trip, Unassigned
from .problem import ProblemData


def lower_bound_km(data: ProblemData, planned: dict[int, int]) -> float:
    """Each planned worker's cheapest depot → home → site → depot tour over the largest coach.

    Every coach-km carries at most ``capacity_max`` workers, and every worker's coach must cover
    at least that tour, so no plan for these workers can have fewer coach-km.
    """
    usable = [v for v in data.vehicles if v.count > 0 and v.capacity > 0]
    if not usable or not planned:
        return 0.0
    cap = max(v.capacity for v in usable)
    depots = sorted({v.depot for v in usable})
    km = data.km
    total = 0.0
    for o_idx, n in planned.items():
        o = data.orders[o_idx]
        s = data.site_place[o.site]
        tour = min(km[d, o.place] + km[o.place, s] + km[s, d] for d in depots)
        total += n * tour
    return total / cap


def _place(data: ProblemData, idx: int, site: int | None = None) -> Place:
    p = data.places[idx]
    if site is not None:
        return Place(id=data.site_ids[site], name=p.name, lat=p.lat, lon=p.lon)
    if idx in data.depot_place:
        return Place(id=data.depot_ids[data.depot_place.index(idx)], name=p.name, lat=p.lat, lon=p.lon)
    if p.kind == "coords":  # where it was given, and the county it lies in (its risk and cohort)
        return Place(id=f"{p.lat:.5f},{p.lon:.5f}", county=p.county, name=p.name, lat=p.lat, lon=p.lon)
    return Place(county=p.county, name=p.name, lat=p.lat, lon=p.lon)


def _loads(data: ProblemData, loads: Sequence[tuple[int, int]]) -> list[Load]:
    """Loads by order id (the parts of an order with several screening expiries are one order)."""
    merged: dict[str, int] = {}
    for o, c in loads:
        merged[data.orders[o].id] = merged.get(data.orders[o].id, 0) + c
    return [Load(order=o, count=c) for o, c in merged.items()]


def warnings_of(data: ProblemData, timed: Sequence[TimedTrip]) -> list[PlanWarning]:
    """What a coordinator should look at: depots far from every pickup they serve, sites far
    from every depot (often a mistyped coordinate)."""
    out = []
    served: dict[int, set[int]] = defaultdict(set)
    for t in timed:
        for s in t.stops:
            if s.kind == "pickup":
                served[data.vehicles[t.vehicle].depot].add(s.place)
    for depot, pickups in sorted(served.items()):
        nearest = min(pickups, key=lambda p: data.km[depot, p])
        km = float(data.km[depot, nearest])
        if km > data.depot_warning_km:
            out.append(PlanWarning(code="far_depot", message=(
                f"depot {data.depot_ids[data.depot_place.index(depot)]} is {km:,.0f} road km from every pickup "
                f"it serves (nearest: {data.places[nearest].name}), more than {data.depot_warning_km:g} km: "
                f"its coaches drive that far empty each way; check the depot's location or add a nearer depot")))
    depots = sorted(set(data.depot_place))
    for site, sp in enumerate(data.site_place):
        if not depots:
            break
        nearest = min(depots, key=lambda d: data.km[d, sp])
        km = float(data.km[nearest, sp])
        if km > data.depot_warning_km:
            out.append(PlanWarning(code="far_site", message=(
                f"site {data.site_ids[site]} is {km:,.0f} road km from the nearest depot "
                f"({data.depot_ids[data.depot_place.index(nearest)]}), more than {data.depot_warning_km:g} km: "
                f"is the site's location right?")))
    return out


def build_plan(data: ProblemData, timed: Sequence[TimedTrip], fixed: Sequence[Trip],
               unassigned: Iterable[tuple[int, int, str]],
               *, seconds: float, time_limit: float | None, status: str, seed: int | None,
               roads: str | None = None, now: datetime | None = None) -> Plan:
    """Assemble the plan; trips are numbered by departure time after the fixed ones."""
    trips: list[Trip] = list(fixed)
    used_ids = {t.id for t in fixed}
    n = 0
    for t in sorted(timed, key=lambda t: (t.start, t.vehicle, t.bus)):
        n += 1
        tid = f"T{n:04d}"
        while tid in used_ids:
            n += 1
            tid = f"T{n:04d}"
        vt = data.vehicles[t.vehicle]
        stops = []
        for s in t.stops:
            loads = _loads(data, s.loads)
            stops.append(Stop(
                kind=s.kind,
                place=_place(data, s.place, s.site),
                arrive=None if s.arrive is None else data.when(s.arrive),
                depart=None if s.depart is None else data.when(s.depart),
                board=loads if s.kind == "pickup" else [],
                alight=loads if s.kind == "drop" else [],
                drive=[(data.when(a), data.when(b)) for a, b in s.drive],
            ))
        trips.append(Trip(id=tid, vehicle_type=vt.id, bus=t.bus, depot=vt.depot_id, crew=t.crew,
                          cohort=("low", "medium")[t.cohort], km=round(t.km, 3), cost=round(t.cost, 2),
                          stops=stops, drivers=list(t.drivers) if t.drivers else None))
    # merge unassigned rows of the same order and reason (in order of the orders)
    merged: dict[tuple[str, str], int] = defaultdict(int)
    first: dict[str, int] = {}
    for o, c, reason in unassigned:
        if c > 0:
            merged[(data.orders[o].id, reason)] += c
            first.setdefault(data.orders[o].id, o)
    unassigned_rows = [Unassigned(order=o, count=c, reason=r)
                       for (o, r), c in sorted(merged.items(), key=lambda kv: (first[kv[0][0]], kv[0][1]))]
    order_index = {o.id: o.index for o in data.orders if o.part == 0}
    planned: dict[int, int] = defaultdict(int)
    for trip in trips:
        for stop in trip.stops:
            for ld in stop.board:
                if ld.order in order_index:
                    planned[order_index[ld.order]] += ld.count
    km = sum(t.km for t in trips)
    cost = sum(t.cost for t in trips)
    bound = lower_bound_km(data, planned)
    km_r, bound_r = round(km, 1), math.floor(bound * 10) / 10  # the bound rounds down: it stays a bound
    summary = Summary(
        workers_requested=sum(o.headcount for o in data.orders),
        workers_eligible=sum(o.cleared for o in data.orders),
        workers_planned=sum(planned.values()),
        trips=len(trips),
        buses_used=len({(t.vehicle_type, t.bus) for t in trips}),
        km=km_r, cost=round(cost, 2),
        lower_bound_km=bound_r,
        km_over_bound=round(km_r / bound_r, 4) if bound_r > 0 else None,
    )
    return Plan(scenario=data.name, trips=trips, unassigned=unassigned_rows, summary=summary,
                solver=SolverInfo(seconds=round(seconds, 2), time_limit=time_limit, status=status, seed=seed,
                                  roads=roads, now=now),
                warnings=warnings_of(data, timed))
