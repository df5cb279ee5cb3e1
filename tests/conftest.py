"""Shared factories for tiny, hand-checkable scenarios and helpers to read plans.

Geography used throughout (road km = geodesic × 1.3 from the park at 34.53, 113.84):

- 410184 新郑市 ~23 km, 410122 中牟县 ~32 km, 410223 尉氏县 ~46 km (near Zhengzhou)
- 410526 滑县 ~171 km, 411721 西平县 ~166 km (Henan)
- 511903 恩阳区 ~957 km (Sichuan, far: two drivers)

The helpers are exposed through the ``tiny`` fixture (a namespace), so test modules never
import ``conftest`` by name.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from typing import Iterable, Optional

import pytest

from planner.contract import SHANGHAI, Plan, Scenario, Trip

PARK = {"lat": 34.53, "lon": 113.84}
DEPOT = {"lat": 34.56, "lon": 113.81}

# counties (6-digit codes)
XINZHENG, ZHONGMOU, WEISHI = "410184", "410122", "410223"
HUAXIAN, XIPING = "410526", "411721"
ENYANG = "511903"


def at(day: int, hhmm: str = "00:00") -> str:
    """ISO time on 2027-02-``day`` (Asia/Shanghai)."""
    return f"2027-02-{day:02d}T{hhmm}:00+08:00"


def dt(day: int, hhmm: str = "00:00") -> datetime:
    return datetime.fromisoformat(at(day, hhmm))


def order(oid: str, county: str, headcount: int, cleared: Optional[int] = None, *,
          site: str = "F1", earliest: str = at(11, "06:00"), arrive_by: str = at(14),
          **extra) -> dict:
    """An order dict; ``cleared`` defaults to the whole headcount."""
    return {"id": oid, "agency": "a", "origin": {"county": county}, "site": site,
            "headcount": headcount, "cleared": headcount if cleared is None else cleared,
            "earliest_departure": earliest, "arrive_by": arrive_by, **extra}


def coach(vid: str = "c53", seats: int = 53, count: int = 4, *, fixed_cost: float = 1000,
          cost_per_km: float = 7, crew_cost: float = 600, available_from: str = at(10),
          available_until: str = at(25), depot: str = "D1") -> dict:
    return {"id": vid, "seats": seats, "count": count, "depot": depot, "fixed_cost": fixed_cost,
            "cost_per_km": cost_per_km, "crew_cost": crew_cost,
            "available_from": available_from, "available_until": available_until}


def site(sid: str = "F1", *, receive_from: str = "00:00", receive_until: str = "24:00",
         intake_per_day: Optional[int] = None, lat: float = PARK["lat"], lon: float = PARK["lon"]) -> dict:
    out = {"id": sid, "name": sid, "location": {"lat": lat, "lon": lon},
           "receive_from": receive_from, "receive_until": receive_until}
    if intake_per_day is not None:
        out["intake_per_day"] = intake_per_day
    return out


def region(county: str, risk: str, frm: Optional[str] = None, until: Optional[str] = None) -> dict:
    out: dict = {"county": county, "risk": risk}
    if frm is not None:
        out["from"] = frm
    if until is not None:
        out["until"] = until
    return out


def scenario_dict(orders: list[dict], *, fleet: Optional[list[dict]] = None,
                  sites: Optional[list[dict]] = None, regions: Optional[list[dict]] = None,
                  policy: Optional[dict] = None, name: str = "tiny") -> dict:
    return {
        "name": name,
        "sites": sites if sites is not None else [site()],
        "depots": [{"id": "D1", "name": "yard", "location": dict(DEPOT)}],
        "fleet": fleet if fleet is not None else [coach()],
        "regions": regions or [],
        "orders": orders,
        "policy": policy or {},
    }


def scenario(orders: list[dict], **kw) -> Scenario:
    """A validated contract-v1 scenario with one site F1 at the park and one depot D1."""
    return Scenario.model_validate(scenario_dict(orders, **kw))


# ------------------------------------------------------------------ reading plans


def pickups(trip: Trip) -> list:
    return [s for s in trip.stops if s.kind == "pickup"]


def drops(trip: Trip) -> list:
    return [s for s in trip.stops if s.kind == "drop"]


def boarded(plan: Plan) -> Counter:
    """Workers boarded per order over all trips."""
    out: Counter = Counter()
    for t in plan.trips:
        for s in t.stops:
            for ld in s.board:
                out[ld.order] += ld.count
    return out


def unassigned(plan: Plan) -> Counter:
    """Unassigned workers per (order, reason)."""
    out: Counter = Counter()
    for u in plan.unassigned:
        out[(u.order, u.reason)] += u.count
    return out


def reasons(plan: Plan, oid: str) -> dict[str, int]:
    return {r: n for (o, r), n in unassigned(plan).items() if o == oid}


def max_aboard(trip: Trip) -> int:
    """The most workers on board at any time of the trip."""
    aboard = peak = 0
    for s in trip.stops:
        aboard -= sum(ld.count for ld in s.alight)
        aboard += sum(ld.count for ld in s.board)
        peak = max(peak, aboard)
    return peak


def riders(trip: Trip) -> int:
    return sum(ld.count for s in trip.stops for ld in s.board)


def pickup_times(plan: Plan, oid: str) -> list[tuple[datetime, datetime]]:
    """(arrive, depart) of every pickup stop boarding order ``oid``."""
    return [(s.arrive, s.depart) for t in plan.trips for s in pickups(t)
            if any(ld.order == oid for ld in s.board)]


def drop_intake(plan: Plan, site_id: str = "F1") -> Counter:
    """Workers alighting at ``site_id`` per calendar day (of the drop's arrival, Shanghai time)."""
    out: Counter = Counter()
    for t in plan.trips:
        for s in drops(t):
            if s.place.id == site_id:
                out[s.arrive.astimezone(SHANGHAI).date()] += sum(ld.count for ld in s.alight)
    return out


def drive_intervals(trip: Trip) -> list[tuple[datetime, datetime]]:
    return [iv for s in trip.stops for iv in s.drive]


def in_clock_window(t: datetime, a: time, b: time) -> bool:
    c = t.astimezone(SHANGHAI).time()
    return a <= c < b if a <= b else (c >= a or c < b)


def overlaps_night_rest(a: datetime, b: datetime, start: time = time(2), end: time = time(5)) -> bool:
    """Whether [a, b) has any minute inside the daily window [start, end)."""
    a, b = a.astimezone(SHANGHAI), b.astimezone(SHANGHAI)
    day = a.date() - timedelta(days=1)
    while datetime.combine(day, time(0), SHANGHAI) < b:
        ws = datetime.combine(day, start, SHANGHAI)
        we = datetime.combine(day, end, SHANGHAI)
        if ws < b and a < we:
            return True
        day += timedelta(days=1)
    return False


def accounted(sc: Scenario, plan: Plan) -> dict[str, int]:
    """Per order: boarded + unassigned workers (should equal the headcount)."""
    b, u = boarded(plan), Counter()
    for x in plan.unassigned:
        u[x.order] += x.count
    return {o.id: b[o.id] + u[o.id] for o in sc.orders}


def solve_checked(sc: Scenario, *, time_limit: float = 3, seed: int = 0, fixed: Iterable[Trip] = ()) -> Plan:
    """Solve and assert the independent checker finds nothing wrong."""
    from planner.check import check
    from planner.optimize import solve

    plan = solve(sc, time_limit=time_limit, seed=seed, fixed=list(fixed))
    violations = check(sc, plan)
    assert violations == [], "\n".join(str(v) for v in violations)
    assert accounted(sc, plan) == {o.id: o.headcount for o in sc.orders}
    return plan


def floor_cap(seats: int, cap: float) -> int:
    return math.floor(seats * cap + 1e-9)


@pytest.fixture
def tiny() -> SimpleNamespace:
    """The factories and plan readers of this module, as one namespace."""
    names = ["PARK", "DEPOT", "XINZHENG", "ZHONGMOU", "WEISHI", "HUAXIAN", "XIPING", "ENYANG",
             "at", "dt", "order", "coach", "site", "region", "scenario_dict", "scenario",
             "pickups", "drops", "boarded", "unassigned", "reasons", "max_aboard", "riders",
             "pickup_times", "drop_intake", "drive_intervals", "in_clock_window",
             "overlaps_night_rest", "accounted", "solve_checked", "floor_cap"]
    g = globals()
    return SimpleNamespace(**{n: g[n] for n in names})


@pytest.fixture
def tiny_json(tmp_path):
    """Write a scenario dict as JSON in tmp_path and return the path."""
    import json

    def write(sc: dict, name: str = "scenario.json"):
        p = tmp_path / name
        p.write_text(json.dumps(sc, ensure_ascii=False), encoding="utf-8")
        return p

    return write
