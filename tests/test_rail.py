"""Tests of the rail network fangang ships and of its train suggestions (planner.rail,
``fangang suggest-trains``): a suggestion added as an offer must let the plan use it.

The geography is that of tests/test_trains.py: 300 workers of 宣威市 (Yunnan) bound for the
park near Zhengzhou, ~1,900 road km away.
"""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest
from typer.testing import CliRunner

from planner import rail
from planner.check import check
from planner.cli import app
from planner.contract import Scenario
from planner.optimize import solve
from planner.params import SolveParams

TL = 3


def far_scenario(tiny, *, arrive_by: tuple[int, str], near: int = 0) -> dict:
    orders = [tiny.order("Y1", "530381", 300, earliest=tiny.at(11, "06:00"), arrive_by=tiny.at(*arrive_by))]
    if near:
        orders.append(tiny.order("N1", "410102", near))
    return tiny.scenario_dict(orders, fleet=[tiny.coach(count=8, available_from=tiny.at(11))])


def test_the_shipped_network_is_one_connected_graph_with_rail_km_above_the_great_circle():
    net = rail.RailNetwork.default()
    assert len(net.stations) > 150 and nx.is_connected(net.graph)
    for a, b, km in net.graph.edges(data="km"):
        sa, sb = net.stations[a], net.stations[b]
        assert km >= rail._geo_km(sa.lat, sa.lon, sb.lat, sb.lon) * 0.999
    zz, ks = net.nearest(34.75, 113.63, 50), net.nearest(31.38, 120.98, 50)
    assert net.stations[zz].name == "郑州站" and net.stations[ks].name == "昆山站"
    assert net.km(zz, ks) == pytest.approx(net.km(ks, zz)) and 900 < net.km(zz, ks) < 1400
    assert net.nearest(0.0, 0.0, 150) is None and math.isinf(net.km(zz, "nowhere"))


def test_a_coordinators_network_with_a_bad_row_is_refused_naming_the_row(tmp_path):
    st = tmp_path / "st.csv"
    st.write_text("id,name,lat,lon\nA,甲站,30,110\nB,乙站,31,111\n", encoding="utf-8")
    lk = tmp_path / "lk.csv"
    lk.write_text("from,to,km\nA,B,150\nA,C,10\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 3: unknown station 'C'"):
        rail.RailNetwork.from_csv(st, lk)
    lk.write_text("from,to,km\nA,B,ten\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2: needs from,to,km"):
        rail.RailNetwork.from_csv(st, lk)
    lk.write_text("from,to,km\nA,B,150\n", encoding="utf-8")
    assert rail.RailNetwork.from_csv(st, lk).km("A", "B") == 150


def test_workers_no_coach_can_bring_get_a_train_that_brings_them_once_offered(tiny):
    """By 13 Feb 08:00 no coach brings 宣威's 300: the plan suggests a special train from a station
    near them to 郑州站; added as an offer (with local coaches at its station), all 300 ride it."""
    d = far_scenario(tiny, arrive_by=(13, "08:00"), near=40)
    sc = Scenario.model_validate(d)
    plan = solve(sc, time_limit=TL)
    assert tiny.reasons(plan, "Y1") == {"deadline_unreachable": 300}
    assert len(plan.suggestions) == 1
    sg = plan.suggestions[0]
    assert sg.to == "S410100" and sg.riders == 300 and sg.brings_back == 300 and sg.est_cost > 0
    offer = sg.model_extra["offer"]
    assert offer["board_at"] == sg.from_ and offer["cars"] * offer["seats_per_car"] >= 300
    applied = rail.apply(d, plan.suggestions)
    assert any(f["depot"].startswith("Y") for f in applied["fleet"])  # no yard near the station: local coaches
    sc2 = Scenario.model_validate(applied)
    plan2 = solve(sc2, time_limit=TL)
    assert check(sc2, plan2) == []
    assert plan2.summary.workers_by_mode == {"coach": 40, "train": 300}
    assert {r.train for r in plan2.train_loads} == {offer["id"]} and plan2.summary.trains_run == 1


def test_workers_a_coach_brings_from_very_far_get_a_train_that_saves(tiny):
    """With a day more, coaches bring the 300 over ~1,900 km: a train is suggested all the same,
    for what it saves, and it brings back no one."""
    plan = solve(Scenario.model_validate(far_scenario(tiny, arrive_by=(14, "12:00"))), time_limit=TL)
    assert plan.summary.workers_planned == 300
    (sg,) = plan.suggestions
    assert sg.brings_back == 0 and sg.saves > 0 and sg.riders == 300


def test_no_suggestion_when_every_worker_is_near_and_planned(tiny):
    plan = solve(Scenario.model_validate(tiny.scenario_dict([tiny.order("N1", "410102", 200)])), time_limit=TL)
    assert plan.summary.workers_planned == 200 and plan.suggestions == []
    plan = solve(Scenario.model_validate(far_scenario(tiny, arrive_by=(13, "08:00"))), time_limit=TL,
                 params=SolveParams(suggest_trains=False))
    assert plan.suggestions == []


def test_a_small_group_gets_reserved_cars_and_fewer_than_a_group_booking_nothing(tiny):
    """Fewer than rail.MIN_RIDERS stranded workers get reserved cars on a scheduled train, not a
    special train; fewer than a group booking (rail.GROUP_MIN) get no suggestion."""
    d = far_scenario(tiny, arrive_by=(13, "08:00"))
    d["orders"][0]["headcount"] = d["orders"][0]["cleared"] = rail.MIN_RIDERS - 1
    plan = solve(Scenario.model_validate(d), time_limit=TL)
    (sg,) = plan.suggestions
    assert sg.model_extra["offer"]["kind"] == "cars" and sg.riders == rail.MIN_RIDERS - 1
    d["orders"][0]["headcount"] = d["orders"][0]["cleared"] = rail.GROUP_MIN - 1
    plan = solve(Scenario.model_validate(d), time_limit=TL)
    assert plan.summary.workers_planned == 0 and plan.suggestions == []


def test_suggest_trains_command_writes_suggestions_and_a_scenario_the_plan_uses(tiny, tiny_json, tmp_path):
    path = tiny_json(far_scenario(tiny, arrive_by=(13, "08:00")))
    out, applied, plan = tmp_path / "s.json", tmp_path / "with-trains.json", tmp_path / "plan.json"
    r = CliRunner().invoke(app, ["suggest-trains", str(path), "--time-limit", "2", "-o", str(out),
                                 "--apply", str(applied)])
    assert r.exit_code == 0, r.output
    (sg,) = json.loads(out.read_text(encoding="utf-8"))
    assert sg["riders"] == 300 and sg["to"] == "S410100"
    r = CliRunner().invoke(app, ["plan", str(applied), "-o", str(plan), "--time-limit", "3"])
    assert r.exit_code == 0, r.output
    assert json.loads(plan.read_text(encoding="utf-8"))["summary"]["workers_by_mode"] == {"coach": 0, "train": 300}


def test_suggest_trains_refuses_half_a_network(tiny, tiny_json, tmp_path):
    path = tiny_json(far_scenario(tiny, arrive_by=(13, "08:00")))
    r = CliRunner().invoke(app, ["suggest-trains", str(path), "--stations", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "--links" in r.output


def test_an_emu_is_suggested_when_a_conventional_train_would_make_the_ride_too_long(tiny):
    """With a 30 h ride limit door to door, ~2,000 rail km at 70 km/h (≈ 29 h) plus feeder and last
    mile is too long: the suggestion is an EMU charter (200 km/h, 72-seat cars), and it is used."""
    d = far_scenario(tiny, arrive_by=(13, "08:00"))
    d["policy"] = {**d.get("policy", {}), "max_ride_hours": 30}
    plan = solve(Scenario.model_validate(d), time_limit=TL)
    (sg,) = plan.suggestions
    offer = sg.model_extra["offer"]
    assert sg.model_extra["train_class"] == rail.EMU.name and offer["seats_per_car"] == rail.EMU.seats_per_car
    assert offer["cars"] == math.ceil(300 / rail.EMU.seats_per_car)
    sc2 = Scenario.model_validate(rail.apply(d, plan.suggestions))
    plan2 = solve(sc2, time_limit=TL)
    assert check(sc2, plan2) == [] and plan2.summary.workers_by_mode["train"] == 300
