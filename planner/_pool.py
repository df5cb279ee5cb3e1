"""The remainders pooled "route first, cluster second": a giant tour, cut optimally into trips.

Pipeline step "pool": each county's remainder (after the full coaches) is pooled per cohort. An
open path through the cohort's counties (:func:`planner._routing.open_path`) keeps neighbours
together; a dynamic programme then cuts the path's worker sequence into trips optimally — at
most ``max_pickup_stops`` counties and one coach-load each, a county's remainder split between
two trips where that fills coaches, each trip on the coach type that carries its load best.
Workers too few to ride at all (``min_riders_per_trip``) come back as *unplaced*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ._pricing import Key, best_route, crew_needed, key_pairs, objective_weight, pooling_types, site_room, trip_fits
from ._routing import open_path
from ._trips import DraftTrip
from .params import Deadline, SolveParams
from .problem import ProblemData

SKIP = 1e12  # the DP's price of leaving one worker out (more than any trip)


@dataclass(frozen=True)
class Pooled:
    """The pooling step's answer: drafted trips, and workers by key too few to ride."""

    drafts: list[DraftTrip]
    unplaced: dict[Key, int]


def pool_remainders(data: ProblemData, left: dict[Key, int], *, deadline: Deadline, params: SolveParams,
                    vtypes: Optional[list[int]] = None, report: Optional[Callable[[float], None]] = None,
                    tours: Optional[dict[tuple[int, float, tuple[int, ...]], list[int]]] = None) -> Pooled:
    """Cover every remaining worker: per cohort, giant tours through the counties, split into trips.

    ``vtypes``: the coach types that may carry the pooled trips (default: every one that can).
    ``tours``: giant tours by (cohort, radial, counties), found before (the same counties
    pooled again with other loads take the same tours, and only the split runs) and kept."""
    tours = {} if tours is None else tours
    vtypes = pooling_types(data) if vtypes is None else vtypes
    if not left or not vtypes:
        return Pooled([], {})
    cohorts = sorted({k[1] for k in left})
    out = Pooled([], {})
    for i, cohort in enumerate(cohorts):
        part = {k: n for k, n in left.items() if k[1] == cohort}
        best: Optional[tuple[float, Pooled]] = None
        hub = data.vehicles[vtypes[0]].depot
        for j, radial in enumerate(params.radial):
            places = tuple(sorted({k[0] for k in part}))
            order = tours.get((cohort, radial, places))
            if order is None:
                seconds = max(0.2, deadline.left(params.pool_share, 0.0) / ((len(cohorts) - i) * (len(params.radial) - j)))
                order = tours[(cohort, radial, places)] = giant_tour(data, list(places), seconds, radial, hub)
            got = split_tour(data, order, part, vtypes, params.objective)
            score = (sum(objective_weight(data, d.vehicle, d.km, 1, params.objective) for d in got.drafts)
                     + SKIP * len(got.unplaced))
            if best is None or score < best[0]:
                best = (score, got)
        if best is not None:
            out.drafts.extend(best[1].drafts)
            out.unplaced.update(best[1].unplaced)
        if report:
            report((i + 1) / len(cohorts))
    return out


def giant_tour(data: ProblemData, places: list[int], seconds: float, radial: float = 0.0,
               hub: int = 0) -> list[int]:
    """An open path through ``places`` that keeps neighbours together.

    Neighbours on the path should be near each other *and* about as far from the depot: a trip
    costs its farthest county's tour, while the bound credits each worker with their own.
    """
    if len(places) <= 2:
        return list(places)
    r = data.km[hub, places]
    arc = data.km[np.ix_(places, places)] + radial * np.abs(r[:, None] - r[None, :])
    return [places[i] for i in open_path(np.rint(arc * 10).astype(np.int64), time_limit=seconds)]


def split_tour(data: ProblemData, order: list[int], left: dict[Key, int], vtypes: list[int],
               objective: str) -> Pooled:
    """Cut the tour's worker sequence into trips, optimally (dynamic programming).

    Workers line up county by county along the tour. A trip takes a contiguous run of at most
    the largest capacity, touching at most ``max_stops`` counties, so a county's workers may be
    split between two trips; each trip takes the coach type that carries its load best.
    """
    keys: list[Key] = []
    for p in order:
        keys += sorted(k for k in left if k[0] == p)
    counts = [left[k] for k in keys]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    total = int(starts[-1])
    qmax = max(data.vehicles[v].capacity for v in vtypes)
    key_at = np.repeat(np.arange(len(keys)), counts)  # key index of every worker position
    caps = sorted({data.vehicles[v].capacity for v in vtypes})
    memo: dict[tuple[int, int], tuple[float, tuple, tuple, bool]] = {}

    def route(ka: int, kb: int) -> tuple[float, tuple, tuple, bool]:
        """Best route for keys ka..kb: (km, pickups, sites, whether its ride time can fit)."""
        got = memo.get((ka, kb))
        if got is None:
            span = keys[ka:kb + 1]
            pk = sorted({k[0] for k in span})
            st = sorted({k[2] for k in span})
            depot = data.vehicles[vtypes[0]].depot
            pairs = key_pairs(span)
            km, p, s_ = best_route(data, depot, pk, st, pairs)
            ok = trip_fits(data, depot, p, s_, pairs)
            got = memo[(ka, kb)] = (km, p, s_, ok)
        return got

    best_type: dict[tuple[int, int, int], tuple[float, int]] = {}

    def weight(ka: int, kb: int, load: int) -> tuple[float, int]:
        need = next(c for c in caps if c >= load)
        got = best_type.get((ka, kb, need))
        if got is None:
            km, p, s_, _ = route(ka, kb)
            depot = data.vehicles[vtypes[0]].depot
            crew = crew_needed(data, depot, p, s_)
            got = min((objective_weight(data, v, km, crew, objective), v)
                      for v in vtypes if data.vehicles[v].capacity >= load)
            best_type[(ka, kb, need)] = got
        return got

    inf = math.inf
    f = [inf] * (total + 1)
    back = [0] * (total + 1)  # where the trip ending at j starts
    skip = [False] * (total + 1)  # whether worker j is left out instead
    f[0] = 0.0
    k_limit = data.max_stops
    for j in range(1, total + 1):
        kb = int(key_at[j - 1])
        places_seen: set[int] = set()
        best, arg, left_out = inf, 0, False
        # a trip's start i: only where it matters — the first worker of a key, or j - capacity
        lo = max(0, j - qmax)
        cand = {lo}
        ka = kb
        while ka >= 0 and starts[ka + 1] > lo:
            places_seen.add(keys[ka][0])
            if len(places_seen) > k_limit:
                break
            cand.add(max(lo, int(starts[ka])))
            ka -= 1
        if data.min_riders > 1:  # a cut inside a county may be needed to keep every trip full enough
            cand.update(range(lo, max(lo, j - data.min_riders) + 1))
        for i in sorted(cand):
            if f[i] == inf or j - i < data.min_riders:
                continue
            ka_i = int(key_at[i])
            if len({keys[k][0] for k in range(ka_i, kb + 1)}) > k_limit:
                continue
            if j - i > min(site_room(data, keys[k][2]) for k in range(ka_i, kb + 1)):
                continue
            if not route(ka_i, kb)[3]:
                continue
            w, _ = weight(ka_i, kb, j - i)
            if f[i] + w < best:
                best, arg = f[i] + w, i
        # leaving a worker out is allowed but costs more than any trip (min riders unreachable)
        if f[j - 1] + SKIP < best:
            best, arg, left_out = f[j - 1] + SKIP, j - 1, True
        f[j], back[j], skip[j] = best, arg, left_out
    # walk back: trips as position ranges
    trips: list[tuple[int, int]] = []
    skipped: dict[Key, int] = {}
    j = total
    while j > 0:
        if skip[j]:
            k = keys[int(key_at[j - 1])]
            skipped[k] = skipped.get(k, 0) + 1
            j -= 1
            continue
        i = back[j]
        trips.append((i, j))
        j = i
    out: list[DraftTrip] = []
    for i, j in reversed(trips):
        ka, kb = int(key_at[i]), int(key_at[j - 1])
        loads: list[tuple[Key, int]] = []
        for q in range(ka, kb + 1):
            n = min(j, starts[q + 1]) - max(i, starts[q])
            if n > 0:
                loads.append((keys[q], int(n)))
        _, v = weight(ka, kb, j - i)
        km, pk, st = best_route(data, data.vehicles[v].depot, sorted({k[0] for k, _ in loads}),
                                sorted({k[2] for k, _ in loads}), key_pairs(k for k, _ in loads))
        out.append(DraftTrip(v, pk, st, tuple(loads), km))
    return Pooled(out, skipped)

