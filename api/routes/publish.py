"""The plan in force: publish a done plan, read which plan is in force, a plan's difference from it,
and whom to tell (per agency) about the boardings a re-plan changes. See :mod:`api.publish`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .. import downloads as dl
from .. import models as m
from .. import publish as pb
from ..deps import Coordinator, CurrentUser, SessionDep
from ..errors import ApiError
from .plans import _ERRORS, done_job

router = APIRouter(prefix="/v1/plans", tags=["plans"])


class PublishIn(BaseModel):
    note: Optional[str] = Field(default=None, max_length=2000, description="why, for the record")


@router.get("/published", responses=_ERRORS,
            summary="The plan in force: its plan id, version, who published it and when")
def get_published(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """404 when no plan was published yet (or, for an agency, when it has no workers in it)."""
    pub = pb.in_force(session)
    job = session.get(m.PlanJob, pub.plan_id) if pub is not None else None
    if pub is None or job is None or not pb.agency_may_read(session, job, user):
        raise ApiError(404, "还没有现行方案 (no plan is in force yet)" if pub is None
                       else "现行方案中没有你的工人 (no plan in force has your workers)")
    return pb.publication_dict(session, pub)


@router.post("/{plan_id}/publish", status_code=201, responses=_ERRORS,
             summary="Publish a done plan as the plan in force (version = the previous highest + 1)")
def publish_plan(plan_id: int, session: SessionDep, user: Coordinator,
                 body: Optional[PublishIn] = Body(default=None)) -> JSONResponse:
    """Agencies then read this plan only. 409 when the plan is not done or already in force."""
    job = done_job(session, plan_id)
    pub = pb.publish(session, job, user, body.note if body else None)
    return JSONResponse(pb.publication_dict(session, pub), status_code=201,
                        headers={"Location": "/v1/plans/published"})


@router.get("/{plan_id}/diff", responses=_ERRORS,
            summary="What a plan changes against the plan in force: trips added, removed, retimed; "
                    "boardings changed per order and worker; stable trip refs")
def get_diff(plan_id: int, session: SessionDep, user: CurrentUser,
             base: Annotated[Optional[int], Query(description="coordinators: compare with this plan instead")] = None
             ) -> dict[str, Any]:
    return pb.diff_of(session, plan_id, user, base)


@router.get("/{plan_id}/notify.{fmt}", responses=_ERRORS,
            summary="Whom to tell: each worker (or order, with the count) whose boarding changes, old and new")
def notify(plan_id: int, fmt: Literal["csv", "xlsx"], session: SessionDep, user: CurrentUser,
           base: Annotated[Optional[int], Query(description="coordinators: compare with this plan instead")] = None,
           agency: Annotated[Optional[str], Query(description="coordinators: one agency only")] = None) -> Response:
    """An agency gets its own orders and workers; a coordinator all (or ``?agency=``). Names as on the
    rosters, phones masked; times Asia/Shanghai."""
    return dl.notify(session, plan_id, fmt, user, base, agency).response()
