"""Turn timed trips into a contract-v1 plan: trips, unassigned workers, summary and lower bound."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import datetime
from typing import Iterable, Literal, Sequence

import numpy as np

from ._chains import CarLoad
from ._routing import route_cover_bound
from ._timing import as_allocated, loaded_wait
from ._trips import TimedTrip
from .contract import Load, Place, Plan, PlanWarning, SolverInfo, Stop, Summary, TrainLoad, Trip, Unassigned
from .driving import fastest_leg
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


def lower_bound_km_sharp(data: ProblemData, by_coach: dict[int, int], cars: Sequence[CarLoad]) -> float:
    """Coach-km no plan of these riders can go below, counting whole coaches (``lower_bound_km_sharp``).

    A trip runs depot → pickups → drops → depot, so (roads obeying the triangle inequality, as the
    per-worker bound assumes too) its km is at least the cheapest tour depot → home → drop → depot
    of each of its riders — at least the *largest* such tour among them. Summing that largest tour
    over the trips, layer by layer: for every distance ``t``, the trips carrying a rider whose tour
    exceeds ``t`` carry all ``X(t)`` such riders, at most ``C`` (the largest coach) each, and stop at
    most ``K`` (``policy.max_pickup_stops``) times each, while pickup place ``p`` with ``X_p(t)`` such
    riders needs ``⌈X_p(t) / C⌉`` of their stops. So at least
    ``B(t) = max(⌈X(t) / C⌉, ⌈Σ_p ⌈X_p(t) / C⌉ / K⌉)`` trips are longer than ``t``, and the km are at
    least ``∫ B(t) dt``. With ``X(t) / C`` in place of ``B(t)`` this is :func:`lower_bound_km`: the
    whole coaches (a remainder pays a coach of its own, unless it shares one within the pickup
    limit) are what it adds. ``by_coach``: riders by direct order part; ``cars``: train riders (their
    feeder to the boarding station and last mile from the alighting one count as two rides).
    """
    usable = [v for v in data.vehicles if v.count > 0 and v.capacity > 0]
    if not usable:
        return 0.0
    cap = max(v.capacity for v in usable)
    stops = max(1, data.max_stops)
    depots = _depots(data)
    rides: dict[tuple[int, int], int] = defaultdict(int)  # (pickup place, drop place) → riders
    for o_idx, n in by_coach.items():
        if n > 0:
            o = data.orders[o_idx]
            rides[(o.place, data.site_place[o.site])] += n
    for c in cars:
        if c.count > 0:
            o = data.orders[c.order]
            rides[(o.place, data.station_place[c.board])] += c.count
            rides[(data.station_place[c.alight], data.site_place[o.site])] += c.count
    layers = sorted(((_tour(data, depots, a, b), a, n) for (a, b), n in rides.items()), reverse=True)
    at: dict[int, int] = defaultdict(int)  # riders beyond the current distance, by pickup place
    riders = pickups = 0  # their sum, and Σ_p ⌈X_p / C⌉
    total = 0.0
    for i, (tour, place, n) in enumerate(layers):
        before = -(-at[place] // cap)
        at[place] += n
        riders += n
        pickups += -(-at[place] // cap) - before
        nxt = layers[i + 1][0] if i + 1 < len(layers) else 0.0
        trips = max(-(-riders // cap), -(-pickups // stops))
        total += trips * (tour - nxt)
    return total


#: the route bound is worked out when the riders' places make at most this many routes of up to
#: ``max_pickup_stops`` places (a small park: 60 places and 3 stops are 36,050 routes)
ROUTE_BOUND_ROUTES = 40_000
#: and in at most this many seconds (the best bound found by then counts)
ROUTE_BOUND_SECONDS = 2.0
#: an availability this long (minutes) is no limit
NO_WINDOW = 10**8


def lower_bound_km_routes(data: ProblemData, by_coach: dict[int, int], *,
                          seconds: float = ROUTE_BOUND_SECONDS) -> float:
    """Coach-km no plan of these direct riders can go below, by the LP over coach routes (0 when
    the park is too large for it, see :data:`ROUTE_BOUND_ROUTES`).

    A trip from its depot stops at up to ``max_pickup_stops`` pickup places, then at its sites, and
    returns to its depot; leaving out every drop but one shortens it (roads obeying the triangle
    inequality, as the other bounds assume), so it is at least the shortest run over its pickups
    in their best order from a depot to a site and back, whichever depot and site: its *route*
    km. A coach carries at most its seats, and runs at most as many trips as fit in its
    availability, each a turnaround apart and at least the drive depot → a pickup → a site →
    depot; a route of several places whose quickest drive, with a boarding stop at each and one
    alighting, is longer than every coach type's availability is no trip at all. So the least km
    of coaches, each on a route of at most that many places, carrying
    every rider — whose LP (:func:`planner._routing.route_cover_bound`) counts the detours between
    the places a coach pools, which the layered bound does not, and how many coaches of each
    size there are — is a bound on the plan's km."""
    usable = [v for v in data.vehicles if v.count > 0 and v.capacity > 0]
    heads: dict[int, int] = defaultdict(int)
    for o_idx, n in by_coach.items():
        if n > 0:
            heads[data.orders[o_idx].place] += n
    if not usable or not heads:
        return 0.0
    places = sorted(heads)
    n = len(places)
    k_max = min(max(1, data.max_stops), n)
    if sum(math.comb(n, k) for k in range(1, k_max + 1)) > ROUTE_BOUND_ROUTES:
        return 0.0
    km = data.km
    idx = np.array(places)
    depots = np.array(_depots(data))
    sites = np.array(sorted({data.site_place[data.orders[o].site] for o, c in by_coach.items() if c > 0}))
    # back[b, d]: from the last pickup b to a site and on to depot d; ends[a, b]: depot → a, b → … → depot
    back = (km[np.ix_(idx, sites)][:, :, None] + km[np.ix_(sites, depots)][None, :, :]).min(axis=1)
    ends = (km[np.ix_(depots, idx)].T[:, None, :] + back[None, :, :]).min(axis=2)
    inner = km[np.ix_(idx, idx)]
    # the same in minutes of driving: a route of several places that no coach can drive, with its
    # stops, inside the longest availability of any coach type is no trip (a place alone stays)
    drive = data.drive
    d_back = (drive[np.ix_(idx, sites)][:, :, None] + drive[np.ix_(sites, depots)][None, :, :]).min(axis=1)
    d_ends = (drive[np.ix_(depots, idx)].T[:, None, :] + d_back[None, :, :]).min(axis=2).astype(np.float64)
    d_inner = drive[np.ix_(idx, idx)].astype(np.float64)
    longest = max(v.available_until - v.available_from for v in usable)
    costs, rows = [], []
    for k in range(1, k_max + 1):
        combos = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)
        best = np.full(len(combos), np.inf)
        quickest = np.full(len(combos), np.inf)
        for perm in itertools.permutations(range(k)):
            seq = combos[:, list(perm)]
            run = ends[seq[:, 0], seq[:, -1]] + sum(inner[seq[:, i], seq[:, i + 1]] for i in range(k - 1))
            best = np.minimum(best, run)
            took = d_ends[seq[:, 0], seq[:, -1]] + sum(d_inner[seq[:, i], seq[:, i + 1]] for i in range(k - 1))
            quickest = np.minimum(quickest, took)
        if k > 1 and longest < NO_WINDOW:
            fits = quickest + data.boarding * k + data.alighting <= longest
            combos, best = combos[fits], best[fits]
        costs.append(best)
        rows.append(np.pad(combos, ((0, 0), (0, k_max - k)), constant_values=n))
    # a coach's trips lie in its availability, a turnaround apart, each at least the drive from
    # its depot to a pickup, from a pickup to a site and from a site back
    types: list[tuple[int, float]] = []
    for v in usable:
        window = v.available_until - v.available_from
        shortest = (float(drive[v.depot, idx].min()) + float(drive[np.ix_(idx, sites)].min())
                    + float(drive[sites, v.depot].min()))
        if window >= NO_WINDOW or shortest + data.turnaround <= 0:
            types.append((v.capacity, math.inf))
        else:
            types.append((v.capacity, v.count * max(0, math.floor((window + data.turnaround) / (shortest + data.turnaround)))))
    need = np.array([heads[p] for p in places], dtype=np.int64)
    return route_cover_bound(np.concatenate(costs), np.concatenate(rows), need, types, time_limit=seconds)


def _direct_riders(trips: Sequence[Trip], order_index: dict[str, int]) -> dict[int, int]:
    """Riders of direct coach trips, by order part index."""
    out: dict[int, int] = defaultdict(int)
    for trip in trips:
        if trip.purpose != "direct":
            continue
        for stop in trip.stops:
            for ld in stop.board:
                if ld.order in order_index:
                    out[order_index[ld.order]] += ld.count
    return out


def _place(data: ProblemData, idx: int, site: int | None = None) -> Place:
    p = data.places[idx]
    if site is not None and data.site_station and data.site_station[site] is not None:
        return Place(station=data.site_ids[site], name=p.name, lat=p.lat, lon=p.lon)
    if site is not None:
        return Place(id=data.site_ids[site], name=p.name, lat=p.lat, lon=p.lon)
    if idx in data.station_place:  # a last mile's pickup
        return Place(station=data.station_ids[data.station_place.index(idx)], name=p.name, lat=p.lat, lon=p.lon)
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
    """What a coordinator should look at: places given by a county's former code or name (read
    as today's county), depots far from every pickup they serve, sites far from every depot
    (often a mistyped coordinate)."""
    out = [PlanWarning(code="county_renamed", message=f"{note}: read so for {what}")
           for what, note in data.place_notes]
    served: dict[int, set[int]] = defaultdict(set)
    for t in timed:
        if _purpose(data, t) != "direct":
            continue  # a feeder's or last mile's depot serves its station
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
        if data.site_station and data.site_station[site] is not None:
            continue
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
               roads: str | None = None, now: datetime | None = None,
               cars: Sequence[CarLoad] = (), details: Sequence[str] = ()) -> Plan:
    """Assemble the plan; trips are numbered by departure time after the fixed ones. ``details``:
    the nearest miss of each ``unassigned`` row (:mod:`planner._explain`), in the same order."""
    trips: list[Trip] = list(fixed)
    waits: list[float] = [t.loaded_wait_hours or 0.0 for t in fixed]
    for tid, t in numbered(timed, fixed):
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
        onboard, wait = trip_hours(data, t)
        waits.append(wait)
        trips.append(Trip(id=tid, vehicle_type=vt.id, bus=t.bus, depot=vt.depot_id, crew=t.crew,
                          cohort=("low", "medium")[t.cohort], km=round(t.km, 3), cost=round(t.cost, 2),
                          stops=stops, drivers=list(t.drivers) if t.drivers else None, purpose=_purpose(data, t),
                          onboard_hours=round(onboard, 2), loaded_wait_hours=round(wait, 2)))
    # merge unassigned rows of the same order and reason (in order of the orders)
    merged: dict[tuple[str, str], int] = defaultdict(int)
    why: dict[tuple[str, str], str] = {}
    first: dict[str, int] = {}
    given = list(unassigned)
    for k, (o, c, reason) in enumerate(given):
        if c > 0:
            merged[(data.orders[o].id, reason)] += c
            first.setdefault(data.orders[o].id, o)
            if details and details[k] and (data.orders[o].id, reason) not in why:
                why[(data.orders[o].id, reason)] = details[k]
    unassigned_rows = [Unassigned(order=o, count=c, reason=r, detail=why.get((o, r)))
                       for (o, r), c in sorted(merged.items(), key=lambda kv: (first[kv[0][0]], kv[0][1]))]
    order_index = {o.id: o.index for o in data.orders if o.part == 0 and o.leg == "direct"}
    by_coach = _direct_riders(trips, order_index)
    planned_now = _direct_riders(trips[len(fixed):], order_index)  # the trips planned now (not dispatched)
    rows = train_loads(data, cars)
    by_train = sum(car.count for car in cars)
    riders: dict[int, int] = defaultdict(int)
    for car in cars:
        riders[car.train] += car.count
    train_cost = sum(data.trains[t].fixed_cost + data.trains[t].cost_per_seat * r for t, r in riders.items() if r)
    km = sum(t.km for t in trips)
    cost = sum(t.cost for t in trips)
    bound = lower_bound_km(data, by_coach) + train_bound_km(data, cars)
    km_r, bound_r = round(km, 1), math.floor(bound * 10) / 10  # the bound rounds down: it stays a bound
    # dispatched trips run as they are: their km count in full, the rest by whole coaches
    sharp = sum(t.km for t in fixed) + max(
        lower_bound_km_sharp(data, planned_now, cars), 0.0 if cars else lower_bound_km_routes(data, planned_now))
    sharp_r = max(bound_r, math.floor(sharp * 10) / 10)
    direct_parts = [o for o in data.orders if o.leg == "direct"]
    summary = Summary(
        workers_requested=sum(o.headcount for o in direct_parts),
        workers_eligible=sum(o.cleared for o in direct_parts),
        workers_planned=sum(by_coach.values()) + by_train,
        trips=len(trips),
        buses_used=len({(t.vehicle_type, t.bus) for t in trips}),
        km=km_r, cost=round(cost, 2),
        lower_bound_km=bound_r,
        lower_bound_km_sharp=sharp_r,
        km_over_bound=round(km_r / bound_r, 4) if bound_r > 0 else None,
        workers_by_mode={"coach": sum(by_coach.values()), "train": by_train},
        trains_run=sum(1 for r in riders.values() if r),
        train_cost=round(train_cost, 2),
        cost_lower_bound=math.floor(cost_lower_bound(data, by_coach, cars) * 100) / 100,
        worker_hours=worker_hours(data, timed, fixed),
        loaded_wait_hours=round(sum(waits), 2),
        night_boardings=night_boardings(data, trips),
    )
    return Plan(scenario=data.name, trips=trips, unassigned=unassigned_rows, summary=summary,
                solver=SolverInfo(seconds=round(seconds, 2), time_limit=time_limit, status=status, seed=seed,
                                  roads=roads, now=now),
                warnings=warnings_of(data, timed), train_loads=rows)


def numbered(timed: Sequence[TimedTrip], fixed: Sequence[Trip]) -> list[tuple[str, TimedTrip]]:
    """The plan's id of every timed trip (``T0001`` … by departure, after the dispatched ones' ids)."""
    used_ids = {t.id for t in fixed}
    out = []
    n = 0
    for t in sorted(timed, key=lambda t: (t.start, t.vehicle, t.bus)):
        n += 1
        tid = f"T{n:04d}"
        while tid in used_ids:
            n += 1
            tid = f"T{n:04d}"
        out.append((tid, t))
    return out


def trip_hours(data: ProblemData, t: TimedTrip) -> tuple[float, float]:
    """A trip's hours on board (first boarding → last drop) and its loaded wait: how much longer
    that takes than for a crew fresh at the first boarding (:func:`planner._timing.loaded_wait`)."""
    picks = [s for s in t.stops if s.kind == "pickup"]
    drops = [s for s in t.stops if s.kind == "drop"]
    if not picks or not drops:
        return 0.0, 0.0
    onboard = (drops[-1].arrive - picks[0].depart) / 60.0  # type: ignore[operator]
    wait = loaded_wait(data, as_allocated(t.vehicle, t.cohort, t.stops), t.stops, t.crew) / 60.0
    return onboard, wait


def worker_hours(data: ProblemData, timed: Sequence[TimedTrip], fixed: Sequence[Trip]) -> dict[str, float] | None:
    """Every planned worker's hours door to door: their pickup's departure to their drop at the
    site; a train rider's from their feeder's pickup to their last mile's drop (an order's
    earliest feeder boardings with its earliest last-mile drops). ``mean``, ``p95``, ``max``."""
    hours: list[tuple[float, int]] = []
    feeder: dict[int, list[tuple[int, int]]] = defaultdict(list)  # parent part → (boarding, count)
    last: dict[int, list[tuple[int, int]]] = defaultdict(list)  # parent part → (drop, count)
    for t in timed:
        boarded: dict[int, int] = {}
        for s in t.stops:
            if s.kind == "pickup":
                for o, _ in s.loads:
                    boarded[o] = s.depart  # type: ignore[assignment]
            if s.kind != "drop":
                continue
            for o, n in s.loads:
                part = data.orders[o]
                if part.leg == "direct":
                    hours.append(((s.arrive - boarded[o]) / 60.0, n))  # type: ignore[operator]
                elif part.leg == "feeder":
                    feeder[part.parent].append((boarded[o], n))  # type: ignore[index]
                else:
                    last[part.parent].append((s.arrive, n))  # type: ignore[index, arg-type]
    for parent in feeder.keys() & last.keys():
        starts = [a for a, n in sorted(feeder[parent]) for _ in range(n)]
        ends = [b for b, n in sorted(last[parent]) for _ in range(n)]
        hours += [((b - a) / 60.0, 1) for a, b in zip(starts, ends)]
    for trip in fixed:  # dispatched trips: as they run
        boarded_at = {ld.order: st.depart for st in trip.stops if st.kind == "pickup" and st.depart for ld in st.board}
        for st in trip.stops:
            for ld in st.alight:
                if st.arrive is not None and ld.order in boarded_at and trip.purpose == "direct":
                    hours.append(((st.arrive - boarded_at[ld.order]).total_seconds() / 3600.0, ld.count))
    total = sum(n for _, n in hours)
    if not total:
        return None
    ordered = sorted(hours)
    rank, seen, p95 = math.ceil(0.95 * total), 0, ordered[-1][0]
    for h, n in ordered:
        seen += n
        if seen >= rank:
            p95 = h
            break
    return {"mean": round(sum(h * n for h, n in hours) / total, 2), "p95": round(p95, 2), "max": round(ordered[-1][0], 2)}


def night_boardings(data: ProblemData, trips: Sequence[Trip]) -> int:
    """Workers boarding at home outside the boarding hours (06:00–22:00 when the policy sets none)."""
    lo, hi = data.board_hours or (6 * 60, 22 * 60)
    length = (hi - lo) % 1440 or 1440
    n = 0
    for trip in trips:
        for s in trip.stops:
            if s.kind != "pickup" or s.place.station is not None or s.arrive is None or s.depart is None:
                continue
            a, d = data.minute(s.arrive), data.minute(s.depart)
            # within a minute of the hours counts as inside them, as the checker counts
            if (a - lo + 1) % 1440 - 1 + (d - a) > length + 1:
                n += sum(ld.count for ld in s.board)
    return n


def _purpose(data: ProblemData, t: TimedTrip) -> Literal["direct", "feeder", "last_mile"]:
    first = next((o for s in t.stops for o, _ in s.loads), None)
    return data.orders[first].leg if first is not None else "direct"


def train_loads(data: ProblemData, cars: Sequence[CarLoad]) -> list[TrainLoad]:
    """The cars' loads as the plan's rows, merged per (train, car, order, stations)."""
    merged: dict[tuple[int, int, int, str, int, int], int] = defaultdict(int)
    for c in cars:
        merged[(c.train, c.car, c.cohort, data.orders[c.order].id, c.board, c.alight)] += c.count
    return [TrainLoad(train=data.trains[t].id, car=car, cohort=("low", "medium")[cohort], order=o, count=n,
                      board_at=data.station_ids[b], alight_at=data.station_ids[a])
            for (t, car, cohort, o, b, a), n in sorted(merged.items())]


def _depots(data: ProblemData) -> list[int]:
    return sorted({v.depot for v in data.vehicles if v.count > 0 and v.capacity > 0})


def _tour(data: ProblemData, depots: list[int], a: int, b: int) -> float:
    km = data.km
    return float(min(km[d, a] + km[a, b] + km[b, d] for d in depots))


def train_bound_km(data: ProblemData, cars: Sequence[CarLoad]) -> float:
    """Each train rider's cheapest feeder tour (depot → home → station → depot) and last-mile tour
    (depot → station → site → depot) over the largest coach: the coach-km no plan can go below."""
    usable = [v for v in data.vehicles if v.count > 0 and v.capacity > 0]
    if not usable or not cars:
        return 0.0
    cap = max(v.capacity for v in usable)
    depots = _depots(data)
    total = 0.0
    for c in cars:
        o = data.orders[c.order]
        total += c.count * (_tour(data, depots, o.place, data.station_place[c.board])
                            + _tour(data, depots, data.station_place[c.alight], data.site_place[o.site]))
    return total / cap


def cost_lower_bound(data: ProblemData, by_coach: dict[int, int], cars: Sequence[CarLoad]) -> float:
    """No plan for the planned workers costs less: each one's cheapest share over the modes.

    A coach share: the least fixed cost per seat plus the least cost per km per seat times the
    worker's own tour (a trip's route covers every rider's depot → home → site → depot tour), plus
    the least second driver's cost per seat when the worker's own ride is longer than
    ``two_driver_km`` (the trip then needs two drivers); a
    train share: the seat, the train's fixed cost per seat, and the coach shares of a feeder to its
    boarding station and a last mile from its alighting station. A worker whom no coach can bring
    (:func:`coach_impossible`) has only the train shares."""
    usable = [v for v in data.vehicles if v.count > 0 and v.capacity > 0]
    if not usable:
        return 0.0
    per_seat = min(v.fixed_cost / v.capacity for v in usable)
    per_km = min(v.cost_per_km / v.capacity for v in usable)
    second = min(v.crew_cost / v.capacity for v in usable)
    depots = _depots(data)

    def coach(a: int, b: int) -> float:
        # a trip whose loaded run covers more than two_driver_km has a second driver: a worker's
        # own leg a → b is part of it (road km are geodesic × factor, a metric)
        extra = second if data.km[a, b] > data.two_driver_km else 0.0
        return per_seat + extra + per_km * _tour(data, depots, a, b)

    def cheapest(part: int) -> float:
        o = data.orders[part]
        site = data.site_place[o.site]
        by_train = math.inf
        for t in data.trains:
            seat = t.cost_per_seat + t.fixed_cost / max(1, t.seats)
            for b in t.board:
                for a in t.alight:
                    by_train = min(by_train, coach(o.place, data.station_place[b]) + seat
                                   + coach(data.station_place[a], site))
        by_coach_share = coach(o.place, site)
        if by_train < math.inf and coach_impossible(data, part):
            return by_train  # only a train can bring them
        return min(by_coach_share, by_train)

    total = sum(n * cheapest(part) for part, n in by_coach.items())
    total += sum(c.count * cheapest(c.order) for c in cars)
    return total


def coach_impossible(data: ProblemData, part: int) -> bool:
    """No coach can bring this order part's workers: even a two-driver coach driving straight
    home → site, at its best hour of the day under the driving rules, exceeds the ride limit or
    arrives after the deadline from the earliest boarding."""
    if not data.time_rules:
        return False
    o = data.orders[part]
    driving = int(data.drive[o.place, data.site_place[o.site]])
    ride = fastest_leg(driving, data.rules) + data.boarding
    return ride > data.max_ride or max(o.earliest, data.now) + ride > o.arrive_by
