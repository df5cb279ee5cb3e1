"""Train chains on coaches and in cars: feeders to the boarding stations, then last miles from the
alighting stations, kept whole.

Pipeline step "chains" (only when a train is chosen): each train's feeders are pooled and
scheduled per boarding station (on the station's local fleet), then each train's last miles per
alighting station (on the park's fleet), from ``station_minutes`` after the train arrives and by
a deadline that keeps every worker's door-to-door ride within the limit (their feeder's boarding
plus ``max_ride_hours``). A chain that breaks — a last mile that cannot run, a train left with
fewer than its fewest riders — is taken off the trains and the whole step runs again from the
coaches' state before it (at most :data:`ATTEMPTS` times); its workers go back to the coach step
when a coach can take them, else they are unassigned with what stopped them. The workers on each
train are then seated car by car, a car for one cohort.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ._coaches import Tell, pooled_trips
from ._schedule import Fleet, schedule_with_fallback
from ._trains import Leg, Modes
from ._trips import TimedTrip
from .contract import Reason
from .eligibility import Eligible
from .params import Deadline, SolveParams
from .problem import ProblemData

ATTEMPTS = 4


@dataclass(frozen=True)
class CarLoad:
    """Workers of one order part in one car: where they board and alight."""

    train: int
    car: int
    cohort: int
    order: int  # the order part they belong to
    count: int
    board: int  # station index
    alight: int


@dataclass
class Chains:
    """What the chain step planned: the problem (last miles' deadlines set), the coaches' state after
    it, the feeder and last-mile trips, the cars, the workers sent back to the coach step, and who
    cannot travel."""

    data: ProblemData
    fleet: Fleet
    intake: dict[tuple[int, int], int]
    timed: list[TimedTrip]
    cars: list[CarLoad]
    back: list[Eligible]
    unassigned: list[tuple[int, int, Reason]]


def plan_chains(modes: Modes, fleet: Fleet, intake: dict[tuple[int, int], int], params: SolveParams, seed: int,
                seconds: float, tell: Tell) -> Chains:
    """Feeders, then last miles, for the legs the mode step chose (see the module's doc)."""
    data = modes.data
    legs = list(modes.legs)
    off: dict[int, int] = {}  # leg → workers taken off it
    why: dict[int, Reason] = {}
    spent = time.monotonic()
    for attempt in range(ATTEMPTS):
        share = max(1.0, (seconds - (time.monotonic() - spent)) / (ATTEMPTS - attempt) if attempt else seconds * 0.8)
        try_fleet, try_intake = fleet.copy(), dict(intake)
        active = [(i, leg, leg.count - off.get(i, 0)) for i, leg in enumerate(legs) if leg.count - off.get(i, 0) > 0]
        timed_in, lost_in = _legs(data, active, "feeder", modes, try_fleet, try_intake, params, seed, share / 2, tell)
        boarded = _carried(timed_in, {leg.feeder: i for i, leg, _ in active})
        first = _first_boarding(timed_in, {leg.feeder: i for i, leg, _ in active})
        # last miles: as many as boarded their feeder, by a deadline that keeps the whole ride within the limit
        orders = list(data.orders)
        for i, leg, _ in active:
            if i in first and data.time_rules:
                part = orders[leg.last_mile]
                orders[leg.last_mile] = replace(part, arrive_by=min(data.orders[leg.parent].arrive_by,
                                                                    first[i] + data.max_ride))
        data_out = replace(data, orders=tuple(orders))
        riding = [(i, leg, boarded.get(i, 0)) for i, leg, _ in active if boarded.get(i, 0) > 0]
        timed_out, lost_out = _legs(data_out, riding, "last_mile", modes, try_fleet, try_intake, params, seed,
                                    share / 2, tell)
        arrived = _carried(timed_out, {leg.last_mile: i for i, leg, _ in riding})
        broken = False
        riders = {t.index: 0 for t in data.trains}
        for _, leg, n in riding:
            riders[leg.train] += n
        for i, leg, n in riding:
            if arrived.get(i, 0) < n:  # stranded at the alighting station: take them off this train
                off[i] = off.get(i, 0) + n - arrived.get(i, 0)
                why[i] = _reason(lost_out, leg.last_mile, "no_vehicle")
                broken = True
        for t in data.trains:
            if 0 < riders[t.index] < t.min_riders:
                for i, leg, n in riding:
                    if leg.train == t.index and n > off.get(i, 0):
                        off[i] = leg.count
                        why[i] = "no_train_seat"
                        broken = True
        if not broken:
            unassigned, back = _outcome(data_out, legs, active, boarded, lost_in, off, why, modes)
            return Chains(data_out, try_fleet, try_intake, timed_in + timed_out,
                          _cars(data_out, [(leg, arrived.get(i, 0)) for i, leg, _ in riding]), back, unassigned)
    # the chains would not hold together: no train at all, everyone back to the coach step or unassigned
    unassigned, back = _outcome(data, legs, [], {}, [], {i: leg.count for i, leg in enumerate(legs)},
                                {i: why.get(i, "connection_missed") for i in range(len(legs))}, modes)
    return Chains(data, fleet, intake, [], [], back, unassigned)


def _legs(data: ProblemData, active: list[tuple[int, Leg, int]], kind: str, modes: Modes, fleet: Fleet,
          intake: dict[tuple[int, int], int], params: SolveParams, seed: int, seconds: float, tell: Tell
          ) -> tuple[list[TimedTrip], list[tuple[int, int, Reason]]]:
    """Pool and schedule one kind of leg, a group per (train, station), each on its fleet."""
    groups: dict[tuple[int, int], list[Eligible]] = {}
    for _, leg, n in active:
        if kind == "feeder":
            e = Eligible(leg.feeder, n, leg.cohort, leg.earliest, leg.latest)
            groups.setdefault((leg.train, leg.board), []).append(e)
        else:
            part = data.orders[leg.last_mile]
            e = Eligible(leg.last_mile, n, leg.cohort, part.earliest, part.arrive_by)
            groups.setdefault((leg.train, leg.alight), []).append(e)
    total = sum(e.count for es in groups.values() for e in es) or 1
    timed: list[TimedTrip] = []
    lost: list[tuple[int, int, Reason]] = []
    for (_, station), eligible in sorted(groups.items()):
        vtypes = list(modes.fleets.local[station] if kind == "feeder" else modes.fleets.home)
        budget = Deadline.start(max(0.5, seconds * sum(e.count for e in eligible) / total))
        trips, short = pooled_trips(data, eligible, vtypes, params, seed, budget, lambda *_: None)
        more, failed = schedule_with_fallback(data, trips, fleet, intake, vtypes)
        timed += more
        lost += short + failed
    tell("trains", 0.4)
    return timed, lost


def _carried(timed: list[TimedTrip], part_leg: dict[int, int]) -> dict[int, int]:
    """Workers per leg on the pickups of ``timed`` trips."""
    out: dict[int, int] = {}
    for t in timed:
        for s in t.stops:
            if s.kind == "pickup":
                for o, n in s.loads:
                    if o in part_leg:
                        out[part_leg[o]] = out.get(part_leg[o], 0) + n
    return out


def _first_boarding(timed: list[TimedTrip], part_leg: dict[int, int]) -> dict[int, int]:
    """Per leg, when its first workers board their feeder."""
    out: dict[int, int] = {}
    for t in timed:
        for s in t.stops:
            if s.kind == "pickup" and s.depart is not None:
                for o, _ in s.loads:
                    if o in part_leg:
                        i = part_leg[o]
                        out[i] = min(out.get(i, s.depart), s.depart)
    return out


def _reason(lost: list[tuple[int, int, Reason]], part: int, default: Reason) -> Reason:
    return next((r for o, _, r in lost if o == part), default)


def _outcome(data: ProblemData, legs: list[Leg], active: list[tuple[int, Leg, int]], boarded: dict[int, int],
             lost_in: list[tuple[int, int, Reason]], off: dict[int, int], why: dict[int, Reason], modes: Modes
             ) -> tuple[list[tuple[int, int, Reason]], list[Eligible]]:
    """Workers of the legs who do not ride: back to the coach step when a coach can take them,
    else unassigned (with the parent's order part) with what stopped them."""
    unassigned: list[tuple[int, int, Reason]] = []
    back: list[Eligible] = []
    coach_ok = modes.groups
    for i, leg in enumerate(legs):
        planned = next((n for j, _, n in active if j == i), 0)
        missing_feeder = planned - boarded.get(i, 0)  # never boarded their feeder
        taken_off = off.get(i, 0)
        for n, reason in ((missing_feeder, _feeder_reason(lost_in, leg.feeder)), (taken_off, why.get(i, "no_vehicle"))):
            if n <= 0:
                continue
            e = coach_ok.get(leg.parent)
            if e is not None and e.by_coach:
                back.append(replace(e, count=n))
            else:
                unassigned.append((leg.parent, n, reason))
    return unassigned, back


def _feeder_reason(lost: list[tuple[int, int, Reason]], part: int) -> Reason:
    r = _reason(lost, part, "connection_missed")
    return "connection_missed" if r == "deadline_unreachable" else r


def _cars(data: ProblemData, riders: list[tuple[Leg, int]]) -> list[CarLoad]:
    """Seat each train's riders car by car: the medium cohort first, in cars of its own."""
    out: list[CarLoad] = []
    for t in data.trains:
        car, room = -1, 0
        for cohort in (1, 0):
            mine = [(leg, n) for leg, n in riders if leg.train == t.index and leg.cohort == cohort and n > 0]
            if not mine:
                continue
            car, room = car + 1, t.seats_per_car  # a fresh car for each cohort
            for leg, n in sorted(mine, key=lambda x: (x[0].board, x[0].alight, x[0].parent)):
                while n > 0:
                    if room == 0:
                        car, room = car + 1, t.seats_per_car
                    take = min(n, room)
                    out.append(CarLoad(t.index, car, cohort, leg.parent, take, leg.board, leg.alight))
                    n -= take
                    room -= take
    return out
