"""Improve pooled trips by local search, after the giant-tour split.

The split is optimal for one order of the counties; trips that the order put apart can still do
better together. One cohort at a time (cohorts never share a coach), three moves are applied
until none helps:

- *re-split a pair*: two neighbouring trips pool their loads and are cut again in the best way —
  any partition of their counties into two trips of at most ``max_stops`` pickups, one county
  possibly split between both, or one trip when it all fits;
- *three into two*: three neighbouring trips whose riders fit two coaches are re-cut into two;
- *empty a trip*: its loads go to the neighbouring trips where they cost least.

Then an iterated local search: a *kick* re-cuts a few neighbouring trips along a random order
(the split's dynamic programme), the moves descend again, and the result is kept only when it
beats the best so far. Kicks are local, so the trips are cut in two halves searched at once by
two forked processes (when the machine has two cores), in two rounds cut along different axes.

A trip is priced as the split prices it: its shortest route and the coach type that carries its
load best. A multi-county trip must fit the ride limit at some boarding hour (``ride_fits``) and
its keys' boarding windows must overlap by the time between its pickups; both are checked only
for a move that would improve. Every rider of every key stays on exactly one trip.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import deque
from typing import Callable, Iterable, Optional

import numpy as np

from ._pool import split_tour
from ._pricing import Key, best_route, crew_needed, key_pairs, objective_weight, pickup_span, site_room, trip_fits
from ._routing import fork_context
from ._trips import DraftTrip
from .eligibility import Eligible
from .problem import ProblemData

Loads = dict[Key, int]
EPS = 1e-6
MAX_STOPS = 4  # beyond this many pickups per trip, re-cutting pairs (2^stops ways) is too slow: skipped
NEAR_PLACES = 30  # per county, the nearest counties whose trips are its neighbours
NEAR_TRIPS = 50  # neighbouring trips tried per trip
NEAR_TRIPLES = 20  # of which the nearest are tried three at a time
NEAR_TOUCH = 10  # neighbours looked at again after a trip changes
RUIN_TRIPS = 4  # trips re-cut together by a kick
KICKS_PER_TRIP = 20  # at most, per trip of the cohort
ROUNDS = 2  # of kicks, the trips cut in halves along one axis and then the other
MIN_HALF = 40  # trips per half below which one process searches them all
SEAM_SECONDS = 2.0  # at most this long of a round to descend where the halves meet


class _Prices:
    """Trip weights with their routes, memoised by (counties, sites)."""

    def __init__(self, data: ProblemData, vtypes: list[int], objective: str,
                 windows: Optional[dict[Key, tuple[int, int]]] = None):
        self.data, self.vtypes, self.objective = data, vtypes, objective
        self.windows = windows or {}
        self.depot = data.vehicles[vtypes[0]].depot
        self.caps = sorted({data.vehicles[v].capacity for v in vtypes})
        self.qmax = self.caps[-1]
        self._route: dict[tuple[frozenset, frozenset, Optional[frozenset]], tuple[float, tuple, tuple, int]] = {}
        self._lone: dict[Key, float] = {}
        self._fits: dict[tuple[frozenset, frozenset, Optional[frozenset]], bool] = {}
        self._weight: dict[tuple[frozenset, frozenset, Optional[frozenset], int], tuple[float, int]] = {}

    def lone(self, key: Key) -> float:
        """depot → county → site → depot: no trip carrying ``key`` is shorter."""
        got = self._lone.get(key)
        if got is None:
            km, site = self.data.km, self.data.site_place[key[2]]
            got = self._lone[key] = float(km[self.depot, key[0]] + km[key[0], site] + km[site, self.depot])
        return got

    def route(self, places: frozenset, sites: frozenset, pairs: Optional[frozenset] = None
              ) -> tuple[float, tuple, tuple, int]:
        """(km, pickup order, site order, most riders the sites allow); ``pairs``: the (place,
        site) pairs with riders, for the detour limit (default: every place to every site)."""
        if len(sites) == 1:
            pairs = None  # every place rides to the one site
        key = (places, sites, pairs)
        got = self._route.get(key)
        if got is None:
            km, p, s = best_route(self.data, self.depot, sorted(places), sorted(sites), pairs)
            room = min(site_room(self.data, x) for x in sites)
            got = self._route[key] = (km, p, s, room)
        return got

    def fits(self, loads: Loads) -> bool:
        """Whether a trip of several counties or sites can fit the ride limit, a coach can run it within
        its hours (:func:`span_fits`), and its riders' boarding windows (the hull of each key's
        orders) leave room for the pickups in between."""
        places = frozenset(k[0] for k in loads)
        sites = frozenset(k[2] for k in loads)
        if len(places) == 1 and len(sites) == 1:
            return True  # a place alone to one site: its own trip, which the scheduler times
        pairs = key_pairs(loads) if len(sites) > 1 else None
        _, p, s, _ = self.route(places, sites, pairs)
        if self.windows:
            lo = max(self.windows[k][0] for k in loads)
            hi = min(self.windows[k][1] for k in loads)
            if lo + pickup_span(self.data, p) > hi:
                return False
        key = (places, sites, pairs)
        got = self._fits.get(key)
        if got is None:
            got = self._fits[key] = trip_fits(self.data, self.depot, p, s, pairs)
        return got

    def weight(self, loads: Loads) -> tuple[float, Optional[int]]:
        """(objective weight, coach type) of a trip: (0, None) with no riders, (inf, None) when it
        breaks a rule (the ride limit aside: :meth:`fits`)."""
        if not loads:
            return 0.0, None
        n = sum(loads.values())
        places = frozenset(k[0] for k in loads)
        sites = frozenset(k[2] for k in loads)
        if len(places) > self.data.max_stops or n > self.qmax or n < self.data.min_riders:
            return math.inf, None
        pairs = key_pairs(loads) if len(sites) > 1 else None
        km, p, s, room = self.route(places, sites, pairs)
        if n > room:
            return math.inf, None
        need = next(c for c in self.caps if c >= n)
        key = (places, sites, pairs, need)
        got = self._weight.get(key)
        if got is None:
            crew = crew_needed(self.data, self.depot, p, s)
            got = self._weight[key] = min(
                (objective_weight(self.data, v, km, crew, self.objective), v)
                for v in self.vtypes if self.data.vehicles[v].capacity >= n)
        return got[0], got[1]

    def draft(self, loads: Loads) -> DraftTrip:
        places = frozenset(k[0] for k in loads)
        sites = frozenset(k[2] for k in loads)
        km, p, s, _ = self.route(places, sites, key_pairs(loads) if len(sites) > 1 else None)
        _, v = self.weight(loads)
        assert v is not None, "only trips that keep every rule are drafted"
        return DraftTrip(v, p, s, tuple(sorted(loads.items())), km)


def _cuts(prices: _Prices, loads: Loads, trips: int, limit: float = math.inf) -> Iterable[list[Loads]]:
    """Ways to carry ``loads`` on at most ``trips`` (1 or 2) trips: every partition of the
    counties into two groups of at most ``max_stops``, one county possibly shared (filling either
    side first); and one trip when it all fits. Partitions that cannot cost less than ``limit``
    (each trip at least its farthest rider's own tour) are skipped."""
    stops, qmax = prices.data.max_stops, prices.qmax
    by_place: dict[int, list[Key]] = {}
    for k in sorted(loads):
        by_place.setdefault(k[0], []).append(k)
    places = sorted(by_place)
    size = {p: sum(loads[k] for k in by_place[p]) for p in places}
    far = {p: max(prices.lone(k) for k in by_place[p]) for p in places}
    total = sum(size.values())
    if len(places) <= stops and total <= qmax:
        yield [dict(loads)]
    if trips < 2 or total > 2 * qmax:
        return

    def lb(group: Iterable[int]) -> float:
        return max((far[p] for p in group), default=0.0)

    first, rest = places[0], places[1:]
    for r in range(0, len(rest) + 1):
        for pick in itertools.combinations(rest, r):
            g1 = [first, *pick]
            g2 = [p for p in rest if p not in pick]
            if not g2 or len(g1) > stops or len(g2) > stops:
                continue
            n1 = sum(size[p] for p in g1)
            if n1 <= qmax and total - n1 <= qmax and lb(g1) + lb(g2) < limit:
                yield [{k: loads[k] for p in g1 for k in by_place[p]},
                       {k: loads[k] for p in g2 for k in by_place[p]}]
            # one county shared by both trips
            for own, other in ((g1, g2), (g2, g1)):
                if len(other) >= stops:
                    continue
                for shared in own:
                    if lb(p for p in own if p != shared) + lb(other) < limit:
                        yield from _share(prices, loads, by_place, shared, own, other)


def _share(prices: _Prices, loads: Loads, by_place: dict[int, list[Key]], shared: int,
           own: list[int], other: list[int]) -> Iterable[list[Loads]]:
    """``shared`` (in ``own``) also boards on the trip of ``other``: fill one side, then the other."""
    base1 = {k: loads[k] for p in own if p != shared for k in by_place[p]}
    base2 = {k: loads[k] for p in other for k in by_place[p]}
    keys = by_place[shared]
    total = sum(loads[k] for k in keys)
    for fill_first in (True, False):
        a, b = (base1, base2) if fill_first else (base2, base1)
        room = prices.qmax - sum(a.values())
        give = min(room, total - 1)
        if give <= 0 or total - give > prices.qmax - sum(b.values()):
            continue
        sites_a = {k[2] for k in a}
        ga, gb = dict(a), dict(b)
        left = give
        for k in sorted(keys, key=lambda k: (k[2] not in sites_a, k)):
            take = min(left, loads[k])
            if take:
                ga[k] = ga.get(k, 0) + take
            if loads[k] - take:
                gb[k] = gb.get(k, 0) + loads[k] - take
            left -= take
        yield [ga, gb]


def _merged(*parts: Loads) -> Loads:
    out: Loads = {}
    for part in parts:
        for k, n in part.items():
            out[k] = out.get(k, 0) + n
    return out


class _State:
    def __init__(self, prices: _Prices, trips: list[Loads]):
        self.prices = prices
        self.loads = [dict(t) for t in trips]
        self.cost = [prices.weight(t)[0] for t in self.loads]
        self.at: dict[int, set[int]] = {}
        for i, t in enumerate(self.loads):
            for k in t:
                self.at.setdefault(k[0], set()).add(i)
        km = prices.data.km
        places = sorted(self.at)
        sub = km[np.ix_(places, places)]
        order = np.argsort(sub, axis=1)[:, :NEAR_PLACES + 1]
        self.near = {p: [places[j] for j in order[i]] for i, p in enumerate(places)}
        self.km = km
        self.stuck: set = set()

    def add(self) -> int:
        self.loads.append({})
        self.cost.append(0.0)
        return len(self.loads) - 1

    def reset(self, trips: list[Loads]) -> None:
        for i in range(len(self.loads)):
            self.set(i, dict(trips[i]) if i < len(trips) else {})

    def set(self, i: int, loads: Loads) -> None:
        for k in self.loads[i]:
            self.at[k[0]].discard(i)
        self.loads[i] = loads
        self.cost[i] = self.prices.weight(loads)[0]
        for k in loads:
            self.at.setdefault(k[0], set()).add(i)

    def neighbours(self, a: int) -> list[int]:
        mine = {k[0] for k in self.loads[a]}
        found: dict[int, float] = {}
        for p in mine:
            for q in self.near[p]:
                d = float(self.km[p, q])
                for b in self.at.get(q, ()):
                    if b != a and d < found.get(b, math.inf):
                        found[b] = d
        return sorted(found, key=lambda b: (found[b], b))[:NEAR_TRIPS]

    def best_cut(self, group: list[int], trips: int) -> Optional[list[Loads]]:
        """The cheapest re-cut of ``group``'s riders on ``trips`` trips, if it beats the group now."""
        sig = (trips, tuple(sorted(tuple(sorted(self.loads[i].items())) for i in group)))
        if sig in self.stuck:
            return None
        now = sum(self.cost[i] for i in group)
        pool = _merged(*(self.loads[i] for i in group))
        options: list[tuple[float, int, list[Loads]]] = []
        for cut in _cuts(self.prices, pool, trips, now - EPS):
            w = 0.0
            for t in cut:
                w += self.prices.weight(t)[0]
                if w >= now - EPS:
                    break
            if w < now - EPS:
                options.append((w, len(options), cut))
        for _, _, cut in sorted(options, key=lambda o: (o[0], o[1])):
            if all(self.prices.fits(t) for t in cut):
                return cut
        self.stuck.add(sig)  # these trips as they are: no better cut (do not look again)
        return None

    def apply(self, group: list[int], cut: list[Loads]) -> None:
        for i, loads in zip(group, cut + [{}] * (len(group) - len(cut))):
            self.set(i, loads)

    def empty(self, a: int) -> bool:
        """Move all of ``a``'s riders to neighbouring trips, cheapest first; keep it if it saves."""
        saved = {a: dict(self.loads[a])}
        gain = self.cost[a]
        changed: dict[int, float] = {}
        ok = True
        near = self.neighbours(a)
        for k, n in sorted(self.loads[a].items(), key=lambda kv: (-kv[1], kv[0])):
            left = n
            while left and ok:
                best = None
                for b in near:
                    room = self.prices.qmax - sum(self.loads[b].values())
                    m = min(left, room)
                    if m <= 0:
                        continue
                    trial = dict(self.loads[b])
                    trial[k] = trial.get(k, 0) + m
                    w = self.prices.weight(trial)[0]
                    if w == math.inf or not self.prices.fits(trial):
                        continue
                    per = (w - self.cost[b]) / m
                    if best is None or per < best[0]:
                        best = (per, b, m, trial)
                if best is None:
                    ok = False
                    break
                _, b, m, trial = best
                saved.setdefault(b, dict(self.loads[b]))
                changed.setdefault(b, self.cost[b])
                self.set(b, trial)
                left -= m
            if not ok:
                break
            rest = dict(self.loads[a])
            del rest[k]
            self.set(a, rest)
        extra = sum(self.cost[b] - c0 for b, c0 in changed.items())
        if ok and extra < gain - EPS:
            return True
        for i, loads in saved.items():
            self.set(i, loads)
        return False


def _descend(state: _State, todo: Iterable[int], deadline: float) -> None:
    """Apply improving moves around the trips in ``todo`` (and whatever they change) until none helps."""
    queue = deque(sorted(set(todo)))
    queued = set(queue)
    qmax, stops = state.prices.qmax, state.prices.data.max_stops

    def touched(group: Iterable[int]) -> None:
        for i in group:
            for j in [i, *state.neighbours(i)[:NEAR_TOUCH]]:
                if j not in queued and state.loads[j]:
                    queue.append(j)
                    queued.add(j)

    while queue and time.monotonic() < deadline:
        a = queue.popleft()
        queued.discard(a)
        if not state.loads[a]:
            continue
        near = state.neighbours(a)
        moved: Optional[list[int]] = None
        for b in near:
            cut = state.best_cut([a, b], 2)
            if cut is not None:
                state.apply([a, b], cut)
                moved = [a, b]
                break
        if moved is None:
            for b, c in itertools.combinations(near[:NEAR_TRIPLES], 2):
                group = [a, b, c]
                riders = sum(sum(state.loads[i].values()) for i in group)
                places = {k[0] for i in group for k in state.loads[i]}
                if riders <= 2 * qmax and len(places) <= 2 * stops:
                    cut = state.best_cut(group, 2)
                    if cut is not None:
                        state.apply(group, cut)
                        moved = group
                        break
        if moved is None and state.empty(a):
            moved = [a, *near]
        if moved is not None:
            touched(moved)


def _ruin(state: _State, rng: random.Random) -> Optional[list[int]]:
    """Re-cut a trip and its 2–4 nearest neighbours along a random nearest-neighbour order of their
    counties (the split's dynamic programme): a kick out of a local optimum. The trip is drawn
    with odds by how far it costs above its riders' share of the bound."""
    alive = [i for i, t in enumerate(state.loads) if t]
    # trips far above their riders' share of the bound are kicked more often
    lone, q = state.prices.lone, state.prices.qmax
    excess = [max(1.0, state.cost[i] - sum(n * lone(k) for k, n in state.loads[i].items()) / q) for i in alive]
    a = rng.choices(alive, weights=excess)[0]
    size = rng.randint(RUIN_TRIPS - 1, RUIN_TRIPS + 1)
    group = [a, *state.neighbours(a)[:size - 1]]
    pool = _merged(*(state.loads[i] for i in group))
    places = sorted({k[0] for k in pool})
    here = rng.choice(places)
    order = [here]
    rest = set(places) - {here}
    while rest:
        near = sorted(rest, key=lambda q: (state.km[here, q], q))[:2]
        here = rng.choice(near)
        order.append(here)
        rest.discard(here)
    prices = state.prices
    pooled = split_tour(prices.data, order, pool, prices.vtypes, prices.objective)
    cut = pooled.drafts
    if pooled.unplaced or any(not prices.fits(dict(d.loads)) for d in cut):
        return None
    spare = [i for i, t in enumerate(state.loads) if not t][:max(0, len(cut) - len(group))]
    slots = group + spare + [state.add() for _ in range(len(cut) - len(group) - len(spare))]
    for i, loads in zip(slots, [dict(d.loads) for d in cut] + [{}] * (len(slots) - len(cut))):
        state.set(i, loads)
    return slots


def _kicks(state: _State, until: float, rng: random.Random, limit: int,
           tell: Callable[[], None] = lambda: None) -> list[Loads]:
    """Kick and descend until ``until`` or ``limit`` kicks, keeping the best trips; returns them."""
    best = [dict(t) for t in state.loads]
    best_cost = sum(state.cost)
    for kick in range(limit):
        if time.monotonic() >= until or sum(1 for t in state.loads if t) < 2:
            break
        if kick % 10 == 0:
            tell()
        slots = _ruin(state, rng)
        if slots is None:
            continue
        _descend(state, slots, until)
        now = sum(state.cost)
        if now < best_cost - EPS:
            best, best_cost = [dict(t) for t in state.loads], now
        else:
            state.reset(best)
    return best


def _halves(state: _State, turn: int = 0) -> Optional[tuple[list[int], list[int]]]:
    """The trips cut in two along the long axis of their counties (kicks are local, so each half
    can be searched on its own core)."""
    alive = [i for i, t in enumerate(state.loads) if t]
    if len(alive) < 2 * MIN_HALF:
        return None
    points = [state.prices.data.places[min(k[0] for k in state.loads[i])] for i in alive]
    xy = np.array([[p.lon, p.lat] for p in points])
    xy = xy - xy.mean(axis=0)
    axis = np.linalg.svd(xy, full_matrices=False)[2][turn % 2]
    order = [alive[j] for j in np.argsort(xy @ axis, kind="stable")]
    mid = len(order) // 2
    return order[:mid], order[mid:]


def _half_search(conn, state: _State, until: float, seed: int, limit: int) -> None:
    try:
        conn.send(_kicks(state, until, random.Random(seed), limit))
    finally:
        conn.close()


def _parallel_kicks(state: _State, until: float, seed: int, limit: int, tell: Callable[[], None],
                    turn: int = 0, seam_until: Optional[float] = None) -> list[Loads]:
    """Kicks on both halves of the trips at once, one forked process each, when the machine has
    two cores and fork and this process may have children; else on all trips here. The halves are
    joined and their seam descended (until ``seam_until``, default :data:`SEAM_SECONDS` after
    ``until``)."""
    cut = _halves(state, turn)
    ctx = fork_context()
    if cut is None or ctx is None:
        return _kicks(state, until, random.Random(seed), limit, tell)
    prices = state.prices
    parts, procs = [], []
    for h, half in enumerate(cut):
        sub = _State(prices, [state.loads[i] for i in half])
        mine, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_half_search, args=(theirs, sub, until, seed * 2 + h, limit // 2), daemon=True)
        proc.start()
        theirs.close()
        parts.append(mine)
        procs.append(proc)
    halves: list[list[Loads]] = []
    for h, (conn, proc) in enumerate(zip(parts, procs)):
        try:
            got = conn.recv()
        except EOFError:  # the child died: keep that half as it was
            got = [state.loads[i] for i in cut[h]]
        halves.append([dict(t) for t in got if t])
        proc.join()
    merged = _State(prices, halves[0] + halves[1])
    first = len(halves[0])
    seam = [i for i in range(len(merged.loads))
            if any((j < first) != (i < first) for j in merged.neighbours(i)[:NEAR_TOUCH])]
    _descend(merged, seam, until + SEAM_SECONDS if seam_until is None else seam_until)
    tell()
    return [dict(t) for t in merged.loads]


def improve(data: ProblemData, drafts: list[DraftTrip], vtypes: list[int], objective: str,
            deadline: float, seed: int = 0, report: Optional[Callable[[float], None]] = None,
            windows: Optional[dict[Key, tuple[int, int]]] = None) -> list[DraftTrip]:
    """Local search on pooled drafts (see the module's doc); the riders of every key are kept.
    Drafts are returned as they are when trips may have more than ``MAX_STOPS`` pickups.

    After the first local optimum, kicks (:func:`_ruin`) and descents alternate, keeping the best
    plan, for at most ``KICKS_PER_TRIP`` kicks per trip or until ``deadline``.
    """
    if not drafts or not vtypes or data.max_stops > MAX_STOPS:
        return drafts
    prices = _Prices(data, vtypes, objective, windows)
    out: list[DraftTrip] = []
    cohorts = sorted({d.loads[0][0][1] for d in drafts})
    sizes = {c: sum(1 for d in drafts if d.loads[0][0][1] == c) for c in cohorts}
    began = time.monotonic()

    def tell() -> None:
        if report:
            report(min(1.0, (time.monotonic() - began) / max(1e-9, deadline - began)))
    for n, cohort in enumerate(cohorts):
        share = sizes[cohort] / sum(sizes[c] for c in cohorts[n:])
        until = time.monotonic() + max(0.0, deadline - time.monotonic()) * share
        state = _State(prices, [dict(d.loads) for d in drafts if d.loads[0][0][1] == cohort])
        _descend(state, range(len(state.loads)), until)
        # two rounds, the trips cut along the long axis and then across it, so that the seam of
        # the first round lies inside a half in the second
        for turn in range(ROUNDS):
            end = time.monotonic() + max(0.0, until - time.monotonic()) / (ROUNDS - turn)
            # the seam where the halves meet is descended within the round's time, not after it
            seam = min(SEAM_SECONDS, 0.2 * max(0.0, end - time.monotonic()))
            best = _parallel_kicks(state, end - seam, seed + turn, KICKS_PER_TRIP * sizes[cohort] // ROUNDS, tell,
                                   turn, seam_until=end)
            state = _State(prices, best)
        out += [prices.draft(t) for t in state.loads if t]
    return out


def key_windows(data: ProblemData, eligible: list[Eligible]) -> dict[Key, tuple[int, int]]:
    """Per key, the hull of its orders' boarding windows (what :meth:`_Prices.fits` compares)."""
    windows: dict[Key, tuple[int, int]] = {}
    for e in eligible:
        o = data.orders[e.order]
        k = (o.place, e.cohort, o.site)
        lo, hi = windows.get(k, (e.board_from, e.board_until))
        windows[k] = (min(lo, e.board_from), max(hi, e.board_until))
    return windows

