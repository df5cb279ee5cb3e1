"""Tests of planner.optimize.solve: one tiny, hand-checkable scenario per rule of docs/RULES.md.

Every plan goes through the independent checker (``tiny.solve_checked`` asserts
``check(scenario, plan) == []`` and that every worker is accounted for exactly once); each test
then asserts the behaviour its rule asks for. Distances (road km from the park): 新郑 ~23,
中牟 ~32, 尉氏 ~46, 西平 ~166, 滑县 ~171, 恩阳区 (Sichuan) ~957.

Tests marked ``xfail(strict=True)`` document planner bugs found while writing them.
"""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest

from planner.check import check
from planner.contract import SHANGHAI, Plan
from planner.optimize import solve

TL = 2  # seconds per solve: every scenario here is tiny


# ------------------------------------------------------------------ workers and screening


def test_only_cleared_workers_travel(tiny):
    """Pending and failed workers stay home, unassigned with their screening reason."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 40, 30, failed=4)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 30
    assert tiny.reasons(plan, "O1") == {"screening_pending": 6, "screening_failed": 4}
    assert plan.summary.workers_requested == 40
    assert plan.summary.workers_eligible == 30
    assert plan.summary.workers_planned == 30


def test_screening_expired_before_earliest_departure(tiny):
    """A screening that expires before the order may leave makes its workers screening_expired."""
    sc = tiny.scenario([
        tiny.order("O1", tiny.HUAXIAN, 10, earliest=tiny.at(11, "08:00"),
                   screening_valid_until=tiny.at(11, "06:00")),
    ])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.trips == []
    assert tiny.reasons(plan, "O1") == {"screening_expired": 10}


def test_screening_valid_boards_before_expiry(tiny):
    """Workers whose screening expires at 09:00 board (pickup departs) by 09:00."""
    sc = tiny.scenario([
        tiny.order("O1", tiny.XIPING, 20, earliest=tiny.at(11, "08:00"),
                   screening_valid_until=tiny.at(11, "09:00")),
    ])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 20
    for _arrive, depart in tiny.pickup_times(plan, "O1"):
        assert tiny.dt(11, "08:00") <= depart <= tiny.dt(11, "09:00")


def test_night_rest_witness_plan_is_valid(tiny):
    """Witness for the xfail below: a coach that leaves the evening before serves 滑县 at 06:00."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20, earliest=tiny.at(11, "06:00"),
                                   arrive_by=tiny.at(11, "09:30"),
                                   screening_valid_until=tiny.at(11, "07:00"))])
    plan = _evening_before_plan(tiny, sc)
    assert check(sc, plan) == []


def test_screening_validity_with_night_rest_before_boarding(tiny):
    """Screening valid until 07:00, earliest 06:00 at 滑县: boards 06:00–07:00 (leave the day before)."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20, earliest=tiny.at(11, "06:00"),
                                   screening_valid_until=tiny.at(11, "07:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 20
    for _arrive, depart in tiny.pickup_times(plan, "O1"):
        assert depart <= tiny.dt(11, "07:00")


def _evening_before_plan(tiny, sc) -> Plan:
    """A hand-made plan: leave the depot 19:00 the day before, wait at 滑县, board 05:30–06:00."""
    base = solve(tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20, earliest=tiny.at(11, "06:00"),
                                           arrive_by=tiny.at(12))]), time_limit=TL)
    trip = base.trips[0].model_copy(deep=True)
    dep, pick, drop, ret = trip.stops

    def driving(stop):  # the leg's pure driving time (the planner's own leg may include waiting)
        return sum((b - a for a, b in stop.drive), timedelta(0))

    out_min, in_min, back = driving(pick), driving(drop), driving(ret)
    assert out_min < timedelta(hours=4) and in_min < timedelta(hours=4)  # no break needed
    dep.depart = tiny.dt(10, "19:00")
    pick.arrive = dep.depart + out_min
    pick.drive = [(dep.depart, pick.arrive)]
    pick.depart = tiny.dt(11, "06:00")
    drop.arrive = pick.depart + in_min
    drop.drive = [(pick.depart, drop.arrive)]
    drop.depart = drop.arrive + timedelta(minutes=20)
    ret.arrive = drop.depart + back
    ret.drive = [(drop.depart, ret.arrive)]
    return base.model_copy(update={"trips": [trip]})


# ------------------------------------------------------------------ region risk


def test_high_risk_during_whole_window_is_region_closed(tiny):
    """A county at high risk for the order's whole window gets no pickup: region_closed."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30, arrive_by=tiny.at(13))],
                       regions=[tiny.region(tiny.HUAXIAN, "high", tiny.at(10), tiny.at(20))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.trips == []
    assert tiny.reasons(plan, "O1") == {"region_closed": 30}


def test_high_risk_released_on_day_two_boards_after_release(tiny):
    """Phased release: high until 12 Feb 08:00, then workers are picked up after the release."""
    release = tiny.dt(12, "08:00")
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30, arrive_by=tiny.at(14))],
                       regions=[tiny.region(tiny.HUAXIAN, "high", tiny.at(10), tiny.at(12, "08:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 30
    for arrive, _depart in tiny.pickup_times(plan, "O1"):
        assert arrive >= release  # the whole stop, boarding included, after the release


def test_medium_and_low_never_share_a_trip(tiny):
    """Medium- and low-risk workers ride separate coaches, though pooling them would be cheaper."""
    orders = [tiny.order("O1", tiny.ZHONGMOU, 10), tiny.order("O2", tiny.XINZHENG, 12)]
    pooled = tiny.solve_checked(tiny.scenario(orders), time_limit=TL)
    assert len(pooled.trips) == 1 and len(tiny.pickups(pooled.trips[0])) == 2  # control: pooled

    sc = tiny.scenario(orders, regions=[tiny.region(tiny.ZHONGMOU, "medium")])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert len(plan.trips) == 2
    cohort_of = {"O1": "medium", "O2": "low"}
    for trip in plan.trips:
        on_board = {ld.order for s in trip.stops for ld in s.board}
        assert {cohort_of[o] for o in on_board} == {trip.cohort}
    assert plan.summary.cost > pooled.summary.cost  # separation costs money, and is still done


def test_cohort_is_the_risk_at_pickup(tiny):
    """A county medium until 05:00 and low after: pickups after 05:00 are the low cohort, pooled."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 10), tiny.order("O2", tiny.XINZHENG, 12)],
                       regions=[tiny.region(tiny.ZHONGMOU, "medium", None, tiny.at(11, "05:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert [t.cohort for t in plan.trips] == ["low"]


# ------------------------------------------------------------------ coaches and trips


def test_occupancy_cap_limits_riders(tiny):
    """With a 50 % cap a 53-seater carries at most 26: 60 workers need three coaches."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 60)], policy={"occupancy_cap": 0.5})
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 60
    assert all(tiny.max_aboard(t) <= tiny.floor_cap(53, 0.5) == 26 for t in plan.trips)
    assert len(plan.trips) == 3


def test_max_pickup_stops_one_means_no_pooling(tiny):
    """max_pickup_stops=1: each trip picks up at one county; with 3, nearby counties pool."""
    orders = [tiny.order("O1", tiny.ZHONGMOU, 8), tiny.order("O2", tiny.XINZHENG, 8),
              tiny.order("O3", tiny.WEISHI, 8)]
    one = tiny.solve_checked(tiny.scenario(orders, policy={"max_pickup_stops": 1}), time_limit=TL)
    assert all(len(tiny.pickups(t)) == 1 for t in one.trips)
    assert len(one.trips) == 3

    three = tiny.solve_checked(tiny.scenario(orders, policy={"max_pickup_stops": 3}), time_limit=TL)
    assert max(len(tiny.pickups(t)) for t in three.trips) >= 2
    assert all(len(tiny.pickups(t)) <= 3 for t in three.trips)
    assert three.summary.km < one.summary.km


def test_min_riders_pools_small_counties(tiny):
    """min_riders_per_trip=30, 16 + 16 workers of two nearby counties: one 53-seater carrying 32.

    The 19-seaters (cheaper per km) cannot carry 30 and stay unused.
    """
    orders = [tiny.order("O1", tiny.ZHONGMOU, 16), tiny.order("O2", tiny.XINZHENG, 16)]
    fleet = [tiny.coach("c53", 53, 4), tiny.coach("c19", 19, 4, fixed_cost=500, cost_per_km=3)]
    sc = tiny.scenario(orders, fleet=fleet, policy={"min_riders_per_trip": 30})
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert [(tiny.riders(t), t.vehicle_type) for t in plan.trips] == [(32, "c53")]


def test_min_riders_respected_when_splitting_a_county(tiny):
    """58 workers, min 10 riders a trip: no trip carries fewer than 10 (e.g. 48 + 10)."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 58)], policy={"min_riders_per_trip": 10})
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 58
    assert all(tiny.riders(t) >= 10 for t in plan.trips)


def test_min_riders_unreachable_leaves_workers_unassigned(tiny):
    """5 workers alone, min 10 riders a trip: no trip runs, all 5 are unassigned."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 5)], policy={"min_riders_per_trip": 10})
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.trips == []
    assert sum(tiny.reasons(plan, "O1").values()) == 5


def test_small_remainder_goes_on_a_small_coach(tiny):
    """65 workers: a full 53-seater, and the remaining 12 on the cheaper 19-seater."""
    fleet = [tiny.coach("c53", 53, 4), tiny.coach("c19", 19, 4, fixed_cost=500, cost_per_km=3)]
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 65)], fleet=fleet)
    plan = tiny.solve_checked(sc, time_limit=TL)
    loads = sorted((tiny.riders(t), t.vehicle_type) for t in plan.trips)
    assert loads == [(12, "c19"), (53, "c53")]


def test_one_coach_does_two_trips_one_after_the_other(tiny):
    """One coach, 100 workers: the same bus runs both trips, never at once."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 100, arrive_by=tiny.at(14))],
                       fleet=[tiny.coach(count=1)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 100
    assert len(plan.trips) == 2
    assert {(t.vehicle_type, t.bus) for t in plan.trips} == {("c53", 0)}
    a, b = sorted(plan.trips, key=lambda t: t.stops[0].depart)
    assert b.stops[0].depart >= a.stops[-1].arrive


def test_availability_window_respected(tiny):
    """Coaches available 12 Feb 06:00 – 13 Feb 00:00 leave and return within it."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30, arrive_by=tiny.at(14))],
                       fleet=[tiny.coach(available_from=tiny.at(12, "06:00"), available_until=tiny.at(13))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 30
    for t in plan.trips:
        assert t.stops[0].depart >= tiny.dt(12, "06:00")
        assert t.stops[-1].arrive <= tiny.dt(13)


def test_no_coach_available_is_no_vehicle(tiny):
    """Coaches free only 12 Feb 06:00–08:00 cannot do a 5 h round trip: no_vehicle."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30, arrive_by=tiny.at(14))],
                       fleet=[tiny.coach(available_from=tiny.at(12, "06:00"),
                                         available_until=tiny.at(12, "08:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.trips == []
    assert tiny.reasons(plan, "O1") == {"no_vehicle": 30}


# ------------------------------------------------------------------ driving rules


def test_far_county_gets_two_drivers_and_pays_crew(tiny):
    """恩阳区 (Sichuan, >400 km): crew 2, and the cost includes one crew_cost."""
    sc = tiny.scenario([tiny.order("O1", tiny.ENYANG, 40, arrive_by=tiny.at(14))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    (trip,) = plan.trips
    assert trip.crew == 2
    assert trip.km > 2 * 400
    assert trip.cost == pytest.approx(1000 + 7 * trip.km + 600, abs=0.05)


def test_near_county_has_one_driver(tiny):
    """滑县 (~171 km): one driver, no crew cost."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 40)])
    (trip,) = tiny.solve_checked(sc, time_limit=TL).trips
    assert trip.crew == 1
    assert trip.cost == pytest.approx(1000 + 7 * trip.km, abs=0.05)


def test_legs_list_driving_and_never_drive_in_night_rest(tiny):
    """A far trip lists its driving per leg, none of it between 02:00 and 05:00."""
    sc = tiny.scenario([tiny.order("O1", tiny.ENYANG, 40, arrive_by=tiny.at(14))])
    (trip,) = tiny.solve_checked(sc, time_limit=TL).trips
    for prev, stop in zip(trip.stops, trip.stops[1:]):
        assert stop.drive, f"leg to {stop.kind} lists no driving"
        for a, b in stop.drive:
            assert prev.depart <= a < b <= stop.arrive
            assert not tiny.overlaps_night_rest(a, b)
    total_h = sum((b - a).total_seconds() for a, b in tiny.drive_intervals(trip)) / 3600
    assert total_h >= trip.km / 75 - 0.05  # at most 75 km/h on average
    span_h = (trip.stops[-1].arrive - trip.stops[0].depart).total_seconds() / 3600
    assert span_h > total_h + 3  # breaks and the night rest take time


def test_boarding_takes_boarding_minutes(tiny):
    """Every pickup stop lasts at least boarding_minutes (45 here)."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 10), tiny.order("O2", tiny.XINZHENG, 10)],
                       policy={"boarding_minutes": 45})
    plan = tiny.solve_checked(sc, time_limit=TL)
    stops = [s for t in plan.trips for s in tiny.pickups(t)]
    assert stops
    assert all(s.depart - s.arrive >= timedelta(minutes=45) for s in stops)


# ------------------------------------------------------------------ time windows


def test_earliest_departure_respected(tiny):
    """Workers free from 14:00 board at 14:00 or later."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20, earliest=tiny.at(11, "14:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 20
    assert all(d >= tiny.dt(11, "14:00") for _a, d in tiny.pickup_times(plan, "O1"))


def test_arrival_deadline_too_tight_is_deadline_unreachable(tiny):
    """恩阳区 to the park in 5 h is impossible: deadline_unreachable."""
    sc = tiny.scenario([tiny.order("O1", tiny.ENYANG, 20, earliest=tiny.at(11, "08:00"),
                                   arrive_by=tiny.at(11, "13:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.trips == []
    assert tiny.reasons(plan, "O1") == {"deadline_unreachable": 20}


def test_arrival_deadline_met(tiny):
    """A reachable deadline is met: every drop arrives by arrive_by."""
    sc = tiny.scenario([tiny.order("O1", tiny.XIPING, 30, arrive_by=tiny.at(11, "12:00"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 30
    assert all(s.arrive <= tiny.dt(11, "12:00") for t in plan.trips for s in tiny.drops(t))


def test_deadline_reachable_only_by_leaving_the_evening_before(tiny):
    """滑县 earliest 06:00, arrive_by 09:30: planned (the coach waits at 滑县 overnight)."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20, earliest=tiny.at(11, "06:00"),
                                   arrive_by=tiny.at(11, "09:30"))])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 20


def test_receiving_hours_respected(tiny):
    """A site receiving only 09:00–11:00: every drop arrives and leaves within those hours."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20), tiny.order("O2", tiny.XIPING, 30),
                        tiny.order("O3", tiny.ZHONGMOU, 60)],
                       sites=[tiny.site(receive_from="09:00", receive_until="11:00")])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert plan.summary.workers_planned == 110
    for t in plan.trips:
        for s in tiny.drops(t):
            for when in (s.arrive, s.depart):
                assert time(9) <= when.astimezone(SHANGHAI).time() <= time(11), (t.id, when)


def test_intake_per_day_spreads_drops_over_days(tiny):
    """Intake 40/day, 100 workers, 40-seat coaches: ≤ 40 a day, over at least 3 days."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 100, arrive_by=tiny.at(16))],
                       sites=[tiny.site(intake_per_day=40)], fleet=[tiny.coach(seats=40)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    per_day = tiny.drop_intake(plan)
    assert sum(per_day.values()) == 100
    assert max(per_day.values()) <= 40
    assert len(per_day) >= 3


def test_intake_per_day_short_window_is_site_intake_full(tiny):
    """Intake 40/day and two days to arrive: 80 planned, 20 site_intake_full."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 100, earliest=tiny.at(11, "06:00"),
                                   arrive_by=tiny.at(12, "23:00"))],
                       sites=[tiny.site(intake_per_day=40)], fleet=[tiny.coach(seats=40)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert max(tiny.drop_intake(plan).values()) <= 40
    assert tiny.boarded(plan)["O1"] == 80
    assert tiny.reasons(plan, "O1") == {"site_intake_full": 20}


def test_intake_smaller_than_a_coach(tiny):
    """Intake 40/day with 53-seaters: coaches run part-full, ≤ 40 a day, all 100 over ≥ 3 days."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 100, arrive_by=tiny.at(16))],
                       sites=[tiny.site(intake_per_day=40)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    per_day = tiny.drop_intake(plan)
    assert sum(per_day.values()) == 100
    assert max(per_day.values()) <= 40
    assert len(per_day) >= 3


def test_max_ride_time_too_small_is_ride_time_exceeded(tiny):
    """max_ride_hours=1: 滑县 (~2.3 h away) is ride_time_exceeded; 新郑 (~20 min) rides."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20), tiny.order("O2", tiny.XINZHENG, 20)],
                       policy={"max_ride_hours": 1})
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.reasons(plan, "O1") == {"ride_time_exceeded": 20}
    assert tiny.boarded(plan)["O2"] == 20
    for t in plan.trips:
        board = min(s.depart for s in tiny.pickups(t))
        assert max(s.arrive for s in tiny.drops(t)) - board <= timedelta(hours=1)


# ------------------------------------------------------------------ the plan as a whole


def test_every_worker_accounted_exactly_once(tiny):
    """Boarded + unassigned == headcount for every order, across mixed reasons and trips."""
    sc = tiny.scenario([
        tiny.order("O1", tiny.HUAXIAN, 70, 60, failed=3),  # 60 ride, 7 pending, 3 failed
        tiny.order("O2", tiny.ZHONGMOU, 25),  # pooled with a remainder
        tiny.order("O3", tiny.XIPING, 20, screening_valid_until=tiny.at(10)),  # expired
        tiny.order("O4", tiny.WEISHI, 15),  # closed
    ], regions=[tiny.region(tiny.WEISHI, "high")])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.accounted(sc, plan) == {"O1": 70, "O2": 25, "O3": 20, "O4": 15}
    b = tiny.boarded(plan)
    assert (b["O1"], b["O2"], b["O3"], b["O4"]) == (60, 25, 0, 0)
    assert tiny.unassigned(plan) == {("O1", "screening_pending"): 7, ("O1", "screening_failed"): 3,
                                     ("O3", "screening_expired"): 20, ("O4", "region_closed"): 15}
    for t in plan.trips:  # each boarded worker alights once, on the same trip
        on = {}
        for s in t.stops:
            for ld in s.board:
                on[ld.order] = on.get(ld.order, 0) + ld.count
            for ld in s.alight:
                on[ld.order] -= ld.count
        assert all(v == 0 for v in on.values())
    assert plan.summary.workers_planned == 85


def _without_seconds(plan: Plan) -> dict:
    d = json.loads(plan.model_dump_json(by_alias=True))
    d["solver"].pop("seconds")
    return d


def test_same_seed_same_plan(tiny):
    """Two solves with the same seed give the same plan (only solver.seconds may differ)."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 70), tiny.order("O2", tiny.ZHONGMOU, 30),
                        tiny.order("O3", tiny.XINZHENG, 12), tiny.order("O4", tiny.XIPING, 25)],
                       fleet=[tiny.coach(count=2), tiny.coach("c19", 19, 2, fixed_cost=500, cost_per_km=3)])
    a = tiny.solve_checked(sc, time_limit=TL, seed=3)
    b = tiny.solve_checked(sc, time_limit=TL, seed=3)
    assert _without_seconds(a) == _without_seconds(b)


def test_fixed_trip_kept_and_its_workers_not_planned_again(tiny):
    """Re-planning with a dispatched trip keeps it verbatim and plans only the other workers."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 100, arrive_by=tiny.at(14)),
                        tiny.order("O2", tiny.ZHONGMOU, 20)], fleet=[tiny.coach(count=1)])
    first = tiny.solve_checked(sc, time_limit=TL)
    assert len(first.trips) == 3
    pinned = first.trips[1].model_copy(update={"dispatched": True})  # the middle one: coach blocked
    again = tiny.solve_checked(sc, time_limit=TL, fixed=[pinned])
    kept = [t for t in again.trips if t.id == pinned.id]
    assert len(kept) == 1 and kept[0].model_dump() == pinned.model_dump()
    assert tiny.boarded(again) == tiny.boarded(first) == {"O1": 100, "O2": 20}
    assert again.summary.workers_planned == 120
    assert len({t.id for t in again.trips}) == len(again.trips)


def test_fixed_trip_takes_its_coach_time(tiny):
    """A fixed trip on the only coach: new trips run before or after it, never during."""
    sc = tiny.scenario([tiny.order("O1", tiny.XIPING, 40, arrive_by=tiny.at(14))],
                       fleet=[tiny.coach(count=1)])
    first = tiny.solve_checked(sc, time_limit=TL)
    # a late order arrives after the first trip was dispatched
    sc2 = tiny.scenario([tiny.order("O1", tiny.XIPING, 40, arrive_by=tiny.at(14)),
                         tiny.order("O2", tiny.XIPING, 30, arrive_by=tiny.at(14))],
                        fleet=[tiny.coach(count=1)])
    pinned = first.trips[0]
    again = tiny.solve_checked(sc2, time_limit=TL, fixed=[pinned])
    assert tiny.boarded(again) == {"O1": 40, "O2": 30}
    kept = [t for t in again.trips if t.id == pinned.id]
    assert len(kept) == 1 and kept[0].model_dump() == pinned.model_dump()
    others = [t for t in again.trips if t.id != pinned.id]
    assert others and all(t.bus == 0 for t in others)
    for t in others:
        assert t.stops[-1].arrive <= pinned.stops[0].depart or t.stops[0].depart >= pinned.stops[-1].arrive


def test_summary_ratio_consistent_with_reported_figures(tiny):
    """km_over_bound equals the reported km / lower_bound_km, even for a tiny bound."""
    sc = tiny.scenario([tiny.order("O1", tiny.XINZHENG, 10)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    s = plan.summary
    assert s.km_over_bound == pytest.approx(s.km / s.lower_bound_km, rel=0.005)


# ------------------------------------------------------------------ screening worker by worker


def test_an_early_expiry_holds_back_only_its_own_workers(tiny):
    """40 cleared in 滑县, ready from 11 Feb 06:00: 10 screened only to 05:50, 30 to 13 Feb: the 30
    ride, the 10 are screening_expired (before, the earliest expiry expired the whole order)."""
    o = tiny.order("O1", tiny.HUAXIAN, 40, screening_batches=[
        {"count": 10, "until": tiny.at(11, "05:50")}, {"count": 30, "until": tiny.at(13)}])
    plan = tiny.solve_checked(tiny.scenario([o]), time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 30
    assert tiny.reasons(plan, "O1") == {"screening_expired": 10}


def test_batches_board_on_time_each(tiny):
    """Two batches valid to 11 Feb 12:00 and 14 Feb: 53 workers on two coach-loads; the checker
    matches every boarding to a worker still valid then."""
    o = tiny.order("O1", tiny.HUAXIAN, 80, screening_batches=[
        {"count": 50, "until": tiny.at(11, "12:00")}, {"count": 30, "until": tiny.at(14)}])
    plan = tiny.solve_checked(tiny.scenario([o], fleet=[tiny.coach(count=1)]), time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 80
    early = sum(ld.count for t in plan.trips for s in tiny.pickups(t) for ld in s.board
                if s.depart <= tiny.dt(11, "12:00"))
    assert early >= 50


def test_nothing_leaves_before_now(tiny):
    """Planned at 11 Feb 12:00, with workers ready from 06:00: every coach leaves at noon or later,
    and the plan records when it was made."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30), tiny.order("O2", tiny.XINZHENG, 20)])
    plan = solve(sc, time_limit=TL, now=tiny.dt(11, "12:00"))
    assert check(sc, plan) == []
    assert plan.summary.workers_planned == 50
    assert all(t.stops[0].depart >= tiny.dt(11, "12:00") for t in plan.trips)
    assert plan.solver.now == tiny.dt(11, "12:00")


def test_a_site_far_from_every_depot_is_a_warning(tiny):
    """A site typed at 24.53 N instead of 34.53 N lies in Guangdong, 1,100 km from the depot: the
    plan says so (a mistyped coordinate would otherwise only show as long rides)."""
    sc = tiny.scenario([tiny.order("O1", tiny.XINZHENG, 20)], sites=[tiny.site(lat=24.53)])
    plan = solve(sc, time_limit=TL)
    assert [w.code for w in plan.warnings if w.code == "far_site"] == ["far_site"]
    assert "F1" in plan.warnings[-1].message


def test_workers_kept_out_by_a_full_site_until_their_screening_ends_are_site_intake_full(tiny):
    """Intake 40/day, screening valid until the second evening (the deadline is days later): 80
    planned over two days; the other 20 were stopped by the full site, not by their screening,
    which would have let them board on either day: site_intake_full."""
    sc = tiny.scenario([tiny.order("O1", tiny.ZHONGMOU, 100, earliest=tiny.at(11, "06:00"), arrive_by=tiny.at(18),
                                   screening_valid_until=tiny.at(12, "20:00"))],
                       sites=[tiny.site(intake_per_day=40)], fleet=[tiny.coach(seats=40)])
    plan = tiny.solve_checked(sc, time_limit=TL)
    assert tiny.boarded(plan)["O1"] == 80
    assert tiny.reasons(plan, "O1") == {"site_intake_full": 20}
