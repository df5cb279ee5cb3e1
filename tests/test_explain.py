"""Every unassigned row says why in numbers: the ``detail`` of each reason (planner._explain),
on tiny scenarios whose numbers a person can check."""

from __future__ import annotations

import re


def _detail(plan, order: str, reason: str) -> str:
    (row,) = [u for u in plan.unassigned if u.order == order and u.reason == reason]
    assert row.detail, f"{order} {reason} has no detail"
    return row.detail


def test_beyond_the_ride_limit_says_the_fastest_legal_ride(tiny):
    """恩阳区 is ~16 h away by the fastest legal ride; with 12 h allowed the detail says by how much."""
    sc = tiny.scenario([tiny.order("E", tiny.ENYANG, 20)], policy={"max_ride_hours": 12})
    plan = tiny.solve_checked(sc)
    text = _detail(plan, "E", "ride_time_exceeded")
    m = re.search(r"fastest legal coach ride (\d+\.\d) h > 12 h", text)
    assert m and 12 < float(m.group(1)) < 20, text


def test_a_deadline_no_coach_can_make_says_when_the_fastest_would_arrive(tiny):
    """Ready 02-11 06:00, due 02-11 12:00 from 恩阳区: boarding 06:00–06:30 (by day), the fastest
    ride arrives in the evening."""
    sc = tiny.scenario([tiny.order("E", tiny.ENYANG, 20, arrive_by=tiny.at(11, "12:00"))])
    plan = tiny.solve_checked(sc)
    text = _detail(plan, "E", "deadline_unreachable")
    m = re.search(r"fastest legal coach ride (\d+\.\d) h: boarding at 02-11 06:30 it arrives 02-11 (\d\d):(\d\d), "
                  r"after the deadline 02-11 12:00", text)
    assert m, text
    assert abs(6.5 + float(m.group(1)) - (int(m.group(2)) + int(m.group(3)) / 60)) < 0.1


def test_no_coach_says_which_coaches_were_away_or_busy(tiny):
    """The 53-seaters are there on the 11th only; NV leaves from the 14th."""
    sc = tiny.scenario([tiny.order("NV", "411422", 30, earliest=tiny.at(14, "00:00"), arrive_by=tiny.at(20))],
                       fleet=[tiny.coach("c53", 53, 2, available_from=tiny.at(11), available_until=tiny.at(12))])
    plan = tiny.solve_checked(sc)
    text = _detail(plan, "NV", "no_vehicle")
    assert text == "2 coaches of 53 seats (c53) available only 02-11 00:00–02-12 00:00", text


def test_too_few_says_how_many_a_trip_needs(tiny):
    sc = tiny.scenario([tiny.order("FEW", tiny.HUAXIAN, 3)], policy={"min_riders_per_trip": 5})
    plan = tiny.solve_checked(sc)
    assert _detail(plan, "FEW", "too_few_riders").startswith("3 worker(s), fewer than the 5 a trip needs")


def test_a_full_site_says_its_intake_on_the_days_they_could_arrive(tiny):
    """F1 takes 40 a day and A (40) is due on the 11th with B (30): B is left with the days full."""
    sc = tiny.scenario([tiny.order("A", tiny.ZHONGMOU, 40, arrive_by=tiny.at(11, "20:00")),
                        tiny.order("B", tiny.WEISHI, 30, arrive_by=tiny.at(11, "20:00"))],
                       sites=[tiny.site(intake_per_day=40)])
    plan = tiny.solve_checked(sc)
    (left,) = [u for u in plan.unassigned if u.reason == "site_intake_full"]
    assert left.detail is not None and "takes 40 a day" in left.detail and "02-11 40/40" in left.detail


def test_boarding_hours_and_screening_say_the_window(tiny):
    sc = tiny.scenario([tiny.order("N", tiny.HUAXIAN, 40, earliest=tiny.at(11, "23:00"),
                                   screening_valid_until=tiny.at(12, "05:00")),
                        tiny.order("P", tiny.HUAXIAN, 10, cleared=4)])
    plan = tiny.solve_checked(sc)
    text = _detail(plan, "N", "outside_boarding_hours")
    assert "02-11 23:00–02-12 05:00" in text and "06:00–22:00" in text, text
    assert _detail(plan, "P", "screening_pending") == "6 of 10 not screened yet (only cleared workers travel)"
