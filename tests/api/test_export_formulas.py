"""Exports opened in Excel never run what an agency typed: text that looks like a formula (a
leading =, +, -, @, tab or CR) is written as text — in CSV with a leading ' (OWASP's advice), in
XLSX as a string cell — and what a person reads is unchanged; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from api import exports as ex

import api_factories as f
from api_helpers import publish, wait_for

NAME = "=cmd|' /C calc'!A0"
ADDRESS = '=HYPERLINK("http://x","y")'
ORDER_ID = "=1+2"
ROSTER_HEADERS = ["姓名", "身份证号", "电话", "户籍地址", "筛查", "筛查有效期"]


@pytest.fixture
def hostile_plan(client, coordinator, agency_a, with_reference):
    """An order uploaded as CSV with the id ``=1+2``, its roster uploaded as CSV with a name and a
    hometown that are formulas; a done, published plan carrying them."""
    rows = f.order_rows(1)
    rows[0][0] = ORDER_ID
    r = client.post("/v1/orders/upload", files={"file": ("o.csv", f.csv_bytes(f.CHINESE_HEADERS, rows), "text/csv")},
                    headers=agency_a)
    assert r.status_code == 201, r.text
    oid = r.json()["orders"][0]["id"]
    roster = [[NAME, "410526199001011234", "13812345678", ADDRESS, "已通过", "2027-02-14 00:00"],
              ["张三", "410526199202021111", "13900001111", "-1", "已通过", "2027-02-14 00:00"]]
    r = client.put(f"/v1/orders/{oid}/workers/upload", files={"file": ("r.csv", f.csv_bytes(ROSTER_HEADERS, roster))},
                   headers=agency_a)
    assert r.status_code == 200, r.text
    plan_id = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    publish(client, plan_id, coordinator)
    return plan_id


def _csv(resp) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def _cells(resp) -> list:
    assert resp.status_code == 200, resp.text
    wb = load_workbook(io.BytesIO(resp.content))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_csv_exports_quote_formulas(client, coordinator, agency_a, hostile_plan):
    """manifests.csv and boarding.csv, as the coordinator and as the agency: the name, hometown and
    order id that start with = begin with '= (shown as typed, never evaluated)."""
    for who in (coordinator, agency_a):
        rows = _csv(client.get(f"/v1/plans/{hostile_plan}/manifests.csv", headers=who))
        named = {r["姓名 name"]: r for r in rows if r["序号 no."]}
        assert "'" + NAME in named, named.keys()
        assert named["'" + NAME]["户籍地址 hometown"] == "'" + ADDRESS
        assert named["张三"]["户籍地址 hometown"] == "'-1"  # text "-1" is text: quoted too
        rows = _csv(client.get(f"/v1/plans/{hostile_plan}/boarding.csv", headers=who))
        assert {r["你的编号 your ref"] for r in rows} == {"'" + ORDER_ID}
        assert any("'" + NAME in r["姓名 names"] or r["姓名 names"].startswith("'") for r in rows)


def test_xlsx_exports_store_formulas_as_text(client, coordinator, agency_a, hostile_plan):
    """manifests.xlsx and boarding.xlsx: those cells are string cells (data type 's') holding the
    text as typed; no cell of the workbook is a formula."""
    for who in (coordinator, agency_a):
        cells = _cells(client.get(f"/v1/plans/{hostile_plan}/manifests.xlsx", headers=who))
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        for text in (NAME, ADDRESS):
            found = [c for c in cells if c.value == text]
            assert found and all(c.data_type == "s" for c in found), text
        cells = _cells(client.get(f"/v1/plans/{hostile_plan}/boarding.xlsx", headers=who))
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        found = [c for c in cells if c.value == ORDER_ID]
        assert found and all(c.data_type == "s" for c in found)


def test_numbers_stay_numbers():
    """A negative number written as a number is not text: neither quoted in CSV nor a string in XLSX;
    text starting with +, -, @, tab or CR is quoted in CSV and a string cell in XLSX."""
    rows = [{"a": -3, "b": "-3", "c": 2.5}, {"a": "+1", "b": "@SUM(A1)", "c": "\tx"}, {"a": "\r=1", "b": "a=b", "c": ""}]
    text = ex.to_csv(["a", "b", "c"], rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["a", "b", "c"], ["-3", "'-3", "2.5"], ["'+1", "'@SUM(A1)", "'\tx"],
                                                   ["'\r=1", "a=b", ""]]
    ws = load_workbook(io.BytesIO(ex.to_xlsx([("s", ["a", "b", "c"], rows)]))).active
    assert [(c.value, c.data_type) for c in ws[2]] == [(-3, "n"), ("-3", "s"), (2.5, "n")]
    assert [(c.value, c.data_type) for c in ws[3]] == [("+1", "s"), ("@SUM(A1)", "s"), ("\tx", "s")]
    assert ws["A4"].data_type == "s" and ws["A4"].value.lstrip("\r\n") == "=1"  # XML reads CR as LF
