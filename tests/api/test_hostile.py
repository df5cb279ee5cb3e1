"""Hostile and careless input (issue 21): no input is a 500 — ids and numbers beyond the
database's integers, counties that are not 6 digits, a NUL in a string, ten identical uploads at
once — and the bounds a real park never reaches: headcount per order, string lengths, an XLSX
that unpacks to a million rows (refused before it is parsed), a plan's memory ceiling. Logs never
carry worker data. Each runs on SQLite and, with ``FANGANG_TEST_POSTGRES_URL``, on PostgreSQL."""

from __future__ import annotations

import io
import logging
import re
import threading
import zipfile
from typing import Any

import api_memory_hog
import pytest
from fastapi.testclient import TestClient
from test_console import csrf_of, sign_in

from api.bounds import MAX_HEADCOUNT
from api.main import create_app

import api_factories as f
from api_helpers import add_principal, wait_for

BIG = 2**63  # beyond SQLite's INTEGER
PG_BIG = 2**31  # beyond PostgreSQL's INTEGER (the service's id and count columns)

PLAN_READS = ["", "/plan.json", "/trips", "/input.json", "/manifests.csv", "/manifests.xlsx", "/manifests.pdf",
              "/train-manifests.csv", "/schedule.csv", "/dispatch.pdf", "/boarding.csv", "/report.json",
              "/matching", "/worker-posts.json", "/diff", "/notify.csv"]


def _problem_fields(r: Any) -> set[str]:
    return {p["field"] for p in r.json().get("problems") or []}


# ------------------------------------------------------------------ ids and integers


@pytest.mark.parametrize("big", [BIG, PG_BIG])
def test_an_id_beyond_the_databases_integers_is_a_404(client, coordinator, agency_a, big):
    for path in PLAN_READS:
        r = client.get(f"/v1/plans/{big}{path}", headers=coordinator)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        assert client.get(f"/v1/plans/{big}{path}", headers=agency_a).status_code == 404, path
    for method, path in [("DELETE", f"/v1/plans/{big}"), ("POST", f"/v1/plans/{big}/publish"),
                         ("POST", f"/v1/plans/{big}/trips/T0001/dispatch"),
                         ("DELETE", f"/v1/plans/{big}/trips/T0001/dispatch")]:
        assert client.request(method, path, headers=coordinator).status_code == 404, path
    for method, path, body in [("GET", f"/v1/orders/{big}", None), ("PATCH", f"/v1/orders/{big}", {"headcount": 3}),
                               ("DELETE", f"/v1/orders/{big}", None), ("GET", f"/v1/orders/{big}/workers", None),
                               ("PUT", f"/v1/orders/{big}/workers", [f.worker()]),
                               ("PATCH", f"/v1/orders/{big}/workers/1", {"screening": "cleared"}),
                               ("PATCH", f"/v1/orders/1/workers/{big}", {"screening": "cleared"}),
                               ("DELETE", f"/v1/orders/1/workers/{big}", None),
                               ("POST", f"/v1/orders/{big}/screening", {"cleared": 1}),
                               ("GET", f"/v1/workers/{big}", None), ("DELETE", f"/v1/workers/{big}", None)]:
        r = client.request(method, path, json=body, headers=agency_a)
        assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
    sign_in(client, coordinator)
    assert client.get(f"/console/plans/{big}").status_code == 404
    assert client.get(f"/console/plans/{big}/status.json").status_code == 404


def test_a_number_beyond_range_is_a_422_naming_the_field(client, coordinator, agency_a, with_reference):
    for path in ("/v1/orders", "/v1/workers"):
        r = client.get(f"{path}?offset={BIG}", headers=agency_a)
        assert r.status_code == 422 and _problem_fields(r) == {"offset"}, r.text
    r = client.get(f"/v1/plans/1/diff?base={BIG}", headers=coordinator)  # an id, but not in the path: a value
    assert r.status_code == 422 and _problem_fields(r) == {"base"}, r.text
    for seed in (BIG, 1099511627776, -1):
        r = client.post("/v1/plans", json={"seed": seed}, headers=coordinator)
        assert r.status_code == 422 and _problem_fields(r) == {"seed"}, r.text
    r = client.post("/v1/plans", json={"base_plan": BIG}, headers=coordinator)
    assert r.status_code == 422 and _problem_fields(r) == {"base_plan"}, r.text
    for n in (10**20, PG_BIG, MAX_HEADCOUNT + 1):
        r = client.post("/v1/orders", json=[f.order(headcount=n, cleared=1)], headers=agency_a)
        assert r.status_code == 422 and "headcount" in _problem_fields(r), r.text
        r = client.post("/v1/orders", json=[f.order(cleared=n)], headers=agency_a)
        assert r.status_code == 422 and "cleared" in _problem_fields(r), r.text
        data = f.csv_bytes(f.CHINESE_HEADERS, [["A1", "410526", "", n, 1, "2027-02-11 08:00", "2027-02-12 20:00", "F1"]])
        r = client.post("/v1/orders/upload", files={"file": ("o.csv", data, "text/csv")}, headers=agency_a)
        assert r.status_code == 422, r.text
        assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(2, "headcount")]
        assert "2000" in r.json()["problems"][0]["message"]
    order = client.post("/v1/orders", json=[f.order()], headers=agency_a).json()["orders"][0]["id"]
    for body in ({"headcount": BIG}, {"headcount": MAX_HEADCOUNT + 1}, {"failed": PG_BIG}):
        r = client.patch(f"/v1/orders/{order}", json=body, headers=agency_a)
        assert r.status_code == 422 and _problem_fields(r) == set(body), r.text
    r = client.post(f"/v1/orders/{order}/screening", json={"cleared": BIG}, headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"cleared"}, r.text
    # reference data stored in integer columns: the fleet, a site's intake, posts
    coach = {**f.FLEET[0], "seats": PG_BIG}
    r = client.put("/v1/reference/fleet/coach53", json=coach, headers=coordinator)
    assert r.status_code == 422 and _problem_fields(r) == {"seats"}, r.text
    r = client.put("/v1/reference/sites/F1", json={**f.SITE, "intake_per_day": BIG}, headers=coordinator)
    assert r.status_code == 422 and _problem_fields(r) == {"intake_per_day"}, r.text
    r = client.put("/v1/reference", json=f.reference(fleet=[coach]), headers=coordinator)
    assert r.status_code == 422 and _problem_fields(r) == {"fleet[0].seats"}, r.text
    sign_in(client, coordinator)  # the console's forms: the same bound, said on the page
    page = client.get("/console/reference").text
    r = client.post("/console/reference/fleet/coach53", data={"csrf": csrf_of(page), "count": str(PG_BIG)})
    assert r.status_code == 422 and "输入有误" in r.text and "count" in r.text, r.text[:300]
    fleet = {v["id"]: (v["seats"], v["count"]) for v in client.get("/v1/reference/fleet", headers=coordinator).json()}
    assert fleet == {"coach53": (53, 3), "coach35": (35, 2)}  # nothing changed


# ------------------------------------------------------------------ counties


def test_a_county_that_is_not_six_digits_is_refused_never_a_500(client, coordinator):
    for county in ("41052", "4105260", "Z", "%00"):
        r = client.put(f"/v1/reference/regions/{county}", json={"risk": "high"}, headers=coordinator)
        assert r.status_code == 422 and r.json()["problems"], (county, r.text)
    r = client.put("/v1/reference/regions", json=[{"county": "Z", "risk": "low"}], headers=coordinator)
    assert r.status_code == 422 and r.json()["problems"][0]["where"] == "body[0]", r.text
    r = client.put("/v1/reference", json=f.reference(regions=[{"county": "41052", "risk": "high"}]), headers=coordinator)
    assert r.status_code == 422, r.text
    # [] is defined: it clears the county's periods (it is low again)
    assert client.put("/v1/reference/regions/410526", json={"risk": "high"}, headers=coordinator).status_code == 200
    r = client.put("/v1/reference/regions/410526", json=[], headers=coordinator)
    assert r.status_code == 200 and r.json() == [], r.text
    assert client.get("/v1/reference/regions", headers=coordinator).json() == []
    # the console's risk form says it in Chinese, on the page
    sign_in(client, coordinator)
    page = client.get("/console/regions").text
    r = client.post("/console/regions", data={"csrf": csrf_of(page), "county": "41052", "risk": "high",
                                              "from": "", "until": ""})
    assert r.status_code == 422 and "区县代码应为6位数字" in r.text, r.text[:300]
    r = client.post("/console/regions", data={"csrf": csrf_of(page), "county": "Z\x00", "risk": "high",
                                              "from": "", "until": ""})
    assert r.status_code == 422 and "输入有误" in r.text and "NUL" in r.text, r.text[:300]


# ------------------------------------------------------------------ NUL and text


def test_a_nul_character_is_a_422_naming_the_field(client, coordinator, agency_a, with_reference):
    r = client.post("/v1/orders", json=[f.order(id="O\x001")], headers=agency_a)
    assert r.status_code == 422 and [(p["where"], p["field"]) for p in r.json()["problems"]] == [("body[0]", "id")]
    assert "NUL" in r.json()["problems"][0]["message"]
    r = client.post("/v1/orders", json=[f.order(headcount=None, cleared=None, workers=[f.worker("张\x00三")])],
                    headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"workers[0].name"}, r.text
    r = client.get("/v1/orders?site=F%001", headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"site"}, r.text
    r = client.delete("/v1/reference/sites/F%001", headers=coordinator)
    assert r.status_code == 422 and _problem_fields(r) == {"site_id"}, r.text
    data = f.csv_bytes(f.CHINESE_HEADERS, [["A\x001", "410526", "", 5, 5, "2027-02-11 08:00", "2027-02-12 20:00", "F1"]])
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", data, "text/csv")}, headers=agency_a)
    assert r.status_code == 422 and [(p["row"], p["field"]) for p in r.json()["problems"]] == [(2, "编号")], r.text
    roster = f.csv_bytes(["姓名", "筛查"], [["李\x00四", "已通过"]])
    order = client.post("/v1/orders", json=[f.order()], headers=agency_a).json()["orders"][0]["id"]
    r = client.put(f"/v1/orders/{order}/workers/upload", files={"file": ("r.csv", roster, "text/csv")}, headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["row"] == 2, r.text
    assert client.get("/v1/orders", headers=agency_a).json()[0]["ref"] == "O1"  # only the good order is stored


def test_strings_have_a_length_a_real_park_never_reaches(client, agency_a, with_reference):
    r = client.post("/v1/orders", json=[f.order(origin={"address": "河南省" * 40_000})], headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"origin.address"}, r.text[:300]
    r = client.post("/v1/orders", json=[f.order(note="x" * 5000)], headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"note"}, r.text[:300]
    r = client.post("/v1/orders", json=[f.order(headcount=None, cleared=None,
                                                workers=[f.worker(hometown="村" * 600)])], headers=agency_a)
    assert r.status_code == 422 and _problem_fields(r) == {"workers[0].hometown"}, r.text[:300]
    data = f.csv_bytes([*f.CHINESE_HEADERS, "备注"],
                       [["A1", "", "河南" * 2000, 5, 5, "2027-02-11 08:00", "2027-02-12 20:00", "F1", "ok"]])
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", data, "text/csv")}, headers=agency_a)
    assert r.status_code == 422 and [(p["row"], p["field"]) for p in r.json()["problems"]] == [(2, "地址")], r.text
    assert client.get("/v1/orders", headers=agency_a).json() == []


# ------------------------------------------------------------------ XLSX bombs


def _xlsx_bomb(rows: int) -> bytes:
    """A valid workbook whose one sheet has ``rows`` rows: tiny compressed, large unpacked."""
    plain = f.xlsx_bytes(f.CHINESE_HEADERS, [])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, tail = data.split(b"<sheetData>")[0], b"</sheetData>" + data.split(b"</sheetData>")[-1]
                head = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:H%d"' % (rows + 1), head)
                body = b"<row><c><v>1</v></c></row>" * rows
                data = head + b"<sheetData>" + body + tail
            dst.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_an_xlsx_of_too_many_rows_is_refused_before_it_is_parsed(client, agency_a, with_reference, monkeypatch):
    bomb = _xlsx_bomb(1_000_000)
    assert len(bomb) < 100_000  # a million rows in under 100 KB
    import openpyxl

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    for path in ("/v1/orders/upload", "/v1/workers/upload"):
        r = client.post(path, files={"file": ("bomb.xlsx", bomb, "application/octet-stream")}, headers=agency_a)
        assert r.status_code == 422, r.text
        assert r.json()["problems"][0]["field"] == "file" and "20000" in r.json()["detail"], r.text
    monkeypatch.undo()
    good = f.xlsx_bytes(f.CHINESE_HEADERS, f.order_rows(3))
    r = client.post("/v1/orders/upload", files={"file": ("ok.xlsx", good, "application/octet-stream")}, headers=agency_a)
    assert r.status_code == 201, r.text


def test_a_csv_of_too_many_lines_is_refused_before_it_is_parsed(client, agency_a, with_reference, monkeypatch):
    """Trailing blank lines are no rows (a spreadsheet's export may have some), but a data row past
    the limit, or millions of lines, are refused before the table is read."""
    import planner.read

    read = planner.read.read_table
    calls: list[str] = []
    monkeypatch.setattr(planner.read, "read_table", lambda data, name: calls.append(name) or read(data, name))
    rows = f.order_rows(1)
    for name, data in [("lines.csv", f.csv_bytes(f.CHINESE_HEADERS, rows) + b"\n" * 5_000_000),
                       ("late.csv", f.csv_bytes(f.CHINESE_HEADERS, rows) + b"\n" * 30_000 + b"B,410526,,5,5,,,F1\n")]:
        r = client.post("/v1/orders/upload", files={"file": (name, data, "text/csv")}, headers=agency_a)
        assert r.status_code == 422 and "20000" in r.json()["detail"], r.text
    assert calls == []
    data = f.csv_bytes(f.CHINESE_HEADERS, rows) + b"\n" * 1000
    r = client.post("/v1/orders/upload", files={"file": ("tail.csv", data, "text/csv")}, headers=agency_a)
    assert r.status_code == 201 and calls == ["tail.csv"], r.text


# ------------------------------------------------------------------ races


def test_ten_identical_uploads_at_once_store_once(client, agency_a, with_reference):
    """One CSV with ids, ten times at once; and one JSON body with one Idempotency-Key ten times:
    201 once, the others 409 (the same ids) or the first answer replayed — never 500."""
    data = f.csv_bytes(f.CHINESE_HEADERS, f.order_rows(20))
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def upload() -> None:
        barrier.wait()
        r = client.post("/v1/orders/upload", files={"file": ("o.csv", data, "text/csv")}, headers=agency_a)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=upload) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 9, statuses
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 20

    answers: list[tuple[int, str]] = []
    body = [f.order(id=f"K{i}") for i in range(5)]
    barrier = threading.Barrier(10)

    def submit() -> None:
        barrier.wait()
        r = client.post("/v1/orders", json=body, headers={**agency_a, "Idempotency-Key": "k-1"})
        answers.append((r.status_code, r.headers.get("Idempotent-Replayed", "")))

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [(201, "")] + [(201, "true")] * 9, answers
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 25


# ------------------------------------------------------------------ logs


def test_a_database_error_logs_no_worker_data_and_logs_once(settings, caplog):
    """A forced database error on storing a roster: the answer is a 500 without internals; the log
    has the error once, without the statement's parameters (no worker's name), and the error does
    not reach the server (which would log it again)."""
    from sqlalchemy import event

    with TestClient(create_app(settings)) as client:
        agency = add_principal(client, "agency", "agency-a")
        coordinator = add_principal(client, "coordinator", "park")
        assert client.put("/v1/reference", json=f.reference(), headers=coordinator).status_code == 200
        engine = client.app.state.engine  # type: ignore[attr-defined]

        def broken(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            if statement.startswith("INSERT INTO workers"):
                statement = "BROKEN " + statement
            return statement, parameters

        event.listen(engine, "before_cursor_execute", broken, retval=True)
        caplog.set_level(logging.DEBUG)
        r = client.post("/v1/orders", json=[f.order(headcount=None, cleared=None,
                                                    workers=[f.worker("欧阳秘密")])],
                        headers=agency)
        event.remove(engine, "before_cursor_execute", broken)
    assert r.status_code == 500 and r.json() == {"detail": "internal error; the service log has the details"}
    assert "欧阳秘密" not in caplog.text and "410526199001011234" not in caplog.text
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1 and "POST /v1/orders" in errors[0].getMessage(), [e.getMessage() for e in errors]
    assert "Error" in caplog.text  # the kind of error and where it happened are kept


# ------------------------------------------------------------------ a plan's memory


def test_a_plan_over_its_memory_ceiling_fails_clearly_and_the_service_stays_up(make_settings):
    """A solver that grows past ``plan_memory_mb`` fails with a message in Chinese and English; the
    service answers and the next plan is made."""
    settings = make_settings(plan_memory_mb=600)
    with TestClient(create_app(settings, solver=api_memory_hog.run)) as client:
        coordinator = add_principal(client, "coordinator", "park")
        agency = add_principal(client, "agency", "agency-a")
        assert client.put("/v1/reference", json=f.reference(), headers=coordinator).status_code == 200
        assert client.post("/v1/orders", json=[f.order()], headers=agency).status_code == 201
        hog = client.post("/v1/plans", json={"time_limit": 5, "seed": api_memory_hog.HOG_SEED}, headers=coordinator)
        got = wait_for(client, hog.json()["id"], coordinator)
        assert got["status"] == "failed", got
        assert "内存" in got["error"] and "600 MB" in got["error"] and "memory" in got["error"], got
        assert client.get("/health").status_code == 200
        plan = client.post("/v1/plans", json={"time_limit": 3}, headers=coordinator).json()["id"]
        assert wait_for(client, plan, coordinator)["status"] == "done"


def test_nan_and_infinity_are_refused_as_not_finite_naming_the_field(client, coordinator):
    """JSON that Python reads as NaN or Infinity (a spreadsheet's export, a careless script) is
    refused as what it is, not as a number out of range."""
    for body, field in (('{"speed_kmh": NaN}', "speed_kmh"), ('{"max_ride_hours": Infinity}', "max_ride_hours")):
        r = client.put("/v1/reference/policy", content=body,
                       headers={**coordinator, "content-type": "application/json"})
        assert r.status_code == 422, r.text
        (p,) = [p for p in r.json()["problems"] if p["field"] == field]
        assert "finite" in p["message"], p
        from planner.labels import problem  # the console says it in Chinese
        assert problem(p["message"], "zh").startswith("应为有限的数字")
