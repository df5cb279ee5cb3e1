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
    if base is not None and base.result is not None:
        kept = set(session.scalars(select(m.Dispatch.trip_id).where(m.Dispatch.plan_id == base.id)))
        fixed = [dict(t, dispatched=True) for t in base.result.get("trips", []) if t["id"] in kept]
        missing = sorted({ld["order"] for t in fixed for s in t["stops"] for ld in s.get("board", [])}
                         - set(owners))
        if missing:
            raise ApiError(409, f"dispatched trips of plan {base.id} carry workers of orders that no longer "
                                f"exist ({', '.join(missing)}); restore those orders or plan with "
                                f"keep_dispatched false")
    return {"scenario": scenario, "orders": owners, "rosters": rosters, "fixed": fixed,
            "base_plan": base.id if base is not None else None}


def dispatched(session: Session, plan_id: int) -> dict[str, Any]:
    return {d.trip_id: d.dispatched_at for d in session.scalars(
        select(m.Dispatch).where(m.Dispatch.plan_id == plan_id))}


def plan_document(job: m.PlanJob, dispatched_trips: dict[str, Any]) -> dict[str, Any]:
    """The contract-v1 plan with each trip's ``dispatched`` flag as it is now."""
    assert job.result is not None
    doc = copy.deepcopy(job.result)
    for trip in doc.get("trips", []):
        trip["dispatched"] = trip["id"] in dispatched_trips
    return doc


def agency_orders(snapshot: dict[str, Any], agency_id: int) -> set[str]:
    return {oid for oid, o in snapshot.get("orders", {}).items() if o["agency_id"] == agency_id}


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
