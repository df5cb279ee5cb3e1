"""Plans as jobs (coordinators start and cancel; everyone reads what they may see).

``POST /v1/plans`` answers 202 at once; the solve runs in a separate process; poll
``GET /v1/plans/{id}``. Re-planning keeps the dispatched trips of the base plan fixed.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from planner.contract import SHANGHAI, as_shanghai
from planner.errors import Problem

from .. import idempotency as idem
from .. import models as m
from ..deps import Coordinator, CurrentUser, RunnerDep, SessionDep, SettingsDep
from ..errors import ApiError
from ..jobs import FINAL
from ..plans import agency_view, build_snapshot, dispatched, plan_document, seen
from ..schemas import DispatchOut, ErrorOut, PlanCreated, PlanIn, PlanOut

router = APIRouter(prefix="/v1/plans", tags=["plans"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no valid API key"},
    403: {"model": ErrorOut, "description": "not allowed for this role"},
    404: {"model": ErrorOut, "description": "no such plan"},
    409: {"model": ErrorOut, "description": "the plan is not in a state that allows this"},
}


def get_job(session: SessionDep, plan_id: int, user: Optional[m.Principal] = None) -> m.PlanJob:
    """The plan; 404 when there is none, or for an agency when it is not the plan in force (agencies
    read only the published plan, and only one they have workers in: see :mod:`api.publish`)."""
    from ..publish import agency_may_read  # noqa: PLC0415

    job = session.get(m.PlanJob, plan_id)
    if job is None or (user is not None and user.role != "coordinator" and not agency_may_read(session, job, user)):
        raise ApiError(404, f"no plan {plan_id}" if job is None or user is None else
                       f"no plan {plan_id} in force for you (agencies read the published plan only)")
    return job


def done_job(session: SessionDep, plan_id: int, user: Optional[m.Principal] = None) -> m.PlanJob:
    job = get_job(session, plan_id, user)
    if job.status != "done" or job.result is None:
        why = f": {job.error}" if job.error else ""
        if user is not None and user.role != "coordinator" and job.error:
            why = f": {AGENCY_FAILED}"
        raise ApiError(409, f"plan {plan_id} is {job.status}{why}; its outputs exist once it is done")
    return job


#: what an agency is told of a plan that failed: the coordinator's error may name others' orders
AGENCY_FAILED = "the plan could not be made; the park coordinator has the details"


def plan_out(job: m.PlanJob, user: m.Principal, session: Optional[SessionDep] = None) -> PlanOut:
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


def _published(session: SessionDep, job: m.PlanJob) -> dict[str, Any]:
    from ..publish import in_force, latest_publication  # noqa: PLC0415

    pub = latest_publication(session, job.id)
    if pub is None:
        return {}
    current = in_force(session)
    return {"published": current is not None and current.id == pub.id, "version": pub.version}


def new_job(session: SessionDep, user: m.Principal, settings: Any, body: PlanIn) -> m.PlanJob:
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


@router.post("", status_code=202, response_model=PlanCreated, responses=_ERRORS,
             summary="Plan all current orders against the current reference data (a job)")
def create_plan(session: SessionDep, user: Coordinator, settings: SettingsDep, runner: RunnerDep,
                idempotency_key: Annotated[Optional[str], Header(alias="Idempotency-Key")] = None,
                body: Optional[PlanIn] = Body(default=None, openapi_examples={
                    "default": {"value": {"time_limit": 60}},
                    "replan": {"summary": "re-plan keeping plan 3's dispatched trips",
                               "value": {"time_limit": 30, "base_plan": 3}},
                    "fresh": {"summary": "ignore dispatched trips", "value": {"keep_dispatched": False}}})) -> Any:
    """Answers 202 with the plan's id at once; poll ``GET /v1/plans/{id}``. The inputs are
    frozen into the plan (later changes to orders or reference data do not affect it).

    Re-planning: the dispatched trips of ``base_plan`` (default: the latest done plan) are kept
    as they are; only the rest is planned again.
    """
    body = body or PlanIn()
    key = idem.check_key(idempotency_key)
    digest = idem.request_hash("plan", body.model_dump_json())
    replayed = idem.replay(session, user, key, digest)
    if replayed is not None:
        return replayed
    job = new_job(session, user, settings, body)
    session.add(job)
    session.flush()
    answer = {"id": job.id, "status": job.status}
    idem.remember(session, user, key, digest, 202, answer)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the same key won a race
        again = idem.replay(session, user, key, digest)
        if again is None:
            raise
        return again
    runner.wake()
    return JSONResponse(answer, status_code=202, headers={"Location": f"/v1/plans/{job.id}"})


@router.get("", response_model=list[PlanOut], summary="Plans, newest first")
def list_plans(session: SessionDep, user: CurrentUser,
               status: Optional[str] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[PlanOut]:
    """Agencies: only the plan in force (when they have workers in it)."""
    q = select(m.PlanJob).order_by(m.PlanJob.id.desc()).limit(limit)
    if status is not None:
        q = q.where(m.PlanJob.status == status)
    if user.role != "coordinator":
        from ..publish import agency_may_read, in_force  # noqa: PLC0415

        pub = in_force(session)
        if pub is None:
            return []
        q = q.where(m.PlanJob.id == pub.plan_id)
        return [plan_out(j, user, session) for j in session.scalars(q) if agency_may_read(session, j, user)]
    return [plan_out(j, user, session) for j in session.scalars(q)]


@router.get("/{plan_id}", response_model=PlanOut, responses=_ERRORS, summary="A plan's status and progress")
def get_plan(plan_id: int, session: SessionDep, user: CurrentUser) -> PlanOut:
    """Agencies: the plan in force only (another answers 404)."""
    return plan_out(get_job(session, plan_id, user), user, session)


@router.delete("/{plan_id}", response_model=PlanOut, responses=_ERRORS, summary="Cancel a queued or running plan")
def cancel_plan(plan_id: int, session: SessionDep, user: Coordinator, runner: RunnerDep) -> PlanOut:
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


@router.get("/{plan_id}/plan.json", responses=_ERRORS,
            summary="The plan, contract v1 (checked by the planner's checker); agencies get their own trips only")
def get_plan_json(plan_id: int, session: SessionDep, user: CurrentUser) -> JSONResponse:
    job = done_job(session, plan_id, user)
    doc = plan_document(job, dispatched(session, plan_id))
    if user.role == "agency":
        doc = agency_view(doc, seen(job), user.id)
    return JSONResponse(doc, headers={"Content-Disposition": f'inline; filename="plan-{plan_id}.json"'})


@router.get("/{plan_id}/input.json", responses=_ERRORS, summary="The scenario a plan was made from (coordinators)")
def get_plan_input(plan_id: int, session: SessionDep, _: Coordinator) -> JSONResponse:
    job = get_job(session, plan_id)
    return JSONResponse({**job.snapshot["scenario"], "fixed": job.snapshot.get("fixed", [])})


@router.get("/{plan_id}/trips", responses=_ERRORS, summary="A plan's trips (agencies: those carrying their workers)")
def list_trips(plan_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    job = done_job(session, plan_id, user)
    doc = plan_document(job, dispatched(session, plan_id))
    if user.role == "agency":
        doc = agency_view(doc, seen(job), user.id)
    return doc["trips"]


def _trip(job: m.PlanJob, trip_id: str) -> dict[str, Any]:
    for t in job.result.get("trips", []) if job.result else []:
        if t["id"] == trip_id:
            return t
    raise ApiError(404, f"plan {job.id} has no trip {trip_id!r}")


@router.post("/{plan_id}/trips/{trip_id}/dispatch", response_model=DispatchOut, responses=_ERRORS,
             summary="Mark a trip dispatched: re-plans keep it as it is")
def dispatch_trip(plan_id: int, trip_id: str, session: SessionDep, user: Coordinator) -> DispatchOut:
    job = done_job(session, plan_id)
    _trip(job, trip_id)
    row = session.get(m.Dispatch, (plan_id, trip_id))
    if row is None:
        row = m.Dispatch(plan_id=plan_id, trip_id=trip_id, dispatched_by=user.id)
        session.add(row)
        session.commit()
    return DispatchOut(plan=plan_id, trip=trip_id, dispatched=True, dispatched_at=row.dispatched_at)


@router.delete("/{plan_id}/trips/{trip_id}/dispatch", response_model=DispatchOut, responses=_ERRORS,
               summary="Undo a dispatch mark")
def undispatch_trip(plan_id: int, trip_id: str, session: SessionDep, _: Coordinator) -> DispatchOut:
    job = done_job(session, plan_id)
    _trip(job, trip_id)
    row = session.get(m.Dispatch, (plan_id, trip_id))
    if row is not None:
        session.delete(row)
        session.commit()
    return DispatchOut(plan=plan_id, trip=trip_id, dispatched=False)

