"""Tests of the train step (planner._trains, planner._chains) through planner.solve, and of the
checker's trains family: small scenarios a person can check by hand.

The geography: workers of 宣威市 (530381, Yunnan) go to the park near Zhengzhou, ~1,900 road km
away (beyond a coach's 36 h ride with the default rules when the deadline is near). A special
train K1 runs 曲靖站 (QJZ, ~100 road km from 宣威) → 郑州站 (ZZZ, ~30 km from the park); a local
coach yard QJ at 曲靖 has two 53-seaters for the feeders, the park's yard D1 four, all from
11 Feb: a park coach needs a day to reach Yunnan, so it cannot bring these workers by 12 Feb.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from planner.check import check
from planner.contract import SHANGHAI, Plan, Scenario
from planner.optimize import solve

TL = 3


def train_scenario(tiny, *, n: int = 80, cars: int = 2, min_riders: int = 1, depart: str = "11 20:00",
                   arrive: str = "12 20:00", arrive_by: tuple[int, str] = (14, "00:00"), trains: int = 1,
                   orders: tuple = (), local: int = 2, **kw) -> dict:
    """The scenario above as a dict; ``depart``/``arrive`` are "day hh:mm" in February 2027."""
    def when(text: str) -> str:
        day, hhmm = text.split()
        return tiny.at(int(day), hhmm)

    d = tiny.scenario_dict([tiny.order("Y1", "530381", n, earliest=tiny.at(11, "06:00"),
                                       arrive_by=tiny.at(*arrive_by))] + list(orders),
                           fleet=[tiny.coach(count=4, available_from=tiny.at(11)),
                                  tiny.coach("q53", count=local, depot="QJ", available_from=tiny.at(11))], **kw)
    d["depots"].append({"id": "QJ", "name": "曲靖客运", "location": {"lat": 25.50, "lon": 103.81}})
    d["stations"] = [{"id": "QJZ", "name": "曲靖站", "location": {"lat": 25.49, "lon": 103.80}},
                     {"id": "ZZZ", "name": "郑州站", "location": {"lat": 34.75, "lon": 113.63}}]
    d["trains"] = []
    for k in range(trains):
        dep = datetime.fromisoformat(when(depart)) + timedelta(hours=6 * k)
        arr = datetime.fromisoformat(when(arrive)) + timedelta(hours=6 * k)
        d["trains"].append({"id": f"K{k + 1}", "name": f"K42{k}1", "kind": "special", "cars": cars,
                            "seats_per_car": 118, "fixed_cost": 20000, "cost_per_seat": 150,
                            "min_riders": min_riders,
                            "calls": [{"station": "QJZ", "depart": dep.isoformat()},
                                      {"station": "ZZZ", "arrive": arr.isoformat()}]})
    return d


def solved(d: dict, time_limit: float = TL) -> tuple[Scenario, Plan]:
    sc = Scenario.model_validate(d)
    plan = solve(sc, time_limit=time_limit)
    found = check(sc, plan)
    assert found == [], "\n".join(map(str, found))
    return sc, plan


def by_purpose(plan: Plan, purpose: str) -> list:
    return [t for t in plan.trips if t.purpose == purpose]


def test_one_train_with_its_feeders_and_last_miles(tiny):
    """80 far workers ride K1: local feeders bring them to 曲靖站 an hour before it leaves, park
    coaches take them from 郑州站 an hour after it arrives; every seat and chain adds up."""
    _, plan = solved(train_scenario(tiny))
    s = plan.summary
    assert s.workers_by_mode == {"coach": 0, "train": 80} and s.workers_planned == 80
    assert s.trains_run == 1 and s.train_cost == pytest.approx(20000 + 150 * 80)
    assert sum(r.count for r in plan.train_loads) == 80 and {r.train for r in plan.train_loads} == {"K1"}
    feeders, lasts = by_purpose(plan, "feeder"), by_purpose(plan, "last_mile")
    assert feeders and lasts and not by_purpose(plan, "direct")
    assert all(t.vehicle_type == "q53" for t in feeders) and all(t.vehicle_type == "c53" for t in lasts)
    for t in feeders:
        drop = t.stops[-2]
        assert drop.place.station == "QJZ" and drop.arrive <= tiny.dt(11, "19:00")
    for t in lasts:
        assert t.stops[1].place.station == "ZZZ" and t.stops[1].depart >= tiny.dt(12, "21:00")
    assert s.cost_lower_bound <= s.cost + s.train_cost


def test_a_feeder_that_cannot_reach_the_train_takes_the_next(tiny):
    """K1 leaves 曲靖 at 07:00, before any feeder can bring the workers (ready from 06:00); K2 six
    hours later can be reached: everyone rides K2."""
    _, plan = solved(train_scenario(tiny, depart="11 07:00", arrive="12 07:00", trains=2))
    assert {r.train for r in plan.train_loads} == {"K2"}
    assert plan.summary.workers_by_mode["train"] == 80


def test_no_train_within_reach_is_connection_missed(tiny):
    """The only train leaves before the workers can reach it and no coach can bring them by the
    deadline: they are unassigned ``connection_missed``, not ``ride_time_exceeded``."""
    _, plan = solved(train_scenario(tiny, depart="11 07:00", arrive="12 07:00", arrive_by=(12, "20:00")))
    assert plan.summary.workers_planned == 0
    assert tiny.reasons(plan, "Y1") == {"connection_missed": 80}


def test_a_full_train_leaves_the_rest_without_a_seat(tiny):
    """One car (118 seats) and 150 workers the coaches cannot bring in time: 118 ride, 32 are
    ``no_train_seat``; with a second train everyone rides."""
    _, plan = solved(train_scenario(tiny, n=150, cars=1, arrive_by=(12, "23:00"), local=3))
    assert plan.summary.workers_by_mode["train"] == 118
    assert tiny.reasons(plan, "Y1") == {"no_train_seat": 32}
    _, plan = solved(train_scenario(tiny, n=150, cars=1, trains=2, arrive_by=(13, "08:00"), local=3))
    assert plan.summary.workers_by_mode["train"] == 150


def test_a_medium_cohort_rides_in_a_car_of_its_own(tiny):
    """60 workers of a medium-risk county and 60 of a low one on one train: two cars, one cohort
    each; with one car only one cohort can ride."""
    medium = tiny.order("M1", "530302", 60, earliest=tiny.at(11, "06:00"), arrive_by=tiny.at(12, "23:00"))
    regions = [tiny.region("530302", "medium")]
    _, plan = solved(train_scenario(tiny, n=60, arrive_by=(12, "23:00"), orders=(medium,), regions=regions))
    cars = {(r.car, r.cohort) for r in plan.train_loads}
    assert len({c for c, _ in cars}) == 2 and {co for _, co in cars} == {"low", "medium"}
    assert len(cars) == 2  # no car carries both
    _, plan = solved(train_scenario(tiny, n=60, cars=1, arrive_by=(12, "23:00"), orders=(medium,), regions=regions))
    assert len({r.cohort for r in plan.train_loads}) == 1
    assert plan.summary.workers_by_mode["train"] == 60


def test_a_train_below_its_fewest_riders_does_not_run(tiny):
    """K1 runs only with 100 riders: 80 workers do not make it run; they are unassigned and pay no
    fixed cost."""
    _, plan = solved(train_scenario(tiny, min_riders=100, arrive_by=(12, "23:00")))
    assert plan.summary.trains_run == 0 and plan.summary.train_cost == 0 and plan.train_loads == []
    assert tiny.reasons(plan, "Y1") == {"no_train_seat": 80}


def test_a_train_arriving_at_night_waits_for_the_receiving_hours(tiny):
    """K1 arrives 02:00; the site receives 07:00–22:00: the last miles drop from 07:00."""
    sites = [tiny.site(receive_from="07:00", receive_until="22:00")]
    _, plan = solved(train_scenario(tiny, arrive="12 02:00", sites=sites, arrive_by=(13, "00:00")))
    assert plan.summary.workers_by_mode["train"] == 80
    for t in by_purpose(plan, "last_mile"):
        for s in tiny.drops(t):
            assert s.arrive.astimezone(SHANGHAI).hour >= 7


def test_feeders_may_drive_in_the_night_rest_only_when_short(tiny):
    """K1 leaves 曲靖 at 05:30 on the 12th and the workers of 麒麟区 (≤ 100 km one way) may leave
    from 02:30 (the coordinator lets them board at any hour): their feeder drives in the
    02:00–05:00 rest, as the exemption allows; with the exemption cut to 0 km no feeder may, and
    the plan is still legal."""
    near = (tiny.order("Q1", "530302", 40, earliest=tiny.at(12, "02:30"), arrive_by=tiny.at(14)),)
    _, plan = solved(train_scenario(tiny, n=0, depart="12 05:30", arrive="13 05:30", arrive_by=(14, "00:00"),
                                    orders=near, policy={"boarding_hours": None}), time_limit=TL)
    assert plan.summary.workers_by_mode["train"] == 40
    feeders = by_purpose(plan, "feeder")
    assert any(tiny.overlaps_night_rest(a, b) for t in feeders for a, b in tiny.drive_intervals(t))
    strict = train_scenario(tiny, n=0, depart="12 05:30", arrive="13 05:30", arrive_by=(14, "00:00"),
                            orders=near, policy={"feeder_night_exempt_km": 0, "boarding_hours": None})
    sc, plan = solved(strict)
    for t in by_purpose(plan, "feeder"):
        for a, b in tiny.drive_intervals(t):
            assert not tiny.overlaps_night_rest(a, b)


# ------------------------------------------------------------------ the checker's trains family


@pytest.fixture
def train_plan(tiny):
    d = train_scenario(tiny)
    sc, plan = solved(d)
    return d, plan.model_dump(mode="json", by_alias=True)


def _codes(d: dict, pl: dict) -> set[str]:
    return {v.rule for v in check(Scenario.model_validate(d), Plan.model_validate(pl))}


def test_checker_catches_a_broken_chain(train_plan):
    """A last mile picking up one worker fewer than the train brings breaks the chain."""
    d, pl = train_plan
    pl = copy.deepcopy(pl)
    trip = next(t for t in pl["trips"] if t["purpose"] == "last_mile")
    trip["stops"][1]["board"][0]["count"] -= 1
    trip["stops"][2]["alight"][0]["count"] -= 1
    assert "train_chain" in _codes(d, pl)


def test_checker_catches_an_overfull_car(train_plan):
    """80 workers in a car of 60 seats: train_seats."""
    d, pl = train_plan
    d = copy.deepcopy(d)
    d["trains"][0]["seats_per_car"] = 60
    assert "train_seats" in _codes(d, pl)


def test_checker_catches_a_missed_connection(train_plan):
    """A train leaving half an hour after its feeders arrive (station_minutes is 60)."""
    d, pl = train_plan
    d = copy.deepcopy(d)
    last_drop = max(datetime.fromisoformat(t["stops"][-2]["arrive"]) for t in pl["trips"] if t["purpose"] == "feeder")
    d["trains"][0]["calls"][0]["depart"] = (last_drop + timedelta(minutes=30)).isoformat()
    assert "connection" in _codes(d, pl)


def test_checker_catches_a_train_below_its_fewest_riders_and_a_mixed_car(train_plan, tiny):
    """A train run with fewer riders than it needs, and a car seating two cohorts."""
    d, pl = train_plan
    d2 = copy.deepcopy(d)
    d2["trains"][0]["min_riders"] = 100
    assert "train_min_riders" in _codes(d2, pl)
    pl2 = copy.deepcopy(pl)
    row = dict(pl2["train_loads"][0], count=1, cohort="medium")
    pl2["train_loads"][0]["count"] -= 1
    pl2["train_loads"].append(row)
    assert "train_car_cohort" in _codes(d, pl2)


def test_checker_counts_a_train_rider_once(train_plan):
    """Workers board twice (feeder at home, last mile at the station) but are planned once."""
    d, pl = train_plan
    assert Plan.model_validate(pl).summary.workers_planned == 80
    assert _codes(d, pl) == set()


def _kaili(tiny, n: int, seat: float, train: bool = True) -> Scenario:
    """``n`` workers of 凯里市 (522601, ~1,450 road km), reserved seats at ``seat`` ¥ on K4231
    from 凯里站 to 郑州站, local coaches at 凯里 for the feeders."""
    d = tiny.scenario_dict([tiny.order("KL", "522601", n, earliest=tiny.at(11, "06:00"), arrive_by=tiny.at(18))],
                           fleet=[tiny.coach(count=4, available_from=tiny.at(11)),
                                  tiny.coach("k53", count=2, depot="KY", available_from=tiny.at(11))])
    d["depots"].append({"id": "KY", "name": "凯里客运", "location": {"lat": 26.58, "lon": 107.98}})
    if train:
        d["stations"] = [{"id": "KLZ", "name": "凯里站", "location": {"lat": 26.57, "lon": 107.97}},
                         {"id": "ZZZ", "name": "郑州站", "location": {"lat": 34.75, "lon": 113.63}}]
        d["trains"] = [{"id": "K1", "name": "K4231", "kind": "cars", "cars": 1, "seats_per_car": 118,
                        "fixed_cost": 0, "cost_per_seat": seat,
                        "calls": [{"station": "KLZ", "depart": tiny.at(12, "20:00")},
                                  {"station": "ZZZ", "arrive": tiny.at(13, "14:00")}]}]
    return Scenario.model_validate(d)


def test_a_far_countys_remainder_takes_the_train_rather_than_a_coach_of_its_own(tiny):
    """37 workers of 凯里: a full coach's share (~¥390 a worker) is below a train seat at ¥400,
    but 37 fill no coach: by coach they pay a whole ~1,450 km coach (~¥20,700). They ride the
    train, for less; of 143, two full coaches go by road and the remaining 37 by train."""
    for n, by_train in ((37, 37), (143, 37)):
        sc = _kaili(tiny, n, 400)
        plan = solve(sc, time_limit=TL)
        assert check(sc, plan) == []
        assert plan.summary.workers_by_mode == {"coach": n - by_train, "train": by_train}
        road = _kaili(tiny, n, 400, train=False)
        alone = solve(road, time_limit=TL)
        assert alone.summary.workers_planned == n
        assert plan.summary.cost + plan.summary.train_cost < alone.summary.cost
