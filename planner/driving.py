"""How long a coach takes to drive a leg under the Chinese passenger-transport driving rules.

Times are integer minutes since a horizon origin that falls on an Asia/Shanghai midnight, so the
clock of day is ``t % 1440``. The rules (docs/RULES.md): at most 4 h of continuous driving, of it
at most 2 h inside night hours (22:00–06:00), then a break of at least 20 min; no driving in the
night rest (02:00–05:00); at most 8 h of driving per driver in any 24 h, the crew sharing the
wheel. Rest taken at stops counts as a break when it is long enough. A crew that stays with its
coach carries its driving from one trip into the next (:meth:`DriveLog.seeded`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time
from typing import Optional

import numpy as np

DAY = 1440
#: minutes of room a crew at its daily limit waits for before it drives on
DAILY_CHUNK = 15


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class DrivingRules:
    """The driving rules, in minutes; built from a contract ``Policy`` by :meth:`from_policy`."""

    speed_kmh: float = 75.0
    continuous: int = 240
    night_continuous: int = 120
    break_minutes: int = 20
    daily: int = 480
    night: Optional[tuple[int, int]] = (22 * 60, 6 * 60)
    night_rest: Optional[tuple[int, int]] = (2 * 60, 5 * 60)
    enabled: bool = True
    #: minutes of room a crew at its daily limit waits for before it drives on
    daily_chunk: int = DAILY_CHUNK

    @classmethod
    def from_policy(cls, policy) -> "DrivingRules":
        return cls(
            speed_kmh=policy.speed_kmh,
            continuous=int(policy.max_continuous_driving_hours * 60),
            night_continuous=int(policy.night_continuous_driving_hours * 60),
            break_minutes=int(math.ceil(policy.break_minutes)),
            daily=int(policy.max_daily_driving_hours * 60),
            night=None if policy.night is None else (_minute(policy.night[0]), _minute(policy.night[1])),
            night_rest=None if policy.night_rest is None
            else (_minute(policy.night_rest[0]), _minute(policy.night_rest[1])),
            enabled=policy.driving_rules,
        )

    def minutes(self, km: float) -> int:
        """Pure driving minutes for ``km`` (rounded up, so a plan never drives faster than allowed)."""
        return int(math.ceil(km / self.speed_kmh * 60 - 1e-9))


def _inside(t: int, window: tuple[int, int]) -> bool:
    a, b = window
    m = t % DAY
    return a <= m < b if a <= b else (m >= a or m < b)


def _next_change(t: int, window: tuple[int, int]) -> int:
    """The first minute after ``t`` at which being inside ``window`` changes."""
    m = t % DAY
    base = t - m
    cands = []
    for edge in window:
        e = base + edge
        while e <= t:
            e += DAY
        cands.append(e)
    return min(cands)


@dataclass
class DriveLog:
    """The driving charged to a coach's crew so far, and the state of the current stretch.

    Each interval ``(start, end, weight)`` charges ``weight`` minutes per minute driven to the
    driver on duty the most: drivers share the wheel, so a crew of ``c`` charges each driver
    ``1/c`` of the driving. A trip's log starts empty (a rested crew) or :meth:`seeded` with the
    driving of the coach's earlier trips when its crew stays with it; every driver may drive
    at most ``rules.daily`` minutes in any 24 h.
    """

    crew: int = 1
    intervals: list[tuple[int, int, float]] = field(default_factory=list)
    stretch: int = 0
    stretch_night: int = 0
    last_end: Optional[int] = None

    @classmethod
    def seeded(cls, crew: int, prior: list[tuple[int, int, float]], rules: "DrivingRules") -> "DriveLog":
        """A log for a trip whose crew already drove ``prior`` (sorted, all before this trip)."""
        log = cls(crew=crew, intervals=list(prior))
        if prior:
            log.last_end = prior[-1][1]
            # the stretch still running at the end of the prior driving
            stretch = night = 0
            prev_end: Optional[int] = None
            for a, b, _ in prior:
                if prev_end is not None and a - prev_end >= rules.break_minutes:
                    stretch = night = 0
                stretch += b - a
                if rules.night:
                    night += _minutes_inside(a, b, rules.night)
                prev_end = b
            log.stretch, log.stretch_night = stretch, night
        return log

    def copy(self) -> "DriveLog":
        """An independent copy (to try a timing without changing this log)."""
        return DriveLog(self.crew, list(self.intervals), self.stretch, self.stretch_night, self.last_end)

    @property
    def weight(self) -> float:
        return 1.0 / max(1, self.crew)

    def trailing(self, t: int) -> float:
        """Minutes charged to the busiest driver in (t − 24 h, t]."""
        lo = t - DAY
        total = 0.0
        for a, b, w in reversed(self.intervals):
            if b <= lo:
                break
            if a >= t:
                continue
            total += w * (min(b, t) - max(a, lo))
        return total

    def _wait_daily(self, t: int, target: float) -> int:
        """Earliest t' ≥ t (no driving in between) with trailing(t') ≤ target."""
        excess = self.trailing(t) - target
        if excess <= 1e-9:
            return t
        lo = t - DAY
        for a, b, w in self.intervals:
            if b <= lo or a >= t:
                continue
            a = max(a, lo)
            if w * (b - a) >= excess - 1e-9:
                return max(t, a + int(math.ceil(excess / w - 1e-9)) + DAY)
            excess -= w * (b - a)
        return t + DAY

    def add(self, a: int, b: int) -> None:
        if self.intervals and self.intervals[-1][1] == a and self.intervals[-1][2] == self.weight:
            self.intervals[-1] = (self.intervals[-1][0], b, self.weight)
        else:
            self.intervals.append((a, b, self.weight))


def _minutes_inside(a: int, b: int, window: tuple[int, int]) -> int:
    """Minutes of [a, b) inside a daily clock window."""
    total, t = 0, a
    while t < b:
        nxt = min(b, _next_change(t, window))
        if _inside(t, window):
            total += nxt - t
        t = nxt
    return total


def _until_edge(m: int, window: tuple[int, int]) -> int:
    """Minutes from clock minute ``m`` to the next edge of a daily window (1 … DAY)."""
    a, b = window
    da = (a - m) % DAY or DAY
    db = (b - m) % DAY or DAY
    return da if da < db else db


def _in(m: int, window: tuple[int, int]) -> bool:
    a, b = window
    return a <= m < b if a <= b else (m >= a or m < b)


#: legs already driven, by what decides them (see :func:`drive`); cleared when it grows past the cap
_LEGS: dict[tuple, tuple[int, tuple[tuple[int, int], ...], int, int, int]] = {}
_LEGS_CAP = 50_000  # about 1.5 KB each


def drive(log: DriveLog, t: int, need: int, rules: DrivingRules) -> tuple[int, list[tuple[int, int]]]:
    """Drive ``need`` minutes starting no earlier than ``t``; return the arrival and the intervals.

    ``log`` is updated. With the rules disabled the leg is one interval.

    A leg is decided by the rules, the crew, the clock of day, ``need`` and what of the log can
    still matter: the driving of the last 24 h and the stretch (unless a break has ended it). The
    scheduler drives the same legs from the same states many times over (every boarding hour
    tried, every coach), so each is worked out once, relative to its day, and replayed.
    """
    if need <= 0:
        return t, []
    if not rules.enabled:
        log.add(t, t + need)
        return t + need, [(t, t + need)]
    base = t - t % DAY
    lo = t - DAY
    tail = []
    for a, b, w in reversed(log.intervals):
        if b <= lo:
            break
        tail.append((a - base, b - base, w))
    state: tuple
    if log.last_end is None:
        state = (None, log.stretch, log.stretch_night)
    elif t - log.last_end < rules.break_minutes:
        state = (log.last_end - base, log.stretch, log.stretch_night)
    else:  # a break has ended the stretch before this leg: it starts afresh, however long ago
        state = ("rested",)
    key = (rules, log.crew, t - base, need, tuple(tail), state)
    hit = _LEGS.get(key)
    if hit is None:
        end, out = _drive(log, t, need, rules)
        if len(_LEGS) >= _LEGS_CAP:
            _LEGS.clear()
        last = log.last_end if log.last_end is not None else base
        _LEGS[key] = (end - base, tuple((a - base, b - base) for a, b in out), log.stretch, log.stretch_night,
                      last - base)
        return end, out
    end_r, out_r, log.stretch, log.stretch_night, last_r = hit
    replay = [(a + base, b + base) for a, b in out_r]
    for a, b in replay:
        log.add(a, b)
    log.last_end = last_r + base
    return end_r + base, replay


def _drive(log: DriveLog, t: int, need: int, rules: DrivingRules) -> tuple[int, list[tuple[int, int]]]:
    out: list[tuple[int, int]] = []
    limit_day = float(max(1, rules.daily))
    crew = max(1, log.crew)
    brk = rules.break_minutes
    night, rest = rules.night, rules.night_rest
    continuous, night_continuous = rules.continuous, rules.night_continuous
    while need > 0:
        m = t % DAY
        if rest is not None and _in(m, rest):
            t += _until_edge(m, rest)
            continue
        if log.last_end is not None and t - log.last_end >= brk:
            log.stretch = log.stretch_night = 0
        room_cont = continuous - log.stretch
        at_night = night is not None and _in(m, night)
        room_night = night_continuous - log.stretch_night if at_night else room_cont
        if room_cont <= 0 or room_night <= 0:
            t = max(t, (log.last_end or t) + brk)
            log.stretch = log.stretch_night = 0
            continue
        used = log.trailing(t)
        room_daily = int(math.floor((limit_day - used) * crew + 1e-9))  # coach minutes still allowed
        if room_daily <= 0:
            # wait until a short stretch may be driven: the window frees as fast as the crew
            # drives, so waiting for more would only stand the coach still longer
            t = log._wait_daily(t, limit_day - min(need, rules.daily_chunk, rules.daily) / crew)
            continue
        x = min(need, room_cont, room_night, room_daily)
        if night is not None:
            x = min(x, _until_edge(m, night))
        if rest is not None:
            x = min(x, _until_edge(m, rest))
        x = max(1, x)
        if out and out[-1][1] == t:
            out[-1] = (out[-1][0], t + x)
        else:
            out.append((t, t + x))
        log.add(t, t + x)
        log.stretch += x
        if at_night:
            log.stretch_night += x
        need -= x
        t += x
        log.last_end = t
    return t, out


def charged_peak(intervals: list[tuple[int, int, float]], around: Optional[tuple[int, int]] = None) -> float:
    """The most minutes charged to one driver in any 24 h window (of those meeting ``around``).

    The worst window starts at an interval's start or ends at an interval's end.
    """
    if not intervals:
        return 0.0
    a = np.array([iv[0] for iv in intervals], dtype=float)
    b = np.array([iv[1] for iv in intervals], dtype=float)
    w = np.array([iv[2] for iv in intervals], dtype=float)
    starts = np.concatenate([a, b - DAY])
    if around is not None:
        lo, hi = around
        starts = starts[(starts < hi) & (starts + DAY > lo)]
        if not len(starts):
            return 0.0
    over = np.clip(np.minimum(b[None, :], starts[:, None] + DAY) - np.maximum(a[None, :], starts[:, None]), 0, None)
    return float((over @ w).max())


def leg_minutes(driving: int, rules: DrivingRules, crew: int = 2, start: int = 8 * 60) -> int:
    """Elapsed minutes for ``driving`` minutes at the wheel from a fresh start at clock ``start``
    (breaks and rests included; an estimate for planning)."""
    log = DriveLog(crew=crew)
    end, _ = drive(log, start, int(driving), rules)
    return end - start


def fastest_leg(driving: int, rules: DrivingRules) -> int:
    """Elapsed minutes of the fastest legal run of ``driving`` minutes at the wheel: two drivers
    fresh at the best hour of the day."""
    return min(leg_minutes(driving, rules, crew=2, start=h * 60) for h in range(24))
