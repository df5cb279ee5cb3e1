"""The workers' journey, recomputed from the stops: hours on board, hours door to door, how long
a loaded coach stands still beyond what the driving rules force, and who boards at night; and
the rule that workers board at home only within ``policy.boarding_hours``.

"Forced" is measured against a crew fresh at the trip's first boarding: from the first pickup's
``depart``, the same crew drives the same legs as early as the rules allow (breaks, the night
rest, the night and daily limits), with each later stop lasting its least
(``boarding_minutes``, ``alight_minutes``). A worker's loaded wait is how much longer their own
part of the ride (their pickup's ``depart`` to their drop's ``arrive``) takes than the same part
of that fastest run: waiting a crew that rested before boarding, a second driver or a later
boarding would have spared them. This arithmetic is the
checker's own (it does not use the optimiser's driving model).

Rules ``boarding_hours`` and ``journey`` (a trip's ``onboard_hours`` or ``loaded_wait_hours``, or
the summary's ``worker_hours``, ``loaded_wait_hours`` or ``night_boardings``, is not what the
stops give).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Optional

from ..contract import Policy
from .common import EPOCH, TOL, Facts, TripFacts, clock_s, clock_within, fmt, stop_label

#: default boarding hours for counting night boardings when the policy sets none
DEFAULT_BOARDING = (time(6, 0), time(22, 0))
#: a trip's loaded wait may differ from the checker's by this much (hours) plus 10 %: both
#: schedule a fresh crew greedily, in steps that may differ
WAIT_TOL_H = 0.5
#: the share of a trip's loaded wait beyond :data:`WAIT_TOL_H` it may differ by
WAIT_TOL_SHARE = 0.10
#: hours are compared to the minute (plus rounding to 0.01 h)
HOURS_TOL = 0.02


@dataclass
class Journey:
    """The journey figures of a plan, as the checker computes them."""

    #: per trip id: hours on board (first boarding → last alighting) and loaded wait
    onboard: dict[str, float] = field(default_factory=dict)
    loaded_wait: dict[str, float] = field(default_factory=dict)
    #: per planned worker (expanded from counts): hours door to door and avoidable loaded wait
    worker_hours: list[float] = field(default_factory=list)
    worker_wait: list[float] = field(default_factory=list)
    night_boardings: int = 0

    def hours_summary(self) -> Optional[dict[str, float]]:
        if not self.worker_hours:
            return None
        xs = sorted(self.worker_hours)
        p95 = xs[max(0, math.ceil(0.95 * len(xs)) - 1)]
        return {"mean": sum(xs) / len(xs), "p95": p95, "max": xs[-1]}

    def waiting_over(self, hours: float) -> int:
        """Workers whose avoidable loaded wait (over all their coach legs) exceeds ``hours``."""
        return sum(1 for w in self.worker_wait if w > hours + 1e-9)


# ------------------------------------------------------------------ a fresh crew, driving as early as allowed


def _minute(t: datetime) -> float:
    return (t - EPOCH).total_seconds() / 60.0


def _inside(t: float, window: tuple[float, float]) -> bool:
    a, b = window
    m = t % 1440.0
    return a <= m < b if a <= b else (m >= a or m < b)


def _next_edge(t: float, window: tuple[float, float]) -> float:
    """The first minute after ``t`` at which ``t`` enters or leaves the daily window."""
    day = t - (t % 1440.0)
    best = math.inf
    for edge in window:
        e = day + edge
        while e <= t + 1e-9:
            e += 1440.0
        best = min(best, e)
    return best


def _window_min(w: Optional[tuple[time, time]]) -> Optional[tuple[float, float]]:
    return None if w is None else (clock_s(w[0]) / 60.0, clock_s(w[1]) / 60.0)


def fastest_ride(p: Policy, start: float, legs: list[float], dwells: list[float], crew: int,
                 night_rest: bool = True, drive: Optional[list[float]] = None) -> list[float]:
    """Minutes from ``start`` to the end of each leg for a crew fresh at ``start``.

    ``legs`` are road km; ``drive`` their driving minutes (by default the km at the policy's
    speed), each driven in whole minutes (rounded up, as plans are written); before
    leg k (k ≥ 1) the coach stands ``dwells[k - 1]`` minutes at a stop. The crew drives whenever
    the rules let it: a break after the continuous (or night)
    limit, no driving in the night rest (unless ``night_rest`` is false), at most ``crew`` ×
    the daily limit of coach driving in any 24 h."""
    if drive is None:
        drive = [km / p.speed_kmh * 60.0 for km in legs]
    ends: list[float] = []
    if not p.driving_rules:
        t = 0.0
        for k, m in enumerate(drive):
            t += (dwells[k - 1] if k else 0.0) + math.ceil(m - 1e-9)
            ends.append(t)
        return ends
    cont = p.max_continuous_driving_hours * 60.0
    night_cont = p.night_continuous_driving_hours * 60.0
    brk = p.break_minutes
    limit = max(1, crew) * p.max_daily_driving_hours * 60.0
    night = _window_min(p.night)
    rest = _window_min(p.night_rest) if night_rest else None
    t = start
    stretch = in_night = 0.0
    last_end: Optional[float] = None
    driven: list[list[float]] = []  # merged driving intervals [a, b]

    def trailing(now: float) -> float:
        lo = now - 1440.0
        return sum(max(0.0, min(b, now) - max(a, lo)) for a, b in driven if b > lo)

    def released(now: float, want: float) -> float:
        """The earliest t' ≥ now (no driving in between) with trailing(t') ≤ limit − want."""
        excess = trailing(now) - (limit - want)
        lo = now - 1440.0
        for a, b in driven:
            if b <= lo:
                continue
            a = max(a, lo)
            if b - a >= excess - 1e-9:
                return max(now, a + excess + 1440.0)
            excess -= b - a
        return now + 1440.0

    for k, m in enumerate(drive):
        if k:
            t += dwells[k - 1]
        need = float(math.ceil(m - 1e-9))  # plans run on whole minutes
        for _ in range(10_000):
            if need <= 1e-6:
                break
            if rest is not None and _inside(t, rest):
                t = _next_edge(t, rest)
                continue
            if last_end is not None and t - last_end >= brk - 1e-9:
                stretch = in_night = 0.0
            at_night = night is not None and _inside(t, night)
            room = cont - stretch
            if at_night:
                room = min(room, night_cont - in_night)
            if room <= 1e-9:
                t = max(t, (last_end if last_end is not None else t) + brk)
                stretch = in_night = 0.0
                continue
            day_room = limit - trailing(t)
            if day_room <= 1e-6:
                t = released(t, min(need, 1.0))
                continue
            x = min(need, room, day_room)
            if night is not None:
                x = min(x, _next_edge(t, night) - t)
            if rest is not None:
                x = min(x, _next_edge(t, rest) - t)
            if driven and abs(driven[-1][1] - t) < 1e-9:
                driven[-1][1] = t + x
            else:
                driven.append([t, t + x])
            stretch += x
            if at_night:
                in_night += x
            need -= x
            t += x
            last_end = t
        ends.append(t - start)
    return ends


# ------------------------------------------------------------------ the figures


def journey_of(f: Facts) -> Journey:
    """Every trip's hours on board and loaded wait, every worker's hours and wait, night boardings."""
    p = f.p
    out = Journey()
    window = _window_min(p.boarding_hours or DEFAULT_BOARDING)
    assert window is not None
    # per order: (time, hours or wait, count) of the coach legs of train riders, to pair door to door
    feeder: dict[str, list[tuple[datetime, float, int]]] = defaultdict(list)
    last: dict[str, list[tuple[datetime, float, int]]] = defaultdict(list)
    for tf in f.trips:
        trip = tf.trip
        pick = [i for i, s in enumerate(trip.stops) if s.kind == "pickup" and tf.times[i].depart is not None]
        drop = [i for i, s in enumerate(trip.stops) if s.kind == "drop" and tf.times[i].arrive is not None]
        if not pick or not drop or drop[-1] < pick[0]:
            continue
        exempt = trip.purpose != "direct" and tf.one_way_km() <= p.feeder_night_exempt_km + 0.5
        # the fastest run from the first boarding: when it would reach and leave each stop
        t_first, t_last = tf.times[pick[0]].depart, tf.times[drop[-1]].arrive
        assert t_first is not None and t_last is not None
        i0, j1 = pick[0], drop[-1]
        dwells = [(p.boarding_minutes if trip.stops[k].kind == "pickup" else p.alight_minutes) for k in range(i0 + 1, j1)]
        ends = fastest_ride(p, _minute(t_first), tf.legs[i0 + 1:j1 + 1], dwells, trip.crew, not exempt,
                            [tf.need(k, p.speed_kmh) for k in range(i0 + 1, j1 + 1)])
        reach = {i0 + 1 + k: e for k, e in enumerate(ends)}  # minutes after the first boarding
        leave = {k: reach[k] + dwells[k - i0 - 1] for k in range(i0 + 1, j1)}
        leave[i0] = 0.0
        out.onboard[trip.id] = (t_last - t_first).total_seconds() / 3600.0
        out.loaded_wait[trip.id] = _wait(tf, i0, j1, reach, leave)
        alight_at = {ld.order: j for j in drop for ld in trip.stops[j].alight}
        for i in pick:
            s = trip.stops[i]
            home = s.place.station is None
            a, d = tf.times[i].arrive, tf.times[i].depart
            for ld in s.board:
                j = alight_at.get(ld.order)
                if home and a is not None and d is not None and not _within(a, d, window):
                    out.night_boardings += ld.count
                if j is None:
                    continue
                on, off = tf.times[i].depart, tf.times[j].arrive
                assert on is not None and off is not None
                w = _wait(tf, i, j, reach, leave)
                if trip.purpose == "direct":
                    out.worker_hours += [(off - on).total_seconds() / 3600.0] * ld.count
                    out.worker_wait += [w] * ld.count
                elif trip.purpose == "feeder":
                    feeder[ld.order].append((on, w, ld.count))
                else:
                    last[ld.order].append((off, w, ld.count))
    # train riders door to door: the i-th earliest feeder boarding of an order with its i-th
    # earliest last-mile drop (workers of one order are alike)
    for order in sorted(set(feeder) | set(last)):
        starts = [(t, w) for t, w, c in sorted(feeder.get(order, []), key=lambda x: x[0]) for _ in range(c)]
        stops = [(t, w) for t, w, c in sorted(last.get(order, []), key=lambda x: x[0]) for _ in range(c)]
        for (a, wa), (b, wb) in zip(starts, stops):
            out.worker_hours.append((b - a).total_seconds() / 3600.0)
            out.worker_wait.append(wa + wb)
    return out


def _wait(tf: TripFacts, i: int, j: int, reach: dict[int, float], leave: dict[int, float]) -> float:
    """Hours the ride from stop ``i``'s departure to stop ``j``'s arrival takes beyond the same
    part of the fastest run (``reach`` and ``leave``: minutes after the first boarding)."""
    t0, t1 = tf.times[i].depart, tf.times[j].arrive
    assert t0 is not None and t1 is not None
    return max(0.0, (t1 - t0).total_seconds() / 60.0 - (reach[j] - leave[i])) / 60.0


def _within(a: datetime, d: datetime, window: tuple[float, float]) -> bool:
    """Whether a stop from ``a`` to ``d`` lies inside one day's clock window (one minute of tolerance)."""
    lo, hi = window
    length = (hi - lo) % 1440.0 or 1440.0
    frm, until = time(int(lo // 60), int(lo % 60)), time(int(hi // 60) % 24, int(hi % 60))
    return (clock_within(a, frm, until) and clock_within(d, frm, until)
            and (d - a) <= timedelta(minutes=length) + TOL and _same_window(a, d, lo))


def _same_window(a: datetime, d: datetime, lo: float) -> bool:
    """Whether ``a`` and ``d`` fall in the same occurrence of a window opening at ``lo`` minutes."""
    ma, md = _minute(a), _minute(d)
    return math.floor((ma - lo + 1) / 1440.0) == math.floor((md - lo - 1) / 1440.0) or md - ma <= 2


# ------------------------------------------------------------------ the rules


def check_journey(f: Facts) -> None:
    p = f.p
    if p.time_rules and p.boarding_hours is not None:
        window = _window_min(p.boarding_hours)
        assert window is not None
        frm, until = p.boarding_hours
        for tf in f.trips:
            _boarding_hours(f, tf, window, frm, until)
    j = journey_of(f)
    s = f.plan.summary
    for tf in f.trips:
        trip = tf.trip
        want = j.onboard.get(trip.id)
        if trip.onboard_hours is not None and want is not None and abs(trip.onboard_hours - want) > HOURS_TOL:
            f.add("journey", trip.id, f"onboard_hours is {trip.onboard_hours:g}, its stops give {want:.2f} h "
                  f"(first boarding → last alighting)")
        w = j.loaded_wait.get(trip.id)
        if trip.loaded_wait_hours is not None and w is not None \
                and abs(trip.loaded_wait_hours - w) > WAIT_TOL_H + WAIT_TOL_SHARE * max(w, trip.loaded_wait_hours):
            f.add("journey", trip.id, f"loaded_wait_hours is {trip.loaded_wait_hours:g}, but its loaded coach stands "
                  f"{w:.2f} h beyond what a crew fresh at boarding must rest")
    if s.night_boardings is not None and s.night_boardings != j.night_boardings:
        f.add("journey", None, f"summary night_boardings is {s.night_boardings}, the plan boards {j.night_boardings} "
              f"worker(s) at home outside the boarding hours")
    if s.loaded_wait_hours is not None:
        given = [t.loaded_wait_hours for t in f.plan.trips if t.loaded_wait_hours is not None]
        total = sum(j.loaded_wait.values())
        tol = WAIT_TOL_H * max(1, len(given)) + WAIT_TOL_SHARE * max(total, s.loaded_wait_hours)
        if abs(s.loaded_wait_hours - total) > tol:
            f.add("journey", None, f"summary loaded_wait_hours is {s.loaded_wait_hours:g}, the plan's loaded coaches "
                  f"stand {total:.2f} h beyond the rests a fresh crew needs")
    hours = j.hours_summary()
    if s.worker_hours is not None:
        for key in ("mean", "p95", "max"):
            got = s.worker_hours.get(key)
            want_h = None if hours is None else hours[key]
            if got is None or want_h is None:
                if got != want_h and (got or 0) > 0:
                    f.add("journey", None, f"summary worker_hours {key} is {got}, the plan plans nobody")
                continue
            if abs(got - want_h) > HOURS_TOL + 0.001 * want_h:
                f.add("journey", None, f"summary worker_hours {key} is {got:g} h, the plan's workers give {want_h:.2f} h "
                      f"door to door")


def _boarding_hours(f: Facts, tf: TripFacts, window: tuple[float, float], frm: time, until: time) -> None:
    trip = tf.trip
    for i, s in enumerate(trip.stops):
        if s.kind != "pickup" or s.place.station is not None:
            continue  # a last mile takes its workers off a train, not from home
        a, d = tf.times[i].arrive, tf.times[i].depart
        if a is None or d is None:
            continue
        if not _within(a, d, window):
            n = sum(ld.count for ld in s.board)
            f.add("boarding_hours", trip.id, f"{stop_label(i, s)} boards {n} worker(s) {fmt(a)}–{d:%H:%M}, outside "
                  f"the boarding hours {frm:%H:%M}–{until:%H:%M}")
