"""Which workers go by train: their chains (feeder coach → train → last-mile coach), and the mode
choice that decides, per group of workers, coach or train, which train, where to board and alight.

Pipeline step "modes" (only when the scenario offers trains). For every eligible group and every
train, boarding and alighting station, a chain is costed and timed from estimates:

- the feeder boards at the home county no earlier than the group may leave and late enough for the
  door-to-door ride to fit, and reaches the station ``station_minutes`` before the train leaves;
- the last mile leaves the alighting station ``station_minutes`` after the train arrives and drops
  within the site's receiving hours by the order's deadline;
- a worker's share of a chain: a full coach of the best local coach type to the station, the seat,
  a full coach of the park's fleet from the station (the train's fixed cost is the model's, paid
  only if it runs).

A small CP-SAT model (:func:`planner._routing.choose_modes`) then chooses, for every group, how
many workers go by coach and how many by which chain: the coaches' shares, the seats and the fixed
costs of the trains that run, against each train's cars (a car carries one cohort) and its fewest
riders. The chosen chains become *legs*: a feeder part (origin → the boarding station, which the
coach steps treat as a site) and a last-mile part (the alighting station → the order's site), both
new order parts of the compiled problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

from ._pricing import crew_needed, trip_cost
from ._routing import ModeProblem, choose_modes
from .contract import Reason
from .driving import leg_minutes
from .eligibility import Eligible
from .problem import NO_LIMIT, OrderData, ProblemData

#: coach types based this close (road km) to a site are the park's fleet; to a station, its local fleet
NEAR_KM = 150.0
#: a feeder boards no more than this long before the latest it could (minutes): workers wait at
#: the station (in its closed waiting area) a few hours at most, not half a day
FEEDER_EARLY = 240
#: the most chains kept per group for the mode choice, cheapest first
CHAINS_KEPT = 3
#: a train with fewest riders runs in the mode choice only with this much more (feeders that
#: fail later would leave it below its fewest, and all its riders without a train)
RUN_CUSHION = 1.1
#: a group with a train chain whose straight coach ride takes more than this share of the ride
#: limit rides a train while seats are left (on a 20,000-worker park near Kunshan, every coach
#: rider lost to the ride limit had a straight ride of 95 % of it or more): its coach share in the
#: mode choice is raised by NEAR_LIMIT yuan
COACH_MARGIN, NEAR_LIMIT = 0.93, 5_000
#: a group farther than this (road km, straight home → site) is priced by coach as whole coaches of
#: its prefecture's pool in the mode choice (:func:`coach_pools`)
FAR_KM = 1_200.0
#: ... and within this (road km) of one of its trains' boarding stations
STATION_KM = 100.0
#: the price of leaving a worker unplanned in the mode choice (yuan: more than any way to travel)
UNPLANNED = 1_000_000


@dataclass(frozen=True)
class Fleets:
    """Which coach types serve where: the park's fleet (direct and last-mile trips) and each
    station's local fleet (its feeders; the park's when none is near)."""

    home: tuple[int, ...]
    local: dict[int, tuple[int, ...]]  # station index → coach types


def fleets(data: ProblemData, vtypes: list[int]) -> Fleets:
    def near(place: int) -> tuple[int, ...]:
        return tuple(v for v in vtypes if data.km[data.vehicles[v].depot, place] <= NEAR_KM)

    real_sites = [p for s, p in enumerate(data.site_place) if not data.site_station or data.site_station[s] is None]
    home = tuple(v for v in vtypes if any(data.km[data.vehicles[v].depot, p] <= NEAR_KM for p in real_sites))
    home = home or tuple(vtypes)
    local = {b: near(p) or home for b, p in enumerate(data.station_place)}
    return Fleets(home, local)


def share(data: ProblemData, types: tuple[int, ...], a: int, b: int) -> Optional[float]:
    """One worker's share of a full coach of the best of ``types`` on depot → a → b → depot."""
    best: Optional[float] = None
    for v in types:
        vt = data.vehicles[v]
        if vt.capacity <= 0:
            continue
        d = vt.depot
        km = float(data.km[d, a] + data.km[a, b] + data.km[b, d])
        crew = crew_needed(data, d, (a,), ())
        crew = max(crew, 2 if data.km[a, b] > data.two_driver_km else 1)
        cost = trip_cost(data, v, km, crew) / vt.capacity
        best = cost if best is None else min(best, cost)
    return best


@dataclass(frozen=True)
class Chain:
    """One way for a group to travel by train, with its estimated cost per worker and the window
    its feeder may board in."""

    train: int
    board: int  # station index
    alight: int  # station index
    cost: float
    earliest: int
    latest: int


def chains(data: ProblemData, e: Eligible, fl: Fleets) -> list[Chain]:
    """The feasible chains of group ``e``, cheapest first (at most :data:`CHAINS_KEPT`)."""
    o = data.orders[e.order]
    site = data.site_place[o.site]
    out: list[Chain] = []
    rules = data.rules
    for t in data.trains:
        for b in t.board:
            bp = data.station_place[b]
            feeder_km = float(data.km[o.place, bp])
            crew = 2 if feeder_km > data.two_driver_km else 1
            feeder_rules = replace(rules, night_rest=None) if feeder_km <= data.exempt_km else rules
            feeder_min = int(data.drive[o.place, bp])
            drive_in = leg_minutes(feeder_min, feeder_rules, crew=crew)
            for _ in range(3):  # the drive at the hour it would start (a night stop may fall in it)
                latest = min(e.board_until, t.departs(b) - data.station_minutes - data.alighting - drive_in - 30)
                at_that_hour = leg_minutes(feeder_min, feeder_rules, crew=crew, start=latest)
                if at_that_hour <= drive_in:
                    break
                drive_in = at_that_hour
            latest = min(e.board_until, t.departs(b) - data.station_minutes - data.alighting - drive_in - 30)
            if latest < e.board_from:
                continue
            if not _feeder_reaches(data, fl.local[b], o.place, bp, latest):
                continue
            feeder = share(data, fl.local[b], o.place, bp)
            for a in t.alight:
                ap = data.station_place[a]
                drive_out = leg_minutes(int(data.drive[ap, site]), rules, crew=1)
                reach = t.arrives(a) + data.station_minutes + data.boarding + drive_out
                t1 = data.open_at(o.site, reach, data.alighting)
                if data.time_rules and t1 > o.arrive_by:
                    continue
                earliest = max(e.board_from, latest - FEEDER_EARLY)
                if data.time_rules:
                    earliest = max(earliest, t1 + 60 - data.max_ride)  # the door-to-door ride must fit
                    # the feeder boards within the boarding hours: a train that only a night
                    # boarding could reach is no chain for them
                    earliest = data.board_open(earliest - data.boarding) + data.boarding
                if earliest > latest:
                    continue
                last = share(data, fl.home, ap, site)
                if feeder is None or last is None:
                    continue
                out.append(Chain(t.index, b, a, feeder + t.cost_per_seat + last, earliest, latest))
    out.sort(key=lambda c: (c.cost, c.train, c.board, c.alight))
    return out[:CHAINS_KEPT]


def _feeder_reaches(data: ProblemData, types: tuple[int, ...], home: int, station: int, latest: int) -> bool:
    """Whether a coach of ``types`` can, by estimate, drive from its depot to the county and board
    by ``latest``, its crew then driving on to the station (out and in are one drive for it)."""
    if not data.time_rules:
        return True
    for v in types:
        vt = data.vehicles[v]
        out_min, feeder_min = int(data.drive[vt.depot, home]), int(data.drive[home, station])
        out = leg_minutes(out_min, data.rules, crew=2)
        both = leg_minutes(out_min + feeder_min, data.rules, crew=2)
        if vt.available_from + out + data.boarding <= latest \
                and vt.available_from + both + data.boarding <= latest + leg_minutes(feeder_min, data.rules, crew=2):
            return True
    return False


@dataclass(frozen=True)
class Leg:
    """Workers of an order part on one chain: ``feeder`` and ``last_mile`` are their order parts
    (index into the extended problem's orders)."""

    parent: int
    train: int
    board: int
    alight: int
    cohort: int
    count: int
    earliest: int
    latest: int
    feeder: int
    last_mile: int


@dataclass(frozen=True)
class Modes:
    """The mode step's answer: the extended problem (station sites and leg parts added), the groups
    that go by coach, the legs by train, whether each train runs, and who cannot travel."""

    data: ProblemData
    direct: list[Eligible]
    legs: list[Leg]
    runs: tuple[bool, ...]
    unassigned: list[tuple[int, int, Reason]]
    fleets: Fleets
    groups: dict[int, Eligible]  # every eligible group, by its order part


def choose(data: ProblemData, eligible: list[Eligible], vtypes: list[int], *, time_limit: float,
           seed: int = 0) -> Modes:
    """Decide coach or train for every eligible group (see the module's doc)."""
    fl = fleets(data, vtypes)
    groups = [e for e in eligible]
    options = [chains(data, e, fl) for e in groups]
    direct_cost: list[Optional[int]] = []
    for e, opts in zip(groups, options):
        o = data.orders[e.order]
        ok = e.by_coach and coach_reaches(data, e, fl)
        price = share(data, fl.home, o.place, data.site_place[o.site]) if ok else None
        if price is not None and opts and _near_the_limit(data, e):
            price += NEAR_LIMIT  # a seat on a train first, the coach if none is left
        direct_cost.append(None if price is None else int(round(price)))
    coach_cannot = [c is None for c in direct_cost]
    pool, coaches = coach_pools(data, groups, options, direct_cost, fl)
    for g, k in enumerate(pool):
        if k >= 0:  # the pool pays its whole coaches; the group only its surcharge
            base = share(data, fl.home, data.orders[groups[g].order].place, data.site_place[data.orders[groups[g].order].site])
            direct_cost[g] = int(round((direct_cost[g] or 0) - (base or 0)))
    flat = [(g, c.train, int(round(c.cost))) for g, cs in enumerate(options) for c in cs]
    problem = ModeProblem(
        size=tuple(e.count for e in groups), cohort=tuple(e.cohort for e in groups), direct=tuple(direct_cost),
        options=tuple(flat), trains=tuple((t.seats_per_car, t.cars, int(round(t.fixed_cost)),
                                           min(t.seats, math.ceil(t.min_riders * RUN_CUSHION)) if t.min_riders > 1
                                           else t.min_riders) for t in data.trains),
        unplanned=UNPLANNED, pool=tuple(pool), coaches=tuple(coaches))
    choice = choose_modes(problem, time_limit=time_limit, seed=seed)
    direct: list[Eligible] = []
    unassigned: list[tuple[int, int, Reason]] = []
    picked: list[tuple[Eligible, Chain, int]] = []
    k = 0
    for g, e in enumerate(groups):
        if choice.direct[g]:
            direct.append(replace(e, count=choice.direct[g]))
        for c in options[g]:
            n = choice.riders[k]
            k += 1
            if n:
                picked.append((e, c, n))
        if choice.unplanned[g]:
            reason: Reason = "no_train_seat" if options[g] else (
                "connection_missed" if coach_cannot[g] and _near_a_train(data, e) else _coach_reason(data, e))
            unassigned.append((e.order, choice.unplanned[g], reason))
    extended, legs = extend(data, picked)
    return Modes(extended, direct, legs, choice.runs, unassigned, fl, {e.order: e for e in groups})


def coach_pools(data: ProblemData, groups: list[Eligible], options: list[list[Chain]],
                direct_cost: list[Optional[int]], fl: Fleets) -> tuple[list[int], list[tuple[int, int]]]:
    """The coach pools of the groups that could ride a train: per prefecture (the first four
    digits of the county code), cohort and site, priced as whole coaches of the park's fleet —
    a full coach trip to the pool's farthest county and back, its crew included — so that the
    mode choice sees what a far county's remainder really costs by coach (a coach of its own)
    rather than a full coach's share. Only far groups at a boarding station are pooled (a
    straight coach ride of more than :data:`FAR_KM`, a boarding station within
    :data:`STATION_KM`): the workers a train serves best, whose feeder costs little. Nearer
    remainders share coaches with their neighbours' on the way, and a far feeder costs what it
    saves (on a 20,000-worker park near Kunshan, pooling every far group moved a few workers of
    many counties to long feeders and cost ~1 % more): they keep a full coach's share, as do
    groups without a train option (they go by coach whatever it costs)."""
    pool = [-1] * len(groups)
    keys: dict[tuple[str, int, int], int] = {}
    members: list[list[int]] = []
    for g, e in enumerate(groups):
        o = data.orders[e.order]
        if not options[g] or direct_cost[g] is None or data.km[o.place, data.site_place[o.site]] <= FAR_KM:
            continue
        if min(data.km[o.place, data.station_place[c.board]] for c in options[g]) > STATION_KM:
            continue  # a far feeder costs as much as it saves: priced as before
        county = data.places[o.place].county or f"p{o.place}"
        key = (county[:4], e.cohort, o.site)
        if key not in keys:
            keys[key] = len(members)
            members.append([])
        pool[g] = keys[key]
        members[keys[key]].append(g)
    coaches: list[tuple[int, int]] = []
    for mine in members:
        best: Optional[tuple[float, int, int]] = None
        for v in fl.home:
            vt = data.vehicles[v]
            if vt.capacity <= 0:
                continue
            d = vt.depot
            worst = 0.0
            crew = 1
            for g in mine:
                o = data.orders[groups[g].order]
                site = data.site_place[o.site]
                worst = max(worst, float(data.km[d, o.place] + data.km[o.place, site] + data.km[site, d]))
                crew = max(crew, crew_needed(data, d, (o.place,), (o.site,)))
            price = trip_cost(data, v, worst, crew)
            if best is None or price / vt.capacity < best[0]:
                best = (price / vt.capacity, vt.capacity, int(round(price)))
        if best is None:
            for g in mine:
                pool[g] = -1
            coaches.append((0, 0))
        else:
            coaches.append((best[1], best[2]))
    return pool, coaches


def _near_the_limit(data: ProblemData, e: Eligible) -> bool:
    """Whether the group's straight ride by coach takes more than :data:`COACH_MARGIN` of the ride
    limit: pooled and scheduled, such rides often break it, so a train is preferred."""
    if not data.time_rules:
        return False
    o = data.orders[e.order]
    ride = leg_minutes(int(data.drive[o.place, data.site_place[o.site]]), data.rules, crew=2) + data.boarding
    return ride > COACH_MARGIN * data.max_ride


def coach_reaches(data: ProblemData, e: Eligible, fl: Fleets) -> bool:
    """Whether a coach of the park's fleet can, by estimate, drive out to the group's county and
    bring it to its site by the deadline (the eligibility step judges the loaded ride alone)."""
    if not data.time_rules:
        return True
    o = data.orders[e.order]
    site = data.site_place[o.site]
    ride = leg_minutes(int(data.drive[o.place, site]), data.rules, crew=2)
    for v in fl.home:
        vt = data.vehicles[v]
        out_min = int(data.drive[vt.depot, o.place])
        out = leg_minutes(out_min, data.rules, crew=2)
        # the crew stays with the coach: out and back is one drive for it
        both = leg_minutes(out_min + int(data.drive[o.place, site]), data.rules, crew=2)
        board = max(e.board_from, vt.available_from + out + data.boarding)
        if board <= e.board_until and max(board + ride, vt.available_from + both + data.boarding) <= o.arrive_by:
            return True
    return False


def _coach_reason(data: ProblemData, e: Eligible) -> Reason:
    o = data.orders[e.order]
    ride = leg_minutes(int(data.drive[o.place, data.site_place[o.site]]), data.rules, crew=2)
    if ride + data.boarding > data.max_ride:
        return "ride_time_exceeded"
    return "deadline_unreachable" if e.by_coach else "ride_time_exceeded"


def _near_a_train(data: ProblemData, e: Eligible) -> bool:
    """Whether some train boards within a day's drive of the group's county (so that missing it,
    rather than the distance, is what stops them)."""
    o = data.orders[e.order]
    return any(data.km[o.place, data.station_place[b]] <= 600 for t in data.trains for b in t.board)


def extend(data: ProblemData, picked: list[tuple[Eligible, Chain, int]]) -> tuple[ProblemData, list[Leg]]:
    """The problem with a site for every boarding station used and two order parts a leg."""
    site_ids, site_place = list(data.site_ids), list(data.site_place)
    site_hours, site_intake = list(data.site_hours), list(data.site_intake)
    site_station = list(data.site_station or [None] * len(data.site_ids))
    station_site: dict[int, int] = {}
    for _, c, _ in picked:
        if c.board not in station_site:
            station_site[c.board] = len(site_ids)
            site_ids.append(data.station_ids[c.board])
            site_place.append(data.station_place[c.board])
            site_hours.append((0, 24 * 60))
            site_intake.append(None)
            site_station.append(c.board)
    orders = list(data.orders)
    legs: list[Leg] = []
    for e, c, n in picked:
        o = data.orders[e.order]
        t = data.trains[c.train]
        feeder = OrderData(len(orders), o.id, o.agency, o.place, station_site[c.board], 0, n, 0, c.earliest,
                           t.departs(c.board) - data.station_minutes, o.valid_until, part=o.part,
                           leg="feeder", parent=o.index, train=c.train)
        orders.append(feeder)
        last = OrderData(len(orders), o.id, o.agency, data.station_place[c.alight], o.site, 0, n, 0,
                         t.arrives(c.alight) + data.station_minutes, o.arrive_by, NO_LIMIT, part=o.part,
                         leg="last_mile", parent=o.index, train=c.train)
        orders.append(last)
        legs.append(Leg(o.index, c.train, c.board, c.alight, e.cohort, n, c.earliest, c.latest,
                        feeder.index, last.index))
    extended = replace(data, orders=tuple(orders), site_ids=tuple(site_ids), site_place=tuple(site_place),
                       site_hours=tuple(site_hours), site_intake=tuple(site_intake), site_station=tuple(site_station))
    return extended, legs
