"""Match and move through the service: coordinators' posts, agencies' registered workers (JSON and
Chinese-header files, all or nothing, masked for everyone but their agency), a joint plan job whose
match each side sees as it may, the subsidy per agency, and the console's pages."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import api_factories as f
from api_helpers import publish, wait_for

START = "2027-02-14T08:00:00+08:00"
POSTS = [
    {"id": "P1", "site": "F1", "firm": "富士康", "trade": "SMT操作工", "min_level": 1, "openings": 8,
     "monthly_wage": 5200, "start_by": START},
    {"id": "P2", "site": "F1", "firm": "富士康", "trade": "焊工", "min_level": 2, "openings": 4,
     "monthly_wage": 6000, "start_by": START, "dorm": True},
    {"id": "P3", "site": "F1", "firm": "比亚迪", "trade": "SMT操作工", "min_level": 0, "openings": 5,
     "monthly_wage": 4800, "start_by": START},
]
HEADERS = ["编号", "姓名", "身份证号", "手机", "区县", "工种", "志愿", "最低月薪", "最早出发", "筛查", "筛查有效期",
           "性别", "同行组", "已签约"]
#: 滑县, 中牟县: a few hours' and an hour's drive from the site near 郑州
COUNTIES = ["410526", "410122"]


def worker_rows(n: int, prefix: str = "W", start: int = 0) -> list[list[Any]]:
    rows = []
    for i in range(start, start + n):
        rows.append([f"{prefix}{i + 1}", f"工人{i + 1}", f"41052619900101{i:04d}", f"1381234{i:04d}",
                     COUNTIES[i % 2], f"SMT操作工:{1 + i % 4};焊工:{i % 4}",
                     "P2;P1" if i % 3 == 0 else "P1;P3", 4000, "2027-02-12 08:00", "已通过", "2027-02-20",
                     "男" if i % 2 else "女", "", ""])
    return rows


def upload(client, headers, rows, name="workers.csv", columns=HEADERS):
    return client.post("/v1/workers/upload", files={"file": (name, f.csv_bytes(columns, rows), "text/csv")},
                       headers=headers)


def with_posts(client, coordinator) -> None:
    r = client.put("/v1/reference/posts", json=POSTS, headers=coordinator)
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ posts and reference


def test_posts_round_trip_and_a_bad_row_is_named(client, coordinator, agency_a, with_reference):
    with_posts(client, coordinator)
    got = client.get("/v1/reference/posts", headers=coordinator).json()
    assert [p["id"] for p in got] == ["P1", "P2", "P3"]
    assert got[1]["dorm"] is True and got[1]["start_by"] == START and got[0]["firm"] == "富士康"
    assert client.get("/v1/reference/posts", headers=agency_a).status_code == 200  # agencies read them to choose
    assert client.put("/v1/reference/posts", json=POSTS, headers=agency_a).status_code == 403
    # the whole scenario carries them, and a PUT of it gives them back
    scenario = client.get("/v1/reference", headers=coordinator).json()
    assert [p["id"] for p in scenario["posts"]] == ["P1", "P2", "P3"]
    assert client.put("/v1/reference", json=scenario, headers=coordinator).status_code == 200
    assert client.get("/v1/reference/posts", headers=coordinator).json() == got

    bad = [POSTS[0], {**POSTS[1], "openings": -1}, {**POSTS[2], "site": "F9"}, {**POSTS[0], "id": "P4", "min_level": 9},
           {**POSTS[0]}]
    r = client.put("/v1/reference/posts", json=bad, headers=coordinator)
    assert r.status_code == 422
    problems = {(p["where"], p["field"]) for p in r.json()["problems"]}
    assert ("posts[1] (P2)", "openings") in problems
    assert ("posts[2] (P3)", "site") in problems
    assert ("posts[3] (P4)", "min_level") in problems
    assert ("posts[4] (P1)", "id") in problems
    assert client.get("/v1/reference/posts", headers=coordinator).json() == got  # nothing changed
    for body in ({"not": "a list"}, [1, 2], [{"id": "X"}], "[]"):
        r = client.put("/v1/reference/posts", json=body, headers=coordinator)
        assert r.status_code == 422, (body, r.text)

    one = client.put("/v1/reference/posts/P9", json={**POSTS[0], "id": "P9", "openings": 2}, headers=coordinator)
    assert one.status_code == 200 and one.json()["openings"] == 2
    assert client.put("/v1/reference/posts/P9", json={**POSTS[0], "id": "P8"}, headers=coordinator).status_code == 422
    assert client.delete("/v1/reference/posts/P9", headers=coordinator).status_code == 204
    assert client.delete("/v1/reference/posts/P9", headers=coordinator).status_code == 404
    assert client.delete("/v1/reference/sites/F1", headers=coordinator).status_code == 409  # its posts stay


def test_dorm_beds_and_the_matching_policy_round_trip(client, coordinator, with_reference):
    site = {**f.SITE, "dorm_beds": {"male": 3, "female": 2}}
    assert client.put("/v1/reference/sites/F1", json=site, headers=coordinator).status_code == 200
    assert client.get("/v1/reference/sites", headers=coordinator).json()[0]["dorm_beds"] == {"male": 3, "female": 2}
    policy = {"match_blocking_pairs": 3, "match_priority": "registration",
              "subsidy_per_worker": {"agency-a": 300, "agency-b": 250.5}}
    r = client.put("/v1/reference/policy", json=policy, headers=coordinator)
    assert r.status_code == 200, r.text
    assert r.json()["set"] == policy and r.json()["effective"]["match_blocking_pairs"] == 3
    assert client.put("/v1/reference/policy", json={"match_blocking_pairs": -1}, headers=coordinator).status_code == 422
    assert client.put("/v1/reference/policy", json={"subsidy_per_worker": 200}, headers=coordinator).json()["set"] == {
        "subsidy_per_worker": 200}


# ------------------------------------------------------------------ registered workers


def test_a_workers_file_with_chinese_headers_is_stored_and_one_bad_row_rejects_it_all(client, coordinator, agency_a,
                                                                                    with_reference):
    with_posts(client, coordinator)
    rows = worker_rows(4)
    rows[1][5] = "SMT操作工:3；焊工：2"  # full-width separators, as typed in Chinese
    r = upload(client, agency_a, rows)
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 4
    got = client.get("/v1/workers", headers=agency_a).json()
    w = got[1]
    assert w["ref"] == "W2" and w["name"] == "工人2" and w["agency"] == "agency-a"
    assert w["trades"] == {"SMT操作工": 3, "焊工": 2} and w["choices"] == ["P1", "P3"]
    assert w["gender"] == "male" and w["screening"] == "cleared" and w["min_monthly_wage"] == 4000
    assert w["origin"]["resolved"]["name"] == "中牟县"
    assert w["earliest_departure"].startswith("2027-02-12T08:00:00+08:00")

    bad = worker_rows(5, start=10)
    bad[1][5] = "焊工"            # row 3: a trade without its level
    bad[2][6] = "P1;P7"          # row 4: a post that does not exist
    bad[3][9] = "不知道"          # row 5: no such screening status
    bad[4][4] = "999999"         # row 6: no such county
    r = upload(client, agency_a, bad)
    assert r.status_code == 422, r.text
    problems = {(p["row"], p["field"]) for p in r.json()["problems"]}
    assert {(3, "trades"), (4, "choices"), (5, "screening"), (6, "origin.county")} <= problems
    assert len(client.get("/v1/workers", headers=agency_a).json()) == 4  # nothing of the file was stored

    again = upload(client, agency_a, worker_rows(1))  # W1 again: the agency has it
    assert again.status_code == 422 and again.json()["problems"][0]["field"] == "id"
    unknown = upload(client, agency_a, [[1, "x"]], columns=["编号", "工资"])
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["where"] == "row 1 (header)"
    for data, name in ((b"", "w.csv"), (b"\xff\xfe\x00garbage", "w.xlsx"), (b"a,b\n", "w.csv")):
        r = client.post("/v1/workers/upload", files={"file": (name, data)}, headers=agency_a)
        assert r.status_code == 422, (name, r.text)
    assert upload(client, coordinator, worker_rows(1, prefix="C")).status_code == 403


def test_json_workers_are_refused_whole_with_every_problem(client, coordinator, agency_a, with_reference):
    with_posts(client, coordinator)
    good = {"id": "J1", "name": "李四", "origin": {"county": "410122"}, "trades": {"焊工": 3}, "choices": ["P2"],
            "earliest_departure": "2027-02-12T08:00:00+08:00"}
    bad = [good, {**good, "id": "J2", "trades": {"焊工": 7}}, {**good, "id": "J3", "choices": ["P1"] * 2},
           {**good, "id": "J1"}, {**good, "id": "J5", "gender": "x"}, {**good, "id": "J6", "id_number": "123"}]
    r = client.post("/v1/workers", json=bad, headers=agency_a)
    assert r.status_code == 422
    fields = {(p["where"], p["field"]) for p in r.json()["problems"]}
    assert ("workers[1] (J2)", "trades") in fields and ("workers[3] (J1)", "id") in fields
    assert any(w.startswith("body[4]") or "J5" in w for w, _ in fields)
    assert client.get("/v1/workers", headers=agency_a).json() == []
    assert client.post("/v1/workers", json=[good], headers=agency_a).status_code == 201
    assert client.post("/v1/workers", json={"x": 1}, headers=agency_a).status_code == 422


def test_id_numbers_and_phones_are_masked_for_all_but_the_workers_agency(client, coordinator, agency_a, agency_b,
                                                                         with_reference):
    with_posts(client, coordinator)
    assert upload(client, agency_a, worker_rows(2)).status_code == 201
    own = client.get("/v1/workers", headers=agency_a).json()
    assert own[0]["id_number"] == "410526199001010000" and own[0]["phone"] == "13812340000"
    seen = client.get("/v1/workers", headers=coordinator).json()
    assert seen[0]["id_number"] == "4105**********0000" and seen[0]["phone"] == "138****0000"
    assert client.get(f"/v1/workers/{own[0]['id']}", headers=coordinator).json()["phone"] == "138****0000"
    assert client.get("/v1/workers", headers=agency_b).json() == []  # another agency lists none of them
    assert client.get(f"/v1/workers/{own[0]['id']}", headers=agency_b).status_code == 404
    assert client.delete(f"/v1/workers/{own[0]['id']}", headers=agency_b).status_code == 404
    assert client.delete(f"/v1/workers/{own[0]['id']}", headers=coordinator).status_code == 403
    # a post a worker chose cannot go
    assert client.put("/v1/reference/posts", json=POSTS[2:], headers=coordinator).status_code == 409
    assert client.delete(f"/v1/workers/{own[0]['id']}", headers=agency_a).status_code == 204
    assert len(client.get("/v1/workers", headers=agency_a).json()) == 1


# ------------------------------------------------------------------ a joint plan


def _plan(client, coordinator) -> int:
    r = client.post("/v1/plans", json={"time_limit": 4, "now": "2027-02-10T00:00:00+08:00"}, headers=coordinator)
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    body = wait_for(client, plan_id, coordinator, timeout=120)
    assert body["status"] == "done", body
    publish(client, plan_id, coordinator)  # agencies read the plan in force only
    return plan_id


def test_a_joint_plan_matches_and_each_agency_sees_its_own_workers_posts_and_boarding(
        client, coordinator, agency_a, agency_b, with_reference):
    with_posts(client, coordinator)
    policy = {"match_blocking_pairs": 2, "subsidy_per_worker": {"agency-a": 300, "agency-b": 200}}
    assert client.put("/v1/reference/policy", json=policy, headers=coordinator).status_code == 200
    assert upload(client, agency_a, worker_rows(12, "A")).status_code == 201
    assert upload(client, agency_b, worker_rows(8, "B", start=12)).status_code == 201
    plan_id = _plan(client, coordinator)

    doc = client.get(f"/v1/plans/{plan_id}/plan.json", headers=coordinator).json()
    summary = client.get(f"/v1/plans/{plan_id}", headers=coordinator).json()["summary"]
    assert summary["matching"] == doc["summary"]["matching"] and doc["matches"]
    scenario = client.get(f"/v1/plans/{plan_id}/input.json", headers=coordinator).json()
    assert len(scenario["workers"]) == 20 and len(scenario["posts"]) == 3
    assert not any("name" in w or "id_number" in w or "phone" in w for w in scenario["workers"])

    m = client.get(f"/v1/plans/{plan_id}/matching?pairs=true", headers=coordinator).json()
    assert m["summary"] == doc["summary"]["matching"]
    assert m["blocking_budget"] == 2 and m["blocking_pairs"] == doc["summary"]["matching"]["blocking_pairs"]
    assert sum(g["matched"] for g in m["fill"]) == len(doc["matches"])
    assert sum(g["openings"] for g in m["fill"]) == 17
    assert {(g["firm"], g["trade"]) for g in m["fill"]} == {("富士康", "SMT操作工"), ("富士康", "焊工"), ("比亚迪", "SMT操作工")}
    assert sum(m["unmatched_by_reason"].values()) == len(doc["unmatched"]) == 20 - len(doc["matches"])
    assert isinstance(m["pairs"], list) and "pairs_error" not in m

    mine = client.get(f"/v1/plans/{plan_id}/worker-posts.json", headers=agency_a).json()["workers"]
    a_ids = {w["id"] for w in client.get("/v1/workers", headers=agency_a).json()}
    assert mine and {r["工人 worker"] for r in mine} == a_ids  # every one of its workers, matched or not
    matched = [r for r in mine if r["岗位 post"]]
    assert matched and all(r["上车时间 boarding"].startswith("2027-02-1") and r["上车点 pickup"] for r in matched)
    trips = {t["id"]: t for t in doc["trips"]}
    by_worker = {mt["worker"]: mt for mt in doc["matches"]}
    for r in matched:  # the boarding is the pickup whose loads carry the worker's derived order
        stop = next(s for s in trips[r["车次 trip"]]["stops"] if s["kind"] == "pickup"
                    and any(ld["order"] == by_worker[r["工人 worker"]]["order"] for ld in s["board"]))
        assert r["上车时间 boarding"] == stop["arrive"][:16].replace("T", " ")
    theirs = client.get(f"/v1/plans/{plan_id}/worker-posts.json", headers=agency_b).json()["workers"]
    assert theirs and not ({r["工人 worker"] for r in theirs} & a_ids)
    assert all(r["中介 agency"] == "agency-b" for r in theirs)
    csv_text = client.get(f"/v1/plans/{plan_id}/worker-posts.csv", headers=agency_a).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(csv_text)))) == len(mine) and "agency-b" not in csv_text
    assert client.get(f"/v1/plans/{plan_id}/worker-posts.xlsx", headers=coordinator).status_code == 200
    own_m = client.get(f"/v1/plans/{plan_id}/matching", headers=agency_a).json()
    assert own_m["summary"] is None and own_m["matched"] == len(matched) and "pairs" not in own_m

    # an agency's view of the plan: its own derived orders' trips and loads, nobody else's
    a_view = client.get(f"/v1/plans/{plan_id}/plan.json", headers=agency_a).json()
    a_orders = {by_worker[r["工人 worker"]]["order"] for r in matched}
    assert {ld["order"] for t in a_view["trips"] for s in t["stops"] for ld in s["board"]} <= a_orders
    boarding = client.get(f"/v1/plans/{plan_id}/boarding.csv", headers=agency_a).content.decode("utf-8-sig")
    assert "工人1" in boarding or "工人2" in boarding  # the matched workers' names, from their derived roster
    assert "agency-b" not in boarding

    # the subsidy: delivered × the agency's rate
    rep = client.get(f"/v1/plans/{plan_id}/report.json", headers=coordinator).json()
    agencies = {a["name"]: a for a in rep["agencies"]}
    delivered_a = len(matched) - sum(1 for r in matched if r["未匹配原因 not matched because"])
    assert agencies["agency-a"]["workers_delivered"] == delivered_a
    assert agencies["agency-a"]["subsidy"] == 300 * delivered_a and agencies["agency-a"]["subsidy_per_worker"] == 300
    assert agencies["agency-b"]["subsidy"] == 200 * agencies["agency-b"]["workers_delivered"]
    assert rep["total"]["subsidy"] == agencies["agency-a"]["subsidy"] + agencies["agency-b"]["subsidy"]
    own = client.get(f"/v1/plans/{plan_id}/report.json", headers=agency_a).json()
    assert [a["name"] for a in own["agencies"]] == ["agency-a"]
    rep_csv = client.get(f"/v1/plans/{plan_id}/report.csv", headers=coordinator).content.decode("utf-8-sig")
    assert "subsidy" in rep_csv.splitlines()[0]


def test_the_subsidy_with_one_rate_for_all_and_with_orders(client, coordinator, agency_a, agency_b, with_reference):
    assert client.put("/v1/reference/policy", json={"subsidy_per_worker": 150}, headers=coordinator).status_code == 200
    assert client.post("/v1/orders", json=[f.order(headcount=20, cleared=20)], headers=agency_a).status_code == 201
    assert client.post("/v1/orders", json=[f.order(id="O2", headcount=10, cleared=10, origin={"county": "410122"})],
                       headers=agency_b).status_code == 201
    plan_id = _plan(client, coordinator)
    rep = client.get(f"/v1/plans/{plan_id}/report.json", headers=coordinator).json()
    for a in rep["agencies"]:
        assert a["subsidy_per_worker"] == 150 and a["subsidy"] == 150 * a["workers_delivered"]
    assert rep["total"]["subsidy"] == 150 * rep["total"]["workers_delivered"] > 0


# ------------------------------------------------------------------ the console


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, headers) -> None:
    key = headers["Authorization"].split()[1]
    r = client.post("/sign-in", data={"key": key, "csrf": csrf_of(client.get("/").text)}, follow_redirects=False)
    assert r.status_code == 303


def test_the_console_pages_for_posts_matching_and_an_agencys_workers(client, coordinator, agency_a, with_reference):
    with_posts(client, coordinator)
    assert upload(client, agency_a, worker_rows(10, "A")).status_code == 201
    plan_id = _plan(client, coordinator)

    sign_in(client, coordinator)
    page = client.get("/console/posts")
    assert page.status_code == 200 and "岗位" in page.text and "富士康" in page.text and "P2" in page.text
    bad = client.post("/console/posts", data={"csrf": csrf_of(page.text), "posts": '[{"id": "P1"}]'})
    assert bad.status_code == 200 and "openings" in bad.text  # the problem shown, nothing changed
    assert len(client.get("/v1/reference/posts", headers=coordinator).json()) == 3
    ok = client.post("/console/posts", data={"csrf": csrf_of(page.text), "posts": __import__("json").dumps(POSTS[:2] + [
        {**POSTS[2], "openings": 6}])}, follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/v1/reference/posts", headers=coordinator).json()[2]["openings"] == 6

    view = client.get(f"/console/plans/{plan_id}")
    assert view.status_code == 200 and 'id="matching"' in view.text and "岗位匹配" in view.text
    assert "比亚迪" in view.text and "阻塞对" in view.text
    r = client.post(f"/console/plans/{plan_id}/blocking-budget", data={"csrf": csrf_of(view.text), "budget": "4"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/v1/reference/policy", headers=coordinator).json()["set"]["match_blocking_pairs"] == 4
    r = client.post(f"/console/plans/{plan_id}/blocking-budget", data={"csrf": csrf_of(view.text), "budget": "-2"})
    assert r.status_code == 200 and "match_blocking_pairs" in r.text
    assert client.get(f"/console/plans/{plan_id}/files/report.csv").status_code == 200
    assert "subsidy" in client.get(f"/console/plans/{plan_id}").text or "补贴" in client.get(
        f"/console/plans/{plan_id}").text

    client.cookies.clear()
    sign_in(client, agency_a)
    mine = client.get("/console/workers")
    assert mine.status_code == 200 and "工人1" in mine.text and "410526**" not in mine.text  # its own: in full
    assert "41052619900101" in mine.text
    view = client.get(f"/console/plans/{plan_id}")
    assert view.status_code == 200 and 'id="my-workers"' in view.text and "上车时间" in view.text
    assert client.get(f"/console/plans/{plan_id}/files/worker-posts.csv").status_code == 200
    assert client.get("/console/posts").status_code == 403
    up = client.post("/console/workers/upload", data={"csrf": csrf_of(mine.text)},
                     files={"file": ("w.csv", f.csv_bytes(HEADERS, [worker_rows(1, "Z")[0][:5] + ["焊工"] + [""] * 8]))})
    assert up.status_code == 200 and "trades" in up.text  # the bad row shown
