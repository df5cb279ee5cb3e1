"""Tests of the park scenario generator (benchmarks/generate.py) and the bundled sample park."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate import generate
from planner.contract import Scenario

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample-park.json"


@pytest.fixture(scope="module")
def small() -> dict:
    return generate(400, 20, 2, seed=3)


def test_deterministic_for_a_seed(small):
    """The same arguments and seed give the same scenario; another seed gives another one."""
    assert generate(400, 20, 2, seed=3) == small
    assert generate(400, 20, 2, seed=4) != small


def test_valid_and_json_serialisable(small):
    """The scenario survives a JSON round trip and validates against the contract model."""
    scenario = Scenario.model_validate(json.loads(json.dumps(small, ensure_ascii=False)))
    assert len(scenario.sites) == 2 and len(scenario.depots) == 1
    assert {v.seats for v in scenario.fleet} == {53, 45, 35, 19}
    assert all(o.earliest_departure.utcoffset().total_seconds() == 8 * 3600 for o in scenario.orders)


def test_totals_match_workers(small):
    """Headcounts add up to exactly ``workers``, over exactly ``counties`` home counties."""
    assert sum(o["headcount"] for o in small["orders"]) == 400
    scenario = Scenario.model_validate(small)
    from planner.problem import compile_scenario

    data = compile_scenario(scenario)
    assert len({data.orders[i].place for i in range(len(data.orders))}) == 20
    assert all(o["cleared"] <= o["headcount"] for o in small["orders"])


def test_rules_off_sets_policy_flags():
    """``rules=False`` turns off driving and time rules and lifts the pickup-stop limit."""
    off = generate(400, 20, 2, seed=3, rules=False)
    assert off["policy"] == {"max_pickup_stops": 50, "driving_rules": False, "time_rules": False}
    on = generate(400, 20, 2, seed=3, max_stops=4)
    assert on["policy"] == {"max_pickup_stops": 4}
    assert off["orders"] == generate(400, 20, 2, seed=3)["orders"]


def test_sample_park_loads():
    """data/sample-park.json is a valid scenario of about 3,000 workers and 3 sites."""
    scenario = Scenario.model_validate(json.loads(SAMPLE.read_text(encoding="utf-8")))
    assert sum(o.headcount for o in scenario.orders) == 3000
    assert len(scenario.sites) == 3


def test_a_kunshan_park_with_trains_offers_them_where_coaches_cannot_reach():
    """Near Kunshan with far counties, the offers board at stations near the far workers (each
    within reach of a coach yard of its own), leave from fangang's rail network and end at the
    station nearest the park; the scenario validates and is the same for the same seed."""
    from benchmarks.generate import PARKS, train_offers  # noqa: F401  (the function the doc names)
    from planner.rail import RailNetwork, _geo_km

    d = generate(3000, 60, 2, seed=2, park="kunshan", far_km=3000, trains=3, reserved=1)
    assert d == generate(3000, 60, 2, seed=2, park="kunshan", far_km=3000, trains=3, reserved=1)
    sc = Scenario.model_validate(json.loads(json.dumps(d, ensure_ascii=False)))
    net = RailNetwork.default()
    dest = net.nearest(*PARKS["kunshan"].centre, 150)
    assert sc.trains and {t.alighting()[0] for t in sc.trains} == {dest}
    assert any(t.kind == "special" for t in sc.trains)
    for t in sc.trains:
        assert t.calls[0].depart < t.calls[-1].arrive and t.seats >= 100
        for b in t.boarding():
            st = next(s for s in sc.stations if s.id == b)
            yards = [dp for dp in sc.depots if _geo_km(st.location.lat, st.location.lon, dp.location.lat,
                                                       dp.location.lon) <= 150]
            assert any(v.depot in {y.id for y in yards} for v in sc.fleet)
    site = sc.sites[0].location
    assert _geo_km(site.lat, site.lon, *PARKS["kunshan"].centre) <= 16
    assert generate(3000, 60, 2, seed=2, park="kunshan", far_km=3000).get("trains") is None
