"""Trains through the service: stations and train offers in the reference data, and what a plan
with a train gives people (car manifests with feeder pickups, boarding lists naming station,
train and car, the schedule's purpose column, the report's coach and train costs).

The geography of tests/test_trains.py: workers of 宣威市 (Yunnan) for the factory near Zhengzhou
by 13 Feb 08:00 — no coach can bring them, train K1 曲靖站 → 郑州站 can, with local coaches at 曲靖.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

import api_factories as f
from api_helpers import publish, wait_for

STATIONS = [{"id": "QJZ", "name": "曲靖站", "location": {"lat": 25.49, "lon": 103.80}},
            {"id": "ZZZ", "name": "郑州站", "location": {"lat": 34.75, "lon": 113.63}}]
TRAIN = {"id": "K1", "name": "K4231", "kind": "special", "cars": 2, "seats_per_car": 118, "fixed_cost": 20000,
         "cost_per_seat": 150, "min_riders": 1,
         "calls": [{"station": "QJZ", "depart": "2027-02-11T20:00:00+08:00"},
                   {"station": "ZZZ", "arrive": "2027-02-12T16:00:00+08:00"}]}


def train_reference() -> dict:
    ref = f.reference(stations=STATIONS, trains=[TRAIN])
    ref["depots"].append({"id": "QJ", "name": "曲靖客运", "location": {"lat": 25.50, "lon": 103.81}})
    ref["fleet"].append({"id": "q53", "seats": 53, "count": 2, "depot": "QJ", "fixed_cost": 800, "cost_per_km": 6,
                         "crew_cost": 500, "available_from": "2027-02-11T00:00:00+08:00",
                         "available_until": "2027-02-21T00:00:00+08:00"})
    return ref


def far_order(**changes) -> dict:
    return f.order(**{"origin": {"county": "530381"}, "earliest_departure": "2027-02-11T06:00:00+08:00",
                      "arrive_by": "2027-02-13T08:00:00+08:00", **changes})


def _csv(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_stations_and_train_offers_are_reference_data(client, coordinator):
    r = client.put("/v1/reference", json=train_reference(), headers=coordinator)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["stations"]] == ["QJZ", "ZZZ"] and r.json()["trains"][0]["name"] == "K4231"
    assert client.get("/v1/reference/trains/K1", headers=coordinator).json()["calls"][0]["station"] == "QJZ"
    # a second offer: reserved cars on a scheduled train
    cars = {**TRAIN, "id": "K2", "name": "K1158", "kind": "cars", "cars": 1, "fixed_cost": 0}
    assert client.put("/v1/reference/trains/K2", json=cars, headers=coordinator).status_code == 200
    assert [t["id"] for t in client.get("/v1/reference/trains", headers=coordinator).json()] == ["K1", "K2"]
    # an offer calling at an unknown station is refused, naming the call; nothing changes
    bad = {**TRAIN, "id": "K3", "calls": [TRAIN["calls"][0], {"station": "XX", "arrive": "2027-02-12T20:00:00+08:00"}]}
    r = client.put("/v1/reference/trains/K3", json=bad, headers=coordinator)
    assert r.status_code == 422 and r.json()["problems"][0]["where"] == "body.calls[1]"
    assert "XX" in r.json()["problems"][0]["message"]
    assert client.get("/v1/reference/trains/K3", headers=coordinator).status_code == 404
    # a station a train calls at cannot be removed; once the offers are gone it can
    assert client.delete("/v1/reference/stations/QJZ", headers=coordinator).status_code == 409
    for t in ("K1", "K2"):
        assert client.delete(f"/v1/reference/trains/{t}", headers=coordinator).status_code == 204
    assert client.delete("/v1/reference/stations/QJZ", headers=coordinator).status_code == 204
    assert [s["id"] for s in client.get("/v1/reference/stations", headers=coordinator).json()] == ["ZZZ"]


def test_a_whole_reference_with_a_train_at_an_unknown_station_is_refused(client, coordinator):
    ref = train_reference()
    ref["stations"] = ref["stations"][:1]
    r = client.put("/v1/reference", json=ref, headers=coordinator)
    assert r.status_code == 422 and "ZZZ" in r.text
    assert client.get("/v1/reference", headers=coordinator).json()["trains"] == []


@pytest.fixture
def train_plan(client, coordinator, agency_a, agency_b):
    assert client.put("/v1/reference", json=train_reference(), headers=coordinator).status_code == 200
    roster = [f.worker("张三"), f.worker("李四", id_number="530381199202021111", phone="13900001111"),
              f.worker("赵六", id_number="530381199404044444", phone="13600004444")]
    r = client.post("/v1/orders", json=[far_order(headcount=None, cleared=None, workers=roster)], headers=agency_a)
    assert r.status_code == 201, r.text
    r = client.post("/v1/orders", json=[far_order(id="B1", headcount=60, cleared=60)], headers=agency_b)
    assert r.status_code == 201, r.text
    plan_id = client.post("/v1/plans", json={"time_limit": 3}, headers=coordinator).json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    assert doc["summary"]["workers_by_mode"] == {"coach": 0, "train": 63}
    publish(client, plan_id, coordinator)  # agencies read the plan in force only
    return plan_id


def test_train_manifests_list_each_worker_by_car_with_the_feeder_pickup(client, coordinator, agency_a, train_plan):
    rows = _csv(client.get(f"/v1/plans/{train_plan}/train-manifests.csv", headers=coordinator))
    assert sum(int(r["人数 count"]) for r in rows) == 63
    named = [r for r in rows if r["姓名 name"] in ("张三", "李四", "赵六")]
    assert len(named) == 3 and {r["列车 train"] for r in rows} == {"K4231 (K1)"}
    for r in named:
        assert r["上车站 boards at"] == "曲靖站" and r["下车站 alights at"] == "郑州站"
        assert r["开车 departs"] == "2027-02-11 20:00" and r["车厢 car"] in ("1", "2")
        assert r["接站车 feeder coach"].startswith("q53") and r["接站上车时间 feeder boards"] < "2027-02-11 19:00"
    assert "530381199202021111" in {r["身份证号 ID number"] for r in named}  # coordinators see full numbers
    # an agency sees its own workers only, masked
    mine = _csv(client.get(f"/v1/plans/{train_plan}/train-manifests.csv", headers=agency_a))
    assert {r["姓名 name"] for r in mine} == {"张三", "李四", "赵六"}
    assert all("*" in r["身份证号 ID number"] for r in mine)
    wb = load_workbook(io.BytesIO(client.get(f"/v1/plans/{train_plan}/train-manifests.xlsx",
                                             headers=coordinator).content))
    assert wb.sheetnames == ["列车 K4231 (K1)"]


def test_boarding_list_names_station_train_and_car_and_the_site_after_the_last_mile(client, agency_a, train_plan):
    rows = _csv(client.get(f"/v1/plans/{train_plan}/boarding.csv", headers=agency_a))
    assert sum(int(r["人数 count"]) for r in rows) == 3  # once each: the feeder, not the last mile too
    for r in rows:
        assert r["火车站 station"] == "曲靖站" and r["列车 train"] == "K4231" and r["车厢 car"]
        assert r["开车 train departs"] == "2027-02-11 20:00" and r["工厂 site"].endswith("(F1)")
        assert r["预计到达 arrives"] > "2027-02-12 17:00" and r["上车时间 boarding"] < "2027-02-11 19:00"


def test_schedule_says_each_trips_purpose(client, coordinator, train_plan):
    rows = _csv(client.get(f"/v1/plans/{train_plan}/schedule.csv", headers=coordinator))
    purposes = {r["用途 purpose"] for r in rows}
    assert purposes == {"接站 feeder", "送厂 last mile"}
    assert all(r["车型 vehicle type"] == "q53" for r in rows if r["用途 purpose"] == "接站 feeder")


def test_report_splits_coach_and_train_cost_and_counts_each_worker_once(client, coordinator, train_plan):
    rep = client.get(f"/v1/plans/{train_plan}/report.json", headers=coordinator).json()
    doc = client.get(f"/v1/plans/{train_plan}/plan.json", headers=coordinator).json()
    total = rep["total"]
    assert total["workers_delivered"] == 63 and total["workers_by_train"] == 63
    assert total["train_cost_share"] == pytest.approx(doc["summary"]["train_cost"], abs=0.05)
    assert total["coach_cost_share"] == pytest.approx(doc["summary"]["cost"], abs=0.05)
    assert total["cost_share"] == pytest.approx(total["coach_cost_share"] + total["train_cost_share"], abs=0.02)
    by_agency = {a["name"]: a for a in rep["agencies"]}
    assert by_agency["agency-a"]["workers_by_train"] == 3 and by_agency["agency-b"]["workers_by_train"] == 60
    # the train's fixed cost is shared per rider: 3 of 63 riders pay 3/63 of it, plus their seats
    assert by_agency["agency-a"]["train_cost_share"] == pytest.approx(3 * 150 + 20000 * 3 / 63, abs=0.05)


def test_an_agencys_summary_counts_each_train_worker_once(client, agency_a, agency_b, train_plan):
    """A train worker boards the feeder and then the last mile: planned once, not twice."""
    for headers, n in ((agency_a, 3), (agency_b, 60)):
        doc = client.get(f"/v1/plans/{train_plan}/plan.json", headers=headers).json()
        assert doc["summary"]["workers_planned"] == n
