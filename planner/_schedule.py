"""Trips onto coaches: each placed most urgent first on the coach of its type free earliest.

Pipeline step "schedule", second half: a coach stays ``turnaround`` minutes at its depot between
trips; its crew stays with it (its driving counts into the next trip) unless driver pools name
rested drivers. A trip that meets a full site on every day it could arrive is cut to what the day
still takes. :func:`schedule_with_fallback` re-plans a pooled trip that could not run county by
county, then order by order, before anyone is unassigned with the reason that stopped them.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Sequence

from ._allocate import by_county, direct
from ._pricing import best_route, board_pairs, crew_needed, trip_cost
from ._timing import (
    REST_SLACK,
    Fail,
    Timed,
    board_from,
    board_open,
    driving_of,
    fresh_detours_fit,
    fresh_ride,
    loaded_wait,
    simulate,
)
from ._trips import AllocatedTrip, TimedStop, TimedTrip
from .contract import Reason, Trip
from .driving import DAY, DriveLog, charged_peak, drive
from .eligibility import Eligible
from .params import hurry
from .problem import NO_LIMIT, ProblemData


class Fleet:
    """Every coach's trips and its crew's driving, and every pool driver's, to place trips legally.

    A coach stays at its depot ``turnaround`` minutes between two trips (and at least a break,
    so driving never runs on from one trip into the next). Without a driver pool the coach's
    crew stays with it: a trip is timed with the driving of the coach's earlier trips, and may
    not push its later trips over the daily limit. With a pool (``depots[].drivers``,
    ``fleet[].drivers``) each trip gets drivers of the pool who are free and rested enough.
    """

    def __init__(self, data: ProblemData):
        self.data = data
        self.busy: list[list[list[tuple[int, int]]]] = [[[] for _ in range(vt.count)] for vt in data.vehicles]
        self.driven: list[list[list[tuple[int, int, float]]]] = [[[] for _ in range(vt.count)] for vt in data.vehicles]
        self.driver_busy: dict[str, list[tuple[int, int]]] = {d: [] for pool in data.pools for d in pool}
        self.driver_driven: dict[str, list[tuple[int, int, float]]] = {d: [] for d in self.driver_busy}
        rules = data.rules
        self.pad = max(data.turnaround, rules.break_minutes if rules.enabled else 0)

    def copy(self) -> "Fleet":
        """An independent copy of the bookings (the problem data is shared, not copied)."""
        other = Fleet.__new__(Fleet)
        other.data, other.pad = self.data, self.pad
        other.busy = [[list(iv) for iv in per] for per in self.busy]
        other.driven = [[list(iv) for iv in per] for per in self.driven]
        other.driver_busy = {d: list(iv) for d, iv in self.driver_busy.items()}
        other.driver_driven = {d: list(iv) for d, iv in self.driver_driven.items()}
        return other

    def restore(self, other: "Fleet") -> None:
        """Take over ``other``'s bookings."""
        self.busy, self.driven = other.busy, other.driven
        self.driver_busy, self.driver_driven = other.driver_busy, other.driver_driven

    def block(self, v: int, b: int, start: int, end: int, driving: Sequence[tuple[int, int, float]] = (),
              drivers: Sequence[str] = ()) -> None:
        """Book coach ``b`` of type ``v`` (and ``drivers``) from ``start`` to ``end``."""
        bisect.insort(self.busy[v][b], (start, end))
        if drivers:
            for d in drivers:
                bisect.insort(self.driver_busy.setdefault(d, []), (start, end))
                self.driver_driven.setdefault(d, []).extend(driving)
                self.driver_driven[d].sort()
        else:
            self.driven[v][b].extend(driving)
            self.driven[v][b].sort()

    def unblock(self, v: int, b: int, start: int, end: int, driving: Sequence[tuple[int, int, float]] = (),
                drivers: Sequence[str] = ()) -> None:
        """Take back a booking made by :meth:`block` (a trip taken off the plan)."""
        if (start, end) in self.busy[v][b]:
            self.busy[v][b].remove((start, end))
        gone = set(driving)
        if drivers:
            for d in drivers:
                if (start, end) in self.driver_busy.get(d, []):
                    self.driver_busy[d].remove((start, end))
                self.driver_driven[d] = [iv for iv in self.driver_driven.get(d, []) if iv not in gone]
        else:
            self.driven[v][b] = [iv for iv in self.driven[v][b] if iv not in gone]

    def earliest(self, v: int, start: int, length: int, until: int = NO_LIMIT) -> tuple[Optional[int], Optional[int]]:
        """The earliest t ≥ ``start`` (and ≤ ``until``) at which some coach of type ``v`` is free
        for ``length`` minutes with its turnaround on both sides, and that coach (of those free
        then, the one idle the shortest)."""
        got = self.free(v, start, length, until)
        return (got[0][0], got[0][1]) if got else (None, None)

    def free(self, v: int, start: int, length: int, until: int = NO_LIMIT) -> list[tuple[int, int]]:
        """``(t, coach)`` for every coach of type ``v``: the earliest t ≥ ``start`` it is free for
        ``length`` minutes (turnaround included), best first: earliest, then idle the shortest."""
        out = []
        pad = self.pad
        for b, iv in enumerate(self.busy[v]):
            t, prev_end = start, -NO_LIMIT
            i = bisect.bisect_left(iv, (start, -NO_LIMIT))
            if i > 0:
                prev_end = iv[i - 1][1]
                t = max(t, prev_end + pad)
            while i < len(iv) and iv[i][0] < t + length + pad:
                prev_end = iv[i][1]
                t = max(t, prev_end + pad)
                i += 1
            if t > until:
                continue
            out.append((t, t - prev_end, b))
        out.sort()
        return [(t, b) for t, _, b in out]

    def fits(self, v: int, b: int, start: int, end: int) -> bool:
        """Whether coach ``b`` is free from ``start`` to ``end`` with its turnaround on both sides."""
        iv = self.busy[v][b]
        i = bisect.bisect_left(iv, (start, -NO_LIMIT))
        if i > 0 and iv[i - 1][1] + self.pad > start:
            return False
        return not (i < len(iv) and iv[i][0] < end + self.pad)

    def prior(self, v: int, b: int, before: int) -> list[tuple[int, int, float]]:
        """The coach crew's driving in the 24 h before ``before``."""
        return [iv for iv in self.driven[v][b] if before - DAY < iv[1] <= before]

    def rested(self, v: int, b: int, start: int, charge: float) -> int:
        """The earliest t ≥ ``start`` after which the coach's crew can take ``charge`` more minutes."""
        log = DriveLog(intervals=self.prior(v, b, start))
        return log._wait_daily(start, max(0.0, self.data.rules.daily - charge))

    def later_ok(self, driven: list[tuple[int, int, float]], trip: list[tuple[int, int, float]]) -> bool:
        """Whether adding ``trip``'s driving keeps every 24 h window within the daily limit."""
        if not trip or not self.data.rules.enabled:
            return True
        lo, hi = trip[0][0], trip[-1][1]
        near = [iv for iv in driven if iv[1] > lo - DAY and iv[0] < hi + DAY]
        if not near:
            return True
        return charged_peak(sorted(near + trip), around=(lo, hi)) <= self.data.rules.daily + 1e-6

    def pick_drivers(self, v: int, start: int, end: int, crew: int, trip: list[tuple[int, int, float]]
                     ) -> Optional[list[str]]:
        """``crew`` drivers of type ``v``'s pool free from ``start`` to ``end`` (with a turnaround's
        rest around) whose driving stays legal with this trip's; the least driven first."""
        chosen: list[tuple[float, str]] = []
        for d in self.data.pools[v]:
            iv = self.driver_busy.get(d, [])
            i = bisect.bisect_left(iv, (start, -NO_LIMIT))
            if i > 0 and iv[i - 1][1] + self.pad > start:
                continue
            if i < len(iv) and iv[i][0] < end + self.pad:
                continue
            driven = self.driver_driven.get(d, [])
            if not self.later_ok(driven, trip):
                continue
            chosen.append((sum((b - a) * w for a, b, w in driven), d))
        if len(chosen) < crew:
            return None
        return [d for _, d in sorted(chosen)[:crew]]


def schedule(data: ProblemData, trips: list[AllocatedTrip], fleet: Fleet, intake: dict[tuple[int, int], int],
             vtypes: list[int], first: frozenset[int] = frozenset()
             ) -> tuple[list[TimedTrip], list[tuple[AllocatedTrip, Reason]]]:
    """Place trips most urgent first; return the timed trips and those that could not run, with why.

    Trips carrying an order part of ``first`` go before all others. A trip that meets a full
    site on every day it could arrive is cut: as many of its riders as the site still takes that
    day ride now, the others are placed again on their own."""
    timed: list[TimedTrip] = []
    failed: list[tuple[AllocatedTrip, Reason]] = []

    def later(j: AllocatedTrip) -> bool:
        return not any(o in first for loads in j.board.values() for o, _ in loads)

    queue = sorted(trips, key=lambda j: (later(j), j.hi, j.lo, -j.riders))
    while queue:
        trip = queue.pop(0)
        result = place(data, trip, fleet, intake, vtypes)
        if isinstance(result, TimedTrip):
            timed.append(result)
            continue
        if (result.reason == "site_intake_full" or result.by_intake) and result.site is not None:
            parts = _split_for_intake(data, trip, result.site, result.room)
            if parts is not None:
                cut = place(data, parts[0], fleet, intake, vtypes)
                if isinstance(cut, TimedTrip):
                    timed.append(cut)
                    queue.insert(0, parts[1])
                    continue
        failed.append((trip, "site_intake_full" if result.by_intake else result.reason))
    return timed, failed


def _split_for_intake(data: ProblemData, trip: AllocatedTrip, site: int, room: int
                      ) -> Optional[tuple[AllocatedTrip, AllocatedTrip]]:
    """``trip`` cut in two: ``room`` of its riders bound for ``site``, and the rest (or None)."""
    riders = trip.riders
    take = min(room, sum(n for loads in trip.board.values() for o, n in loads if data.orders[o].site == site))
    if 0 < riders - take < data.min_riders:
        take = riders - data.min_riders
    if take < data.min_riders or take >= riders:
        return None
    first: dict[int, list[tuple[int, int]]] = {}
    rest: dict[int, list[tuple[int, int]]] = {}
    left = take
    for p in trip.pickups:
        for o, n in trip.board[p]:
            k = min(n, left) if data.orders[o].site == site else 0
            if k:
                first.setdefault(p, []).append((o, k))
                left -= k
            if n - k:
                rest.setdefault(p, []).append((o, n - k))
    out = []
    for board in (first, rest):
        sites = tuple(sorted({data.orders[o].site for loads in board.values() for o, _ in loads}))
        pickups = tuple(p for p in trip.pickups if p in board)
        _, pk, st = best_route(data, data.vehicles[trip.vehicle].depot, pickups, sites, board_pairs(data, board))
        out.append(trip.part(board, pickups=pk, sites=st))
    return out[0], out[1]


@dataclass
class Booking:
    """A way to run a trip found but not booked yet: its coach, crew (and pool drivers) and stops."""

    trip: AllocatedTrip
    vehicle: int
    bus: int
    crew: int
    stops: list[TimedStop]
    drivers: Optional[list[str]]

    def value(self, data: ProblemData) -> float:
        """What the scheduler minimises for a trip that runs: its cost plus the workers' hours on
        board at ``worker_hour_cost`` (policy) — so a second driver or a rest before boarding is
        bought when it spares the workers enough hours."""
        return (trip_cost(data, self.vehicle, _km(data, self.stops), self.crew)
                + data.worker_hour_cost * rider_minutes(self.stops) / 60.0)


def rider_minutes(stops: list[TimedStop]) -> int:
    """Minutes on board summed over the riders: each from their pickup's departure to their drop."""
    board: dict[int, int] = {}
    total = 0
    for s in stops:
        if s.kind == "pickup" and s.depart is not None:
            for o, _ in s.loads:
                board[o] = s.depart
        elif s.kind == "drop" and s.arrive is not None:
            total += sum(n * (s.arrive - board.get(o, s.arrive)) for o, n in s.loads)
    return total


def place(data: ProblemData, trip: AllocatedTrip, fleet: Fleet, intake: dict[tuple[int, int], int],
          vtypes: list[int]) -> TimedTrip | Fail:
    """Find a start and a coach for one trip; book them; return the trip or why it failed.

    On the trip's own coach type the crew it needs is tried, and a second driver too when the
    loaded coach would otherwise stand still for longer than the second driver is worth to the
    riders (:meth:`Booking.value`); the better is booked."""
    riders = trip.riders
    types = [trip.vehicle] + sorted((v for v in vtypes if v != trip.vehicle and data.vehicles[v].capacity >= riders),
                                   key=lambda v: (data.vehicles[v].cost_per_km, data.vehicles[v].fixed_cost, v))
    reason = Fail("no_vehicle")
    for v in types:
        if data.vehicles[v].capacity < riders or data.vehicles[v].count == 0:
            continue
        one = trip if v == trip.vehicle else AllocatedTrip(v, trip.pickups, trip.sites, trip.cohort, trip.board, trip.lo,
                                                           trip.hi, trip.own)
        depot = data.vehicles[v].depot
        # the trip runs its stops in the order drafted (under a detour limit, the order that fits)
        seq = [depot, *one.pickups, *(data.site_place[s] for s in one.sites), depot]
        km = float(sum(data.km[a, b] for a, b in zip(seq, seq[1:])))
        base = crew_needed(data, depot, one.pickups, one.sites)
        found: list[Booking] = []
        for crew in sorted({base, 2}):
            got = _place_with(data, one, v, crew, km, fleet, intake)
            if isinstance(got, Booking):
                found.append(got)
                if hurry() or not _second_driver_may_pay(data, got):
                    break
                continue
            reason = got
            if got.reason not in ("deadline_unreachable", "ride_time_exceeded"):
                break
        if found:
            return _commit(data, fleet, intake, min(found, key=lambda b: b.value(data)))
        if reason.reason == "ride_time_exceeded" and data.rules.enabled:
            # a long ride can fit when it boards at another hour (the night rest, the site's
            # hours), or after the crew has rested (a whole day clears the 24 h driving window
            # of a long drive out): the hours whose fresh ride fits, shortest ride first
            for hold in _hours_that_fit(data, one)[:HOURS_TRIED]:
                for rest in (0, DAY):
                    got = _place_with(data, one, v, 2, km, fleet, intake, hold=hold, rest=rest)
                    if isinstance(got, Booking):
                        return _commit(data, fleet, intake, got)
                    if got.reason != "ride_time_exceeded":
                        break
    return reason


#: how many boarding hours a long ride that broke the ride limit is tried at
HOURS_TRIED = 6


def _hours_that_fit(data: ProblemData, trip: AllocatedTrip) -> list[int]:
    """Delays (minutes, whole hours) of the first boarding after its workers are ready at which
    two fresh drivers bring the trip within the ride limit and every rider within their detour
    limit, shortest ride first."""
    ready = max(board_from(data, trip, o) for o, _ in trip.board[trip.pickups[0]])
    found = []
    for hold in range(0, DAY, 60 if not hurry() else 240):  # in a hurry, every fourth hour
        board = board_open(data, trip.pickups[0], ready + hold - data.boarding)
        ride = fresh_ride(data, trip, board)
        if ride <= data.max_ride and fresh_detours_fit(data, trip, board):
            found.append((ride, board - (ready - data.boarding), hold))
    found.sort()
    seen: set[int] = set()
    out = []
    for _, _, hold in found:
        if hold not in seen:
            seen.add(hold)
            out.append(hold)
    return out


def _second_driver_may_pay(data: ProblemData, booked: Booking) -> bool:
    """Whether a second driver might be worth its cost to this one-driver trip's riders: its loaded
    coach stands still longer than the crew's breaks and rests at the first boarding need, by
    more hours than ``crew_cost`` buys of the riders' time."""
    if booked.crew != 1 or not data.rules.enabled or data.worker_hour_cost <= 0:
        return False
    riders = sum(n for s in booked.stops if s.kind == "pickup" for _, n in s.loads)
    wait = loaded_wait(data, booked.trip, booked.stops, 2)
    return wait * riders * data.worker_hour_cost / 60.0 > data.vehicles[booked.vehicle].crew_cost


def _first_start(data: ProblemData, trip: AllocatedTrip, v: int, crew: int, hold: int, rest: int) -> int:
    """A depot departure that reaches the first pickup just as its workers are ready (within the
    boarding hours)."""
    vt = data.vehicles[v]
    first = trip.pickups[0]
    ready = max(board_from(data, trip, o) for o, _ in trip.board[first]) + hold
    ready = board_open(data, first, ready - data.boarding) + data.boarding
    need = int(data.drive[vt.depot, first])
    lead, _ = drive(DriveLog(crew=crew), ready, need, data.rules)
    start = max(vt.available_from, ready - data.boarding - (lead - ready) - rest)
    # the night rest can stall a coach on its way out: leave earlier until it is there on time
    best_late = None
    for _ in range(6):
        arrive, _ = drive(DriveLog(crew=crew), start, need, data.rules)
        late = arrive + data.boarding - ready
        if late <= 0:
            break
        if best_late is not None and late >= best_late:
            start -= 180  # a little earlier only ran into the night rest: leave before it
        else:
            best_late = late
            start -= late
        if start < vt.available_from:
            start = vt.available_from
            break
    return start


#: how many days later than it could a trip may board to find a site with room (minutes)
MAX_SHIFT = 7 * DAY


def _place_with(data: ProblemData, trip: AllocatedTrip, v: int, crew: int, km: float, fleet: Fleet,
                intake: dict[tuple[int, int], int], hold: int = 0, rest: int = 0) -> Booking | Fail:
    vt = data.vehicles[v]
    start = _first_start(data, trip, v, crew, hold, rest)
    pooled = bool(data.pools[v])
    reason = Fail("no_vehicle")
    room = Fail("site_intake_full", room=-1)  # the most room a full site had, to cut the trip
    waited = False  # whether the start was pushed back because every coach (or crew) was busy
    pushed = False  # whether a full site pushed the trip back since the last whole-day shift
    earlier = True  # whether leaving earlier may still let the crew rest before boarding on time
    for _ in range(120):
        try:
            stops = simulate(data, trip, start, crew, intake, hold)
        except Fail as f:
            if f.reason == "site_intake_full" and f.room > room.room:
                room = f
            if f.retry_at is not None and f.retry_at > start:
                reason = f
                pushed = pushed or f.reason == "site_intake_full"
                start = f.retry_at
                continue
            if f.reason == "site_intake_full":
                return room
            if pushed and f.reason in ("ride_time_exceeded", "region_closed") and hold + DAY <= MAX_SHIFT:
                # pushed to the site's opening, the ride broke the limit (another night on the
                # road): board a whole day later instead, which keeps the ride's hours, and so
                # its length, as they were where it fitted
                hold, pushed = hold + DAY, False
                start = _first_start(data, trip, v, crew, hold, rest)
                continue
            if reason.reason == "site_intake_full" and f.reason in ("screening_expired", "ride_time_exceeded",
                                                                    "region_closed"):
                f.by_intake = True  # a full site pushed it to a day it cannot make: reported site_intake_full
                f.room, f.site = room.room, room.site  # what that site could still take, to cut the trip
                return f
            if waited:
                if f.reason in ("ride_time_exceeded", "region_closed"):
                    start += 60  # leaving at another hour may fit (the night rest, a closure)
                    continue
                return Fail("no_driver" if reason.reason == "no_driver" else "no_vehicle")
            if reason.reason == "no_vehicle" or f.reason != "deadline_unreachable":
                return f
            return room if reason.reason == "site_intake_full" else reason
        if earlier and not waited and not pushed:
            earlier = False
            # the crew must rest before boarding (its drive out was long): the workers board
            # later than they were ready, or — where that broke a rule — ride with a loaded
            # wait. Leave the depot that much earlier, when that spares the workers hours.
            target = _ready_board(data, trip, hold)
            humane = stops.humane_board if isinstance(stops, Timed) else None
            late = (humane if humane is not None else stops[1].arrive) - target  # type: ignore[operator]
            leave = max(vt.available_from, data.now, start - late)
            if late > REST_SLACK and leave < start:
                try:
                    sooner = simulate(data, trip, leave, crew, intake, hold)
                except Fail:
                    sooner = None
                if sooner is not None and (rider_minutes(sooner), sooner[1].arrive) < (rider_minutes(stops), stops[1].arrive):
                    start, stops = leave, sooner
        length = stops[-1].arrive - stops[0].depart  # type: ignore[operator]
        options = fleet.free(v, stops[0].depart, length, until=vt.available_until)  # type: ignore[arg-type]
        if not options:
            return Fail("no_vehicle")
        if options[0][0] > stops[0].depart:  # type: ignore[operator]
            start, waited = options[0][0], True
            continue
        ready_now = [b for t, b in options if t <= stops[0].depart]  # type: ignore[operator]
        booked = _book(data, trip, v, crew, fleet, intake, stops, ready_now, start, hold, pooled)
        if isinstance(booked, Booking):
            return booked
        # every free coach's crew (or the pool) needs rest first: leave when one is rested
        start, waited = max(start + 30, booked), True
        if pooled:
            reason = Fail("no_driver")
    return reason


def _ready_board(data: ProblemData, trip: AllocatedTrip, hold: int) -> int:
    """When the first pickup's workers can start boarding (within the boarding hours)."""
    ready = max(board_from(data, trip, o) for o, _ in trip.board[trip.pickups[0]]) + hold
    return board_open(data, trip.pickups[0], ready - data.boarding)


def _book(data: ProblemData, trip: AllocatedTrip, v: int, crew: int, fleet: Fleet, intake: dict[tuple[int, int], int],
          stops: list[TimedStop], buses: list[int], start: int, hold: int, pooled: bool) -> Booking | int:
    """The trip on the first of ``buses`` that can legally run it; else the next start to try."""
    driving = driving_of(stops, crew)
    charge = min(float(data.rules.daily), sum((b - a) * w for a, b, w in driving if b <= driving[0][0] + DAY)) if driving else 0.0
    soonest = NO_LIMIT
    for bus in buses:
        timed_stops = stops
        if pooled:
            drivers = fleet.pick_drivers(v, stops[0].depart, stops[-1].arrive, crew, driving)  # type: ignore[arg-type]
            if drivers is None:
                return start + 60
        else:
            drivers = None
            prior = fleet.prior(v, bus, start) if data.rules.enabled else []
            if prior:
                soonest = min(soonest, fleet.rested(v, bus, start, charge))
                try:
                    timed_stops = simulate(data, trip, start, crew, intake, hold, prior=prior)
                except Fail:
                    continue
                if not fleet.fits(v, bus, timed_stops[0].depart, timed_stops[-1].arrive):  # type: ignore[arg-type]
                    continue
            if not fleet.later_ok(fleet.driven[v][bus], driving_of(timed_stops, crew)):
                continue
        return Booking(trip, v, bus, crew, timed_stops, drivers)
    return soonest if soonest < NO_LIMIT else start + 60


def _commit(data: ProblemData, fleet: Fleet, intake: dict[tuple[int, int], int], b: Booking) -> TimedTrip:
    """Book ``b``: its coach's (or drivers') time and driving, the sites' intake."""
    stops = b.stops
    fleet.block(b.vehicle, b.bus, stops[0].depart, stops[-1].arrive, driving_of(stops, b.crew),  # type: ignore[arg-type]
                b.drivers or ())
    for s in stops:
        if s.kind == "drop" and s.site is not None and data.site_intake[s.site] is not None:
            key = (s.site, s.arrive // DAY)  # type: ignore[operator]
            intake[key] = intake.get(key, 0) + sum(n for _, n in s.loads)
    real_km = _km(data, stops)
    return TimedTrip(b.vehicle, b.bus, b.crew, b.trip.cohort, real_km, trip_cost(data, b.vehicle, real_km, b.crew), stops,
                     drivers=tuple(b.drivers or ()))


def _km(data: ProblemData, stops: list[TimedStop]) -> float:
    return float(sum(data.km[a.place, b.place] for a, b in zip(stops, stops[1:])))


def schedule_with_fallback(data: ProblemData, trips: list[AllocatedTrip], fleet: Fleet,
                           intake: dict[tuple[int, int], int], vtypes: list[int]
                           ) -> tuple[list[TimedTrip], list[tuple[int, int, Reason]]]:
    """Schedule ``trips`` (:func:`_with_fallback`); when a full site leaves workers behind, schedule
    again from the same state with their trips first (a site's day taken by riders who could
    have come another day is then left to them), up to :data:`INTAKE_ROUNDS` times, and keep
    the schedule that plans the most workers (then costs the least)."""
    if not (data.time_rules and any(cap is not None for cap in data.site_intake)):
        return _with_fallback(data, trips, fleet, intake, vtypes)  # no site is ever full
    start_fleet, start_intake = fleet.copy(), dict(intake)
    best = _with_fallback(data, trips, fleet, intake, vtypes)
    best_state: Optional[tuple[Fleet, dict[tuple[int, int], int]]] = None  # None: what ``fleet`` holds
    first: frozenset[int] = frozenset()
    for _ in range(INTAKE_ROUNDS):
        full = frozenset(o for o, _, r in best[1] if r == "site_intake_full")
        if not full or full <= first:
            break
        first = first | full
        try_fleet, try_intake = start_fleet.copy(), dict(start_intake)
        got = _with_fallback(data, trips, try_fleet, try_intake, vtypes, first)
        if _better(got, best):
            best, best_state = got, (try_fleet, try_intake)
    if best_state is not None:
        fleet.restore(best_state[0])
        intake.clear()
        intake.update(best_state[1])
    return best


#: how many times a schedule is tried again with the workers a full site left behind first
INTAKE_ROUNDS = 2


def _better(a: tuple[list[TimedTrip], list[tuple[int, int, Reason]]],
            b: tuple[list[TimedTrip], list[tuple[int, int, Reason]]]) -> bool:
    left_a, left_b = sum(n for _, n, _ in a[1]), sum(n for _, n, _ in b[1])
    return left_a < left_b or (left_a == left_b and sum(t.cost for t in a[0]) < sum(t.cost for t in b[0]) - 1e-6)


def _with_fallback(data: ProblemData, trips: list[AllocatedTrip], fleet: Fleet,
                   intake: dict[tuple[int, int], int], vtypes: list[int], first: frozenset[int] = frozenset()
                   ) -> tuple[list[TimedTrip], list[tuple[int, int, Reason]]]:
    """Schedule ``trips``; a pooled trip that cannot run as drafted goes again with its counties on
    coaches of their own, and a county's trip to several sites with a coach for each site
    (:func:`by_county`), then whatever still fails order by order; what cannot run then is
    unassigned ``(order part, count, reason)`` with the reason that stopped it."""
    timed, failed = schedule(data, trips, fleet, intake, vtypes, first)
    for _ in range(2):  # by county, then a county's part by site
        regrouped: list[AllocatedTrip] = []
        still: list[tuple[AllocatedTrip, Reason]] = []
        for trip, reason in failed:
            parts = by_county(data, trip, vtypes)
            if parts:
                regrouped += parts
            else:
                still.append((trip, reason))
        if not regrouped:
            break
        more, failed_again = schedule(data, regrouped, fleet, intake, vtypes, first)
        timed += more
        failed = still + failed_again
    unassigned: list[tuple[int, int, Reason]] = []
    retry: list[AllocatedTrip] = []
    for trip, reason in failed:
        for loads in trip.board.values():
            for o, n in loads:
                if n < data.min_riders:
                    unassigned.append((o, n, reason))
                else:
                    retry += direct(data, _as_eligible(data, trip, o, n), n, vtypes)
    more, failed_at_last = schedule(data, retry, fleet, intake, vtypes, first)
    timed += more
    # no coach of the type could take them: the coaches of the other types, as many as it takes
    # (two 35-seaters when the 53-seaters are away)
    tried: dict[int, set[int]] = {}
    for _ in range(len(vtypes)):
        again: list[AllocatedTrip] = []
        kept: list[tuple[AllocatedTrip, Reason]] = []
        for trip, reason in failed_at_last:
            done = tried.setdefault(id(trip), set()) | {trip.vehicle}
            others = [v for v in vtypes if v not in done]
            if reason not in ("no_vehicle", "no_driver") or not others:
                kept.append((trip, reason))
                continue
            for loads in trip.board.values():
                for o, n in loads:
                    for t in direct(data, _as_eligible(data, trip, o, n), n, others):
                        tried[id(t)] = done
                        again.append(t)
        if not again:
            break
        more, failed_again = schedule(data, again, fleet, intake, vtypes, first)
        timed += more
        failed_at_last = kept + failed_again
    unassigned += [(o, n, reason) for trip, reason in failed_at_last for loads in trip.board.values() for o, n in loads]
    return timed, unassigned


def _as_eligible(data: ProblemData, trip: AllocatedTrip, order: int, n: int) -> Eligible:
    """An order part's workers of a trip that could not run, to plan on their own: their own
    boarding window, not the one their fellow riders narrowed."""
    lo, hi = trip.window([order])
    return Eligible(order, n, trip.cohort, lo, max(lo, hi))


def book_dispatched(data: ProblemData, fixed: Sequence[Trip]) -> tuple[list[int], Fleet, dict[tuple[int, int], int]]:
    """Book dispatched trips: their coaches' time and their crews' driving, their site intake, and
    their riders (each load counted against the order's part whose screening it can have used:
    the one expiring first that was still valid when it boarded)."""
    already = [0] * len(data.orders)
    fleet = Fleet(data)
    intake: dict[tuple[int, int], int] = {}
    parts: dict[str, list[int]] = defaultdict(list)
    for o in data.orders:
        parts[o.id].append(o.index)
    for ps in parts.values():
        ps.sort(key=lambda i: (data.orders[i].valid_until, i))
    type_index = {v.id: i for i, v in enumerate(data.vehicles)}
    site_index = {s: i for i, s in enumerate(data.site_ids)}
    def first(t: Trip) -> datetime:
        return min(x for s in t.stops for x in (s.depart, s.arrive) if x is not None)

    for trip in sorted(fixed, key=first):
        v = type_index.get(trip.vehicle_type)
        times = [data.minute(t) for s in trip.stops for t in (s.arrive, s.depart) if t is not None]
        if v is not None and trip.bus < data.vehicles[v].count and times:
            w = 1.0 / max(1, trip.crew)
            driving = sorted((data.minute(a), data.minute(b), w) for s in trip.stops for a, b in s.drive)
            pool = set(data.pools[v])
            drivers = [d for d in (trip.drivers or []) if d in pool]
            fleet.block(v, trip.bus, min(times), max(times), driving, drivers)
        for s in trip.stops:
            when = data.minute(s.depart) if s.depart is not None else 0
            for ld in s.board:
                n = ld.count
                ps = parts.get(ld.order, [])
                for i in ps:
                    if n and data.orders[i].valid_until >= when:
                        k = min(n, data.orders[i].cleared - already[i])
                        if k > 0:
                            already[i] += k
                            n -= k
                if n and ps:
                    already[ps[-1]] += n  # more than were cleared: counted, and the checker says so
            if s.kind == "drop" and s.place.id in site_index and s.arrive is not None:
                key = (site_index[s.place.id], data.minute(s.arrive) // DAY)
                intake[key] = intake.get(key, 0) + sum(ld.count for ld in s.alight)
    return already, fleet, intake

