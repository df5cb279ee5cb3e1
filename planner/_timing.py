"""Time one trip under the rules: when it leaves, drives, boards and drops, or why it cannot run.

Pipeline step "schedule", first half: a trip leaving its depot at a given minute is driven leg by
leg under the driving rules (:mod:`planner.driving`, with the driving the coach's crew already
did), waits where a county is closed or a site not yet receiving, and fails with the reason that
stops it (a region closed, a screening expired, a site full, a deadline or the ride limit
missed, the coach not available).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ._trips import AllocatedTrip, TimedStop
from .contract import Reason
from .driving import DAY, DriveLog, DrivingRules, drive
from .problem import ProblemData


class Fail(Exception):
    """A trip cannot run as timed. ``retry_at``: a later start that may fit; ``room``: how many
    of the trip's riders the site of ``site`` could still take that day (site intake);
    ``by_intake``: a full site pushed the trip to the day where ``reason`` stopped it (the
    workers are then reported ``site_intake_full``)."""

    def __init__(self, reason: Reason, retry_at: Optional[int] = None, room: int = 0, site: Optional[int] = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at
        self.room = room
        self.site = site
        self.by_intake = False



def simulate(data: ProblemData, trip: AllocatedTrip, start: int, crew: int, intake: dict[tuple[int, int], int],
             hold: int = 0, prior: Optional[list[tuple[int, int, float]]] = None) -> list[TimedStop]:
    """Time one trip leaving its depot at ``start``; raise :class:`Fail` when a rule breaks.

    ``hold`` minutes are added to the first pickup's ready time (boarding later in the day can
    shorten a long ride that would otherwise run into the night rest). ``prior``: the driving
    the crew has done on the coach's earlier trips (it counts towards the daily limit); when the
    crew must rest first, the coach waits at the depot and leaves when the driving starts."""
    vt = data.vehicles[trip.vehicle]
    rules = trip_rules(data, trip)
    log = DriveLog.seeded(crew, prior, rules) if prior else DriveLog(crew=crew)
    stops = [TimedStop("depart", vt.depot, None, None, start)]
    t, here = start, vt.depot
    boarded: dict[int, int] = {}
    for i, p in enumerate(trip.pickups):
        loads = trip.board[p]
        ready = max(board_from(data, trip, o) for o, _ in loads) + (hold if i == 0 else 0)
        arrive, iv = drive(log, t, rules.minutes(data.km[here, p]), rules)
        if i == 0 and iv and iv[0][0] > start:
            stops[0].depart = iv[0][0]  # the crew rested at the depot: the coach leaves when it drives
        arrive = max(arrive, ready - data.boarding)  # hold on the road rather than wait in a closed county
        depart = arrive + data.boarding
        at_station = p in data.station_place  # a last mile's pickup: its workers' county was checked at home
        if not at_station and (data.risk_at(p, arrive) >= 2 or data.risk_at(p, depart - 1) >= 2
                               or data.risk_at(p, depart) != trip.cohort):
            raise Fail("region_closed")
        for o, _ in loads:
            od = data.orders[o]
            if depart > od.valid_until:
                raise Fail("screening_expired")
            boarded[o] = depart
        stops.append(TimedStop("pickup", p, None, arrive, depart, list(loads), iv))
        t, here = depart, p
    drops: dict[int, list[tuple[int, int]]] = {}
    for loads in trip.board.values():
        for o, n in loads:
            drops.setdefault(data.orders[o].site, []).append((o, n))
    for s in trip.sites:
        sp = data.site_place[s]
        arrive, iv = drive(log, t, rules.minutes(data.km[here, sp]), rules)
        arrive = data.open_at(s, arrive, data.alighting)
        depart = arrive + data.alighting
        n_here = sum(n for _, n in drops[s])
        cap = data.site_intake[s]
        if data.time_rules and cap is not None:
            day = (arrive // DAY)
            room = cap - intake.get((s, day), 0)
            if n_here > room:
                raise Fail("site_intake_full", retry_at=(day + 1) * DAY + data.site_hours[s][0] - (arrive - start),
                           room=max(0, room), site=s)
        for o, _ in drops[s]:
            od = data.orders[o]
            if data.time_rules and arrive > od.arrive_by:
                raise Fail("deadline_unreachable")
            if data.time_rules and arrive - boarded[o] > data.max_ride:
                raise Fail("ride_time_exceeded")
        stops.append(TimedStop("drop", sp, s, arrive, depart, list(drops[s]), iv))
        t, here = depart, sp
    arrive, iv = drive(log, t, rules.minutes(data.km[here, vt.depot]), rules)
    stops.append(TimedStop("return", vt.depot, None, arrive, None, [], iv))
    if stops[0].depart < vt.available_from or arrive > vt.available_until:  # type: ignore[operator]
        raise Fail("no_vehicle")
    return stops



def purpose(data: ProblemData, trip: AllocatedTrip) -> str:
    """``direct``, ``feeder`` or ``last_mile``: what the trip's order parts are legs of."""
    first = next(o for loads in trip.board.values() for o, _ in loads)
    return data.orders[first].leg


def one_way_km(data: ProblemData, depot: int, pickups: tuple[int, ...], sites: tuple[int, ...]) -> float:
    """The longer of a trip's outbound run (depot → last pickup) and loaded run (first pickup → last drop)."""
    km = data.km
    out = km[depot, pickups[0]] + sum(km[a, b] for a, b in zip(pickups, pickups[1:]))
    seq = list(pickups) + [data.site_place[s] for s in sites]
    loaded = sum(km[a, b] for a, b in zip(seq, seq[1:]))
    return float(max(out, loaded))


def trip_rules(data: ProblemData, trip: AllocatedTrip) -> DrivingRules:
    """The driving rules of a trip: a feeder or last mile whose one-way distance is at most
    ``feeder_night_exempt_km`` may drive in the night rest."""
    rules = data.rules
    if rules.night_rest is None or purpose(data, trip) == "direct":
        return rules
    if one_way_km(data, data.vehicles[trip.vehicle].depot, trip.pickups, trip.sites) > data.exempt_km:
        return rules
    return replace(rules, night_rest=None)


def board_from(data: ProblemData, trip: AllocatedTrip, order: int) -> int:
    o = data.orders[order]
    return max(o.earliest, data.now, trip.lo)



def driving_of(stops: list[TimedStop], crew: int) -> list[tuple[int, int, float]]:
    """A timed trip's driving as charged to each of its ``crew`` drivers."""
    w = 1.0 / max(1, crew)
    return [(a, b, w) for s in stops for a, b in s.drive]

