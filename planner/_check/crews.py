"""Crews across trips: who drives each trip, never in two places at once, and every driver's
limits across all the trips they drive.

A trip without ``drivers`` is driven by its coach's own crew, the same drivers on all the coach's
trips (``<type>#<bus>/1`` … ``/crew``); a trip with ``drivers`` names one per seat of the crew,
from its coach type's or its depot's pool. Drivers share the wheel: each of a trip's ``crew``
drivers is charged 1/crew of its driving.

Rules ``drivers``, ``driver_overlap``, and ``daily_driving``, ``continuous_driving``,
``night_driving`` for a driver across trips.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from ..contract import Trip
from .common import EPOCH, TOL, TOL_S, Facts, fmt, hours
from .driving import stretch_rules, stretches

Work = list[tuple[datetime, datetime, float, str]]  # (start, end, share, trip id)


def drivers_of(trip: Trip) -> list[str]:
    """Who drives ``trip``: its named drivers, or its coach's own crew."""
    if trip.drivers:
        return list(trip.drivers)
    return [f"{trip.vehicle_type}#{trip.bus}/{k}" for k in range(1, trip.crew + 1)]


def check_crews(f: Facts) -> None:
    work: dict[str, Work] = defaultdict(list)
    busy: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    own: set[str] = set()
    for tf in f.trips:
        trip = tf.trip
        if trip.drivers is not None:
            _named(f, trip)
        drivers = drivers_of(trip)
        if not trip.drivers:
            own.update(drivers)
        share = 1.0 / max(1, len(drivers))
        for d in drivers:
            if tf.start is not None and tf.end is not None:
                busy[d].append((tf.start, tf.end, trip.id))
            work[d].extend((a, b, share, trip.id) for a, b in tf.driving)
    twice: set[str] = set()  # drivers on two trips at once: reported once, not counted twice
    for d, uses in busy.items():
        uses.sort()
        for (_, b0, t0), (a1, _, t1) in zip(uses, uses[1:]):
            if a1 < b0 - TOL and t0 != t1:
                twice.add(d)
                if d not in own:  # a coach's own crew: its overlaps are the coach's (coach_overlap)
                    f.add("driver_overlap", t1, f"driver {d} is on trip {t0} until {fmt(b0)}, and trip {t1} "
                          f"leaves {fmt(a1)}")
    if not f.p.driving_rules:
        return
    for d, items in work.items():
        if d not in twice and len({t for *_, t in items}) > 1:
            _day(f, d, sorted(items))
            _stretches(f, d, sorted(items))


def _named(f: Facts, trip: Trip) -> None:
    drivers = trip.drivers or []
    if len(drivers) != trip.crew:
        f.add("drivers", trip.id, f"names {len(drivers)} driver(s) for a crew of {trip.crew}")
    if len(set(drivers)) != len(drivers):
        f.add("drivers", trip.id, f"names a driver twice: {', '.join(drivers)}")
    if trip.vehicle_type in f.fleet:
        pool = set(f.sc.driver_pool(trip.vehicle_type))
        strangers = [d for d in drivers if d not in pool]
        if strangers:
            f.add("drivers", trip.id, f"driver(s) {', '.join(strangers)} are not in the pool of {trip.vehicle_type} "
                  f"or its depot ({', '.join(sorted(pool)) or 'no pool'})")


def _day(f: Facts, driver: str, items: Work) -> None:
    """In any 24 h, a driver is charged at most the daily limit (windows over 2+ trips).

    The worst window starts at an interval's start or ends at an interval's end."""
    a = np.array([(x[0] - EPOCH).total_seconds() for x in items])
    b = np.array([(x[1] - EPOCH).total_seconds() for x in items])
    w = np.array([x[2] for x in items])
    trip_of = np.array([x[3] for x in items])
    day = 86400.0
    starts = np.concatenate([a, b - day])
    over = np.clip(np.minimum(b[None, :], starts[:, None] + day) - np.maximum(a[None, :], starts[:, None]), 0, None)
    charged = over @ w
    limit = f.p.max_daily_driving_hours * 3600 + TOL_S
    for k in np.argsort(-charged):
        if charged[k] <= limit:
            return
        trips = sorted(set(trip_of[over[k] > 0]))
        if len(trips) > 1:
            s0 = EPOCH + timedelta(seconds=float(starts[k]))
            f.add("daily_driving", trips[-1], f"driver {driver} drives {hours(float(charged[k]))} in the 24 h from "
                  f"{fmt(s0)} over trips {', '.join(trips)} (a crew's drivers sharing the wheel), more than "
                  f"{f.p.max_daily_driving_hours:g} h")
            return


def _stretches(f: Facts, driver: str, items: Work) -> None:
    """Continuous driving and its night part, for stretches that run from one trip into the next."""
    trip_at = {(a, b): t for a, b, _, t in items}
    for group in stretches(f, [(a, b) for a, b, _, _ in items]):
        trips = sorted({trip_at[iv] for iv in group})
        if len(trips) < 2:
            continue
        for rule, message in stretch_rules(f, group):
            f.add(rule, trip_at[group[-1]], f"driver {driver} across trips {', '.join(trips)}: {message}")
