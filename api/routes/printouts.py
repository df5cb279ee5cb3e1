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

from .. import downloads as dl
from ..deps import Coordinator, CurrentUser, ProtectorDep, SessionDep
from .plans import _ERRORS

router = APIRouter(prefix="/v1/plans", tags=["plan outputs"])

_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "an A4 PDF"}}


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
    return dl.manifests_pdf(session, plan_id, user, protector, trip, agency, masked).response()


@router.get("/{plan_id}/dispatch.pdf", responses={**_ERRORS, **_PDF}, response_class=Response,
            summary="Dispatch sheets (调度单) per bus operator as an A4 PDF (coordinators)")
def dispatch_pdf(plan_id: int, session: SessionDep, _: Coordinator,
                 operator: Annotated[Optional[str], Query(description="one operator's sheet only")] = None) -> Response:
    """Per operator (a coach type's ``operator``, else the coach type): its coaches' trips in
    time order with trip, coach, drivers, depot departure, each stop (place, time), the return
    and the km."""
    return dl.dispatch_pdf(session, plan_id, operator).response()
