"""How long a coach takes to drive a leg under the Chinese passenger-transport driving rules.

Times are integer minutes since a horizon origin that falls on an Asia/Shanghai midnight, so the
clock of day is ``t % 1440``. The rules (docs/RULES.md): at most 4 h of continuous driving, of it
at most 2 h inside night hours (22:00–06:00), then a break of at least 20 min; no driving in the
night rest (02:00–05:00); at most crew × 8 h of driving in any 24 h. Rest taken at stops counts
as a break when it is long enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time
from typing import Optional

DAY = 1440


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
    """The driving done so far on one trip, and the state of the current stretch."""

    crew: int = 1
    intervals: list[tuple[int, int]] = field(default_factory=list)
    stretch: int = 0
    stretch_night: int = 0
    last_end: Optional[int] = None

    def trailing(self, t: int) -> int:
        """Driving minutes in (t − 24 h, t]."""
        lo = t - DAY
        total = 0
        for a, b in reversed(self.intervals):
            if b <= lo:
                break
            total += min(b, t) - max(a, lo)
        return total

    def _wait_daily(self, t: int, target: int) -> int:
        """Earliest t' ≥ t (no driving in between) with trailing(t') ≤ target."""
        excess = self.trailing(t) - target
        lo = t - DAY
        for a, b in self.intervals:
            if b <= lo:
                continue
            a = max(a, lo)
            if b - a >= excess:
                return a + excess + DAY
            excess -= b - a
        return t


def drive(log: DriveLog, t: int, need: int, rules: DrivingRules) -> tuple[int, list[tuple[int, int]]]:
    """Drive ``need`` minutes starting no earlier than ``t``; return the arrival and the intervals.

    ``log`` is updated. With the rules disabled the leg is one interval.
    """
    if need <= 0:
        return t, []
    if not rules.enabled:
        log.intervals.append((t, t + need))
        return t + need, [(t, t + need)]
    out: list[tuple[int, int]] = []
    limit_day = max(1, rules.daily * log.crew)
    brk = rules.break_minutes
    while need > 0:
        if rules.night_rest and _inside(t, rules.night_rest):
            t = _next_change(t, rules.night_rest)
            continue
        if log.last_end is not None and t - log.last_end >= brk:
            log.stretch = log.stretch_night = 0
        room_cont = rules.continuous - log.stretch
        at_night = bool(rules.night) and _inside(t, rules.night)  # type: ignore[arg-type]
        room_night = rules.night_continuous - log.stretch_night if at_night else room_cont
        if room_cont <= 0 or room_night <= 0:
            t = max(t, (log.last_end or t) + brk)
            log.stretch = log.stretch_night = 0
            continue
        used = log.trailing(t)
        room_daily = limit_day - used
        if room_daily <= 0:
            t = log._wait_daily(t, limit_day - min(need, 60, limit_day))
            continue
        x = min(need, room_cont, room_night, room_daily)
        if rules.night:
            x = min(x, _next_change(t, rules.night) - t)
        if rules.night_rest:
            x = min(x, _next_change(t, rules.night_rest) - t)
        x = max(1, x)
        if out and out[-1][1] == t:
            out[-1] = (out[-1][0], t + x)
        else:
            out.append((t, t + x))
        if log.intervals and log.intervals[-1][1] == t:
            log.intervals[-1] = (log.intervals[-1][0], t + x)
        else:
            log.intervals.append((t, t + x))
        log.stretch += x
        if at_night:
            log.stretch_night += x
        need -= x
        t += x
        log.last_end = t
    return t, out


def leg_minutes(km: float, rules: DrivingRules, crew: int = 2, start: int = 8 * 60) -> int:
    """Elapsed minutes to drive ``km`` from a fresh start at clock ``start`` (an estimate for planning)."""
    log = DriveLog(crew=crew)
    end, _ = drive(log, start, rules.minutes(km), rules)
    return end - start
