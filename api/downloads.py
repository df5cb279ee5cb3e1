"""What a done plan gives people as files, for a caller (the service behind the download routes
of ``api/routes/exports.py``, ``printouts.py`` and ``publish.py`` and the console's downloads):
manifests, train manifests, the operators' schedule, boarding lists, the report, each worker's
post, whom to notify, the plan document and the printable PDFs.

Coordinators get everything, with full ID numbers and phones in the manifests only (unless they
ask for them masked). An agency gets its own workers only, masked. Each function answers a
:class:`File` (or, for the JSON forms, the data) and raises :class:`~api.errors.ApiError` for
what the caller may not have (404, 409)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import exports as ex
from . import models as m
from .errors import ApiError
from .plans import agency_orders, done_document, seen, visible_document
from .security import Protector
from .stored import StoredPlan

TYPES = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf", "json": "application/json"}


@dataclass(frozen=True)
class File:
    """A file to hand over: its bytes, type and name (``inline``: shown, not saved)."""

    data: bytes
    fmt: str
    name: str
    inline: bool = False

    def response(self) -> Response:
        how = "inline" if self.inline else "attachment"
        return Response(self.data, media_type=TYPES[self.fmt],
                        headers={"Content-Disposition": f'{how}; filename="{self.name}"'})


def scope(job: m.PlanJob, user: m.Principal, agency: Optional[str]) -> Optional[set[str]]:
    """The orders the caller may see in outputs (None: all)."""
    if user.role == "agency":
        return agency_orders(seen(job), user.id)
    if agency is not None:
        own = {oid for oid, o in seen(job).get("orders", {}).items() if o["agency"] == agency}
        if not own:
            raise ApiError(404, f"plan {job.id} has no orders of agency {agency!r}")
        return own
    return None


def stored_plan(session: Session, plan_id: int, user: Optional[m.Principal] = None) -> tuple[m.PlanJob, StoredPlan]:
    """A done plan (with the dispatch flags as they are now) read through :class:`StoredPlan`; its
    snapshot as the outputs see it (the orders its matches derived included)."""
    job, doc = done_document(session, plan_id, user)
    return job, StoredPlan.from_document(job.id, doc, seen(job))


def plan_json(session: Session, plan_id: int, user: m.Principal) -> File:
    """The plan, contract v1, as the caller may see it (as FastAPI's JSONResponse writes it)."""
    doc = visible_document(session, plan_id, user)
    data = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()
    return File(data, "json", f"plan-{plan_id}.json", inline=True)


def manifests(session: Session, plan_id: int, fmt: str, user: m.Principal, protector: Protector,
              agency: Optional[str] = None) -> File:
    """XLSX: a summary sheet and one sheet per coach trip. CSV: one row per worker."""
    job, stored = stored_plan(session, plan_id, user)
    rows = ex.manifest_rows(stored, protector, unmasked=user.role == "coordinator",
                            only_orders=scope(job, user, agency))
    if fmt == "csv":
        return File(ex.to_csv(ex.MANIFEST_COLUMNS, rows), fmt, f"manifests-plan-{plan_id}.csv")
    return File(ex.manifest_workbook(rows), fmt, f"manifests-plan-{plan_id}.xlsx")


def train_manifests(session: Session, plan_id: int, fmt: str, user: m.Principal, protector: Protector,
                    agency: Optional[str] = None) -> File:
    """XLSX: one sheet per train (its cars in order). CSV: one row per worker."""
    job, stored = stored_plan(session, plan_id, user)
    rows = ex.train_manifest_rows(stored, protector, unmasked=user.role == "coordinator",
                                  only_orders=scope(job, user, agency))
    if fmt == "csv":
        return File(ex.to_csv(ex.TRAIN_MANIFEST_COLUMNS, rows), fmt, f"train-manifests-plan-{plan_id}.csv")
    by_train: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_train.setdefault(r["列车 train"], []).append(r)
    sheets = [(f"列车 {t}", ex.TRAIN_MANIFEST_COLUMNS, sorted(rs, key=lambda r: (r["车厢 car"], str(r["序号 no."]))))
              for t, rs in by_train.items()] or [("列车 trains", ex.TRAIN_MANIFEST_COLUMNS, [])]
    return File(ex.to_xlsx(sheets), fmt, f"train-manifests-plan-{plan_id}.xlsx")


def schedule(session: Session, plan_id: int, fmt: str, vehicle_type: Optional[str] = None) -> File:
    """The bus operators' schedule (the coordinator's: the caller is checked by the caller)."""
    _, stored = stored_plan(session, plan_id)
    rows = ex.schedule_rows(stored)
    if vehicle_type is not None:
        rows = [r for r in rows if r["车型 vehicle type"] == vehicle_type]
    if fmt == "csv":
        return File(ex.to_csv(ex.SCHEDULE_COLUMNS, rows), fmt, f"schedule-plan-{plan_id}.csv")
    return File(ex.to_xlsx([("调度 schedule", ex.SCHEDULE_COLUMNS, rows)]), fmt, f"schedule-plan-{plan_id}.xlsx")


def boarding(session: Session, plan_id: int, fmt: str, user: m.Principal, agency: Optional[str] = None) -> File:
    """Where and when the workers board, and who was not planned (an agency: its own)."""
    job, stored = stored_plan(session, plan_id, user)
    rows = ex.boarding_rows(stored, scope(job, user, agency))
    if fmt == "csv":
        return File(ex.to_csv(ex.BOARDING_COLUMNS, rows), fmt, f"boarding-plan-{plan_id}.csv")
    return File(ex.to_xlsx([("上车安排 boarding", ex.BOARDING_COLUMNS, rows)]), fmt, f"boarding-plan-{plan_id}.xlsx")


def report(session: Session, plan_id: int, fmt: str, user: m.Principal,
           agency: Optional[str] = None) -> File | dict[str, Any]:
    """Cost and delivered headcount per agency and per province (``json``: the data)."""
    job, stored = stored_plan(session, plan_id, user)
    rep = ex.report(stored, scope(job, user, agency))
    if fmt == "json":
        return {"plan": plan_id, **rep}
    rows = ex.report_rows(rep)
    if fmt == "csv":
        return File(ex.to_csv(ex.REPORT_COLUMNS, rows, ex.REPORT_HEADERS), fmt, f"report-plan-{plan_id}.csv")
    return File(ex.to_xlsx([("按中介 by agency", ex.REPORT_COLUMNS, rep["agencies"]),
                            ("按省份 by province", ex.REPORT_COLUMNS, rep["provinces"]),
                            ("合计 total", ex.REPORT_COLUMNS, [rep["total"]])], ex.REPORT_HEADERS),
                fmt, f"report-plan-{plan_id}.xlsx")


def worker_posts(session: Session, plan_id: int, fmt: str, user: m.Principal,
                 agency: Optional[str] = None) -> File | dict[str, Any]:
    """Each registered worker's post and boarding (``json``: the data); an agency its own."""
    from . import matching as mt  # noqa: PLC0415

    job, doc = done_document(session, plan_id, user)
    rows = mt.worker_rows(doc, job.snapshot, user.id if user.role == "agency" else None)
    if user.role != "agency" and agency is not None:
        rows = [r for r in rows if r["中介 agency"] == agency]
    if fmt == "json":
        return {"plan": plan_id, "workers": rows}
    if fmt == "csv":
        return File(ex.to_csv(mt.WORKER_COLUMNS, rows), fmt, f"worker-posts-plan-{plan_id}.csv")
    return File(ex.to_xlsx([("岗位与上车 posts", mt.WORKER_COLUMNS, rows)]), fmt, f"worker-posts-plan-{plan_id}.xlsx")


def plan_label(session: Session, plan_id: int) -> str:
    """'方案 plan #12 · 版本 v3' when the plan was published (its newest publication), else unpublished."""
    version = session.scalar(select(m.Publication.version).where(m.Publication.plan_id == plan_id)
                             .order_by(m.Publication.version.desc()).limit(1))
    return f"方案 plan #{plan_id} · " + (f"版本 version {version}" if version is not None else "未发布 not published")


def manifests_pdf(session: Session, plan_id: int, user: m.Principal, protector: Protector,
                  trip: Optional[str] = None, agency: Optional[str] = None, masked: bool = False) -> File:
    """The 乘车名单 as an A4 PDF: a page group per coach trip (an agency: its trips, its workers)."""
    from . import printouts as pr  # noqa: PLC0415

    job, stored = stored_plan(session, plan_id, user)
    rows = ex.manifest_rows(stored, protector, unmasked=user.role == "coordinator" and not masked,
                            only_orders=scope(job, user, agency))
    if trip is not None and not any(r["车次 trip"] == trip for r in rows):
        raise ApiError(404, f"plan {plan_id} has no trip {trip!r}" + (" carrying your workers" if user.role == "agency"
                                                                        else " with riders"))
    data = pr.manifest_pdf(stored, rows, plan_label=plan_label(session, plan_id),
                           trips=None if trip is None else {trip}, scoped=user.role == "agency" or agency is not None)
    suffix = f"-{trip}" if trip else ""
    return File(data, "pdf", f"manifests-plan-{plan_id}{suffix}.pdf")


def dispatch_pdf(session: Session, plan_id: int, operator: Optional[str] = None) -> File:
    """The 调度单 per bus operator as an A4 PDF (the coordinator's)."""
    from . import printouts as pr  # noqa: PLC0415

    _, stored = stored_plan(session, plan_id)
    fleet = {v["id"]: v for v in stored.scenario.get("fleet", [])}
    if operator is not None and operator not in {pr.operator_of(t, fleet) for t in stored.trips}:
        raise ApiError(404, f"plan {plan_id} has no trips of operator {operator!r}")
    data = pr.dispatch_pdf(stored, plan_label=plan_label(session, plan_id), operator=operator)
    return File(data, "pdf", f"dispatch-plan-{plan_id}.pdf")


def notify(session: Session, plan_id: int, fmt: str, user: m.Principal, base: Optional[int] = None,
           agency: Optional[str] = None) -> File:
    """Whom to tell: each worker (or order) whose boarding changes against ``base`` (default: the
    plan in force), old and new; an agency its own, a coordinator all (or one ``agency``)."""
    from . import publish as pb  # noqa: PLC0415

    rows = pb.notify_rows(pb.diff_of(session, plan_id, user, base))
    if agency is not None and user.role == "coordinator":
        rows = [r for r in rows if r["中介 agency"] == agency]
    name = f"notify-plan-{plan_id}.{fmt}"
    if fmt == "csv":
        return File(ex.to_csv(pb.NOTIFY_COLUMNS, rows), fmt, name)
    return File(ex.to_xlsx([("通知 notify", pb.NOTIFY_COLUMNS, rows)]), fmt, name)
