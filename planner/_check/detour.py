"""A worker's detour on a pooled coach: no worker rides much longer than a coach straight from
their own boarding place to their own site would take.

A worker boarding at a stop rides from that stop's ``depart`` to their drop's ``arrive``; the
rule is about those whose coach stops elsewhere on the way (a stop between the two: another
county's boarding, another site's drop). A ride with no stop between is the direct road itself:
how long its coach stands still is the journey's loaded wait, a cost, not this rule. The
direct ride is the fastest legal run of the road from the boarding place to the drop (the plan's
road source): two drivers fresh at the best hour of the day under the policy's driving rules,
computed with this family's own arithmetic (:func:`planner._check.journey.fastest_ride`), not
the optimiser's. The ride may take at most the larger of ``direct + max_detour_hours`` and
``direct × (1 + max_detour_share)`` (a term whose field is null is left out; both null: no
limit). Checked with ``policy.time_rules``, on trips that carry workers home → site (a feeder's
or a last mile's coach leg is the trains family's).

Rule ``detour``.
"""

from __future__ import annotations

import math
from typing import Optional

from ..contract import Policy
from .common import TOL_S, Facts, TripFacts, hours, stop_label
from .journey import fastest_ride


def detour_limit_h(p: Policy, direct_h: float) -> Optional[float]:
    """The longest ride (hours) the policy allows a worker whose direct ride takes ``direct_h``
    hours; None when the policy sets no detour limit."""
    terms = []
    if p.max_detour_hours is not None:
        terms.append(direct_h + p.max_detour_hours)
    if p.max_detour_share is not None:
        terms.append(direct_h * (1.0 + p.max_detour_share))
    return max(terms) if terms else None


def direct_hours(p: Policy, drive_min: float, memo: Optional[dict[int, float]] = None) -> float:
    """Hours of the fastest legal direct ride over ``drive_min`` minutes at the wheel: two drivers
    fresh at the best whole hour of the day (minute 0 of :data:`~.common.EPOCH` is a Shanghai
    midnight)."""
    key = int(math.ceil(drive_min - 1e-9))
    if memo is not None and key in memo:
        return memo[key]
    rules = (p.driving_rules, p.max_continuous_driving_hours, p.night_continuous_driving_hours, p.break_minutes,
             p.max_daily_driving_hours, p.night, p.night_rest)
    best = _DIRECT.get((rules, key))
    if best is None:
        # no start is faster than the floor: the first hour that takes no longer is the best
        # (daylight hours tried first)
        least = _floor_min(p, key)
        best = math.inf
        for h in _HOURS:
            best = min(best, fastest_ride(p, h * 60.0, [0.0], [], 2, True, [float(key)])[-1])
            if best <= least + 1e-9:
                break
        if len(_DIRECT) >= 1 << 16:
            _DIRECT.clear()
        _DIRECT[(rules, key)] = best
    if memo is not None:
        memo[key] = best / 60.0
    return best / 60.0


def _floor_min(p: Policy, key: int) -> float:
    """Minutes no legal ride of ``key`` minutes at the wheel (two drivers) takes less than: the
    driving, a break after each continuous stretch but the last, and beyond ``k`` × the crew's
    daily driving, ``k`` whole days each with the hours the daily limit keeps it off the road."""
    if not p.driving_rules:
        return float(key)
    cont = p.max_continuous_driving_hours * 60.0
    breaks = max(0, math.ceil(key / cont - 1e-9) - 1) * p.break_minutes if cont > 0 else 0.0
    per_day = 2 * p.max_daily_driving_hours * 60.0
    days = max(0, math.ceil(key / per_day - 1e-9) - 1) if per_day > 0 else 0
    return max(key + breaks, key + days * max(0.0, 1440.0 - per_day))


#: the start hours :func:`direct_hours` tries: the morning first (the quickest for most rides)
_HOURS = tuple(range(6, 24)) + tuple(range(6))
#: fastest direct rides already worked out, by the policy's driving rules and minutes at the wheel
_DIRECT: dict[tuple, float] = {}


def check_detour(f: Facts) -> None:
    p = f.p
    if not p.time_rules or (p.max_detour_hours is None and p.max_detour_share is None):
        return
    memo: dict[int, float] = {}
    for tf in f.trips:
        if tf.trip.purpose == "direct":
            _trip(f, tf, memo)


def _trip(f: Facts, tf: TripFacts, memo: dict[int, float]) -> None:
    p = f.p
    trip = tf.trip
    drop_of = {ld.order: j for j, s in enumerate(trip.stops) if s.kind == "drop" for ld in s.alight}
    for i, s in enumerate(trip.stops):
        if s.kind != "pickup" or s.place.station is not None:
            continue
        on = tf.times[i].depart
        riders: dict[int, int] = {}
        for ld in s.board:
            j = drop_of.get(ld.order)
            if j is not None and j > i + 1:  # a stop in between: a detour
                riders[j] = riders.get(j, 0) + ld.count
        for j, n in sorted(riders.items()):
            off = tf.times[j].arrive
            if on is None or off is None:
                continue
            ride_s = (off - on).total_seconds()
            drive_min, _ = f.roads.timing(s.place, trip.stops[j].place, p.speed_kmh)
            least = detour_limit_h(p, _floor_min(p, int(math.ceil(drive_min - 1e-9))) / 60.0)
            if least is None or ride_s <= least * 3600.0 + TOL_S:
                continue  # within the limit of a direct ride no faster than it can be
            direct_h = direct_hours(p, drive_min, memo)
            limit = detour_limit_h(p, direct_h)
            if limit is None or ride_s <= limit * 3600.0 + TOL_S:
                continue
            f.add("detour", trip.id, (
                f"{stop_label(i, s)}: {n} worker(s) ride {hours(ride_s)} to {stop_label(j, trip.stops[j])}, "
                f"a direct coach takes {direct_h:.2f} h; at most {limit:.2f} h allowed "
                f"({_terms(p)})"))


def _terms(p: Policy) -> str:
    parts = []
    if p.max_detour_hours is not None:
        parts.append(f"direct + {p.max_detour_hours:g} h")
    if p.max_detour_share is not None:
        parts.append(f"direct × {1 + p.max_detour_share:g}")
    return " or ".join(parts) + (", whichever is longer" if len(parts) > 1 else "")
