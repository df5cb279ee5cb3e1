"""What every rule family shares: the violation type, tolerances, time arithmetic on clock
windows, and the plan's facts (places resolved, stop times, legs, driving) computed once."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Optional

from ..contract import SHANGHAI, Location, Order, Place, Plan, Policy, Scenario, Stop, Trip, VehicleType, as_shanghai
from ..network import places
from .roads import Roads

TOL = timedelta(minutes=1)
TOL_S = TOL.total_seconds()
#: How far (geodesic km) a stop's coordinates may be from the place it names.
PLACE_TOL_KM = 1.0
RISK_RANK = {"low": 0, "medium": 1, "high": 2}
EPOCH = datetime(2000, 1, 1, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    rule : str
        A short stable code, e.g. ``seats`` or ``late_arrival`` (see :data:`planner.check.RULE_CODES`).
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


def fmt(t: Optional[datetime]) -> str:
    return "?" if t is None else t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def span(a: Optional[datetime], b: Optional[datetime]) -> str:
    """``a``–``b``, leaving out ``b``'s date when it is ``a``'s."""
    if a is not None and b is not None and a.astimezone(SHANGHAI).date() == b.astimezone(SHANGHAI).date():
        return f"{fmt(a)}–{b.astimezone(SHANGHAI):%H:%M}"
    return f"{fmt(a)}–{fmt(b)}"


def minutes(d: timedelta | float) -> str:
    s = d.total_seconds() if isinstance(d, timedelta) else float(d)
    return f"{s / 60:.0f} min"


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def clock_s(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


def _local_s(t: datetime) -> float:
    """Seconds after Shanghai midnight of ``t``'s own day."""
    lt = t.astimezone(SHANGHAI)
    return lt.hour * 3600 + lt.minute * 60 + lt.second + lt.microsecond / 1e6


def _in_window_cumulative(t: datetime, a: float, b: float) -> float:
    """Seconds spent inside the daily clock window [a, b) from ``EPOCH`` up to ``t``.

    A window with a > b wraps midnight (e.g. 22:00–06:00). Differences of this function give the
    overlap of any interval with the window on every day, in O(1).
    """
    if a == b:
        return 0.0
    per_day = (b - a) if a < b else (b + 86400 - a)
    secs = (t - EPOCH).total_seconds()
    days = math.floor(secs / 86400)
    c = secs - days * 86400
    if a < b:
        part = min(max(c - a, 0.0), b - a)
    else:
        part = min(c, b) + max(c - a, 0.0)
    return days * per_day + part


def window_overlap_s(s: datetime, e: datetime, window: tuple[time, time]) -> float:
    """Seconds of the interval [s, e] that fall inside a daily clock window."""
    if e <= s:
        return 0.0
    a, b = clock_s(window[0]), clock_s(window[1])
    return _in_window_cumulative(e, a, b) - _in_window_cumulative(s, a, b)


def clock_within(t: datetime, start: time, until: time) -> bool:
    """Whether ``t``'s Shanghai clock is within [start, until], one minute of tolerance."""
    c = _local_s(t)
    a, b = clock_s(start), clock_s(until)
    if a <= b:
        # near midnight the tolerance wraps too (23:59:30 is within 00:00 - 1 min)
        return (a - TOL_S <= c <= b + TOL_S) or (c - 86400 >= a - TOL_S) or (c + 86400 <= b + TOL_S)
    return c >= a - TOL_S or c <= b + TOL_S


def place_label(p: Place) -> str:
    return p.name or p.id or p.county or f"{p.lat:.4f},{p.lon:.4f}"


def stop_label(i: int, s: Stop) -> str:
    return f"stop {i} ({s.kind} {place_label(s.place)})"


def union(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, merged intervals, so overlapping ones (already reported) are not counted twice."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(iv for iv in intervals if iv[1] >= iv[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


# ------------------------------------------------------------------ the plan's facts


@dataclass
class Times:
    """A stop's arrive / depart after filling the one a depot stop may leave out."""

    arrive: Optional[datetime]
    depart: Optional[datetime]


@dataclass
class TripFacts:
    """One trip as the rules see it: its coach type, each stop's times, each leg's road km, pure
    driving minutes (from the road source, or its km at the policy's speed) and driving (index
    i: the leg ending at stop i; index 0 is empty), and all its driving."""

    trip: Trip
    index: int
    vt: Optional[VehicleType]
    times: list[Times]
    legs: list[float]
    leg_driving: list[list[tuple[datetime, datetime]]]
    driving: list[tuple[datetime, datetime]]
    #: driving minutes of each leg (not rounded); empty: each leg's km at the policy's speed
    leg_minutes: list[float] = field(default_factory=list)
    #: whether the road source gave leg i's minutes (False: its km at the policy's speed)
    leg_timed: list[bool] = field(default_factory=list)

    def need(self, i: int, speed_kmh: float) -> float:
        """Driving minutes of the leg ending at stop ``i`` (not rounded)."""
        if i < len(self.leg_minutes):
            return self.leg_minutes[i]
        return self.legs[i] / speed_kmh * 60.0

    def one_way_km(self) -> float:
        """The longer of the outbound run (depot → last pickup) and the loaded run (first pickup → last drop)."""
        kinds = [s.kind for s in self.trip.stops]
        picks = [i for i, k in enumerate(kinds) if k == "pickup"]
        drops = [i for i, k in enumerate(kinds) if k == "drop"]
        if not picks or not drops:
            return 0.0
        return max(sum(self.legs[1:picks[-1] + 1]), sum(self.legs[picks[0] + 1:drops[-1] + 1]))

    @property
    def start(self) -> Optional[datetime]:
        return self.times[0].depart if self.times else None

    @property
    def end(self) -> Optional[datetime]:
        return self.times[-1].arrive if self.times else None


def stop_times(trip: Trip) -> list[Times]:
    times = []
    for s in trip.stops:
        a = as_shanghai(s.arrive) if s.arrive else None
        d = as_shanghai(s.depart) if s.depart else None
        times.append(Times(a or d, d or a))
    return times


@dataclass
class Facts:
    """The scenario and the plan, with what every family needs computed once, and the violations."""

    sc: Scenario
    plan: Plan
    roads: Roads
    out: list[Violation] = field(default_factory=list)
    #: ids of the orders derived from the plan's matches (match and move), added to ``sc.orders``
    derived: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.p: Policy = self.sc.policy
        self.orders: dict[str, Order] = {o.id: o for o in self.sc.orders}
        self.fleet: dict[str, VehicleType] = {v.id: v for v in self.sc.fleet}
        self.sites = {s.id: s for s in self.sc.sites}
        self.depots = {d.id: d for d in self.sc.depots}
        self.stations = {s.id: s for s in self.sc.stations}
        self.trains = {t.id: t for t in self.sc.trains}
        self.regions: dict[str, list] = defaultdict(list)
        for r in self.sc.regions:
            self.regions[r.county[:6]].append(r)
        self._resolve_places()
        self.trips = [self._trip_facts(i, t) for i, t in enumerate(self.plan.trips)]
        self.index = {t.id: i for i, t in enumerate(self.plan.trips)}
        # workers board once, at home: a last mile's pickup at a station carries workers already counted
        self.boarded: dict[str, int] = defaultdict(int)
        for t in self.plan.trips:
            for s in t.stops:
                if s.place.station is None:
                    for ld in s.board:
                        self.boarded[ld.order] += ld.count
        self.coach_use: dict[tuple[str, int], list[tuple[datetime, datetime, str]]] = defaultdict(list)
        for tf in self.trips:
            if tf.start is not None and tf.end is not None:
                self.coach_use[(tf.trip.vehicle_type, tf.trip.bus)].append((tf.start, tf.end, tf.trip.id))

    def add(self, rule: str, trip: Optional[str], message: str) -> None:
        self.out.append(Violation(rule, trip, message))

    def _resolve_places(self) -> None:
        """Resolve origins of the orders the plan boards, and every site and depot, in one batch."""
        used: list[str] = []
        seen: set[str] = set()
        for t in self.plan.trips:
            for s in t.stops:
                for ld in s.board:
                    if ld.order in self.orders and ld.order not in seen:
                        seen.add(ld.order)
                        used.append(ld.order)
        locs: list[Location] = [self.orders[o].origin for o in used]
        locs += [s.location for s in self.sc.sites] + [d.location for d in self.sc.depots]
        locs += [s.location for s in self.sc.stations]
        pts = places.resolve_all(locs, self.p.county_snap_km) if locs else []
        n, ns, nd = len(used), len(self.sc.sites), len(self.sc.depots)
        self.origin_pt = dict(zip(used, pts[:n]))
        self.site_pt = dict(zip([s.id for s in self.sc.sites], pts[n:n + ns]))
        self.depot_pt = dict(zip([d.id for d in self.sc.depots], pts[n + ns:n + ns + nd]))
        self.station_pt = dict(zip([s.id for s in self.sc.stations], pts[n + ns + nd:]))
        # the home county (risk, cohort) of each boarded order; coordinates lie in a county too
        self.origin_county: dict[str, Optional[str]] = {
            o: None if isinstance(pt, places.PlaceError) else pt.county for o, pt in self.origin_pt.items()}

    def _trip_facts(self, i: int, trip: Trip) -> TripFacts:
        times = stop_times(trip)
        pairs = list(zip(trip.stops, trip.stops[1:]))
        legs = [0.0] + [self.roads.km(a.place, b.place) for a, b in pairs]
        timing = [(0.0, False)] + [self.roads.timing(a.place, b.place, self.p.speed_kmh) for a, b in pairs]
        leg_driving: list[list[tuple[datetime, datetime]]] = [[]]
        for k in range(1, len(trip.stops)):
            s = trip.stops[k]
            lo = times[k - 1].depart
            need = timedelta(minutes=timing[k][0])
            if s.drive:
                leg_driving.append([(as_shanghai(a), as_shanghai(b)) for a, b in s.drive])
            elif lo is not None and need > timedelta(0):
                leg_driving.append([(lo, lo + need)])  # a leg without ``drive``: one piece from departure
            else:
                leg_driving.append([])
        driving = union(iv for leg in leg_driving for iv in leg)
        return TripFacts(trip, i, self.fleet.get(trip.vehicle_type), times, legs, leg_driving, driving,
                         [m for m, _ in timing], [src for _, src in timing])
