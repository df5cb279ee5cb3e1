"""What a done plan gives people: manifests, the operators' schedule, boarding lists, the report.

Coordinators get everything, with full ID numbers and phones in the manifests only. An agency
gets its own workers only, masked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from .. import exports as ex
from .. import models as m
from ..deps import Coordinator, CurrentUser, ProtectorDep, SessionDep
from ..errors import ApiError
from ..plans import agency_orders, dispatched, plan_document, seen
from .plans import _ERRORS, done_job

router = APIRouter(prefix="/v1/plans", tags=["plan outputs"])

Fmt = Literal["csv", "xlsx"]
_TYPES = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _file(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _scope(job: m.PlanJob, user: m.Principal, agency: Optional[str]) -> Optional[set[str]]:
    """The orders the caller may see in outputs (None: all)."""
    if user.role == "agency":
        return agency_orders(seen(job), user.id)
    if agency is not None:
        own = {oid for oid, o in seen(job).get("orders", {}).items() if o["agency"] == agency}
        if not own:
            raise ApiError(404, f"plan {job.id} has no orders of agency {agency!r}")
        return own
    return None


def _doc(session: SessionDep, plan_id: int, user: Optional[m.Principal] = None) -> tuple[m.PlanJob, dict[str, Any]]:
    job = done_job(session, plan_id, user)
    return job, plan_document(job, dispatched(session, plan_id))


@router.get("/{plan_id}/manifests.{fmt}", responses=_ERRORS,
            summary="Passenger manifests (乘车名单) per coach: trip, coach, crew, pickup, time, names, IDs, phones")
def manifests(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
              agency: Annotated[Optional[str], Query(description="coordinators: only this agency's workers")] = None
              ) -> Response:
    """Coordinators see full ID numbers and phones; agencies get their own workers, masked.
    XLSX: a summary sheet and one sheet per coach trip. CSV: one row per worker."""
    job, doc = _doc(session, plan_id, user)
    rows = ex.manifest_rows(doc, seen(job), protector, unmasked=user.role == "coordinator",
                            only_orders=_scope(job, user, agency))
    if fmt == "csv":
        return _file(ex.to_csv(ex.MANIFEST_COLUMNS, rows), fmt, f"manifests-plan-{plan_id}.csv")
    return _file(ex.manifest_workbook(rows), fmt, f"manifests-plan-{plan_id}.xlsx")


@router.get("/{plan_id}/train-manifests.{fmt}", responses=_ERRORS,
            summary="Passenger manifests per train car (列车乘车名单), with each worker's feeder pickup")
def train_manifests(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
                    agency: Annotated[Optional[str], Query(description="coordinators: only this agency's workers")] = None
                    ) -> Response:
    """Coordinators see full ID numbers and phones; agencies get their own workers, masked.
    XLSX: one sheet per train (its cars in order). CSV: one row per worker."""
    job, doc = _doc(session, plan_id, user)
    rows = ex.train_manifest_rows(doc, seen(job), protector, unmasked=user.role == "coordinator",
                                  only_orders=_scope(job, user, agency))
    if fmt == "csv":
        return _file(ex.to_csv(ex.TRAIN_MANIFEST_COLUMNS, rows), fmt, f"train-manifests-plan-{plan_id}.csv")
    by_train: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_train.setdefault(r["列车 train"], []).append(r)
    sheets = [(f"列车 {t}", ex.TRAIN_MANIFEST_COLUMNS, sorted(rs, key=lambda r: (r["车厢 car"], str(r["序号 no."]))))
              for t, rs in by_train.items()] or [("列车 trains", ex.TRAIN_MANIFEST_COLUMNS, [])]
    return _file(ex.to_xlsx(sheets), fmt, f"train-manifests-plan-{plan_id}.xlsx")


@router.get("/{plan_id}/schedule.{fmt}", responses=_ERRORS,
            summary="The bus operators' schedule: every stop of every trip, by coach and time (coordinators)")
def schedule(plan_id: int, fmt: Fmt, session: SessionDep, _: Coordinator,
             vehicle_type: Optional[str] = None) -> Response:
    job, doc = _doc(session, plan_id)
    rows = ex.schedule_rows(doc, seen(job))
    if vehicle_type is not None:
        rows = [r for r in rows if r["车型 vehicle type"] == vehicle_type]
    if fmt == "csv":
        return _file(ex.to_csv(ex.SCHEDULE_COLUMNS, rows), fmt, f"schedule-plan-{plan_id}.csv")
    return _file(ex.to_xlsx([("调度 schedule", ex.SCHEDULE_COLUMNS, rows)]), fmt, f"schedule-plan-{plan_id}.xlsx")


@router.get("/{plan_id}/boarding.{fmt}", responses=_ERRORS,
            summary="An agency's boarding list: where and when its workers board, and who was not planned")
def boarding(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser,
             agency: Annotated[Optional[str], Query(description="coordinators: one agency's list")] = None) -> Response:
    job, doc = _doc(session, plan_id, user)
    rows = ex.boarding_rows(doc, seen(job), _scope(job, user, agency))
    if fmt == "csv":
        return _file(ex.to_csv(ex.BOARDING_COLUMNS, rows), fmt, f"boarding-plan-{plan_id}.csv")
    return _file(ex.to_xlsx([("上车安排 boarding", ex.BOARDING_COLUMNS, rows)]), fmt, f"boarding-plan-{plan_id}.xlsx")


@router.get("/{plan_id}/report.{fmt}", responses=_ERRORS,
            summary="Cost and delivered headcount per agency and per province (the subsidy basis)")
def report(plan_id: int, fmt: Literal["json", "csv", "xlsx"], session: SessionDep, user: CurrentUser,
           agency: Annotated[Optional[str], Query(description="coordinators: one agency only")] = None) -> Response:
    """A trip's cost and km are shared among its riders; ``workers_delivered`` are those planned
    on a trip. Agencies get the figures of their own workers."""
    job, doc = _doc(session, plan_id, user)
    rep = ex.report(doc, seen(job), _scope(job, user, agency))
    if fmt == "json":
        return JSONResponse({"plan": plan_id, **rep})
    rows = ex.report_rows(rep)
    if fmt == "csv":
        return _file(ex.to_csv(ex.REPORT_COLUMNS, rows, ex.REPORT_HEADERS), fmt, f"report-plan-{plan_id}.csv")
    return _file(ex.to_xlsx([("按中介 by agency", ex.REPORT_COLUMNS, rep["agencies"]),
                             ("按省份 by province", ex.REPORT_COLUMNS, rep["provinces"]),
                             ("合计 total", ex.REPORT_COLUMNS, [rep["total"]])], ex.REPORT_HEADERS),
                 fmt, f"report-plan-{plan_id}.xlsx")


# ------------------------------------------------------------------ match and move


def matching_of(session: SessionDep, plan_id: int, user: m.Principal, pairs: bool = False) -> dict[str, Any]:
    """A plan's match as the caller may see it (the service function behind the route and the
    console): a coordinator the summary, fill by firm and trade, unmatched by reason, the blocking
    pairs and their budget (``pairs``: listed too); an agency the same of its own workers."""
    from .. import matching as mt  # noqa: PLC0415

    job, doc = _doc(session, plan_id, user)
    if user.role == "agency":
        out = mt.matching_view(job.snapshot, doc, user.id)
    else:
        out = mt.matching_view(job.snapshot, doc)
        if pairs:
            try:
                out["pairs"] = mt.blocking_pair_rows(job.snapshot, doc)
            except Exception as exc:  # noqa: BLE001  (a listing that cannot be made is no reason to fail the page)
                out["pairs"] = []
                out["pairs_error"] = f"the blocking pairs could not be listed: {type(exc).__name__}: {exc}"
    return {"plan": plan_id, **out}


@router.get("/{plan_id}/matching", responses=_ERRORS,
            summary="The plan's match: summary, fill by firm and trade, unmatched by reason, blocking pairs and budget")
def matching(plan_id: int, session: SessionDep, user: CurrentUser,
             pairs: Annotated[bool, Query(description="coordinators: list the blocking pairs (recomputed)")] = False
             ) -> dict[str, Any]:
    """Agencies get the figures of their own registered workers (no summary of others, no pairs)."""
    return matching_of(session, plan_id, user, pairs)


@router.get("/{plan_id}/worker-posts.{fmt}", responses=_ERRORS,
            summary="Each registered worker's post and boarding place and time, or why they have none")
def worker_posts(plan_id: int, fmt: Literal["json", "csv", "xlsx"], session: SessionDep, user: CurrentUser,
                 agency: Annotated[Optional[str], Query(description="coordinators: one agency only")] = None
                 ) -> Response:
    """An agency gets its own workers only; a coordinator all (or ``?agency=``)."""
    from .. import matching as mt  # noqa: PLC0415

    job, doc = _doc(session, plan_id, user)
    rows = mt.worker_rows(doc, job.snapshot, user.id if user.role == "agency" else None)
    if user.role != "agency" and agency is not None:
        rows = [r for r in rows if r["中介 agency"] == agency]
    if fmt == "json":
        return JSONResponse({"plan": plan_id, "workers": rows})
    if fmt == "csv":
        return _file(ex.to_csv(mt.WORKER_COLUMNS, rows), fmt, f"worker-posts-plan-{plan_id}.csv")
    return _file(ex.to_xlsx([("岗位与上车 posts", mt.WORKER_COLUMNS, rows)]), fmt, f"worker-posts-plan-{plan_id}.xlsx")
