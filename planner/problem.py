"""The compiled problem: a scenario resolved to places, a road-km matrix and integer minutes.

Pipeline step "compile": every location is resolved to a point in a county (:mod:`planner.network.places`),
road km come from one distance provider (:mod:`planner.network.roads`), and times become integer minutes
from an Asia/Shanghai midnight. An order with several screening expiries becomes one part per
expiry. The result, :class:`ProblemData`, is immutable and holds plain tuples and NumPy arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Optional, Sequence

import numpy as np

from .contract import SHANGHAI, Scenario, Trip, as_shanghai
from .driving import DAY, DrivingRules
from .errors import InputError, Problem
from .network import Network
from .network.places import PlaceError, Point, resolve_all
from .network.roads import DistanceProvider

RISK = {"low": 0, "medium": 1, "high": 2}
COHORTS = ("low", "medium")
#: "no limit": a number of minutes (or workers) beyond any plan
NO_LIMIT = 10**9


@dataclass(frozen=True)
class VehicleData:
    id: str
    seats: int
    capacity: int  # seats × occupancy cap, rounded down
    count: int
    depot: int  # place index
    depot_id: str
    fixed_cost: float
    cost_per_km: float
    crew_cost: float
    available_from: int
    available_until: int


@dataclass(frozen=True)
class OrderData:
    """One part of an order: its cleared workers whose screening expires at ``valid_until``.

    An order is one part unless it lists ``screening_batches``; then each expiry is a part of
    its own (``part`` 0, 1, …; all share the order's ``id``). Part 0 carries the order's
    ``headcount``, ``failed`` and ``pending`` workers; every part its own ``cleared`` ones.
    """

    index: int
    id: str
    agency: str
    place: int  # origin place index
    site: int  # site index (into ProblemData.sites)
    headcount: int
    cleared: int
    failed: int
    earliest: int
    arrive_by: int
    valid_until: int
    pending: int = 0
    part: int = 0
    #: for a train chain's legs: ``feeder`` (origin → boarding station) or ``last_mile`` (alighting
    #: station → site), the order part they carry (``parent``) and the train
    leg: Literal["direct", "feeder", "last_mile"] = "direct"
    parent: Optional[int] = None
    train: Optional[int] = None


@dataclass(frozen=True)
class TrainData:
    """A train offer in integer minutes: its calls ``(station index, arrive, depart)`` (None at the
    ends), where workers board and alight (station indices), its cars and costs."""

    index: int
    id: str
    name: str
    kind: str
    calls: tuple[tuple[int, Optional[int], Optional[int]], ...]
    board: tuple[int, ...]
    alight: tuple[int, ...]
    cars: int
    seats_per_car: int
    fixed_cost: float
    cost_per_seat: float
    min_riders: int

    @property
    def seats(self) -> int:
        return self.cars * self.seats_per_car

    def departs(self, station: int) -> int:
        t = next(d for s, _, d in self.calls if s == station)
        assert t is not None
        return t

    def arrives(self, station: int) -> int:
        t = next(a for s, a, _ in self.calls if s == station)
        assert t is not None
        return t


@dataclass(frozen=True)
class ProblemData:
    """A scenario compiled to integers and arrays; immutable."""

    name: str
    t0: datetime  # minute 0, an Asia/Shanghai midnight
    places: tuple[Point, ...]
    km: np.ndarray  # (P, P) road km
    #: (P, P) pure driving minutes of each leg from the same road source, rounded up to whole
    #: minutes (a plan never drives faster than its source allows)
    drive: np.ndarray
    site_ids: tuple[str, ...]
    site_place: tuple[int, ...]
    site_hours: tuple[tuple[int, int], ...]  # receiving minutes of day [from, until]
    site_intake: tuple[Optional[int], ...]
    depot_ids: tuple[str, ...]
    depot_place: tuple[int, ...]
    vehicles: tuple[VehicleData, ...]
    orders: tuple[OrderData, ...]
    risk_periods: dict[int, tuple[tuple[int, int, int], ...]]  # place → (from, until, level)
    rules: DrivingRules
    turnaround: int  # minutes a coach stays at its depot between two trips
    now: int  # nothing leaves before this minute
    pools: tuple[tuple[str, ...], ...]  # per vehicle type: the drivers who may drive it (empty: its own crew)
    depot_warning_km: float
    max_stops: int
    max_ride: int
    boarding: int
    alighting: int
    two_driver_km: float
    min_riders: int
    time_rules: bool
    station_ids: tuple[str, ...] = ()
    station_place: tuple[int, ...] = ()
    trains: tuple[TrainData, ...] = ()
    station_minutes: int = 60
    exempt_km: float = 100.0
    #: per site: the station it stands for (feeders drop there), or None for a real site
    site_station: tuple[Optional[int], ...] = ()
    #: clock minutes [from, until] within which workers board at home (None: any hour)
    board_hours: Optional[tuple[int, int]] = None
    #: yuan per worker-hour on board, weighed against coach cost when timing a trip
    worker_hour_cost: float = 0.0
    #: (what, note) for places given by a former county code or name ("orders O1" →
    #: "淮阳县 (411626) is now 淮阳区 (411603)"): the plan warns of them
    place_notes: tuple[tuple[str, str], ...] = ()
    #: the detour limit (``policy.max_detour_hours`` in whole minutes, ``max_detour_share``): a
    #: worker rides at most the longer of their fastest direct ride + the minutes and × (1 + the
    #: share); None leaves the term out (both None: no limit)
    detour_minutes: Optional[int] = None
    detour_share: Optional[float] = None

    def minute(self, when: datetime) -> int:
        return int((when - self.t0).total_seconds() // 60)

    def when(self, minute: int) -> datetime:
        return (self.t0 + timedelta(minutes=minute)).astimezone(SHANGHAI)

    def open_at(self, site: int, t: int, dwell: int) -> int:
        """The earliest t' ≥ t at which a drop of ``dwell`` minutes fits inside receiving hours.

        The hours may wrap midnight (22:00–06:00): the drop then fits from 22:00 until 06:00 the
        next morning. A station (a feeder's drop) receives at any time."""
        a, b = self.site_hours[site]
        if not self.time_rules or (self.site_station and self.site_station[site] is not None):
            return t
        for _ in range(3):
            m = t % DAY
            day = t - m
            if a <= b:
                if a <= m and m + dwell <= b:
                    return t
                t = day + a if m < a else day + DAY + a
            else:  # overnight: open [a, 24:00) and [00:00, b]
                if m >= a and m + dwell <= DAY + b:
                    return t
                if m + dwell <= b:
                    return t
                t = day + a
        return t

    def board_open(self, t: int) -> int:
        """The earliest t' ≥ t at which a boarding stop (``boarding`` minutes) at home fits inside
        the boarding hours (a window may wrap midnight)."""
        if self.board_hours is None or not self.time_rules:
            return t
        a, b = self.board_hours
        length = (b - a) % DAY or DAY
        if length < self.boarding:
            return t  # a window shorter than a boarding stop: refused when read; never loop
        m = (t - a) % DAY  # minutes since the window last opened
        if m + self.boarding <= length:
            return t
        return t - m + DAY  # the next opening

    def risk_at(self, place: int, t: int) -> int:
        level = 0
        for a, b, r in self.risk_periods.get(place, ()):
            if a <= t < b and r > level:
                level = r
        return level


def _clock(t) -> int:
    return t.hour * 60 + t.minute + (1 if t.second else 0)


def compile_scenario(scenario: Scenario, distances: Optional[DistanceProvider] = None,
                     now: Optional[datetime] = None) -> ProblemData:
    """Resolve places and build :class:`ProblemData`; raise :class:`InputError` on unresolved places.

    ``now``: no coach leaves its depot before it (default: no such limit)."""
    pol = scenario.policy
    problems: list[Problem] = []
    locs = ([d.location for d in scenario.depots] + [s.location for s in scenario.sites]
            + [s.location for s in scenario.stations] + [o.origin for o in scenario.orders])
    points = resolve_all(locs, pol.county_snap_km)
    wheres = ([(f"depots[{i}] ({d.id})", "location") for i, d in enumerate(scenario.depots)]
              + [(f"sites[{i}] ({s.id})", "location") for i, s in enumerate(scenario.sites)]
              + [(f"stations[{i}] ({s.id})", "location") for i, s in enumerate(scenario.stations)]
              + [(f"orders[{i}] ({o.id})", "origin." + ("county" if o.origin.county else
                                                         "address" if o.origin.address else "lat"))
                 for i, o in enumerate(scenario.orders)])
    for p, (where, fld) in zip(points, wheres):
        if isinstance(p, PlaceError):
            problems.append(Problem(where, fld, str(p)))
    if problems:
        raise InputError(problems)

    # unique places: depots, sites, then origins deduplicated by county code / coordinates
    places: list[Point] = []
    index: dict[str, int] = {}

    def add(p: Point) -> int:
        key = p.key  # a county (given as a code or an address), or the coordinates given
        if key not in index:
            index[key] = len(places)
            places.append(p)
        return index[key]

    nd, ns, nst = len(scenario.depots), len(scenario.sites), len(scenario.stations)
    depot_place = tuple(len(places) + i for i in range(nd))
    resolved = [p for p in points if isinstance(p, Point)]  # every one: the errors were raised above
    # sites and depots by their own names (drivers and workers read them), else the location's
    places.extend(replace(p, ref=d.id, name=d.name or d.location.name or p.name)
                  for p, d in zip(resolved[:nd], scenario.depots))
    site_place = tuple(len(places) + i for i in range(ns))
    places.extend(replace(p, ref=x.id, name=x.name or x.location.name or p.name)
                  for p, x in zip(resolved[nd:nd + ns], scenario.sites))
    station_place = tuple(len(places) + i for i in range(nst))
    places.extend(replace(p, ref=x.id, name=x.name or x.id)
                  for p, x in zip(resolved[nd + ns:nd + ns + nst], scenario.stations))
    origin_place = [add(p) for p in resolved[nd + ns + nst:]]
    noted: dict[str, list[str]] = {}
    for (where, _), p in zip(wheres, resolved):
        if p.note:
            noted.setdefault(p.note, []).append(where)
    place_notes = tuple((", ".join(ws[:10]) + (f" and {len(ws) - 10} more" if len(ws) > 10 else ""), note)
                        for note, ws in noted.items())

    roads = Network.build(places, distances, pol.speed_kmh, pol.road_factor)
    km, drive = roads.km, roads.drive_minutes()

    times = [o.earliest_departure for o in scenario.orders] + [v.available_from for v in scenario.fleet]
    first = min(times) if times else datetime.now(SHANGHAI)
    first = first.astimezone(SHANGHAI)
    t0 = first.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)

    def m(x: Optional[datetime], default: int = NO_LIMIT) -> int:
        return default if x is None else int((x - t0).total_seconds() // 60)

    def m_up(x: datetime) -> int:  # round a deadline down, a start up: never break a rule by rounding
        s = (x - t0).total_seconds()
        return int(-(-s // 60))

    depot_of = {d.id: depot_place[i] for i, d in enumerate(scenario.depots)}
    now_m = -NO_LIMIT if now is None else m_up(as_shanghai(now))
    vehicles = tuple(
        VehicleData(v.id, v.seats, max(0, int(v.seats * pol.occupancy_cap + 1e-9)), v.count,
                    depot_of[v.depot], v.depot, v.fixed_cost, v.cost_per_km, v.crew_cost,
                    max(now_m, m_up(v.available_from)), m(v.available_until))
        for v in scenario.fleet)
    site_index = {s.id: i for i, s in enumerate(scenario.sites)}
    parts: list[OrderData] = []
    for i, o in enumerate(scenario.orders):
        for k, (n, until) in enumerate(o.expiries() or [(0, o.screening_valid_until)]):
            parts.append(OrderData(
                len(parts), o.id, o.agency, origin_place[i], site_index[o.site],
                o.headcount if k == 0 else 0, n, o.failed if k == 0 else 0,
                m_up(o.earliest_departure), m(o.arrive_by), m(until),
                pending=(o.headcount - o.cleared - o.failed) if k == 0 else 0, part=k))
    orders = tuple(parts)
    # every origin place of a county with risk periods gets them (coordinates too: they lie in a county)
    places_of: dict[str, list[int]] = {}
    for pl in sorted(set(origin_place)):
        if places[pl].county:
            places_of.setdefault(places[pl].county[:6], []).append(pl)  # type: ignore[index]
    risk: dict[int, list[tuple[int, int, int]]] = {}
    for r in scenario.regions:
        a = -NO_LIMIT if r.from_ is None else m(r.from_)
        b = NO_LIMIT if r.until is None else m_up(r.until)
        for pl in places_of.get(r.county[:6], ()):  # a region without orders changes nothing
            risk.setdefault(pl, []).append((a, b, RISK[r.risk]))
    pools = tuple(tuple(scenario.driver_pool(v.id)) for v in scenario.fleet)
    station_index = {s.id: i for i, s in enumerate(scenario.stations)}
    trains = tuple(
        TrainData(i, t.id, t.name, t.kind,
                  # arrivals rounded up and departures down: a connection never gets tighter by rounding
                  tuple((station_index[c.station], None if c.arrive is None else m_up(c.arrive),
                         None if c.depart is None else m(c.depart)) for c in t.calls),
                  tuple(station_index[s] for s in t.boarding()), tuple(station_index[s] for s in t.alighting()),
                  t.cars, t.seats_per_car, t.fixed_cost, t.cost_per_seat, t.min_riders)
        for i, t in enumerate(scenario.trains))
    return ProblemData(
        name=scenario.name, t0=t0, places=tuple(places), km=km, drive=drive,
        site_ids=tuple(s.id for s in scenario.sites), site_place=site_place,
        site_hours=tuple((_clock(s.receive_from), _clock(s.receive_until) - (1 if s.receive_until.second else 0))
                         for s in scenario.sites),
        site_intake=tuple(s.intake_per_day for s in scenario.sites),
        depot_ids=tuple(d.id for d in scenario.depots), depot_place=depot_place,
        vehicles=vehicles, orders=orders,
        risk_periods={k: tuple(sorted(v)) for k, v in risk.items()},
        rules=DrivingRules.from_policy(pol), turnaround=int(math.ceil(pol.turnaround_minutes - 1e-9)),
        now=now_m, pools=pools, depot_warning_km=pol.depot_warning_km, max_stops=pol.max_pickup_stops,
        max_ride=int(pol.max_ride_hours * 60), boarding=int(-(-pol.boarding_minutes // 1)),
        alighting=int(-(-pol.alight_minutes // 1)), two_driver_km=pol.two_driver_km,
        min_riders=pol.min_riders_per_trip, time_rules=pol.time_rules,
        station_ids=tuple(s.id for s in scenario.stations), station_place=station_place, trains=trains,
        station_minutes=int(math.ceil(pol.station_minutes - 1e-9)), exempt_km=pol.feeder_night_exempt_km,
        site_station=tuple(None for _ in scenario.sites),
        board_hours=None if pol.boarding_hours is None else (_clock(pol.boarding_hours[0]), _clock(pol.boarding_hours[1])),
        worker_hour_cost=pol.worker_hour_cost, place_notes=place_notes,
        detour_minutes=None if pol.max_detour_hours is None else int(pol.max_detour_hours * 60 + 1e-9),
        detour_share=pol.max_detour_share)


def check_fixed(scenario: Scenario, fixed: Sequence[Trip]) -> None:
    """Dispatched trips must name a coach of the fleet: refuse them clearly otherwise."""
    types = {v.id: v for v in scenario.fleet}
    problems = []
    for i, trip in enumerate(fixed):
        where = f"fixed[{i}] ({trip.id})"
        vt = types.get(trip.vehicle_type)
        if vt is None:
            problems.append(Problem(where, "vehicle_type", (
                f"the dispatched trip runs on coach type {trip.vehicle_type!r}, which the fleet no longer "
                f"has: put the type back (its coach is on the road) or un-dispatch the trip")))
        elif trip.bus >= vt.count:
            problems.append(Problem(where, "bus", (
                f"the dispatched trip runs on coach {trip.bus} of {vt.id}, which now has {vt.count} "
                f"coach(es): raise its count or un-dispatch the trip")))
    if problems:
        raise InputError(problems)

