"""Tests of planner.driving: the driving-rule simulation that times every leg of a trip.

Times are integer minutes since a Shanghai midnight, so ``t % 1440`` is the clock of day. Each
test checks the returned intervals with a small validator written here, independently of
planner.driving's bookkeeping.
"""

from __future__ import annotations

import random

import pytest

from planner.contract import Policy
from planner.driving import DAY, DriveLog, DrivingRules, drive, leg_minutes

RULES = DrivingRules()  # 75 km/h, 4 h / 2 h at night, 20 min break, 8 h a day, rest 02:00–05:00
H = 60


def clock(hh: int, mm: int = 0, day: int = 0) -> int:
    return day * DAY + hh * H + mm


def _inside(m: int, window: tuple[int, int]) -> bool:
    a, b = window
    m %= DAY
    return a <= m < b if a <= b else (m >= a or m < b)


def minutes_inside(a: int, b: int, window: tuple[int, int]) -> int:
    """Minutes of [a, b) inside a daily clock window (minute by minute: slow but obviously right)."""
    return sum(1 for m in range(a, b) if _inside(m, window))


def stretches(intervals: list[tuple[int, int]], brk: int) -> list[list[tuple[int, int]]]:
    """Driving joined across pauses shorter than ``brk``."""
    out: list[list[tuple[int, int]]] = []
    for a, b in intervals:
        if out and a - out[-1][-1][1] < brk:
            out[-1].append((a, b))
        else:
            out.append([(a, b)])
    return out


def max_24h(intervals: list[tuple[int, int]]) -> int:
    """The most driving in any 24-hour window (the worst window starts at an interval start or
    ends at an interval end)."""
    best = 0
    for s in [a for a, _ in intervals] + [b - DAY for _, b in intervals]:
        best = max(best, sum(max(0, min(b, s + DAY) - max(a, s)) for a, b in intervals))
    return best


def violations(intervals: list[tuple[int, int]], *, start: int, need: int, end: int, crew: int,
               rules: DrivingRules = RULES) -> list[str]:
    """Every driving rule the intervals break, as short strings."""
    out = []
    if sum(b - a for a, b in intervals) != need:
        out.append(f"total {sum(b - a for a, b in intervals)} != {need}")
    if intervals and (intervals[0][0] < start or intervals[-1][1] != end):
        out.append("intervals outside start…arrival")
    for (_, b), (c, _) in zip(intervals, intervals[1:]):
        if c < b:
            out.append("intervals overlap or out of order")
    for a, b in intervals:
        if b <= a:
            out.append(f"empty interval {(a, b)}")
        if rules.night_rest and minutes_inside(a, b, rules.night_rest):
            out.append(f"drives in the night rest: {(a, b)}")
    for st in stretches(intervals, rules.break_minutes):
        driven = sum(b - a for a, b in st)
        if driven > rules.continuous:
            out.append(f"stretch of {driven} min: {st}")
        if rules.night:
            night = sum(minutes_inside(a, b, rules.night) for a, b in st)
            if night > rules.night_continuous:
                out.append(f"{night} night minutes in one stretch: {st}")
    if max_24h(intervals) > crew * rules.daily:
        out.append(f"{max_24h(intervals)} min in 24 h > {crew} × {rules.daily}")
    return out


def joined(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in intervals:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


# ------------------------------------------------------------------ one rule at a time


def test_four_hours_continuous_then_a_break():
    """By day a driver stops after 4 h at the wheel and rests at least 20 min."""
    start = clock(6)
    end, iv = drive(DriveLog(crew=2), start, 6 * H, RULES)
    assert iv[0] == (clock(6), clock(10))  # 4 h, then a break
    assert iv[1][0] >= clock(10, 20)
    assert sum(b - a for a, b in iv) == 6 * H
    assert end == clock(12, 20)  # 6 h of driving + one 20 min break, nothing more
    for st in stretches(iv, RULES.break_minutes):
        assert sum(b - a for a, b in st) <= 4 * H


def test_night_portion_of_a_stretch_is_at_most_two_hours():
    """Of one stretch, at most 2 h fall inside night hours (22:00–06:00)."""
    start = clock(21)
    end, iv = drive(DriveLog(crew=2), start, 5 * H, RULES)
    for st in stretches(iv, RULES.break_minutes):
        assert sum(minutes_inside(a, b, (22 * H, 6 * H)) for a, b in st) <= 2 * H
    # 21:00–00:00 is 1 h by day + 2 h at night: a break must follow at midnight
    assert iv[0] == (clock(21), clock(0, day=1))
    assert iv[1][0] >= clock(0, 20, day=1)
    assert violations(iv, start=start, need=5 * H, end=end, crew=2) == []


def test_no_driving_from_two_to_five():
    """Long-distance coaches stand still from 02:00 to 05:00; driving resumes at 05:00."""
    start = clock(1)
    end, iv = drive(DriveLog(crew=2), start, 2 * H, RULES)
    assert iv == [(clock(1), clock(2)), (clock(5), clock(6))]
    assert end == clock(6)
    # starting inside the rest waits for its end
    end, iv = drive(DriveLog(crew=2), clock(3), 30, RULES)
    assert iv == [(clock(5), clock(5, 30))]


@pytest.mark.parametrize("crew", [1, 2])
def test_daily_driving_at_most_crew_times_eight_hours(crew):
    """In every 24 h window the coach is driven at most crew × 8 h."""
    start, need = clock(6), 20 * H
    end, iv = drive(DriveLog(crew=crew), start, need, RULES)
    assert sum(b - a for a, b in iv) == need
    assert max_24h(iv) <= crew * 8 * H
    assert max_24h(iv) == crew * 8 * H  # and the limit is used, not wasted
    assert violations(iv, start=start, need=need, end=end, crew=crew) == []


def test_two_drivers_arrive_sooner_than_one():
    """A second driver lifts the daily limit: a 20 h drive ends earlier with crew 2."""
    end1, _ = drive(DriveLog(crew=1), clock(6), 20 * H, RULES)
    end2, _ = drive(DriveLog(crew=2), clock(6), 20 * H, RULES)
    assert end2 < end1
    assert end1 - clock(6) >= 2 * DAY  # 8 h a day: a third day is needed


def test_disabled_rules_drive_in_one_interval():
    """With the driving rules off, a leg is one interval of pure driving, night rest or not."""
    rules = DrivingRules(enabled=False)
    end, iv = drive(DriveLog(crew=1), clock(1), 10 * H, rules)
    assert iv == [(clock(1), clock(11))]
    assert end == clock(11)


def test_zero_minutes_is_no_driving():
    """A leg of no length arrives when it leaves and lists no interval."""
    assert drive(DriveLog(), clock(3), 0, RULES) == (clock(3), [])


# ------------------------------------------------------------------ the log across legs


def test_stretch_continues_across_a_short_stop():
    """A stop shorter than the break does not reset the 4 h count; the next leg breaks early."""
    log = DriveLog(crew=1)
    t, first = drive(log, clock(6), 200, RULES)  # 06:00–09:20
    assert first == [(clock(6), clock(9, 20))]
    t2, second = drive(log, t + 10, 100, RULES)  # a 10 min stop: still the same stretch
    assert second[0] == (clock(9, 30), clock(10, 10))  # 200 + 40 = 240: break now
    assert second[1][0] >= clock(10, 30)
    assert [(a, b) for a, b, _ in log.intervals] == joined(first + second)


def test_stop_as_long_as_a_break_resets_the_stretch():
    """A stop of at least 20 min counts as the break: the next leg may drive 4 h again."""
    log = DriveLog(crew=1)
    t, _ = drive(log, clock(6), 240, RULES)  # 06:00–10:00, a full stretch
    t2, iv = drive(log, t + 20, 120, RULES)  # boarding 20 min
    assert iv == [(clock(10, 20), clock(12, 20))]


def test_daily_limit_counts_earlier_legs_of_the_trip():
    """The 24 h limit counts driving from earlier legs in the same log."""
    log = DriveLog(crew=1)
    t, a = drive(log, clock(5), 7 * H, RULES)
    t2, b = drive(log, t + 60, 3 * H, RULES)
    everything = joined(a + b)
    assert max_24h(everything) <= 8 * H
    assert b[0][1] - b[0][0] <= 8 * H - 7 * H or b[0][0] >= clock(5, day=1)


# ------------------------------------------------------------------ every rule at once


@pytest.mark.parametrize("crew", [1, 2])
def test_every_leg_obeys_every_rule(crew):
    """Legs from any clock time and of any length obey all driving rules at once."""
    for start in range(0, 2 * DAY, 53):
        for need in (1, 45, 239, 240, 241, 480, 700, 1500):
            end, iv = drive(DriveLog(crew=crew), start, need, RULES)
            assert violations(iv, start=start, need=need, end=end, crew=crew) == [], (start, need)


def test_trips_of_several_legs_obey_every_rule():
    """Random trips of 1–4 legs with stops between them obey all rules over the whole trip."""
    rnd = random.Random(7)
    for _ in range(400):
        crew = rnd.choice([1, 2])
        log = DriveLog(crew=crew)
        t = t0 = rnd.randrange(0, 2 * DAY)
        total, everything = 0, []
        for _leg in range(rnd.randint(1, 4)):
            t += rnd.choice([0, 5, 19, 20, 30, 300])
            need = rnd.choice([5, 30, 100, 239, 240, 241, 400, 700])
            end, iv = drive(log, t, need, RULES)
            assert not iv or iv[0][0] >= t
            total += need
            everything += iv
            t = end
        assert violations(joined(everything), start=t0, need=total, end=t, crew=crew) == []


def test_custom_rules_from_policy():
    """Policy values reach the simulation: 3 h stretches, 30 min breaks, rest 01:00–04:00."""
    pol = Policy(max_continuous_driving_hours=3, break_minutes=30, night_rest=["01:00", "04:00"])
    rules = DrivingRules.from_policy(pol)
    assert (rules.continuous, rules.break_minutes, rules.night_rest) == (180, 30, (60, 240))
    end, iv = drive(DriveLog(crew=2), clock(6), 5 * H, rules)
    assert iv[0] == (clock(6), clock(9))
    assert iv[1][0] >= clock(9, 30)
    assert violations(iv, start=clock(6), need=5 * H, end=end, crew=2, rules=rules) == []


def test_no_night_rest_when_policy_says_null():
    """``night_rest: null`` lets coaches drive through 02:00–05:00 (other rules still hold)."""
    rules = DrivingRules.from_policy(Policy(night_rest=None))
    assert rules.night_rest is None
    end, iv = drive(DriveLog(crew=2), clock(1), 60, rules)
    assert iv == [(clock(1), clock(2))]


def test_minutes_round_up_and_leg_minutes_include_rests():
    """Pure driving minutes round up; a long leg's elapsed time includes breaks and rests."""
    assert RULES.minutes(75) == 60
    assert RULES.minutes(75.01) == 61
    assert RULES.minutes(0) == 0
    driving = RULES.minutes(1000)  # 800 min at the wheel
    assert leg_minutes(driving, RULES, crew=2) > driving
    assert leg_minutes(driving, RULES, crew=1) > leg_minutes(driving, RULES, crew=2)
    assert leg_minutes(driving, DrivingRules(enabled=False)) == driving


def test_a_leg_driven_again_from_the_same_state_replays_exactly():
    """The legs worked out once and replayed (``drive``) equal driving them afresh (``_drive``):
    arrival, intervals and the log after, from fresh and seeded crews at every kind of hour."""
    import random

    from planner import driving

    rng = random.Random(7)
    rules = DrivingRules()
    driving._LEGS.clear()
    for _ in range(400):
        crew = rng.choice([1, 2])
        prior: list = []
        t = rng.randrange(0, 3 * 1440)
        for _ in range(rng.randrange(0, 4)):
            a = t - rng.randrange(30, 900)
            prior.insert(0, (a, a + rng.randrange(10, 240), 1.0 / crew))
            t = a - 10
        prior.sort()
        log = driving.DriveLog.seeded(crew, prior, rules) if prior else driving.DriveLog(crew=crew)
        # few clocks and lengths, many histories: the same leg from different states
        start = (prior[-1][1] if prior else 0) + rng.choice([0, 5, 19, 20, 300, 1500])
        start = start - start % 60 + rng.choice([0, 60 * 23])
        need = rng.choice([200, 900, 2400])
        for _ in range(2):  # the second time from the same state is a replay
            fresh, memo = log.copy(), log.copy()
            want = driving._drive(fresh, start, need, rules)
            got = driving.drive(memo, start, need, rules)
            assert got == want
            assert (memo.stretch, memo.stretch_night, memo.last_end) == (fresh.stretch, fresh.stretch_night, fresh.last_end)
            for probe in range(start, want[0] + 1441, 97):
                assert abs(memo.trailing(probe) - fresh.trailing(probe)) < 1e-9
