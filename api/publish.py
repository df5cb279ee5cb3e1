"""The plan in force: publishing a done plan (versions 1, 2, …), what agencies may read, stable trip
references across re-plans, the difference of a plan from the plan in force, and whom to tell.

Stable trip references: a trip of a plan that runs on the same coach (vehicle type and coach number)
along the same route (the same sequence of stop places) as a trip of the base plan keeps the base
trip's reference as its ``ref``; other trips keep their own id (or ``T0003@7`` — id @ plan — when
that id is already a reference in the base). A plan's references are computed on read against the
plan it is compared with, and frozen into the plan's stored result (``trip_refs``) when it is
published, against the plan then in force: so references chain over publications, and a published
plan's never change.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.contract import SHANGHAI, Trip
from planner.labels import STATUSES, word

from . import models as m
from .db import commit_or_409
from .errors import ApiError
from .exports import _place, _t, assign_workers, first_boardings
from .matching import agency_in_plan
from .plans import agency_orders, done_job, seen
from .stored import StoredPlan, ordered

# ------------------------------------------------------------------ publications


def in_force(session: Session) -> Optional[m.Publication]:
    """The newest publication (its plan is the plan in force), or None."""
    return session.scalar(select(m.Publication).order_by(m.Publication.version.desc()).limit(1))


def latest_publication(session: Session, plan_id: int) -> Optional[m.Publication]:
    return session.scalar(select(m.Publication).where(m.Publication.plan_id == plan_id)
                          .order_by(m.Publication.version.desc()).limit(1))


def agency_may_read(session: Session, job: m.PlanJob, user: m.Principal) -> bool:
    """An agency reads only the plan in force, and only when it has orders or workers in it."""
    if user.role == "coordinator":
        return True
    pub = in_force(session)
    return pub is not None and pub.plan_id == job.id and agency_in_plan(job.snapshot, user.id)


def publication_dict(session: Session, pub: m.Publication) -> dict[str, Any]:
    who = session.get(m.Principal, pub.published_by)
    return {"plan": pub.plan_id, "version": pub.version, "published_by": who.name if who else None,
            "published_at": _shanghai(pub.published_at), "note": pub.note}


def _shanghai(t: datetime) -> str:
    """A stored time (naive: UTC, as the database keeps it) in Asia/Shanghai, ISO 8601 with its offset."""
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(SHANGHAI).isoformat()


def publish(session: Session, job: m.PlanJob, user: m.Principal, note: Optional[str] = None) -> m.Publication:
    """Make ``job`` (a done plan) the plan in force: version = the previous highest + 1; its trip
    references are frozen against the plan in force until now. 409 when it is not done, or is
    already the plan in force."""
    if job.status != "done" or job.result is None:
        raise ApiError(409, f"方案 #{job.id} {word(STATUSES, job.status)}，只有已完成的方案可以发布。"
                            f"plan {job.id} is {job.status}; only a done plan can be published")
    current = in_force(session)
    if current is not None and current.plan_id == job.id:
        raise ApiError(409, f"方案 #{job.id} 已是现行方案（第 {current.version} 版）。"
                            f"plan {job.id} is already the plan in force (version {current.version})")
    refs: dict[str, str] = {}
    if current is not None:
        base = session.get(m.PlanJob, current.plan_id)
        if base is not None and base.result is not None:
            refs = match_trips(job.result, base.result, job.id)["refs"]
    else:
        refs = {t["id"]: t["id"] for t in job.result.get("trips", [])}
    job.result = {**job.result, "trip_refs": refs}
    version = (session.scalar(select(func.max(m.Publication.version))) or 0) + 1
    pub = m.Publication(plan_id=job.id, version=version, published_by=user.id, note=note)
    session.add(pub)
    commit_or_409(session, "another plan was published at the same moment; look at GET /v1/plans/published "
                           "and publish again if still wanted")
    return pub


# ------------------------------------------------------------------ stable trip references


def _place_key(p: dict[str, Any]) -> str:
    for k in ("id", "station", "county"):
        if p.get(k):
            return f"{k}:{p[k]}"
    return f"at:{round(float(p.get('lat', 0)), 4)},{round(float(p.get('lon', 0)), 4)}"


def trip_key(trip: dict[str, Any]) -> tuple[Any, ...]:
    """The same coach along the same route: vehicle type, coach number, the places of its stops."""
    return (trip["vehicle_type"], trip["bus"], tuple(_place_key(s["place"]) for s in trip["stops"]))


def _when(value: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(value) if value else None


def _times(trip: dict[str, Any]) -> list[tuple[Optional[datetime], Optional[datetime]]]:
    return [(_when(s.get("arrive")), _when(s.get("depart"))) for s in trip["stops"]]


def _start(trip: dict[str, Any]) -> str:
    times = [s.get("depart") or s.get("arrive") for s in trip["stops"] if s.get("depart") or s.get("arrive")]
    return _t(times[0]) if times else ""


def stored_refs(result: dict[str, Any]) -> dict[str, str]:
    """A plan's frozen references (published plans), else each trip its own id."""
    refs = result.get("trip_refs") or {}
    return {t["id"]: refs.get(t["id"], t["id"]) for t in result.get("trips", [])}


def match_trips(new: dict[str, Any], base: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """Trips of ``new`` matched to those of ``base`` (same coach, same route; several such trips
    paired in the order they start): ``refs`` (new trip id → stable ref), ``pairs`` (new id → base
    trip), ``removed`` (base trips without a match)."""
    base_refs = stored_refs(base)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for t in sorted(base.get("trips", []), key=lambda t: (_start(t), t["id"])):
        groups[trip_key(t)].append(t)
    taken = set(base_refs.values())
    refs: dict[str, str] = {}
    pairs: dict[str, dict[str, Any]] = {}
    for t in sorted(new.get("trips", []), key=lambda t: (_start(t), t["id"])):
        queue = groups.get(trip_key(t))
        if queue:
            b = queue.pop(0)
            pairs[t["id"]] = b
            refs[t["id"]] = base_refs[b["id"]]
    for t in new.get("trips", []):
        if t["id"] not in refs:
            refs[t["id"]] = t["id"] if t["id"] not in taken else f"{t['id']}@{plan_id}"
    removed = [b for q in groups.values() for b in q]
    return {"refs": refs, "pairs": pairs, "removed": removed, "base_refs": base_refs}


# ------------------------------------------------------------------ seats: who boards where and when


def _seats(job: m.PlanJob, doc: dict[str, Any], refs: dict[str, str],
           only_agency: Optional[int]) -> dict[str, dict[str, Any]]:
    """Per person or order (key) what they board: ``{"agency", "agency_id", "order", "ref", "name",
    "phone", "seats": [(place, time, trip ref)], "worker": bool}``. Rostered workers (an order's roster
    or registered workers a match derived an order for) each under their own key; seats of orders
    without a roster (or beyond it) under the order's key, one entry per seat."""
    view = seen(job)
    owners = view.get("orders", {})
    people = job.snapshot.get("workers", {})
    mine = agency_orders(view, only_agency) if only_agency is not None else None
    stored = StoredPlan.from_document(job.id, doc, view)
    assigned = assign_workers(stored)
    out: dict[str, dict[str, Any]] = {}

    def entry(key: str, order: str, w: Optional[dict[str, Any]]) -> dict[str, Any]:
        if key not in out:
            owner = owners.get(order, {})
            derived = bool(owner.get("derived"))
            person = people.get(str(w.get("worker")), {}) if w is not None and derived else {}
            out[key] = {"agency": owner.get("agency", ""), "agency_id": owner.get("agency_id"),
                        "order": "" if derived else order,
                        "ref": (person.get("ref") if derived else owner.get("ref")) or "",
                        "name": (w or {}).get("name", ""), "phone": (w or {}).get("phone_masked") or "",
                        "worker": w is not None, "seats": []}
        return out[key]

    for oid, roster in view.get("rosters", {}).items():  # everyone on a roster, seated or not
        if mine is not None and oid not in mine:
            continue
        for w in roster:
            if w.get("screening", "cleared") == "cleared":
                entry(_worker_key(oid, w, owners), oid, w)
    for trip, i, stop, ld in first_boardings(stored, mine):
        order = ld.order
        seat = (_place(stop.place), _t(stop.arrive or stop.depart), refs[trip.id])
        named = [w for w in assigned.get((trip.id, i, order), []) if "name" in w]
        for w in named:
            entry(_worker_key(order, w, owners), order, w)["seats"].append(seat)
        rest = ld.count - len(named)
        if rest > 0:
            entry(f"order:{order}", order, None)["seats"].extend([seat] * rest)
    for u in stored.plan.unassigned:  # orders nobody of which is seated still count
        if (mine is None or u.order in mine) and not owners.get(u.order, {}).get("derived"):
            entry(f"order:{u.order}", u.order, None)
    return out


def _worker_key(order: str, w: dict[str, Any], owners: dict[str, Any]) -> str:
    if owners.get(order, {}).get("derived") or "worker" in w:
        return f"registered:{w.get('worker', w.get('id'))}"
    return f"worker:{w.get('id')}"


# ------------------------------------------------------------------ the difference


def diff(job: m.PlanJob, base: m.PlanJob, only_agency: Optional[int] = None) -> dict[str, Any]:
    """What ``job`` changes against ``base``: trips added, removed, retimed (with their stable
    refs), and per order / rostered worker the old and new boarding (place, time, trip ref), and who
    lose or gain a seat. ``only_agency``: that agency's orders and workers (and trips carrying them)."""
    assert job.result is not None and base.result is not None
    matched = match_trips(job.result, base.result, job.id)
    refs, pairs = matched["refs"], matched["pairs"]
    base_refs = matched["base_refs"]
    new_seats = _seats(job, job.result, refs, only_agency)
    old_seats = _seats(base, base.result, base_refs, only_agency)

    def carries(trip: dict[str, Any], j: m.PlanJob) -> bool:
        if only_agency is None:
            return True
        own = agency_orders(seen(j), only_agency)
        return any(ld["order"] in own for s in trip["stops"] for ld in s.get("board", []))

    def brief(t: dict[str, Any], ref: str) -> dict[str, Any]:
        pickups = [_place(s["place"]) for s in t["stops"] if s["kind"] == "pickup"]
        return {"ref": ref, "id": t["id"], "coach": f"{t['vehicle_type']} #{t['bus'] + 1}",
                "purpose": t.get("purpose", "direct"), "starts": _start(t), "pickups": pickups}

    added, retimed, kept = [], [], []
    for t in _in_boarding_order(job.result.get("trips", [])):
        if not carries(t, job):
            continue
        b = pairs.get(t["id"])
        if b is None:
            added.append(brief(t, refs[t["id"]]))
        elif _times(t) != _times(b):
            retimed.append({**brief(t, refs[t["id"]]), "base_id": b["id"], "base_starts": _start(b)})
        else:
            kept.append(refs[t["id"]])
    removed = [brief(b, base_refs[b["id"]]) for b in _in_boarding_order(matched["removed"])
               if carries(b, base)]

    changes = []
    for key in sorted(set(new_seats) | set(old_seats), key=_sort_key):
        new, old = new_seats.get(key), old_seats.get(key)
        who = new or old
        assert who is not None
        olds = sorted((old or {}).get("seats", []), key=lambda s: (s[1], s[0]))
        news = sorted((new or {}).get("seats", []), key=lambda s: (s[1], s[0]))
        pairs_: dict[tuple[Any, Any, str], int] = defaultdict(int)
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else None
            n = news[k] if k < len(news) else None
            if o is not None and n is not None and o[:2] == n[:2]:
                continue
            what = ("no_seat" if n is None else "new_seat" if o is None else
                    "time_and_place" if o[0] != n[0] and o[1] != n[1] else "place" if o[0] != n[0] else "time")
            pairs_[(o, n, what)] += 1
        for (o, n, what), count in sorted(pairs_.items(), key=lambda kv: (kv[0][2], str(kv[0][0]), str(kv[0][1]))):
            changes.append({"agency": who["agency"], "order": who["order"], "ref": who["ref"],
                            "worker": who["worker"], "name": who["name"] if who["worker"] else "",
                            "phone": who["phone"] if who["worker"] else "", "count": count, "change": what,
                            "old_place": o[0] if o else "", "old_time": o[1] if o else "", "old_trip": o[2] if o else "",
                            "new_place": n[0] if n else "", "new_time": n[1] if n else "", "new_trip": n[2] if n else ""})
    counts: dict[str, int] = defaultdict(int)
    for c in changes:
        counts[c["change"]] += c["count"]
    return {"plan": job.id, "base": base.id, "trips": {
                "added": added, "removed": removed, "retimed": retimed, "unchanged": len(kept)},
            "refs": refs, "changes": changes,
            "summary": {"trips_added": len(added), "trips_removed": len(removed), "trips_retimed": len(retimed),
                        "trips_unchanged": len(kept), "orders_changed": len({c["order"] for c in changes if c["order"]}),
                        "workers_changed": sum(c["count"] for c in changes if c["worker"]),
                        "seats_changed": sum(c["count"] for c in changes), "by_change": dict(counts)}}


def _in_boarding_order(trips: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored trips (as the matching of trips across plans reads them) by first boarding, then id."""
    by_id = {t["id"]: t for t in trips}
    return [by_id[t.id] for t in ordered([Trip.model_validate(t) for t in trips])]


def _sort_key(key: str) -> tuple[str, int, str]:
    kind, _, rest = key.partition(":")
    return (kind, int(rest) if rest.isdigit() else 0, rest)


# ------------------------------------------------------------------ whom to tell

_CHANGE = {"time": "时间 time", "place": "地点 place", "time_and_place": "时间和地点 time and place",
           "no_seat": "无座 no seat", "new_seat": "新座位 new seat"}

NOTIFY_COLUMNS = ["中介 agency", "订单 order", "你的编号 your ref", "姓名 name", "电话 phone", "人数 count",
                  "原上车点 old pickup", "原上车时间 old boarding", "原车次 old trip", "新上车点 new pickup",
                  "新上车时间 new boarding", "新车次 new trip", "变化 change"]


def notify_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per changed worker (or per order and change, with the count, without a roster)."""
    rows = []
    for c in d["changes"]:
        rows.append({"中介 agency": c["agency"], "订单 order": c["order"], "你的编号 your ref": c["ref"],
                     "姓名 name": c["name"] if c["worker"] else "（名单未登记 no roster）",
                     "电话 phone": c["phone"], "人数 count": c["count"],
                     "原上车点 old pickup": c["old_place"], "原上车时间 old boarding": c["old_time"],
                     "原车次 old trip": c["old_trip"], "新上车点 new pickup": c["new_place"],
                     "新上车时间 new boarding": c["new_time"], "新车次 new trip": c["new_trip"],
                     "变化 change": _CHANGE.get(c["change"], c["change"])})
    rows.sort(key=lambda r: (r["中介 agency"], _num(r["订单 order"]), r["你的编号 your ref"], r["姓名 name"]))
    return rows


def _num(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)


def diff_of(session: Session, plan_id: int, user: m.Principal, base: Optional[int] = None) -> dict[str, Any]:
    """The difference the caller may see (the service function behind the routes and the console):
    ``plan_id`` against ``base`` (default: the plan in force; for the plan in force itself, the
    version before it). An agency: its own orders and workers, and only the plan in force."""
    job = done_job(session, plan_id, user)
    if base is None:
        pub = in_force(session)
        if pub is not None and pub.plan_id == job.id:
            prev = session.scalar(select(m.Publication).where(m.Publication.version < pub.version,
                                                              m.Publication.plan_id != job.id)
                                  .order_by(m.Publication.version.desc()).limit(1))
            if prev is None:
                raise ApiError(409, f"方案 #{plan_id} 是第一个现行方案，之前没有可对比的方案（可指定 ?base=N）。"
                                    f"plan {plan_id} is the first plan in force: there is nothing before it to "
                                    f"compare with (give ?base=N)")
            base = prev.plan_id
        elif pub is None:
            raise ApiError(409, "还没有现行方案可对比：请先发布一个方案，或指定 ?base=N。"
                                 "no plan is in force to compare with: publish one, or give ?base=N")
        else:
            base = pub.plan_id
    elif user.role != "coordinator":
        raise ApiError(403, "中介只能与现行方案的上一版对比（不能指定 ?base）。"
                             "an agency compares with the plan before the plan in force only (no ?base)")
    base_job = session.get(m.PlanJob, base)
    if base_job is None:
        raise ApiError(404, f"没有方案 #{base} (no base plan {base})")
    if base_job.status != "done" or base_job.result is None:
        raise ApiError(409, f"对比方案 #{base} {word(STATUSES, base_job.status)}，只能与已完成的方案对比。"
                            f"base plan {base} is {base_job.status}; only a done plan can be compared with")
    d = diff(job, base_job, user.id if user.role != "coordinator" else None)
    if user.role != "coordinator":
        own = _agency_trips(job, user.id)
        d["refs"] = {k: v for k, v in d["refs"].items() if k in own}
    return d


def _agency_trips(job: m.PlanJob, agency_id: int) -> set[str]:
    own = agency_orders(seen(job), agency_id)
    return {t["id"] for t in (job.result or {}).get("trips", [])
            if any(ld["order"] in own for s in t["stops"] for ld in s.get("board", []))}
