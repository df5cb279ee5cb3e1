"""What people take away from a plan: passenger manifests (乘车名单) per coach and per train car,
the bus operators' schedule, each agency's boarding list, and the cost / delivered-headcount report.

Tables are built as rows of plain values once, then written as CSV (UTF-8 with BOM, so Excel
shows the Chinese) or XLSX. Which workers ride which coach: an order's cleared workers, in
roster order, fill its loads in trip order (earliest boarding first) on direct and feeder trips;
the workers a feeder brought ride the train (its cars in the order of the plan's
``train_loads``) and then the last-mile coaches, first come first served.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import datetime
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from planner.contract import SHANGHAI, Load, Place, Stop, TrainLoad, Trip
from planner.labels import REASONS, detail, word

from .security import Protector
from .stored import EARLIEST, StoredPlan, alighted, boarded

Row = dict[str, Any]

_KIND = {"depart": "发车 depart", "pickup": "上车 pickup", "drop": "下车 drop", "return": "回场 return"}
_SCREENING = {"cleared": "已通过", "pending": "待筛查", "failed": "未通过"}


def _t(value: Union[None, str, datetime]) -> str:
    """A time in Asia/Shanghai to the minute (a plan's typed time, or an ISO text of the scenario
    or a roster as stored)."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _place(p: Union[Place, dict[str, Any], None]) -> str:
    """A place as people read it: 名称 (county code or id)."""
    if p is None:
        return ""
    if isinstance(p, Place):
        name, code = p.name or "", p.county or p.id or ""
    else:
        name, code = p.get("name") or "", p.get("county") or p.get("id") or ""
    return f"{name} ({code})" if name and code and code != name else (name or code)


def coach(trip: Trip) -> str:
    return f"{trip.vehicle_type} #{trip.bus + 1}"


_PURPOSE = {"direct": "直达 direct", "feeder": "接站 feeder", "last_mile": "送厂 last mile"}


def _first_boarding(trip: Trip) -> bool:
    """Whether the workers boarding this trip board here for the first time (not a last mile)."""
    return trip.purpose != "last_mile"


def first_boardings(stored: StoredPlan, only_orders: Optional[set[str]] = None
                    ) -> Iterator[tuple[Trip, int, Stop, Load]]:
    """Every load where its workers first board (a direct coach or a feeder, not a last mile), in
    boarding order: ``(trip, stop index, stop, load)``; only ``only_orders``' when given."""
    for trip in stored.ordered_trips():
        if not _first_boarding(trip):
            continue
        for i, stop in enumerate(trip.stops):
            for ld in stop.board:
                if only_orders is None or ld.order in only_orders:
                    yield trip, i, stop, ld


def _trains(stored: StoredPlan) -> dict[str, dict[str, Any]]:
    return stored.trains() if stored.plan.train_loads else {}


def _stations(snapshot: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s.get("name") or s["id"] for s in snapshot["scenario"].get("stations", [])}


def _call(train: dict[str, Any], station: str, key: str) -> str:
    return next((_t(c.get(key)) for c in train.get("calls", []) if c["station"] == station), "")


def _train_loads(stored: StoredPlan, trains: dict[str, dict[str, Any]]) -> list[TrainLoad]:
    """The plan's train loads in the order workers fill them: by departure, train, car."""
    def key(r: TrainLoad) -> tuple[str, str, int]:
        return (_call(trains.get(r.train, {}), r.board_at, "depart"), r.train, r.car)
    return sorted(stored.plan.train_loads, key=key)


Seats = dict[tuple[str, int, str], list[dict[str, Any]]]


def assign_workers(stored: StoredPlan) -> Seats:
    """(trip id, stop index, order id) → the roster entries boarding there (may be fewer than the count).

    Boardings of direct and feeder trips are filled in time order, each with the cleared workers
    whose screening expires first among those still valid when they board (roster order between
    equals): the plan was made so that this matching exists. A last-mile trip's boardings take
    the order's train riders as they arrive (:func:`train_riders`)."""
    far = "9999"
    pools = {oid: sorted((w for w in ws if w["screening"] == "cleared"),
                         key=lambda w: _t(w.get("screening_valid_until")) or far)
             for oid, ws in stored.snapshot.get("rosters", {}).items()}
    out: Seats = {}
    trips = stored.ordered_trips()
    for trip, i, stop, ld in first_boardings(stored):
        pool = pools.get(ld.order, [])
        when = _t(stop.depart)
        chosen = [w for w in pool if (_t(w.get("screening_valid_until")) or far) >= when][:ld.count]
        if len(chosen) < ld.count:  # not on this plan: fill in roster order
            chosen += [w for w in pool if w not in chosen][:ld.count - len(chosen)]
        for w in chosen:
            pool.remove(w)
        out[(trip.id, i, ld.order)] = chosen
    arrived: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for riders in train_riders(stored, out).values():
        for w, _ in riders:
            arrived[w["__order"]].append(w)
    for trip in trips:
        if _first_boarding(trip):
            continue
        for i, stop in enumerate(trip.stops):
            for ld in stop.board:
                queue = arrived.get(ld.order, [])
                out[(trip.id, i, ld.order)] = [_plain(w) for w in queue[:ld.count]]
                del queue[:ld.count]
    return out


def _plain(w: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in w.items() if not k.startswith("__")}


def train_riders(stored: StoredPlan, seats: Optional[Seats] = None
                 ) -> dict[int, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Index into the plan's train_loads (as :func:`_train_loads` orders them) → the workers
    in that load with their feeder pickup (``{"trip", "coach", "place", "time"}``), each worker
    tagged ``__order``. Workers a feeder brought fill their order's loads in that order."""
    trains = _trains(stored)
    if not trains:
        return {}
    if seats is None:
        seats = assign_workers(stored)
    brought: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for trip in stored.ordered_trips():
        if trip.purpose != "feeder":
            continue
        for i, stop in enumerate(trip.stops):
            for ld in stop.board:
                pickup = {"trip": trip.id, "coach": coach(trip), "place": _place(stop.place),
                          "time": _t(stop.depart)}
                workers = seats.get((trip.id, i, ld.order), [])
                brought[ld.order] += [({**w, "__order": ld.order}, pickup) for w in workers]
                rest = ld.count - len(workers)
                brought[ld.order] += [({"__order": ld.order, "__unnamed": True}, pickup)] * max(0, rest)
    out: dict[int, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for k, r in enumerate(_train_loads(stored, trains)):
        queue = brought.get(r.order, [])
        out[k] = queue[:r.count]
        del queue[:r.count]
    return out


def _drop_of(trip: Trip, order: str) -> Optional[Stop]:
    for s in trip.stops:
        if s.kind == "drop" and any(ld.order == order for ld in s.alight):
            return s
    return None


# ------------------------------------------------------------------ manifests

MANIFEST_COLUMNS = ["车次 trip", "车辆 coach", "司机 crew", "上车点 pickup", "上车时间 boarding", "发车 departs",
                    "工厂 site", "预计到达 arrives", "订单 order", "中介 agency", "序号 no.", "姓名 name",
                    "身份证号 ID number", "电话 phone", "户籍地址 hometown", "人数 count"]


def manifest_rows(stored: StoredPlan, protector: Protector, *,
                  unmasked: bool, only_orders: Optional[set[str]] = None) -> list[Row]:
    """One row per worker per coach (乘车名单); orders without a roster get one row with the count.

    ``unmasked`` shows full ID numbers and phones (coordinators); otherwise masked copies.
    """
    seats = assign_workers(stored)
    rows: list[Row] = []
    for trip in stored.ordered_trips():
        no = 0
        for i, stop in enumerate(trip.stops):
            for ld in stop.board:
                order = ld.order
                if only_orders is not None and order not in only_orders:
                    continue
                drop = _drop_of(trip, order)
                base = {"车次 trip": trip.id, "车辆 coach": coach(trip), "司机 crew": trip.crew,
                        "上车点 pickup": _place(stop.place), "上车时间 boarding": _t(stop.arrive),
                        "发车 departs": _t(stop.depart),
                        "工厂 site": _place(drop.place) if drop else "",
                        "预计到达 arrives": _t(drop.arrive) if drop else "",
                        "订单 order": order, "中介 agency": stored.agency_of(order)}
                workers = [w for w in seats.get((trip.id, i, order), []) if "name" in w]
                for w in workers:
                    no += 1
                    if unmasked:
                        idn, phone = protector.open(w["id_number"]), protector.open(w["phone"])
                    else:
                        idn, phone = w["id_number_masked"], w["phone_masked"]
                    rows.append({**base, "序号 no.": no, "姓名 name": w["name"], "身份证号 ID number": idn or "",
                                 "电话 phone": phone or "", "户籍地址 hometown": w.get("hometown") or "",
                                 "人数 count": 1})
                rest = ld.count - len(workers)
                if rest > 0:
                    rows.append({**base, "序号 no.": "", "姓名 name": "（名单未登记 no roster）", "身份证号 ID number": "",
                                 "电话 phone": "", "户籍地址 hometown": "", "人数 count": rest})
    return rows


TRAIN_MANIFEST_COLUMNS = ["列车 train", "车厢 car", "客群 cohort", "上车站 boards at", "开车 departs",
                          "下车站 alights at", "到站 arrives", "订单 order", "中介 agency", "序号 no.", "姓名 name",
                          "身份证号 ID number", "电话 phone", "户籍地址 hometown", "接站车 feeder coach",
                          "接站上车点 feeder pickup", "接站上车时间 feeder boards", "人数 count"]


def train_manifest_rows(stored: StoredPlan, protector: Protector, *,
                        unmasked: bool, only_orders: Optional[set[str]] = None) -> list[Row]:
    """One row per worker per train car (列车乘车名单), with the feeder coach that brings them to the
    station; loads without a roster get one row with the count."""
    trains = _trains(stored)
    names = _stations(stored.snapshot)
    riders = train_riders(stored)
    rows: list[Row] = []
    numbers: dict[tuple[str, int], int] = defaultdict(int)
    for k, r in enumerate(_train_loads(stored, trains)):
        if only_orders is not None and r.order not in only_orders:
            continue
        t = trains.get(r.train, {})
        base = {"列车 train": f"{t.get('name') or r.train} ({r.train})", "车厢 car": r.car + 1,
                "客群 cohort": r.cohort, "上车站 boards at": names.get(r.board_at, r.board_at),
                "开车 departs": _call(t, r.board_at, "depart"),
                "下车站 alights at": names.get(r.alight_at, r.alight_at),
                "到站 arrives": _call(t, r.alight_at, "arrive"), "订单 order": r.order,
                "中介 agency": stored.agency_of(r.order)}
        unnamed: dict[tuple[str, str, str], int] = defaultdict(int)
        for w, pickup in riders.get(k, []):
            if w.get("__unnamed"):
                unnamed[(pickup["coach"], pickup["place"], pickup["time"])] += 1
                continue
            numbers[(r.train, r.car)] += 1
            if unmasked:
                idn, phone = protector.open(w["id_number"]), protector.open(w["phone"])
            else:
                idn, phone = w["id_number_masked"], w["phone_masked"]
            rows.append({**base, "序号 no.": numbers[(r.train, r.car)], "姓名 name": w["name"],
                         "身份证号 ID number": idn or "", "电话 phone": phone or "",
                         "户籍地址 hometown": w.get("hometown") or "", "接站车 feeder coach": pickup["coach"],
                         "接站上车点 feeder pickup": pickup["place"], "接站上车时间 feeder boards": pickup["time"],
                         "人数 count": 1})
        for (c, place, when), n in sorted(unnamed.items()):
            rows.append({**base, "序号 no.": "", "姓名 name": "（名单未登记 no roster）", "身份证号 ID number": "",
                         "电话 phone": "", "户籍地址 hometown": "", "接站车 feeder coach": c,
                         "接站上车点 feeder pickup": place, "接站上车时间 feeder boards": when, "人数 count": n})
    return rows


# ------------------------------------------------------------------ schedule for bus operators

SCHEDULE_COLUMNS = ["车次 trip", "用途 purpose", "车辆 coach", "车型 vehicle type", "运营商 operator", "车场 depot",
                    "司机 crew",
                    "客群 cohort", "已发车 dispatched", "站序 stop", "类型 kind", "地点 place", "到达 arrive",
                    "出发 depart", "上车 board", "下车 alight", "公里 km", "费用 cost"]


def schedule_rows(stored: StoredPlan) -> list[Row]:
    """One row per stop of every trip, trips by coach and time: what each coach does when."""
    operators = {v["id"]: v.get("operator", "") for v in stored.scenario.get("fleet", [])}

    def key(t: Trip) -> tuple[str, int, datetime]:
        return (t.vehicle_type, t.bus, t.stops[0].depart or EARLIEST)
    rows = []
    for trip in sorted(stored.trips, key=key):
        for i, s in enumerate(trip.stops, start=1):
            rows.append({
                "车次 trip": trip.id, "用途 purpose": _PURPOSE.get(trip.purpose, ""),
                "车辆 coach": coach(trip), "车型 vehicle type": trip.vehicle_type,
                "运营商 operator": operators.get(trip.vehicle_type, ""), "车场 depot": trip.depot,
                "司机 crew": trip.crew, "客群 cohort": trip.cohort,
                "已发车 dispatched": "是 yes" if trip.dispatched else "",
                "站序 stop": i, "类型 kind": _KIND.get(s.kind, s.kind), "地点 place": _place(s.place),
                "到达 arrive": _t(s.arrive), "出发 depart": _t(s.depart),
                "上车 board": boarded(s) or "", "下车 alight": alighted(s) or "",
                "公里 km": trip.km if i == 1 else "", "费用 cost": trip.cost if i == 1 else ""})
    return rows


# ------------------------------------------------------------------ boarding lists for agencies

BOARDING_COLUMNS = ["中介 agency", "订单 order", "你的编号 your ref", "上车点 pickup", "上车时间 boarding",
                    "发车 departs", "车次 trip", "车辆 coach", "火车站 station", "列车 train", "车厢 car",
                    "开车 train departs", "工厂 site", "预计到达 arrives", "人数 count", "姓名 names",
                    "未安排原因 not planned because", "差多少 nearest miss"]


def boarding_rows(stored: StoredPlan, only_orders: Optional[set[str]] = None) -> list[Row]:
    """Where and when an agency's workers board (one row per order per coach; for a train, the
    feeder coach with the station, train and cars, and the site they reach after the last mile),
    and who was not planned."""
    seats = assign_workers(stored)
    trains = _trains(stored)
    names = _stations(stored.snapshot)
    loads = _train_loads(stored, trains)
    riders = train_riders(stored, seats)
    cars_of: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)  # (feeder trip, order) → cars
    for k, r in enumerate(loads):
        for trip_id in sorted({p["trip"] for _, p in riders.get(k, [])}):
            cars_of[(trip_id, r.order)].append((r.train, r.car))
    last_drop: dict[str, Stop] = {}  # order → the latest drop of its last miles
    for trip in stored.trips:
        if trip.purpose == "last_mile":
            for s in trip.stops:
                for ld in s.alight if s.kind == "drop" else []:
                    latest = last_drop.get(ld.order)
                    if _t(s.arrive) >= _t(latest.arrive if latest else None):
                        last_drop[ld.order] = s
    rows: list[Row] = []
    for trip, i, stop, ld in first_boardings(stored, only_orders):
        order = ld.order
        drop = _drop_of(trip, order)
        names_ = "、".join(w["name"] for w in seats.get((trip.id, i, order), []) if "name" in w)
        row = {"中介 agency": stored.agency_of(order), "订单 order": order,
               "你的编号 your ref": stored.ref_of(order),
               "上车点 pickup": _place(stop.place), "上车时间 boarding": _t(stop.arrive),
               "发车 departs": _t(stop.depart), "车次 trip": trip.id, "车辆 coach": coach(trip),
               "火车站 station": "", "列车 train": "", "车厢 car": "", "开车 train departs": "",
               "工厂 site": _place(drop.place) if drop else "",
               "预计到达 arrives": _t(drop.arrive) if drop else "",
               "人数 count": ld.count, "姓名 names": names_, "未安排原因 not planned because": "",
               "差多少 nearest miss": ""}
        if trip.purpose == "feeder":
            cars = cars_of.get((trip.id, order), [])
            station = (drop.place.station if drop else None) or ""
            t = trains.get(cars[0][0], {}) if cars else {}
            final = last_drop.get(order)
            row.update({"火车站 station": names.get(station, station),
                        "列车 train": "、".join(sorted({trains.get(c[0], {}).get("name") or c[0] for c in cars})),
                        "车厢 car": "、".join(str(c[1] + 1) for c in sorted(set(cars))),
                        "开车 train departs": _call(t, station, "depart") if t else "",
                        "工厂 site": _place(final.place) if final else "",
                        "预计到达 arrives": _t(final.arrive) if final else ""})
        rows.append(row)
    for u in stored.plan.unassigned:
        if only_orders is not None and u.order not in only_orders:
            continue
        rows.append({c: "" for c in BOARDING_COLUMNS} | {
            "中介 agency": stored.agency_of(u.order), "订单 order": u.order, "你的编号 your ref": stored.ref_of(u.order),
            "人数 count": u.count, "未安排原因 not planned because": f"{word(REASONS, u.reason)} {u.reason}",
            "差多少 nearest miss": detail(u.detail)})
    rows.sort(key=lambda r: (r["中介 agency"], _num(r["订单 order"])))
    return rows


def _num(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)


# ------------------------------------------------------------------ report

REPORT_COLUMNS = ["level", "name", "orders", "workers_requested", "workers_cleared", "workers_delivered",
                  "workers_by_train", "workers_unassigned", "trips", "km_share", "coach_cost_share", "train_cost_share",
                  "cost_share", "cost_per_delivered", "subsidy_per_worker", "subsidy"]


def report(stored: StoredPlan, only_orders: Optional[set[str]] = None) -> dict[str, Any]:
    """Cost and delivered headcount per agency and per province (of the workers' home county).

    A trip's cost and km are shared among its riders in proportion to their number (a feeder's
    and a last mile's among theirs: ``coach_cost_share``); a train's seats are its riders' and its
    fixed cost is shared among them (``train_cost_share``). Subsidies are paid per delivered
    worker, so ``workers_delivered`` counts workers planned (on a direct coach or a feeder, once),
    of whom ``workers_by_train`` ride a train; ``subsidy`` = delivered × the agency's rate (policy
    ``subsidy_per_worker``: one figure, or one per agency), summed for provinces and the total.
    Registered workers a plan matched count in the orders their match derived (requested = matched).
    """
    from planner.contract import Location  # noqa: PLC0415
    from planner.network.places import province_of, resolve_all  # noqa: PLC0415

    from .matching import subsidy_rate  # noqa: PLC0415

    snapshot = stored.snapshot
    orders = {o["id"]: o for o in snapshot["scenario"]["orders"]
              if only_orders is None or o["id"] in only_orders}
    owners = snapshot.get("orders", {})
    ids = list(orders)
    points = resolve_all([Location.model_validate(orders[i]["origin"]) for i in ids])
    province = {}
    for oid, p in zip(ids, points):
        county = getattr(p, "county", None)
        province[oid] = (province_of(county) if county else "") or "未知 unknown"

    def blank() -> dict[str, Any]:
        return {"orders": 0, "workers_requested": 0, "workers_cleared": 0, "workers_delivered": 0,
                "workers_by_train": 0, "workers_unassigned": 0, "trips": set(), "km_share": 0.0,
                "coach_cost_share": 0.0, "train_cost_share": 0.0, "subsidy": 0.0}

    policy = snapshot["scenario"].get("policy") or {}
    rates = {a: subsidy_rate(policy, a) for a in {o.get("agency", "?") for o in owners.values()}}

    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(blank)

    def keys(oid: str) -> list[tuple[str, str]]:
        return [("agency", owners.get(oid, {}).get("agency", "?")), ("province", province[oid]), ("total", "all")]

    for oid, o in orders.items():
        for k in keys(oid):
            g = groups[k]
            g["orders"] += 1
            g["workers_requested"] += o["headcount"]
            g["workers_cleared"] += o["cleared"]
    for trip in stored.trips:
        riders: dict[str, int] = defaultdict(int)
        for s in trip.stops:
            for ld in s.board:
                riders[ld.order] += ld.count
        total = sum(riders.values())
        if not total:
            continue
        for oid, n in riders.items():
            if oid not in orders:
                continue
            for k in keys(oid):
                g = groups[k]
                if _first_boarding(trip):
                    g["workers_delivered"] += n
                    g["subsidy"] += n * (rates.get(owners.get(oid, {}).get("agency", "?")) or 0.0)
                g["trips"].add(trip.id)
                g["km_share"] += trip.km * n / total
                g["coach_cost_share"] += trip.cost * n / total
    trains = stored.trains()
    aboard: dict[str, int] = defaultdict(int)
    for r in stored.plan.train_loads:
        aboard[r.train] += r.count
    for r in stored.plan.train_loads:
        t = trains.get(r.train, {})
        if r.order not in orders or not aboard[r.train]:
            continue
        share = r.count * (t.get("cost_per_seat", 0.0) + t.get("fixed_cost", 0.0) / aboard[r.train])
        for k in keys(r.order):
            groups[k]["workers_by_train"] += r.count
            groups[k]["train_cost_share"] += share
    for u in stored.plan.unassigned:
        if u.order in orders:
            for k in keys(u.order):
                groups[k]["workers_unassigned"] += u.count

    def finish(level: str, name: str, g: dict[str, Any]) -> dict[str, Any]:
        cost = g["coach_cost_share"] + g["train_cost_share"]
        return {"level": level, "name": name, **{k: v for k, v in g.items() if k != "trips"},
                "trips": len(g["trips"]), "km_share": round(g["km_share"], 1),
                "coach_cost_share": round(g["coach_cost_share"], 2), "train_cost_share": round(g["train_cost_share"], 2),
                "cost_share": round(cost, 2),
                "cost_per_delivered": round(cost / g["workers_delivered"], 2) if g["workers_delivered"] else None,
                "subsidy_per_worker": rates.get(name) if level == "agency" else None,
                "subsidy": round(g["subsidy"], 2)}

    out: dict[str, Any] = {"agencies": [], "provinces": [], "total": finish("total", "all", groups[("total", "all")])}
    for (level, name), g in sorted(groups.items()):
        if level == "agency":
            out["agencies"].append(finish(level, name, g))
        elif level == "province":
            out["provinces"].append(finish(level, name, g))
    return out


def report_rows(rep: dict[str, Any]) -> list[Row]:
    return [*rep["agencies"], *rep["provinces"], rep["total"]]


# ------------------------------------------------------------------ writers


#: the report's columns as people read them (the JSON keeps the keys)
REPORT_HEADERS = {
    "level": "层级 level", "name": "名称 name", "orders": "订单数 orders", "workers_requested": "申请人数 requested",
    "workers_cleared": "已筛查 cleared", "workers_delivered": "已送达 delivered", "workers_by_train": "乘火车 by train",
    "workers_unassigned": "未安排 unassigned", "trips": "车次 trips", "km_share": "分摊公里 km share",
    "coach_cost_share": "分摊汽车费用 coach cost share", "train_cost_share": "分摊火车费用 train cost share",
    "cost_share": "分摊总费用 cost share", "cost_per_delivered": "每人费用 cost per delivered",
    "subsidy_per_worker": "每人补贴 subsidy per worker", "subsidy": "补贴 subsidy",
}


#: how a text cell a spreadsheet would read as a formula begins (OWASP's "CSV injection" list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """A CSV cell a spreadsheet reads as the text it is: text that would start a formula gets a
    leading ``'`` (OWASP's advice; Excel hides it). Numbers stay numbers (-3 is not text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _as_text(cell: Any) -> None:
    """An XLSX cell whose text looks like a formula (openpyxl makes ``=…`` a formula) stored as
    text, shown as written, and kept text when someone edits it (Excel's quote prefix)."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def to_csv(columns: Sequence[str], rows: Iterable[Row], headers: Optional[dict[str, str]] = None) -> bytes:
    """CSV of ``rows`` (UTF-8 with BOM, for Excel); ``headers`` names the columns for people."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    if headers:
        writer.writerow({c: headers.get(c, c) for c in columns})
    else:
        writer.writeheader()
    for r in rows:
        writer.writerow({c: "" if r.get(c) is None else _inert(r.get(c)) for c in columns})
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Sequence[Row]]],
            headers: Optional[dict[str, str]] = None) -> bytes:
    """A workbook with one sheet per (title, columns, rows); titles are made valid and unique;
    ``headers`` names the columns for people."""
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415

    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    used: set[str] = set()
    for title, columns, rows in sheets:
        name = re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "sheet"
        base, n = name, 2
        while name.lower() in used:
            suffix = f"~{n}"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        ws = wb.create_sheet(name)
        ws.append([(headers or {}).get(c, c) for c in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in rows:
            values = ["" if r.get(c) is None else r.get(c) for c in columns]
            ws.append(values)
            if any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values):
                for cell in ws[ws.max_row]:
                    _as_text(cell)
        for i, c in enumerate(columns, start=1):
            width = max([len(str(c))] + [len(str(r.get(c) or "")) for r in rows[:200]])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, max(8, width + 2))
        ws.freeze_panes = "A2"
    if not used:
        wb.create_sheet("empty")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


#: above this many trips, the workbook has one manifest sheet instead of one per trip
MAX_TRIP_SHEETS = 250


def manifest_workbook(rows: list[Row]) -> bytes:
    """A summary sheet, then one sheet per coach trip (乘车名单); one sheet for all when there
    are more than :data:`MAX_TRIP_SHEETS` trips."""
    by_trip: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_trip[r["车次 trip"]].append(r)
    summary = [{"车次 trip": t, "车辆 coach": rs[0]["车辆 coach"], "司机 crew": rs[0]["司机 crew"],
                "人数 count": sum(int(r["人数 count"]) for r in rs),
                "首站上车 first boarding": min(r["上车时间 boarding"] for r in rs)} for t, rs in by_trip.items()]
    sheets: list[tuple[str, Sequence[str], Sequence[Row]]] = [
        ("汇总 summary", ["车次 trip", "车辆 coach", "司机 crew", "人数 count", "首站上车 first boarding"], summary)]
    if len(by_trip) > MAX_TRIP_SHEETS:
        sheets.append(("乘车名单 manifests", MANIFEST_COLUMNS, rows))
    else:
        sheets += [(f"乘车名单 {t}", MANIFEST_COLUMNS, rs) for t, rs in by_trip.items()]
    return to_xlsx(sheets)
