"""Driving rules on each trip: legs driven long enough inside their stops' times, no driving in
the night rest, stretches within the continuous and night limits, the crew's day within its
limit. Checked only with ``policy.driving_rules`` (the legs' own timing always).

A feeder or last-mile trip whose one-way distance is at most ``policy.feeder_night_exempt_km`` may
drive in the night rest; every other rule holds for it.

Rules ``leg_time``, ``night_rest``, ``continuous_driving``, ``night_driving``, ``daily_driving``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from .common import TOL, TOL_S, Facts, TripFacts, fmt, hours, minutes, span, stop_label, window_overlap_s


def check_driving(f: Facts) -> None:
    for tf in f.trips:
        _legs(f, tf)
        if f.p.driving_rules and tf.driving:
            _rules(f, tf)


def _legs(f: Facts, tf: TripFacts) -> None:
    trip, p = tf.trip, f.p
    if trip.stops and trip.stops[0].drive:
        f.add("leg_time", trip.id, f"{stop_label(0, trip.stops[0])} lists driving, but no leg ends at the first stop")
    for i in range(1, len(trip.stops)):
        s = trip.stops[i]
        lo, hi = tf.times[i - 1].depart, tf.times[i].arrive
        need = timedelta(minutes=tf.need(i, p.speed_kmh))
        timed = tf.leg_timed[i] if i < len(tf.leg_timed) else False
        how = f"by the road source {f.roads.spec}" if timed else f"at {p.speed_kmh:g} km/h"
        label = f"leg to {stop_label(i, s)}"
        total = timedelta(0)
        prev_end: Optional[datetime] = None
        for a, b in tf.leg_driving[i]:
            if b < a:
                f.add("leg_time", trip.id, f"{label}: driving interval ends {fmt(b)} before it starts {fmt(a)}")
                continue
            if (lo is not None and a < lo - TOL) or (hi is not None and b > hi + TOL):
                f.add("leg_time", trip.id, f"{label}: driving {span(a, b)} is outside the leg {span(lo, hi)} "
                      f"({tf.legs[i]:.1f} km needs {minutes(need)} {how})")
            if prev_end is not None and a < prev_end - TOL:
                f.add("leg_time", trip.id, f"{label}: driving intervals overlap or are out of order at {fmt(a)}")
            prev_end = b if prev_end is None else max(prev_end, b)
            total += b - a
        if s.drive and total < need - TOL:
            f.add("leg_time", trip.id, f"{label}: {minutes(total)} of driving for {tf.legs[i]:.1f} km, "
                  f"which needs {minutes(need)} {how}")


def _rules(f: Facts, tf: TripFacts) -> None:
    p, tid, intervals, crew = f.p, tf.trip.id, tf.driving, tf.trip.crew
    exempt = tf.trip.purpose != "direct" and tf.one_way_km() <= p.feeder_night_exempt_km + 0.5
    if p.night_rest is not None and not exempt:
        rest = p.night_rest
        for a, b in intervals:
            inside = window_overlap_s(a, b, rest)
            if inside > TOL_S:
                f.add("night_rest", tid, f"drives {span(a, b)}, {minutes(inside)} of it inside the "
                      f"{rest[0]:%H:%M}–{rest[1]:%H:%M} night rest")
    for group in stretches(f, intervals):
        for rule, message in stretch_rules(f, group):
            f.add(rule, tid, message)
    # 24-hour windows starting at each interval start (the worst window starts at one)
    limit = crew * p.max_daily_driving_hours * 3600 + TOL_S
    j, acc = 0, 0.0  # acc: driving of intervals [i, j) that lie wholly inside the window
    for i, (a, _) in enumerate(intervals):
        w_end = a + timedelta(hours=24)
        while j < len(intervals) and intervals[j][1] <= w_end:
            acc += (intervals[j][1] - intervals[j][0]).total_seconds()
            j += 1
        partial = 0.0
        if j < len(intervals) and intervals[j][0] < w_end:
            partial = (w_end - intervals[j][0]).total_seconds()
        if acc + partial > limit:
            f.add("daily_driving", tid, f"drives {hours(acc + partial)} in the 24 h from {fmt(a)}, more than "
                  f"crew {crew} × {p.max_daily_driving_hours:g} h")
            break
        if j > i:
            acc -= (intervals[i][1] - intervals[i][0]).total_seconds()
        else:
            j = i + 1  # interval i itself longer than 24 h: already counted as partial


def stretches(f: Facts, intervals: list[tuple[datetime, datetime]]) -> list[list[tuple[datetime, datetime]]]:
    """Driving joined across pauses shorter than a break."""
    brk = timedelta(minutes=f.p.break_minutes) - TOL
    out: list[list[tuple[datetime, datetime]]] = []
    for a, b in intervals:
        if out and a - out[-1][-1][1] < brk:
            out[-1].append((a, b))
        else:
            out.append([(a, b)])
    return out


def stretch_rules(f: Facts, stretch: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    """The continuous and night limits one stretch breaks, as (rule, message)."""
    p = f.p
    out = []
    driven = sum((b - a).total_seconds() for a, b in stretch)
    a0, b1 = stretch[0][0], stretch[-1][1]
    if driven > p.max_continuous_driving_hours * 3600 + TOL_S:
        out.append(("continuous_driving", f"drives {hours(driven)} from {fmt(a0)} to {fmt(b1)} without a "
                    f"{p.break_minutes:g} min break, more than {p.max_continuous_driving_hours:g} h"))
    if p.night is not None:
        night = sum(window_overlap_s(a, b, p.night) for a, b in stretch)
        if night > p.night_continuous_driving_hours * 3600 + TOL_S:
            out.append(("night_driving", f"drives {hours(night)} of night hours ({p.night[0]:%H:%M}–"
                        f"{p.night[1]:%H:%M}) in one stretch {span(a0, b1)}, more than "
                        f"{p.night_continuous_driving_hours:g} h"))
    return out
