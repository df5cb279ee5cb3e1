"""Concrete orders onto the drafted trips: who boards where, within which window.

Pipeline step "allocate": each draft's riders by key become concrete order parts, trips shared
with other counties first, so every trip's boarding window stays open (its keys' windows must
overlap by the time between its pickups). Chunks that find no compatible slot are seated on
allocated trips with room where that is shorter than a coach of their own (:func:`fit_in`), else
on coaches of their own (:func:`direct`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ._pricing import Key, best_route, board_pairs, pickup_span, pooling_types, site_room, trip_cost, trip_fits
from ._trips import AllocatedTrip, DraftTrip
from .contract import Reason
from .eligibility import Eligible
from .problem import NO_LIMIT, ProblemData


@dataclass(frozen=True)
class Allocation:
    """The allocation step's answer."""

    trips: list[AllocatedTrip]
    leftovers: list[tuple[Eligible, int]]  # eligible groups and how many of them found no slot
    unassigned: list[tuple[int, int, Reason]]  # (order part, count, reason)


def allocate(data: ProblemData, drafts: list[DraftTrip], eligible: list[Eligible],
             unplaced: Optional[dict[Key, int]] = None) -> Allocation:
    """Give each draft's key slots to concrete orders, keeping every trip's boarding window open.

    ``unplaced`` (workers by key the pooling step found too few to ride) take their orders last;
    they come back as unassigned ``too_few_riders``. Returns the allocated trips, the
    (eligible group, count) chunks that found no compatible slot (they are planned on their own
    later) and those unassigned.
    """
    entries = [(d.pickups, d.loads) for d in drafts]
    entries += [((k[0],), ((k, n),)) for k, n in (unplaced or {}).items()]
    by_key: dict[Key, list[list]] = {}
    for e in sorted(eligible, key=lambda e: (e.board_until, e.board_from, e.order)):
        o = data.orders[e.order]
        by_key.setdefault((o.place, e.cohort, o.site), []).append([e, e.count])
    windows = [[-NO_LIMIT, NO_LIMIT] for _ in entries]
    spans = [pickup_span(data, pickups) for pickups, _ in entries]
    boards: list[dict[int, list[tuple[int, int]]]] = [dict() for _ in entries]
    owns: list[dict[int, tuple[int, int]]] = [dict() for _ in entries]
    slots: dict[Key, list[list[int]]] = {}
    for i, (_, loads) in enumerate(entries):
        for key, n in loads:
            slots.setdefault(key, []).append([i, n])
    for key, key_slots in slots.items():
        # trips shared with other counties first: their window is already narrowed by the others,
        # while a county's own coaches can take whichever of its orders are left
        key_slots.sort(key=lambda slot: (-len(entries[slot[0]][0]), slot[0]))
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
                owns[i][e.order] = (e.board_from, e.board_until)
                slot[1] -= take
                need -= take
            item[1] = need
    leftovers: list[tuple[Eligible, int]] = []
    for queue in by_key.values():
        for e, need in queue:
            if need:
                leftovers.append((e, need))
    out: list[AllocatedTrip] = []
    group = {(e.order, e.cohort): e for e in eligible}
    for i, d in enumerate(drafts):
        if not boards[i]:
            continue
        if 0 < sum(n for loads in boards[i].values() for _, n in loads) < data.min_riders:
            # the windows kept its other riders off: too few left to run it, they are seated again
            cohort = d.loads[0][0][1]
            leftovers += [(group[(o, cohort)], n) for loads in boards[i].values() for o, n in loads]
            continue
        pickups = tuple(p for p in d.pickups if p in boards[i])
        sites = tuple(sorted({data.orders[o].site for loads in boards[i].values() for o, _ in loads}))
        km, pickups, sites = best_route(data, data.vehicles[d.vehicle].depot, pickups, sites,
                                        board_pairs(data, boards[i]))
        cohort = d.loads[0][0][1]
        out.append(AllocatedTrip(d.vehicle, pickups, sites, cohort, boards[i], windows[i][0], windows[i][1], owns[i]))
    short = [(o, n, "too_few_riders") for i in range(len(drafts), len(entries))
             for loads in boards[i].values() for o, n in loads]
    return Allocation(out, leftovers, short)  # type: ignore[arg-type]


def fit_in(data: ProblemData, trips: list[AllocatedTrip], e: Eligible, n: int, vtypes: list[int]) -> int:
    """Seat workers that allocation left over on allocated trips of their cohort: free seats (or a
    larger coach type), a boarding window shared with the trip's riders, at most ``max_stops``
    pickups, the sites' room and the ride limit; least added km first. Kept only when the added km
    stay below a coach of their own (or when they are too few to ride alone). Returns how many
    got a seat; the rest go :func:`direct`."""
    o = data.orders[e.order]
    biggest = max(data.vehicles[v].capacity for v in vtypes)
    trial = list(trips)
    added, left = 0.0, n
    while left > 0:
        best = None
        for idx, trip in enumerate(trial):
            if trip.cohort != e.cohort or trip.vehicle not in vtypes:
                continue
            pickups = trip.pickups if o.place in trip.board else trip.pickups + (o.place,)
            if len(pickups) > data.max_stops:
                continue
            sites = tuple(sorted(set(trip.sites) | {o.site}))
            room = min([biggest] + [site_room(data, s) for s in sites]) - trip.riders
            if room <= 0:
                continue
            lo, hi = max(trip.lo, e.board_from), min(trip.hi, e.board_until)
            depot = data.vehicles[trip.vehicle].depot
            pairs = board_pairs(data, trip.board) | {(o.place, o.site)}
            km, pk, st = best_route(data, depot, pickups, sites, pairs)
            if lo + pickup_span(data, pk) > hi:
                continue
            if not trip_fits(data, depot, pk, st, pairs):
                continue
            extra = km - best_route(data, depot, trip.pickups, trip.sites, board_pairs(data, trip.board))[0]
            take = min(left, room)
            if best is None or (extra / take, idx) < best[:2]:
                best = (extra / take, idx, take, extra, pk, st, lo, hi)
        if best is None:
            break
        _, idx, take, extra, pk, st, lo, hi = best
        trip = trial[idx]
        board = {p: list(loads) for p, loads in trip.board.items()}
        board.setdefault(o.place, []).append((e.order, take))
        riders = trip.riders + take
        v = trip.vehicle
        if data.vehicles[v].capacity < riders:
            km = best_route(data, data.vehicles[v].depot, pk, st)[0]
            v = min((v for v in vtypes if data.vehicles[v].capacity >= riders),
                    key=lambda v: (trip_cost(data, v, km, 1), v))
        trial[idx] = AllocatedTrip(v, pk, st, trip.cohort, board, lo, hi,
                                   {**trip.own, e.order: (e.board_from, e.board_until)})
        added += extra
        left -= take
    if left and left >= data.min_riders:
        return 0  # they need a coach of their own anyway: keep them together
    if n >= data.min_riders:
        own = sum(best_route(data, data.vehicles[j.vehicle].depot, j.pickups, j.sites)[0]
                  for j in direct(data, e, n, vtypes))
        if added >= own:
            return 0
    trips[:] = trial
    return n - left



def direct(data: ProblemData, e: Eligible, n: int, vtypes: list[int]) -> list[AllocatedTrip]:
    """One order's workers on coaches of their own: the cheapest types that hold them."""
    o = data.orders[e.order]
    out: list[AllocatedTrip] = []
    while n > 0:
        fits = [v for v in vtypes if data.vehicles[v].capacity >= n]
        if fits:
            v = min(fits, key=lambda v: (trip_cost(data, v, data.km[data.vehicles[v].depot, o.place] * 2, 1), v))
        else:
            v = max(vtypes, key=lambda v: (data.vehicles[v].capacity, -v))
        take = min(n, data.vehicles[v].capacity)
        out.append(AllocatedTrip(v, (o.place,), (o.site,), e.cohort, {o.place: [(e.order, take)]},
                                 e.board_from, e.board_until, {e.order: (e.board_from, e.board_until)}))
        n -= take
    return out



def by_county(data: ProblemData, trip: AllocatedTrip, vtypes: list[int]) -> list[AllocatedTrip]:
    """A trip that could not run, as one trip per pickup county (its orders together, in their own
    boarding window), each on the cheapest coach that holds it; a trip of one county to several
    sites, as one trip per site. A part with more workers than a coach, or fewer than may ride
    alone, falls to :func:`direct` order by order (an empty list: the trip cannot be split so)."""
    out: list[AllocatedTrip] = []
    biggest = max(data.vehicles[v].capacity for v in vtypes)
    parts: list[tuple[int, list[tuple[int, int]]]] = []
    if len(trip.pickups) > 1:
        parts = [(p, trip.board[p]) for p in trip.pickups]
    elif trip.pickups and len(trip.sites) > 1:
        p = trip.pickups[0]
        parts = [(p, [(o, c) for o, c in trip.board[p] if data.orders[o].site == s]) for s in trip.sites]
        parts = [(p, loads) for p, loads in parts if loads]
    if len(parts) < 2:
        return []
    for p, loads in parts:
        n = sum(c for _, c in loads)
        sites = tuple(sorted({data.orders[o].site for o, _ in loads}))
        if n > biggest or n < data.min_riders:
            return []
        fits = [v for v in vtypes if data.vehicles[v].capacity >= n]
        km, pk, st = best_route(data, data.vehicles[fits[0]].depot, (p,), sites, board_pairs(data, {p: loads}))
        v = min(fits, key=lambda v: (trip_cost(data, v, km, 1), v))
        out.append(trip.part({p: list(loads)}, vehicle=v, pickups=pk, sites=st))
    return out


def seat_leftovers(data: ProblemData, trips: list[AllocatedTrip], leftovers: list[tuple[Eligible, int]],
                   vtypes: list[int], pooling: Optional[list[int]] = None
                   ) -> tuple[list[AllocatedTrip], list[tuple[int, int, Reason]]]:
    """Workers allocation left over: seated on trips with room where that is shorter
    (:func:`fit_in`), else on coaches of their own; too few to ride alone, unassigned."""
    trips = list(trips)
    unassigned: list[tuple[int, int, Reason]] = []
    pooling = pooling_types(data) if pooling is None else pooling
    for e, n in leftovers:
        n -= fit_in(data, trips, e, n, pooling)
        if not n:
            continue
        if n < data.min_riders:
            unassigned.append((e.order, n, "too_few_riders"))
        else:
            trips += direct(data, e, n, vtypes)
    return trips, unassigned


def own_coaches(data: ProblemData, eligible: list[Eligible], vtypes: list[int]
                ) -> tuple[list[AllocatedTrip], list[tuple[int, int, Reason]]]:
    """Without pooling: every order's workers on coaches of their own (the naive plan)."""
    trips: list[AllocatedTrip] = []
    unassigned: list[tuple[int, int, Reason]] = []
    for e in eligible:
        if e.count < data.min_riders:
            unassigned.append((e.order, e.count, "too_few_riders"))
        else:
            trips += direct(data, e, e.count, vtypes)
    return trips, unassigned

