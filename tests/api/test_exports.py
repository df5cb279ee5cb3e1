"""Plan outputs: manifests (full for coordinators, masked for agencies), schedule, boarding lists, report."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook


def _csv(resp):
    assert resp.status_code == 200, resp.text
    assert resp.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_coordinator_manifest_shows_full_ids_and_phones(client, coordinator, done_plan):
    """The coordinator's CSV manifest has one row per named worker with the full ID number and phone."""
    rows = _csv(client.get(f"/v1/plans/{done_plan}/manifests.csv", headers=coordinator))
    named = {r["姓名 name"]: r for r in rows if r["序号 no."]}
    assert set(named) == {"张三", "李四"}  # 王五 is not cleared
    assert named["张三"]["身份证号 ID number"] == "410526199001011234"
    assert named["李四"]["电话 phone"] == "13900001111"
    assert named["张三"]["车次 trip"] and named["张三"]["上车时间 boarding"].startswith("2027-02-1")
    unnamed = [r for r in rows if not r["序号 no."]]
    assert sum(int(r["人数 count"]) for r in unnamed) == 30


def test_agency_manifest_is_masked_and_own_only(client, agency_a, done_plan):
    """An agency's manifest lists only its own workers, with ID numbers and phones masked."""
    rows = _csv(client.get(f"/v1/plans/{done_plan}/manifests.csv", headers=agency_a))
    assert {r["中介 agency"] for r in rows} == {"agency-a"}
    assert {r["身份证号 ID number"] for r in rows} == {"4105**********1234", "4105**********1111"}
    assert {r["电话 phone"] for r in rows} == {"138****5678", "139****1111"}


def test_manifest_xlsx_has_a_sheet_per_coach_trip(client, coordinator, done_plan):
    """The XLSX manifest has a summary sheet and one 乘车名单 sheet per trip."""
    r = client.get(f"/v1/plans/{done_plan}/manifests.xlsx", headers=coordinator)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    trips = client.get(f"/v1/plans/{done_plan}/trips", headers=coordinator).json()
    assert wb.sheetnames[0] == "汇总 summary"
    assert len(wb.sheetnames) == 1 + len(trips)
    assert all(name.startswith("乘车名单") for name in wb.sheetnames[1:])


def test_schedule_for_bus_operators(client, coordinator, agency_a, done_plan):
    """The schedule lists every stop of every trip with times; agencies may not fetch it."""
    rows = _csv(client.get(f"/v1/plans/{done_plan}/schedule.csv", headers=coordinator))
    trips = client.get(f"/v1/plans/{done_plan}/trips", headers=coordinator).json()
    assert len(rows) == sum(len(t["stops"]) for t in trips)
    assert rows[0]["类型 kind"].startswith("发车") and rows[0]["运营商 operator"] in ("豫运", "")
    assert client.get(f"/v1/plans/{done_plan}/schedule.xlsx", headers=coordinator).status_code == 200
    assert client.get(f"/v1/plans/{done_plan}/schedule.csv", headers=agency_a).status_code == 403


def test_boarding_list_per_agency(client, coordinator, agency_a, agency_b, done_plan):
    """Each agency's boarding list holds its own orders only, with the unplanned and why."""
    rows = _csv(client.get(f"/v1/plans/{done_plan}/boarding.csv", headers=agency_a))
    assert {r["中介 agency"] for r in rows} == {"agency-a"}
    planned = [r for r in rows if not r["未安排原因 not planned because"]]
    assert sum(int(r["人数 count"]) for r in planned) == 2 and "张三" in planned[0]["姓名 names"]
    assert [r["未安排原因 not planned because"] for r in rows if r not in planned] == ["待筛查 screening_pending"]
    rows_b = _csv(client.get(f"/v1/plans/{done_plan}/boarding.csv?agency=agency-b", headers=coordinator))
    assert {r["中介 agency"] for r in rows_b} == {"agency-b"}
    assert client.get(f"/v1/plans/{done_plan}/boarding.xlsx", headers=agency_b).status_code == 200
    assert client.get(f"/v1/plans/{done_plan}/boarding.csv?agency=nobody", headers=coordinator).status_code == 404


def test_report_per_agency_and_province(client, coordinator, agency_a, done_plan):
    """The report gives delivered headcount and cost share per agency and per province, adding up to the plan."""
    rep = client.get(f"/v1/plans/{done_plan}/report.json", headers=coordinator).json()
    doc = client.get(f"/v1/plans/{done_plan}/plan.json", headers=coordinator).json()
    by_agency = {r["name"]: r for r in rep["agencies"]}
    assert by_agency["agency-a"]["workers_delivered"] == 2 and by_agency["agency-b"]["workers_delivered"] == 30
    assert [p["name"] for p in rep["provinces"]] == ["河南省"]
    assert rep["total"]["cost_share"] == pytest.approx(doc["summary"]["cost"], abs=0.05)
    mine = client.get(f"/v1/plans/{done_plan}/report.json", headers=agency_a).json()
    assert [r["name"] for r in mine["agencies"]] == ["agency-a"]
    assert len(_csv(client.get(f"/v1/plans/{done_plan}/report.csv", headers=coordinator))) == 4
    wb = load_workbook(io.BytesIO(client.get(f"/v1/plans/{done_plan}/report.xlsx", headers=coordinator).content))
    assert len(wb.sheetnames) == 3


def test_outputs_of_unfinished_or_unknown_plans(client, coordinator, done_plan):
    """Outputs of an unknown plan are 404, of an unknown format 422; all errors are JSON."""
    r = client.get("/v1/plans/999/manifests.csv", headers=coordinator)
    assert r.status_code == 404 and r.json()["detail"] == "no plan 999"
    r = client.get(f"/v1/plans/{done_plan}/manifests.doc", headers=coordinator)
    assert r.status_code == 422 and "detail" in r.json()
