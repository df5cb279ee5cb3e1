"""The web console's pages through the test client (the browser test drives them in Chromium):
sign in with a key behind a CSRF-protected form, the coordinator's plan view, an agency's own
boarding list, and nothing of another agency's."""

from __future__ import annotations

import html
import re

import api_factories as f
from api_helpers import publish, wait_for


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, headers) -> None:
    key = headers["Authorization"].split()[1]
    page = client.get("/").text
    r = client.post("/sign-in", data={"key": key, "csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert "httponly" in r.headers["set-cookie"].lower()


def test_sign_in_needs_the_forms_token_and_a_valid_key(client, coordinator):
    page = client.get("/")
    assert page.status_code == 200 and "登录" in page.text  # Chinese by default
    assert "Sign in" in client.get("/?lang=en").text
    key = coordinator["Authorization"].split()[1]
    assert client.post("/sign-in", data={"key": key, "csrf": "forged"}).status_code == 403
    bad = client.post("/sign-in", data={"key": "fg_wrong", "csrf": csrf_of(client.get("/").text)})
    assert "invalid API key" in bad.text or "密钥无效" in bad.text
    assert client.get("/console", follow_redirects=False).headers["location"] == "/"
    sign_in(client, coordinator)
    assert client.get("/console").status_code == 200
    # the JSON API still wants its Bearer key: the console's cookie is not a key
    assert client.get("/v1/plans").status_code == 401


def test_coordinator_starts_a_plan_and_sees_summary_map_unassigned_and_downloads(client, coordinator, agency_a,
                                                                               with_reference):
    r = client.post("/v1/orders", json=[f.order(), f.order(id="O2", origin={"county": "410581"}, headcount=30,
                                                           cleared=25)], headers=agency_a)
    assert r.status_code == 201, r.text
    sign_in(client, coordinator)
    page = client.get("/console").text
    r = client.post("/console/plans", data={"time_limit": "2", "csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    plan_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    view = client.get(f"/console/plans/{plan_id}").text
    assert view.count('<path class="trip') == len(doc["trips"])
    assert f'<td class="num" id="planned">{doc["summary"]["workers_planned"]}</td>' in view
    assert "screening_pending" in view  # 2 + 5 not cleared
    assert '<td class="detail">30 人中 5 人尚未筛查' in view  # and why, in numbers, in Chinese
    assert re.search(r'<td class="order" title="\d+">O2 · agency-a</td>', view)  # the agency's own order name
    assert '<td class="num" id="lower-bound">' in view and "里程 ÷ 下界" in view
    sharp = doc["summary"]["lower_bound_km_sharp"]  # the whole-coach bound beside it, and the plan over it
    assert f'<td class="num" id="sharp-bound">{sharp:,.0f}</td>' in view and "里程 ÷ 整车下界" in view
    assert f'{doc["summary"]["km"] / sharp:.3f}' in view
    for name in ("manifests.xlsx", "schedule.xlsx", "boarding.xlsx", "report.xlsx", "plan.json"):
        got = client.get(f"/console/plans/{plan_id}/files/{name}")
        assert got.status_code == 200, (name, got.text[:200])


def test_an_agency_sees_its_boarding_list_and_nothing_of_another_agency(client, coordinator, agency_a, agency_b,
                                                                        with_reference):
    assert client.post("/v1/orders", json=[f.order()], headers=agency_a).status_code == 201
    plan_id = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    publish(client, plan_id, coordinator)  # agencies read the plan in force only
    sign_in(client, agency_a)
    view = client.get(f"/console/plans/{plan_id}").text
    assert 'id="boarding"' in view and "O1" in view and '<path class="trip' not in view
    assert client.get(f"/console/plans/{plan_id}/files/boarding.csv").status_code == 200
    assert client.get(f"/console/plans/{plan_id}/files/schedule.xlsx").status_code == 403
    client.cookies.clear()
    sign_in(client, agency_b)
    assert client.get(f"/console/plans/{plan_id}").status_code == 404
    assert client.get(f"/console/plans/{plan_id}/files/boarding.csv").status_code == 404
    assert str(plan_id) not in re.sub(r"<[^>]+>", " ", client.get("/console").text).split("返岗")[-1].split()


def test_an_agency_uploads_a_file_sees_every_bad_row_and_nothing_is_stored_until_it_is_good(client, agency_a,
                                                                                            with_reference):
    sign_in(client, agency_a)
    page = client.get("/console/orders").text
    bad = f.order_rows(3)
    bad[1][3] = "many"  # 人数 not a number
    bad[2][7] = "F9"  # an unknown site
    r = client.post("/console/orders/upload", data={"csrf": csrf_of(page)},
                    files={"file": ("orders.csv", f.csv_bytes(f.CHINESE_HEADERS, bad), "text/csv")})
    assert r.status_code == 200 and 'id="problems"' in r.text
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", r.text)
    assert {(row, field) for row, field in cells} >= {("3", "人数 headcount"), ("4", "工厂 site")}
    assert "应为整数（填的是 'many'）" in html.unescape(r.text)  # the problem said in Chinese
    assert "共 3 行，其中 2 行有" in r.text
    assert client.get("/v1/orders", headers=agency_a).json() == []  # nothing stored
    good = f.order_rows(3)
    r = client.post("/console/orders/upload", data={"csrf": csrf_of(r.text)},
                    files={"file": ("orders.csv", f.csv_bytes(f.CHINESE_HEADERS, good), "text/csv")})
    assert r.status_code == 200 and 'id="stored"' in r.text  # after the redirect
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 3
    assert client.post("/console/orders/upload", data={"csrf": "forged"},
                       files={"file": ("o.csv", b"x", "text/csv")}).status_code == 403


def test_a_coordinator_sets_a_countys_risk_dispatches_a_trip_and_replans_keeping_it(client, coordinator, agency_a,
                                                                                   with_reference):
    assert client.post("/v1/orders", json=[f.order(), f.order(id="O2", origin={"county": "410581"})],
                       headers=agency_a).status_code == 201
    sign_in(client, coordinator)
    page = client.get("/console/regions").text
    r = client.post("/console/regions", data={"county": "411525", "risk": "medium", "csrf": csrf_of(page)})
    assert r.status_code == 200 and "411525" in r.text
    assert [x["risk"] for x in client.get("/v1/reference/regions", headers=coordinator).json()] == ["medium"]
    r = client.post("/console/regions", data={"county": "999999", "risk": "high", "csrf": csrf_of(r.text)})
    assert 'id="risk-error"' in r.text
    r = client.post("/console/regions/411525/delete", data={"confirm": "yes", "csrf": csrf_of(r.text)})
    assert client.get("/v1/reference/regions", headers=coordinator).json() == []
    page = client.get("/console").text
    loc = client.post("/console/plans", data={"time_limit": "2", "csrf": csrf_of(page)},
                      follow_redirects=False).headers["location"]
    plan_id = int(loc.rsplit("/", 1)[1])
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    view = client.get(f"/console/plans/{plan_id}").text
    buses = {(t["vehicle_type"], t["bus"]) for t in doc["trips"]}
    assert view.count('class="span span-') == len(doc["trips"]) and 'id="timeline"' in view
    assert len(re.findall(r'<text x="2" y="\d+">', view)) == len(buses)
    trip = doc["trips"][0]["id"]
    r = client.post(f"/console/plans/{plan_id}/trips/{trip}/dispatch", data={"csrf": csrf_of(view)})
    assert r.status_code == 200
    after = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    assert next(t for t in after["trips"] if t["id"] == trip).get("dispatched") is True
    r = client.post(f"/console/plans/{plan_id}/replan", data={"time_limit": "2", "csrf": csrf_of(r.text)},
                    follow_redirects=False)
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert new_id != plan_id and wait_for(client, new_id, coordinator)["status"] == "done"
    kept = client.get(f"/v1/plans/{new_id}", headers=coordinator).json()
    assert kept["base_plan"] == plan_id and kept["fixed_trips"] == 1


def test_reference_data_page_lists_everything_and_a_bad_file_changes_nothing(client, coordinator, with_reference):
    import json

    sign_in(client, coordinator)
    page = client.get("/console/reference")
    assert page.status_code == 200 and "coach53" in page.text and "occupancy_cap" in page.text
    bad = f.reference()
    bad["fleet"][0]["depot"] = "D9"
    bad["sites"][0]["ocupancy"] = 1
    r = client.post("/console/reference", data={"csrf": csrf_of(page.text)},
                    files={"file": ("ref.json", json.dumps(bad).encode(), "application/json")})
    assert 'id="problems"' in r.text and "D9" in r.text and "ocupancy" in r.text
    assert client.get("/v1/reference/fleet", headers=coordinator).json()[0]["depot"] == "D1"
    good = f.reference()
    good["fleet"][0]["count"] = 9
    r = client.post("/console/reference", data={"csrf": csrf_of(r.text)},
                    files={"file": ("ref.json", json.dumps(good).encode(), "application/json")})
    assert r.status_code == 200 and 'id="problems"' not in r.text
    assert {v["id"]: v["count"] for v in client.get("/v1/reference/fleet", headers=coordinator).json()}["coach53"] == 9


def test_an_agency_uploads_a_roster_for_an_order_and_sees_its_bad_rows(client, agency_a, with_reference):
    r = client.post("/v1/orders", json=[f.order()], headers=agency_a)
    oid = r.json()["ids"][0] if "ids" in r.json() else client.get("/v1/orders", headers=agency_a).json()[0]["id"]
    sign_in(client, agency_a)
    page = client.get("/console/orders").text
    headers = ["姓名", "身份证号", "电话", "户籍地址", "筛查", "筛查有效期"]
    rows = [["张三", "410526199001011234", "13812345678", "河南省滑县", "已通过", "2027-02-14 00:00"],
            ["李四", "not-an-id", "13812345679", "河南省滑县", "已通过", "2027-02-14 00:00"]]
    r = client.post(f"/console/orders/{oid}/roster", data={"csrf": csrf_of(page)},
                    files={"file": ("roster.csv", f.csv_bytes(headers, rows), "text/csv")})
    assert 'id="problems"' in r.text and "<td>3</td>" in r.text
    assert client.get(f"/v1/orders/{oid}", headers=agency_a).json()["roster"] == 0
    r = client.post(f"/console/orders/{oid}/roster", data={"csrf": csrf_of(r.text)},
                    files={"file": ("roster.csv", f.csv_bytes(headers, rows[:1]), "text/csv")})
    assert r.status_code == 200 and client.get(f"/v1/orders/{oid}", headers=agency_a).json()["roster"] == 1


def test_a_coordinator_cancels_a_running_plan_from_its_page(settings):
    from fastapi.testclient import TestClient

    from api.main import create_app

    import api_slow_solver as slow_solver
    from api_helpers import add_principal

    with TestClient(create_app(settings, solver=slow_solver.run)) as client:
        coordinator = add_principal(client, "coordinator", "park2")
        agency = add_principal(client, "agency", "agency-c")
        assert client.put("/v1/reference", json=f.reference(), headers=coordinator).status_code == 200
        assert client.post("/v1/orders", json=[f.order()], headers=agency).status_code == 201
        sign_in(client, coordinator)
        loc = client.post("/console/plans", data={"time_limit": "30", "csrf": csrf_of(client.get("/console").text)},
                          follow_redirects=False).headers["location"]
        plan_id = int(loc.rsplit("/", 1)[1])
        view = client.get(loc).text
        assert 'id="cancel"' in view
        client.post(f"/console/plans/{plan_id}/cancel", data={"csrf": csrf_of(view)})
        assert wait_for(client, plan_id, coordinator)["status"] == "cancelled"


def test_a_coordinator_changes_a_coach_count_and_the_policy_and_a_misspelt_field_is_refused(client, coordinator,
                                                                                           with_reference):
    sign_in(client, coordinator)
    page = client.get("/console/reference").text
    r = client.post("/console/reference/fleet/coach53", data={"count": "7", "csrf": csrf_of(page)})
    assert r.status_code == 200
    assert {v["id"]: v["count"] for v in client.get("/v1/reference/fleet", headers=coordinator).json()}["coach53"] == 7
    r = client.post("/console/reference/policy", data={"policy": '{"ocupancy_cap": 0.5}', "csrf": csrf_of(r.text)})
    assert 'id="problems"' in r.text and "occupancy_cap" in r.text  # the suggestion
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"] == {}
    r = client.post("/console/reference/policy", data={"policy": '{"occupancy_cap": 0.5}', "csrf": csrf_of(r.text)})
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"] == {"occupancy_cap": 0.5}


def test_the_trip_table_names_counties_local_departures_riders_and_sites_and_bars_are_labelled(client, coordinator,
                                                                                              agency_a, with_reference):
    assert client.post("/v1/orders", json=[f.order(), f.order(id="O2", origin={"county": "410581"})],
                       headers=agency_a).status_code == 201
    sign_in(client, coordinator)
    page = client.get("/console").text
    loc = client.post("/console/plans", data={"time_limit": "2", "csrf": csrf_of(page)},
                      follow_redirects=False).headers["location"]
    plan_id = int(loc.rsplit("/", 1)[1])
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    view = client.get(f"/console/plans/{plan_id}").text
    table = view[view.index('<table id="trips">'):]
    table = table[:table.index("</table>")]
    assert "滑县" in table and "林州市" in table and "Factory 1" in table and "直达" in table
    departs = re.findall(r'<td class="departs">([^<]*)</td>', table)
    assert len(departs) == len(doc["trips"]) and departs == sorted(departs)
    assert all(re.fullmatch(r"02-1\d \d\d:\d\d", d) for d in departs)
    # the depot leave time read in Asia/Shanghai, whatever offset the document carries
    from datetime import datetime
    from zoneinfo import ZoneInfo
    leaves = sorted(datetime.fromisoformat(t["stops"][0]["depart"]).astimezone(ZoneInfo("Asia/Shanghai"))
                    .strftime("%m-%d %H:%M") for t in doc["trips"])
    assert departs == leaves
    riders = [int(x) for x in re.findall(r'<td class="num riders">(\d+)</td>', table)]
    assert sum(riders) == doc["summary"]["workers_planned"]
    assert "coach53 #1" in table or "coach35 #1" in table
    # no driver pool in the fleet: the drivers column says how many each trip needs
    assert sorted(int(n) for n in re.findall(r"<td>(\d) 名</td>", table)) == sorted(t["crew"] for t in doc["trips"])
    # each bar names its trip and first county and carries the day the map's filter uses
    assert re.search(r'<g class="tbar" data-mode="direct" data-day="2027-02-1\d" data-site="F1">', view)
    assert re.search(r'class="bar-label"[^>]*>T\d+ (滑县|林州市)</text>', view)
    assert "🚆" not in view and 'id="legend"' in view and 'id="zoom-in"' in view


def test_the_timeline_rows_follow_the_coaches_numbers_and_trains_come_last():
    from api.console import timeline

    def trip(bus: int) -> dict:
        return {"id": f"T{bus:04d}", "vehicle_type": "c53", "bus": bus, "purpose": "direct",
                "stops": [{"kind": "depart", "place": {"id": "D1", "name": "yard"},
                           "depart": f"2027-02-11T{6 + bus % 10:02d}:00:00+08:00"},
                          {"kind": "pickup", "place": {"county": "410526", "name": "滑县"},
                           "arrive": "2027-02-11T16:00:00+08:00", "depart": "2027-02-11T16:30:00+08:00",
                           "board": [{"order": "O1", "count": 5}]},
                          {"kind": "drop", "place": {"id": "F1", "name": "Factory 1"},
                           "arrive": "2027-02-11T20:00:00+08:00", "alight": [{"order": "O1", "count": 5}]}]}

    doc = {"trips": [trip(b) for b in (10, 1, 11, 0, 2, 9)], "train_loads": [{"train": "K1", "count": 3}]}
    trains = [{"id": "K1", "name": "K1 special", "calls": [{"depart": "2027-02-11T08:00:00+08:00"},
                                                         {"arrive": "2027-02-11T18:00:00+08:00"}]}]
    tl = timeline(doc, trains, [{"id": "O1", "site": "F1"}])
    assert [r["name"] for r in tl["rows"]] == ["c53 #1", "c53 #2", "c53 #3", "c53 #10", "c53 #11", "c53 #12",
                                               "列车 K1 special"]
    bar = tl["rows"][0]["spans"][0]
    assert bar["text"] == "T0000 滑县" and bar["day"] == "2027-02-11" and bar["sites"] == "F1"


def _policy_form(page: str) -> dict[str, str]:
    """What the page's policy form posts as it stands (inputs, ticked boxes, selected options)."""
    from html.parser import HTMLParser

    form = page[page.index('id="policy-fields"'):]
    form = form[:form.index("</form>")]
    data: dict[str, str] = {}

    class P(HTMLParser):
        select = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
                data[a["name"]] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
            elif tag == "select":
                self.select = a["name"]
            elif tag == "option" and "selected" in a:
                self.take = True

        def handle_data(self, text):
            if getattr(self, "take", False):
                data[self.select] = text
                self.take = False

    P().feed(form)
    return data


def test_the_policy_form_shows_labels_units_defaults_saves_a_value_and_names_a_bad_field(client, coordinator,
                                                                                      with_reference):
    sign_in(client, coordinator)
    page = client.get("/console/reference").text
    assert "最长车程" in page and "max_ride_hours" in page and "小时" in page and "<td>36</td>" in page
    form = _policy_form(page)
    assert form["max_ride_hours"] == "36" and form["driving_rules"] == "on" and form["night.from"] == "22:00"
    r = client.post("/console/reference/policy-form", data={**form, "max_ride_hours": "30"}, follow_redirects=False)
    assert r.status_code == 303
    # only what changed is set: the rest keep their defaults
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"] == {"max_ride_hours": 30.0}
    page = client.get("/console/reference").text
    form = _policy_form(page)
    assert form["max_ride_hours"] == "30"
    r = client.post("/console/reference/policy-form", data={**form, "max_ride_hours": "200", "max_pickup_stops": "三"})
    assert r.status_code == 200 and 'id="problems"' in r.text
    assert "最长车程 max_ride_hours" in r.text and "应不大于 96" in r.text
    assert "最多上车点 max_pickup_stops" in r.text and "应为整数" in r.text
    assert 'value="200"' in r.text  # the form comes back as typed
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"] == {"max_ride_hours": 30.0}
    r = client.post("/console/reference/policy-form", data={**form, "night_continuous_driving_hours": "5"})
    assert "夜间连续驾驶上限 night_continuous_driving_hours" in r.text and "连续驾驶上限" in r.text
    # a window emptied is no window; a box left unticked is off
    form = _policy_form(r.text)
    form.update({"night_continuous_driving_hours": "2", "night_rest.from": "", "night_rest.until": ""})
    form.pop("time_rules")
    assert client.post("/console/reference/policy-form", data=form, follow_redirects=False).status_code == 303
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"] == {
        "max_ride_hours": 30.0, "night_rest": None, "time_rules": False}


def test_the_fleet_shows_its_windows_in_shanghai_time_and_a_coordinator_changes_one(client, coordinator,
                                                                                   with_reference):
    sign_in(client, coordinator)
    page = client.get("/console/reference").text
    assert "2027-02-11 00:00 – 2027-02-21 00:00" in page
    r = client.post("/console/reference/fleet/coach53/window",
                    data={"available_from": "2027-02-12T06:30", "available_until": "2027-02-20T18:00",
                          "csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    vt = {v["id"]: v for v in client.get("/v1/reference/fleet", headers=coordinator).json()}["coach53"]
    assert vt["available_from"].startswith("2027-02-12T06:30") and vt["available_from"].endswith("+08:00")
    assert vt["count"] == 3
    page = client.get("/console/reference").text
    assert "2027-02-12 06:30 – 2027-02-20 18:00" in page
    r = client.post("/console/reference/fleet/coach53/window",
                    data={"available_from": "2027-02-20T06:30", "available_until": "2027-02-12T18:00",
                          "csrf": csrf_of(page)})
    assert r.status_code == 200 and "available_until" in r.text and "应晚于" in r.text
    r = client.post("/console/reference/fleet/coach53/window",
                    data={"available_from": "明天", "available_until": "2027-02-12T18:00", "csrf": csrf_of(page)})
    assert r.status_code == 200 and "可用起 available_from" in r.text
    vt = {v["id"]: v for v in client.get("/v1/reference/fleet", headers=coordinator).json()}["coach53"]
    assert vt["available_until"].startswith("2027-02-20T18:00")


def test_a_plan_the_checker_refused_lists_its_findings_with_each_rule_in_chinese(client, coordinator):
    """A failed plan's page lists the checker's findings: the rule in Chinese with its code, the trip
    and the checker's own words."""
    from api import models as m

    with client.app.state.sessions.begin() as session:
        who = session.query(m.Principal).filter_by(role="coordinator").first()
        job = m.PlanJob(status="failed", created_by=who.id, time_limit=2, snapshot={"scenario": {}},
                        error="the plan failed the checker (1 violation; first: [seats] …); it is not served",
                        violations=[{"rule": "seats", "trip": "T0007", "message": "60 aboard, 53 seats"}])
        session.add(job)
        session.flush()
        plan_id = job.id
    sign_in(client, coordinator)
    view = client.get(f"/console/plans/{plan_id}").text
    assert 'id="violations"' in view and "超员" in view and "seats" in view and "T0007" in view
    assert "60 aboard, 53 seats" in view and "未通过检查" in view
