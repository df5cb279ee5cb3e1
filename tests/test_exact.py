"""The exact benchmark's reduced-cost fixing (benchmarks/exact.py): the model reduced below a
known plan keeps the optimum, and fangang's plans read as plans of the exact models."""

from __future__ import annotations

import pytest

from benchmarks.exact import _compact, _patterns, fewest, instance, model_plan, optimum
from planner.check import check
from planner.contract import Scenario
from planner.optimize import solve


@pytest.fixture(scope="module")
def park() -> Scenario:
    return Scenario.model_validate(instance(220, 7, seed=12))


def test_fixing_below_a_known_plan_keeps_the_optimum(park):
    """The whole compact model's optimum satisfies km ≥ D + Σ lrc·x, and the model reduced below
    the patterns' plan, or below the optimum itself (the tightest case), still finds it."""
    full = _compact(park, seconds=60)
    assert full.status == "optimal" and full.plan is not None
    _, duals, found = _patterns(park, seconds=30)
    assert found is not None
    rc = sum(duals.lrc[k] * n for k, n in full.plan.coaches.items())
    assert full.km >= duals.bound + rc - 1e-6
    for ub, hint in ((found.km, found), (full.km, None)):
        reduced = _compact(park, seconds=60, duals=duals, ub=ub, hint=hint)
        assert reduced.status == "optimal"
        assert reduced.km == pytest.approx(full.km, abs=1e-6)
        assert reduced.kept < reduced.pairs == full.pairs  # the fixing left some out


def test_fewest_coaches_seating_the_workers():
    """One type of enough coaches: ⌈workers ÷ seats⌉; a mixed fleet: the largest first, each type
    at most its count, and no more than the whole fleet."""
    assert fewest([(53, 100)], 107) == 3
    assert fewest([(53, 100)], 106) == 2
    assert fewest([(19, 40), (53, 2), (35, 5)], 106) == 2
    assert fewest([(19, 40), (53, 2), (35, 5)], 107) == 3  # 53 + 53 + 35
    assert fewest([(19, 40), (53, 2), (35, 5)], 300) == 2 + 5 + 1  # 106 + 175 + 19
    assert fewest([(19, 1), (53, 1)], 1000) == 2


def test_mixed_fleet_cuts_keep_the_optimum():
    """With a mixed fleet of few large coaches, the capacity and layered cuts rounded by the fleet
    still hold for the optimum: the pattern LP's dual bound is below it, and the model reduced
    below the patterns' plan finds it, the optimum of the model without cuts."""
    mixed = Scenario.model_validate(instance(220, 7, seed=12, mixed=True))
    plain = _compact(mixed, seconds=60, cuts=False)
    full = _compact(mixed, seconds=60)
    assert plain.status == full.status == "optimal" and full.plan is not None
    assert full.km == pytest.approx(plain.km, abs=1e-6)
    _, duals, found = _patterns(mixed, seconds=30)
    assert found is not None
    assert duals.bound <= full.km + 1e-6
    rc = sum(duals.lrc[k] * n for k, n in full.plan.coaches.items())
    assert full.km >= duals.bound + rc - 1e-6
    reduced = _compact(mixed, seconds=60, duals=duals, ub=found.km, hint=found)
    assert reduced.status == "optimal"
    assert reduced.km == pytest.approx(full.km, abs=1e-6)


def test_fangangs_plan_is_a_plan_of_the_exact_models(park):
    """fangang's plan, each trip a coach on its pickup counties' route, carries every worker in at
    most its own km; as the fixing's upper bound the optimum is proven and no longer than it."""
    plan = solve(park, time_limit=3, seed=0)
    assert check(park, plan) == [] and plan.summary.workers_planned == 220
    mp = model_plan(park, plan)
    assert mp is not None
    assert sum(mp.loads.values()) == 220
    assert sum(mp.coaches.values()) == plan.summary.trips
    assert mp.km <= plan.summary.km + 0.05
    opt = optimum(park, seconds=30, plans=(mp,))
    assert opt.status == "optimal" and opt.bound == pytest.approx(opt.km)
    assert opt.km <= mp.km + 1e-6
    assert opt.kept is not None and opt.kept[0] < opt.kept[1]
