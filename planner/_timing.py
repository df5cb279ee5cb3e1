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

from ._pricing import detour_applies, detour_limit
from ._trips import AllocatedTrip, TimedStop
from .contract import Reason
from .driving import DAY, DriveLog, DrivingRules, drive
from .params import hurry
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
             hold: int = 0, prior: Optional[list[tuple[int, int, float]]] = None, humane: bool = True
             ) -> list[TimedStop]:
    """Time one trip leaving its depot at ``start``; raise :class:`Fail` when a rule breaks.

    ``hold`` minutes are added to the first pickup's ready time (boarding later in the day can
    shorten a long ride that would otherwise run into the night rest). ``prior``: the driving
    the crew has done on the coach's earlier trips (it counts towards the daily limit); when the
    crew must rest first, the coach waits at the depot and leaves when the driving starts.

    Workers board at home within the boarding hours. With ``humane`` (the default) the first
    boarding is planned around them (:func:`_humane_boarding`): the crew rests before it boards
    rather than stop the loaded coach for a rest a fresh crew would not need, and the coach
    boards later rather than wait loaded for a later county's workers or a site that is not
    receiving yet. When that timing breaks a rule the trip is timed as before: boarding as soon
    as the workers are ready (a legal plan with a loaded wait is better than none)."""
    vt = data.vehicles[trip.vehicle]
    rules = trip_rules(data, trip)
    log = DriveLog.seeded(crew, prior, rules) if prior else DriveLog(crew=crew)
    depart = TimedStop("depart", vt.depot, None, None, start)
    first = trip.pickups[0]
    arrive, iv = drive(log, start, int(data.drive[vt.depot, first]), rules)
    if iv and iv[0][0] > start:
        depart.depart = iv[0][0]  # the crew rested at the depot: the coach leaves when it drives
    ready = max(board_from(data, trip, o) for o, _ in trip.board[first]) + hold
    soonest = max(arrive, ready - data.boarding)  # hold on the road rather than wait in a closed county
    plain = board_open(data, first, soonest)
    board = _humane_boarding(data, trip, log, plain, rules) if humane and data.time_rules and not hurry() else plain
    try:
        return Timed(_run(data, trip, log.copy() if board != plain else log, board, depart, iv, intake))
    except Fail as f:
        if board == plain:
            raise _boarding_hours_cause(data, trip, log, soonest, plain, depart, iv, intake, f) from None
    try:
        return Timed(_run(data, trip, log, plain, depart, iv, intake), humane_board=board)
    except Fail as f:
        raise _boarding_hours_cause(data, trip, log, soonest, plain, depart, iv, intake, f) from None


class Timed(list):
    """A trip's timed stops; ``humane_board``: when the workers would have boarded had the trip
    been timed around them — set when that timing broke a rule and the trip boards as soon as
    its workers are ready instead (the caller may then try leaving the depot earlier)."""

    def __init__(self, stops: list[TimedStop], humane_board: Optional[int] = None):
        super().__init__(stops)
        self.humane_board = humane_board


def _boarding_hours_cause(data: ProblemData, trip: AllocatedTrip, log: DriveLog, soonest: int, plain: int,
                          depart: TimedStop, iv: list[tuple[int, int]], intake: dict[tuple[int, int], int],
                          failed: Fail) -> Fail:
    """``failed``, or ``outside_boarding_hours`` when the trip would have run had its workers been
    allowed to board outside the boarding hours (the hours are then the true cause)."""
    if failed.reason not in ("screening_expired", "deadline_unreachable", "ride_time_exceeded", "region_closed") \
            or data.board_hours is None or failed.retry_at is not None:
        return failed
    try:
        _run(data, trip, log.copy(), soonest, depart, iv, dict(intake), hours=False)
    except Fail:
        return failed
    return Fail("outside_boarding_hours")


#: how many times the first boarding may be moved to spare the workers a loaded wait
SHIFTS = 6
#: minutes of extra loaded time (over a fresh crew's) that make the crew rest before boarding
REST_SLACK = 15
#: the least rest (minutes) before boarding a tired crew takes
REST_STEP = 15


def _humane_boarding(data: ProblemData, trip: AllocatedTrip, log: DriveLog, board: int, rules: DrivingRules) -> int:
    """The first boarding, moved later (at most :data:`SHIFTS` times) until the loaded coach never
    waits: the crew rests before boarding when its earlier driving would stop the loaded coach
    for longer than a crew fresh at boarding needs, and the coach boards later by as much as it
    would wait loaded for a later county's workers, the boarding hours or a site's opening."""
    loaded_drive = _loaded_drive(data, trip, rules)
    first = trip.pickups[0]
    for _ in range(SHIFTS):
        board = board_open(data, first, board)
        # a crew whose earlier driving would stop the loaded coach rests before boarding instead,
        # as long as the loaded run would have stood still (the rest, taken earlier, lets the
        # earlier driving leave the crew's 24 h window sooner: the run then takes a fresh crew's
        # time and arrives no later)
        if log.intervals and rules.enabled and (
                log.trailing(board) + loaded_drive * log.weight > rules.daily
                or (log.last_end is not None and board + data.boarding - log.last_end < rules.break_minutes)):
            extra = _extra(data, trip, log, board, rules)
            if extra > REST_SLACK:
                board += max(extra, REST_STEP)
                continue
        _, wait = _loaded(data, trip, log.copy(), board, rules, first_wait=True)
        if wait <= 0:
            return board
        board += wait
    return board_open(data, first, board)


def _extra(data: ProblemData, trip: AllocatedTrip, log: DriveLog, board: int, rules: DrivingRules) -> int:
    """Minutes the crew's earlier driving adds to the loaded run from ``board`` (over a fresh crew's)."""
    end, _ = _loaded(data, trip, log.copy(), board, rules)
    fresh, _ = _loaded(data, trip, DriveLog(crew=log.crew), board, rules)
    return end - fresh


def fresh_ride(data: ProblemData, trip: AllocatedTrip, board: int, crew: int = 2) -> int:
    """Minutes from the first boarding's end to the last drop (the sites' opening included) for a
    crew of ``crew`` fresh at ``board`` (the first pickup's arrival)."""
    rules = trip_rules(data, trip)
    end, _ = _loaded(data, trip, DriveLog(crew=crew), board, rules)
    return data.open_at(trip.sites[-1], end, data.alighting) - (board + data.boarding)


def fresh_detours_fit(data: ProblemData, trip: AllocatedTrip, board: int) -> bool:
    """Whether every rider's detour (:func:`~planner._pricing.detour_limit`) fits when two drivers
    fresh at ``board`` (the first pickup's arrival) run the trip, each later pickup boarding when
    its workers are ready within the boarding hours and each site receiving within its hours."""
    if not detour_applies(data, trip.pickups, trip.sites):
        return True
    rules = trip_rules(data, trip)
    log = DriveLog(crew=2)
    t, here = board + data.boarding, trip.pickups[0]
    on: dict[int, tuple[int, int]] = {o: (t, 0) for o, _ in trip.board[here]}  # order part → (boarded, position)
    for i, p in enumerate(trip.pickups[1:], 1):
        arrive, _ = drive(log, t, int(data.drive[here, p]), rules)
        ready = max(board_from(data, trip, o) for o, _ in trip.board[p])
        t, here = board_open(data, p, max(arrive, ready - data.boarding)) + data.boarding, p
        on.update({o: (t, i) for o, _ in trip.board[p]})
    at = len(trip.pickups)
    for k, s in enumerate(trip.sites):
        sp = data.site_place[s]
        arrive, _ = drive(log, t, int(data.drive[here, sp]), rules)
        arrive = data.open_at(s, arrive, data.alighting)
        for o, (boarded, i) in on.items():
            od = data.orders[o]
            if od.site == s and at + k > i + 1 and od.leg == "direct" \
                    and arrive - boarded > detour_limit(data, od.place, s):
                return False
        t, here = arrive + data.alighting, sp
    return True


def _loaded_drive(data: ProblemData, trip: AllocatedTrip, rules: DrivingRules) -> int:
    """Minutes of driving from the first pickup to the last drop."""
    seq = list(trip.pickups) + [data.site_place[s] for s in trip.sites]
    return sum(int(data.drive[a, b]) for a, b in zip(seq, seq[1:]))


def _loaded(data: ProblemData, trip: AllocatedTrip, log: DriveLog, board: int, rules: DrivingRules,
            first_wait: bool = False) -> tuple[int, int]:
    """The loaded run from a first boarding at ``board`` (``log`` is driven): when its driving
    reaches the last drop (before any wait for the site to open), and (with ``first_wait``) how
    long it first waits loaded for a window (a later county's workers or boarding hours, a
    site's receiving hours) — then it stops there."""
    t, here = board + data.boarding, trip.pickups[0]
    for p in trip.pickups[1:]:
        arrive, _ = drive(log, t, int(data.drive[here, p]), rules)
        ready = max(board_from(data, trip, o) for o, _ in trip.board[p])
        at = board_open(data, p, max(arrive, ready - data.boarding))
        if first_wait and at > arrive:
            return at, at - arrive
        t, here = at + data.boarding, p
    for k, s in enumerate(trip.sites):
        sp = data.site_place[s]
        arrive, _ = drive(log, t, int(data.drive[here, sp]), rules)
        at = data.open_at(s, arrive, data.alighting)
        if first_wait and at > arrive:
            return at, at - arrive
        if k == len(trip.sites) - 1:
            return arrive, 0
        t, here = at + data.alighting, sp
    return t, 0


def _run(data: ProblemData, trip: AllocatedTrip, log: DriveLog, board: int, leave: TimedStop,
         iv: list[tuple[int, int]], intake: dict[tuple[int, int], int], hours: bool = True) -> list[TimedStop]:
    """The trip from its first boarding at ``board`` (the coach drove ``iv`` to get there): its
    stops, or :class:`Fail` with the rule that stops it. ``hours`` false lets later pickups board
    outside the boarding hours (to tell whether the hours are what stops a trip)."""
    vt = data.vehicles[trip.vehicle]
    rules = trip_rules(data, trip)
    stops = [TimedStop("depart", leave.place, None, None, leave.depart)]
    start = stops[0].depart
    assert start is not None
    t, here = board, vt.depot
    boarded: dict[int, int] = {}
    picked: dict[int, int] = {}  # order part → its pickup's position (detours: a stop in between)
    for i, p in enumerate(trip.pickups):
        loads = trip.board[p]
        if i == 0:
            arrive, leg = board, iv
        else:
            ready = max(board_from(data, trip, o) for o, _ in loads)
            arrive, leg = drive(log, t, int(data.drive[here, p]), rules)
            arrive = max(arrive, ready - data.boarding)
            if hours:
                arrive = board_open(data, p, arrive)
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
            picked[o] = i
        stops.append(TimedStop("pickup", p, None, arrive, depart, list(loads), leg))
        t, here = depart, p
    detour = detour_applies(data, trip.pickups, trip.sites)
    drops: dict[int, list[tuple[int, int]]] = {}
    for loads in trip.board.values():
        for o, n in loads:
            drops.setdefault(data.orders[o].site, []).append((o, n))
    for k, s in enumerate(trip.sites):
        sp = data.site_place[s]
        arrive, leg = drive(log, t, int(data.drive[here, sp]), rules)
        arrive = data.open_at(s, arrive, data.alighting)
        at = len(trip.pickups) + k  # the drop's position after the pickups
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
            if detour and at > picked[o] + 1 and od.leg == "direct" \
                    and arrive - boarded[o] > detour_limit(data, od.place, s):
                raise Fail("ride_time_exceeded")  # a detour longer than the policy allows
        stops.append(TimedStop("drop", sp, s, arrive, depart, list(drops[s]), leg))
        t, here = depart, sp
    arrive, leg = drive(log, t, int(data.drive[here, vt.depot]), rules)
    stops.append(TimedStop("return", vt.depot, None, arrive, None, [], leg))
    if start < vt.available_from or arrive > vt.available_until:
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


def board_open(data: ProblemData, place: int, t: int) -> int:
    """The earliest t' ≥ t at which workers may start boarding at ``place``: within the boarding
    hours at home; at any hour at a station (a last mile takes its workers off their train)."""
    return t if place in data.station_place else data.board_open(t)


def board_from(data: ProblemData, trip: AllocatedTrip, order: int) -> int:
    o = data.orders[order]
    return max(o.earliest, data.now, trip.lo)



def driving_of(stops: list[TimedStop], crew: int) -> list[tuple[int, int, float]]:
    """A timed trip's driving as charged to each of its ``crew`` drivers."""
    w = 1.0 / max(1, crew)
    return [(a, b, w) for s in stops for a, b in s.drive]



def fresh_minutes(data: ProblemData, trip: AllocatedTrip, stops: list[TimedStop], i: int, j: int, crew: int) -> int:
    """Minutes a crew of ``crew`` fresh at stop ``i``'s departure needs to reach stop ``j``: the
    same legs, each stop in between as short as allowed, driven as early as the rules let it."""
    rules = trip_rules(data, trip)
    log = DriveLog(crew=crew)
    t0 = stops[i].depart
    assert t0 is not None
    t = t0
    for k in range(i + 1, j + 1):
        if k > i + 1:
            t += data.boarding if stops[k - 1].kind == "pickup" else data.alighting
        t, _ = drive(log, t, int(data.drive[stops[k - 1].place, stops[k].place]), rules)
    return t - t0


def loaded_wait(data: ProblemData, trip: AllocatedTrip, stops: list[TimedStop], crew: int) -> int:
    """Minutes the loaded coach (first boarding → last drop) stands still beyond what a crew of
    ``crew`` fresh at the first boarding would need."""
    picks = [k for k, s in enumerate(stops) if s.kind == "pickup"]
    drops = [k for k, s in enumerate(stops) if s.kind == "drop"]
    if not picks or not drops:
        return 0
    i, j = picks[0], drops[-1]
    took = stops[j].arrive - stops[i].depart  # type: ignore[operator]
    return max(0, took - fresh_minutes(data, trip, stops, i, j, crew))


def as_allocated(vehicle: int, cohort: int, stops: list[TimedStop]) -> AllocatedTrip:
    """The allocated trip a timed one runs (its pickups, sites and loads), to time it again."""
    pickups = tuple(s.place for s in stops if s.kind == "pickup")
    sites = tuple(s.site for s in stops if s.kind == "drop" and s.site is not None)
    board = {s.place: list(s.loads) for s in stops if s.kind == "pickup"}
    return AllocatedTrip(vehicle, pickups, sites, cohort, board, 0, 0)
