"""Tests of the scheduling and pooling steps behind planner.optimize.solve: coaches found free
late in the window, pooled trips drafted only when their ride can fit, and generated parks where
every worker who may travel is planned (the fleet has the time) and the checker finds nothing."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from benchmarks.generate import generate
from planner._pool import full_coaches, split_tour
from planner._schedule import Fleet
from planner.check import check
from planner.contract import Scenario
from planner.eligibility import compile_scenario, eligibility
from planner.optimize import solve


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
        return split_tour(data, places, left, [0], "km")

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
