"""Orders: JSON and file submissions, all-or-nothing, idempotency, agency isolation, rosters."""

from __future__ import annotations

import api_factories as f


def test_create_orders_json_uses_callers_agency(client, agency_a, with_reference):
    """POST /v1/orders stores the orders under the caller's agency, whatever the body says."""
    r = client.post("/v1/orders", json=[f.order(agency="someone-else"), f.order(id="O2", headcount=5, cleared=5)],
                    headers=agency_a)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 2
    assert {o["agency"] for o in body["orders"]} == {"agency-a"}
    assert [o["ref"] for o in body["orders"]] == ["O1", "O2"]
    listed = client.get("/v1/orders", headers=agency_a).json()
    assert [o["id"] for o in listed] == [o["id"] for o in body["orders"]]


def test_create_orders_all_or_nothing(client, agency_a, with_reference):
    """One bad order among good ones rejects the request, lists every problem, and stores nothing."""
    bad = [f.order(), f.order(id="O2", cleared=50), f.order(id="O3", site="F9"), f.order(id="O4", origin={"county": "999999"})]
    r = client.post("/v1/orders", json=bad, headers=agency_a)
    assert r.status_code == 422
    body = r.json()
    fields = {(p["where"], p["field"]) for p in body["problems"]}
    assert ("orders[1] (O2)", "cleared") in fields
    assert ("orders[2] (O3)", "site") in fields
    assert ("orders[3] (O4)", "origin.county") in fields
    assert "nothing was stored" in body["detail"]
    assert client.get("/v1/orders", headers=agency_a).json() == []


def test_create_orders_schema_errors_are_json(client, agency_a, with_reference):
    """A body that is not a list of orders answers 422 with a message and the problems."""
    r = client.post("/v1/orders", json=[{"site": "F1"}], headers=agency_a)
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("invalid request")
    assert any(p["field"] == "origin" for p in body["problems"])
    r = client.post("/v1/orders", content=b"{not json", headers={**agency_a, "Content-Type": "application/json"})
    assert r.status_code == 422 and "detail" in r.json()


def test_upload_csv_with_chinese_headers(client, agency_a, with_reference):
    """A CSV with Chinese headers (区县/人数/已筛查/最早出发/最晚到达/工厂) stores one order per row."""
    data = f.csv_bytes(f.CHINESE_HEADERS, f.order_rows(5))
    r = client.post("/v1/orders/upload", files={"file": ("orders.csv", data, "text/csv")}, headers=agency_a)
    assert r.status_code == 201, r.text
    orders = r.json()["orders"]
    assert len(orders) == 5
    assert orders[0]["ref"] == "R1" and orders[0]["origin"]["county"] == "410526"
    assert orders[0]["origin"]["resolved"]["name"] == "滑县"  # the county it was placed in, shown
    assert orders[0]["earliest_departure"] == "2027-02-11T08:00:00+08:00"


def test_upload_xlsx_with_address_origin_and_no_id_column(client, agency_a, with_reference):
    """An XLSX without an id column, origins as Chinese addresses, is accepted; refs stay empty."""
    headers = ["地址", "人数", "已筛查", "最早出发", "最晚到达", "工厂"]
    rows = [["河南省安阳市滑县", 12, 12, "2027-02-11 08:00", "2027-02-12 20:00", "F1"]]
    data = f.xlsx_bytes(headers, rows)
    r = client.post("/v1/orders/upload", files={"file": ("orders.xlsx", data)}, headers=agency_a)
    assert r.status_code == 201, r.text
    o = r.json()["orders"][0]
    assert o["ref"] is None and o["origin"]["address"] == "河南省安阳市滑县" and o["headcount"] == 12
    assert o["origin"]["resolved"]["county"] == "410526"  # the address, read as 滑县


def test_upload_with_one_bad_row_stores_nothing(client, agency_a, with_reference):
    """A file with one bad row is rejected whole: the row, field and reason are listed, nothing is stored."""
    rows = f.order_rows(6)
    rows[3][4] = 99  # cleared above headcount, spreadsheet row 5
    data = f.csv_bytes(f.CHINESE_HEADERS, rows)
    r = client.post("/v1/orders/upload", files={"file": ("orders.csv", data, "text/csv")}, headers=agency_a)
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [(5, "cleared")]
    assert "exceeds headcount" in problems[0]["message"]
    assert client.get("/v1/orders", headers=agency_a).json() == []


def test_upload_lists_every_bad_row(client, agency_a, with_reference):
    """Several bad rows (unknown site, unknown county, bad date) are all reported, in row order."""
    rows = f.order_rows(4)
    rows[0][7] = "F9"
    rows[2][1] = "999999"
    rows[3][5] = "tomorrow"
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", f.csv_bytes(f.CHINESE_HEADERS, rows))},
                    headers=agency_a)
    assert r.status_code == 422
    got = [(p["row"], p["field"]) for p in r.json()["problems"]]
    assert got == [(2, "site"), (4, "origin.county"), (5, "earliest_departure")]


def test_upload_not_a_table(client, agency_a, with_reference):
    """A file that is neither CSV nor XLSX, or empty, is refused with a clear JSON error."""
    r = client.post("/v1/orders/upload", files={"file": ("o.xlsx", b"PK\x03\x04garbage")}, headers=agency_a)
    assert r.status_code == 422 and "xlsx" in r.json()["detail"].lower()
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", b"")}, headers=agency_a)
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", "区县,人数\n410526,3\n".encode())}, headers=agency_a)
    assert r.status_code == 422 and any(p["field"] == "cleared" for p in r.json()["problems"])


def test_idempotent_retry_of_upload(client, agency_a, with_reference):
    """Retrying an upload with the same Idempotency-Key returns the first answer and stores nothing more."""
    data = f.csv_bytes(f.CHINESE_HEADERS, f.order_rows(3))
    h = {**agency_a, "Idempotency-Key": "upload-2027-02-01"}
    first = client.post("/v1/orders/upload", files={"file": ("o.csv", data)}, headers=h)
    again = client.post("/v1/orders/upload", files={"file": ("o.csv", data)}, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 3
    other = client.post("/v1/orders/upload", files={"file": ("o.csv", data + b"\n")}, headers=h)
    assert other.status_code == 422 and "different request" in other.json()["detail"]


def test_idempotent_retry_of_json(client, agency_a, agency_b, with_reference):
    """The same key on a JSON submission replays; keys are per caller, so another agency's same key is new."""
    h = {**agency_a, "Idempotency-Key": "k1"}
    a1 = client.post("/v1/orders", json=[f.order()], headers=h)
    a2 = client.post("/v1/orders", json=[f.order()], headers=h)
    assert a1.json() == a2.json()
    b1 = client.post("/v1/orders", json=[f.order()], headers={**agency_b, "Idempotency-Key": "k1"})
    assert b1.status_code == 201 and b1.json()["orders"][0]["agency"] == "agency-b"
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 1


def test_agencies_see_only_their_own_orders(client, agency_a, agency_b, coordinator, with_reference):
    """An agency cannot see, change or delete another agency's order (404, as if it did not exist)."""
    oid = client.post("/v1/orders", json=[f.order()], headers=agency_a).json()["orders"][0]["id"]
    missing = client.get("/v1/orders/999999", headers=agency_b)
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"headcount": 41}}), ("DELETE", {})):
        r = client.request(method, f"/v1/orders/{oid}", headers=agency_b, **kwargs)
        assert r.status_code == 404
        assert r.json()["detail"].replace(oid, "X") == missing.json()["detail"].replace("999999", "X")
    assert client.get("/v1/orders", headers=agency_b).json() == []
    assert client.get(f"/v1/orders/{oid}", headers=coordinator).status_code == 200
    assert len(client.get("/v1/orders", headers=coordinator).json()) == 1
    assert len(client.get("/v1/orders?agency=agency-b", headers=coordinator).json()) == 0


def test_patch_and_delete_order(client, agency_a, with_reference):
    """PATCH changes only the given fields and re-validates; DELETE withdraws the order."""
    oid = client.post("/v1/orders", json=[f.order()], headers=agency_a).json()["orders"][0]["id"]
    r = client.patch(f"/v1/orders/{oid}", json={"headcount": 45, "cleared": 44}, headers=agency_a)
    assert r.status_code == 200 and (r.json()["headcount"], r.json()["cleared"]) == (45, 44)
    r = client.patch(f"/v1/orders/{oid}", json={"cleared": 46}, headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "cleared"
    r = client.patch(f"/v1/orders/{oid}", json={"site": "F9"}, headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "site"
    assert client.get(f"/v1/orders/{oid}", headers=agency_a).json()["headcount"] == 45
    assert client.delete(f"/v1/orders/{oid}", headers=agency_a).status_code == 204
    assert client.get(f"/v1/orders/{oid}", headers=agency_a).status_code == 404


def test_roster_is_stored_protected_and_shown_masked(client, agency_a, coordinator, with_reference):
    """Roster ID numbers and phones are encrypted at rest and masked in every order view."""
    body = f.order(headcount=None, cleared=None, workers=[f.worker("张三"), f.worker("李四", screening="pending",
                                                                                  id_number="41052619900101123X",
                                                                                  phone="13900001111")])
    r = client.post("/v1/orders", json=[body], headers=agency_a)
    assert r.status_code == 201, r.text
    o = r.json()["orders"][0]
    assert (o["headcount"], o["cleared"], o["roster"]) == (2, 1, 2)
    for headers in (agency_a, coordinator):
        detail = client.get(f"/v1/orders/{o['id']}", headers=headers).json()
        assert detail["workers"][0]["id_number"] == "4105**********1234"
        assert detail["workers"][0]["phone"] == "138****5678"
        assert detail["workers"][1]["id_number"] == "4105**********123X"
    from sqlalchemy import select

    from api.models import Worker
    with client.app.state.sessions() as s:
        w = s.scalars(select(Worker).order_by(Worker.id)).first()
        assert "410526199001011234" not in (w.id_number_enc or "") and w.id_number_enc
        assert "13812345678" not in (w.phone_enc or "")


def test_roster_validation(client, agency_a, with_reference):
    """A roster whose count contradicts headcount, or with a malformed ID number, is refused."""
    r = client.post("/v1/orders", json=[f.order(headcount=5, workers=[f.worker()])], headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "headcount"
    r = client.post("/v1/orders", json=[f.order(workers=[f.worker(id_number="12345")])], headers=agency_a)
    assert r.status_code == 422 and "ID number" in r.json()["detail"]


def test_screening_updates_per_worker_and_per_order(client, agency_a, with_reference):
    """Screening results update a worker, all workers of an order, or an order's counts; counts follow."""
    body = f.order(headcount=None, cleared=None,
                   workers=[f.worker("甲", screening="pending"), f.worker("乙", screening="pending")])
    oid = client.post("/v1/orders", json=[body], headers=agency_a).json()["orders"][0]["id"]
    workers = client.get(f"/v1/orders/{oid}/workers", headers=agency_a).json()
    r = client.patch(f"/v1/orders/{oid}/workers/{workers[0]['id']}", json={"screening": "cleared"}, headers=agency_a)
    assert r.status_code == 200 and r.json()["screening"] == "cleared"
    assert client.get(f"/v1/orders/{oid}", headers=agency_a).json()["cleared"] == 1
    r = client.post(f"/v1/orders/{oid}/screening", json={"status": "failed", "workers": [workers[1]["id"]]}, headers=agency_a)
    assert r.status_code == 200 and (r.json()["cleared"], r.json()["failed"]) == (1, 1)
    r = client.patch(f"/v1/orders/{oid}", json={"cleared": 2}, headers=agency_a)
    assert r.status_code == 422 and "roster" in r.json()["problems"][0]["message"]
    plain = client.post("/v1/orders", json=[f.order(id="P", cleared=0)], headers=agency_a).json()["orders"][0]["id"]
    r = client.post(f"/v1/orders/{plain}/screening", json={"cleared": 30, "failed": 2,
                                                           "screening_valid_until": "2027-02-13T00:00:00+08:00"},
                    headers=agency_a)
    assert r.status_code == 200 and (r.json()["cleared"], r.json()["failed"]) == (30, 2)
    r = client.post(f"/v1/orders/{plain}/screening", json={"cleared": 39, "failed": 2}, headers=agency_a)
    assert r.status_code == 422


def test_coordinator_cannot_submit_orders(client, coordinator, with_reference):
    """Orders come from agencies: a coordinator's POST /v1/orders is refused with 403."""
    r = client.post("/v1/orders", json=[f.order()], headers=coordinator)
    assert r.status_code == 403 and "agency" in r.json()["detail"]


def test_roster_upload(client, agency_a, with_reference):
    """A roster uploaded as XLSX with Chinese headers replaces the roster; counts follow; a bad row changes nothing."""
    oid = client.post("/v1/orders", json=[f.order()], headers=agency_a).json()["orders"][0]["id"]
    headers = ["姓名", "身份证号", "电话", "户籍地址", "筛查", "筛查有效期"]
    rows = [["张三", "410526199001011234", "13812345678", "河南省安阳市滑县", "已通过", "2027-02-14 00:00"],
            ["李四", "41052619920202111X", 13900001111, "", "待筛查", ""],
            ["王五", "410526199303033333", "13700003333", "", "未通过", ""]]
    r = client.put(f"/v1/orders/{oid}/workers/upload", files={"file": ("r.xlsx", f.xlsx_bytes(headers, rows))},
                   headers=agency_a)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["headcount"], body["cleared"], body["failed"]) == (3, 1, 1)
    assert body["workers"][1]["phone"] == "139****1111"
    assert body["screening_valid_until"] == "2027-02-14T00:00:00+08:00"
    bad = rows + [["赵六", "123", "", "", "已通过", ""], ["钱七", "", "", "", "maybe", ""]]
    r = client.put(f"/v1/orders/{oid}/workers/upload", files={"file": ("r.csv", f.csv_bytes(headers, bad))},
                   headers=agency_a)
    assert r.status_code == 422
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(5, "id_number"), (6, "screening")]
    assert client.get(f"/v1/orders/{oid}", headers=agency_a).json()["roster"] == 3


# ------------------------------------------------------------------ order ids unique per agency


def test_the_same_order_id_twice_is_refused(client, agency_a, agency_b, with_reference):
    """An id twice in one JSON body, twice in one CSV, or one the agency already has: 422 naming
    the item or row, and nothing stored; another agency may use the same id."""
    r = client.post("/v1/orders", json=[f.order(), f.order(id="O1", headcount=10, cleared=10)], headers=agency_a)
    assert r.status_code == 422
    assert [(p["where"], p["field"]) for p in r.json()["problems"]] == [("orders[1] (O1)", "id")]
    rows = f.order_rows(3)
    rows[2][0] = rows[0][0]
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", f.csv_bytes(f.CHINESE_HEADERS, rows))}, headers=agency_a)
    assert r.status_code == 422
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(4, "id")]
    assert client.get("/v1/orders", headers=agency_a).json() == []
    assert client.post("/v1/orders", json=[f.order()], headers=agency_a).status_code == 201
    r = client.post("/v1/orders", json=[f.order()], headers=agency_a)
    assert r.status_code == 422 and "already has an order 'O1'" in r.json()["problems"][0]["message"]
    assert client.post("/v1/orders", json=[f.order()], headers=agency_b).status_code == 201
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 1


def test_a_file_uploaded_twice_is_not_stored_twice(client, agency_a, with_reference):
    """The same file again (ids or not) does not double the headcount: with ids the rows are
    refused as already stored; without, the file is recognised and refused (409)."""
    with_ids = f.csv_bytes(f.CHINESE_HEADERS, f.order_rows(3))
    assert client.post("/v1/orders/upload", files={"file": ("a.csv", with_ids)}, headers=agency_a).status_code == 201
    r = client.post("/v1/orders/upload", files={"file": ("a-copy.csv", with_ids)}, headers=agency_a)
    assert r.status_code in (409, 422)
    headers = [h for h in f.CHINESE_HEADERS if h != "编号"]
    no_ids = f.csv_bytes(headers, [row[1:] for row in f.order_rows(2, prefix="N")])
    assert client.post("/v1/orders/upload", files={"file": ("b.csv", no_ids)}, headers=agency_a).status_code == 201
    r = client.post("/v1/orders/upload", files={"file": ("b.csv", no_ids)}, headers=agency_a)
    assert r.status_code == 409 and "already uploaded" in r.json()["detail"]
    assert len(client.get("/v1/orders", headers=agency_a).json()) == 5


def test_a_changed_id_may_not_take_another_orders(client, agency_a, with_reference):
    """PATCHing an order's id to one the agency already uses is refused."""
    ids = [o["id"] for o in client.post("/v1/orders", json=[f.order(), f.order(id="O2")], headers=agency_a).json()["orders"]]
    r = client.patch(f"/v1/orders/{ids[1]}", json={"id": "O1"}, headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "id"


def test_an_unknown_order_field_is_refused(client, agency_a, with_reference):
    """A misspelt field on a submitted order is a 422 naming it, not carried silently."""
    body = dict(f.order(), screening_valid_untill="2027-02-11T09:00:00+08:00")
    r = client.post("/v1/orders", json=[body], headers=agency_a)
    assert r.status_code == 422
    assert any("did you mean 'screening_valid_until'" in p["message"] for p in r.json()["problems"])


def test_an_ambiguous_address_is_refused_with_its_candidates(client, agency_a, with_reference):
    """朝阳区建国路88号 names two counties: refused, both listed."""
    r = client.post("/v1/orders", json=[f.order(origin={"address": "朝阳区建国路88号"})], headers=agency_a)
    assert r.status_code == 422
    msg = r.json()["problems"][0]["message"]
    assert "110105" in msg and "220104" in msg


def test_addresses_as_agencies_write_them_and_todays_counties(client, agency_a, coordinator, with_reference):
    """An agency's file with 省 + 州 + county addresses, a county created since 2019 (淮阳区) and a
    short autonomous-county name is read county by county (not as the prefecture's city); the
    coordinator can set a risk level for a new county code."""
    headers = ["地址", "人数", "已筛查", "最早出发", "最晚到达", "工厂"]
    rows = [["湖北省恩施州巴东县沿渡河镇", 20, 20, "2027-02-11 08:00", "2027-02-14 20:00", "F1"],
            ["云南省大理州宾川县", 15, 15, "2027-02-11 08:00", "2027-02-14 20:00", "F1"],
            ["河南省周口市淮阳区", 30, 30, "2027-02-11 08:00", "2027-02-14 20:00", "F1"],
            ["贵州省毕节市威宁县", 25, 25, "2027-02-11 08:00", "2027-02-14 20:00", "F1"]]
    r = client.post("/v1/orders/upload", files={"file": ("orders.xlsx", f.xlsx_bytes(headers, rows))}, headers=agency_a)
    assert r.status_code == 201, r.text
    got = [o["origin"]["resolved"]["county"] for o in r.json()["orders"]]
    assert got == ["422823", "532924", "411603", "520526"]
    r = client.put("/v1/reference/regions/411603", json={"risk": "medium"}, headers=coordinator)
    assert r.status_code == 200, r.text
    r = client.post("/v1/orders/upload", files={"file": ("o.xlsx", f.xlsx_bytes(headers, [["河南省驻马店市上菜县", 5, 5,
                    "2027-02-11 08:00", "2027-02-14 20:00", "F1"]]))}, headers=agency_a)
    assert r.status_code == 422 and "上蔡县" in r.json()["problems"][0]["message"]
