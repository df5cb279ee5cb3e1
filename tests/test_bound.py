"""The sharp lower bound (``summary.lower_bound_km_sharp``): whole coaches within the pickup limit.

It lies between the per-worker bound and the plan's km on every plan, counts a coach for
remainders that cannot share one, and stays below the exact optimum of small relaxed parks
(computed here by the benchmark's own set-partitioning model, solved to optimality).
"""

from __future__ import annotations

import math

import pytest

from benchmarks.exact import instance, optimum, route_km
from planner.check import check
from planner.contract import Scenario
from planner.optimize import solve
from planner.problem import compile_scenario
from planner.report import lower_bound_km, lower_bound_km_routes, lower_bound_km_sharp


def test_remainders_that_cannot_share_pay_their_coaches(tiny):
    """Four counties of 10 workers, at most 3 pickups a coach: at least two coaches, the farther
    one paying at least the farthest county's tour — more than 40/53 of the tours."""
    counties = (tiny.XINZHENG, tiny.ZHONGMOU, tiny.WEISHI, tiny.XIPING)
    sc = tiny.scenario([tiny.order(f"O{i}", c, 10) for i, c in enumerate(counties)],
                       policy={"max_pickup_stops": 3})
    data = compile_scenario(sc)
    planned = {o.index: 10 for o in data.orders}
    depot, site = data.depot_place[0], data.site_place[0]
    tours = sorted(route_km(data, depot, site, (o.place,)) for o in data.orders)
    sharp = lower_bound_km_sharp(data, planned, ())
    assert sharp == pytest.approx(tours[-1] + tours[0])  # ∫ B(t) dt: 2 coaches up to the nearest tour, then 1
    assert sharp > lower_bound_km(data, planned) * 2
    # with 4 pickups allowed one coach may take them all: only its farthest tour is certain
    data4 = compile_scenario(tiny.scenario([tiny.order(f"O{i}", c, 10) for i, c in enumerate(counties)],
                                           policy={"max_pickup_stops": 4}))
    assert lower_bound_km_sharp(data4, planned, ()) == pytest.approx(tours[-1])


def test_full_coaches_pay_as_the_per_worker_bound(tiny):
    """A county of exactly two coach-loads: the sharp bound is the per-worker one."""
    sc = tiny.scenario([tiny.order("O1", tiny.XIPING, 106)])
    data = compile_scenario(sc)
    planned = {0: 106}
    assert lower_bound_km_sharp(data, planned, ()) == pytest.approx(lower_bound_km(data, planned))


@pytest.mark.parametrize("workers,counties,seed,mixed", [(160, 6, 11, False), (220, 7, 12, False),
                                                         (200, 6, 13, True)])
def test_sharp_bound_never_above_the_exact_optimum(workers, counties, seed, mixed):
    """On small relaxed parks whose optimum is proven (gap 0), the sharp bound of all their
    workers is at most the optimum and above the per-worker bound; a plan of all of them is no
    shorter than the optimum and reports the same bound."""
    sc = Scenario.model_validate(instance(workers, counties, seed=seed, mixed=mixed))
    opt = optimum(sc, seconds=30)
    assert opt.status == "optimal", opt
    data = compile_scenario(sc)
    everyone = {o.index: o.cleared for o in data.orders}
    sharp = lower_bound_km_sharp(data, everyone, ())
    assert lower_bound_km(data, everyone) < sharp <= opt.km + 1e-6
    routes = lower_bound_km_routes(data, everyone)
    assert sharp < routes <= opt.km + 1e-6  # the detours between pooled places count too
    if (workers, counties) == (220, 7):
        # the pair cuts: without them the LP is lower on this park (5,777.0 km against 5,825.4)
        import planner._routing as routing

        rounds = routing.PAIR_ROUNDS
        try:
            routing.PAIR_ROUNDS = 0
            assert lower_bound_km_routes(data, everyone) < routes - 10
        finally:
            routing.PAIR_ROUNDS = rounds
    sharp = max(sharp, routes)
    if mixed:
        return  # scarce coaches of four sizes: the planner may leave some workers behind
    plan = solve(sc, time_limit=3, seed=0)
    assert check(sc, plan) == []
    s = plan.summary
    assert s.workers_planned == workers
    assert s.km >= opt.km - 0.5  # the model is exact: no plan goes below it
    assert s.lower_bound_km_sharp == pytest.approx(sharp, abs=0.1)


def test_sharp_bound_holds_with_rules_sites_and_a_mixed_fleet(tiny):
    """Time windows, driving rules, two sites, a mixed fleet and a far county: the sharp bound
    stays between the per-worker bound and the plan's km (the checker agrees)."""
    sc = tiny.scenario(
        [tiny.order("O1", tiny.XIPING, 70), tiny.order("O2", tiny.HUAXIAN, 30, site="F2"),
         tiny.order("O3", tiny.WEISHI, 12), tiny.order("O4", tiny.ZHONGMOU, 9, site="F2"),
         tiny.order("O5", tiny.ENYANG, 25), tiny.order("O6", tiny.XINZHENG, 40, site="F2")],
        sites=[tiny.site("F1"), tiny.site("F2", lat=34.60, lon=113.70)],
        fleet=[tiny.coach("c53", 53, 3), tiny.coach("c19", 19, 4), tiny.coach("c35", 35, 2)],
        policy={"max_pickup_stops": 2})
    plan = tiny.solve_checked(sc, time_limit=3)
    s = plan.summary
    assert s.workers_planned == 186
    assert s.lower_bound_km <= s.lower_bound_km_sharp <= s.km
    assert math.isfinite(s.lower_bound_km_sharp)


def test_the_route_bound_counts_the_detours_between_pooled_places(tiny):
    """Three counties of 10 workers in three directions (新郑, 华县 north, 西平 south), one coach
    may take all three: the layered bound is only the farthest county's tour, the route bound
    the shortest run through all three (one coach, whole), and a plan is no shorter."""
    counties = (tiny.XINZHENG, tiny.HUAXIAN, tiny.XIPING)
    sc = tiny.scenario([tiny.order(f"O{i}", c, 10) for i, c in enumerate(counties)], policy={"max_pickup_stops": 3})
    data = compile_scenario(sc)
    planned = {o.index: 10 for o in data.orders}
    depot, site = data.depot_place[0], data.site_place[0]
    one = route_km(data, depot, site, tuple(o.place for o in data.orders))
    layered = lower_bound_km_sharp(data, planned, ())
    routes = lower_bound_km_routes(data, planned)
    assert layered == pytest.approx(max(route_km(data, depot, site, (o.place,)) for o in data.orders))
    assert routes == pytest.approx(min(one, sum(route_km(data, depot, site, (o.place,)) for o in data.orders)), rel=1e-6)
    assert routes > layered * 1.05
    plan = tiny.solve_checked(sc, time_limit=3)
    assert plan.summary.km >= plan.summary.lower_bound_km_sharp == pytest.approx(routes, abs=0.1)


def test_the_route_bound_counts_how_many_coaches_of_each_size_there_are(tiny):
    """One 53-seater and many 19-seaters, each running one trip (a day's availability, a day's
    turnaround): 80 workers of one county take the big coach and two small ones — the fewest trips
    of that fleet seating them, which the route bound's visit cut counts (the LP alone would take
    27/19 of a small one), not 80/53 of a big one; the layered bound, blind to the counts, says
    two coaches; with big coaches enough the route bound says two as well."""
    fleet = [tiny.coach("c53", 53, 1, available_from=tiny.at(11), available_until=tiny.at(11, "23:59")),
             tiny.coach("c19", 19, 6, available_from=tiny.at(11), available_until=tiny.at(11, "23:59"))]
    sc = tiny.scenario([tiny.order("O1", tiny.XIPING, 80)], fleet=fleet, policy={"turnaround_minutes": 1440})
    data = compile_scenario(sc)
    tour = route_km(data, data.depot_place[0], data.site_place[0], (data.orders[0].place,))
    assert lower_bound_km_routes(data, {0: 80}) == pytest.approx(3 * tour, rel=1e-6)
    assert lower_bound_km_sharp(data, {0: 80}, ()) == pytest.approx(2 * tour, rel=1e-6)
    day = {"available_from": tiny.at(11), "available_until": tiny.at(11, "23:59")}
    many = compile_scenario(tiny.scenario([tiny.order("O1", tiny.XIPING, 80)], policy={"turnaround_minutes": 1440},
                                          fleet=[tiny.coach("c53", 53, 2, **day)]))
    assert lower_bound_km_routes(many, {0: 80}) == pytest.approx(2 * tour, rel=1e-6)


def test_route_bound_leaves_out_routes_no_coach_has_the_hours_for(tiny):
    """恩阳区 (957 km) and 西平县 (166 km), 20 workers each: with a coach's hours for the shared
    route the route bound is that route's km; with hours for 恩阳区's own trip only, no coach can
    pool them, and the bound is both counties' own tours, which the plan drives."""
    from datetime import timedelta

    def park(until: str) -> Scenario:
        return tiny.scenario([tiny.order("far", tiny.ENYANG, 20), tiny.order("mid", tiny.XIPING, 20)],
                             fleet=[tiny.coach(available_from=tiny.at(11, "06:00"), available_until=until)],
                             policy={"driving_rules": False, "time_rules": False, "boarding_hours": None})

    data = compile_scenario(park(tiny.at(25)))
    planned = {o.index: 20 for o in data.orders}
    depot, site = data.depot_place[0], data.site_place[0]
    places = tuple(o.place for o in data.orders)
    both = route_km(data, depot, site, places)
    apart = sum(route_km(data, depot, site, (p,)) for p in places)
    assert lower_bound_km_routes(data, planned) == pytest.approx(both, rel=1e-6)

    def minutes(stops: tuple) -> int:
        seq = [depot, *stops, site, depot]
        return sum(int(data.drive[a, b]) for a, b in zip(seq, seq[1:])) + data.boarding * len(stops) + data.alighting

    far = next(o.place for o in data.orders if o.id == "far")
    shared = min(minutes(places), minutes(places[::-1]))
    hours = (minutes((far,)) + shared) // 2  # 恩阳区 alone fits, the shared route does not
    sc = park((tiny.dt(11, "06:00") + timedelta(minutes=hours)).isoformat())
    data = compile_scenario(sc)
    assert lower_bound_km_routes(data, planned) == pytest.approx(apart, rel=1e-6)
    plan = tiny.solve_checked(sc, time_limit=3)
    assert plan.summary.workers_planned == 40
    assert plan.summary.km >= plan.summary.lower_bound_km_sharp == pytest.approx(apart, abs=0.1)
