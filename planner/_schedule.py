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
from typing import Optional, Sequence

from ._pool import Draft, Key, best_route, crew_needed, ride_fits, site_room, trip_cost
from .driving import DAY, DriveLog, charged_peak, drive
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
    drivers: tuple[str, ...] = ()  # named pool drivers; empty: the coach's own crew

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
    """A trip cannot run as timed. ``retry_at``: a later start that may fit; ``room``: how many
    of the trip's riders the site of ``site`` could still take that day (site intake)."""

    def __init__(self, reason: str, retry_at: Optional[int] = None, room: int = 0, site: int = -1):
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at
        self.room = room
        self.site = site


def _open_at(data: ProblemData, site: int, t: int, dwell: int) -> int:
    """The earliest t' ≥ t at which a drop of ``dwell`` minutes fits inside receiving hours.

    The hours may wrap midnight (22:00–06:00): the drop then fits from 22:00 until 06:00 the
    next morning."""
    a, b = data.site_hours[site]
    if not data.time_rules:
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


def simulate(data: ProblemData, job: Allocated, start: int, crew: int, intake: dict[tuple[int, int], int],
             hold: int = 0, prior: Optional[list[tuple[int, int, float]]] = None) -> list[Stop]:
    """Time one trip leaving its depot at ``start``; raise :class:`Fail` when a rule breaks.

    ``hold`` minutes are added to the first pickup's ready time (boarding later in the day can
    shorten a long ride that would otherwise run into the night rest). ``prior``: the driving
    the crew has done on the coach's earlier trips (it counts towards the daily limit); when the
    crew must rest first, the coach waits at the depot and leaves when the driving starts."""
    vt = data.vehicles[job.vehicle]
    rules = data.rules
    log = DriveLog.seeded(crew, prior, rules) if prior else DriveLog(crew=crew)
    stops = [Stop("depart", vt.depot, None, None, start)]
    t, here = start, vt.depot
    boarded: dict[int, int] = {}
    for i, p in enumerate(job.pickups):
        loads = job.board[p]
        ready = max(data_board_from(data, job, o) for o, _ in loads) + (hold if i == 0 else 0)
        arrive, iv = drive(log, t, rules.minutes(data.km[here, p]), rules)
        if i == 0 and iv and iv[0][0] > start:
            stops[0].depart = iv[0][0]  # the crew rested at the depot: the coach leaves when it drives
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
        stops.append(Stop("drop", sp, s, arrive, depart, list(drops[s]), iv))
        t, here = depart, sp
    arrive, iv = drive(log, t, rules.minutes(data.km[here, vt.depot]), rules)
    stops.append(Stop("return", vt.depot, None, arrive, None, [], iv))
    if stops[0].depart < vt.available_from or arrive > vt.available_until:  # type: ignore[operator]
        raise Fail("no_vehicle")
    return stops


def data_board_from(data: ProblemData, job: Allocated, order: int) -> int:
    o = data.orders[order]
    return max(o.earliest, data.now, job.lo if job.lo > -INF else o.earliest)


def driving_of(stops: list[Stop], crew: int) -> list[tuple[int, int, float]]:
    """A timed trip's driving as charged to each of its ``crew`` drivers."""
    w = 1.0 / max(1, crew)
    return [(a, b, w) for s in stops for a, b in s.drive]


# ---------------------------------------------------------------- coaches and drivers


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

    def earliest(self, v: int, start: int, length: int, until: int = INF) -> tuple[Optional[int], Optional[int]]:
        """The earliest t ≥ ``start`` (and ≤ ``until``) at which some coach of type ``v`` is free
        for ``length`` minutes with its turnaround on both sides, and that coach (of those free
        then, the one idle the shortest)."""
        got = self.free(v, start, length, until)
        return (got[0][0], got[0][1]) if got else (None, None)

    def free(self, v: int, start: int, length: int, until: int = INF) -> list[tuple[int, int]]:
        """``(t, coach)`` for every coach of type ``v``: the earliest t ≥ ``start`` it is free for
        ``length`` minutes (turnaround included), best first: earliest, then idle the shortest."""
        out = []
        pad = self.pad
        for b, iv in enumerate(self.busy[v]):
            t, prev_end = start, -INF
            i = bisect.bisect_left(iv, (start, -INF))
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
        i = bisect.bisect_left(iv, (start, -INF))
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
            i = bisect.bisect_left(iv, (start, -INF))
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


def schedule(data: ProblemData, jobs: list[Allocated], fleet: Fleet, intake: dict[tuple[int, int], int],
             vtypes: list[int]) -> tuple[list[Timed], list[tuple[Allocated, str]]]:
    """Place jobs most urgent first; return timed trips and the jobs that could not run, with why.

    A trip that meets a full site on every day it could arrive is cut: as many of its riders as
    the site still takes that day ride now, the others are placed again on their own."""
    timed: list[Timed] = []
    failed: list[tuple[Allocated, str]] = []
    queue = sorted(jobs, key=lambda j: (j.hi, j.lo, -j.riders))
    while queue:
        job = queue.pop(0)
        result = place(data, job, fleet, intake, vtypes)
        if isinstance(result, Timed):
            timed.append(result)
            continue
        if isinstance(result, Fail) and result.reason == "site_intake_full":
            parts = _split_for_intake(data, job, result.site, result.room)
            if parts is not None:
                first = place(data, parts[0], fleet, intake, vtypes)
                if isinstance(first, Timed):
                    timed.append(first)
                    queue.insert(0, parts[1])
                    continue
        failed.append((job, result.reason if isinstance(result, Fail) else result))
    return timed, failed


def _split_for_intake(data: ProblemData, job: Allocated, site: int, room: int
                      ) -> Optional[tuple[Allocated, Allocated]]:
    """``job`` cut in two: ``room`` of its riders bound for ``site``, and the rest (or None)."""
    riders = job.riders
    take = min(room, sum(n for loads in job.board.values() for o, n in loads if data.orders[o].site == site))
    if 0 < riders - take < data.min_riders:
        take = riders - data.min_riders
    if take < data.min_riders or take >= riders:
        return None
    first: dict[int, list[tuple[int, int]]] = {}
    rest: dict[int, list[tuple[int, int]]] = {}
    left = take
    for p in job.pickups:
        for o, n in job.board[p]:
            k = min(n, left) if data.orders[o].site == site else 0
            if k:
                first.setdefault(p, []).append((o, k))
                left -= k
            if n - k:
                rest.setdefault(p, []).append((o, n - k))
    out = []
    for board in (first, rest):
        sites = tuple(sorted({data.orders[o].site for loads in board.values() for o, _ in loads}))
        pickups = tuple(p for p in job.pickups if p in board)
        _, pk, st = best_route(data, data.vehicles[job.vehicle].depot, pickups, sites)
        out.append(Allocated(job.vehicle, pk, st, job.cohort, board, job.lo, job.hi))
    return out[0], out[1]


def place(data: ProblemData, job: Allocated, fleet: Fleet, intake: dict[tuple[int, int], int],
          vtypes: list[int]) -> Timed | Fail:
    """Find a start and a coach for one job; book them; return the trip or why it failed."""
    riders = job.riders
    types = [job.vehicle] + sorted((v for v in vtypes if v != job.vehicle and data.vehicles[v].capacity >= riders),
                                   key=lambda v: (data.vehicles[v].cost_per_km, data.vehicles[v].fixed_cost, v))
    reason = Fail("no_vehicle")
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
            if got.reason not in ("deadline_unreachable", "ride_time_exceeded"):
                break
        if reason.reason == "ride_time_exceeded" and data.rules.enabled:
            # a long ride can fit when it boards at another hour, or after the crew has rested
            for rest in (0, 600):
                for hold in range(0 if rest else 60, DAY, 60):
                    got = _place_with(data, vjob, v, 2, km, fleet, intake, hold=hold, rest=rest)
                    if isinstance(got, Timed):
                        return got
                    if got.reason != "ride_time_exceeded":
                        break
    return reason


def _first_start(data: ProblemData, job: Allocated, v: int, crew: int, hold: int, rest: int) -> int:
    """A depot departure that reaches the first pickup just as its workers are ready."""
    vt = data.vehicles[v]
    first = job.pickups[0]
    ready = max(data_board_from(data, job, o) for o, _ in job.board[first]) + hold
    need = data.rules.minutes(data.km[vt.depot, first])
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


def _place_with(data: ProblemData, job: Allocated, v: int, crew: int, km: float, fleet: Fleet,
                intake: dict[tuple[int, int], int], hold: int = 0, rest: int = 0) -> Timed | Fail:
    vt = data.vehicles[v]
    start = _first_start(data, job, v, crew, hold, rest)
    pooled = bool(data.pools[v])
    reason = Fail("no_vehicle")
    room = Fail("site_intake_full", room=-1)  # the most room a full site had, to cut the trip
    waited = False  # whether the start was pushed back because every coach (or crew) was busy
    for _ in range(120):
        try:
            stops = simulate(data, job, start, crew, intake, hold)
        except Fail as f:
            if f.reason == "site_intake_full" and f.room > room.room:
                room = f
            if f.retry_at is not None and f.retry_at > start:
                reason = f
                start = f.retry_at
                continue
            if f.reason == "site_intake_full":
                return room
            if waited:
                if f.reason in ("ride_time_exceeded", "region_closed"):
                    start += 60  # leaving at another hour may fit (the night rest, a closure)
                    continue
                return Fail("no_driver" if reason.reason == "no_driver" else "no_vehicle")
            if reason.reason == "no_vehicle" or f.reason != "deadline_unreachable":
                return f
            return room if reason.reason == "site_intake_full" else reason
        length = stops[-1].arrive - stops[0].depart  # type: ignore[operator]
        options = fleet.free(v, stops[0].depart, length, until=vt.available_until)  # type: ignore[arg-type]
        if not options:
            return Fail("no_vehicle")
        if options[0][0] > stops[0].depart:  # type: ignore[operator]
            start, waited = options[0][0], True
            continue
        ready_now = [b for t, b in options if t <= stops[0].depart]  # type: ignore[operator]
        booked = _book(data, job, v, crew, fleet, intake, stops, ready_now, start, hold, pooled)
        if isinstance(booked, Timed):
            return booked
        # every free coach's crew (or the pool) needs rest first: leave when one is rested
        start, waited = max(start + 30, booked), True
        if pooled:
            reason = Fail("no_driver")
    return reason


def _book(data: ProblemData, job: Allocated, v: int, crew: int, fleet: Fleet, intake: dict[tuple[int, int], int],
          stops: list[Stop], buses: list[int], start: int, hold: int, pooled: bool) -> Timed | int:
    """Book the trip on the first of ``buses`` that can legally run it; else the next start to try."""
    trip = driving_of(stops, crew)
    charge = min(float(data.rules.daily), sum((b - a) * w for a, b, w in trip if b <= trip[0][0] + DAY)) if trip else 0.0
    soonest = INF
    for bus in buses:
        timed_stops = stops
        if pooled:
            drivers = fleet.pick_drivers(v, stops[0].depart, stops[-1].arrive, crew, trip)  # type: ignore[arg-type]
            if drivers is None:
                return start + 60
        else:
            drivers = None
            prior = fleet.prior(v, bus, start) if data.rules.enabled else []
            if prior:
                soonest = min(soonest, fleet.rested(v, bus, start, charge))
                try:
                    timed_stops = simulate(data, job, start, crew, intake, hold, prior=prior)
                except Fail:
                    continue
                if not fleet.fits(v, bus, timed_stops[0].depart, timed_stops[-1].arrive):  # type: ignore[arg-type]
                    continue
            if not fleet.later_ok(fleet.driven[v][bus], driving_of(timed_stops, crew)):
                continue
        return _commit(data, job, v, bus, crew, fleet, intake, timed_stops, drivers)
    return soonest if soonest < INF else start + 60


def _commit(data: ProblemData, job: Allocated, v: int, bus: int, crew: int, fleet: Fleet,
            intake: dict[tuple[int, int], int], stops: list[Stop], drivers: Optional[list[str]]) -> Timed:
    fleet.block(v, bus, stops[0].depart, stops[-1].arrive, driving_of(stops, crew), drivers or ())  # type: ignore[arg-type]
    for s in stops:
        if s.kind == "drop" and s.site is not None and data.site_intake[s.site] is not None:
            key = (s.site, s.arrive // DAY)  # type: ignore[operator]
            intake[key] = intake.get(key, 0) + sum(n for _, n in s.loads)
    real_km = _km(data, stops)
    return Timed(v, bus, crew, job.cohort, real_km, trip_cost(data, v, real_km, crew), stops,
                 drivers=tuple(drivers or ()))


def _km(data: ProblemData, stops: list[Stop]) -> float:
    return float(sum(data.km[a.place, b.place] for a, b in zip(stops, stops[1:])))
