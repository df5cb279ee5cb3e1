"""Paper: passenger manifests (乘车名单) per coach trip and dispatch sheets (调度单) per bus
operator, as A4 PDFs (see :mod:`api.printouts`).

The manifests follow the CSV manifests' rules: coordinators get every worker with full ID
numbers and phones (``?masked=true`` for a copy to hand out), an agency its own workers only,
masked. The dispatch sheets are the coordinators', like the operators' schedule. Registered
before :mod:`api.routes.exports`, whose ``manifests.{fmt}`` would otherwise take ``.pdf``.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from .. import exports as ex
from .. import models as m
from .. import printouts as pr
from ..deps import Coordinator, CurrentUser, ProtectorDep, SessionDep
from ..errors import ApiError
from ..plans import seen
from .exports import _doc, _scope
from .plans import _ERRORS

router = APIRouter(prefix="/v1/plans", tags=["plan outputs"])

_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "an A4 PDF"}}


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def plan_label(session: SessionDep, plan_id: int) -> str:
    """'方案 plan #12 · 版本 v3' when the plan was published (its newest publication), else unpublished."""
    version = session.scalar(select(m.Publication.version).where(m.Publication.plan_id == plan_id)
                             .order_by(m.Publication.version.desc()).limit(1))
    return f"方案 plan #{plan_id} · " + (f"版本 version {version}" if version is not None else "未发布 not published")


@router.get("/{plan_id}/manifests.pdf", responses={**_ERRORS, **_PDF}, response_class=Response,
            summary="Passenger manifests (乘车名单) as an A4 PDF: a page group per coach trip")
def manifests_pdf(plan_id: int, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
                  trip: Annotated[Optional[str], Query(description="one trip only, e.g. T0003")] = None,
                  agency: Annotated[Optional[str], Query(description="coordinators: only this agency's workers")] = None,
                  masked: Annotated[bool, Query(description="coordinators: mask ID numbers and phones")] = False
                  ) -> Response:
    """Each trip: coach, drivers, depot departure, each pickup stop (place, Asia/Shanghai time)
    with the workers boarding there (or the order and count where no roster), seats per stop and
    in total, and the drops. Agencies get the trips carrying their workers, with only those."""
    job, doc = _doc(session, plan_id, user)
    rows = ex.manifest_rows(doc, seen(job), protector, unmasked=user.role == "coordinator" and not masked,
                            only_orders=_scope(job, user, agency))
    if trip is not None and not any(r["车次 trip"] == trip for r in rows):
        raise ApiError(404, f"plan {plan_id} has no trip {trip!r}" + (" carrying your workers" if user.role == "agency"
                                                                        else " with riders"))
    data = pr.manifest_pdf(doc, seen(job), rows, plan_label=plan_label(session, plan_id),
                           trips=None if trip is None else {trip}, scoped=user.role == "agency" or agency is not None)
    suffix = f"-{trip}" if trip else ""
    return _pdf(data, f"manifests-plan-{plan_id}{suffix}.pdf")


@router.get("/{plan_id}/dispatch.pdf", responses={**_ERRORS, **_PDF}, response_class=Response,
            summary="Dispatch sheets (调度单) per bus operator as an A4 PDF (coordinators)")
def dispatch_pdf(plan_id: int, session: SessionDep, _: Coordinator,
                 operator: Annotated[Optional[str], Query(description="one operator's sheet only")] = None) -> Response:
    """Per operator (a coach type's ``operator``, else the coach type): its coaches' trips in
    time order with trip, coach, drivers, depot departure, each stop (place, time), the return
    and the km."""
    job, doc = _doc(session, plan_id)
    fleet = {v["id"]: v for v in seen(job)["scenario"].get("fleet", [])}
    if operator is not None and operator not in {pr.operator_of(t, fleet) for t in doc.get("trips", [])}:
        raise ApiError(404, f"plan {plan_id} has no trips of operator {operator!r}")
    data = pr.dispatch_pdf(doc, seen(job), plan_label=plan_label(session, plan_id), operator=operator)
    return _pdf(data, f"dispatch-plan-{plan_id}.pdf")
