"""When each trip runs and on which coach.

Drafted trips (who rides with whom) get their orders, a start time, a coach of their type and a
timetable that follows the driving rules, the order windows, the sites' receiving hours and
daily intake, and the coaches' availability. Trips are placed most urgent first, each on the coach
of its type that is free earliest for the whole trip (so coaches run trip after trip through the
window); a long ride may board at another hour or after a crew rest. A trip that cannot run as
drafted is re-planned by the caller (county by county, then order by order); what still cannot
run is unassigned with the reason that stopped it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Optional

from ._pool import Draft, Key, best_route, crew_needed, ride_fits, site_room, trip_cost
from .driving import DAY, DriveLog, drive
from .eligibility import Eligible, ProblemData

INF = 10**12


@dataclass
class Stop:
    kind: str  # depart | pickup | drop | return
    place: int
    site: Optional[int]
    arrive: Optional[int]
    depart: Optional[int]
    loads: list[tuple[int, int]] = field(default_factory=list)  # (order index, count)
    drive: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Timed:
    vehicle: int
    bus: int
    crew: int
    cohort: int
    km: float
    cost: float
    stops: list[Stop]
    fixed: bool = False

    @property
    def start(self) -> int:
        return self.stops[0].depart  # type: ignore[return-value]

    @property
    def end(self) -> int:
        return self.stops[-1].arrive  # type: ignore[return-value]


@dataclass
class Allocated:
    """A draft with its orders: per pickup place and per site, which order and how many."""

    vehicle: int
    pickups: tuple[int, ...]
    sites: tuple[int, ...]
    cohort: int
    board: dict[int, list[tuple[int, int]]]  # place → [(order, n)]
    lo: int
    hi: int

    @property
    def riders(self) -> int:
        return sum(n for loads in self.board.values() for _, n in loads)


# ---------------------------------------------------------------- allocation


def allocate(data: ProblemData, drafts: list[Draft], eligible: list[Eligible]
             ) -> tuple[list[Allocated], list[tuple[Eligible, int]]]:
    """Give each draft's key slots to concrete orders, keeping every trip's boarding window open.

    Returns the allocated trips and the (eligible group, count) chunks that found no compatible
    slot (they are planned on their own later).
    """
    by_key: dict[Key, list[list]] = {}
    for e in sorted(eligible, key=lambda e: (e.board_until, e.board_from, e.order)):
        o = data.orders[e.order]
        by_key.setdefault((o.place, e.cohort, o.site), []).append([e, e.count])
    windows = [[-INF, INF] for _ in drafts]
    spans = [pickup_span(data, d.pickups) for d in drafts]
    boards: list[dict[int, list[tuple[int, int]]]] = [dict() for _ in drafts]
    slots: dict[Key, list[list[int]]] = {}
    for i, d in enumerate(drafts):
        for key, n in d.loads:
            slots.setdefault(key, []).append([i, n])
    for key, key_slots in slots.items():
        # trips shared with other counties first: their window is already narrowed by the others,
        # while a county's own coaches can take whichever of its orders are left
        key_slots.sort(key=lambda slot: (-len(drafts[slot[0]].pickups), slot[0]))
        queue = by_key.get(key, [])
        for item in queue:
            e, need = item
            for slot in key_slots:
                if need == 0:
                    break
                i, room = slot
                if room == 0:
                    continue
                lo, hi = max(windows[i][0], e.board_from), min(windows[i][1], e.board_until)
                if lo + spans[i] > hi:  # the last pickup boards up to a span after the first
                    continue
                take = min(room, need)
                windows[i] = [lo, hi]
                boards[i].setdefault(key[0], []).append((e.order, take))
                slot[1] -= take
                need -= take
            item[1] = need
    leftovers: list[tuple[Eligible, int]] = []
    for queue in by_key.values():
        for e, need in queue:
            if need:
                leftovers.append((e, need))
    out: list[Allocated] = []
    for i, d in enumerate(drafts):
        if not boards[i]:
            continue
        pickups = tuple(p for p in d.pickups if p in boards[i])
        sites = tuple(sorted({data.orders[o].site for loads in boards[i].values() for o, _ in loads}))
        km, pickups, sites = best_route(data, data.vehicles[d.vehicle].depot, pickups, sites)
        cohort = d.loads[0][0][1]
        out.append(Allocated(d.vehicle, pickups, sites, cohort, boards[i], windows[i][0], windows[i][1]))
    return out, leftovers


def pickup_span(data: ProblemData, pickups: tuple[int, ...]) -> int:
    """An estimate of the minutes from the first boarding to the last: the drives between pickups
    with their breaks and the boarding stops (a night rest in between is left to the scheduler)."""
    if len(pickups) < 2:
        return 0
    rules = data.rules
    drive_min = sum(rules.minutes(data.km[a, b]) for a, b in zip(pickups, pickups[1:]))
    span = drive_min + data.boarding * (len(pickups) - 1)
    if rules.enabled:
        span += (drive_min // rules.night_continuous + 1) * rules.break_minutes
    return span


def by_pickup(data: ProblemData, job: Allocated, vtypes: list[int]) -> list[Allocated]:
    """A trip that could not run, as one trip per pickup county (its orders together), each on
    the cheapest coach that holds it; a county with more workers than a coach falls to
    :func:`direct` order by order."""
    out: list[Allocated] = []
    biggest = max(data.vehicles[v].capacity for v in vtypes)
    for p in job.pickups:
        loads = job.board[p]
        n = sum(c for _, c in loads)
        sites = tuple(sorted({data.orders[o].site for o, _ in loads}))
        if n > biggest:
            return []
        fits = [v for v in vtypes if data.vehicles[v].capacity >= n]
        km, pk, st = best_route(data, data.vehicles[fits[0]].depot, (p,), sites)
        v = min(fits, key=lambda v: (trip_cost(data, v, km, 1), v))
        out.append(Allocated(v, pk, st, job.cohort, {p: list(loads)}, job.lo, job.hi))
    return out


def fit_in(data: ProblemData, jobs: list[Allocated], e: Eligible, n: int, vtypes: list[int]) -> int:
    """Seat workers that allocation left over on allocated trips of their cohort: free seats (or a
    larger coach type), a boarding window shared with the trip's riders, at most ``max_stops``
    pickups, the sites' room and the ride limit; least added km first. Kept only when the added km
    stay below a coach of their own (or when they are too few to ride alone). Returns how many
    got a seat; the rest go :func:`direct`."""
    o = data.orders[e.order]
    biggest = max(data.vehicles[v].capacity for v in vtypes)
    trial = list(jobs)
    added, left = 0.0, n
    while left > 0:
        best = None
        for idx, job in enumerate(trial):
            if job.cohort != e.cohort or job.vehicle not in vtypes:
                continue
            pickups = job.pickups if o.place in job.board else job.pickups + (o.place,)
            if len(pickups) > data.max_stops:
                continue
            sites = tuple(sorted(set(job.sites) | {o.site}))
            room = min([biggest] + [site_room(data, s) for s in sites]) - job.riders
            if room <= 0:
                continue
            lo, hi = max(job.lo, e.board_from), min(job.hi, e.board_until)
            depot = data.vehicles[job.vehicle].depot
            km, pk, st = best_route(data, depot, pickups, sites)
            if lo + pickup_span(data, pk) > hi:
                continue
            if len(pk) > 1 and data.time_rules and not ride_fits(data, pk, st):
                continue
            extra = km - best_route(data, depot, job.pickups, job.sites)[0]
            take = min(left, room)
            if best is None or (extra / take, idx) < best[:2]:
                best = (extra / take, idx, take, extra, pk, st, lo, hi)
        if best is None:
            break
        _, idx, take, extra, pk, st, lo, hi = best
        job = trial[idx]
        board = {p: list(loads) for p, loads in job.board.items()}
        board.setdefault(o.place, []).append((e.order, take))
        riders = job.riders + take
        v = job.vehicle
        if data.vehicles[v].capacity < riders:
            km = best_route(data, data.vehicles[v].depot, pk, st)[0]
            v = min((v for v in vtypes if data.vehicles[v].capacity >= riders),
                    key=lambda v: (trip_cost(data, v, km, 1), v))
        trial[idx] = Allocated(v, pk, st, job.cohort, board, lo, hi)
        added += extra
        left -= take
    if left and left >= data.min_riders:
        return 0  # they need a coach of their own anyway: keep them together
    if n >= data.min_riders:
        own = sum(best_route(data, data.vehicles[j.vehicle].depot, j.pickups, j.sites)[0]
                  for j in direct(data, e, n, vtypes))
        if added >= own:
            return 0
    jobs[:] = trial
    return n - left


def direct(data: ProblemData, e: Eligible, n: int, vtypes: list[int]) -> list[Allocated]:
    """One order's workers on coaches of their own: the cheapest types that hold them."""
    o = data.orders[e.order]
    out: list[Allocated] = []
    while n > 0:
        fits = [v for v in vtypes if data.vehicles[v].capacity >= n]
        if fits:
            v = min(fits, key=lambda v: (trip_cost(data, v, data.km[data.vehicles[v].depot, o.place] * 2, 1), v))
        else:
            v = max(vtypes, key=lambda v: (data.vehicles[v].capacity, -v))
        take = min(n, data.vehicles[v].capacity)
        out.append(Allocated(v, (o.place,), (o.site,), e.cohort, {o.place: [(e.order, take)]},
                             e.board_from, e.board_until))
        n -= take
    return out


# ---------------------------------------------------------------- timing


class Fail(Exception):
    def __init__(self, reason: str, retry_at: Optional[int] = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at


def _open_at(data: ProblemData, site: int, t: int, dwell: int) -> int:
    """The earliest t' ≥ t at which a drop of ``dwell`` minutes fits inside receiving hours."""
    a, b = data.site_hours[site]
    if not data.time_rules:
        return t
    for _ in range(3):
        m = t % DAY
        if a <= m and m + dwell <= b:
            return t
        day = t - m
        t = day + a if m < a else day + DAY + a
    return t


def simulate(data: ProblemData, job: Allocated, start: int, crew: int, intake: dict[tuple[int, int], int],
             hold: int = 0) -> list[Stop]:
    """Time one trip leaving its depot at ``start``; raise :class:`Fail` when a rule breaks.

    ``hold`` minutes are added to the first pickup's ready time (boarding later in the day can
    shorten a long ride that would otherwise run into the night rest)."""
    vt = data.vehicles[job.vehicle]
    rules = data.rules
    log = DriveLog(crew=crew)
    stops = [Stop("depart", vt.depot, None, None, start)]
    t, here = start, vt.depot
    boarded: dict[int, int] = {}
    for i, p in enumerate(job.pickups):
        loads = job.board[p]
        ready = max(data_board_from(data, job, o) for o, _ in loads) + (hold if i == 0 else 0)
        arrive, iv = drive(log, t, rules.minutes(data.km[here, p]), rules)
        arrive = max(arrive, ready - data.boarding)  # hold on the road rather than wait in a closed county
        depart = arrive + data.boarding
        if data.risk_at(p, arrive) >= 2 or data.risk_at(p, depart - 1) >= 2 or data.risk_at(p, depart) != job.cohort:
            raise Fail("region_closed")
        for o, _ in loads:
            od = data.orders[o]
            if depart > od.valid_until:
                raise Fail("screening_expired")
            boarded[o] = depart
        stops.append(Stop("pickup", p, None, arrive, depart, list(loads), iv))
        t, here = depart, p
    drops: dict[int, list[tuple[int, int]]] = {}
    for loads in job.board.values():
        for o, n in loads:
            drops.setdefault(data.orders[o].site, []).append((o, n))
    for s in job.sites:
        sp = data.site_place[s]
        arrive, iv = drive(log, t, rules.minutes(data.km[here, sp]), rules)
        arrive = _open_at(data, s, arrive, data.alighting)
        depart = arrive + data.alighting
        n_here = sum(n for _, n in drops[s])
        cap = data.site_intake[s]
        if data.time_rules and cap is not None:
            day = (arrive // DAY)
            if intake.get((s, day), 0) + n_here > cap:
                raise Fail("site_intake_full", retry_at=(day + 1) * DAY + data.site_hours[s][0] - (arrive - start))
        for o, _ in drops[s]:
            od = data.orders[o]
            if data.time_rules and arrive > od.arrive_by:
                raise Fail("deadline_unreachable")
            if data.time_rules and arrive - boarded[o] > data.max_ride:
                raise Fail("ride_time_exceeded")
        stops.append(Stop("drop", sp, s, arrive, depart, list(drops[s]), iv))
        t, here = depart, sp
    arrive, iv = drive(log, t, rules.minutes(data.km[here, vt.depot]), rules)
    stops.append(Stop("return", vt.depot, None, arrive, None, [], iv))
    if start < vt.available_from or arrive > vt.available_until:
        raise Fail("no_vehicle")
    return stops


def data_board_from(data: ProblemData, job: Allocated, order: int) -> int:
    o = data.orders[order]
    return max(o.earliest, job.lo if job.lo > -INF else o.earliest)


# ---------------------------------------------------------------- coaches


class Fleet:
    """Busy intervals of every coach, to place trips without overlap."""

    def __init__(self, data: ProblemData):
        self.busy: list[list[list[tuple[int, int]]]] = [[[] for _ in range(vt.count)] for vt in data.vehicles]

    def block(self, v: int, b: int, start: int, end: int) -> None:
        bisect.insort(self.busy[v][b], (start, end))

    def earliest(self, v: int, start: int, length: int, until: int = INF) -> tuple[Optional[int], Optional[int]]:
        """The earliest t ≥ ``start`` (and ≤ ``until``) at which some coach of type ``v`` is free
        for ``length`` minutes, and that coach (of those free then, the one idle the shortest)."""
        best_t, best_b, best_gap = None, None, None
        for b, iv in enumerate(self.busy[v]):
            t, prev_end = start, -INF
            i = bisect.bisect_left(iv, (start, -INF))
            if i > 0:
                prev_end = iv[i - 1][1]
                t = max(t, prev_end)
            while i < len(iv) and iv[i][0] < t + length:
                prev_end = iv[i][1]
                t = max(t, prev_end)
                i += 1
            if t > until:
                continue
            gap = t - prev_end
            if best_t is None or (t, gap) < (best_t, best_gap):
                best_t, best_b, best_gap = t, b, gap
        return best_t, best_b


def schedule(data: ProblemData, jobs: list[Allocated], fleet: Fleet, intake: dict[tuple[int, int], int],
             vtypes: list[int]) -> tuple[list[Timed], list[tuple[Allocated, str]]]:
    """Place jobs most urgent first; return timed trips and the jobs that could not run, with why."""
    timed: list[Timed] = []
    failed: list[tuple[Allocated, str]] = []
    for job in sorted(jobs, key=lambda j: (j.hi, j.lo, -j.riders)):
        result = place(data, job, fleet, intake, vtypes)
        if isinstance(result, Timed):
            timed.append(result)
        else:
            failed.append((job, result))
    return timed, failed


def place(data: ProblemData, job: Allocated, fleet: Fleet, intake: dict[tuple[int, int], int],
          vtypes: list[int]) -> Timed | str:
    """Find a start and a coach for one job; book them; return the trip or the reason it failed."""
    riders = job.riders
    types = [job.vehicle] + sorted((v for v in vtypes if v != job.vehicle and data.vehicles[v].capacity >= riders),
                                   key=lambda v: (data.vehicles[v].cost_per_km, data.vehicles[v].fixed_cost, v))
    reason = "no_vehicle"
    for v in types:
        if data.vehicles[v].capacity < riders or data.vehicles[v].count == 0:
            continue
        vjob = job if v == job.vehicle else Allocated(v, job.pickups, job.sites, job.cohort, job.board, job.lo, job.hi)
        depot = data.vehicles[v].depot
        km, pickups, sites = best_route(data, depot, vjob.pickups, vjob.sites)
        base = crew_needed(data, depot, pickups, sites)
        for crew in sorted({base, 2}):
            got = _place_with(data, vjob, v, crew, km, fleet, intake)
            if isinstance(got, Timed):
                return got
            reason = got
            if got not in ("deadline_unreachable", "ride_time_exceeded"):
                break
        if reason == "ride_time_exceeded" and data.rules.enabled:
            # a long ride can fit when it boards at another hour, or after the crew has rested
            for rest in (0, 600):
                for hold in range(0 if rest else 60, DAY, 60):
                    got = _place_with(data, vjob, v, 2, km, fleet, intake, hold=hold, rest=rest)
                    if isinstance(got, Timed):
                        return got
                    if got != "ride_time_exceeded":
                        break
    return reason


def _place_with(data: ProblemData, job: Allocated, v: int, crew: int, km: float, fleet: Fleet,
                intake: dict[tuple[int, int], int], hold: int = 0, rest: int = 0) -> Timed | str:
    vt = data.vehicles[v]
    first = job.pickups[0]
    ready = max(data_board_from(data, job, o) for o, _ in job.board[first]) + hold
    # aim to reach the first pickup just as its workers are ready
    probe = DriveLog(crew=crew)
    lead, _ = drive(probe, ready, data.rules.minutes(data.km[vt.depot, first]), data.rules)
    start = max(vt.available_from, ready - data.boarding - (lead - ready) - rest)
    # the night rest can stall a coach on its way out: leave earlier until it is there on time
    need = data.rules.minutes(data.km[vt.depot, first])
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
    reason = "no_vehicle"
    waited = False  # whether the start was pushed back because every coach was busy
    for _ in range(120):
        try:
            stops = simulate(data, job, start, crew, intake, hold)
        except Fail as f:
            if f.retry_at is not None and f.retry_at > start:
                reason = f.reason
                start = f.retry_at
                continue
            if waited:
                if f.reason in ("ride_time_exceeded", "region_closed"):
                    start += 60  # leaving at another hour may fit (the night rest, a closure)
                    continue
                return "no_vehicle"
            return f.reason if reason == "no_vehicle" or f.reason != "deadline_unreachable" else reason
        end = stops[-1].arrive
        t, bus = fleet.earliest(v, stops[0].depart, end - stops[0].depart, until=vt.available_until)
        if t is None:
            return "no_vehicle"
        if t > stops[0].depart:
            start, waited = t, True
            continue
        fleet.block(v, bus, stops[0].depart, end)
        for s in stops:
            if s.kind == "drop" and s.site is not None and data.site_intake[s.site] is not None:
                key = (s.site, s.arrive // DAY)  # type: ignore[operator]
                intake[key] = intake.get(key, 0) + sum(n for _, n in s.loads)
        real_km = _km(data, stops)
        return Timed(v, bus, crew, job.cohort, real_km, trip_cost(data, v, real_km, crew), stops)
    return reason


def _km(data: ProblemData, stops: list[Stop]) -> float:
    return float(sum(data.km[a.place, b.place] for a, b in zip(stops, stops[1:])))
