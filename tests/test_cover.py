"""The set-covering pass: whole coaches on candidate routes within what the fleet can run."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from benchmarks.exact import instance
from planner._routing import CoverProblem, cover_routes
from planner.check import check
from planner.contract import Scenario
from planner.optimize import solve


def _problem(**kw) -> CoverProblem:
    # keys: 0 = A (50 workers), 1 = B (15), 2 = C (15); routes: A, B, C, B+C
    # options (type, seats, weight, minutes): type 0 a 53-seater, type 1 a 19-seater
    base = dict(
        demand=(50, 15, 15),
        routes=((0,), (1,), (2,), (1, 2)),
        options=(((0, 53, 100, 60), (1, 19, 100, 60)),
                 ((0, 53, 80, 60), (1, 19, 80, 60)),
                 ((0, 53, 80, 60), (1, 19, 80, 60)),
                 ((0, 53, 90, 60), (1, 19, 90, 60))),
        types=((1, -1), (2, -1)),
        min_riders=1,
        short=10_000,
    )
    base.update(kw)
    return CoverProblem(**base)  # type: ignore[arg-type]


def _per_type(problem: CoverProblem, coaches: dict[tuple[int, int], int]) -> Counter:
    used: Counter = Counter()
    for (r, o), n in coaches.items():
        used[problem.options[r][o][0]] += n
    return used


def test_the_one_large_coach_takes_the_big_load_and_small_coaches_the_rest():
    """One 53-seater and two 19-seaters: A's 50 need the 53-seater, so B and C (30 together,
    more than a 19-seater) go on a 19-seater each — everyone carried, within the fleet."""
    problem = _problem()
    got = cover_routes(problem, time_limit=5)
    assert got.status != "none"
    assert sum(got.left) == 0
    used = _per_type(problem, got.coaches)
    assert used[0] <= 1 and used[1] <= 2
    assert got.riders.get((0, 0)) == 50 and got.coaches.get((0, 0)) == 1
    assert got.objective == 100 + 80 + 80
    for k, n in enumerate(problem.demand):
        assert sum(m for (_, kk), m in got.riders.items() if kk == k) == n


def test_with_coaches_to_spare_remainders_share_the_cheaper_route():
    """Enough 53-seaters: B and C share one coach on B+C (90 < 80 + 80)."""
    problem = _problem(types=((3, -1), (0, -1)))
    got = cover_routes(problem, time_limit=5)
    assert sum(got.left) == 0
    assert got.objective == 100 + 90
    assert got.coaches.get((3, 0)) == 1


def test_workers_no_coach_can_take_are_left_and_nobody_else():
    """One 53-seater for 60 workers of one county: 53 carried, 7 left behind."""
    problem = CoverProblem(demand=(60,), routes=((0,),), options=(((0, 53, 100, 60),),), types=((1, -1),),
                           min_riders=1, short=10_000)
    got = cover_routes(problem, time_limit=5)
    assert got.left == (7,)
    assert got.riders == {(0, 0): 53} and got.coaches == {(0, 0): 1}


def test_coach_minutes_bound_the_trips():
    """Coaches of 100 minutes each of which the type has 150: one coach only, A's load first."""
    problem = _problem(types=((-1, 150), (0, -1)),
                       options=(((0, 53, 100, 100),), ((0, 53, 80, 100),), ((0, 53, 80, 100),), ((0, 53, 90, 100),)))
    got = cover_routes(problem, time_limit=5)
    assert sum(got.coaches.values()) == 1
    assert sum(got.left) == 30


@pytest.mark.parametrize("workers,counties,seed", [(400, 10, 2), (250, 6, 3)])
def test_a_scarce_mixed_fleet_carries_every_worker(workers, counties, seed):
    """A park whose 53- and 45-seaters are too few for its full loads (19/35/45/53 seats, each
    coach one trip): every worker planned, no type runs more trips than it has coaches, and the
    independent checker accepts the plan. (The search alone, each trip on the type that carries
    it best, left 51 of 400 and 51 of 250 behind: no coach of the type.)"""
    raw = instance(workers, counties, seed=seed, mixed=True)
    sc = Scenario.model_validate(raw)
    plan = solve(sc, time_limit=5, seed=0)
    assert check(sc, plan) == []
    assert plan.summary.workers_planned == workers
    assert not plan.unassigned
    coaches = {f["id"]: f["count"] for f in raw["fleet"]}
    trips = Counter(t.vehicle_type for t in plan.trips)
    for vtype, n in trips.items():
        assert n <= coaches[vtype]


def test_the_neighbourhood_search_rechooses_coaches_from_a_poor_start():
    """Every county on a coach of its own (A alone 100, B alone 80, C alone 80): the search over
    neighbourhoods of the compact model puts B and C on one coach (90), carrying everyone; with
    one 53-seater only, B and C cannot share (30 riders, 19 seats each) and the start stays."""
    from planner._routing import _choice, _neighbourhoods

    problem = _problem(types=((-1, -1), (-1, -1)))
    start = _choice(problem, {(0, 0): 1, (1, 1): 1, (2, 1): 1}, {(0, 0): 50, (1, 1): 15, (2, 2): 15}, "feasible")
    assert start.objective == 260 and not any(start.left)
    got = _neighbourhoods(problem, start, time.monotonic() + 2.0, seed=3)
    assert got.objective == 190 and not any(got.left)
    assert got.coaches.get((3, 0)) == 1 and got.riders == {(0, 0): 50, (3, 1): 15, (3, 2): 15}

    scarce = _problem(types=((1, -1), (-1, -1)))
    start = _choice(scarce, {(0, 0): 1, (1, 1): 1, (2, 1): 1}, {(0, 0): 50, (1, 1): 15, (2, 2): 15}, "feasible")
    got = _neighbourhoods(scarce, start, time.monotonic() + 1.0, seed=3)
    assert got.objective == 260 and _per_type(scarce, got.coaches)[0] <= 1


@pytest.mark.parametrize("how", ["two cores", "one core", "the second core's search dies"])
def test_the_neighbourhood_search_on_two_cores_keeps_the_lighter_plan_of_each_round(monkeypatch, how):
    """The same poor start searched in rounds by this process and a forked one (one core or no
    fork: here alone): B and C end on one coach either way, and a round whose forked search dies
    keeps this process's plan."""
    import os

    import planner._routing as routing

    if how == "one core":
        monkeypatch.setattr(routing, "fork_context", lambda: None)
    elif how == "the second core's search dies":
        if routing.fork_context() is None:
            pytest.skip("this machine searches on one core")
        monkeypatch.setattr(routing, "_searched", lambda *a: os._exit(3))
    monkeypatch.setattr(routing, "NEIGHBOURHOOD_ROUND", 0.3)
    problem = _problem(types=((-1, -1), (-1, -1)))
    start = routing._choice(problem, {(0, 0): 1, (1, 1): 1, (2, 1): 1}, {(0, 0): 50, (1, 1): 15, (2, 2): 15},
                            "feasible")
    got = routing._parallel_neighbourhoods(problem, start, time.monotonic() + 2.0, seed=3)
    assert got.objective == 190 and not any(got.left)
    assert got.riders == {(0, 0): 50, (3, 1): 15, (3, 2): 15}
