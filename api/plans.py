"""Plans: the input snapshot a plan is made from, and what each caller may see of a plan."""

from __future__ import annotations

import copy
from typing import Any, Optional

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planner.contract import Scenario
from planner.read import validation_problems

from . import models as m
from .errors import ApiError
from .matching import snapshot_people, with_matches, worker_contract
from .orders import contract_dict
from .reference import reference_dict


def build_snapshot(session: Session, base: Optional[m.PlanJob]) -> dict[str, Any]:
    """Everything a plan is made from, frozen: the scenario, who owns each order, the rosters
    (ID numbers and phones still encrypted) and the dispatched trips to keep.

    Raises
    ------
    ApiError
        409 when the current orders and reference data do not make a valid scenario
        (e.g. an order's site was removed), listing every problem.
    """
    scenario = reference_dict(session)
    rows = list(session.scalars(select(m.Order).options(selectinload(m.Order.workers)).order_by(m.Order.id)))
    scenario["orders"] = [contract_dict(o) for o in rows]
    registered = list(session.scalars(select(m.MatchWorker).order_by(m.MatchWorker.id)))
    scenario["workers"] = [worker_contract(w) for w in registered]
    try:
        Scenario.model_validate(scenario)
    except ValidationError as exc:
        raise ApiError(409, "the current orders and reference data do not make a valid scenario; "
                            "fix them and plan again", validation_problems(exc, "scenario")) from None
    if not scenario["fleet"]:
        raise ApiError(409, "there is no fleet in the reference data: PUT /v1/reference first")
    owners = {str(o.id): {"agency_id": o.agency_id, "agency": o.agency.name, "ref": o.ref} for o in rows}
    rosters = {
        str(o.id): [{
            "id": w.id, "name": w.name, "id_number": w.id_number_enc, "id_number_masked": w.id_number_masked,
            "phone": w.phone_enc, "phone_masked": w.phone_masked, "hometown": w.hometown,
            "screening": w.screening,
            "screening_valid_until": w.screening_valid_until.isoformat() if w.screening_valid_until else None,
        } for w in o.workers]
        for o in rows if o.workers}
    fixed: list[dict[str, Any]] = []
    adjusted: list[str] = []
    if base is not None and base.result is not None:
        kept = set(session.scalars(select(m.Dispatch.trip_id).where(m.Dispatch.plan_id == base.id)))
        fixed = [copy.deepcopy(dict(t, dispatched=True)) for t in base.result.get("trips", []) if t["id"] in kept]
        missing = sorted({ld["order"] for t in fixed for s in t["stops"] for ld in s.get("board", [])}
                         - set(owners))
        if any(o.startswith("M") for o in missing) and base.result.get("matches"):
            raise ApiError(409, f"dispatched trips of plan {base.id} carry matched workers (orders "
                                f"{', '.join(o for o in missing if o.startswith('M'))}); a re-plan matches afresh and "
                                f"cannot keep them: un-dispatch those trips, or plan with keep_dispatched false")
        if missing:
            raise ApiError(409, f"dispatched trips of plan {base.id} carry workers of orders that no longer "
                                f"exist ({', '.join(missing)}); restore those orders or plan with "
                                f"keep_dispatched false")
        _fleet_holds(scenario, fixed, base.id)
        adjusted = _no_shows(scenario, fixed, base.id)
    return {"scenario": scenario, "orders": owners, "rosters": rosters, "fixed": fixed,
            "workers": snapshot_people(registered),
            "base_plan": base.id if base is not None else None, "adjusted": adjusted}


def _fleet_holds(scenario: dict[str, Any], fixed: list[dict[str, Any]], plan_id: int) -> None:
    """Dispatched trips keep their coaches: a coach type removed or shrunk under them is refused."""
    counts = {v["id"]: v["count"] for v in scenario["fleet"]}
    gone = [t for t in fixed if t["vehicle_type"] not in counts or t["bus"] >= counts[t["vehicle_type"]]]
    if gone:
        listed = ", ".join(f"{t['id']} ({t['vehicle_type']} #{t['bus'] + 1})" for t in gone)
        raise ApiError(409, f"dispatched trips of plan {plan_id} run on coaches the fleet no longer has: {listed}; "
                            f"put the coach type back (or its count up), un-dispatch those trips, or plan with "
                            f"keep_dispatched false")


def _no_shows(scenario: dict[str, Any], fixed: list[dict[str, Any]], plan_id: int) -> list[str]:
    """Workers who did not show up for a dispatched trip: the trip carries fewer (its latest loads
    first), so that nobody is counted twice. Returns what was changed, for the plan's warnings.

    Refused (409) when a pickup would be left with nobody to board: the trip as dispatched stops
    there for no one, so un-dispatch it (or plan afresh)."""
    cleared = {o["id"]: o["cleared"] for o in scenario["orders"]}
    boarded: dict[str, int] = {}
    for t in fixed:
        for s in t["stops"]:
            for ld in s.get("board", []):
                boarded[ld["order"]] = boarded.get(ld["order"], 0) + ld["count"]
    notes = []
    for order, n in sorted(boarded.items()):
        excess = n - cleared.get(order, 0)
        if excess <= 0:
            continue
        for t in sorted(fixed, key=lambda t: t["stops"][0].get("depart") or "", reverse=True):
            if excess <= 0:
                break
            for s in t["stops"]:
                for key in ("board", "alight"):
                    for ld in s.get(key, []):
                        if ld["order"] == order:
                            cut = min(excess, ld["count"])
                            ld["_cut"] = cut
            took = 0
            for s in t["stops"]:
                for key in ("board", "alight"):
                    keep = []
                    for ld in s.get(key, []):
                        cut = ld.pop("_cut", 0)
                        if key == "board":
                            took += cut
                        if ld["count"] - cut > 0:
                            keep.append(dict(ld, count=ld["count"] - cut))
                    s[key] = keep
                if s["kind"] in ("pickup", "drop") and not (s.get("board") or s.get("alight")):
                    raise ApiError(409, f"order {order} now has {cleared.get(order, 0)} cleared worker(s), but "
                                        f"dispatched trips of plan {plan_id} board {n}; without the no-shows trip "
                                        f"{t['id']} would stop at {s['place'].get('name') or s['place']} for nobody: "
                                        f"un-dispatch it, or plan with keep_dispatched false")
            if took:
                notes.append(f"dispatched trip {t['id']} carries {took} fewer of order {order} "
                             f"(no-shows: the order now has {cleared.get(order, 0)} cleared)")
                excess -= took
    return notes


def dispatched_trips_using(session: Session, vehicle_type: str) -> list[tuple[int, str, int]]:
    """Dispatched trips (plan, trip, coach index) that run on coaches of ``vehicle_type``."""
    out = []
    rows = session.execute(select(m.Dispatch.plan_id, m.Dispatch.trip_id)).all()
    plans: dict[int, dict[str, Any]] = {}
    for plan_id, trip_id in rows:
        if plan_id not in plans:
            job = session.get(m.PlanJob, plan_id)
            plans[plan_id] = {t["id"]: t for t in (job.result or {}).get("trips", [])} if job else {}
        trip = plans[plan_id].get(trip_id)
        if trip is not None and trip["vehicle_type"] == vehicle_type:
            out.append((plan_id, trip_id, trip["bus"]))
    return sorted(out)


def dispatched(session: Session, plan_id: int) -> dict[str, Any]:
    return {d.trip_id: d.dispatched_at for d in session.scalars(
        select(m.Dispatch).where(m.Dispatch.plan_id == plan_id))}


def plan_document(job: m.PlanJob, dispatched_trips: dict[str, Any]) -> dict[str, Any]:
    """The contract-v1 plan with each trip's ``dispatched`` flag as it is now (and, once the plan
    was published, its stable ``ref``: see :mod:`api.publish`)."""
    assert job.result is not None
    doc = copy.deepcopy(job.result)
    refs = doc.pop("trip_refs", None) or {}  # frozen when the plan was published (api.publish)
    for trip in doc.get("trips", []):
        trip["dispatched"] = trip["id"] in dispatched_trips
        if trip["id"] in refs:
            trip["ref"] = refs[trip["id"]]
    return doc


def agency_orders(snapshot: dict[str, Any], agency_id: int) -> set[str]:
    return {oid for oid, o in snapshot.get("orders", {}).items() if o["agency_id"] == agency_id}


def seen(job: m.PlanJob) -> dict[str, Any]:
    """The plan's snapshot as its outputs see it: with the orders its matches derived (owned by the
    matched workers' agency, their roster the matched workers); see :func:`api.matching.with_matches`."""
    return with_matches(job.snapshot, job.result if job.status == "done" else None)


def agency_view(doc: dict[str, Any], snapshot: dict[str, Any], agency_id: int) -> dict[str, Any]:
    """What an agency sees of a plan: only trips carrying its workers, only its own loads and
    stops, its own unassigned workers, and a summary of its own workers."""
    own = agency_orders(snapshot, agency_id)
    trips = []
    for trip in doc.get("trips", []):
        if not any(ld["order"] in own for s in trip["stops"] for ld in s.get("board", [])):
            continue
        stops = []
        for s in trip["stops"]:
            s = dict(s, board=[ld for ld in s.get("board", []) if ld["order"] in own],
                     alight=[ld for ld in s.get("alight", []) if ld["order"] in own])
            if s["kind"] in ("depart", "return") or s["board"] or s["alight"]:
                stops.append(s)
        trips.append(dict(trip, stops=stops))
    unassigned = [u for u in doc.get("unassigned", []) if u["order"] in own]
    orders = [o for o in snapshot["scenario"]["orders"] if o["id"] in own]
    planned = sum(ld["count"] for t in trips for s in t["stops"] for ld in s["board"])
    summary = {
        "workers_requested": sum(o["headcount"] for o in orders),
        "workers_cleared": sum(o["cleared"] for o in orders),
        "workers_planned": planned,
        "trips": len(trips),
    }
    return {"scenario": doc.get("scenario"), "solver": doc.get("solver"), "trips": trips,
            "unassigned": unassigned, "summary": summary}
