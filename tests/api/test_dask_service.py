"""The service on a Dask cluster (``FANGANG_DASK_SCHEDULER``): plan jobs run as tasks on a
``LocalCluster`` instead of local processes; progress, results and cancel behave as before."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app

from api_helpers import add_principal, wait_for


@pytest.fixture(scope="module")
def scheduler():
    from planner.province import local_cluster

    cluster = local_cluster(1)
    yield cluster.scheduler_address
    cluster.close()


def test_a_plan_runs_on_the_cluster_with_its_progress(make_settings, scheduler):
    from benchmarks.generate import generate

    park = generate(1500, 50, 1, seed=3)  # a search that takes its time limit
    reference = {k: v for k, v in park.items() if k != "orders"}
    orders = [{k: v for k, v in o.items() if k != "agency"} for o in park["orders"]]
    with TestClient(create_app(make_settings(dask_scheduler=scheduler))) as client:
        co = add_principal(client, "coordinator", "park")
        ag = add_principal(client, "agency", "agency-a")
        assert client.put("/v1/reference", json=reference, headers=co).status_code == 200
        assert client.post("/v1/orders", json=orders, headers=ag).status_code == 201
        plan_id = client.post("/v1/plans", json={"time_limit": 6}, headers=co).json()["id"]
        seen = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = client.get(f"/v1/plans/{plan_id}", headers=co).json()
            seen.add((body["status"], body["phase"]))
            if body["status"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.05)
        assert body["status"] == "done", body
        # progress came over the cluster's event topic: solver phases, not only queued/starting
        assert {p for s, p in seen if s == "running"} - {"starting", None}
        doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=co).json()
        cleared = sum(o["cleared"] for o in orders)
        assert doc["summary"]["workers_eligible"] == cleared and body["violations"] is None
        assert doc["summary"]["workers_planned"] + sum(u["count"] for u in doc["unassigned"]) == \
            sum(o["headcount"] for o in orders)
    # and it was the cluster that solved it
    from distributed import Client

    with Client(scheduler) as dask:
        prefixes = dask.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "fangang-plan" in prefixes


def test_a_plan_on_the_cluster_can_be_cancelled(make_settings, scheduler):
    with TestClient(create_app(make_settings(dask_scheduler=scheduler, max_time_limit=600))) as client:
        co = add_principal(client, "coordinator", "park")
        ag = add_principal(client, "agency", "agency-a")
        from benchmarks.generate import generate

        park = generate(1500, 50, 1, seed=3)  # a search that takes its time limit
        reference = {k: v for k, v in park.items() if k != "orders"}
        rows = [{k: v for k, v in o.items() if k != "agency"} for o in park["orders"]]
        assert client.put("/v1/reference", json=reference, headers=co).status_code == 200
        assert client.post("/v1/orders", json=rows, headers=ag).status_code == 201
        plan_id = client.post("/v1/plans", json={"time_limit": 120}, headers=co).json()["id"]
        deadline = time.monotonic() + 60  # computing on the worker: its solver phases come in
        while client.get(f"/v1/plans/{plan_id}", headers=co).json()["phase"] in (None, "starting") \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.delete(f"/v1/plans/{plan_id}", headers=co).status_code == 200
        assert wait_for(client, plan_id, co, timeout=30)["status"] == "cancelled"
        # the task itself stopped computing (a Dask cancel alone would let it run its 120 s)
        from distributed import Client

        with Client(scheduler) as dask:
            deadline = time.monotonic() + 30
            stopped = []
            while time.monotonic() < deadline and not stopped:
                stopped = dask.get_events(f"fangang-plan-{plan_id}-stopped")
                time.sleep(0.2)
            assert stopped, "the cancelled task kept computing"
            assert stopped[0][1]["after_seconds"] < 60
            # it says so just before it returns: the worker is free a moment later
            deadline = time.monotonic() + 10
            busy = dask.run(lambda dask_worker: len(dask_worker.state.executing))
            while sum(busy.values()) and time.monotonic() < deadline:
                time.sleep(0.1)
                busy = dask.run(lambda dask_worker: len(dask_worker.state.executing))
            assert sum(busy.values()) == 0


def test_a_task_whose_service_is_gone_stops_computing(scheduler):
    """The service is killed mid-solve (its Dask client drops without a cancel): nobody wants
    the result any more, and the task stops at its next progress report."""
    from distributed import Client

    from api import _solve
    from benchmarks.generate import generate

    park = generate(1500, 50, 1, seed=3)
    topic = "fangang-plan-gone"
    dask = Client(scheduler, set_as_default=False)
    fut = dask.submit(_solve.run_on_dask, {"scenario": park}, 120.0, 0, topic, "fangang-plan-gone-cancel",
                      key="fangang-plan-gone-1", pure=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(e[1][1] not in ("starting",) for e in dask.get_events(topic)):
        time.sleep(0.1)
    assert dask.get_events(topic), "the task never started"
    del fut
    dask.close()  # as a killed service's connection would
    with Client(scheduler, set_as_default=False) as other:
        deadline = time.monotonic() + 30
        stopped = ()
        while time.monotonic() < deadline and not stopped:
            stopped = other.get_events(f"{topic}-stopped")
            time.sleep(0.2)
        assert stopped, "the orphaned task kept computing"
        assert stopped[0][1]["after_seconds"] < 60
