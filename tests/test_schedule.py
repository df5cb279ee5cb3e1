"""Tests of the scheduling and pooling steps behind planner.optimize.solve: coaches found free
late in the window, pooled trips drafted only when their ride can fit, and generated parks where
every worker who may travel is planned (the fleet has the time) and the checker finds nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, time, timedelta

import pytest

from benchmarks.generate import generate
from planner import _schedule
from planner._full import full_coaches
from planner._pool import split_tour
from planner._schedule import Fleet
from planner._trips import AllocatedTrip
from planner.check import check
from planner.contract import SHANGHAI, Scenario
from planner.driving import DAY
from planner.eligibility import eligibility
from planner.optimize import solve
from planner.problem import compile_scenario


def test_fleet_earliest_finds_the_first_gap_long_enough(tiny):
    """Two coaches: one busy 0–100, the other 50–200. A 60-minute job from 0 fits at 100 on the
    first; a 40-minute one fits at once on the second (free 0–50); none fits before ``until``.
    (No turnaround and no driving rules here: the gap search alone.)"""
    data = compile_scenario(tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 10)], fleet=[tiny.coach(count=2)],
                                          policy={"turnaround_minutes": 0, "driving_rules": False}))
    fleet = Fleet(data)
    fleet.block(0, 0, 0, 100)
    fleet.block(0, 1, 50, 200)
    assert fleet.earliest(0, 0, 60) == (100, 0)
    assert fleet.earliest(0, 0, 40) == (0, 1)
    assert fleet.earliest(0, 120, 60) == (120, 0)
    assert fleet.earliest(0, 0, 60, until=90) == (None, None)


def test_fleet_keeps_the_turnaround_between_trips(tiny):
    """With a 60-minute turnaround a coach busy 0–100 takes its next trip at 160 at the earliest,
    and a trip ending at 70 cannot be squeezed in before one starting at 100."""
    data = compile_scenario(tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 10)], fleet=[tiny.coach(count=1)]))
    fleet = Fleet(data)
    fleet.block(0, 0, 100, 200)
    assert fleet.earliest(0, 0, 60) == (260, 0)
    assert fleet.earliest(0, 0, 40) == (0, 0)  # 0–40, then 60 min at the depot until 100
    assert not fleet.fits(0, 0, 0, 70)
    assert fleet.fits(0, 0, 0, 40)


def test_pooled_trip_never_drafted_beyond_the_ride_limit(tiny):
    """恩阳区 (~957 km) and 西平 (~166 km, a short detour on the way in) pool when the ride
    allows (one coach saves ~200 km). With two hours of boarding per stop the direct ride from
    恩阳区 is ~15.8 h and the pooled one ~17.6 h: under a 16.5 h limit they must not pool, and
    both still travel."""
    orders = [tiny.order("O1", tiny.ENYANG, 10, arrive_by=tiny.at(16)),
              tiny.order("O2", tiny.XIPING, 10, arrive_by=tiny.at(16))]

    def drafts(policy):
        data = compile_scenario(tiny.scenario(orders, policy=policy))
        elig, unassigned = eligibility(data, [0] * len(data.orders))
        assert not unassigned
        demand = defaultdict(int)
        for e in elig:
            o = data.orders[e.order]
            demand[(o.place, e.cohort, o.site)] += e.count
        _, left = full_coaches(data, dict(demand), 0)
        places = sorted({k[0] for k in left}, key=lambda p: -data.km[data.vehicles[0].depot, p])
        return split_tour(data, places, left, [0], "km").drafts

    assert [d.riders for d in drafts({"boarding_minutes": 120})] == [20]
    got = drafts({"boarding_minutes": 120, "max_ride_hours": 16.5})
    assert sorted((len(d.pickups), d.riders) for d in got) == [(1, 10), (1, 10)]
    plan = tiny.solve_checked(tiny.scenario(orders, policy={"boarding_minutes": 120, "max_ride_hours": 16.5}),
                              time_limit=2)
    assert tiny.boarded(plan) == {"O1": 10, "O2": 10}


@pytest.mark.parametrize("seed", [2, 4])
def test_generated_park_plans_everyone_who_may_travel(seed):
    """3,000 workers, 60 counties: the fleet has the coach time, so every cleared worker with a
    valid screening is planned, and the plan passes the checker."""
    scenario = Scenario.model_validate(generate(3000, 60, 2, seed=seed))
    plan = solve(scenario, time_limit=10, seed=0)
    assert check(scenario, plan) == []
    reasons = Counter()
    for u in plan.unassigned:
        reasons[u.reason] += u.count
    assert set(reasons) <= {"screening_pending", "screening_failed"}, reasons
    heads = sum(o.headcount for o in scenario.orders)
    assert plan.summary.workers_planned + sum(reasons.values()) == heads


# ------------------------------------------------------------------ the crew and the coach between trips


def _coach_days(plan) -> dict:
    """Per coach: the most driving charged to one of its own drivers in any 24 h (hours), and
    the shortest time at the depot between two of its trips (minutes) — computed here, apart
    from the planner and the checker. Each of a trip's ``crew`` drivers drives 1/crew of it."""
    from collections import defaultdict

    by_coach = defaultdict(list)
    for t in plan.trips:
        by_coach[(t.vehicle_type, t.bus)].append(t)
    out = {}
    for coach, trips in by_coach.items():
        trips.sort(key=lambda t: t.stops[0].depart)
        gaps = [(b.stops[0].depart - a.stops[-1].arrive).total_seconds() / 60 for a, b in zip(trips, trips[1:])]
        pieces = [(a.timestamp(), b.timestamp(), 1 / t.crew) for t in trips for s in t.stops for a, b in s.drive]
        worst = 0.0
        for start in [a for a, _, _ in pieces] + [b - 86400 for _, b, _ in pieces]:
            got = sum(w * max(0.0, min(b, start + 86400) - max(a, start)) for a, b, w in pieces)
            worst = max(worst, got / 3600)
        out[coach] = (worst, min(gaps) if gaps else None)
    return out


def test_one_coach_all_day_keeps_its_crew_within_eight_hours(tiny):
    """One coach, one driver, three coach-loads from 滑县 (~4.6 h of driving a round trip): it
    cannot run two trips in one day's 8 h, and it waits an hour at the depot between trips."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 159, arrive_by=tiny.at(16))], fleet=[tiny.coach(count=1)])
    plan = tiny.solve_checked(sc, time_limit=2)
    assert tiny.boarded(plan)["O1"] == 159 and len(plan.trips) == 3
    worst, gap = _coach_days(plan)[("c53", 0)]
    assert worst <= 8 + 1 / 60
    assert gap >= 60


def test_two_drivers_from_the_pool_let_the_coach_go_out_again(tiny):
    """With a pool of two drivers at the depot the coach's second trip leaves an hour after the
    first returns, driven by the other driver; each trip names its driver."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 106, arrive_by=tiny.at(16))], fleet=[tiny.coach(count=1)])
    sc = sc.model_copy(update={"depots": [sc.depots[0].model_copy(update={"drivers": ["张师傅", "李师傅"]})]})
    plan = tiny.solve_checked(sc, time_limit=2)
    a, b = sorted(plan.trips, key=lambda t: t.stops[0].depart)
    assert {tuple(a.drivers), tuple(b.drivers)} == {("张师傅",), ("李师傅",)}
    assert 60 <= (b.stops[0].depart - a.stops[-1].arrive).total_seconds() / 60 < 120


def test_a_pool_too_small_is_no_driver(tiny):
    """One pool driver and a deadline that needs two coaches out at once: one coach-load rides,
    the other is unassigned for want of a driver."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 106, earliest=tiny.at(11, "06:00"),
                                   arrive_by=tiny.at(11, "14:00"))], fleet=[tiny.coach(count=2)])
    sc = sc.model_copy(update={"fleet": [sc.fleet[0].model_copy(update={"drivers": ["张师傅"]})]})
    plan = tiny.solve_checked(sc, time_limit=2)
    assert tiny.boarded(plan)["O1"] == 53
    assert tiny.reasons(plan, "O1") == {"no_driver": 53}


def test_generated_park_coaches_keep_turnaround_and_daily_limits():
    """A generated park (2,000 workers): on every coach, an hour at the depot between trips and
    at most 8 h per driver in any 24 h, measured here."""
    sc = Scenario.model_validate(generate(2000, 60, 2, seed=3))
    plan = solve(sc, time_limit=8, seed=0)
    assert check(sc, plan) == []
    days = _coach_days(plan)
    assert any(gap is not None for _, gap in days.values())  # coaches do run several trips
    for coach, (worst, gap) in days.items():
        assert worst <= 8 + 1 / 60, coach
        assert gap is None or gap >= 60 - 1e-9, coach


# ------------------------------------------------------------------ intake per day


def test_intake_plans_as_many_as_the_days_allow(tiny):
    """A site taking 50 a day over two days: three orders of 30 all ride (90), and two orders of
    60 bring 100, the other 20 site_intake_full."""
    window = dict(earliest=tiny.at(11, "06:00"), arrive_by=tiny.at(12, "23:00"))
    three = tiny.scenario([tiny.order(f"O{i}", c, 30, **window) for i, c in
                           enumerate((tiny.ZHONGMOU, tiny.WEISHI, tiny.XINZHENG))],
                          sites=[tiny.site(intake_per_day=50)])
    plan = tiny.solve_checked(three, time_limit=2)
    assert plan.summary.workers_planned == 90
    assert max(tiny.drop_intake(plan).values()) <= 50
    two = tiny.scenario([tiny.order("A", tiny.ZHONGMOU, 60, **window), tiny.order("B", tiny.WEISHI, 60, **window)],
                        sites=[tiny.site(intake_per_day=50)])
    plan = tiny.solve_checked(two, time_limit=2)
    assert plan.summary.workers_planned == 100
    assert sum(n for (o, r), n in tiny.unassigned(plan).items() if r == "site_intake_full") == 20


def test_overnight_receiving_hours(tiny):
    """A site receiving 22:00–06:00 takes its workers at night, every drop inside the window."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 40), tiny.order("O2", tiny.ZHONGMOU, 30)],
                       sites=[tiny.site(receive_from="22:00", receive_until="06:00")])
    plan = tiny.solve_checked(sc, time_limit=2)
    assert plan.summary.workers_planned == 70
    for t in plan.trips:
        for s in tiny.drops(t):
            for when in (s.arrive, s.depart):
                c = when.astimezone(SHANGHAI).time()
                assert c >= time(22) or c <= time(6), (t.id, when)


def test_a_long_ride_meeting_a_full_site_boards_a_day_later(tiny):
    """恩阳区 → the park is a ~16 h ride, 18 h allowed; the site takes 50 a day, 07:00–20:00.
    50 workers from 中牟 must arrive on the 12th and take it; the 40 from 恩阳区 would arrive on
    the 12th too. Pushed to the site's opening on the 13th, their ride would run a second night
    (over 18 h): they board a whole day later instead, the same ride at the same hours."""
    sites = [tiny.site(receive_from="07:00", receive_until="20:00", intake_per_day=50)]
    policy = {"max_ride_hours": 18}
    alone = tiny.scenario([tiny.order("Y", tiny.ENYANG, 40, arrive_by=tiny.at(18))], sites=sites, policy=policy)
    free = tiny.solve_checked(alone, time_limit=2)
    (board_free, _), = tiny.pickup_times(free, "Y")
    both = tiny.scenario([tiny.order("X", tiny.ZHONGMOU, 50, earliest=tiny.at(12, "06:00"),
                                     arrive_by=tiny.at(12, "20:00")),
                          tiny.order("Y", tiny.ENYANG, 40, arrive_by=tiny.at(18))], sites=sites, policy=policy)
    plan = tiny.solve_checked(both, time_limit=2)
    assert plan.summary.workers_planned == 90, plan.unassigned
    assert tiny.drop_intake(plan)[date(2027, 2, 12)] == 50
    (board, _), = tiny.pickup_times(plan, "Y")
    assert board - board_free == timedelta(days=1)


def test_workers_a_full_site_left_behind_are_scheduled_first_again(tiny):
    """Two drafted trips with the same window: A (flexible, could arrive any day) is first in
    the queue and takes the only day on which B, whose screening runs out at noon on the 11th,
    can arrive. The schedule is run again with B first: both ride, A a day later."""
    sc = tiny.scenario([tiny.order("A", tiny.ZHONGMOU, 50),
                        tiny.order("B", tiny.WEISHI, 50, screening_valid_until=tiny.at(11, "12:00"))],
                       sites=[tiny.site(intake_per_day=50)])
    data = compile_scenario(sc)
    a, b = data.orders[0], data.orders[1]
    trips = [AllocatedTrip(0, (o.place,), (0,), 0, {o.place: [(o.index, 50)]}, a.earliest, a.arrive_by - 600)
             for o in (a, b)]
    first, failed = _schedule.schedule(data, trips, Fleet(data), {}, [0])
    assert len(first) == 1 and [r for _, r in failed] == ["site_intake_full"]  # one pass: B left behind
    fleet, intake = Fleet(data), {}
    timed, unassigned = _schedule.schedule_with_fallback(data, trips, fleet, intake, [0])
    assert unassigned == []
    days = {data.orders[o].id: s.arrive // DAY for t in timed for s in t.stops if s.kind == "drop" for o, _ in s.loads}
    assert days["B"] == b.earliest // DAY and days["A"] == days["B"] + 1
    assert sorted(intake.values()) == [50, 50]  # the state kept is the schedule's that was kept
    assert sum(len(iv) for per in fleet.busy for iv in per) == 2
