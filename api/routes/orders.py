"""Orders (HR agencies): submit by JSON or by CSV/XLSX upload, list, change, delete; rosters
and screening results. An agency sees and changes only its own orders; a coordinator sees
and may change all. Someone else's order answers 404, like one that does not exist."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Body, File, Header, Query, Response, UploadFile

from .. import idempotency as idem
from .. import orders as svc
from ..deps import Agency, CurrentUser, ProtectorDep, SessionDep, SettingsDep
from ..errors import ApiError
from ..reference import site_ids
from ..schemas import (
    ErrorOut,
    OrderDetail,
    OrderIn,
    OrderOut,
    OrderPatch,
    OrdersCreated,
    ScreeningUpdate,
    WorkerIn,
    WorkerOut,
    WorkerPatch,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])

IdempotencyKey = Annotated[Optional[str], Header(
    alias="Idempotency-Key", description="makes a retried submission safe: the same key returns the first answer")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no valid API key"},
    403: {"model": ErrorOut, "description": "not allowed for this role"},
    422: {"model": ErrorOut, "description": "invalid input; every problem is listed"},
}

_ORDERS_EXAMPLE = [{
    "id": "HN-001", "origin": {"county": "410526"}, "site": "F1", "headcount": 40, "cleared": 38,
    "earliest_departure": "2027-02-11T08:00:00+08:00", "arrive_by": "2027-02-12T00:00:00+08:00"}, {
    "id": "SC-002", "origin": {"address": "四川省巴中市恩阳区"}, "site": "F1",
    "earliest_departure": "2027-02-11T06:00:00+08:00", "arrive_by": "2027-02-13T00:00:00+08:00",
    "workers": [{"name": "张三", "id_number": "511903199001011234", "phone": "13812345678",
                 "screening": "cleared", "screening_valid_until": "2027-02-13T00:00:00+08:00"}]}]


_visible = svc.visible
_stored_refs = svc.stored_refs


@router.post("", status_code=201, response_model=OrdersCreated, responses=_ERRORS,
             summary="Submit orders (JSON list of contract-v1 orders, optionally with rosters)")
def create_orders(session: SessionDep, user: Agency, protector: ProtectorDep, settings: SettingsDep,
                  idempotency_key: IdempotencyKey = None,
                  orders: list[OrderIn] = Body(openapi_examples={"two": {"value": _ORDERS_EXAMPLE}})) -> Any:
    """All or nothing: one bad order rejects the request, listing every problem. ``agency`` is
    always the caller's; ``id`` is kept as the order's ``ref``; the service gives the order its own ``id``."""
    key = idem.check_key(idempotency_key)
    if len(orders) > settings.max_orders_per_request:
        raise ApiError(413, f"{len(orders)} orders; at most {settings.max_orders_per_request} per request")
    digest = idem.request_hash("orders", json.dumps([o.model_dump(mode="json") for o in orders], sort_keys=True))
    replayed = idem.replay(session, user, key, digest)
    sites = site_ids(session)
    session.commit()
    if replayed is not None:
        return replayed
    stored = _stored_refs(session, user.id, [o.id for o in orders])
    contract, problems = svc.prepare(orders, user.name, sites, stored=stored)
    if problems:
        if stored and key is not None:  # the same request with this key may have just been stored
            again = idem.replay(session, user, key, digest)
            if again is not None:
                return again
        raise ApiError(422, f"{len(problems)} problem(s) in the orders; nothing was stored", problems)
    rows = [svc.new_order(c, user, item.id, item.workers or [], protector) for c, item in zip(contract, orders)]
    return svc.store(session, user, rows, key, digest).response()


@router.post("/upload", status_code=201, response_model=OrdersCreated, responses=_ERRORS,
             summary="Upload orders as CSV or XLSX (Chinese headers accepted)")
def upload_orders(session: SessionDep, user: Agency, protector: ProtectorDep, settings: SettingsDep,
                  file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX, header row first")],
                  idempotency_key: IdempotencyKey = None) -> Any:
    """Headers in English or Chinese, e.g. 区县/地址/人数/已筛查/最早出发/最晚到达/工厂 (also 编号,
    未通过, 筛查有效期, 纬度/经度). An agency column, if any, is ignored. All or nothing: any bad
    row rejects the file with every bad row listed (row, field, why) and stores nothing."""
    key = idem.check_key(idempotency_key)
    return svc.upload_orders(session, user, protector, settings, file.file.read(), file.filename or "upload.csv",
                             key).response()


@router.get("", response_model=list[OrderOut], summary="List orders (an agency: its own)")
def list_orders(session: SessionDep, user: CurrentUser,
                agency: Annotated[Optional[str], Query(description="coordinators: only this agency's")] = None,
                site: Optional[str] = None,
                limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[OrderOut]:
    return svc.list_orders(session, user, agency, site, limit, offset)


@router.get("/{order_id}", response_model=OrderDetail, responses=_ERRORS, summary="One order, with its roster (masked)")
def get_order(order_id: int, session: SessionDep, user: CurrentUser) -> OrderDetail:
    return svc.order_detail(_visible(session, user, order_id))


@router.patch("/{order_id}", response_model=OrderOut, responses=_ERRORS, summary="Change an order (late headcounts, no-shows)")
def patch_order(order_id: int, session: SessionDep, user: CurrentUser,
                patch: OrderPatch = Body(openapi_examples={"more": {"value": {"headcount": 45, "cleared": 44}}})
                ) -> OrderOut:
    changes = patch.model_dump(exclude_unset=True)
    if "origin" in changes and patch.origin is not None:
        changes["origin"] = patch.origin
    row = _visible(session, user, order_id)
    if changes.get("id") and changes["id"] != row.ref:
        other = _stored_refs(session, row.agency_id, [changes["id"]])
        if other:
            raise ApiError(422, f"order {order_id} was not changed", svc.duplicate_problems(
                [changes["id"]], [f"order {order_id}"], other))
    problems = svc.apply_patch(row, changes, site_ids(session))
    if problems:
        session.rollback()
        raise ApiError(422, f"order {order_id} was not changed", problems)
    session.commit()
    return svc.order_out(row)


@router.delete("/{order_id}", status_code=204, responses=_ERRORS, summary="Withdraw an order")
def delete_order(order_id: int, session: SessionDep, user: CurrentUser) -> Response:
    session.delete(_visible(session, user, order_id))
    session.commit()
    return Response(status_code=204)


# ------------------------------------------------------------------ rosters and screening


@router.get("/{order_id}/workers", response_model=list[WorkerOut], summary="An order's roster (ID numbers and phones masked)")
def list_workers(order_id: int, session: SessionDep, user: CurrentUser) -> list[WorkerOut]:
    return [svc.worker_out(w) for w in _visible(session, user, order_id).workers]


@router.put("/{order_id}/workers", response_model=OrderDetail, responses=_ERRORS,
            summary="Replace an order's roster; the order's counts follow it")
def put_workers(order_id: int, workers: list[WorkerIn], session: SessionDep, user: CurrentUser,
                protector: ProtectorDep) -> OrderDetail:
    return svc.replace_roster(session, user, order_id, workers, protector)


@router.put("/{order_id}/workers/upload", response_model=OrderDetail, responses=_ERRORS,
            summary="Replace an order's roster from a CSV or XLSX file (姓名/身份证号/电话/户籍地址/筛查/筛查有效期)")
def upload_workers(order_id: int, session: SessionDep, user: CurrentUser, protector: ProtectorDep,
                   settings: SettingsDep,
                   file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX, header row first")]
                   ) -> OrderDetail:
    """Screening is written cleared/pending/failed or 已通过/待筛查/未通过 (empty: pending). All or
    nothing: any bad row rejects the file with every bad row listed."""
    return svc.upload_roster(session, user, order_id, protector, settings, file.file.read(),
                             file.filename or "roster.csv")


@router.patch("/{order_id}/workers/{worker_id}", response_model=WorkerOut, responses=_ERRORS,
              summary="Change one worker (e.g. a screening result)")
def patch_worker(order_id: int, worker_id: int, patch: WorkerPatch, session: SessionDep, user: CurrentUser,
                 protector: ProtectorDep) -> WorkerOut:
    row = _visible(session, user, order_id)
    worker = next((w for w in row.workers if w.id == worker_id), None)
    if worker is None:
        raise ApiError(404, f"order {order_id} has no worker {worker_id}")
    svc.update_worker(worker, patch.model_dump(exclude_unset=True), protector)
    svc.sync_counts(row)
    problems = svc.apply_patch(row, {}, set())
    if problems:
        session.rollback()
        raise ApiError(422, "the change would make the order invalid", problems)
    session.commit()
    return svc.worker_out(worker)


@router.delete("/{order_id}/workers/{worker_id}", status_code=204, responses=_ERRORS,
               summary="Remove a worker from the roster (a no-show)")
def delete_worker(order_id: int, worker_id: int, session: SessionDep, user: CurrentUser) -> Response:
    row = _visible(session, user, order_id)
    worker = next((w for w in row.workers if w.id == worker_id), None)
    if worker is None:
        raise ApiError(404, f"order {order_id} has no worker {worker_id}")
    if len(row.workers) == 1:
        raise ApiError(409, "this is the roster's last worker: withdraw the order instead")
    row.workers.remove(worker)
    svc.sync_counts(row)
    session.commit()
    return Response(status_code=204)


@router.post("/{order_id}/screening", response_model=OrderDetail, responses=_ERRORS,
             summary="Record screening results for a whole order")
def update_screening(order_id: int, update: ScreeningUpdate, session: SessionDep, user: CurrentUser) -> OrderDetail:
    """Without a roster: set ``cleared`` / ``failed`` counts (and ``screening_valid_until``).
    With a roster: set ``status`` for all workers, or for those listed in ``workers``."""
    row = _visible(session, user, order_id)
    if row.workers:
        if update.cleared is not None or update.failed is not None:
            raise ApiError(422, "this order has a roster: give a `status` (for all or listed `workers`), not counts")
        if update.status is None and update.screening_valid_until is None:
            raise ApiError(422, "give a `status` and/or `screening_valid_until`")
        wanted = set(update.workers) if update.workers is not None else None
        if wanted is not None:
            unknown = wanted - {w.id for w in row.workers}
            if unknown:
                raise ApiError(404, f"order {order_id} has no worker(s) {', '.join(map(str, sorted(unknown)))}")
        for w in row.workers:
            if wanted is None or w.id in wanted:
                changes: dict[str, Any] = {}
                if update.status is not None:
                    changes["screening"] = update.status
                if update.screening_valid_until is not None:
                    changes["screening_valid_until"] = update.screening_valid_until
                svc.update_worker(w, changes, None)  # type: ignore[arg-type]
        svc.sync_counts(row)
        problems = svc.apply_patch(row, {}, set())
    else:
        if update.status is not None or update.workers is not None:
            raise ApiError(422, "this order has no roster: give `cleared` / `failed` counts")
        changes = update.model_dump(exclude_unset=True, exclude={"status", "workers"})
        if not changes:
            raise ApiError(422, "give `cleared`, `failed` and/or `screening_valid_until`")
        problems = svc.apply_patch(row, changes, set())
    if problems:
        session.rollback()
        raise ApiError(422, f"order {order_id} was not changed", problems)
    session.commit()
    return svc.order_detail(row)
