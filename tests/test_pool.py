"""Pooling the remainders (planner._pool) and restarting the search from other starts
(planner._coaches): a shared trip no coach has the hours for is never drafted, and a county's
full coach given back to the split lets its workers fill two shared coaches."""

from __future__ import annotations

from datetime import timedelta

from benchmarks.exact import INSTANCES, instance
from planner._allocate import by_county
from planner._coaches import _restarts, released
from planner._full import full_coaches
from planner._pool import split_tour
from planner._pricing import best_route, span_fits
from planner._trips import AllocatedTrip, DraftTrip
from planner.check import check
from planner.contract import Scenario
from planner.optimize import solve
from planner.params import Deadline, SolveParams
from planner.problem import compile_scenario

RELAXED = {"driving_rules": False, "time_rules": False, "boarding_hours": None}


def _minutes(data, places):
    depot = data.vehicles[0].depot
    _, p, s = best_route(data, depot, places, [0])
    seq = [depot, *p, data.site_place[0], depot]
    return sum(int(data.drive[a, b]) for a, b in zip(seq, seq[1:])) + data.boarding * len(p) + data.alighting


def _pair(tiny, hours_from: str, hours_until: str):
    orders = [tiny.order("far", tiny.ENYANG, 20), tiny.order("mid", tiny.XIPING, 20)]
    sc = tiny.scenario(orders, fleet=[tiny.coach(available_from=hours_from, available_until=hours_until)],
                       policy=RELAXED)
    return sc, compile_scenario(sc)


def test_a_shared_trip_longer_than_any_coachs_hours_is_not_drafted(tiny):
    """恩阳区 (957 km) and 西平县 (166 km), 20 workers each: one 53-seater takes both when a coach
    has the hours for the shared route; with hours for 恩阳区's own trip but not for the shared
    one, the split drafts two trips, and the plan runs them with no coach back late."""
    sc, data = _pair(tiny, tiny.at(11, "06:00"), tiny.at(25))
    far = [p for p in range(len(data.places)) if any(o.place == p and o.id == "far" for o in data.orders)][0]
    mid = [p for p in range(len(data.places)) if any(o.place == p and o.id == "mid" for o in data.orders)][0]
    alone, both = _minutes(data, [far]), _minutes(data, [far, mid])
    assert alone < both
    depot = data.vehicles[0].depot
    keys = {(far, 0, 0): 20, (mid, 0, 0): 20}
    wide = split_tour(data, [far, mid], keys, [0], "km")
    assert len(wide.drafts) == 1 and span_fits(data, depot, wide.drafts[0].pickups, (0,))

    # hours between the two: enough for 恩阳区 alone, not for the shared route
    minutes = (alone + both) // 2
    until = tiny.dt(11, "06:00") + timedelta(minutes=minutes)
    sc, data = _pair(tiny, tiny.at(11, "06:00"), until.isoformat())
    assert span_fits(data, depot, (far,), (0,)) and not span_fits(data, depot, wide.drafts[0].pickups, (0,))
    narrow = split_tour(data, [far, mid], keys, [0], "km")
    assert sorted(d.pickups for d in narrow.drafts) == sorted([(far,), (mid,)])
    plan = solve(sc, time_limit=3, seed=1)
    assert plan.summary.workers_planned == 40
    assert not check(sc, plan)
    assert all(len([s for s in t.stops if s.kind == "pickup"]) == 1 for t in plan.trips)


def test_released_gives_one_full_coach_back_to_each_key_with_a_remainder():
    a, b, c = (1, 0, 0), (2, 0, 0), (3, 0, 0)
    full = [DraftTrip(0, (1,), (0,), ((a, 53),), 10.0)] * 2 + [DraftTrip(0, (2,), (0,), ((b, 53),), 20.0)] \
        + [DraftTrip(0, (3,), (0,), ((c, 53),), 30.0)]
    drafts, left = released(full, {a: 7, c: 0, (4, 0, 0): 5})
    assert left == {a: 60, c: 0, (4, 0, 0): 5}  # c had no remainder: its coach stays whole
    assert sorted(d.loads[0][0] for d in drafts) == [a, b, c]
    assert released(full, {b: 0}) is None


def test_restarts_find_a_lighter_plan_than_the_plain_split():
    """The exact benchmark's 1.5k-20 park: the restarts, handed the plain split of the remainders
    as the plan found so far, return a lighter plan carrying every worker of every county, on
    trips a coach has the hours for."""
    inst = INSTANCES["1.5k-20"]
    sc = Scenario.model_validate(instance(inst.workers, inst.counties, seed=inst.seed))
    data = compile_scenario(sc)
    demand: dict = {}
    for o in data.orders:
        demand[(o.place, 0, o.site)] = demand.get((o.place, 0, o.site), 0) + o.cleared
    drafts, left = full_coaches(data, demand, 0)
    depot = data.vehicles[0].depot
    order = sorted({k[0] for k in left}, key=lambda p: data.km[depot, p])
    base = split_tour(data, order, left, [0], "km")
    km = sum(d.km for d in drafts + base.drafts)

    got, unplaced = _restarts(data, (drafts, left), (drafts + base.drafts, {}), [0], SolveParams(), 1,
                              Deadline.start(4.0), {}, {})
    carried: dict = {}
    for d in got:
        for k, n in d.loads:
            carried[k] = carried.get(k, 0) + n
    assert carried == demand and not unplaced
    assert sum(d.km for d in got) < km
    assert all(span_fits(data, depot, d.pickups, d.sites) for d in got)


def test_a_countys_workers_for_sites_far_apart_ride_a_coach_per_site_not_per_order(tiny):
    """恩阳区's 54 workers bound for three sites a day's drive apart (郑州, 昆山, 重庆), in nine
    orders of six (three agencies each): no coach can drop at all three within the ride limit, so
    a whole coach is never filled across them, and a trip the scheduler cannot run is split by
    site, not order by order: two coaches carry everyone, one of them to two of the sites (before:
    nine coaches, one an order, after a full coach to all three sites failed its ride limit)."""
    sites = [tiny.site("F1"), tiny.site("F2", lat=31.38, lon=120.98), tiny.site("F3", lat=29.56, lon=106.55)]
    orders = [tiny.order(f"{s}-{a}", tiny.ENYANG, 6, site=s, agency=a, arrive_by=tiny.at(17))
              for s in ("F1", "F2", "F3") for a in ("甲", "乙", "丙")]
    sc = tiny.scenario(orders, sites=sites, fleet=[tiny.coach(count=12)])
    data = compile_scenario(sc)
    drafts, left = full_coaches(data, {(data.orders[0].place, 0, s): 18 for s in range(3)}, 0)
    assert drafts == [] and sum(left.values()) == 54
    plan = tiny.solve_checked(sc, time_limit=5)
    assert sum(tiny.boarded(plan).values()) == 54 and not plan.unassigned
    assert len(plan.trips) == 2 and all(len(tiny.drops(t)) < 3 for t in plan.trips)
    # the scheduler's fallback: a county's trip to the three sites, split by site
    trip = AllocatedTrip(0, (data.orders[0].place,), (0, 1, 2), 0,
                         {data.orders[0].place: [(o.index, 6) for o in data.orders]}, 0, 10 * 1440)
    parts = by_county(data, trip, [0])
    assert sorted(p.sites for p in parts) == [(0,), (1,), (2,)] and all(p.riders == 18 for p in parts)
