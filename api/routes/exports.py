"""What a done plan gives people: manifests, the operators' schedule, boarding lists, the report.

Coordinators get everything, with full ID numbers and phones in the manifests only. An agency
gets its own workers only, masked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from .. import downloads as dl
from .. import models as m
from ..deps import Coordinator, CurrentUser, ProtectorDep, SessionDep
from ..plans import done_document
from .plans import _ERRORS

router = APIRouter(prefix="/v1/plans", tags=["plan outputs"])

Fmt = Literal["csv", "xlsx"]


@router.get("/{plan_id}/manifests.{fmt}", responses=_ERRORS,
            summary="Passenger manifests (乘车名单) per coach: trip, coach, crew, pickup, time, names, IDs, phones")
def manifests(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
              agency: Annotated[Optional[str], Query(description="coordinators: only this agency's workers")] = None
              ) -> Response:
    """Coordinators see full ID numbers and phones; agencies get their own workers, masked.
    XLSX: a summary sheet and one sheet per coach trip. CSV: one row per worker."""
    return dl.manifests(session, plan_id, fmt, user, protector, agency).response()


@router.get("/{plan_id}/train-manifests.{fmt}", responses=_ERRORS,
            summary="Passenger manifests per train car (列车乘车名单), with each worker's feeder pickup")
def train_manifests(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
                    agency: Annotated[Optional[str], Query(description="coordinators: only this agency's workers")] = None
                    ) -> Response:
    """Coordinators see full ID numbers and phones; agencies get their own workers, masked.
    XLSX: one sheet per train (its cars in order). CSV: one row per worker."""
    return dl.train_manifests(session, plan_id, fmt, user, protector, agency).response()


@router.get("/{plan_id}/schedule.{fmt}", responses=_ERRORS,
            summary="The bus operators' schedule: every stop of every trip, by coach and time (coordinators)")
def schedule(plan_id: int, fmt: Fmt, session: SessionDep, _: Coordinator,
             vehicle_type: Optional[str] = None) -> Response:
    return dl.schedule(session, plan_id, fmt, vehicle_type).response()


@router.get("/{plan_id}/boarding.{fmt}", responses=_ERRORS,
            summary="An agency's boarding list: where and when its workers board, and who was not planned")
def boarding(plan_id: int, fmt: Fmt, session: SessionDep, user: CurrentUser,
             agency: Annotated[Optional[str], Query(description="coordinators: one agency's list")] = None) -> Response:
    return dl.boarding(session, plan_id, fmt, user, agency).response()


@router.get("/{plan_id}/report.{fmt}", responses=_ERRORS,
            summary="Cost and delivered headcount per agency and per province (the subsidy basis)")
def report(plan_id: int, fmt: Literal["json", "csv", "xlsx"], session: SessionDep, user: CurrentUser,
           agency: Annotated[Optional[str], Query(description="coordinators: one agency only")] = None) -> Response:
    """A trip's cost and km are shared among its riders; ``workers_delivered`` are those planned
    on a trip. Agencies get the figures of their own workers."""
    out = dl.report(session, plan_id, fmt, user, agency)
    return JSONResponse(out) if isinstance(out, dict) else out.response()


# ------------------------------------------------------------------ match and move


def matching_of(session: SessionDep, plan_id: int, user: m.Principal, pairs: bool = False) -> dict[str, Any]:
    """A plan's match as the caller may see it (the service function behind the route and the
    console): a coordinator the summary, fill by firm and trade, unmatched by reason, the blocking
    pairs and their budget (``pairs``: listed too); an agency the same of its own workers."""
    from .. import matching as mt  # noqa: PLC0415

    job, doc = done_document(session, plan_id, user)
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
    out = dl.worker_posts(session, plan_id, fmt, user, agency)
    return JSONResponse(out) if isinstance(out, dict) else out.response()
