"""The workers' journey in the optimiser's plans: the crew rests before it boards, a second driver
when it spares the riders enough hours, boarding within the boarding hours and later rather than
a loaded wait for the site; and the plans the scenario allows (the defects of issue 17). Every
plan is checked by the independent checker, whose journey figures the assertions read."""

from __future__ import annotations

from datetime import time

from planner.check import check, journey
from planner.contract import Scenario
from planner.optimize import solve

XIXIA = "411323"  # 西峡县, ~330 road km from the depot: one driver, 4.5 h of loaded driving
JINGXIAN = "341823"  # 泾县 (安徽省宣城市), ~780 road km


def _day_site(tiny) -> list[dict]:
    return [tiny.site(receive_from="07:00", receive_until="22:00")]


def _trip_waits(sc, plan) -> dict[str, float]:
    return journey(sc, plan).loaded_wait


def test_a_coach_that_drove_out_rests_before_it_boards(tiny):
    """The sample park's T0022: one driver drives 5 h out to 西峡县 and would board at 10:00,
    drive 3.5 h and stand loaded 16 h for the rest of his day. Planned now, the crew rests first
    and the workers ride about the 4.8 h the drive takes."""
    sc = tiny.scenario([tiny.order("X", XIXIA, 52, earliest=tiny.at(11, "10:00"), arrive_by=tiny.at(20))],
                       sites=_day_site(tiny), fleet=[tiny.coach(count=1)])
    plan = tiny.solve_checked(sc)
    (trip,) = plan.trips
    assert _trip_waits(sc, plan)[trip.id] < 0.5
    assert trip.onboard_hours is not None and trip.onboard_hours < 5.5
    assert plan.summary.worker_hours is not None and plan.summary.worker_hours["max"] < 5.5


def test_a_second_driver_when_the_crew_cannot_rest_before_boarding(tiny):
    """Their screening runs out at noon, so the coach cannot wait for its driver to rest: one
    driver would stand the loaded coach ~16 h; at 25 ¥ a worker-hour the second driver (¥600)
    is bought. Priced at 0 ¥, the cheaper legal plan keeps one driver and the wait."""
    order = tiny.order("X", XIXIA, 52, earliest=tiny.at(11, "10:00"), arrive_by=tiny.at(20),
                       screening_valid_until=tiny.at(11, "12:00"))
    fleet = [tiny.coach(count=1, available_from=tiny.at(11))]
    sc = tiny.scenario([order], sites=_day_site(tiny), fleet=fleet)
    plan = tiny.solve_checked(sc)
    (trip,) = plan.trips
    assert trip.crew == 2 and _trip_waits(sc, plan)[trip.id] < 0.5
    cheap = tiny.scenario([order], sites=_day_site(tiny), fleet=fleet, policy={"worker_hour_cost": 0})
    plan0 = tiny.solve_checked(cheap)
    (trip0,) = plan0.trips
    assert trip0.crew == 1 and _trip_waits(cheap, plan0)[trip0.id] > 10
    assert trip0.cost == trip.cost - 600


def test_a_long_ride_boards_later_rather_than_wait_loaded_for_the_site(tiny):
    """恩阳区 → the park is a ~16 h ride; boarding at 06:00 it would reach the site after it
    closes (22:00) and stand loaded until 07:00. It boards later instead: no loaded wait."""
    sc = tiny.scenario([tiny.order("E", tiny.ENYANG, 45, arrive_by=tiny.at(20))], sites=_day_site(tiny))
    plan = tiny.solve_checked(sc)
    (trip,) = plan.trips
    assert _trip_waits(sc, plan)[trip.id] < 0.5
    assert trip.loaded_wait_hours is not None and trip.loaded_wait_hours < 0.5
    assert trip.onboard_hours is not None and trip.onboard_hours < 16


def test_workers_board_within_the_boarding_hours(tiny):
    """Ready from 23:00, 滑县's workers board the next morning, not at night; workers who may
    board only between 23:00 and 05:00 (their screening runs out) are unassigned with that reason."""
    sc = tiny.scenario([tiny.order("N", tiny.HUAXIAN, 40, earliest=tiny.at(11, "23:00"))], sites=_day_site(tiny))
    plan = tiny.solve_checked(sc)
    for trip in plan.trips:
        for s in tiny.pickups(trip):
            assert tiny.in_clock_window(s.arrive, time(6), time(22)) and tiny.in_clock_window(s.depart, time(6), time(22, 1))
    assert plan.summary.night_boardings == 0 == journey(sc, plan).night_boardings
    closed = tiny.scenario([tiny.order("N", tiny.HUAXIAN, 40, earliest=tiny.at(11, "23:00"),
                                       screening_valid_until=tiny.at(12, "05:00"))], sites=_day_site(tiny))
    plan = tiny.solve_checked(closed)
    assert tiny.reasons(plan, "N") == {"outside_boarding_hours": 40}
    anyhour = tiny.scenario([tiny.order("N", tiny.HUAXIAN, 40, earliest=tiny.at(11, "23:00"),
                                        screening_valid_until=tiny.at(12, "05:00"))],
                            sites=_day_site(tiny), policy={"boarding_hours": None})
    plan = tiny.solve_checked(anyhour)
    assert plan.summary.workers_planned == 40 and plan.summary.night_boardings == 40


def test_too_few_for_a_trip_of_their_own_are_unassigned_not_a_rejected_plan(tiny):
    """min_riders_per_trip 5: FEW (3 from 恩阳区, due the 13th) cannot share OK's trip (OK leaves
    from the 14th). The plan used to carry a 3-rider trip its own checker refused; now FEW is
    too_few_riders and OK rides, for every seed."""
    sc = tiny.scenario([tiny.order("FEW", tiny.ENYANG, 3, arrive_by=tiny.at(13, "20:00")),
                        tiny.order("OK", "411422", 20, earliest=tiny.at(14, "00:00"), arrive_by=tiny.at(20))],
                       policy={"min_riders_per_trip": 5})
    for seed in (0, 1, 2):
        plan = tiny.solve_checked(sc, seed=seed)
        assert tiny.reasons(plan, "FEW") == {"too_few_riders": 3}
        assert tiny.boarded(plan)["OK"] == 20


def test_coaches_of_another_size_take_workers_the_big_ones_cannot(tiny):
    """The two 53-seaters are away after the 12th; the 60 workers of 兰考 leave from the 13th:
    the two 35-seaters bring them all (they used to stand idle while 53 were no_vehicle)."""
    sc = tiny.scenario([tiny.order("LK", "410225", 60, earliest=tiny.at(13, "00:00"), arrive_by=tiny.at(15))],
                       fleet=[tiny.coach("c53", 53, 2, available_from=tiny.at(11), available_until=tiny.at(12)),
                              tiny.coach("c35", 35, 2, available_from=tiny.at(13), available_until=tiny.at(25))])
    plan = tiny.solve_checked(sc)
    assert plan.summary.workers_planned == 60
    assert {t.vehicle_type for t in plan.trips} == {"c35"}


def test_an_order_no_coach_can_serve_does_not_take_another_down(tiny):
    """53-seaters on the 11th only: OK (兰考, from the 11th) rides; NV (from the 14th) is
    no_vehicle. Pooled together, both used to come back no_vehicle."""
    sc = tiny.scenario([tiny.order("OK", "410225", 20, earliest=tiny.at(11, "08:00"), arrive_by=tiny.at(20)),
                        tiny.order("NV", "411422", 30, earliest=tiny.at(14, "00:00"), arrive_by=tiny.at(20))],
                       fleet=[tiny.coach("c53", 53, 2, available_from=tiny.at(11), available_until=tiny.at(12))])
    plan = tiny.solve_checked(sc)
    assert tiny.boarded(plan)["OK"] == 20
    assert tiny.reasons(plan, "NV") == {"no_vehicle": 30}


def test_a_two_driver_coach_drives_out_rests_and_boards_for_a_short_ride(tiny):
    """max_ride_hours 14 and 泾县 ~780 road km away: boarding on arrival after a night's drive
    out, the ride broke 14 h and all 40 were ride_time_exceeded. The crew rests first, boards by
    day, and brings them in about 11 h."""
    sc = tiny.scenario([tiny.order("JX", JINGXIAN, 40, earliest=tiny.at(11, "00:00"), arrive_by=tiny.at(16))],
                       sites=_day_site(tiny), fleet=[tiny.coach(available_from=tiny.at(11))],
                       policy={"max_ride_hours": 14})
    plan = tiny.solve_checked(sc)
    assert plan.summary.workers_planned == 40
    (trip,) = plan.trips
    assert trip.crew == 2 and trip.onboard_hours is not None and trip.onboard_hours < 12
    assert check(sc, plan) == []


def test_the_plans_journey_figures_are_the_checkers(tiny):
    """On a small park with far and near counties, every trip's hours on board and loaded wait,
    and the summary's worker hours and night boardings, agree with the checker's own."""
    orders = [tiny.order("E", tiny.ENYANG, 60), tiny.order("X", XIXIA, 30), tiny.order("H", tiny.HUAXIAN, 25),
              tiny.order("Z", tiny.ZHONGMOU, 12, earliest=tiny.at(11, "21:00"))]
    sc = tiny.scenario(orders, sites=_day_site(tiny))
    plan = solve(sc, time_limit=3)
    assert check(sc, plan) == []
    j = journey(sc, plan)
    for trip in plan.trips:
        assert trip.onboard_hours == round(j.onboard[trip.id], 2)
        assert abs((trip.loaded_wait_hours or 0) - j.loaded_wait[trip.id]) < 0.5
    hours = j.hours_summary()
    assert plan.summary.worker_hours is not None and hours is not None
    for key in ("mean", "p95", "max"):
        assert abs(plan.summary.worker_hours[key] - hours[key]) < 0.02
    assert plan.summary.night_boardings == j.night_boardings == 0
    assert len(j.worker_hours) == plan.summary.workers_planned


def _sabotage(monkeypatch, times: int) -> dict:
    """Make the scheduler book its first ``times`` far trips with one driver only (a bug the
    checker catches: a ~960 km run needs two)."""
    from planner import _schedule

    real = _schedule._commit
    seen = {"broken": 0}

    def commit(data, fleet, intake, booking):
        trip = real(data, fleet, intake, booking)
        if trip.crew == 2 and seen["broken"] < times:
            seen["broken"] += 1
            trip.crew = 1
        return trip

    monkeypatch.setattr(_schedule, "_commit", commit)
    return seen


def test_a_trip_the_checker_rejects_is_planned_again_not_the_plan_thrown_away(tiny, monkeypatch):
    """A scheduler bug books 恩阳区's coach with one driver: the optimiser's own check rejects the
    trip, and its 45 workers are planned again on another coach; the plan the caller gets is
    clean and plans everyone."""
    seen = _sabotage(monkeypatch, 1)
    sc = tiny.scenario([tiny.order("E", tiny.ENYANG, 45), tiny.order("H", tiny.HUAXIAN, 30)])
    plan = solve(sc, time_limit=2)
    assert seen["broken"] == 1
    assert check(sc, plan) == [] and plan.summary.workers_planned == 75


def test_workers_of_a_trip_that_stays_broken_are_unassigned_with_the_rule_it_broke(tiny, monkeypatch):
    """The bug strikes again on the re-plan: the workers are unassigned no_legal_trip, the detail
    names the rule, and the rest of the plan (滑县's coach) is kept."""
    _sabotage(monkeypatch, 10)
    sc = tiny.scenario([tiny.order("E", tiny.ENYANG, 45), tiny.order("H", tiny.HUAXIAN, 30)])
    plan = solve(sc, time_limit=2)
    assert check(sc, plan) == []
    assert tiny.reasons(plan, "E") == {"no_legal_trip": 45} and tiny.boarded(plan)["H"] == 30
    (row,) = [u for u in plan.unassigned if u.order == "E"]
    assert row.detail is not None and "[crew]" in row.detail


def test_a_hurried_scheduler_still_plans_legally_but_without_the_humane_timing(tiny, monkeypatch):
    """Past its time (planner.params.hurry; from HURRY_SHARE of the time limit) the scheduler times a
    trip as soon as its workers are ready and keeps the crew it needs: the plan is still legal and
    complete — the crew of the 西峡县 trip then does not rest before boarding, and the loaded
    coach stands still for it."""
    import planner.optimize

    monkeypatch.setattr(planner.optimize, "HURRY_SHARE", 0.0)  # in a hurry from the start
    sc = tiny.scenario([tiny.order("X", XIXIA, 52, earliest=tiny.at(11, "10:00"), arrive_by=tiny.at(20))],
                       sites=_day_site(tiny), fleet=[tiny.coach(count=1)])
    plan = tiny.solve_checked(sc)
    (trip,) = plan.trips
    assert _trip_waits(sc, plan)[trip.id] > 5  # the humane timing (see the first test) brings it under 0.5 h


RUZHOU, LIXIA = "410482", "370102"  # 汝州市 (~100 road km west of the park), 历下区 (Jinan, ~490 km)


def test_a_pooled_coach_boards_the_far_county_first_so_the_near_one_rides_no_detour(tiny):
    """A depot west of 汝州市 makes 汝州市 → 历下区 → the park the shortest pooled route, and its
    workers would ride ~17 h for a ~2 h journey (it was planned so). Under the default detour
    limit the coach boards 历下区 first and 汝州市 last: 汝州市's workers ride straight in, and
    every worker's ride is within the limit (the checker's detour rule)."""
    d = tiny.scenario_dict([tiny.order("N", RUZHOU, 20), tiny.order("X", LIXIA, 20)], fleet=[tiny.coach(count=2)])
    d["depots"][0]["location"] = {"lat": 34.62, "lon": 112.45}  # 洛阳
    sc = Scenario.model_validate(d)
    plan = tiny.solve_checked(sc)
    assert plan.summary.workers_planned == 40
    for trip in plan.trips:
        order = [s.place.county for s in trip.stops if s.kind == "pickup"]
        if len(order) > 1:
            assert order == [LIXIA, RUZHOU]
    (n_trip,) = [t for t in plan.trips if any(ld.order == "N" for s in t.stops for ld in s.board)]
    on = next(s.depart for s in n_trip.stops if any(ld.order == "N" for ld in s.board))
    off = next(s.arrive for s in n_trip.stops if any(ld.order == "N" for ld in s.alight))
    assert on is not None and off is not None and (off - on).total_seconds() < 4 * 3600
    # without the limit the shorter near-first route comes back
    d["policy"] = {"max_detour_hours": None, "max_detour_share": None}
    loose = Scenario.model_validate(d)
    (trip,) = tiny.solve_checked(loose).trips
    assert [s.place.county for s in trip.stops if s.kind == "pickup"] == [RUZHOU, LIXIA]
