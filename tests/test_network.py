"""Places and roads as one layer (issue 18): sites and depots by their own names in the plan and
its exports; the reader and the planner snap coordinates with the same policy; trip times from
the road source's minutes, and the checker measuring with the same source."""

from __future__ import annotations

import csv
import json

import numpy as np
from typer.testing import CliRunner

from planner.check import check
from planner.cli import app
from planner.contract import Scenario
from planner.network.places import nearest_counties
from planner.network.roads import CsvRoadMatrix
from planner.optimize import solve

ENV = {"COLUMNS": "250", "NO_COLOR": "1"}


def test_sites_and_depots_are_named_by_their_own_names(tiny):
    site = {**tiny.site(), "name": "智能终端一厂"}
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 40)], sites=[site])
    plan = tiny.solve_checked(sc)
    places = [s.place for t in plan.trips for s in t.stops]
    drops = [p for p in places if p.id == "F1"]
    depots = [p for p in places if p.id == "D1"]
    assert drops and all(p.name == "智能终端一厂" for p in drops)
    assert depots and all(p.name == "yard" for p in depots)
    assert not any("," in (p.name or "") for p in drops + depots), "coordinates as a name"


def test_a_site_without_a_name_takes_its_locations_name(tiny):
    site = {**tiny.site(), "name": ""}
    site["location"] = {**site["location"], "name": "郑州航空港区 3 号门"}
    plan = tiny.solve_checked(tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 40)], sites=[site]))
    assert {s.place.name for t in plan.trips for s in t.stops if s.place.id == "F1"} == {"郑州航空港区 3 号门"}


FAR_WEST = (39.0, 85.0)  # the Tarim basin: ~106 km from the nearest county seat


def test_the_reader_snaps_coordinates_with_the_scenarios_policy(tiny, tiny_json, tmp_path):
    """An origin 106 km from the nearest county seat: refused under the default 100 km, accepted
    (by the reader and the planner alike) when the policy allows 150 km."""
    _, km = nearest_counties(np.array([FAR_WEST[0]]), np.array([FAR_WEST[1]]))
    assert 100 < km[0] < 150
    far = tiny.order("W", tiny.HUAXIAN, 10)
    far["origin"] = {"lat": FAR_WEST[0], "lon": FAR_WEST[1]}
    near = tiny.order("N", tiny.HUAXIAN, 20)
    runner = CliRunner()
    strict = tiny_json(tiny.scenario_dict([far, near]), "strict.json")
    res = runner.invoke(app, ["plan", str(strict), "-o", str(tmp_path / "a.json"), "--time-limit", "2"], env=ENV)
    assert res.exit_code == 2 and "origin" in res.output and "100" in res.output
    loose = tiny_json(tiny.scenario_dict([far, near], policy={"county_snap_km": 150}), "loose.json")
    res = runner.invoke(app, ["plan", str(loose), "-o", str(tmp_path / "b.json"), "--time-limit", "2"], env=ENV)
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    planned = sum(ld["count"] for t in plan["trips"] for s in t["stops"] for ld in s.get("board", [])
                  if ld["order"] == "W")
    assert planned + sum(u["count"] for u in plan["unassigned"] if u["order"] == "W") == 10


def _slow_roads(tmp_path, sc: Scenario, factor: float) -> str:
    """A road CSV whose every leg between the park, the depot and the county takes ``factor`` ×
    the default estimate's minutes (the km unchanged)."""
    from planner.network.places import resolve_all
    from planner.network.roads import GeodesicRoad

    pts = resolve_all([sc.depots[0].location, sc.sites[0].location] + [o.origin for o in sc.orders])
    keys = ["D1", "F1"] + [o.origin.county for o in sc.orders]
    km, minutes = GeodesicRoad(sc.policy.road_factor).table(pts, pts, sc.policy.speed_kmh)
    path = tmp_path / "roads.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["from", "to", "km", "minutes"])
        for i, a in enumerate(keys):
            for j, b in enumerate(keys):
                if i != j:
                    w.writerow([a, b, f"{km[i, j]:.3f}", f"{minutes[i, j] * factor:.1f}"])
    return str(path)


def _loaded_minutes(plan) -> float:
    (trip,) = plan.trips
    pick = next(s for s in trip.stops if s.kind == "pickup")
    drop = next(s for s in trip.stops if s.kind == "drop")
    return (drop.arrive - pick.depart).total_seconds() / 60


def test_trip_times_come_from_the_road_sources_minutes_and_the_checker_agrees(tiny, tmp_path):
    """华县 → the park is ~2 h at the policy's 75 km/h; a road CSV saying it takes 1.5 × as long
    makes the coach take 1.5 × as long, and the checker, measuring with the same CSV, accepts
    the plan, while the plan timed by the estimate breaks it."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 45)], fleet=[tiny.coach(count=1)])
    roads = _slow_roads(tmp_path, sc, 1.5)
    fast = solve(sc, time_limit=2)
    slow = solve(sc, time_limit=2, distances=CsvRoadMatrix(roads))
    assert slow.solver.roads == roads
    ratio = _loaded_minutes(slow) / _loaded_minutes(fast)
    assert 1.4 < ratio < 1.6
    assert check(sc, slow, roads=roads) == []
    assert check(sc, slow) == []  # slower than the estimate is never too fast for it
    found = check(sc, fast, roads=roads)
    assert found and any("road" in str(v) or "min" in str(v) for v in found)


def test_a_former_county_code_is_planned_as_todays_county_with_a_warning(tiny):
    """淮阳县 411626 became 淮阳区 411603 (2019): an order naming the old code is planned from
    today's county, and the plan says so."""
    sc = tiny.scenario([tiny.order("OLD", "411626", 30), tiny.order("NEW", "411603", 20)])
    plan = tiny.solve_checked(sc)
    counties = {s.place.county for t in plan.trips for s in t.stops if s.kind == "pickup"}
    assert counties == {"411603"}
    (w,) = [w for w in plan.warnings if w.code == "county_renamed"]
    assert "411626" in w.message and "411603" in w.message and "OLD" in w.message and "NEW" not in w.message
