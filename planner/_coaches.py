"""The coach steps for one group of workers, from eligible groups to allocated trips.

full coaches (``_full``) → the remainders pooled (``_pool``) → improved (``_improve``; on a small
park, again from other starts while its time lasts: :func:`_restarts`) → re-chosen within the
fleet (``_cover``) → orders allocated (``_allocate``), leftovers seated.
:func:`planner.solve` runs it for the workers who go by coach all the way; the train step
(``_chains``) for each train's feeders and last miles.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Optional

from ._allocate import allocate, seat_leftovers
from ._cover import cover, fleet_short
from ._full import demand_by_key, full_coaches, largest_type
from ._improve import improve, key_windows
from ._pool import SKIP, pool_remainders
from ._pricing import Key, crew_needed, objective_weight, pooling_types
from ._trips import AllocatedTrip, DraftTrip
from .contract import Reason
from .eligibility import Eligible
from .params import Deadline, SolveParams
from .problem import ProblemData

Tell = Callable[[str, float], None]
#: on plans of at most this many trips the covering pass runs when the fleet is not short too
COVER_TRIPS = 150
#: a restart of the local search (:func:`_restarts`) begins only with this long left before the
#: covering pass's share, and at most this many run
RESTART_SECONDS = 0.5
MAX_RESTARTS = 8
#: a site's coach yards: the yards with coaches within this many road km of its nearest one
YARD_KM = 150.0


def yard_groups(data: ProblemData, eligible: list[Eligible], vtypes: list[int]) -> list[tuple[list[int], list[Eligible]]]:
    """The workers by the coach yards that serve their site: each site's nearest yard with coaches
    of ``vtypes`` (and the yards within :data:`YARD_KM` of it). The search prices a trip from one
    yard, so sites far apart (郑州, 昆山, 重庆, each with its own yard) are pooled apart, each with
    its own yards' coaches, rather than every coach priced from, and sent from, the first yard.
    A group whose yards have fewer seats than its workers, and the sites that share one group with
    everyone, are pooled with every coach as before. One group when the fleet has one yard."""
    yards = sorted({data.vehicles[v].depot for v in vtypes})
    if len(yards) < 2 or not eligible:
        return [(vtypes, eligible)]
    served: dict[int, frozenset[int]] = {}
    for s, place in enumerate(data.site_place):
        km = {d: float(data.km[d, place]) for d in yards}
        near = min(km.values())
        served[s] = frozenset(d for d in yards if km[d] <= near + YARD_KM)
    by_yards: dict[frozenset[int], list[Eligible]] = {}
    for e in eligible:
        by_yards.setdefault(served[data.orders[e.order].site], []).append(e)
    if len(by_yards) < 2:
        return [(vtypes, eligible)]
    out: list[tuple[list[int], list[Eligible]]] = []
    rest: list[Eligible] = []
    for ys, group in sorted(by_yards.items(), key=lambda kv: sorted(kv[0])):
        types = [v for v in vtypes if data.vehicles[v].depot in ys]
        seats = sum(data.vehicles[v].capacity * data.vehicles[v].count for v in types)
        if types and seats >= sum(e.count for e in group):
            out.append((types, group))
        else:
            rest += group
    if rest:
        out.append((vtypes, rest))
    return out


def pooled_by_yard(data: ProblemData, eligible: list[Eligible], vtypes: list[int], params: SolveParams, seed: int,
                   deadline: Deadline, tell: Tell) -> tuple[list[AllocatedTrip], list[tuple[int, int, Reason]]]:
    """:func:`pooled_trips` for each of :func:`yard_groups` in turn, each with its share (by
    workers) of what is left of the search's time."""
    groups = yard_groups(data, eligible, vtypes)
    if len(groups) == 1:
        return pooled_trips(data, eligible, vtypes, params, seed, deadline, tell)
    trips: list[AllocatedTrip] = []
    short: list[tuple[int, int, Reason]] = []
    counts = [sum(e.count for e in group) for _, group in groups]
    total, done = sum(counts), 0
    for (types, group), count in zip(groups, counts):
        # this group's share of the search's time left: its workers of those still to plan
        window = max(0.0, deadline.at(params.improve_share) - time.monotonic()) * count / (total - done)
        part = Deadline(max(0.5, window / max(params.improve_share, 1e-3)), time.monotonic())
        span = (0.05 + 0.75 * done / total, 0.05 + 0.75 * (done + count) / total)
        got, lost = pooled_trips(data, group, types, params, seed, part, tell, span=span)
        trips += got
        short += lost
        done += count
    return trips, short


def pooled_trips(data: ProblemData, eligible: list[Eligible], vtypes: list[int], params: SolveParams, seed: int,
                 deadline: Deadline, tell: Tell, span: tuple[float, float] = (0.05, 0.8)
                 ) -> tuple[list[AllocatedTrip], list[tuple[int, int, Reason]]]:
    """Full coaches, the remainders pooled and improved, then orders allocated to the trips.

    ``vtypes``: the coach types of this group's fleet; ``span``: the part of the progress bar
    (from, to) this group fills."""
    lo, hi = span
    pooling = [v for v in pooling_types(data) if v in vtypes]
    drafts, left = full_coaches(data, demand_by_key(data, eligible), largest_type(data, vtypes))
    windows = key_windows(data, eligible)
    unplaced: dict = {}
    chosen = None
    if fleet_short(data, drafts, pooling, left):
        # the largest coaches are too few for the full loads alone: the giant tours and the local
        # search, which take any type, would only plan trips the fleet cannot run; the covering
        # pass plans every trip within the fleet instead, from the whole park at once
        tell("improving", lo + (hi - lo) * 0.45)
        chosen = cover(data, drafts, pooling, params.objective, deadline=deadline.at(params.improve_share),
                       seed=seed, windows=windows, extra=left)
    if chosen is not None:
        drafts = chosen
    else:
        tours: dict = {}
        pooled = pool_remainders(data, left, deadline=deadline, params=params, vtypes=pooling,
                                 report=lambda f: tell("pooling", lo + (hi - lo) * 0.45 * f), tours=tours)
        unplaced = pooled.unplaced
        tell("improving", lo + (hi - lo) * 0.45)
        # the covering pass gets its share of the time when the pooled trips need more coaches
        # of a type than its fleet runs, else what the local search leaves (its kicks run out)
        scarce = fleet_short(data, drafts + pooled.drafts, pooling, {})
        share = params.improve_share - (params.cover_share if scarce else 0.0)
        best = drafts + improve(data, pooled.drafts, pooling, params.objective, deadline=deadline.at(share),
                                seed=seed, windows=windows,
                                report=lambda f: tell("improving", lo + (hi - lo) * (0.45 + 0.55 * f)))
        if not scarce and len(best) <= COVER_TRIPS:
            best, unplaced = _restarts(data, (drafts, left), (best, unplaced), pooling, params, seed, deadline, tours,
                                       windows)
        drafts = best
        # every trip re-chosen over the search's routes and nearby ones, within what the fleet can
        # run: where the fleet is short, or on a small park with time left (on a large one the
        # search's trips are as good, and the scheduling needs the time)
        if scarce or len(drafts) <= COVER_TRIPS:
            drafts = cover(data, drafts, pooling, params.objective, deadline=deadline.at(params.improve_share),
                           seed=seed, windows=windows) or drafts
    allocation = allocate(data, drafts, eligible, unplaced)
    trips, short = seat_leftovers(data, allocation.trips, allocation.leftovers, vtypes, pooling)
    return trips, allocation.unassigned + short


def _restarts(data: ProblemData, full: tuple[list[DraftTrip], dict[Key, int]],
              found: tuple[list[DraftTrip], dict[Key, int]], pooling: list[int], params: SolveParams, seed: int,
              deadline: Deadline, tours: dict, windows: dict) -> tuple[list[DraftTrip], dict[Key, int]]:
    """The local search again while the time it left lasts (a small park's kicks run out early),
    keeping the plan that weighs least: first from the remainders with one full coach of each
    county given back to them (:func:`released`; the split may then cut that county's workers
    across two shared coaches, where the whole coach and a small remainder cost more), then
    both with the next seeds, until a round of both finds nothing lighter. The covering pass
    keeps its share of the time after them."""
    drafts, left = full
    starts = [(drafts, left)]
    more = released(drafts, left)
    if more is not None:
        starts.insert(0, more)
    until = deadline.at(params.improve_share - params.cover_share)
    best, best_left = found
    score = _weight(data, best, best_left, params.objective)
    turn = idle = 0
    # a round of every start that finds nothing lighter ends them
    while time.monotonic() + RESTART_SECONDS < until and turn < MAX_RESTARTS and idle < len(starts):
        base, rest = starts[turn % len(starts)]
        turn += 1
        pooled = pool_remainders(data, rest, deadline=deadline, params=params, vtypes=pooling, tours=tours)
        got = base + improve(data, pooled.drafts, pooling, params.objective, deadline=until,
                             seed=seed + turn, windows=windows)
        w = _weight(data, got, pooled.unplaced, params.objective)
        idle += 1
        if w < score - 1e-6:
            best, best_left, score, idle = got, pooled.unplaced, w, 0
    return best, best_left


def released(drafts: list[DraftTrip], left: dict[Key, int]) -> Optional[tuple[list[DraftTrip], dict[Key, int]]]:
    """The full coaches and remainders with one whole coach of each key that has a remainder given
    back to it (None when no key has both)."""
    keep: list[DraftTrip] = []
    more = dict(left)
    back: set[Key] = set()
    for d in drafts:
        k = d.loads[0][0]
        if len(d.loads) == 1 and more.get(k, 0) > 0 and k not in back:
            back.add(k)
            more[k] += d.loads[0][1]
            continue
        keep.append(d)
    return (keep, more) if back else None


def _weight(data: ProblemData, drafts: list[DraftTrip], unplaced: dict[Key, int], objective: str) -> float:
    """What the search minimises: the trips' objective weights, a worker too few to ride more than any."""
    return (sum(objective_weight(data, d.vehicle, d.km, crew_needed(data, data.vehicles[d.vehicle].depot,
                                                                    d.pickups, d.sites), objective)
                for d in drafts)
            + SKIP * sum(unplaced.values()))
