"""Plans: the input snapshot a plan is made from, and what each caller may see of a plan."""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any, Optional

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planner.contract import SHANGHAI, Scenario, as_shanghai
from planner.errors import Problem
from planner.read import validation_problems

from . import models as m
from .errors import ApiError
from .matching import snapshot_people, with_matches, worker_contract
from .orders import contract_dict
from .reference import reference_dict
from .schemas import DispatchOut, PlanIn, PlanOut


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
    # a train worker boards twice (the feeder, then the last mile): counted once
    planned = sum(ld["count"] for t in trips if (t.get("purpose") or "direct") != "last_mile"
                  for s in t["stops"] for ld in s["board"])
    summary = {
        "workers_requested": sum(o["headcount"] for o in orders),
        "workers_cleared": sum(o["cleared"] for o in orders),
        "workers_planned": planned,
        "trips": len(trips),
    }
    return {"scenario": doc.get("scenario"), "solver": doc.get("solver"), "trips": trips,
            "unassigned": unassigned, "summary": summary}


# ------------------------------------------------------------------ the plans service (the JSON routes and the console)

#: what an agency is told of a plan that failed: the coordinator's error may name others' orders
AGENCY_FAILED = "the plan could not be made; the park coordinator has the details"


def get_job(session: Session, plan_id: int, user: Optional[m.Principal] = None) -> m.PlanJob:
    """The plan; 404 when there is none, or for an agency when it is not the plan in force (agencies
    read only the published plan, and only one they have workers in: see :mod:`api.publish`)."""
    from .publish import agency_may_read  # noqa: PLC0415

    job = session.get(m.PlanJob, plan_id)
    if job is None or (user is not None and user.role != "coordinator" and not agency_may_read(session, job, user)):
        raise ApiError(404, f"no plan {plan_id}" if job is None or user is None else
                       f"no plan {plan_id} in force for you (agencies read the published plan only)")
    return job


def done_job(session: Session, plan_id: int, user: Optional[m.Principal] = None) -> m.PlanJob:
    """The plan once it is done (409 before: its outputs exist once it is done)."""
    job = get_job(session, plan_id, user)
    if job.status != "done" or job.result is None:
        why = f": {job.error}" if job.error else ""
        if user is not None and user.role != "coordinator" and job.error:
            why = f": {AGENCY_FAILED}"
        raise ApiError(409, f"plan {plan_id} is {job.status}{why}; its outputs exist once it is done")
    return job


def done_document(session: Session, plan_id: int, user: Optional[m.Principal] = None
                  ) -> tuple[m.PlanJob, dict[str, Any]]:
    """A done plan and its contract-v1 document with the dispatch flags as they are now."""
    job = done_job(session, plan_id, user)
    return job, plan_document(job, dispatched(session, plan_id))


def plan_out(job: m.PlanJob, user: m.Principal, session: Optional[Session] = None) -> PlanOut:
    """A plan's status as the caller may see it."""
    summary = None
    if job.result is not None and job.status == "done":
        if user.role == "coordinator":
            summary = job.result.get("summary")
        else:
            summary = agency_view(job.result, seen(job), user.id)["summary"]
    return PlanOut(
        id=job.id, status=job.status, phase=job.phase, fraction=job.fraction,  # type: ignore[arg-type]
        best_cost=job.best_cost if user.role == "coordinator" else None,
        error=job.error if user.role == "coordinator" or not job.error else (
            AGENCY_FAILED if job.status == "failed" else job.error.split(":")[0]),
        time_limit=job.time_limit, base_plan=job.base_plan_id, fixed_trips=len(job.snapshot.get("fixed", [])),
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, summary=summary,
        violations=job.violations if user.role == "coordinator" and job.violations else None,
        **(_published(session, job) if session is not None else {}))


def _published(session: Session, job: m.PlanJob) -> dict[str, Any]:
    from .publish import in_force, latest_publication  # noqa: PLC0415

    pub = latest_publication(session, job.id)
    if pub is None:
        return {}
    current = in_force(session)
    return {"published": current is not None and current.id == pub.id, "version": pub.version}


def new_job(session: Session, user: m.Principal, settings: Any, body: PlanIn) -> m.PlanJob:
    """A queued plan job of all current orders against the current reference data (not yet added)."""
    time_limit = body.time_limit or settings.default_time_limit
    if time_limit > settings.max_time_limit:
        raise ApiError(422, f"time_limit {time_limit:g} s is over the limit of {settings.max_time_limit:g} s",
                       [Problem("body", "time_limit", f"at most {settings.max_time_limit:g} s")])
    base: Optional[m.PlanJob] = None
    if body.base_plan is not None:
        base = get_job(session, body.base_plan)
        if base.status != "done":
            raise ApiError(409, f"base plan {base.id} is {base.status}; only a done plan can be a base")
    elif body.keep_dispatched:
        base = session.scalar(select(m.PlanJob).where(m.PlanJob.status == "done").order_by(m.PlanJob.id.desc()).limit(1))
    snapshot = build_snapshot(session, base)
    snapshot["now"] = (as_shanghai(body.now) if body.now is not None else datetime.now(SHANGHAI)).isoformat()
    snapshot["roads"] = settings.roads
    if body.base_plan is None and not snapshot["fixed"]:
        snapshot["base_plan"] = None
        base = None
    job = m.PlanJob(status="queued", created_by=user.id, time_limit=time_limit, seed=body.seed,
                    base_plan_id=base.id if base is not None else None, snapshot=snapshot, phase="queued",
                    fraction=0.0)
    return job


def start_job(session: Session, user: m.Principal, settings: Any, body: PlanIn) -> m.PlanJob:
    """A new plan job, stored (the runner still to be woken)."""
    job = new_job(session, user, settings, body)
    session.add(job)
    session.commit()
    return job


def cancel_job(session: Session, plan_id: int, user: m.Principal, runner: Any) -> PlanOut:
    """Cancel a queued or running plan (409 once it is done, failed or cancelled); waits up to 5 s
    for a running solve to stop."""
    from .jobs import FINAL  # noqa: PLC0415

    job = get_job(session, plan_id)
    if job.status in FINAL:
        raise ApiError(409, f"plan {plan_id} is already {job.status}; there is nothing to cancel")
    job.cancel_requested = True
    if job.status == "queued":
        job.status, job.error = "cancelled", "cancelled on request"
        job.finished_at = m.utcnow()
    session.commit()
    runner.wake()
    deadline = time.monotonic() + 5.0
    while job.status not in FINAL and time.monotonic() < deadline:
        time.sleep(0.1)
        session.refresh(job)
        session.commit()
    return plan_out(job, user)


def visible_document(session: Session, plan_id: int, user: m.Principal) -> dict[str, Any]:
    """The plan document as the caller may see it (an agency: its own trips, loads and workers)."""
    job, doc = done_document(session, plan_id, user)
    if user.role == "agency":
        doc = agency_view(doc, seen(job), user.id)
    return doc


def _trip(job: m.PlanJob, trip_id: str) -> dict[str, Any]:
    for t in job.result.get("trips", []) if job.result else []:
        if t["id"] == trip_id:
            return t
    raise ApiError(404, f"plan {job.id} has no trip {trip_id!r}")


def set_dispatched(session: Session, plan_id: int, trip_id: str, user: m.Principal, on: bool = True) -> DispatchOut:
    """Mark a trip of a done plan dispatched (re-plans keep it as it is), or undo the mark."""
    job = done_job(session, plan_id)
    _trip(job, trip_id)
    row = session.get(m.Dispatch, (plan_id, trip_id))
    if not on:
        if row is not None:
            session.delete(row)
            session.commit()
        return DispatchOut(plan=plan_id, trip=trip_id, dispatched=False)
    if row is None:
        row = m.Dispatch(plan_id=plan_id, trip_id=trip_id, dispatched_by=user.id)
        session.add(row)
        session.commit()
    return DispatchOut(plan=plan_id, trip=trip_id, dispatched=True, dispatched_at=row.dispatched_at)
