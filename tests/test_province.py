"""A province on a Dask ``LocalCluster`` (two worker processes): every park's plan checker-clean
and identical (same seed) to planning it alone, the summary adding up, a shared coach pool split
and re-split without a coach in two parks, a killed worker's park retried, and the command."""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time

import pytest
from typer.testing import CliRunner

from benchmarks.generate import generate
from planner.cli import app
from planner.contract import Scenario
from planner.optimize import solve
from planner.province import (
    Province,
    ProvinceResult,
    check_province,
    load_province,
    local_cluster,
    park_scenario,
    plan_province,
    split_pool,
    split_seats,
    summary,
    train_demand,
)

POOL = {"id": "pool53", "seats": 53, "count": 30, "depot": "P1", "fixed_cost": 1200, "cost_per_km": 7,
        "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00", "available_until": "2027-02-22T00:00:00+08:00"}
DEPOT = {"id": "P1", "name": "province coach pool", "location": {"lat": 32.0, "lon": 114.0}}
TL = 10


def parks(n: int = 200) -> dict[str, dict]:
    out = {}
    for i, park in enumerate(("zhengzhou", "kunshan", "chongqing")):
        d = generate(n, 12, 1, seed=10 + i, park=park)
        d["fleet"] = [v for v in d["fleet"] if v["id"] != "coach53"]
        out[park] = d
    return out


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    cluster = local_cluster(2)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def province() -> Province:
    return Province("test", parks(), regions=[{"county": "411525", "risk": "medium"}], depots=[DEPOT],
                    fleet_pool=[POOL])


@pytest.fixture(scope="module")
def planned(client, province) -> ProvinceResult:
    return plan_province(province, client, time_limit=TL, seed=0)


def test_every_park_is_planned_clean_and_as_it_would_be_alone(province, planned):
    assert check_province(province, planned) == []
    assert all(v == [] for v in planned.violations.values())
    pool = split_pool(province)
    for name in province.parks:
        alone = solve(Scenario.model_validate(park_scenario(province, name, pool[name])), time_limit=TL, seed=0)
        assert alone.model_dump(mode="json", by_alias=True, exclude_none=True)["trips"] == planned.plans[name]["trips"]
    # the province's regions apply in every park
    for sc in planned.scenarios.values():
        assert {"county": "411525", "risk": "medium"} in sc["regions"]


def test_the_summary_adds_up(province, planned):
    s = summary(province, planned)
    assert [p["park"] for p in s["parks"]] == sorted(province.parks)
    for key in ("requested", "eligible", "planned", "trips", "coaches", "km", "cost"):
        assert s["total"][key] == pytest.approx(sum(p[key] for p in s["parks"]))
    assert s["total"]["requested"] == sum(o["headcount"] for sc in province.parks.values() for o in sc["orders"])
    assert sum(s["by_home_province"].values()) == s["total"]["planned"]
    unplanned = sum(u["count"] for p in planned.plans.values() for u in p["unassigned"])
    assert sum(s["unassigned_by_reason"].values()) == unplanned == s["total"]["requested"] - s["total"]["planned"]


def test_the_pool_is_split_by_demand_and_idle_coaches_move_to_a_park_that_ran_short(client):
    """The parks own no coaches. Split by headcount, a pool of 12 gives each park 4. Split 6 / 2 / 2
    instead, Kunshan and Chongqing (recruiting far inland) run short while Zhengzhou needs 3: the
    second pass hands them its idle coaches and plans them again, and fewer are left behind."""
    ps = parks()
    for sc in ps.values():
        sc["fleet"] = []
    prov = Province("short", ps, depots=[DEPOT], fleet_pool=[{**POOL, "count": 12}])
    assert split_pool(prov) == {n: {"pool53": 4} for n in ps}
    first = {"zhengzhou": {"pool53": 6}, "kunshan": {"pool53": 2}, "chongqing": {"pool53": 2}}
    result = plan_province(prov, client, time_limit=TL, seed=0, first=first)
    assert check_province(prov, result) == []
    assert result.passes == 2 and set(result.moved) == {"kunshan", "chongqing"}
    moved = sum(v["pool53"] for v in result.moved.values())
    assert moved > 0 and result.pool["zhengzhou"]["pool53"] == 6 - moved
    assert sum(result.pool[n]["pool53"] for n in ps) <= 12
    short = sum(u["count"] for n in ("kunshan", "chongqing") for u in result.plans[n]["unassigned"]
                if u["reason"] == "no_vehicle")
    assert short < result.short_first["kunshan"] + result.short_first["chongqing"]


def test_the_province_checker_catches_a_coach_in_two_parks_and_beyond_a_share(province, planned):
    import copy

    broken = copy.deepcopy(planned)
    name = next(n for n, p in broken.plans.items() if any(t["vehicle_type"] == "pool53" for t in p["trips"]))
    broken.pool[name]["pool53"] = 0  # its trips now run on coaches it was never given
    found = check_province(province, broken)
    assert any("beyond the park's 0" in v for v in found)
    broken = copy.deepcopy(planned)
    for n in broken.pool:
        broken.pool[n]["pool53"] = 30  # 90 handed out of 30
    assert any("handed out, the pool has 30" in v for v in check_province(province, broken))


def test_a_worker_killed_mid_run_costs_a_retry_not_a_second_plan(client, province):
    result: dict = {}

    def run() -> None:
        result["r"] = plan_province(province, client, time_limit=TL, seed=1)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 60
    busy = {}
    while time.monotonic() < deadline and not any(busy.values()):
        busy = client.processing()
        time.sleep(0.1)
    assert any(busy.values()), "no park started"
    victim = next(w for w, keys in busy.items() if keys)
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=240)
    assert not t.is_alive()
    r = result["r"]
    assert sorted(r.plans) == sorted(province.parks)  # one plan each
    assert check_province(province, r) == []


def test_plan_province_command_writes_every_plan_and_the_summary(tmp_path, province):
    src = tmp_path / "prov"
    src.mkdir()
    for name, sc in province.parks.items():
        (src / f"{name}.json").write_text(json.dumps(sc, ensure_ascii=False), encoding="utf-8")
    (src / "province.json").write_text(json.dumps({"name": "p", "regions": province.regions, "depots": [DEPOT],
                                                   "fleet_pool": [POOL]}), encoding="utf-8")
    assert load_province(src).parks.keys() == province.parks.keys()
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan-province", str(src), "-o", str(out), "--time-limit", "5", "--workers", "2"])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["violations"] == [] and len(doc["parks"]) == 3
    assert {p.name for p in out.glob("plan-*.json")} == {f"plan-{n}.json" for n in province.parks}
    (src / "province.json").write_text(json.dumps({"name": "p", "fleet_pol": []}), encoding="utf-8")
    r = CliRunner().invoke(app, ["plan-province", str(src), "-o", str(out)])
    assert r.exit_code == 2 and "fleet_pol" in r.output


# ------------------------------------------------------------------ shared trains

def shared_train_province(tiny, *, min_riders: int = 1, cars: int = 3) -> Province:
    """Two parks near Zhengzhou, A (150 workers of 宣威) and B (80 of 宣威, its site ~20 km east),
    sharing the province's special train K1 曲靖站 → 郑州站 (``cars`` cars of 118 seats); each park
    has its own coaches, at the park and at 曲靖 for the feeders."""
    from test_trains import train_scenario

    a = train_scenario(tiny, n=150, trains=0, local=3)
    b = train_scenario(tiny, n=80, trains=0, sites=[tiny.site(lon=114.05)])
    shared = {"stations": a.pop("stations"), "trains": [{
        "id": "K1", "name": "K4201", "kind": "special", "cars": cars, "seats_per_car": 118,
        "fixed_cost": 20000, "cost_per_seat": 150, "min_riders": min_riders,
        "calls": [{"station": "QJZ", "depart": tiny.at(11, "20:00")}, {"station": "ZZZ", "arrive": tiny.at(12, "20:00")}]}]}
    for d in (a, b):
        d.pop("trains")
        d.pop("stations", None)
    return Province("shared-trains", {"A": a, "B": b}, stations=shared["stations"], trains=shared["trains"])


def test_a_shared_train_is_split_by_car_and_its_fixed_cost_counted_once(client, tiny):
    province = shared_train_province(tiny)
    assert train_demand(province) == {"K1": {"A": 150, "B": 80}}
    assert split_seats(province) == {"K1": {"A": 2, "B": 1}}  # 3 cars by 150 : 80, whole cars
    result = plan_province(province, client, time_limit=3, seed=0)
    assert check_province(province, result) == []
    loads = {n: [r for r in p["train_loads"] if r["train"] == "K1"] for n, p in result.plans.items()}
    assert sum(r["count"] for r in loads["A"]) == 150 and sum(r["count"] for r in loads["B"]) == 80
    assert max(r["car"] for r in loads["A"]) < 2 and max(r["car"] for r in loads["B"]) < 1
    copies = {n: next(t for t in sc["trains"] if t["id"] == "K1") for n, sc in result.scenarios.items()}
    assert copies["A"]["cars"] == 2 and copies["B"]["cars"] == 1
    assert copies["A"]["fixed_cost"] + copies["B"]["fixed_cost"] == pytest.approx(20000)
    doc = summary(province, result)
    (k1,) = doc["shared_trains"]
    assert k1["runs"] and k1["riders_by_park"] == {"A": 150, "B": 80}
    assert k1["cost"] == pytest.approx(20000 + 150 * 230)
    park_costs = sum(p["cost"] for p in doc["parks"])
    assert doc["total"]["cost"] == pytest.approx(park_costs)  # both parks ran it: their shares make the whole
    assert doc["total"]["trains"] == 1


def test_the_province_checker_catches_a_car_in_two_parks_and_a_train_below_its_fewest(client, tiny):
    province = shared_train_province(tiny)
    result = plan_province(province, client, time_limit=3, seed=0)
    broken = copy.deepcopy(result)
    broken.seats["K1"] = {"A": 2, "B": 2}  # four cars of a three-car train handed out
    for sc in broken.scenarios.values():
        next(t for t in sc["trains"] if t["id"] == "K1")["cars"] = 2
    broken.plans["B"]["train_loads"][0]["car"] = 1  # B's riders in its second car
    found = check_province(province, broken)
    assert any("4 cars handed out" in f for f in found), found
    broken = copy.deepcopy(result)
    broken.plans["A"]["train_loads"][0]["car"] = 2  # A's riders in B's car
    found = check_province(province, broken)
    assert any("beyond the park's 2 car(s)" in f for f in found), found
    assert any("used by parks A, B" in f for f in found), found
    strict = shared_train_province(tiny, min_riders=300)
    found = check_province(strict, result)  # 230 riders over both parks, 300 needed
    assert any("fewer than its 300" in f for f in found), found


def test_a_shared_train_too_few_ride_over_the_parks_is_taken_off(client, tiny):
    """K1 needs 200 riders. A's part (2 of 3 cars) needs 134, B's 67: but B's workers must arrive
    before the train does, so only A's 150 ride it in the first pass, fewer than 200 over the
    parks. The train is taken off A, whose workers are then planned without it."""
    province = shared_train_province(tiny, min_riders=200)
    for o in province.parks["B"]["orders"]:
        o["arrive_by"] = tiny.at(12, "12:00")
    result = plan_province(province, client, time_limit=3, seed=0)
    assert check_province(province, result) == []
    assert result.dropped == {"K1": ["A", "B"]} and result.passes >= 2
    assert all(not p.get("train_loads") for p in result.plans.values())
    assert "trains" not in result.scenarios["A"] or all(t["id"] != "K1" for t in result.scenarios["A"]["trains"])
    assert summary(province, result)["shared_trains"][0]["runs"] is False


def test_cars_a_park_left_empty_go_to_a_park_short_of_seats(client, tiny):
    """K1's 3 cars split 2 : 1 by the workers near 曲靖 (A 200, B 130). Half of A's must arrive
    before the train does: A fills one car; B's 130, whom no coach brings in time, overflow its
    one car of 118 (12 no_train_seat). In the second
    pass A keeps the car it filled, B gets the other: all 130 of B ride, no car in two parks."""
    province = shared_train_province(tiny)
    a, b = province.parks["A"], province.parks["B"]
    a["orders"] = [dict(a["orders"][0], id="Y1", headcount=100, cleared=100),
                   dict(a["orders"][0], id="Y2", headcount=100, cleared=100, arrive_by=tiny.at(12, "12:00"))]
    b["orders"][0].update(headcount=130, cleared=130, arrive_by=tiny.at(13, "08:00"))  # too soon for a coach
    b["fleet"][1]["count"] = 3  # feeders enough for 130
    assert split_seats(province) == {"K1": {"A": 2, "B": 1}}
    result = plan_province(province, client, time_limit=3, seed=0)
    assert check_province(province, result) == []
    assert result.seats_first == {"K1": {"A": 2, "B": 1}} and result.seats == {"K1": {"A": 1, "B": 2}}
    riders = summary(province, result)["shared_trains"][0]["riders_by_park"]
    assert riders == {"A": 100, "B": 130}
    assert not any(u["reason"] == "no_train_seat" for p in result.plans.values() for u in p.get("unassigned", []))


def test_a_shared_train_calling_at_an_unknown_station_is_refused_and_the_command_plans_with_it(tmp_path, tiny):
    province = shared_train_province(tiny)
    for name, sc in province.parks.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(sc), encoding="utf-8")
    shared = {"stations": province.stations[:1], "trains": province.trains}  # 郑州站 left out
    (tmp_path / "province.json").write_text(json.dumps(shared), encoding="utf-8")
    with pytest.raises(ValueError, match=r"trains\[0\] \(K1\): calls at ZZZ"):
        load_province(tmp_path)
    shared["stations"] = province.stations
    (tmp_path / "province.json").write_text(json.dumps(shared), encoding="utf-8")
    assert [t["id"] for t in load_province(tmp_path).trains] == ["K1"]
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan-province", str(tmp_path), "-o", str(out), "--time-limit", "3", "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "shared train K1 K4201: cars A 2, B 1 (of 3); riders A 150, B 80; runs" in r.output
    doc = json.loads((out / "province.json").read_text(encoding="utf-8"))
    assert doc["violations"] == [] and doc["shared_trains"][0]["cost"] == pytest.approx(20000 + 150 * 230)
