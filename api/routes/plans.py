"""Plans as jobs (coordinators start and cancel; everyone reads what they may see).

``POST /v1/plans`` answers 202 at once; the solve runs in a separate process; poll
``GET /v1/plans/{id}``. Re-planning keeps the dispatched trips of the base plan fixed.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import idempotency as idem
from .. import models as m
from .. import plans as svc
from ..deps import Coordinator, CurrentUser, RunnerDep, SessionDep, SettingsDep
from ..plans import AGENCY_FAILED, done_job, get_job, new_job, plan_out  # noqa: F401  (the service's, as before)
from ..schemas import DispatchOut, ErrorOut, PlanCreated, PlanIn, PlanOut

router = APIRouter(prefix="/v1/plans", tags=["plans"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no valid API key"},
    403: {"model": ErrorOut, "description": "not allowed for this role"},
    404: {"model": ErrorOut, "description": "no such plan"},
    409: {"model": ErrorOut, "description": "the plan is not in a state that allows this"},
}


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
    return svc.cancel_job(session, plan_id, user, runner)


@router.get("/{plan_id}/plan.json", responses=_ERRORS,
            summary="The plan, contract v1 (checked by the planner's checker); agencies get their own trips only")
def get_plan_json(plan_id: int, session: SessionDep, user: CurrentUser) -> JSONResponse:
    return JSONResponse(svc.visible_document(session, plan_id, user),
                        headers={"Content-Disposition": f'inline; filename="plan-{plan_id}.json"'})


@router.get("/{plan_id}/input.json", responses=_ERRORS, summary="The scenario a plan was made from (coordinators)")
def get_plan_input(plan_id: int, session: SessionDep, _: Coordinator) -> JSONResponse:
    job = get_job(session, plan_id)
    return JSONResponse({**job.snapshot["scenario"], "fixed": job.snapshot.get("fixed", [])})


@router.get("/{plan_id}/trips", responses=_ERRORS, summary="A plan's trips (agencies: those carrying their workers)")
def list_trips(plan_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    trips: list[dict[str, Any]] = svc.visible_document(session, plan_id, user)["trips"]
    return trips


@router.post("/{plan_id}/trips/{trip_id}/dispatch", response_model=DispatchOut, responses=_ERRORS,
             summary="Mark a trip dispatched: re-plans keep it as it is")
def dispatch_trip(plan_id: int, trip_id: str, session: SessionDep, user: Coordinator) -> DispatchOut:
    return svc.set_dispatched(session, plan_id, trip_id, user)


@router.delete("/{plan_id}/trips/{trip_id}/dispatch", response_model=DispatchOut, responses=_ERRORS,
               summary="Undo a dispatch mark")
def undispatch_trip(plan_id: int, trip_id: str, session: SessionDep, _: Coordinator) -> DispatchOut:
    return svc.set_dispatched(session, plan_id, trip_id, _, on=False)
