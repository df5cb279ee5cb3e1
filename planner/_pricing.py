"""What a trip costs and whether it can run: the pricing every optimisation step shares.

A trip is priced the same way wherever it is built (the full coaches, the giant-tour split, the
local search, allocation and scheduling): its shortest route depot → pickups → sites → depot,
the crew its longest one-way run needs, the coach type that carries its load best, and whether
its ride can fit the ride limit at some boarding hour.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Collection, Iterable, Mapping, Optional, Sequence

from .driving import DAY, DriveLog, DrivingRules, drive, fastest_leg
from .problem import NO_LIMIT, ProblemData

Key = tuple[int, int, int]  # (place, cohort, site index): workers pooled alike


#: (pickup place, site index) pairs whose riders a trip carries; None: every pickup to every site
Pairs = Optional[Collection[tuple[int, int]]]
#: minutes the optimiser keeps below the detour limit (the checker's driving arithmetic is its own)
DETOUR_MARGIN = 10


def best_route(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int],
               pairs: Pairs = None) -> tuple[float, tuple[int, ...], tuple[int, ...]]:
    """Shortest depot → pickups → sites → depot over all orders (≤ 3! × small site orders).

    Under a detour limit (:func:`detour_applies`) a trip of several stops takes the shortest
    order whose ride fits (:func:`ride_fits`, ``pairs`` as there): the far county boarded first
    and the near one last keeps the near workers' ride short. When no order fits, the shortest."""
    km = data.km
    site_places = [data.site_place[s] for s in sites]
    best = (math.inf, tuple(pickups), tuple(sites))
    site_perms = (list(itertools.permutations(range(len(sites)))) if len(sites) <= 4
                  else [tuple(range(len(sites)))])
    ordered = (len(pickups) > 1 or len(sites) > 1) and detour_applies(data, pickups, sites)
    found: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = []
    for perm in itertools.permutations(pickups):
        d = km[depot, perm[0]] + sum(km[a, b] for a, b in zip(perm, perm[1:]))
        for sp in site_perms:
            seq = [site_places[i] for i in sp]
            e = d + km[perm[-1], seq[0]] + sum(km[a, b] for a, b in zip(seq, seq[1:])) + km[seq[-1], depot]
            if ordered:
                found.append((float(e), tuple(perm), tuple(sites[i] for i in sp)))
            elif e < best[0]:
                best = (e, perm, tuple(sites[i] for i in sp))
    if not ordered:
        return best
    found.sort(key=lambda r: r[0])  # stable: the first order of equal length, as without the limit
    for route in found:
        if ride_fits(data, route[1], route[2], pairs):
            return route
    return found[0]


def key_pairs(keys: Iterable[Key]) -> frozenset[tuple[int, int]]:
    """The (pickup place, site) pairs of workers pooled by ``keys``."""
    return frozenset((k[0], k[2]) for k in keys)


def board_pairs(data: ProblemData, board: Mapping[int, Sequence[tuple[int, int]]]) -> frozenset[tuple[int, int]]:
    """The (pickup place, site) pairs of a trip's boarding ``{place: [(order part, count), …]}``."""
    return frozenset((p, data.orders[o].site) for p, loads in board.items() for o, _ in loads)


def detour_applies(data: ProblemData, pickups: Sequence[int], sites: Sequence[int]) -> bool:
    """Whether the detour limit binds a trip from ``pickups`` to ``sites``: the policy sets one,
    time rules apply, and the trip carries workers home → site (not a feeder to its station nor
    a last mile from one)."""
    if not data.time_rules or (data.detour_minutes is None and data.detour_share is None):
        return False
    if data.site_station and any(data.site_station[s] is not None for s in sites):
        return False
    return not any(p in data.station_place for p in pickups)


@functools.lru_cache(maxsize=1 << 16)
def _fastest(rules: DrivingRules, minutes: int) -> int:
    return fastest_leg(minutes, rules)


def direct_ride(data: ProblemData, place: int, site: int) -> int:
    """Minutes of the fastest legal direct coach ride from ``place`` to ``site`` (two drivers
    fresh at the best hour of the day)."""
    return _fastest(data.rules, int(data.drive[place, data.site_place[site]]))


def detour_limit(data: ProblemData, place: int, site: int) -> int:
    """The most minutes a worker boarding at ``place`` may ride to ``site`` (their boarding's
    end to their drop): the longer of the direct ride + ``detour_minutes`` and the direct ride ×
    (1 + ``detour_share``), :data:`DETOUR_MARGIN` kept; :data:`NO_LIMIT` without a limit."""
    direct = direct_ride(data, place, site)
    terms = []
    if data.detour_minutes is not None:
        terms.append(direct + data.detour_minutes)
    if data.detour_share is not None:
        terms.append(int(direct * (1.0 + data.detour_share)))
    return max(terms) - DETOUR_MARGIN if terms else NO_LIMIT


def site_room(data: ProblemData, site: int) -> int:
    """The most workers one coach may bring to ``site`` (its daily intake, when set)."""
    cap = data.site_intake[site]
    return cap if (cap is not None and data.time_rules) else NO_LIMIT


def crew_needed(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]) -> int:
    """2 when the outbound run (depot → last pickup) or the loaded run (first pickup → last drop)
    exceeds the two-driver distance."""
    km = data.km
    out = km[depot, pickups[0]] + sum(km[a, b] for a, b in zip(pickups, pickups[1:]))
    seq = list(pickups) + [data.site_place[s] for s in sites]
    loaded = sum(km[a, b] for a, b in zip(seq, seq[1:]))
    return 2 if max(out, loaded) > data.two_driver_km else 1


def span_fits(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]) -> bool:
    """Whether a coach of the fleet could run depot → pickups → sites → depot inside its hours
    (``available_from`` … ``available_until``): the driving, boarding and alighting alone, no
    break or rest, against the longest availability of any coach type. A pooled trip longer than
    that runs on no coach; the scheduler would have to cut it up by county."""
    longest = max((vt.available_until - vt.available_from for vt in data.vehicles if vt.count > 0), default=0)
    return longest >= NO_LIMIT // 2 or trip_minutes(data, depot, pickups, sites) <= longest


def trip_fits(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int],
              pairs: Pairs = None) -> bool:
    """Whether a trip from ``pickups`` (in order) to ``sites`` may be drafted: a county alone to one
    site always (its own trip, which the scheduler times or explains); any other — several
    counties, or one county to several sites — only when a coach has the hours for it
    (:func:`span_fits`) and, under the time rules, its ride fits at some hour (:func:`ride_fits`)."""
    if len(pickups) == 1 and len(sites) == 1:
        return True
    return span_fits(data, depot, pickups, sites) and (not data.time_rules or ride_fits(data, pickups, sites, pairs))


def trip_minutes(data: ProblemData, depot: int, pickups: Sequence[int], sites: Sequence[int]) -> int:
    """A coach's least minutes on depot → pickups → sites → depot: the driving, a boarding stop at
    each pickup and an alighting at each site (no break, rest or wait)."""
    seq = [depot, *pickups, *(data.site_place[s] for s in sites), depot]
    drive_min = sum(int(data.drive[a, b]) for a, b in zip(seq, seq[1:]))
    return drive_min + data.boarding * len(pickups) + data.alighting * len(sites)


def ride_fits(data: ProblemData, pickups: Sequence[int], sites: Sequence[int], pairs: Pairs = None) -> bool:
    """Whether the ride from the first boarding to the last drop fits the ride limit when the
    trip boards at some hour of the day (two rested drivers, the driving rules), and at that
    same hour every worker's own ride (their boarding's end to their site) fits the detour limit
    (:func:`detour_limit`; ``pairs``: the (pickup place, site) pairs that have riders, default
    every pickup to every site; a ride with no stop in between is no detour; a trip with a
    detour that may break its limit is timed with the boarding hours and the sites' receiving
    hours, which a coach waits for loaded): a pooled trip that fits at no hour is never drafted;
    the scheduler looks for the hour and rest that fit."""
    seq = list(pickups) + [data.site_place[s] for s in sites]
    legs = tuple(int(data.drive[a, b]) for a, b in zip(seq, seq[1:]))
    dwell = (data.boarding,) * (len(pickups) - 1) + (data.alighting,) * (len(sites) - 1) + (0,)
    if sum(legs) + sum(dwell) > data.max_ride:
        return False  # even without breaks or rests
    if data.rules.enabled and _ride_floor(data.rules, legs, dwell) > data.max_ride:
        return False  # the rest the daily limit needs: at no hour
    checks = detour_checks(data, pickups, sites, pairs, legs, dwell)
    if checks is None:
        return False  # a detour over its limit even without breaks or rests: it fits at no hour
    if not data.rules.enabled:
        return True
    if not checks:
        if _ride_bound(data.rules, sum(legs), sum(dwell)) <= data.max_ride:
            return True  # the slowest hour fits too
        return _fits_some_hour(data.rules, legs, dwell, data.max_ride, (), ())
    # a detour that may break its limit: timed with the hours workers board at home and the sites
    # receive (a coach waiting for them waits loaded)
    return _fits_some_hour(data.rules, legs, dwell, data.max_ride, checks, stop_windows(data, pickups, sites))


def detour_checks(data: ProblemData, pickups: Sequence[int], sites: Sequence[int], pairs: Pairs,
                  legs: Sequence[int], dwell: Sequence[int]) -> Optional[tuple[tuple[int, int, int], ...]]:
    """The detours of a trip from ``pickups`` to ``sites`` (``legs``, ``dwell`` as in
    :func:`ride_fits`) that may break their limit at some boarding hour: ``(pickup position, drop
    position, limit)`` each (positions in the stop sequence); None when one breaks it even
    without breaks or rests. A detour that fits its limit at the slowest hour is left out."""
    if not detour_applies(data, pickups, sites):
        return ()
    want = set(pairs) if pairs is not None else None
    np_ = len(pickups)
    rules = data.rules
    windows = stop_windows(data, pickups, sites)
    reach = [0]  # without breaks or rests, leaving the first pickup at 0
    leave = [0]
    t = 0
    for leg, stay in zip(legs, dwell):
        reach.append(t + leg)
        t += leg + stay
        leave.append(t)
    out = []
    for i, p in enumerate(pickups):
        for k, s in enumerate(sites):
            j = np_ + k
            if j <= i + 1 or (want is not None and (p, s) not in want):
                continue  # no stop in between, or no rider
            lim = detour_limit(data, p, s)
            ride = reach[j] - leave[i]
            if ride > lim:
                return None
            if not rules.enabled:
                continue
            closed = sum(_closed(w) for w in windows[i + 1:j + 1])
            if _ride_bound(rules, sum(legs[i:j]), ride - sum(legs[i:j]) + closed, sum(legs[:i])) > lim:
                out.append((i, j, lim))
    return tuple(out)


#: a daily window stops wait for, (from, until, minutes the stop needs inside it) in minutes of the
#: day; None: no wait
Window = Optional[tuple[int, int, int]]


def stop_windows(data: ProblemData, pickups: Sequence[int], sites: Sequence[int]) -> tuple[Window, ...]:
    """Per stop of a trip (its pickups, then its sites): the boarding hours at home, a site's
    receiving hours (None at a station, or without time rules)."""
    out: list[Window] = []
    for p in pickups:
        home = data.time_rules and data.board_hours is not None and p not in data.station_place
        out.append((data.board_hours[0], data.board_hours[1], data.boarding) if home else None)  # type: ignore[index]
    for s in sites:
        receives = data.time_rules and not (data.site_station and data.site_station[s] is not None)
        out.append((data.site_hours[s][0], data.site_hours[s][1], data.alighting) if receives else None)
    return tuple(out)


def _opens(w: Window, t: int) -> int:
    """The earliest t' ≥ t at which a stop fits in window ``w`` (as the scheduler waits for it)."""
    if w is None:
        return t
    a, b, need = w
    length = (b - a) % DAY or DAY
    if length < need:
        return t
    m = (t - a) % DAY
    return t if m + need <= length else t - m + DAY


def _closed(w: Window) -> int:
    """The longest a stop can wait for window ``w``."""
    if w is None:
        return 0
    a, b, need = w
    length = (b - a) % DAY or DAY
    return 0 if length < need else DAY - length + need


def _ride_bound(rules: DrivingRules, driving: int, standing: int, before: int = 0) -> int:
    """At least as many minutes as a ride of ``driving`` minutes at the wheel and ``standing``
    at stops can take at any hour, its crew of two having driven ``before`` minutes since it
    was fresh: every break and night rest the rules can ask for. A crew that could reach its
    daily limit gets no bound (:data:`NO_LIMIT`)."""
    if before + driving >= 2 * rules.daily:
        return NO_LIMIT
    shortest = min(rules.continuous, rules.night_continuous) if rules.night else rules.continuous
    elapsed = driving + standing + (1 + driving // max(1, shortest)) * rules.break_minutes
    if rules.night_rest is None:
        return elapsed
    rest = (rules.night_rest[1] - rules.night_rest[0]) % DAY
    n = 1  # night rests met: at most one per day of the ride, and one more
    while 1 + (elapsed + (n + 1) * rest) // DAY > n:
        n += 1
    return elapsed + n * rest


def _ride_floor(rules: DrivingRules, legs: Sequence[int], dwell: Sequence[int]) -> int:
    """At most as many minutes as the ride (``legs`` at the wheel, ``dwell`` at stops) takes at
    any hour for two drivers fresh at its start: over ``k`` × their daily driving, the ride spans
    ``k`` whole days, each with the minutes the daily limit keeps them from the wheel."""
    driving = sum(legs)
    per_day = 2 * rules.daily
    days = max(0, -(-driving // per_day) - 1) if per_day > 0 else 0
    return max(driving + sum(dwell), driving + days * max(0, DAY - per_day))


#: the boarding hours :func:`_fits_some_hour` tries, the likeliest to fit first (the night's end)
_HOURS = tuple(range(6, 24)) + tuple(range(6))


@functools.lru_cache(maxsize=1 << 16)
def _fits_some_hour(rules: DrivingRules, legs: tuple[int, ...], dwell: tuple[int, ...], max_ride: int,
                    checks: tuple[tuple[int, int, int], ...], windows: tuple[Window, ...]) -> bool:
    """Whether two drivers fresh at the first boarding, leaving it at some whole hour (or as soon
    as its boarding hours let it), bring the ride within ``max_ride`` and every detour of
    ``checks`` within its limit; ``windows`` (:func:`stop_windows`, or none at all): the hours
    each stop waits for (the first boarding's too)."""
    first = windows[0] if windows else None
    starts = [h * 60 for h in _HOURS]
    if first is not None:
        starts.insert(0, first[0] + first[2])  # the first boarding as the hours open
    for start in starts:
        if first is not None and _opens(first, start - first[2]) != start - first[2]:
            continue  # the first boarding outside its hours
        log = DriveLog(crew=2)
        t = start
        leave, reach = [t], [t]  # per position in the stop sequence: when the coach leaves it, reaches it
        for k, (leg, stay) in enumerate(zip(legs, dwell), 1):
            t, _ = drive(log, t, leg, rules)
            if windows:
                t = _opens(windows[k], t)
            reach.append(t)
            t += stay
            leave.append(t)
        if reach[-1] - start > max_ride:
            continue
        if all(reach[j] - leave[i] <= lim for i, j, lim in checks):
            return True
    return False


def trip_cost(data: ProblemData, v: int, km: float, crew: int) -> float:
    vt = data.vehicles[v]
    return vt.fixed_cost + vt.cost_per_km * km + vt.crew_cost * (crew - 1)


def objective_weight(data: ProblemData, v: int, km: float, crew: int, objective: str) -> float:
    """The objective weight of one coach on a route: km first, cost as a tie-break (or cost alone)."""
    cost = trip_cost(data, v, km, crew)
    if objective == "cost":
        return cost
    return km + cost * 1e-4


def pooling_types(data: ProblemData) -> list[int]:
    """The coach types that may carry a pooled trip (enough seats for the fewest riders allowed)."""
    return [v for v, vt in enumerate(data.vehicles) if vt.capacity >= data.min_riders and vt.count > 0]


def pickup_span(data: ProblemData, pickups: tuple[int, ...]) -> int:
    """An estimate of the minutes from the first boarding to the last: the drives between pickups
    with their breaks and the boarding stops (a night rest in between is left to the scheduler)."""
    if len(pickups) < 2:
        return 0
    rules = data.rules
    drive_min = sum(int(data.drive[a, b]) for a, b in zip(pickups, pickups[1:]))
    span = drive_min + data.boarding * (len(pickups) - 1)
    if rules.enabled:
        span += (drive_min // rules.night_continuous + 1) * rules.break_minutes
    return span


def usable_types(data: ProblemData) -> list[int]:
    """The coach types that can carry anyone (coaches and seats)."""
    return [v for v, vt in enumerate(data.vehicles) if vt.count > 0 and vt.capacity > 0]

