"""Registered workers (match and move): an agency registers its workers (JSON or a CSV/XLSX upload
with Chinese headers), each with trades, choices of posts and a minimum wage; a plan matches them
to posts and brings them back. An agency sees its own (ID numbers and phones in full); a
coordinator sees all, masked. Someone else's worker answers 404, like one that does not exist."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import APIRouter, Body, File, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select

from planner.read import validation_problems

from .. import matching as svc
from .. import models as m
from ..deps import Agency, CurrentUser, ProtectorDep, SessionDep, SettingsDep
from ..errors import ApiError
from ..schemas import ErrorOut, MatchWorkerIn, MatchWorkerOut, MatchWorkersCreated

router = APIRouter(prefix="/v1/workers", tags=["workers"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no valid API key"},
    403: {"model": ErrorOut, "description": "not allowed for this role"},
    422: {"model": ErrorOut, "description": "invalid input; every problem is listed"},
}

_EXAMPLE = [{"id": "HN-0001", "name": "张三", "id_number": "410526199001011234", "phone": "13812345678",
             "origin": {"county": "410526"}, "trades": {"SMT操作工": 3}, "choices": ["P1"],
             "min_monthly_wage": 4500, "earliest_departure": "2027-02-11T08:00:00+08:00", "gender": "male"}]


_stored_refs = svc.stored_refs


def register(session: SessionDep, user: m.Principal, protector: ProtectorDep, items: list[MatchWorkerIn],
             labels: Optional[list[str]] = None) -> JSONResponse:
    """Store an agency's workers, all or nothing: 201 with them (see :func:`api.matching.register`)."""
    body = svc.register(session, user, protector, items, labels)
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


@router.post("", status_code=201, response_model=MatchWorkersCreated, responses=_ERRORS,
             summary="Register workers to be matched to posts (JSON list)")
def create_workers(session: SessionDep, user: Agency, protector: ProtectorDep, settings: SettingsDep,
                   workers: list[Any] = Body(openapi_examples={"one": {"value": _EXAMPLE}})) -> Any:
    """Each item is a ``MatchWorkerIn``. All or nothing: every problem of every item is listed
    (``workers[i] (id)``, field, why). ``agency`` is always the caller's; ``id`` is your reference
    (unique among your workers); ``choices`` name posts (``GET /v1/reference/posts``), at most 6,
    best first."""
    if len(workers) > settings.max_orders_per_request:
        raise ApiError(413, f"{len(workers)} workers; at most {settings.max_orders_per_request} per request")
    items, labels, problems = [], [], []
    for i, raw in enumerate(workers):
        ref = raw.get("id") if isinstance(raw, dict) else None
        where = f"workers[{i}]" + (f" ({ref})" if isinstance(ref, (str, int)) else "")
        try:
            items.append(MatchWorkerIn.model_validate(raw))
            labels.append(f"workers[{i}]")
        except ValidationError as exc:
            problems += validation_problems(exc, where, model=MatchWorkerIn)
    if problems:
        if items:
            posts = set(session.scalars(select(m.Post.id)))
            problems += svc.prepare_workers(items, user.name, posts, labels,
                                            _stored_refs(session, user.id, [w.id for w in items]))[1]
            session.commit()
        problems.sort(key=lambda p: svc.row_of(p.where))
        raise ApiError(422, f"{len(problems)} problem(s) in the workers; nothing was stored", problems)
    return register(session, user, protector, items, labels)


@router.post("/upload", status_code=201, response_model=MatchWorkersCreated, responses=_ERRORS,
             summary="Register workers from a CSV or XLSX file (Chinese headers accepted)")
def upload_workers(session: SessionDep, user: Agency, protector: ProtectorDep, settings: SettingsDep,
                   file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX, header row first")]
                   ) -> Any:
    """Headers, e.g.: 编号, 姓名, 身份证号, 手机, 区县 or 地址 or 经纬度 (or 纬度 + 经度), 工种
    (``SMT操作工:3;焊工:2``), 志愿 (``P1;P3``), 最低月薪, 最早出发, 筛查 (已通过/待筛查/未通过; an empty
    cell is 待筛查), 筛查有效期, 性别 (男/女), 同行组, 已签约 (a post id). All or nothing: any bad row
    rejects the file with every bad row listed (row, field, why)."""
    body = svc.upload_workers(session, user, protector, settings, file.file.read(), file.filename or "workers.csv")
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


@router.get("", response_model=list[MatchWorkerOut], summary="Registered workers (an agency: its own)")
def list_workers(session: SessionDep, user: CurrentUser, protector: ProtectorDep,
                 agency: Annotated[Optional[str], Query(description="coordinators: only this agency's")] = None,
                 limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
                 offset: Annotated[int, Query(ge=0)] = 0) -> list[MatchWorkerOut]:
    return svc.list_workers(session, user, protector, agency, limit, offset)


def _visible(session: SessionDep, user: m.Principal, worker_id: int) -> m.MatchWorker:
    row = session.get(m.MatchWorker, worker_id)
    if row is None or (user.role == "agency" and row.agency_id != user.id):
        raise ApiError(404, f"no worker {worker_id}")
    return row


@router.get("/{worker_id}", response_model=MatchWorkerOut, responses=_ERRORS, summary="One registered worker")
def get_worker(worker_id: int, session: SessionDep, user: CurrentUser, protector: ProtectorDep) -> MatchWorkerOut:
    return svc.worker_out(_visible(session, user, worker_id), user, protector)


@router.delete("/{worker_id}", status_code=204, responses=_ERRORS, summary="Withdraw a registered worker (its agency)")
def delete_worker(worker_id: int, session: SessionDep, user: Agency) -> Response:
    session.delete(_visible(session, user, worker_id))
    session.commit()
    return Response(status_code=204)
