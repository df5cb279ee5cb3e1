"""The plan in force: publish a done plan, read which plan is in force, a plan's difference from it,
and whom to tell (per agency) about the boardings a re-plan changes. See :mod:`api.publish`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from planner.labels import STATUSES, word

from .. import exports as ex
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


def diff_of(session: SessionDep, plan_id: int, user: m.Principal, base: Optional[int] = None) -> dict[str, Any]:
    """The difference the caller may see (the service function behind the routes and the console):
    ``plan_id`` against ``base`` (default: the plan in force; for the plan in force itself, the
    version before it). An agency: its own orders and workers, and only the plan in force."""
    job = done_job(session, plan_id, user)
    if base is None:
        pub = pb.in_force(session)
        if pub is not None and pub.plan_id == job.id:
            from sqlalchemy import select  # noqa: PLC0415

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
    d = pb.diff(job, base_job, user.id if user.role != "coordinator" else None)
    if user.role != "coordinator":
        own = _agency_trips(job, user.id)
        d["refs"] = {k: v for k, v in d["refs"].items() if k in own}
    return d


def _agency_trips(job: m.PlanJob, agency_id: int) -> set[str]:
    from ..plans import agency_orders, seen  # noqa: PLC0415

    own = agency_orders(seen(job), agency_id)
    return {t["id"] for t in (job.result or {}).get("trips", [])
            if any(ld["order"] in own for s in t["stops"] for ld in s.get("board", []))}


@router.get("/{plan_id}/diff", responses=_ERRORS,
            summary="What a plan changes against the plan in force: trips added, removed, retimed; "
                    "boardings changed per order and worker; stable trip refs")
def get_diff(plan_id: int, session: SessionDep, user: CurrentUser,
             base: Annotated[Optional[int], Query(description="coordinators: compare with this plan instead")] = None
             ) -> dict[str, Any]:
    return diff_of(session, plan_id, user, base)


@router.get("/{plan_id}/notify.{fmt}", responses=_ERRORS,
            summary="Whom to tell: each worker (or order, with the count) whose boarding changes, old and new")
def notify(plan_id: int, fmt: Literal["csv", "xlsx"], session: SessionDep, user: CurrentUser,
           base: Annotated[Optional[int], Query(description="coordinators: compare with this plan instead")] = None,
           agency: Annotated[Optional[str], Query(description="coordinators: one agency only")] = None) -> Response:
    """An agency gets its own orders and workers; a coordinator all (or ``?agency=``). Names as on the
    rosters, phones masked; times Asia/Shanghai."""
    rows = pb.notify_rows(diff_of(session, plan_id, user, base))
    if agency is not None and user.role == "coordinator":
        rows = [r for r in rows if r["中介 agency"] == agency]
    name = f"notify-plan-{plan_id}.{fmt}"
    if fmt == "csv":
        data = ex.to_csv(pb.NOTIFY_COLUMNS, rows)
        media = "text/csv; charset=utf-8"
    else:
        data = ex.to_xlsx([("通知 notify", pb.NOTIFY_COLUMNS, rows)])
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
