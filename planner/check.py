"""Check any plan against the rules of docs/RULES.md and report every violation found.

This is the validate step of the pipeline, written independently of the optimizer: it imports
only the contract models and place resolution, never ``planner.travel``, ``planner.optimize`` or
the optimizer's private modules, so a shared bug cannot hide itself. It recomputes road km from
the coordinates of the plan's stops (geodesic km × ``road_factor``) after checking that each stop
is where it claims to be.

Every time comparison allows one minute of tolerance (plans are written to the minute); km allow
0.5 % + 0.5 km and costs 0.5 % + 1, as RULES.md says.

Rule codes (``Violation.rule``), grouped as in RULES.md:

- places: ``wrong_origin``, ``wrong_site``, ``depot``, ``unknown_order``
- workers: ``worker_count``, ``cleared``, ``unassigned_reason``, ``alight_mismatch``,
  ``screening_expired``
- region risk: ``region_closed``, ``cohort_mixed``, ``cohort``
- coaches and trips: ``vehicle_type``, ``bus_index``, ``duplicate_trip``, ``stop_order``,
  ``empty_stop``, ``pickup_stops``, ``seats``, ``min_riders``, ``availability``, ``coach_overlap``,
  ``boarding_time``, ``alight_time``, ``crew``, ``km``, ``cost``
- time windows: ``earliest_departure``, ``late_arrival``, ``receiving_hours``, ``site_intake``,
  ``ride_time``
- driving: ``leg_time``, ``night_rest``, ``continuous_driving``, ``night_driving``,
  ``daily_driving``
- crews across trips: ``turnaround``, ``drivers``, ``driver_overlap`` (and ``daily_driving``,
  ``continuous_driving``, ``night_driving`` for a driver across trips); ``before_now``
- summary: ``summary``, ``lower_bound``
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Iterable, Optional

from geopy.distance import geodesic

from . import places
from .contract import (
    REASONS,
    SHANGHAI,
    Location,
    Order,
    Place,
    Plan,
    Policy,
    Scenario,
    Stop,
    Trip,
    VehicleType,
    as_shanghai,
)

__all__ = ["Violation", "check", "RULE_CODES", "RoadsError"]

#: Every rule code :func:`check` may report.
RULE_CODES = (
    "wrong_origin", "wrong_site", "depot", "unknown_order",
    "worker_count", "cleared", "unassigned_reason", "alight_mismatch", "screening_expired",
    "region_closed", "cohort_mixed", "cohort",
    "vehicle_type", "bus_index", "duplicate_trip", "stop_order", "empty_stop", "pickup_stops",
    "seats", "min_riders", "availability", "coach_overlap", "boarding_time", "alight_time",
    "crew", "km", "cost",
    "earliest_departure", "late_arrival", "receiving_hours", "site_intake", "ride_time",
    "leg_time", "night_rest", "continuous_driving", "night_driving", "daily_driving",
    "turnaround", "drivers", "driver_overlap", "before_now",
    "summary", "lower_bound",
)

TOL = timedelta(minutes=1)
_TOL_S = TOL.total_seconds()
#: How far (geodesic km) a stop's coordinates may be from the place it names.
PLACE_TOL_KM = 1.0
_RISK_RANK = {"low": 0, "medium": 1, "high": 2}
_EPOCH = datetime(2000, 1, 1, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    rule : str
        A short stable code, e.g. ``seats`` or ``late_arrival`` (see :data:`RULE_CODES`).
    trip : str or None
        The trip concerned, or None for plan-wide rules (worker accounting, intake, summary).
    message : str
        What is wrong, naming the trip, stop, order and the values compared.
    """

    rule: str
    trip: Optional[str]
    message: str

    def __str__(self) -> str:
        where = f"trip {self.trip}: " if self.trip is not None else ""
        return f"[{self.rule}] {where}{self.message}"


# ------------------------------------------------------------------ small helpers


def _fmt(t: Optional[datetime]) -> str:
    return "?" if t is None else t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _span(a: Optional[datetime], b: Optional[datetime]) -> str:
    """``a``–``b``, leaving out ``b``'s date when it is ``a``'s."""
    if a is not None and b is not None and a.astimezone(SHANGHAI).date() == b.astimezone(SHANGHAI).date():
        return f"{_fmt(a)}–{b.astimezone(SHANGHAI):%H:%M}"
    return f"{_fmt(a)}–{_fmt(b)}"


def _minutes(d: timedelta | float) -> str:
    s = d.total_seconds() if isinstance(d, timedelta) else float(d)
    return f"{s / 60:.0f} min"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


@lru_cache(maxsize=200_000)
def _geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # cached: many legs repeat between the same county and the same site
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    return geodesic((lat1, lon1), (lat2, lon2)).km


def _clock_s(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


def _local_s(t: datetime) -> float:
    """Seconds after Shanghai midnight of ``t``'s own day."""
    lt = t.astimezone(SHANGHAI)
    return lt.hour * 3600 + lt.minute * 60 + lt.second + lt.microsecond / 1e6


def _in_window_cumulative(t: datetime, a: float, b: float) -> float:
    """Seconds spent inside the daily clock window [a, b) from ``_EPOCH`` up to ``t``.

    A window with a > b wraps midnight (e.g. 22:00–06:00). Differences of this function give the
    overlap of any interval with the window on every day, in O(1).
    """
    if a == b:
        return 0.0
    per_day = (b - a) if a < b else (b + 86400 - a)
    secs = (t - _EPOCH).total_seconds()
    days = math.floor(secs / 86400)
    c = secs - days * 86400
    if a < b:
        part = min(max(c - a, 0.0), b - a)
    else:
        part = min(c, b) + max(c - a, 0.0)
    return days * per_day + part


def _window_overlap_s(s: datetime, e: datetime, window: tuple[time, time]) -> float:
    """Seconds of the interval [s, e] that fall inside a daily clock window."""
    if e <= s:
        return 0.0
    a, b = _clock_s(window[0]), _clock_s(window[1])
    return _in_window_cumulative(e, a, b) - _in_window_cumulative(s, a, b)


def _clock_within(t: datetime, start: time, until: time) -> bool:
    """Whether ``t``'s Shanghai clock is within [start, until], one minute of tolerance."""
    c = _local_s(t)
    a, b = _clock_s(start), _clock_s(until)
    if a <= b:
        # near midnight the tolerance wraps too (23:59:30 is within 00:00 - 1 min)
        return (a - _TOL_S <= c <= b + _TOL_S) or (c - 86400 >= a - _TOL_S) or (c + 86400 <= b + _TOL_S)
    return c >= a - _TOL_S or c <= b + _TOL_S


def _place_label(p: Place) -> str:
    return p.name or p.id or p.county or f"{p.lat:.4f},{p.lon:.4f}"


def _stop_label(i: int, s: Stop) -> str:
    return f"stop {i} ({s.kind} {_place_label(s.place)})"


# ------------------------------------------------------------------ the checker


@dataclass
class _Times:
    """A stop's arrive / depart after filling the one a depot stop may leave out."""

    arrive: Optional[datetime]
    depart: Optional[datetime]


class _Checker:
    def __init__(self, scenario: Scenario, plan: Plan, roads: "_Roads"):
        self.sc = scenario
        self.plan = plan
        self.p: Policy = scenario.policy
        self.out: list[Violation] = []
        self.orders: dict[str, Order] = {o.id: o for o in scenario.orders}
        self.fleet: dict[str, VehicleType] = {v.id: v for v in scenario.fleet}
        self.sites = {s.id: s for s in scenario.sites}
        self.depots = {d.id: d for d in scenario.depots}
        self.regions: dict[str, list] = defaultdict(list)
        for r in scenario.regions:
            self.regions[r.county[:6]].append(r)
        self._resolve_places()
        # plan-wide tallies filled while walking the trips
        self.boarded: dict[str, int] = defaultdict(int)
        self.intake: dict[tuple[str, date], int] = defaultdict(int)
        self.intake_trips: dict[tuple[str, date], list[str]] = defaultdict(list)
        self.coach_use: dict[tuple[str, int], list[tuple[datetime, datetime, str]]] = defaultdict(list)
        self.trip_driving: dict[str, list[tuple[datetime, datetime]]] = {}
        self.boardings: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
        self.roads = roads

    def add(self, rule: str, trip: Optional[str], message: str) -> None:
        self.out.append(Violation(rule, trip, message))

    # ----------------------------------------------------------- places

    def _resolve_places(self) -> None:
        """Resolve origins of the orders the plan boards, and every site and depot, in one batch."""
        used = []
        seen: set[str] = set()
        for t in self.plan.trips:
            for s in t.stops:
                for ld in s.board:
                    if ld.order in self.orders and ld.order not in seen:
                        seen.add(ld.order)
                        used.append(ld.order)
        locs: list[Location] = [self.orders[o].origin for o in used]
        locs += [s.location for s in self.sc.sites] + [d.location for d in self.sc.depots]
        pts = places.resolve_all(locs, self.p.county_snap_km) if locs else []
        n = len(used)
        self.origin_pt = dict(zip(used, pts[:n]))
        self.site_pt = dict(zip([s.id for s in self.sc.sites], pts[n:n + len(self.sc.sites)]))
        self.depot_pt = dict(zip([d.id for d in self.sc.depots], pts[n + len(self.sc.sites):]))
        # the home county (risk, cohort) of each boarded order; coordinates lie in a county too
        self.origin_county: dict[str, Optional[str]] = {
            o: None if isinstance(pt, places.PlaceError) else pt.county for o, pt in self.origin_pt.items()}

    def _far(self, place: Place, pt: places.Point) -> float:
        return _geo_km(place.lat, place.lon, pt.lat, pt.lon)

    def _check_depot_place(self, trip: Trip, i: int, s: Stop, vt: Optional[VehicleType]) -> None:
        depot = vt.depot if vt else trip.depot
        if s.place.id != depot:
            self.add("depot", trip.id, f"{_stop_label(i, s)} is at {s.place.id!r}, "
                     f"not the depot {depot!r} of {trip.vehicle_type}")
            return
        pt = self.depot_pt.get(depot)
        if isinstance(pt, places.Point) and self._far(s.place, pt) > PLACE_TOL_KM:
            self.add("depot", trip.id, f"{_stop_label(i, s)}: coordinates are "
                     f"{self._far(s.place, pt):.1f} km from depot {depot!r}")

    def _check_pickup_place(self, trip: Trip, i: int, s: Stop, order: str) -> None:
        pt = self.origin_pt.get(order)
        o = self.orders[order]
        if isinstance(pt, places.PlaceError):
            self.add("wrong_origin", trip.id, f"{_stop_label(i, s)}: origin of order {order} "
                     f"cannot be resolved ({pt}), so the pickup cannot be verified")
            return
        if pt is None:
            return
        if pt.kind == "coords" and s.place.county is not None and s.place.county[:6] != pt.county:
            self.add("wrong_origin", trip.id, f"{_stop_label(i, s)}: says county {s.place.county!r}, but the "
                     f"coordinates of order {order} lie in county {pt.county}")
        if pt.kind != "coords" and (s.place.county or "")[:6] != pt.county:
            self.add("wrong_origin", trip.id, f"{_stop_label(i, s)}: county {s.place.county!r} is not "
                     f"the origin county {pt.county} of order {order}")
        elif self._far(s.place, pt) > PLACE_TOL_KM:
            self.add("wrong_origin", trip.id, f"{_stop_label(i, s)}: coordinates are "
                     f"{self._far(s.place, pt):.1f} km from the origin of order {order} "
                     f"({o.origin.county or o.origin.address or 'coordinates'})")

    def _check_drop_place(self, trip: Trip, i: int, s: Stop) -> None:
        site = self.sites.get(s.place.id or "")
        if site is None:
            self.add("wrong_site", trip.id, f"{_stop_label(i, s)}: {s.place.id!r} is not a site")
            return
        pt = self.site_pt.get(site.id)
        if isinstance(pt, places.Point) and self._far(s.place, pt) > PLACE_TOL_KM:
            self.add("wrong_site", trip.id, f"{_stop_label(i, s)}: coordinates are "
                     f"{self._far(s.place, pt):.1f} km from site {site.id}")

    # ----------------------------------------------------------- region risk

    def risk_at(self, county: Optional[str], t: datetime) -> str:
        """Highest risk among the county's rows holding at ``t`` (``low`` without rows)."""
        best = "low"
        for r in self.regions.get((county or "")[:6], ()):
            if (r.from_ is None or r.from_ <= t) and (r.until is None or t < r.until):
                if _RISK_RANK[r.risk] > _RISK_RANK[best]:
                    best = r.risk
        return best

    def high_overlap(self, county: Optional[str], a: datetime, b: datetime):
        """The first ``high`` row whose period overlaps the stop [a, b], or None."""
        for r in self.regions.get((county or "")[:6], ()):
            if r.risk != "high":
                continue
            starts_before_end = r.from_ is None or r.from_ < b or r.from_ <= a
            ends_after_start = r.until is None or a < r.until
            if starts_before_end and ends_after_start:
                return r
        return None

    # ----------------------------------------------------------- one trip

    def check_trip(self, trip: Trip) -> None:
        p = self.p
        tid = trip.id
        vt = self.fleet.get(trip.vehicle_type)
        if vt is None:
            self.add("vehicle_type", tid, f"unknown vehicle type {trip.vehicle_type!r}")
        else:
            if trip.bus >= vt.count:
                self.add("bus_index", tid, f"bus {trip.bus} of {vt.id}, which has {vt.count} "
                         f"coach(es) numbered 0..{vt.count - 1}")
            if trip.depot != vt.depot:
                self.add("depot", tid, f"trip depot {trip.depot!r} is not {vt.id}'s depot {vt.depot!r}")

        stops = trip.stops
        times = self._stop_structure(trip)

        # places, loads, seats
        on_board: dict[str, int] = defaultdict(int)
        load = 0
        riders = 0
        cap = math.floor(vt.seats * p.occupancy_cap + 1e-9) if vt else None
        cohorts: dict[str, list[str]] = defaultdict(list)
        first_board: dict[str, datetime] = {}
        last_alight: dict[str, datetime] = {}
        pickups = 0
        for i, s in enumerate(stops):
            tm = times[i]
            if s.kind in ("depart", "return"):
                self._check_depot_place(trip, i, s, vt)
            if s.kind == "drop":
                self._check_drop_place(trip, i, s)
            if s.board and s.kind != "pickup":
                self.add("stop_order", tid, f"{_stop_label(i, s)} boards workers; only pickups may")
            if s.alight and s.kind != "drop":
                self.add("stop_order", tid, f"{_stop_label(i, s)} lets workers alight; only drops may")
            if s.kind == "pickup":
                pickups += 1
                if not s.board:
                    self.add("empty_stop", tid, f"{_stop_label(i, s)} boards nobody")
                self._pickup_rules(trip, i, s, tm, cohorts, first_board)
            if s.kind == "drop" and not s.alight:
                self.add("empty_stop", tid, f"{_stop_label(i, s)} lets nobody alight")
            for ld in s.board:
                on_board[ld.order] += ld.count
                load += ld.count
                riders += ld.count
                self.boarded[ld.order] += ld.count
            for ld in s.alight:
                if on_board[ld.order] < ld.count:
                    self.add("alight_mismatch", tid, f"{_stop_label(i, s)}: {ld.count} of order "
                             f"{ld.order} alight but only {on_board[ld.order]} are on board")
                # only those on board can leave: the rest are reported once, as never boarded
                gone = min(ld.count, on_board[ld.order])
                on_board[ld.order] -= gone
                load -= gone
                self._drop_rules(trip, i, s, tm, ld.order, ld.count, last_alight)
            if cap is not None and load > cap:
                self.add("seats", tid, f"{_stop_label(i, s)}: {load} on board, more than "
                         f"floor({vt.seats} seats × {p.occupancy_cap:g}) = {cap}")
        for order, n in on_board.items():
            if n > 0:
                self.add("alight_mismatch", tid, f"{n} worker(s) of order {order} board but never alight")

        if pickups > p.max_pickup_stops:
            self.add("pickup_stops", tid, f"{pickups} pickup stops, more than {p.max_pickup_stops}")
        if riders < p.min_riders_per_trip and not trip.dispatched:  # a dispatched trip runs as it is (no-shows)
            self.add("min_riders", tid, f"{riders} rider(s), fewer than {p.min_riders_per_trip}")

        # one cohort per trip, matching the trip's own field
        if cohorts:
            if len(cohorts) > 1:
                detail = "; ".join(f"{c}: {', '.join(sorted(set(os)))}" for c, os in sorted(cohorts.items()))
                self.add("cohort_mixed", tid, f"carries workers of cohorts {detail}")
            elif trip.cohort not in cohorts:
                self.add("cohort", tid, f"trip says cohort {trip.cohort!r} but its workers are "
                         f"{next(iter(cohorts))!r}")
        if trip.cohort == "high":
            self.add("cohort", tid, "cohort 'high' is not a cohort: high-risk counties are closed")

        if p.time_rules:
            for order, t0 in first_board.items():
                t1 = last_alight.get(order)
                if t1 is not None and t1 - t0 > timedelta(hours=p.max_ride_hours) + TOL:
                    self.add("ride_time", tid, f"order {order} rides from {_fmt(t0)} to {_fmt(t1)} "
                             f"({_hours((t1 - t0).total_seconds())}), more than {p.max_ride_hours:g} h")

        legs_km = self._distances(trip)
        self._crew_km_cost(trip, vt, legs_km)
        self._coach_time(trip, vt, times)
        if p.time_rules:
            self._receiving_hours(trip, times)
        self._driving(trip, times, legs_km)

    def _stop_structure(self, trip: Trip) -> list[_Times]:
        """Check stop kinds, order, dwell and monotone times; return each stop's times."""
        tid, stops, p = trip.id, trip.stops, self.p
        kinds = [s.kind for s in stops]
        rank = {"depart": 0, "pickup": 1, "drop": 2, "return": 3}
        ok = (len(stops) >= 4 and kinds[0] == "depart" and kinds[-1] == "return"
              and kinds.count("depart") == 1 and kinds.count("return") == 1
              and "pickup" in kinds and "drop" in kinds
              and all(rank[a] <= rank[b] for a, b in zip(kinds, kinds[1:])))
        if not ok:
            self.add("stop_order", tid, f"stops are {' → '.join(kinds)}; expected depart, "
                     f"1+ pickups, 1+ drops, return")
        times: list[_Times] = []
        for i, s in enumerate(stops):
            a = as_shanghai(s.arrive) if s.arrive else None
            d = as_shanghai(s.depart) if s.depart else None
            need_a = s.kind != "depart"
            need_d = s.kind != "return"
            if (need_a and a is None) or (need_d and d is None):
                self.add("stop_order", tid, f"{_stop_label(i, s)} lacks its "
                         f"{'arrive' if need_a and a is None else 'depart'} time")
            times.append(_Times(a or d, d or a))
        prev: Optional[datetime] = None
        for i, (s, tm) in enumerate(zip(stops, times)):
            if tm.arrive and tm.depart and tm.depart < tm.arrive - TOL:
                self.add("stop_order", tid, f"{_stop_label(i, s)} departs {_fmt(tm.depart)} before "
                         f"it arrives {_fmt(tm.arrive)}")
            if prev and tm.arrive and tm.arrive < prev - TOL:
                self.add("stop_order", tid, f"{_stop_label(i, s)} arrives {_fmt(tm.arrive)}, before "
                         f"the previous stop departs {_fmt(prev)}")
            if tm.arrive and tm.depart:
                dwell = tm.depart - tm.arrive
                if s.kind == "pickup" and dwell < timedelta(minutes=p.boarding_minutes) - TOL:
                    self.add("boarding_time", tid, f"{_stop_label(i, s)} lasts {_minutes(dwell)}, "
                             f"less than {p.boarding_minutes:g} min of boarding")
                if s.kind == "drop" and dwell < timedelta(minutes=p.alight_minutes) - TOL:
                    self.add("alight_time", tid, f"{_stop_label(i, s)} lasts {_minutes(dwell)}, "
                             f"less than {p.alight_minutes:g} min to alight")
            prev = tm.depart or prev
        return times

    def _pickup_rules(self, trip: Trip, i: int, s: Stop, tm: _Times,
                      cohorts: dict[str, list[str]], first_board: dict[str, datetime]) -> None:
        tid, label = trip.id, _stop_label(i, s)
        for ld in s.board:
            o = self.orders.get(ld.order)
            if o is None:
                self.add("unknown_order", tid, f"{label} boards {ld.count} of unknown order {ld.order!r}")
                continue
            self._check_pickup_place(trip, i, s, o.id)
            dep = tm.depart
            if dep is None:
                continue
            first_board[o.id] = min(first_board.get(o.id, dep), dep)
            county = self.origin_county.get(o.id)
            r = self.high_overlap(county, tm.arrive or dep, dep)
            risk = self.risk_at(county, dep)
            if r is not None or risk == "high":
                when = f"from {_fmt(r.from_)} until {_fmt(r.until)}" if r is not None else f"at {_fmt(dep)}"
                self.add("region_closed", tid, f"{label}: order {o.id} is picked up in county {county}, "
                         f"high risk {when}")
            else:
                cohorts[risk].append(o.id)
            self.boardings[o.id].append((dep, ld.count, tid))
            if not o.screening_batches and o.screening_valid_until is not None and dep > o.screening_valid_until + TOL:
                self.add("screening_expired", tid, f"{label}: order {o.id} boards at {_fmt(dep)}, after "
                         f"its screening expires {_fmt(o.screening_valid_until)}")
            if self.p.time_rules and dep < o.earliest_departure - TOL:
                self.add("earliest_departure", tid, f"{label}: order {o.id} boards at {_fmt(dep)}, "
                         f"before its earliest departure {_fmt(o.earliest_departure)}")

    def _drop_rules(self, trip: Trip, i: int, s: Stop, tm: _Times, order: str, count: int,
                    last_alight: dict[str, datetime]) -> None:
        tid, label = trip.id, _stop_label(i, s)
        o = self.orders.get(order)
        if o is None:
            self.add("unknown_order", tid, f"{label}: {count} of unknown order {order!r} alight")
            return
        if s.place.id != o.site:
            self.add("wrong_site", tid, f"{label}: {count} of order {o.id} alight at "
                     f"{s.place.id!r}, but the order goes to site {o.site!r}")
        arr = tm.arrive
        if arr is None:
            return
        last_alight[o.id] = max(last_alight.get(o.id, arr), arr)
        site = self.sites.get(s.place.id or "")
        if site is not None and s.kind == "drop":
            day = arr.astimezone(SHANGHAI).date()
            self.intake[(site.id, day)] += count
            trips = self.intake_trips[(site.id, day)]
            if not trips or trips[-1] != tid:
                trips.append(tid)
        if self.p.time_rules and arr > o.arrive_by + TOL:
            self.add("late_arrival", tid, f"{label}: order {o.id} arrives {_fmt(arr)}, after its "
                     f"deadline {_fmt(o.arrive_by)}")

    # ----------------------------------------------------------- km, crew, cost

    def _distances(self, trip: Trip) -> list[float]:
        """Road km of each leg (index i: the leg ending at stop i; index 0 is 0)."""
        return [0.0] + [self.roads.km(a.place, b.place) for a, b in zip(trip.stops, trip.stops[1:])]

    def _crew_km_cost(self, trip: Trip, vt: Optional[VehicleType], legs: list[float]) -> None:
        tid, p = trip.id, self.p
        km = sum(legs)
        if abs(trip.km - km) > 0.005 * km + 0.5:
            self.add("km", tid, f"km {trip.km:g} but its legs add up to {km:.1f} km "
                     f"({self.roads.describe(p.road_factor)})")
        kinds = [s.kind for s in trip.stops]
        picks = [i for i, k in enumerate(kinds) if k == "pickup"]
        drops = [i for i, k in enumerate(kinds) if k == "drop"]
        if picks and drops:
            outbound = sum(legs[1:picks[-1] + 1])
            loaded = sum(legs[picks[0] + 1:drops[-1] + 1])
            longest = max(outbound, loaded)
            # half a km of slack: the optimizer may use another (equally exact) geodesic formula
            if longest > p.two_driver_km + 0.5 and trip.crew < 2:
                which = "outbound run (depot → last pickup)" if outbound >= loaded else \
                        "loaded run (first pickup → last drop)"
                self.add("crew", tid, f"crew {trip.crew} on a {longest:.1f} km {which}; runs over "
                         f"{p.two_driver_km:g} km need 2 drivers")
        if vt is not None:
            cost = vt.fixed_cost + vt.cost_per_km * trip.km + vt.crew_cost * (trip.crew - 1)
            if abs(trip.cost - cost) > 0.005 * abs(cost) + 1:
                self.add("cost", tid, f"cost {trip.cost:g} but fixed {vt.fixed_cost:g} + "
                         f"{vt.cost_per_km:g}/km × {trip.km:g} km + crew {vt.crew_cost:g} × "
                         f"{trip.crew - 1} = {cost:.2f}")

    # ----------------------------------------------------------- coach time

    def _coach_time(self, trip: Trip, vt: Optional[VehicleType], times: list[_Times]) -> None:
        if not times:
            return
        start, end = times[0].depart, times[-1].arrive
        if start is None or end is None:
            return
        if vt is not None:
            if start < vt.available_from - TOL:
                self.add("availability", trip.id, f"leaves the depot {_fmt(start)}, before {vt.id} is "
                         f"available ({_fmt(vt.available_from)})")
            if end > vt.available_until + TOL:
                self.add("availability", trip.id, f"returns {_fmt(end)}, after {vt.id} is available "
                         f"({_fmt(vt.available_until)})")
        self.coach_use[(trip.vehicle_type, trip.bus)].append((start, end, trip.id))

    def _receiving_hours(self, trip: Trip, times: list[_Times]) -> None:
        """A drop's arrive and depart fall within its site's receiving hours of that day."""
        for i, (s, tm) in enumerate(zip(trip.stops, times)):
            site = self.sites.get(s.place.id or "") if s.kind == "drop" else None
            if site is None:
                continue
            for what, t in (("arrives", tm.arrive), ("departs", tm.depart)):
                if t is not None and not _clock_within(t, site.receive_from, site.receive_until):
                    self.add("receiving_hours", trip.id, f"{_stop_label(i, s)} {what} "
                             f"{_fmt(t)}, outside site {site.id}'s receiving hours "
                             f"{site.receive_from:%H:%M}–{site.receive_until:%H:%M}")

    # ----------------------------------------------------------- driving

    def _driving(self, trip: Trip, times: list[_Times], legs: list[float]) -> None:
        """Leg driving time, night rest, continuous and daily driving (RULES.md, driving rules)."""
        p, tid = self.p, trip.id
        speed_s = 3600.0 / p.speed_kmh  # seconds per km
        intervals: list[tuple[datetime, datetime]] = []
        if trip.stops and trip.stops[0].drive:
            self.add("leg_time", tid, f"{_stop_label(0, trip.stops[0])} lists driving, but no leg "
                     f"ends at the first stop")
        for i in range(1, len(trip.stops)):
            s = trip.stops[i]
            lo, hi = times[i - 1].depart, times[i].arrive
            need = timedelta(seconds=legs[i] * speed_s)
            label = f"leg to {_stop_label(i, s)}"
            if s.drive:
                leg = [(as_shanghai(a), as_shanghai(b)) for a, b in s.drive]
            elif lo is not None and need > timedelta(0):
                leg = [(lo, lo + need)]
            else:
                leg = []
            total = timedelta(0)
            prev_end: Optional[datetime] = None
            for a, b in leg:
                if b < a:
                    self.add("leg_time", tid, f"{label}: driving interval ends {_fmt(b)} before it "
                             f"starts {_fmt(a)}")
                    continue
                if (lo is not None and a < lo - TOL) or (hi is not None and b > hi + TOL):
                    self.add("leg_time", tid, f"{label}: driving {_span(a, b)} is outside the "
                             f"leg {_span(lo, hi)} ({legs[i]:.1f} km needs {_minutes(need)})")
                if prev_end is not None and a < prev_end - TOL:
                    self.add("leg_time", tid, f"{label}: driving intervals overlap or are out of order "
                             f"at {_fmt(a)}")
                prev_end = b if prev_end is None else max(prev_end, b)
                total += b - a
                intervals.append((a, b))
            if s.drive and total < need - TOL:
                self.add("leg_time", tid, f"{label}: {_minutes(total)} of driving for {legs[i]:.1f} km, "
                         f"which needs {_minutes(need)} at {p.speed_kmh:g} km/h")
        self.trip_driving[tid] = _union(intervals)
        if not p.driving_rules or not intervals:
            return
        intervals = _union(intervals)
        if p.night_rest is not None:
            rest = p.night_rest
            for a, b in intervals:
                inside = _window_overlap_s(a, b, rest)
                if inside > _TOL_S:
                    self.add("night_rest", tid, f"drives {_span(a, b)}, {_minutes(inside)} of it "
                             f"inside the {rest[0]:%H:%M}–{rest[1]:%H:%M} night rest")
        # stretches: driving joined across pauses shorter than a break
        brk = timedelta(minutes=p.break_minutes) - TOL
        stretch: list[tuple[datetime, datetime]] = []
        for a, b in intervals + [(None, None)]:  # sentinel closes the last stretch
            if stretch and (a is None or a - stretch[-1][1] >= brk):
                self._stretch(tid, stretch)
                stretch = []
            if a is not None:
                stretch.append((a, b))
        # 24-hour windows starting at each interval start (the worst window starts at one)
        limit = trip.crew * p.max_daily_driving_hours * 3600 + _TOL_S
        j, acc = 0, 0.0  # acc: driving of intervals [i, j) that lie wholly inside the window
        for i, (a, _) in enumerate(intervals):
            w_end = a + timedelta(hours=24)
            while j < len(intervals) and intervals[j][1] <= w_end:
                acc += (intervals[j][1] - intervals[j][0]).total_seconds()
                j += 1
            partial = 0.0
            if j < len(intervals) and intervals[j][0] < w_end:
                partial = (w_end - intervals[j][0]).total_seconds()
            if acc + partial > limit:
                self.add("daily_driving", tid, f"drives {_hours(acc + partial)} in the 24 h from "
                         f"{_fmt(a)}, more than crew {trip.crew} × {p.max_daily_driving_hours:g} h")
                break
            if j > i:
                acc -= (intervals[i][1] - intervals[i][0]).total_seconds()
            else:
                j = i + 1  # interval i itself longer than 24 h: already counted as partial

    def _stretch(self, tid: str, stretch: list[tuple[datetime, datetime]]) -> None:
        p = self.p
        driven = sum((b - a).total_seconds() for a, b in stretch)
        a0, b1 = stretch[0][0], stretch[-1][1]
        if driven > p.max_continuous_driving_hours * 3600 + _TOL_S:
            self.add("continuous_driving", tid, f"drives {_hours(driven)} from {_fmt(a0)} to {_fmt(b1)} "
                     f"without a {p.break_minutes:g} min break, more than "
                     f"{p.max_continuous_driving_hours:g} h")
        if p.night is not None:
            night = sum(_window_overlap_s(a, b, p.night) for a, b in stretch)
            if night > p.night_continuous_driving_hours * 3600 + _TOL_S:
                self.add("night_driving", tid, f"drives {_hours(night)} of night hours "
                         f"({p.night[0]:%H:%M}–{p.night[1]:%H:%M}) in one stretch {_span(a0, b1)}, "
                         f"more than {p.night_continuous_driving_hours:g} h")

    # ----------------------------------------------------------- plan-wide rules

    def check_coaches(self) -> None:
        """Trips of one coach must not overlap: sort each coach's trips by departure."""
        for (vt, bus), uses in self.coach_use.items():
            uses.sort()
            last_end: Optional[datetime] = None
            last_id = ""
            turnaround = timedelta(minutes=self.p.turnaround_minutes)
            for start, end, tid in uses:
                if last_end is not None and start < last_end - TOL:
                    self.add("coach_overlap", tid, f"coach {vt} #{bus} leaves {_fmt(start)} while still "
                             f"on trip {last_id} until {_fmt(last_end)}")
                elif last_end is not None and start - last_end < turnaround - TOL:
                    self.add("turnaround", tid, f"coach {vt} #{bus} leaves {_fmt(start)}, "
                             f"{_minutes(start - last_end)} after trip {last_id} returned ({_fmt(last_end)}); "
                             f"a coach needs {self.p.turnaround_minutes:g} min at its depot between trips")
                if last_end is None or end > last_end:
                    last_end, last_id = end, tid

    def check_intake(self) -> None:
        if not self.p.time_rules:
            return
        for (site_id, day), n in sorted(self.intake.items()):
            cap = self.sites[site_id].intake_per_day
            if cap is not None and n > cap:
                trips = self.intake_trips[(site_id, day)]
                shown = ", ".join(trips[:10]) + (f" and {len(trips) - 10} more" if len(trips) > 10 else "")
                self.add("site_intake", None, f"site {site_id} receives {n} workers on {day}, more than "
                         f"its intake of {cap} (trips {shown})")

    def check_workers(self) -> None:
        """Every worker accounted for exactly once, per order."""
        unassigned: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for u in self.plan.unassigned:
            if u.order not in self.orders:
                self.add("unknown_order", None, f"unassigned lists {u.count} of unknown order {u.order!r}")
                continue
            if u.reason not in REASONS:
                self.add("unassigned_reason", None, f"order {u.order}: unknown reason {u.reason!r} "
                         f"(known: {', '.join(REASONS)})")
            unassigned[u.order][u.reason] += u.count
        for o in self.sc.orders:
            b = self.boarded.get(o.id, 0)
            reasons = unassigned.get(o.id, {})
            u = sum(reasons.values())
            if b + u != o.headcount:
                what = "workers lost" if b + u < o.headcount else "workers counted twice"
                self.add("worker_count", None, f"order {o.id}: {b} boarded + {u} unassigned = {b + u}, "
                         f"headcount {o.headcount} ({what})")
            if b > o.cleared:
                self.add("cleared", None, f"order {o.id}: {b} boarded, but only {o.cleared} cleared screening")
            pending = o.headcount - o.cleared - o.failed
            for reason, want in (("screening_pending", pending), ("screening_failed", o.failed)):
                got = reasons.get(reason, 0)
                if got != want:
                    self.add("unassigned_reason", None, f"order {o.id}: {got} unassigned as {reason}, "
                             f"but {want} worker(s) are {reason.split('_')[1]}")

    def check_summary(self) -> None:
        s, trips = self.plan.summary, self.plan.trips
        ints = {
            "workers_requested": sum(o.headcount for o in self.sc.orders),
            "workers_eligible": sum(o.cleared for o in self.sc.orders),
            "workers_planned": sum(self.boarded.values()),
            "trips": len(trips),
            "buses_used": len({(t.vehicle_type, t.bus) for t in trips}),
        }
        for name, want in ints.items():
            got = getattr(s, name)
            if got != want:
                self.add("summary", None, f"summary {name} is {got}, the plan gives {want}")
        km = sum(t.km for t in trips)
        cost = sum(t.cost for t in trips)
        if abs(s.km - km) > 0.005 * km + 0.5:
            self.add("summary", None, f"summary km is {s.km:g}, its trips add up to {km:.1f}")
        if abs(s.cost - cost) > 0.005 * cost + 1:
            self.add("summary", None, f"summary cost is {s.cost:g}, its trips add up to {cost:.2f}")
        if s.lower_bound_km < 0:
            self.add("lower_bound", None, f"lower_bound_km {s.lower_bound_km:g} is negative")
        if s.km_over_bound is not None and s.lower_bound_km > 0:
            ratio = s.km / s.lower_bound_km
            if abs(s.km_over_bound - ratio) > 0.005 * ratio + 0.001:
                self.add("summary", None, f"summary km_over_bound is {s.km_over_bound:g}, but km / "
                         f"lower_bound_km = {s.km:g} / {s.lower_bound_km:g} = {ratio:.4f}")
        if s.lower_bound_km > km + 0.5:
            self.add("lower_bound", None, f"lower_bound_km {s.lower_bound_km:g} exceeds the plan's "
                     f"{km:.1f} km, so it is not a lower bound")

    # ----------------------------------------------------------- crews across trips

    def _drivers_of(self, trip: Trip) -> list[str]:
        """Who drives ``trip``: its named drivers, or its coach's own crew (the same people on all
        the coach's trips: ``<type>#<bus>/1`` … ``/crew``)."""
        if trip.drivers:
            return list(trip.drivers)
        return [f"{trip.vehicle_type}#{trip.bus}/{k}" for k in range(1, trip.crew + 1)]

    def check_crews(self) -> None:
        """Named drivers come from the trip's pools, one per seat of the crew, never on two trips
        at once; every driver's limits hold across all the trips they drive. Drivers share the
        wheel: each of a trip's ``crew`` drivers is charged 1/crew of its driving."""
        p = self.p
        spans = {tid: (a, b) for uses in self.coach_use.values() for a, b, tid in uses}
        work: dict[str, list[tuple[datetime, datetime, float, str]]] = defaultdict(list)
        busy: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        own: set[str] = set()
        for trip in self.plan.trips:
            if trip.drivers is not None:
                if len(trip.drivers) != trip.crew:
                    self.add("drivers", trip.id, f"names {len(trip.drivers)} driver(s) for a crew of {trip.crew}")
                if len(set(trip.drivers)) != len(trip.drivers):
                    self.add("drivers", trip.id, f"names a driver twice: {', '.join(trip.drivers)}")
                if trip.vehicle_type in self.fleet:
                    pool = set(self.sc.driver_pool(trip.vehicle_type))
                    strangers = [d for d in trip.drivers if d not in pool]
                    if strangers:
                        self.add("drivers", trip.id, f"driver(s) {', '.join(strangers)} are not in the pool of "
                                 f"{trip.vehicle_type} or its depot ({', '.join(sorted(pool)) or 'no pool'})")
            drivers = self._drivers_of(trip)
            if not trip.drivers:
                own.update(drivers)
            share = 1.0 / max(1, len(drivers))
            for d in drivers:
                if trip.id in spans:
                    busy[d].append((*spans[trip.id], trip.id))
                for a, b in self.trip_driving.get(trip.id, []):
                    work[d].append((a, b, share, trip.id))
        twice: set[str] = set()  # drivers on two trips at once: reported once, not counted twice
        for d, uses in busy.items():
            uses.sort()
            for (a0, b0, t0), (a1, b1, t1) in zip(uses, uses[1:]):
                if a1 < b0 - TOL and t0 != t1:
                    twice.add(d)
                    if d not in own:  # a coach's own crew: its overlaps are the coach's (coach_overlap)
                        self.add("driver_overlap", t1, f"driver {d} is on trip {t0} until {_fmt(b0)}, "
                                 f"and trip {t1} leaves {_fmt(a1)}")
        if not p.driving_rules:
            return
        for d, items in work.items():
            if d not in twice and len({t for *_, t in items}) > 1:
                self._driver_day(d, sorted(items))
                self._driver_stretches(d, sorted(items))

    def _driver_day(self, driver: str, items: list[tuple[datetime, datetime, float, str]]) -> None:
        """In any 24 h, a driver is charged at most the daily limit (windows over 2+ trips)."""
        import numpy as np  # noqa: PLC0415

        a = np.array([(x[0] - _EPOCH).total_seconds() for x in items])
        b = np.array([(x[1] - _EPOCH).total_seconds() for x in items])
        w = np.array([x[2] for x in items])
        trip_of = np.array([x[3] for x in items])
        day = 86400.0
        starts = np.concatenate([a, b - day])
        over = np.clip(np.minimum(b[None, :], starts[:, None] + day) - np.maximum(a[None, :], starts[:, None]), 0, None)
        charged = over @ w
        limit = self.p.max_daily_driving_hours * 3600 + _TOL_S
        for k in np.argsort(-charged):
            if charged[k] <= limit:
                return
            trips = sorted(set(trip_of[over[k] > 0]))
            if len(trips) > 1:
                s0 = _EPOCH + timedelta(seconds=float(starts[k]))
                self.add("daily_driving", trips[-1], f"driver {driver} drives {_hours(float(charged[k]))} in the "
                         f"24 h from {_fmt(s0)} over trips {', '.join(trips)} (a crew's drivers sharing the wheel), "
                         f"more than {self.p.max_daily_driving_hours:g} h")
                return

    def _driver_stretches(self, driver: str, items: list[tuple[datetime, datetime, float, str]]) -> None:
        """Continuous driving and its night part, for stretches that run from one trip into the next."""
        brk = timedelta(minutes=self.p.break_minutes) - TOL
        group: list[tuple[datetime, datetime, float, str]] = []
        for item in items + [None]:  # type: ignore[list-item]
            if group and (item is None or item[0] - group[-1][1] >= brk):
                if len({g[3] for g in group}) > 1:
                    before = len(self.out)
                    self._stretch(group[-1][3], [(g[0], g[1]) for g in group])
                    for k in range(before, len(self.out)):
                        v = self.out[k]
                        self.out[k] = Violation(v.rule, v.trip, f"driver {driver} across trips "
                                                f"{', '.join(sorted({g[3] for g in group}))}: {v.message}")
                group = []
            if item is not None:
                group.append(item)

    def check_now(self) -> None:
        """Nothing but dispatched trips leaves before the plan's ``solver.now``."""
        now = self.plan.solver.now
        if now is None:
            return
        for uses in self.coach_use.values():
            for start, _, tid in uses:
                trip = next(t for t in self.plan.trips if t.id == tid)
                if not trip.dispatched and start < as_shanghai(now) - TOL:
                    self.add("before_now", tid, f"leaves {_fmt(start)}, before the plan was made ({_fmt(now)}); "
                             f"only dispatched trips may lie in the past")

    def check_batches(self) -> None:
        """An order with ``screening_batches``: its boardings can be matched to cleared workers whose
        screening is still valid when they board (for every time t, no more board at or after t
        than are valid at t)."""
        for o in self.sc.orders:
            if not o.screening_batches or o.id not in self.boardings:
                continue
            valid = o.expiries()
            events = sorted(self.boardings[o.id], key=lambda e: e[0], reverse=True)
            late = 0
            for when, n, tid in events:
                late += n
                can = sum(k for k, until in valid if until is None or until + TOL >= when)
                if late > can:
                    self.add("screening_expired", tid, f"order {o.id}: {late} worker(s) board at or after "
                             f"{_fmt(when)}, but the screening of only {can} of its cleared workers is valid then")
                    break

    def run(self) -> list[Violation]:
        seen: set[str] = set()
        for t in self.plan.trips:
            if t.id in seen:
                self.add("duplicate_trip", t.id, f"trip id {t.id!r} is used more than once")
            seen.add(t.id)
            self.check_trip(t)
        self.check_coaches()
        self.check_crews()
        self.check_now()
        self.check_batches()
        self.check_intake()
        self.check_workers()
        self.check_summary()
        return self.out


def _union(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, merged intervals, so overlapping ones (already reported) are not counted twice."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(iv for iv in intervals if iv[1] >= iv[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class RoadsError(ValueError):
    """The road-distance source named by the plan (or the caller) cannot be read."""


class _Roads:
    """Road km of a leg, read on the checker's own: geodesic × road factor, a ``from,to,km``
    CSV (keys: a site or depot id, a county code, or ``lat,lon`` with five decimals; a pair
    given one way counts both ways; pairs missing fall back to geodesic × road factor), or an
    OSRM server's ``route`` service."""

    def __init__(self, spec: str, factor: float, table: Optional[dict[tuple[str, str], float]] = None):
        self.spec, self.factor, self.table = spec, factor, table
        self._osrm: dict[tuple[float, float, float, float], float] = {}

    @classmethod
    def open(cls, spec: Optional[str], factor: float) -> "_Roads":
        if not spec or spec == "geodesic":
            return cls("geodesic", factor)
        if spec.startswith(("http://", "https://")):
            return cls(spec.rstrip("/"), factor)
        import csv  # noqa: PLC0415

        table: dict[tuple[str, str], float] = {}
        try:
            with open(spec, encoding="utf-8-sig") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    try:
                        table[(row["from"].strip(), row["to"].strip())] = float(row["km"])
                    except (KeyError, TypeError, ValueError, AttributeError):
                        raise RoadsError(f"{spec}: row {i}: needs from,to,km") from None
        except OSError as exc:
            raise RoadsError(f"cannot read the road-distance file {spec}: {exc.strerror or exc}") from None
        return cls(spec, factor, table)

    def describe(self, factor: float) -> str:
        if self.spec == "geodesic":
            return f"geodesic × road factor {factor:g}"
        return f"road km from {self.spec}"

    def km(self, a: Place, b: Place) -> float:
        if self.table is not None:
            for ka in (a.id, a.county):
                for kb in (b.id, b.county):
                    if ka and kb:
                        v = self.table.get((ka, kb))
                        if v is None:
                            v = self.table.get((kb, ka))
                        if v is not None:
                            return v
        elif self.spec != "geodesic":
            return self._route(a, b)
        return _geo_km(a.lat, a.lon, b.lat, b.lon) * self.factor

    def _route(self, a: Place, b: Place) -> float:
        key = (a.lat, a.lon, b.lat, b.lon)
        if key not in self._osrm:
            if (a.lat, a.lon) == (b.lat, b.lon):
                return 0.0
            import json  # noqa: PLC0415
            import urllib.request  # noqa: PLC0415

            url = f"{self.spec}/route/v1/driving/{a.lon:.6f},{a.lat:.6f};{b.lon:.6f},{b.lat:.6f}?overview=false"
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (configured URL)
                    body = json.load(resp)
                self._osrm[key] = float(body["routes"][0]["distance"]) / 1000.0
            except (OSError, KeyError, IndexError, ValueError) as exc:
                raise RoadsError(f"the OSRM server {self.spec} gave no route: {exc}") from None
        return self._osrm[key]


def check(scenario: Scenario, plan: Plan, roads: Optional[str] = None) -> list[Violation]:
    """Check ``plan`` against every rule of docs/RULES.md for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The planning problem the plan claims to solve.
    plan : Plan
        The plan to check: the optimizer's, or one made by hand.
    roads : str, optional
        The road-distance source to measure legs with: ``geodesic`` (× the policy's road
        factor), a ``from,to,km`` CSV path or an OSRM base URL. Default: the plan's own
        ``solver.roads`` (geodesic when it names none).

    Raises
    ------
    RoadsError
        When the road-distance source cannot be read.

    Returns
    -------
    list of Violation
        Every violation found, trip by trip in plan order, then plan-wide ones (coach overlaps,
        site intake, worker accounting, summary). Empty when the plan obeys every rule.
    """
    spec = roads if roads is not None else plan.solver.roads
    return _Checker(scenario, plan, _Roads.open(spec, scenario.policy.road_factor)).run()
