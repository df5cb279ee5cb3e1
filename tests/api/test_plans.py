"""Plan jobs: 202 + polling, the checker, cancel, restarts, dispatch and re-planning."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from planner.check import check
from planner.contract import Plan, Scenario

import api_factories as f
import api_slow_solver as slow_solver
from api_helpers import add_principal, publish, wait_for


def _submit(client, headers, orders):
    r = client.post("/v1/orders", json=orders, headers=headers)
    assert r.status_code == 201, r.text
    return [o["id"] for o in r.json()["orders"]]


def test_plan_job_end_to_end(client, coordinator, agency_a, agency_b, with_reference):
    """A plan runs as a job (202, queued/running, done) and its plan.json passes the planner's checker."""
    _submit(client, agency_a, [f.order(), f.order(id="O2", origin={"county": "410581"}, headcount=20, cleared=20)])
    _submit(client, agency_b, [f.order(id="B1", origin={"county": "411525"}, headcount=30, cleared=25, failed=5,
                                       arrive_by="2027-02-13T00:00:00+08:00")])
    r = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator)
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    assert r.json()["status"] in ("queued", "running") and r.headers["Location"] == f"/v1/plans/{plan_id}"
    body = wait_for(client, plan_id, coordinator)
    assert body["status"] == "done", body
    assert body["summary"]["workers_requested"] == 90 and body["phase"] == "done" and body["best_cost"] > 0
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    scenario = Scenario.model_validate(client.get(f"/v1/plans/{plan_id}/input.json", headers=coordinator).json())
    plan = Plan.model_validate(doc)
    assert check(scenario, plan) == []
    assert plan.summary.workers_planned == 38 + 20 + 25
    assert {u.reason for u in plan.unassigned} == {"screening_pending", "screening_failed"}


def test_plan_snapshot_is_frozen(client, coordinator, agency_a, with_reference):
    """A plan keeps the inputs it used: orders changed after it was started do not change it."""
    (oid,) = _submit(client, agency_a, [f.order()])
    plan_id = client.post("/v1/plans", json={"time_limit": 1}, headers=coordinator).json()["id"]
    client.patch(f"/v1/orders/{oid}", json={"headcount": 50, "cleared": 50}, headers=agency_a)
    wait_for(client, plan_id, coordinator)
    snapshot = client.get(f"/v1/plans/{plan_id}/input.json", headers=coordinator).json()
    assert snapshot["orders"][0]["headcount"] == 40
    assert client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()["summary"]["workers_requested"] == 40


def test_agency_sees_only_its_own_trips(client, coordinator, agency_a, agency_b, with_reference):
    """An agency's view of a plan holds only trips with its workers and only its own loads."""
    (a1,) = _submit(client, agency_a, [f.order(headcount=20, cleared=20)])
    (b1,) = _submit(client, agency_b, [f.order(id="B1", headcount=20, cleared=20)])  # same county: may share a coach
    (b2,) = _submit(client, agency_b, [f.order(id="B2", origin={"county": "411381"}, headcount=45, cleared=45)])
    plan_id = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    publish(client, plan_id, coordinator)
    full = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    mine = client.get(f"/v1/plans/{plan_id}/plan.json", headers=agency_a).json()
    loads = {ld["order"] for t in mine["trips"] for s in t["stops"] for ld in s["board"] + s["alight"]}
    assert loads == {a1}
    assert len(mine["trips"]) < len(full["trips"])
    assert client.get(f"/v1/plans/{plan_id}", headers=agency_a).json()["summary"]["workers_requested"] == 20
    assert client.get(f"/v1/plans/{plan_id}/trips", headers=agency_a).json() == mine["trips"]


def test_plan_with_no_reference_data_is_refused(client, coordinator):
    """Planning without a fleet answers 409 with a clear message, and starts no job."""
    r = client.post("/v1/plans", json={}, headers=coordinator)
    assert r.status_code == 409 and "fleet" in r.json()["detail"]
    assert client.get("/v1/plans", headers=coordinator).json() == []


def test_plan_bad_inputs(client, coordinator, agency_a, with_reference):
    """A time limit out of range, an unknown base plan, or an agency starting a plan are refused."""
    assert client.post("/v1/plans", json={"time_limit": -1}, headers=coordinator).status_code == 422
    assert client.post("/v1/plans", json={"time_limit": 10**6}, headers=coordinator).status_code == 422
    assert client.post("/v1/plans", json={"base_plan": 42}, headers=coordinator).status_code == 404
    assert client.post("/v1/plans", json={}, headers=agency_a).status_code == 403
    assert client.get("/v1/plans/42", headers=coordinator).status_code == 404
    assert client.get("/v1/plans/42/plan.json", headers=coordinator).status_code == 404


@pytest.fixture
def slow_client(settings):
    """A service whose solver waits out its time limit first, so plans are seen running."""
    with TestClient(create_app(settings, solver=slow_solver.run)) as c:
        yield c


def test_cancel_running_and_queued_plans(slow_client):
    """DELETE cancels a running plan (its process is ended) and a queued one; a cancelled plan has no outputs."""
    client = slow_client
    coordinator = add_principal(client, "coordinator", "park")
    agency_a = add_principal(client, "agency", "a")
    client.put("/v1/reference", json=f.reference(), headers=coordinator)
    _submit(client, agency_a, [f.order()])
    first = client.post("/v1/plans", json={"time_limit": 60}, headers=coordinator).json()["id"]
    second = client.post("/v1/plans", json={"time_limit": 60}, headers=coordinator).json()["id"]
    body = wait_for(client, first, coordinator, ("running",))
    deadline = time.monotonic() + 30
    while body["phase"] != "waiting":  # progress from the solver process has reached the plan
        assert body["status"] == "running" and time.monotonic() < deadline, body
        time.sleep(0.05)
        body = client.get(f"/v1/plans/{first}", headers=coordinator).json()
    started = time.monotonic()
    r = client.delete(f"/v1/plans/{first}", headers=coordinator)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert time.monotonic() - started < 10
    r = client.delete(f"/v1/plans/{second}", headers=coordinator)
    assert r.json()["status"] == "cancelled"
    assert client.get(f"/v1/plans/{first}/plan.json", headers=coordinator).status_code == 409
    assert client.delete(f"/v1/plans/{first}", headers=coordinator).status_code == 409
    assert client.app.state.runner.running() == []


def test_runner_restarted_mid_job(make_settings):
    """A plan cut off by a restart is marked failed (never left running); queued plans run after the restart."""
    settings = make_settings(job_stale_seconds=1.0)
    with TestClient(create_app(settings, solver=slow_solver.run)) as c1:
        coord = add_principal(c1, "coordinator", "park")
        agency = add_principal(c1, "agency", "a")
        c1.put("/v1/reference", json=f.reference(), headers=coord)
        c1.post("/v1/orders", json=[f.order()], headers=agency)
        cut = c1.post("/v1/plans", json={"time_limit": 60}, headers=coord).json()["id"]
        waiting = c1.post("/v1/plans", json={"time_limit": 1}, headers=coord).json()["id"]
        wait_for(c1, cut, coord, ("running",))
        # the service dies: its runner stops without a word to the database, its solver is killed
        runner = c1.app.state.runner
        runner._stop.set()
        runner._wake.set()
        runner._thread.join(5)
        for run in runner._running.values():
            run.process.kill()
        runner._running.clear()
    time.sleep(1.2)  # the dead runner's heartbeat goes stale
    with TestClient(create_app(settings)) as c2:
        body = c2.get(f"/v1/plans/{cut}", headers=coord).json()
        assert body["status"] == "failed" and "restart" in body["error"]
        assert wait_for(c2, waiting, coord)["status"] == "done"


def test_replan_keeps_dispatched_trips(client, coordinator, agency_a, with_reference):
    """Re-planning keeps dispatched trips exactly as they were and plans only the rest (late headcounts)."""
    ids = _submit(client, agency_a, [f.order(headcount=53, cleared=53),
                                     f.order(id="O2", origin={"county": "410581"}, headcount=30, cleared=30)])
    first = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    assert wait_for(client, first, coordinator)["status"] == "done"
    trips = client.get(f"/v1/plans/{first}/trips", headers=coordinator).json()
    kept = next(t for t in trips if any(ld["order"] == ids[0] for s in t["stops"] for ld in s["board"]))
    r = client.post(f"/v1/plans/{first}/trips/{kept['id']}/dispatch", headers=coordinator)
    assert r.status_code == 200 and r.json()["dispatched"] is True
    assert client.post(f"/v1/plans/{first}/trips/nope/dispatch", headers=coordinator).status_code == 404
    assert client.post(f"/v1/plans/{first}/trips/{kept['id']}/dispatch", headers=agency_a).status_code == 403
    # late headcount: more workers for the second county, and a new county
    client.patch(f"/v1/orders/{ids[1]}", json={"headcount": 40, "cleared": 40}, headers=agency_a)
    _submit(client, agency_a, [f.order(id="O3", origin={"county": "411525"}, headcount=25, cleared=25)])
    second = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    body = wait_for(client, second, coordinator)
    assert body["status"] == "done", body
    assert body["base_plan"] == first and body["fixed_trips"] == 1
    doc = client.get(f"/v1/plans/{second}/plan.json", headers=coordinator).json()
    same = [t for t in doc["trips"] if t["id"] == kept["id"]]
    assert len(same) == 1 and same[0]["dispatched"] is True
    assert same[0]["stops"] == kept["stops"] and same[0]["bus"] == kept["bus"]
    assert doc["summary"]["workers_planned"] == 53 + 40 + 25
    scenario = Scenario.model_validate(client.get(f"/v1/plans/{second}/input.json", headers=coordinator).json())
    assert check(scenario, Plan.model_validate(doc)) == []


def test_plan_failing_the_checker_is_not_served(settings):
    """A plan the checker rejects is marked failed with its violations, and plan.json is refused."""
    with TestClient(create_app(settings, solver=slow_solver.broken)) as client:
        coord = add_principal(client, "coordinator", "park")
        agency = add_principal(client, "agency", "a")
        client.put("/v1/reference", json=f.reference(), headers=coord)
        _submit(client, agency, [f.order()])
        plan_id = client.post("/v1/plans", json={"time_limit": 1}, headers=coord).json()["id"]
        body = wait_for(client, plan_id, coord)
        assert body["status"] == "failed" and "checker" in body["error"]
        assert body["violations"] and body["violations"][0]["rule"]
        r = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coord)
        assert r.status_code == 409 and "checker" in r.json()["detail"]


def test_idempotent_plan_submission(client, coordinator, agency_a, with_reference):
    """Retrying POST /v1/plans with the same Idempotency-Key returns the same plan instead of a second one."""
    _submit(client, agency_a, [f.order()])
    h = {**coordinator, "Idempotency-Key": "plan-monday"}
    first = client.post("/v1/plans", json={"time_limit": 1}, headers=h)
    again = client.post("/v1/plans", json={"time_limit": 1}, headers=h)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert len(client.get("/v1/plans", headers=coordinator).json()) == 1
    wait_for(client, first.json()["id"], coordinator)


# ------------------------------------------------------------------ plans as printed


def _done(client, coordinator, **body):
    plan_id = client.post("/v1/plans", json={"time_limit": 2, **body}, headers=coordinator).json()["id"]
    got = wait_for(client, plan_id, coordinator)
    assert got["status"] == "done", got
    return plan_id


def _checked(client, coordinator, plan_id):
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    scenario = Scenario.model_validate(client.get(f"/v1/plans/{plan_id}/input.json", headers=coordinator).json())
    plan = Plan.model_validate(doc)
    assert check(scenario, plan) == []
    return plan


def test_screening_is_judged_worker_by_worker(client, coordinator, agency_a, with_reference):
    """A roster of three cleared workers, one screened only until before anyone can leave: that
    one is screening_expired, the other two ride (one early expiry used to hold back the order)."""
    workers = [f.worker("甲"), f.worker("乙", id_number="410526199001011250"),
               f.worker("丙", id_number="410526199001011269", screening_valid_until="2027-02-11T07:00:00+08:00")]
    (oid,) = _submit(client, agency_a, [f.order(headcount=None, cleared=None, workers=workers)])
    plan = _checked(client, coordinator, _done(client, coordinator))
    assert plan.summary.workers_planned == 2
    assert [(u.order, u.count, u.reason) for u in plan.unassigned] == [(oid, 1, "screening_expired")]


def test_replan_after_a_no_show_on_a_dispatched_trip(client, coordinator, agency_a, with_reference):
    """A dispatched trip boards 40; two do not show up (headcount 38): the re-plan keeps the trip
    with 38 aboard, says so in its warnings, and passes the checker (it used to fail: "counted twice")."""
    (oid,) = _submit(client, agency_a, [f.order(headcount=40, cleared=40)])
    first = _done(client, coordinator)
    (trip,) = client.get(f"/v1/plans/{first}/trips", headers=coordinator).json()
    client.post(f"/v1/plans/{first}/trips/{trip['id']}/dispatch", headers=coordinator)
    assert client.patch(f"/v1/orders/{oid}", json={"headcount": 38, "cleared": 38}, headers=agency_a).status_code == 200
    plan = _checked(client, coordinator, _done(client, coordinator))
    (kept,) = plan.trips
    assert kept.id == trip["id"] and kept.dispatched
    assert sum(ld.count for s in kept.stops for ld in s.board) == 38
    assert [w.code for w in plan.warnings] == ["no_show"]


def test_a_coach_type_with_dispatched_trips_stays(client, coordinator, agency_a, with_reference):
    """While a trip on coach53 is dispatched, deleting coach53, cutting its count under the coach,
    or replacing the fleet without it is refused (409) naming the trip; un-dispatched, it may go."""
    _submit(client, agency_a, [f.order(headcount=53, cleared=53)])
    first = _done(client, coordinator)
    trip = next(t for t in client.get(f"/v1/plans/{first}/trips", headers=coordinator).json()
                if t["vehicle_type"] == "coach53")
    client.post(f"/v1/plans/{first}/trips/{trip['id']}/dispatch", headers=coordinator)
    r = client.delete("/v1/reference/fleet/coach53", headers=coordinator)
    assert r.status_code == 409 and trip["id"] in r.json()["detail"]
    r = client.put("/v1/reference/fleet/coach53", json=dict(f.FLEET[0], count=trip["bus"]), headers=coordinator)
    assert r.status_code == 409
    r = client.put("/v1/reference", json=f.reference(fleet=[f.FLEET[1]]), headers=coordinator)
    assert r.status_code == 409
    second = _done(client, coordinator)  # the re-plan still works, and keeps the trip dispatched
    for plan_id in (first, second):
        client.delete(f"/v1/plans/{plan_id}/trips/{trip['id']}/dispatch", headers=coordinator)
    assert client.delete("/v1/reference/fleet/coach53", headers=coordinator).status_code == 204


def test_nothing_is_planned_before_now(client, coordinator, agency_a, with_reference):
    """A plan made "now" = 11 Feb 14:00 leaves nothing earlier; the plan records its now."""
    _submit(client, agency_a, [f.order(arrive_by="2027-02-13T00:00:00+08:00")])
    plan = _checked(client, coordinator, _done(client, coordinator, now="2027-02-11T14:00:00+08:00"))
    assert plan.trips and all(t.stops[0].depart.isoformat() >= "2027-02-11T14:00:00+08:00" for t in plan.trips)
    assert plan.solver.now.isoformat() == "2027-02-11T14:00:00+08:00"


def test_an_agency_never_reads_another_agencys_orders_in_an_error(settings):
    """A plan failing the checker: the coordinator reads the violation (naming orders); an agency
    only that the plan could not be made."""
    with TestClient(create_app(settings, solver=slow_solver.broken)) as client:
        coord = add_principal(client, "coordinator", "park")
        agency = add_principal(client, "agency", "a")
        other = add_principal(client, "agency", "b")
        client.put("/v1/reference", json=f.reference(), headers=coord)
        _submit(client, other, [f.order(id="B-secret")])
        _submit(client, agency, [f.order()])
        plan_id = client.post("/v1/plans", json={"time_limit": 1}, headers=coord).json()["id"]
        assert wait_for(client, plan_id, coord)["status"] == "failed"
        assert "checker" in client.get(f"/v1/plans/{plan_id}", headers=coord).json()["error"]
        assert client.post(f"/v1/plans/{plan_id}/publish", headers=coord).status_code == 409  # never in force
        for path in ("", "/plan.json"):  # so an agency reads nothing of it
            r = client.get(f"/v1/plans/{plan_id}{path}", headers=agency)
            assert r.status_code == 404 and "checker" not in r.text and "violation" not in r.text


def test_the_service_plans_and_checks_with_its_road_table(make_settings, tmp_path):
    """FANGANG_ROADS names a road table: plans record it, and their check measures with it."""
    import csv as csvmod

    path = tmp_path / "roads.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csvmod.writer(fh)
        w.writerow(["from", "to", "km"])
        w.writerows([("D1", "410526", 230), ("410526", "F1", 225), ("F1", "D1", 5)])
    with TestClient(create_app(make_settings(roads=str(path)))) as client:
        coord = add_principal(client, "coordinator", "park")
        agency = add_principal(client, "agency", "a")
        client.put("/v1/reference", json=f.reference(), headers=coord)
        _submit(client, agency, [f.order()])
        plan_id = _done(client, coord)
        doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coord).json()
        assert doc["solver"]["roads"] == str(path)
        assert [t["km"] for t in doc["trips"]] == [460.0]
        scenario = Scenario.model_validate(client.get(f"/v1/plans/{plan_id}/input.json", headers=coord).json())
        assert check(scenario, Plan.model_validate(doc)) == []
