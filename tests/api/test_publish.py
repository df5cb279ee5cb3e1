"""The plan in force: publishing (versions), agencies reading only the published plan, a re-plan's
difference from it (trips added / removed / retimed, boardings per order and worker, stable trip
refs) and whom to tell (notify.csv / .xlsx), in the JSON API and the console."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from test_console import csrf_of, sign_in

import api_factories as f
from api_helpers import wait_for


def _plan(client, coordinator, **body):
    r = client.post("/v1/plans", json={"time_limit": 2, **body}, headers=coordinator)
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    return plan_id


def _orders(client, agency_a, agency_b):
    roster = [f.worker("张三"), f.worker("李四", id_number="410526199202021111", phone="13900001111")]
    r = client.post("/v1/orders", json=[f.order(headcount=None, cleared=None, workers=roster)], headers=agency_a)
    assert r.status_code == 201, r.text
    (a1,) = [o["id"] for o in r.json()["orders"]]
    r = client.post("/v1/orders", json=[f.order(id="B1", origin={"county": "410581"}, headcount=30, cleared=30)],
                    headers=agency_b)
    assert r.status_code == 201, r.text
    (b1,) = [o["id"] for o in r.json()["orders"]]
    return a1, b1


def _csv(resp):
    assert resp.status_code == 200, resp.text
    assert resp.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_publish_and_version(client, coordinator, agency_a, agency_b, with_reference):
    """A done plan is published as version 1, another as version 2; the newest is in force."""
    _orders(client, agency_a, agency_b)
    assert client.get("/v1/plans/published", headers=coordinator).status_code == 404
    first = _plan(client, coordinator)
    second = _plan(client, coordinator)
    assert client.post(f"/v1/plans/{first}/publish", headers=agency_a).status_code == 403
    r = client.post(f"/v1/plans/{first}/publish", json={"note": "春节第一版"}, headers=coordinator)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["plan"] == first and r.json()["published_by"] == "park"
    again = client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    assert again.status_code == 409 and "already" in again.json()["detail"]
    assert client.post(f"/v1/plans/{second}/publish", headers=coordinator).json()["version"] == 2
    now = client.get("/v1/plans/published", headers=coordinator).json()
    assert now["plan"] == second and now["version"] == 2 and now["published_at"]
    # said in Asia/Shanghai, with its offset, and the moment it was published
    from datetime import datetime, timezone
    assert now["published_at"].endswith("+08:00")
    assert abs((datetime.fromisoformat(now["published_at"]) - datetime.now(timezone.utc)).total_seconds()) < 600
    listed = {p["id"]: p for p in client.get("/v1/plans", headers=coordinator).json()}
    assert listed[second]["published"] is True and listed[second]["version"] == 2
    assert listed[first]["published"] is False and listed[first]["version"] == 1
    # bad input: unknown plan 404, a plan not done 409
    assert client.post("/v1/plans/999/publish", headers=coordinator).status_code == 404
    queued = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    r = client.post(f"/v1/plans/{queued}/publish", headers=coordinator)
    assert r.status_code in (409, 201) and (r.status_code == 201 or "done" in r.json()["detail"])


def test_an_agency_sees_only_the_published_plan(client, coordinator, agency_a, agency_b, with_reference):
    """Agencies list and read only the plan in force; every read of another plan answers 404."""
    _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator)
    assert client.get("/v1/plans", headers=agency_a).json() == []
    assert client.get("/v1/plans/published", headers=agency_a).status_code == 404
    client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    second = _plan(client, coordinator)
    listed = client.get("/v1/plans", headers=agency_a).json()
    assert [(p["id"], p["published"], p["version"]) for p in listed] == [(first, True, 1)]
    assert client.get("/v1/plans/published", headers=agency_a).json()["plan"] == first
    reads = ["", "/plan.json", "/trips", "/boarding.csv", "/manifests.csv", "/report.json", "/worker-posts.json",
             "/matching", "/diff", "/notify.csv"]
    for path in reads:
        r = client.get(f"/v1/plans/{second}{path}", headers=agency_a)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
    for path in reads[:7]:
        assert client.get(f"/v1/plans/{first}{path}", headers=agency_a).status_code == 200, path
    assert client.get(f"/v1/plans/{second}/boarding.csv", headers=coordinator).status_code == 200
    # the console agrees
    sign_in(client, agency_a)
    assert client.get(f"/console/plans/{second}").status_code == 404
    assert client.get(f"/console/plans/{second}/files/boarding.csv").status_code == 404
    assert client.get(f"/console/plans/{first}").status_code == 200
    page = client.get("/console").text
    assert f'href="/console/plans/{first}"' in page and f'href="/console/plans/{second}"' not in page


def test_a_replan_with_the_same_data_keeps_every_trip_ref(client, coordinator, agency_a, agency_b, with_reference):
    """Planned twice with the same seed and data: every trip keeps the base trip's id as its ref."""
    _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator, seed=7)
    client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    second = _plan(client, coordinator, seed=7, keep_dispatched=False)
    d = client.get(f"/v1/plans/{second}/diff", headers=coordinator).json()
    base_trips = client.get(f"/v1/plans/{first}/trips", headers=coordinator).json()
    assert d["base"] == first and d["summary"]["trips_added"] == d["summary"]["trips_removed"] == 0
    assert d["changes"] == [] and d["summary"]["trips_unchanged"] == len(base_trips)
    assert set(d["refs"].values()) == {t["id"] for t in base_trips}
    assert all(t["ref"] == t["id"] for t in base_trips)  # published: refs stored, shown on plan.json
    assert client.post(f"/v1/plans/{second}/publish", headers=coordinator).status_code == 201
    trips = client.get(f"/v1/plans/{second}/trips", headers=coordinator).json()
    assert sorted(t["ref"] for t in trips) == sorted(t["id"] for t in base_trips)
    # the plan in force compares with the version before it
    assert client.get(f"/v1/plans/{second}/diff", headers=coordinator).json()["base"] == first


def test_a_changed_order_is_in_the_diff_and_the_notify_file(client, coordinator, agency_a, agency_b,
                                                            with_reference):
    """An order leaving a day later: the diff names it with its old and new boarding time, per
    rostered worker; the notify files list it (the agency's own only)."""
    a1, b1 = _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator)
    client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    r = client.patch(f"/v1/orders/{b1}", json={"earliest_departure": "2027-02-12T08:00:00+08:00",
                                               "arrive_by": "2027-02-13T00:00:00+08:00"}, headers=agency_b)
    assert r.status_code == 200, r.text
    second = _plan(client, coordinator)
    d = client.get(f"/v1/plans/{second}/diff", headers=coordinator).json()
    changed = [c for c in d["changes"] if c["order"] == str(b1)]
    assert changed and all(c["change"] in ("time", "time_and_place") for c in changed)
    assert sum(c["count"] for c in changed) == 30
    assert all(c["old_time"].startswith("2027-02-11") and c["new_time"].startswith("2027-02-12") for c in changed)
    assert d["summary"]["trips_added"] + d["summary"]["trips_retimed"] >= 1
    assert {c["order"] for c in d["changes"]} <= {str(a1), str(b1)}

    rows = _csv(client.get(f"/v1/plans/{second}/notify.csv", headers=coordinator))
    assert list(rows[0])[:3] == ["中介 agency", "订单 order", "你的编号 your ref"]
    mine = [r for r in rows if r["订单 order"] == str(b1)]
    assert mine and mine[0]["中介 agency"] == "agency-b" and mine[0]["你的编号 your ref"] == "B1"
    assert mine[0]["原上车时间 old boarding"].startswith("2027-02-11")
    assert mine[0]["新上车时间 new boarding"].startswith("2027-02-12")
    assert "林州" in mine[0]["新上车点 new pickup"] and "410581" in mine[0]["新上车点 new pickup"]
    assert mine[0]["变化 change"].startswith("时间")
    wb = load_workbook(io.BytesIO(client.get(f"/v1/plans/{second}/notify.xlsx", headers=coordinator).content))
    assert wb.active.cell(1, 1).value == "中介 agency" and wb.active.max_row == len(rows) + 1
    # once published, the agency reads its own changes (against the version before) and nothing else
    client.post(f"/v1/plans/{second}/publish", headers=coordinator)
    theirs = _csv(client.get(f"/v1/plans/{second}/notify.csv", headers=agency_b))
    assert theirs and {r["中介 agency"] for r in theirs} == {"agency-b"}
    assert {r["中介 agency"] for r in _csv(client.get(f"/v1/plans/{second}/notify.csv", headers=agency_a))} <= {
        "agency-a"}
    assert client.get(f"/v1/plans/{second}/diff?base={first}", headers=agency_a).status_code == 403


def test_a_rostered_worker_who_loses_a_seat_is_named(client, coordinator, agency_a, agency_b, with_reference):
    """A rostered worker who fails screening after the plan in force: no seat, named (phone masked)."""
    a1, _ = _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator)
    client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    workers = client.get(f"/v1/orders/{a1}/workers", headers=agency_a).json()
    li = next(w for w in workers if w["name"] == "李四")
    r = client.patch(f"/v1/orders/{a1}/workers/{li['id']}", json={"screening": "failed"}, headers=agency_a)
    assert r.status_code == 200, r.text
    second = _plan(client, coordinator)
    d = client.get(f"/v1/plans/{second}/diff", headers=coordinator).json()
    lost = [c for c in d["changes"] if c["change"] == "no_seat"]
    assert [(c["name"], c["phone"], c["order"]) for c in lost] == [("李四", "139****1111", str(a1))]
    assert lost[0]["old_time"] and not lost[0]["new_time"]


def test_diff_bad_inputs(client, coordinator, agency_a, agency_b, with_reference):
    """Unknown plan or base 404; nothing in force, or a base that is not done, 409; never a 500."""
    _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator)
    r = client.get(f"/v1/plans/{first}/diff", headers=coordinator)
    assert r.status_code == 409 and "in force" in r.json()["detail"]
    assert client.get("/v1/plans/999/diff", headers=coordinator).status_code == 404
    assert client.get(f"/v1/plans/{first}/diff?base=999", headers=coordinator).status_code == 404
    assert client.get(f"/v1/plans/{first}/diff?base=x", headers=coordinator).status_code == 422
    assert client.get(f"/v1/plans/{first}/notify.pdf", headers=coordinator).status_code in (404, 422)
    client.post(f"/v1/plans/{first}/publish", headers=coordinator)
    r = client.get(f"/v1/plans/{first}/diff", headers=coordinator)
    assert r.status_code == 409 and "first plan in force" in r.json()["detail"]
    assert client.get(f"/v1/plans/{first}/diff?base={first}", headers=coordinator).json()["changes"] == []
    queued = client.post("/v1/plans", json={"time_limit": 30}, headers=coordinator).json()["id"]
    r = client.get(f"/v1/plans/{first}/diff?base={queued}", headers=coordinator)
    assert r.status_code == 409 and "only a done plan" in r.json()["detail"]
    client.delete(f"/v1/plans/{queued}", headers=coordinator)


def test_console_pages_for_coordinator_and_agency(client, coordinator, agency_a, agency_b, with_reference):
    """The plans list marks the plan in force and offers 发布 publish on the others; the plan page has
    the 与现行方案对比 difference section (counts, the refs in the trip table, the notify downloads), its
    own page, and the same for an agency of the plan in force."""
    _, b1 = _orders(client, agency_a, agency_b)
    first = _plan(client, coordinator)
    sign_in(client, coordinator)
    page = client.get("/console").text
    assert f'action="/console/plans/{first}/publish"' in page and "发布 publish" in page
    r = client.post(f"/console/plans/{first}/publish", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert "现行 in force v1" in client.get("/console").text
    view = client.get(f"/console/plans/{first}").text
    assert "现行 in force v1" in view and 'id="difference"' in view and 'id="publish"' not in view
    client.patch(f"/v1/orders/{b1}", json={"earliest_departure": "2027-02-12T08:00:00+08:00",
                                           "arrive_by": "2027-02-13T00:00:00+08:00"}, headers=agency_b)
    second = _plan(client, coordinator)
    view = client.get(f"/console/plans/{second}").text
    d = client.get(f"/v1/plans/{second}/diff", headers=coordinator).json()
    assert f'<td class="num" id="trips-added">{d["summary"]["trips_added"]}</td>' in view
    assert f'<td class="num" id="trips-retimed">{d["summary"]["trips_retimed"]}</td>' in view
    assert 'id="publish"' in view and f"/console/plans/{second}/files/notify.csv" in view
    for trip_id, ref in d["refs"].items():
        assert f'<td>{trip_id}</td><td class="ref">{ref}</td>' in view
    page = client.get(f"/console/plans/{second}/diff")
    assert page.status_code == 200 and "与现行方案对比" in page.text and "B1" in page.text
    assert client.get(f"/console/plans/{second}/diff?base={first}").status_code == 200
    got = client.get(f"/console/plans/{second}/files/notify.csv")
    assert got.status_code == 200 and "中介 agency" in got.content.decode("utf-8-sig")
    assert client.get(f"/console/plans/{second}/files/notify.xlsx").status_code == 200
    # publish the re-plan; the agency sees it, with what changed against version 1
    page = client.get("/console").text
    client.post(f"/console/plans/{second}/publish", data={"csrf": csrf_of(page)})
    client.cookies.clear()
    sign_in(client, agency_b)
    page = client.get("/console").text
    assert f'href="/console/plans/{second}"' in page and f'href="/console/plans/{first}"' not in page
    assert "发布 publish" not in page and "现行 in force v2" in page
    view = client.get(f"/console/plans/{second}")
    assert view.status_code == 200 and 'id="difference"' in view.text and 'id="publish"' not in view.text
    page = client.get(f"/console/plans/{second}/diff")
    assert page.status_code == 200 and "B1" in page.text
    rows = _csv(client.get(f"/console/plans/{second}/files/notify.csv"))
    assert rows and {r["中介 agency"] for r in rows} == {"agency-b"}
    assert client.get(f"/console/plans/{first}/diff").status_code == 404
    r = client.post(f"/console/plans/{second}/publish", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 403
