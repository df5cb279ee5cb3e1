"""Coach yards far apart (planner._coaches.yard_groups): each site's pooled coaches come from the
yard that serves it, not every coach priced from, and sent from, the fleet's first yard."""

from __future__ import annotations

from planner._coaches import yard_groups
from planner.contract import Scenario
from planner.eligibility import eligibility
from planner.problem import compile_scenario

RUGAO, DONGTAI, XINGHUA = "320682", "320981", "321281"
KUNSHAN = {"lat": 31.38, "lon": 120.98}
YARDS = [{"id": "D1", "name": "郑州车队", "location": {"lat": 34.56, "lon": 113.81}},
         {"id": "D2", "name": "昆山车队", "location": {"lat": 31.39, "lon": 120.95}}]


def _park(tiny, kunshan_seats: int = 35, d2=None):
    """Remainders of three Henan counties for 郑州 (F1) and three Jiangsu ones for 昆山 (F2); six
    coaches at both yards, 郑州's listed first."""
    orders = [tiny.order(f"zz-{c}", c, n) for c, n in ((tiny.XIPING, 14), (tiny.HUAXIAN, 12), (tiny.WEISHI, 9))]
    orders += [tiny.order(f"ks-{c}", c, n, site="F2") for c, n in ((RUGAO, 13), (DONGTAI, 11), (XINGHUA, 10))]
    d = tiny.scenario_dict(orders, sites=[tiny.site("F1"), tiny.site("F2", **KUNSHAN)],
                           fleet=[tiny.coach("c35-D1", seats=35, count=6),
                                  tiny.coach("c-D2", seats=kunshan_seats, count=6 if kunshan_seats >= 35 else 1,
                                             depot="D2")])
    d["depots"] = [YARDS[0], d2 or YARDS[1]]
    return Scenario.model_validate(d)


def test_each_sites_pooled_coaches_come_from_the_yard_that_serves_it(tiny):
    """Before, every pooled trip was priced from 郑州's yard and ran from it: a coach from 郑州 to
    如皋, 昆山 and back (about 1,500 km for a trip of 150 km from 昆山's own yard)."""
    sc = _park(tiny)
    plan = tiny.solve_checked(sc, time_limit=4)
    assert sum(tiny.boarded(plan).values()) == 69 and not plan.unassigned
    for t in plan.trips:
        to = {s.place.id for s in tiny.drops(t)}
        assert t.depot == ("D2" if to == {"F2"} else "D1"), (t.id, t.depot, to)
    kunshan = [t for t in plan.trips if t.depot == "D2"]
    assert kunshan and sum(t.km for t in kunshan) < 700


def test_yards_near_each_other_or_too_small_pool_together(tiny):
    """Two yards within reach of one site serve it together, as one yard; a yard with fewer seats
    than its site's workers does not get them alone: they are pooled with every coach."""
    def groups(sc):
        data = compile_scenario(sc)
        eligible, _ = eligibility(data)
        vtypes = [v for v, vt in enumerate(data.vehicles) if vt.count > 0]
        return [(types, sorted(data.orders[e.order].id[:2] for e in g)) for types, g in yard_groups(data, eligible, vtypes)]

    near = {"id": "D2", "name": "郑州二队", "location": {"lat": 34.70, "lon": 113.70}}
    assert groups(_park(tiny, d2=near)) == [([0, 1], ["ks"] * 3 + ["zz"] * 3)]
    assert groups(_park(tiny, kunshan_seats=19)) == [([0], ["zz"] * 3), ([0, 1], ["ks"] * 3)]
    assert groups(_park(tiny)) == [([0], ["zz"] * 3), ([1], ["ks"] * 3)]
