"""Tests of the command line (planner.cli): ``plan`` and ``check``, run in-process.

Exit codes: 0 success, 1 the plan breaks a rule, 2 bad input (the message names the item and
the field).
"""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.contract import Plan

ENV = {"COLUMNS": "250", "NO_COLOR": "1"}  # wide, plain output: messages stay on one line


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def flat(text: str) -> str:
    """Whitespace collapsed, so a message wrapped by rich still matches."""
    return " ".join(text.split())


def good_scenario(tiny) -> dict:
    return tiny.scenario_dict([tiny.order("O1", tiny.HUAXIAN, 40, 38),
                               tiny.order("O2", tiny.ZHONGMOU, 12)])


@pytest.fixture
def planned(tiny, tiny_json, tmp_path):
    """A scenario file and the plan file ``fangang plan`` wrote for it."""
    sc = tiny_json(good_scenario(tiny))
    out = tmp_path / "out" / "plan.json"
    res = run("plan", sc, "-o", out, "--time-limit", "2")
    assert res.exit_code == 0, res.output
    return sc, out


# ------------------------------------------------------------------ plan, then check


def test_plan_writes_a_plan_that_checks(planned):
    """``plan`` writes a contract-v1 plan that ``check`` accepts with exit 0."""
    sc, out = planned
    plan = Plan.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert plan.summary.workers_planned == 50
    assert {(u.order, u.reason, u.count) for u in plan.unassigned} == {("O1", "screening_pending", 2)}
    res = run("check", sc, out)
    assert res.exit_code == 0, res.output
    assert "no violations" in flat(res.output)


def test_plan_prints_summary_and_checker_verdict(tiny, tiny_json, tmp_path):
    """``plan`` prints the summary table and the checker's verdict."""
    sc = tiny_json(good_scenario(tiny))
    res = run("plan", sc, "-o", tmp_path / "p.json", "--time-limit", "2", "--seed", "1")
    assert res.exit_code == 0, res.output
    text = flat(res.output)
    assert "已安排人数" in text and "未安排: 待筛查 (screening_pending)" in text  # Chinese by default
    assert "checker: the plan obeys every rule" in text
    res = run("plan", sc, "-o", tmp_path / "p.json", "--time-limit", "2", "--seed", "1", "--lang", "en")
    text = flat(res.output)
    assert "workers planned" in text and "unassigned: screening pending" in text and "已安排" not in text


def test_check_of_a_broken_plan_exits_1_naming_the_rule(planned, tmp_path):
    """A hand-broken plan (coach index beyond the fleet) fails ``check`` with exit 1 and the rule."""
    sc, out = planned
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc["trips"][0]["bus"] = 99
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    res = run("check", sc, broken)
    assert res.exit_code == 1, res.output
    assert "bus_index" in res.output
    assert doc["trips"][0]["id"] in res.output


def test_check_of_overfull_coach_names_seats(planned, tmp_path):
    """A plan boarding more workers than the coach has seats fails with rule ``seats``."""
    sc, out = planned
    doc = json.loads(out.read_text(encoding="utf-8"))
    trip = doc["trips"][0]
    extra = {"order": "O1", "count": 40}
    next(s for s in trip["stops"] if s["kind"] == "pickup")["board"].append(extra)
    next(s for s in trip["stops"] if s["kind"] == "drop")["alight"].append(dict(extra))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    res = run("check", sc, broken)
    assert res.exit_code == 1
    assert "seats" in res.output


def test_check_of_malformed_plan_file_exits_2(planned, tmp_path):
    """A plan file that is not JSON makes ``check`` exit 2, naming the file."""
    sc, _ = planned
    bad = tmp_path / "plan.json"
    bad.write_text("{not json", encoding="utf-8")
    res = run("check", sc, bad)
    assert res.exit_code == 2
    assert "invalid plan file" in flat(res.output)


# ------------------------------------------------------------------ bad input: exit 2


def _unknown_county(o):
    o["origin"] = {"county": "999999"}


def _negative_headcount(o):
    o["headcount"] = -3
    o["cleared"] = 0


def _cleared_over_headcount(o):
    o["headcount"], o["cleared"] = 5, 7


def _unknown_site(o):
    o["site"] = "F9"


def _arrive_before_earliest(o):
    o["earliest_departure"], o["arrive_by"] = "2027-02-12T08:00:00+08:00", "2027-02-11T20:00:00+08:00"


def _unresolvable_address(o):
    o["origin"] = {"address": "火星市某某路"}


@pytest.mark.parametrize("breaks, field, detail", [
    (_unknown_county, "origin.county", "999999"),
    (_negative_headcount, "headcount", "greater than or equal to 0"),
    (_cleared_over_headcount, "cleared", "exceeds headcount"),
    (_unknown_site, "site", "F9"),
    (_arrive_before_earliest, "arrive_by", "after earliest_departure"),
    (_unresolvable_address, "origin.address", "火星市某某路"),
], ids=["unknown-county", "negative-headcount", "cleared-over-headcount", "unknown-site",
        "arrive-before-earliest", "unresolvable-address"])
@pytest.mark.parametrize("command", ["plan", "check"])
def test_bad_order_exits_2_naming_order_and_field(tiny, tiny_json, tmp_path, breaks, field, detail, command):
    """A bad order field stops ``plan`` and ``check`` with exit 2, naming the order and the field."""
    doc = tiny.scenario_dict([tiny.order("O1", tiny.HUAXIAN, 20), tiny.order("O2", tiny.ZHONGMOU, 10)])
    breaks(doc["orders"][1])
    sc = tiny_json(doc)
    if command == "plan":
        res = run("plan", sc, "-o", tmp_path / "p.json", "--time-limit", "2")
    else:
        plan = tmp_path / "p.json"
        plan.write_text("{}", encoding="utf-8")
        res = run("check", sc, plan)
    assert res.exit_code == 2, res.output
    text = flat(res.output)
    assert f"orders[1] (O2): {field}:" in text
    assert detail in text
    assert "O1" not in text  # only the broken order is reported
    assert not (tmp_path / "p.json").exists() or command == "check"


def test_every_problem_reported_at_once(tiny, tiny_json, tmp_path):
    """Two broken orders: both are listed in one run."""
    doc = tiny.scenario_dict([tiny.order("O1", "999999", 20), tiny.order("O2", tiny.ZHONGMOU, 10, site="F9")])
    res = run("plan", tiny_json(doc), "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    text = flat(res.output)
    assert "orders[0] (O1): origin.county:" in text
    assert "orders[1] (O2): site:" in text
    assert "2 problems" in text


def test_malformed_json_exits_2(tmp_path):
    """A truncated JSON file: exit 2 naming the file and where the JSON breaks."""
    bad = tmp_path / "scenario.json"
    bad.write_text('{"name": "x", "orders": [', encoding="utf-8")
    res = run("plan", bad, "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    text = flat(res.output)
    assert "scenario.json: json:" in text and "line 1" in text


def test_malformed_xlsx_exits_2(tmp_path):
    """Random bytes named .xlsx: exit 2, the file is not a workbook."""
    bad = tmp_path / "scenario.xlsx"
    bad.write_bytes(random.Random(0).randbytes(2048))
    res = run("plan", bad, "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    text = flat(res.output)
    assert "scenario.xlsx: file:" in text and "not an Excel" in text


def test_xlsx_missing_sheet_exits_2(tmp_path):
    """A real workbook without the required ``orders`` sheet: exit 2 naming the sheet."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "sites"
    for name in ("depots", "fleet"):
        wb.create_sheet(name)
    path = tmp_path / "scenario.xlsx"
    wb.save(path)
    res = run("plan", path, "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    assert "orders" in flat(res.output)


def test_missing_scenario_file_exits_2(tmp_path):
    """A scenario path that does not exist: exit 2 (bad input), not a traceback."""
    res = run("plan", tmp_path / "nope.json", "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)


# ------------------------------------------------------------------ one road source; no rejected plan written


def _roads_csv(tmp_path, factor: float = 1.6):
    """A road table for the tiny park: every leg between the depot, the site and 滑县/中牟, at
    ``factor`` × geodesic km (longer than the default estimate of 1.3)."""
    from geopy.distance import geodesic

    from planner.network import places

    pts = {"D1": (34.56, 113.81), "F1": (34.53, 113.84)}
    for code in ("410526", "410122"):
        c = places.counties()[code]
        pts[code] = (c.lat, c.lon)
    path = tmp_path / "roads.csv"
    lines = ["from,to,km"] + [f"{a},{b},{geodesic(pa, pb).km * factor:.3f}"
                              for a, pa in pts.items() for b, pb in pts.items() if a < b]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_plan_made_with_a_road_table_is_checked_with_it(tiny, tiny_json, tmp_path):
    """``plan --roads`` records its source; ``check`` then measures with the same table and
    accepts the plan; told to measure geodesically it finds the km wrong."""
    sc = tiny_json(good_scenario(tiny))
    roads = _roads_csv(tmp_path)
    out = tmp_path / "plan.json"
    res = run("plan", sc, "-o", out, "--time-limit", "2", "--roads", roads)
    assert res.exit_code == 0, res.output
    plan = Plan.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert plan.solver.roads == str(roads)
    assert run("check", sc, out).exit_code == 0
    res = run("check", sc, out, "--roads", "geodesic")
    assert res.exit_code == 1 and "km" in res.output
    assert run("check", sc, out, "--roads", tmp_path / "missing.csv").exit_code == 2


def test_no_plan_is_written_when_the_checker_rejects_it(tiny, tiny_json, tmp_path, monkeypatch):
    """When the plan's own check fails, ``plan`` exits 1 and writes nothing at -o; with
    ``--force`` the plan is kept beside it as ``*.rejected.json``."""
    import planner.check as checker

    monkeypatch.setattr(checker, "check", lambda sc, plan, roads=None: [checker.Violation("seats", "T0001", "test")])
    sc = tiny_json(good_scenario(tiny))
    out = tmp_path / "plan.json"
    res = run("plan", sc, "-o", out, "--time-limit", "2")
    assert res.exit_code == 1 and not out.exists()
    assert "no plan was written" in flat(res.output)
    res = run("plan", sc, "-o", out, "--time-limit", "2", "--force")
    assert res.exit_code == 1 and not out.exists()
    assert (tmp_path / "plan.rejected.json").exists()


def test_a_far_depot_is_a_warning(tiny, tiny_json, tmp_path):
    """A depot 1,600 km from a 40 km ride (Urumqi for a park near Zhengzhou) plans, and warns."""
    doc = tiny.scenario_dict([tiny.order("O1", tiny.WEISHI, 30)])
    doc["depots"][0]["location"] = {"lat": 43.8, "lon": 87.6}
    sc = tiny_json(doc)
    out = tmp_path / "plan.json"
    res = run("plan", sc, "-o", out, "--time-limit", "2")
    assert res.exit_code == 0, res.output
    assert "far_depot" in flat(res.output) and "D1" in flat(res.output)
    plan = Plan.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert [w.code for w in plan.warnings] == ["far_depot", "far_site"]  # and the site is far from it


def test_plan_now_plans_nothing_before_it(tiny, tiny_json, tmp_path):
    """``--now 2027-02-12T10:00`` leaves nothing earlier, though the workers are ready on the 11th."""
    sc = tiny_json(good_scenario(tiny))
    out = tmp_path / "plan.json"
    res = run("plan", sc, "-o", out, "--time-limit", "2", "--now", "2027-02-12T10:00")
    assert res.exit_code == 0, res.output
    plan = Plan.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert plan.trips and all(t.stops[0].depart >= tiny.dt(12, "10:00") for t in plan.trips)
    assert plan.solver.now == tiny.dt(12, "10:00")


def test_a_misspelt_policy_field_exits_2_with_a_suggestion(tiny, tiny_json, tmp_path):
    """``ocupancy_cap`` is refused before planning, suggesting ``occupancy_cap``."""
    doc = good_scenario(tiny)
    doc["policy"] = {"ocupancy_cap": 0.5}
    res = run("plan", tiny_json(doc), "-o", tmp_path / "p.json")
    assert res.exit_code == 2
    assert "did you mean 'occupancy_cap'" in flat(res.output)
