"""Tiny inputs a person can check by hand: one factory near Zhengzhou, one coach yard, two
coach types, counties of Henan a few hours' drive away."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

SITE = {"id": "F1", "name": "Factory 1", "location": {"lat": 34.53, "lon": 113.84},
        "receive_from": "07:00", "receive_until": "22:00", "intake_per_day": 500}
DEPOT = {"id": "D1", "name": "park coach yard", "location": {"lat": 34.56, "lon": 113.81}}
FLEET = [
    {"id": "coach53", "seats": 53, "count": 3, "depot": "D1", "fixed_cost": 1000, "cost_per_km": 7,
     "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00",
     "available_until": "2027-02-21T00:00:00+08:00", "operator": "豫运"},
    {"id": "coach35", "seats": 35, "count": 2, "depot": "D1", "fixed_cost": 800, "cost_per_km": 5.5,
     "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00",
     "available_until": "2027-02-21T00:00:00+08:00"},
]

#: Henan counties: 滑县, 林州市, 固始县, 邓州市
COUNTIES = ["410526", "410581", "411525", "411381"]


def reference(**changes: Any) -> dict[str, Any]:
    """A contract-v1 scenario without orders."""
    data = {"name": "tiny", "sites": [copy.deepcopy(SITE)], "depots": [copy.deepcopy(DEPOT)],
            "fleet": copy.deepcopy(FLEET), "regions": [], "policy": {}}
    data.update(changes)
    return data


def order(**changes: Any) -> dict[str, Any]:
    """A contract-v1 order (without agency: the caller's is used)."""
    data = {"id": "O1", "origin": {"county": "410526"}, "site": "F1", "headcount": 40, "cleared": 38,
            "earliest_departure": "2027-02-11T08:00:00+08:00", "arrive_by": "2027-02-12T00:00:00+08:00"}
    data.update(changes)
    return data


def worker(name: str = "张三", **changes: Any) -> dict[str, Any]:
    data = {"name": name, "id_number": "410526199001011234", "phone": "13812345678",
            "hometown": "河南省安阳市滑县", "screening": "cleared",
            "screening_valid_until": "2027-02-14T00:00:00+08:00"}
    data.update(changes)
    return data


CHINESE_HEADERS = ["编号", "区县", "地址", "人数", "已筛查", "最早出发", "最晚到达", "工厂"]


def order_rows(n: int, prefix: str = "R") -> list[list[Any]]:
    """``n`` valid order rows under :data:`CHINESE_HEADERS`."""
    rows = []
    for i in range(n):
        county = COUNTIES[i % len(COUNTIES)]
        rows.append([f"{prefix}{i + 1}", county, "", 10 + i % 7, 8 + i % 3, "2027-02-11 08:00",
                     "2027-02-12 20:00", "F1"])
    return rows


def csv_bytes(headers: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(headers: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
