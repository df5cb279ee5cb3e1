"""Orders and rosters: from request bodies and uploaded tables to rows, and back.

Every submission is checked whole before anything is stored: each order against the
contract, then all of them against the reference data (known sites, resolvable origins).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Callable, Iterable, Optional, Sequence

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from planner.contract import SHANGHAI, Location, Order, as_shanghai
from planner.errors import InputError, Problem
from planner.read import check_orders, parse_order_rows, validation_problems

from . import idempotency as idem
from . import models as m
from .bounds import MAX_ADDRESS, MAX_HEADCOUNT, MAX_NAME, MAX_NOTE, MAX_PLACE_NAME, lengths_problems, read_upload
from .errors import ApiError
from .reference import _extra, get_location, set_location, site_ids
from .schemas import OrderDetail, OrderIn, OrderOut, OrdersCreated, WorkerIn, WorkerOut
from .security import Protector, mask_id_number, mask_phone

#: hidden column added to uploaded rows so valid orders keep their row number
_ROW_KEY = "_fangang_row"
_CONTRACT_FIELDS = ("origin", "site", "headcount", "cleared", "failed", "earliest_departure",
                    "arrive_by", "screening_valid_until")


# ------------------------------------------------------------------ rows → API / contract


def worker_out(w: m.Worker) -> WorkerOut:
    return WorkerOut(id=w.id, name=w.name, id_number=w.id_number_masked, phone=w.phone_masked,
                     hometown=w.hometown, screening=w.screening,  # type: ignore[arg-type]
                     screening_valid_until=w.screening_valid_until)


def resolved(code: Optional[str]) -> Optional[dict[str, Any]]:
    """The county an origin was placed in, as shown to people: code, name, city, province, seat."""
    if not code:
        return None
    from planner.network.places import counties  # noqa: PLC0415

    c = counties().get(code)
    if c is None:
        return {"county": code}
    return {"county": c.code, "name": c.name, "city": c.city, "province": c.province, "lat": c.lat, "lon": c.lon}


def origin_out(row: m.Order) -> dict[str, Any]:
    out = get_location(row).model_dump(exclude_none=True)
    res = resolved(row.resolved_county)
    if res is not None:
        out["resolved"] = res
    return out


def order_out(row: m.Order, roster: Optional[int] = None) -> OrderOut:
    return OrderOut(
        id=str(row.id), ref=row.ref, agency=row.agency.name, origin=origin_out(row), site=row.site,
        headcount=row.headcount, cleared=row.cleared, failed=row.failed,
        earliest_departure=row.earliest_departure, arrive_by=row.arrive_by,
        screening_valid_until=row.screening_valid_until,
        roster=roster if roster is not None else len(row.workers),
        created_at=row.created_at, updated_at=row.updated_at)


def order_detail(row: m.Order) -> OrderDetail:
    return OrderDetail(**order_out(row).model_dump(), workers=[worker_out(w) for w in row.workers])


def contract_dict(row: m.Order) -> dict[str, Any]:
    """The order as a contract-v1 order of a scenario: ``id`` is the service's id.

    An order with a roster is screened worker by worker: its cleared workers go in
    ``screening_batches`` by their own screening expiry (none: never expires), so one early
    expiry holds back only that worker."""
    data = {**row.extra, "id": str(row.id), "agency": row.agency.name, "origin": get_location(row),
            "site": row.site, "headcount": row.headcount, "cleared": row.cleared, "failed": row.failed,
            "earliest_departure": row.earliest_departure, "arrive_by": row.arrive_by,
            "screening_valid_until": row.screening_valid_until}
    if row.workers:
        by_expiry: dict[Optional[datetime], int] = {}
        for w in row.workers:
            if w.screening == "cleared":
                until = as_shanghai(w.screening_valid_until) if w.screening_valid_until else None
                by_expiry[until] = by_expiry.get(until, 0) + 1
        data["screening_batches"] = [{"count": n, "until": t} for t, n in by_expiry.items()]
    order = Order.model_validate(data)
    return order.model_dump(mode="json", exclude_none=True)


# ------------------------------------------------------------------ rosters


def new_worker(w: WorkerIn, protector: Protector) -> m.Worker:
    return m.Worker(
        name=w.name, id_number_enc=protector.seal(w.id_number), id_number_masked=mask_id_number(w.id_number),
        phone_enc=protector.seal(w.phone), phone_masked=mask_phone(w.phone), hometown=w.hometown,
        screening=w.screening,
        screening_valid_until=as_shanghai(w.screening_valid_until) if w.screening_valid_until else None)


def update_worker(row: m.Worker, changes: dict[str, Any], protector: Protector) -> None:
    if "name" in changes and changes["name"] is not None:
        row.name = changes["name"]
    if "id_number" in changes:
        row.id_number_enc = protector.seal(changes["id_number"])
        row.id_number_masked = mask_id_number(changes["id_number"])
    if "phone" in changes:
        row.phone_enc = protector.seal(changes["phone"])
        row.phone_masked = mask_phone(changes["phone"])
    if "hometown" in changes:
        row.hometown = changes["hometown"]
    if "screening" in changes and changes["screening"] is not None:
        row.screening = changes["screening"]
    if "screening_valid_until" in changes:
        v = changes["screening_valid_until"]
        row.screening_valid_until = as_shanghai(v) if v else None


def roster_counts(workers: Sequence[Any]) -> tuple[int, int, int, Optional[datetime]]:
    """(headcount, cleared, failed, earliest expiry of a cleared worker) of a roster."""
    cleared = [w for w in workers if w.screening == "cleared"]
    expiries = [as_shanghai(w.screening_valid_until) for w in cleared if w.screening_valid_until]
    return (len(workers), len(cleared), sum(1 for w in workers if w.screening == "failed"),
            min(expiries) if expiries else None)


def sync_counts(row: m.Order) -> None:
    """An order with a roster takes its counts and screening expiry from the roster."""
    if not row.workers:
        return
    row.headcount, row.cleared, row.failed, expiry = roster_counts(row.workers)
    row.screening_valid_until = expiry


# ------------------------------------------------------------------ submissions


def duplicate_problems(refs: Sequence[Optional[str]], wheres: Sequence[str], stored: dict[str, int]) -> list[Problem]:
    """An agency's order ids are unique: twice in one submission, or already stored, is refused."""
    out = []
    first: dict[str, str] = {}
    for ref, where in zip(refs, wheres):
        if ref is None:
            continue
        if ref in first:
            out.append(Problem(where, "id", f"duplicate id {ref!r} (first at {first[ref]})"))
            continue
        first[ref] = where
        if ref in stored:
            out.append(Problem(where, "id", f"your agency already has an order {ref!r} (order {stored[ref]}): "
                                            f"change it with PATCH /v1/orders/{stored[ref]}, or give a new id"))
    return out


def bound_problems(order: Order, where: str) -> list[Problem]:
    """What a real park never has: more than :data:`~api.bounds.MAX_HEADCOUNT` workers in one
    order, an address, a place name, a site or a note longer than its limit."""
    out = []
    if order.headcount > MAX_HEADCOUNT:
        out.append(Problem(where, "headcount", f"人数超过上限：每个订单最多 {MAX_HEADCOUNT} 人 (at most "
                                               f"{MAX_HEADCOUNT} workers per order; split a larger group "
                                               f"into several orders)"))
    return out + lengths_problems([
        (where, "origin.address", order.origin.address, MAX_ADDRESS),
        (where, "origin.name", order.origin.name, MAX_PLACE_NAME),
        (where, "site", order.site, MAX_NAME), (where, "note", order.note, MAX_NOTE)])


def prepare(items: Sequence[OrderIn], agency: str, sites: set[str], labels: Optional[Sequence[str]] = None,
            stored: Optional[dict[str, int]] = None) -> tuple[list[Order], list[Problem]]:
    """Validate request orders as contract orders of ``agency``; every problem, with where it is.

    ``stored``: the agency's order ids already stored (ref → service id): they may not come again."""
    labels = list(labels) if labels is not None else [f"orders[{i}]" for i in range(len(items))]
    orders: list[Order] = []
    wheres: list[str] = []
    problems: list[Problem] = duplicate_problems(
        [item.id for item in items], [f"{lb} ({it.id})" if it.id else lb for it, lb in zip(items, labels)], stored or {})
    for item, label in zip(items, labels):
        where = f"{label} ({item.id})" if item.id else label
        data = item.model_dump(exclude={"workers", "agency", "id"}, exclude_unset=False)
        data.update(item.model_extra or {})
        data["id"] = item.id or label
        data["agency"] = agency
        if item.workers:
            head, cleared, failed, expiry = roster_counts(item.workers)
            for name, given, derived in (("headcount", item.headcount, head), ("cleared", item.cleared, cleared)):
                if given is not None and given != derived:
                    problems.append(Problem(where, name, f"{name} ({given}) does not match the roster "
                                                         f"({derived} {'workers' if name == 'headcount' else 'cleared'})"))
            data.update(headcount=head, cleared=cleared, failed=failed)
            if expiry and (data.get("screening_valid_until") is None or expiry < as_shanghai(data["screening_valid_until"])):
                data["screening_valid_until"] = expiry  # shown as the order's; planned worker by worker
        else:
            for name in ("headcount", "cleared"):
                if data.get(name) is None:
                    problems.append(Problem(where, name, "required field is missing (or give a roster in `workers`)"))
            if data.get("headcount") is None or data.get("cleared") is None:
                continue
        try:
            order = Order.model_validate(data)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, where))
            continue
        bounds = bound_problems(order, where)
        if bounds:
            problems.extend(bounds)
            continue
        orders.append(order)
        wheres.append(where)
    if orders:
        problems.extend(check_orders(orders, sites, wheres))
    return orders, problems


def new_order(order: Order, agency: m.Principal, ref: Optional[str],
              workers: Iterable[WorkerIn], protector: Protector) -> m.Order:
    extra = _extra(order)
    row = m.Order(agency_id=agency.id, agency=agency, ref=ref, site=order.site,
                  headcount=order.headcount, cleared=order.cleared, failed=order.failed,
                  earliest_departure=order.earliest_departure, arrive_by=order.arrive_by,
                  screening_valid_until=order.screening_valid_until,
                  extra=_jsonable(extra))
    set_location(row, order.origin)
    row.resolved_county = resolve_county(order.origin)
    row.workers = [new_worker(w, protector) for w in workers]
    return row


def resolve_county(loc: Location) -> Optional[str]:
    """The county a (valid) origin is placed in."""
    from planner.network.places import PlaceError, resolve_all  # noqa: PLC0415

    got = resolve_all([loc])[0]
    return None if isinstance(got, PlaceError) else got.county


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in extra.items():
        out[k] = v.isoformat() if isinstance(v, datetime) else v
    return out


def apply_patch(row: m.Order, changes: dict[str, Any], sites: set[str]) -> list[Problem]:
    """Apply ``changes`` to ``row`` if the result is a valid order; else return the problems."""
    where = f"order {row.id}"
    if row.workers:
        locked = [k for k in ("headcount", "cleared", "failed", "screening_valid_until") if k in changes]
        if locked:
            return [Problem(where, k, "this order has a roster: counts and screening follow the roster; "
                                      "change the workers instead") for k in locked]
    current = {
        "id": str(row.id), "agency": row.agency.name, "origin": get_location(row), "site": row.site,
        "headcount": row.headcount, "cleared": row.cleared, "failed": row.failed,
        "earliest_departure": row.earliest_departure, "arrive_by": row.arrive_by,
        "screening_valid_until": row.screening_valid_until, **row.extra}
    merged = {**current, **{k: v for k, v in changes.items() if k != "id"}}
    if merged.get("origin") is None or merged.get("site") is None:
        return [Problem(where, k, "cannot be removed") for k in ("origin", "site") if merged.get(k) is None]
    for k in ("headcount", "cleared", "failed", "earliest_departure", "arrive_by"):
        if merged.get(k) is None:
            return [Problem(where, k, "cannot be removed")]
    try:
        order = Order.model_validate(merged)
    except ValidationError as exc:
        return validation_problems(exc, where)
    bounds = bound_problems(order, where)
    if bounds:
        return bounds
    if "site" in changes or "origin" in changes:
        problems = check_orders([order], sites, [where])
        if problems:
            return problems
    if "id" in changes:
        row.ref = changes["id"]
    if "origin" in changes:
        row.resolved_county = resolve_county(order.origin)
    set_location(row, order.origin)
    row.site, row.headcount, row.cleared, row.failed = order.site, order.headcount, order.cleared, order.failed
    row.earliest_departure, row.arrive_by = order.earliest_departure, order.arrive_by
    row.screening_valid_until = order.screening_valid_until
    return []


# ------------------------------------------------------------------ uploads


def _header_key(header: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(header).strip().lower())


def _headers_for(field: str) -> set[str]:
    from planner.read import ORDER_HEADERS  # noqa: PLC0415

    return {_header_key(h) for h in ORDER_HEADERS[field]}


def parse_upload(data: bytes, filename: str, agency: str, sites: set[str], max_rows: int,
                 stored: Optional[Callable[[list[Optional[str]]], dict[str, int]]] = None,
                 max_unpacked: int = 64 * 2**20) -> tuple[list[tuple[Order, Optional[str]]], list[Problem], int]:
    """Read an uploaded CSV/XLSX of orders for ``agency``.

    Returns the orders with their own reference (the file's id column, if any), every problem
    found (row, field, why), and the number of data rows. The agency column, if present, is
    ignored: orders are always the caller's.
    """
    rows = read_upload(data, filename, max_rows, max_unpacked)
    if len(rows) > max_rows:
        return [], [Problem(filename, "file", f"{len(rows)} rows; at most {max_rows} per upload")], len(rows)
    agency_headers, id_headers = _headers_for("agency"), _headers_for("id")
    has_id = any(_header_key(h) in id_headers for r in rows for h in r)
    prepared = []
    for i, r in enumerate(rows):
        row_no = i + 2
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in r.values()):
            prepared.append(r)
            continue
        clean = {h: v for h, v in r.items() if _header_key(h) not in agency_headers}
        clean["agency"] = agency
        if not has_id:
            clean["id"] = f"row{row_no}"
        clean[_ROW_KEY] = row_no
        prepared.append(clean)
    dicts, problems = parse_order_rows(prepared, first_row=2)
    orders: list[tuple[Order, Optional[str]]] = []
    wheres = []
    for d in dicts:
        row_no = int(d.pop(_ROW_KEY, 0))
        order = Order.model_validate(d)
        where = f"row {row_no}" + (f" ({order.id})" if has_id else "")
        bounds = bound_problems(order, where)
        if bounds:
            problems += bounds
            continue
        orders.append((order, order.id if has_id else None))
        wheres.append(where)
    if orders:
        problems += check_orders([o for o, _ in orders], sites, wheres)
    if has_id:
        ids: list[Optional[str]] = [o.id for o, _ in orders]
        problems += duplicate_problems(ids, wheres, stored(ids) if stored else {})
    if not has_id:  # drop the stand-in ids we made: "row 5 (row5)" -> "row 5"
        problems = [Problem(re.sub(r" \(row\d+\)$", "", p.where), p.field, p.message) for p in problems]
    problems.sort(key=lambda p: _row_of(p.where))
    return orders, problems, sum(1 for r in rows if any(v not in (None, "") for v in r.values()))


def _row_of(where: str) -> int:
    mm = re.search(r"\brow (\d+)", where)
    return int(mm.group(1)) if mm else 0


# ------------------------------------------------------------------ roster uploads

ROSTER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名", "名字"),
    "id_number": ("id_number", "id", "身份证号", "身份证", "身份证号码", "证件号码"),
    "phone": ("phone", "mobile", "电话", "手机", "手机号", "联系电话"),
    "hometown": ("hometown", "address", "户籍地址", "家庭住址", "地址", "籍贯"),
    "screening": ("screening", "筛查", "筛查结果", "筛查状态"),
    "screening_valid_until": ("screening_valid_until", "筛查有效期", "筛查有效至"),
}
_ROSTER_ALIASES = {_header_key(a): k for k, v in ROSTER_HEADERS.items() for a in v}
_SCREENING_WORDS = {"cleared": "cleared", "已通过": "cleared", "通过": "cleared", "合格": "cleared", "阴性": "cleared",
                    "pending": "pending", "待筛查": "pending", "未筛查": "pending", "": "pending",
                    "failed": "failed", "未通过": "failed", "不合格": "failed"}


def parse_roster(data: bytes, filename: str, max_rows: int,
                 max_unpacked: int = 64 * 2**20) -> tuple[list[WorkerIn], list[Problem]]:
    """Read a roster table (English or Chinese headers: 姓名/身份证号/电话/户籍地址/筛查/筛查有效期)."""
    from datetime import date  # noqa: PLC0415

    rows = read_upload(data, filename, max_rows, max_unpacked)
    if len(rows) > max_rows:
        return [], [Problem(filename, "file", f"{len(rows)} rows; at most {max_rows} per upload")]
    headers = {h: _ROSTER_ALIASES.get(_header_key(h)) for r in rows for h in r}
    if rows and "name" not in headers.values():
        return [], [Problem("row 1 (header)", "name", "missing required column; accepted headers: "
                            + ", ".join(ROSTER_HEADERS["name"]))]
    workers: list[WorkerIn] = []
    problems: list[Problem] = []
    for i, r in enumerate(rows):
        where = f"row {i + 2}"
        raw = {headers[h]: v for h, v in r.items() if headers.get(h) and v not in (None, "")}
        if not raw:
            continue
        for k in ("id_number", "phone"):
            value = raw.get(k)
            if isinstance(value, float) and value.is_integer():
                raw[k] = str(int(value))
            elif k in raw:
                raw[k] = str(value)
        word = str(raw.get("screening", "")).strip().lower()
        if word not in _SCREENING_WORDS:
            problems.append(Problem(where, "screening", f"unknown screening status {raw['screening']!r} "
                                                        "(cleared/pending/failed or 已通过/待筛查/未通过)"))
            continue
        raw["screening"] = _SCREENING_WORDS[word]
        v = raw.get("screening_valid_until")
        if isinstance(v, date) and not isinstance(v, datetime):
            raw["screening_valid_until"] = datetime(v.year, v.month, v.day)
        elif isinstance(v, str):
            raw["screening_valid_until"] = v.strip().replace("/", "-")
        try:
            w = WorkerIn.model_validate(raw)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, where))
            continue
        if w.screening_valid_until is not None:
            w.screening_valid_until = as_shanghai(w.screening_valid_until)
        workers.append(w)
    return workers, problems


# ------------------------------------------------------------------ the orders service (the JSON routes and the console)


def visible(session: Session, user: m.Principal, order_id: int) -> m.Order:
    """The order if the caller may see it; 404 otherwise (never saying it exists)."""
    row = session.get(m.Order, order_id, options=[selectinload(m.Order.workers)])
    if row is None or (user.role == "agency" and row.agency_id != user.id):
        raise ApiError(404, f"no order {order_id}")
    return row


def stored_refs(session: Session, agency_id: int, refs: list[Optional[str]]) -> dict[str, int]:
    """Which of ``refs`` the agency already has: ref → the service's order id."""
    wanted = sorted({r for r in refs if r})
    if not wanted:
        return {}
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        out.update(session.execute(select(m.Order.ref, m.Order.id).where(
            m.Order.agency_id == agency_id, m.Order.ref.in_(wanted[start:start + 500]))).all())  # type: ignore[arg-type]
    return out


def store(session: Session, user: m.Principal, rows: list[m.Order], key: Optional[str], digest: str,
          upload: Optional[tuple[str, str]] = None) -> idem.Answer:
    """Store new orders and the idempotency record in one transaction; 201 with the orders.

    Two identical submissions at once (the same ids, file or key): the second's insert meets the
    first's unique rows — at the flush on PostgreSQL, at the commit on SQLite — and is answered
    409, or with the first answer when it carried the same ``Idempotency-Key``."""
    try:
        session.add_all(rows)
        session.flush()
        body = OrdersCreated(created=len(rows), orders=[order_out(r) for r in rows]).model_dump(mode="json")
        if upload is not None:
            session.add(m.OrderUpload(agency_id=user.id, sha256=upload[0], filename=upload[1][:300],
                                      orders=[r.id for r in rows]))
        idem.remember(session, user, key, digest, 201, body)
        session.commit()
    except IntegrityError:
        session.rollback()  # the same key (or the same ids, or the same file) won a race
        again = idem.replayed_answer(session, user, key, digest)
        if again is None:
            raise ApiError(409, "another submission stored the same order ids or the same file at the same "
                                "moment; nothing was stored: list your orders and submit again") from None
        return again
    return idem.Answer(201, body)


def upload_orders(session: Session, user: m.Principal, protector: Protector, settings: Any, data: bytes,
                  filename: str, key: Optional[str] = None) -> idem.Answer:
    """An agency's orders from a CSV/XLSX file, all or nothing: any bad row rejects the file with
    every bad row listed (row, field, why) and stores nothing (422); the same file again while its
    orders exist is 409 (or, with the same ``key``, the first answer)."""
    digest = idem.request_hash("upload", filename, data)
    replayed = idem.replayed_answer(session, user, key, digest)
    sites = site_ids(session)
    session.commit()
    if replayed is not None:
        return replayed
    if not data:
        raise ApiError(422, "the file is empty", [Problem(filename, "file", "the file is empty")])
    sha = hashlib.sha256(data).hexdigest()
    again = _uploaded_before(session, user, sha, key, digest, forget=True)
    if again is not None:
        return again
    try:
        parsed, problems, n_rows = parse_upload(data, filename, user.name, sites, settings.max_orders_per_request,
                                                stored=lambda refs: stored_refs(session, user.id, refs),
                                                max_unpacked=settings.max_upload_unpacked_bytes)
    except InputError as exc:
        raise ApiError(422, f"cannot read {filename}: {exc}", exc.problems) from None
    if problems:
        # the same file, stored by a request running at the same moment: 409 or its answer, as above
        again = _uploaded_before(session, user, sha, key, digest, forget=False)
        if again is not None:
            return again
        bad_rows = len({p.where for p in problems})
        raise ApiError(422, f"{filename}: {len(problems)} problem(s) in {bad_rows} row(s) of {n_rows}; "
                            f"nothing was stored", problems)
    if not parsed:
        raise ApiError(422, f"{filename} has no order rows")
    rows = [new_order(order, user, ref, [], protector) for order, ref in parsed]
    return store(session, user, rows, key, digest, upload=(sha, filename))


def _uploaded_before(session: Session, user: m.Principal, sha: str, key: Optional[str], digest: str,
                     forget: bool) -> Optional[idem.Answer]:
    """A file this agency uploaded before whose orders still exist: 409 naming them, or the first
    answer when this is the same request with the same ``Idempotency-Key``. When its orders were
    all withdrawn the file may come again (``forget``: its record is dropped)."""
    before = session.scalar(select(m.OrderUpload).where(m.OrderUpload.agency_id == user.id, m.OrderUpload.sha256 == sha))
    if before is None:
        return None
    kept = list(session.scalars(select(m.Order.id).where(m.Order.id.in_(before.orders))))
    if kept:
        again = idem.replayed_answer(session, user, key, digest)
        if again is not None:
            return again
        raise ApiError(409, f"this file was already uploaded ({before.filename!r}, "
                            f"{before.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}) as orders "
                            f"{', '.join(map(str, kept[:20]))}{' …' if len(kept) > 20 else ''}; nothing was "
                            f"stored again. Change those orders with PATCH /v1/orders/{{id}}, or withdraw "
                            f"them first to upload the file anew")
    if forget:
        session.delete(before)  # its orders were all withdrawn: the file may come again
        session.flush()
    return None


def list_orders(session: Session, user: m.Principal, agency: Optional[str] = None, site: Optional[str] = None,
                limit: int = 1000, offset: int = 0) -> list[OrderOut]:
    """Orders the caller may see (an agency: its own; a coordinator: all, or one ``agency``'s)."""
    q = select(m.Order).join(m.Order.agency)
    if user.role == "agency":
        q = q.where(m.Order.agency_id == user.id)
    elif agency is not None:
        q = q.where(m.Principal.name == agency)
    if site is not None:
        q = q.where(m.Order.site == site)
    rows = list(session.scalars(q.order_by(m.Order.id).limit(limit).offset(offset)))
    counts = dict(session.execute(select(m.Worker.order_id, func.count()).where(
        m.Worker.order_id.in_([r.id for r in rows])).group_by(m.Worker.order_id)).all()) if rows else {}
    return [order_out(r, roster=counts.get(r.id, 0)) for r in rows]


def replace_roster(session: Session, user: m.Principal, order_id: int, workers: list[WorkerIn],
                   protector: Protector) -> OrderDetail:
    """Replace an order's roster; the order's counts follow it."""
    row = visible(session, user, order_id)
    if not workers:
        raise ApiError(422, "a roster lists at least one worker (to drop the roster, set counts with PATCH)")
    if len(workers) > MAX_HEADCOUNT:
        msg = (f"名单人数超过上限：每个订单最多 {MAX_HEADCOUNT} 人 (a roster of {len(workers)} workers; at most "
               f"{MAX_HEADCOUNT} per order: split it into several orders)")
        raise ApiError(422, msg, [Problem("body", "workers", msg)])
    row.workers = [new_worker(w, protector) for w in workers]
    sync_counts(row)
    session.commit()
    return order_detail(row)


def upload_roster(session: Session, user: m.Principal, order_id: int, protector: Protector, settings: Any,
                  data: bytes, filename: str) -> OrderDetail:
    """Replace an order's roster from a CSV/XLSX file, all or nothing (every bad row listed)."""
    visible(session, user, order_id)  # 404 unless the caller may see it
    session.commit()
    try:
        workers, problems = parse_roster(data, filename, settings.max_orders_per_request,
                                         settings.max_upload_unpacked_bytes)
    except InputError as exc:
        raise ApiError(422, f"cannot read {filename}: {exc}", exc.problems) from None
    if problems:
        raise ApiError(422, f"{filename}: {len(problems)} problem(s); the roster was not changed", problems)
    if not workers:
        raise ApiError(422, f"{filename} lists no workers")
    return replace_roster(session, user, order_id, workers, protector)
