"""Match and move in the service: posts (coordinators), registered workers (agencies), and what a
plan's match gives people (fill by firm and trade, unmatched by reason, each worker's post and
boarding).

Registered workers go to the planner as contract ``Worker`` s whose ``id`` is the service's id and
whose ``group`` is prefixed with the agency (two agencies' "G1" are two groups); names, ID numbers
and phones stay here (the plan's snapshot keeps them beside the scenario, ID numbers and phones
still encrypted). A plan's matches carry the derived order whose trip or train brings each worker:
:func:`with_matches` adds those orders (owner, roster) to a snapshot so that the boarding lists,
manifests and the report treat them like agencies' own orders.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Optional, Sequence

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.contract import SHANGHAI, Location, Order, Post, Worker
from planner.errors import InputError, Problem
from planner.read import ORDER_HEADERS, validation_problems

from . import models as m
from .bounds import read_upload
from .db import commit_or_409
from .errors import ApiError
from .orders import resolve_county, resolved
from .reference import get_location, set_location
from .schemas import MatchWorkerIn, MatchWorkerOut, MatchWorkersCreated
from .security import Protector, mask_id_number, mask_phone

# ------------------------------------------------------------------ posts


def post_row(post: Post) -> m.Post:
    return m.Post(id=post.id, site=post.site, firm=post.firm, trade=post.trade, min_level=post.min_level,
                  openings=post.openings, monthly_wage=post.monthly_wage, start_by=post.start_by, dorm=post.dorm,
                  extra=post.model_dump(mode="json", exclude_none=True,
                                        exclude={"id", "site", "firm", "trade", "min_level", "openings",
                                                 "monthly_wage", "start_by", "dorm"}))


def post_dict(row: m.Post) -> dict[str, Any]:
    return Post.model_validate({
        **row.extra, "id": row.id, "site": row.site, "firm": row.firm, "trade": row.trade,
        "min_level": row.min_level, "openings": row.openings, "monthly_wage": row.monthly_wage,
        "start_by": row.start_by.astimezone(SHANGHAI), "dorm": row.dorm}).model_dump(mode="json", exclude_none=True)


def check_posts(items: Sequence[Any], sites: set[str]) -> tuple[list[Post], list[Problem]]:
    """Validate a JSON list of posts: each against the contract, ids unique, sites known."""
    posts: list[Post] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    known = ", ".join(sorted(sites)) or "none"
    for i, item in enumerate(items):
        pid = item.get("id") if isinstance(item, dict) else None
        where = f"posts[{i}]" + (f" ({pid})" if isinstance(pid, (str, int)) else "")
        if not isinstance(item, dict):
            problems.append(Problem(where, "", "a post is a JSON object"))
            continue
        try:
            post = Post.model_validate(item)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, where, model=Post))
            continue
        if post.id in seen:
            problems.append(Problem(where, "id", f"duplicate id {post.id!r} (first at {seen[post.id]})"))
            continue
        seen[post.id] = where
        if post.site not in sites:
            problems.append(Problem(where, "site", f"unknown site {post.site!r} (known sites: {known})"))
            continue
        posts.append(post)
    return posts, problems


# ------------------------------------------------------------------ registered workers: rows


def worker_contract(row: m.MatchWorker) -> dict[str, Any]:
    """The worker as a contract-v1 ``Worker`` of a scenario (no name, ID number or phone)."""
    data: dict[str, Any] = {
        "id": str(row.id), "agency": row.agency.name, "origin": get_location(row), "trades": dict(row.trades),
        "choices": list(row.choices), "min_monthly_wage": row.min_monthly_wage,
        "earliest_departure": row.earliest_departure.astimezone(SHANGHAI), "screening": row.screening,
        "screening_valid_until": row.screening_valid_until.astimezone(SHANGHAI) if row.screening_valid_until else None,
        "gender": row.gender,
        "group": f"{row.agency_id}:{row.group_name}" if row.group_name else None, "signed": row.signed}
    return Worker.model_validate(data).model_dump(mode="json", exclude_none=True)


def worker_out(row: m.MatchWorker, viewer: m.Principal, protector: Protector) -> MatchWorkerOut:
    """The worker as the viewer may see it: ID number and phone in full for its own agency only."""
    own = viewer.role == "agency" and viewer.id == row.agency_id
    origin = get_location(row).model_dump(exclude_none=True)
    res = resolved(row.resolved_county)
    if res is not None:
        origin["resolved"] = res
    return MatchWorkerOut(
        id=str(row.id), ref=row.ref, agency=row.agency.name, name=row.name,
        id_number=protector.open(row.id_number_enc) if own else row.id_number_masked,
        phone=protector.open(row.phone_enc) if own else row.phone_masked,
        origin=origin, trades=dict(row.trades), choices=list(row.choices), min_monthly_wage=row.min_monthly_wage,
        earliest_departure=row.earliest_departure, screening=row.screening,  # type: ignore[arg-type]
        screening_valid_until=row.screening_valid_until, gender=row.gender, group=row.group_name,
        signed=row.signed, created_at=row.created_at)


def new_worker(worker: Worker, item: MatchWorkerIn, agency: m.Principal, protector: Protector) -> m.MatchWorker:
    row = m.MatchWorker(
        agency_id=agency.id, agency=agency, ref=item.id, name=item.name,
        id_number_enc=protector.seal(item.id_number), id_number_masked=mask_id_number(item.id_number),
        phone_enc=protector.seal(item.phone), phone_masked=mask_phone(item.phone),
        trades=dict(worker.trades), choices=list(worker.choices), min_monthly_wage=worker.min_monthly_wage,
        earliest_departure=worker.earliest_departure, screening=worker.screening,
        screening_valid_until=worker.screening_valid_until, gender=worker.gender, group_name=item.group,
        signed=worker.signed)
    set_location(row, worker.origin)
    row.resolved_county = resolve_county(worker.origin)
    return row


def prepare_workers(items: Sequence[MatchWorkerIn], agency: str, posts: set[str],
                    labels: Optional[Sequence[str]] = None, stored: Optional[dict[str, int]] = None
                    ) -> tuple[list[Worker], list[Problem]]:
    """Validate registered workers of ``agency`` as contract workers: every problem, with where it is
    (ids unique in the submission and among the agency's stored workers, choices and signed posts
    known, origins found)."""
    from planner.network.places import PlaceError, resolve_all  # noqa: PLC0415

    labels = list(labels) if labels is not None else [f"workers[{i}]" for i in range(len(items))]
    known = ", ".join(sorted(posts)) or "none"
    workers: list[Worker] = []
    wheres: list[str] = []
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for item, label in zip(items, labels):
        where = f"{label} ({item.id})" if item.id else label
        if item.id is not None:
            if item.id in first:
                problems.append(Problem(where, "id", f"duplicate id {item.id!r} (first at {first[item.id]})"))
            elif stored and item.id in stored:
                problems.append(Problem(where, "id", f"your agency already has a worker {item.id!r} (worker "
                                                     f"{stored[item.id]}): delete it first, or give a new id"))
            first.setdefault(item.id, where)
        data = item.model_dump(exclude={"name", "id_number", "phone", "agency", "id", "group"})
        data.update(id=item.id or label, agency=agency, group=item.group)
        try:
            worker = Worker.model_validate(data)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, where, model=Worker))
            continue
        bad = [c for c in worker.choices if c not in posts]
        if bad:
            problems.append(Problem(where, "choices", f"unknown post(s) {', '.join(map(repr, bad))} (known posts: {known})"))
        if worker.signed is not None and worker.signed not in posts:
            problems.append(Problem(where, "signed", f"unknown post {worker.signed!r} (known posts: {known})"))
        workers.append(worker)
        wheres.append(where)
    if workers:
        for w, where, got in zip(workers, wheres, resolve_all([w.origin for w in workers])):
            if isinstance(got, PlaceError):
                kind = "county" if w.origin.county is not None else "address" if w.origin.address is not None else ""
                problems.append(Problem(where, f"origin.{kind}" if kind else "origin", str(got)))
    problems.sort(key=lambda p: row_of(p.where))
    return workers, problems


def row_of(where: str) -> tuple[int, int]:
    mm = re.search(r"\brow (\d+)|\[(\d+)\]", where)
    return (int(mm.group(1) or mm.group(2)), 0) if mm else (0, 0)


# ------------------------------------------------------------------ registered workers: uploads


def _key(header: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(header).strip().lower())


WORKER_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "工号", "人员编号", "你的编号"),
    "name": ("name", "姓名", "名字"),
    "id_number": ("id_number", "身份证号", "身份证", "身份证号码", "证件号码"),
    "phone": ("phone", "mobile", "手机", "电话", "手机号", "联系电话"),
    "origin.county": tuple(h for h in ORDER_HEADERS["origin.county"]),
    "origin.address": tuple(h for h in ORDER_HEADERS["origin.address"]),
    "origin.lat": tuple(ORDER_HEADERS["origin.lat"]),
    "origin.lon": tuple(ORDER_HEADERS["origin.lon"]),
    "origin.latlon": ("经纬度", "坐标", "latlon", "lat_lon", "coordinates"),
    "trades": ("trades", "工种", "工种等级", "技能"),
    "choices": ("choices", "志愿", "岗位志愿", "意向岗位"),
    "min_monthly_wage": ("min_monthly_wage", "最低月薪", "期望月薪"),
    "earliest_departure": tuple(ORDER_HEADERS["earliest_departure"]),
    "screening": ("screening", "筛查", "筛查结果", "筛查状态"),
    "screening_valid_until": tuple(ORDER_HEADERS["screening_valid_until"]),
    "gender": ("gender", "sex", "性别"),
    "group": ("group", "同行组", "同行", "组别"),
    "signed": ("signed", "已签约", "签约岗位"),
    "agency": tuple(ORDER_HEADERS["agency"]),
}
_ALIASES = {_key(a): k for k, v in WORKER_HEADERS.items() for a in v}
_SCREENING = {"cleared": "cleared", "已通过": "cleared", "通过": "cleared", "合格": "cleared", "阴性": "cleared",
              "pending": "pending", "待筛查": "pending", "未筛查": "pending", "": "pending",
              "failed": "failed", "未通过": "failed", "不合格": "failed"}
_GENDER = {"男": "male", "女": "female", "male": "male", "female": "female", "m": "male", "f": "female"}
_SPLIT = re.compile(r"\s*[;；,，、/|]\s*|\s+")


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[\sT]+(\d{1,2})(?:\s*[:：时点]\s*(\d{1,2}))?)?\s*分?$")


def _when(value: object) -> object:
    """A date-time cell as Excel or a Chinese office writes it (2027-02-11 08:00, 2027/2/11, 2027年2月11日)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
        from openpyxl.utils.datetime import from_excel  # noqa: PLC0415

        return from_excel(value)
    text = str(value).strip()
    mm = _DATE.match(text)
    if mm:
        y, mo, d, h, mi = (int(g) if g else 0 for g in mm.groups())
        try:
            return datetime(y, mo, d, h, mi)
        except ValueError:
            return text
    return text


def _trades(text: str) -> dict[str, Any]:
    """``SMT操作工:3;焊工:2`` → ``{"SMT操作工": 3, "焊工": 2}`` (a level that is no number is left
    as text, for the validator to name)."""
    out: dict[str, Any] = {}
    for part in re.split(r"\s*[;；,，、|]\s*", text):
        if not part:
            continue
        mm = re.match(r"^(.+?)\s*[:：=]\s*(.*)$", part)
        if not mm:
            raise ValueError(f"{part!r} has no level: write trade:level, e.g. 焊工:2")
        name, level = mm.group(1), mm.group(2).strip()
        out[name.strip()] = int(level) if re.fullmatch(r"\d+", level) else level
    return out


def parse_upload(data: bytes, filename: str, max_rows: int, max_unpacked: int = 64 * 2**20
                 ) -> tuple[list[MatchWorkerIn], list[str], list[Problem], int]:
    """Read a CSV/XLSX of registered workers (English or Chinese headers, see :data:`WORKER_HEADERS`).

    Returns the workers, each one's row label ("row 5"), every problem found (row, field, why) and
    the number of data rows. An agency column is ignored. A screening column's empty cell is
    pending; with no screening column at all, workers are cleared (the contract's default)."""
    rows = read_upload(data, filename, max_rows, max_unpacked)
    if len(rows) > max_rows:
        return [], [], [Problem(filename, "file", f"{len(rows)} rows; at most {max_rows} per upload")], len(rows)
    headers: dict[str, Optional[str]] = {}
    problems: list[Problem] = []
    for r in rows:
        for h in r:
            if h in headers:
                continue
            headers[h] = _ALIASES.get(_key(h))
            if headers[h] is None:
                problems.append(Problem("row 1 (header)", str(h), f"unknown column {h!r}; accepted headers: "
                                        + "; ".join(f"{k}: {'/'.join(v)}" for k, v in WORKER_HEADERS.items())))
    targets = set(headers.values())
    if rows:
        for need in ("name", "earliest_departure"):
            if need not in targets:
                problems.append(Problem("row 1 (header)", need, "missing required column; accepted headers: "
                                        + ", ".join(WORKER_HEADERS[need])))
        if not targets & {"origin.county", "origin.address", "origin.lat", "origin.latlon"}:
            problems.append(Problem("row 1 (header)", "origin", "missing origin columns: give 区县, 地址, 纬度 and "
                                                                "经度, or 经纬度"))
    if problems:
        return [], [], problems, len(rows)
    items: list[MatchWorkerIn] = []
    labels: list[str] = []
    n_rows = 0
    for i, r in enumerate(rows):
        where = f"row {i + 2}"
        raw: dict[str, Any] = {str(headers[h]): v for h, v in r.items() if headers.get(h) and v not in (None, "")}
        raw.pop("agency", None)
        if not raw:
            continue
        n_rows += 1
        rec: dict[str, Any] = {}
        bad = False
        for k, v in raw.items():
            try:
                if k == "id_number" and isinstance(v, float) and abs(v) >= 2 ** 53:
                    raise ValueError("the sheet holds this ID number as a number, which keeps only 15-16 "
                                     "digits: format the column as text and type the numbers again")
                if k in ("id", "name", "id_number", "phone", "group", "signed"):
                    rec[k] = _text(v)
                elif k == "origin.county":
                    rec.setdefault("origin", {})["county"] = _text(v)
                elif k == "origin.address":
                    rec.setdefault("origin", {})["address"] = str(v).strip()
                elif k in ("origin.lat", "origin.lon"):
                    rec.setdefault("origin", {})[k.split(".")[1]] = v
                elif k == "origin.latlon":
                    parts = [p for p in re.split(r"\s*[,，;；\s]\s*", str(v).strip()) if p]
                    if len(parts) != 2:
                        raise ValueError(f"{v!r}: write latitude,longitude, e.g. 34.75,113.62")
                    rec.setdefault("origin", {}).update(lat=parts[0], lon=parts[1])
                elif k == "trades":
                    rec["trades"] = _trades(str(v))
                elif k == "choices":
                    rec["choices"] = [c for c in _SPLIT.split(_text(v)) if c]
                elif k == "min_monthly_wage":
                    rec[k] = str(v).replace(",", "").strip() if isinstance(v, str) else v
                elif k in ("earliest_departure", "screening_valid_until"):
                    rec[k] = _when(v)
                elif k == "screening":
                    word = str(v).strip().lower()
                    if word not in _SCREENING:
                        raise ValueError(f"unknown screening status {v!r} (已通过/待筛查/未通过 or cleared/pending/failed)")
                    rec[k] = _SCREENING[word]
                elif k == "gender":
                    word = str(v).strip().lower()
                    if word not in _GENDER:
                        raise ValueError(f"unknown gender {v!r} (男/女 or male/female)")
                    rec[k] = _GENDER[word]
            except ValueError as exc:
                problems.append(Problem(where, k.replace("origin.latlon", "origin"), str(exc)))
                bad = True
        if "screening" in targets and "screening" not in rec:
            rec["screening"] = "pending"
        if bad:
            continue
        try:
            item = MatchWorkerIn.model_validate(rec)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, where + (f" ({rec['id']})" if rec.get("id") else ""),
                                                model=MatchWorkerIn))
            continue
        items.append(item)
        labels.append(where)
    return items, labels, problems, n_rows


# ------------------------------------------------------------------ a plan's match


def _derived(snapshot: dict[str, Any], result: Optional[dict[str, Any]]) -> tuple[
        list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The orders a plan's matches derived: contract orders, their owners and their rosters."""
    matches = (result or {}).get("matches") or []
    if not matches:
        return [], {}, {}
    scenario = snapshot.get("scenario", {})
    workers = {w["id"]: w for w in scenario.get("workers", [])}
    posts = {p["id"]: p for p in scenario.get("posts", [])}
    people = snapshot.get("workers", {})
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mt in matches:
        if mt["worker"] in workers:
            members[mt["order"]].append(mt)
    orders, owners, rosters = [], {}, {}
    for oid, ms in members.items():
        ws = [workers[mt["worker"]] for mt in ms]
        w0, post = ws[0], posts.get(ms[0]["post"], {})
        earliest = datetime.fromisoformat(w0["earliest_departure"])
        start_by = datetime.fromisoformat(post["start_by"]) if post.get("start_by") else earliest + timedelta(days=1)
        expiries = [w["screening_valid_until"] for w in ws if w.get("screening_valid_until")]
        orders.append(Order(id=oid, agency=w0["agency"], origin=Location.model_validate(w0["origin"]), site=ms[0]["site"],
                            headcount=len(ws), cleared=len(ws), earliest_departure=earliest,
                            arrive_by=max(start_by, earliest + timedelta(minutes=1)),
                            screening_valid_until=min(expiries) if expiries else None
                            ).model_dump(mode="json", exclude_none=True))
        person = people.get(w0["id"], {})
        owners[oid] = {"agency_id": person.get("agency_id"), "agency": w0["agency"], "ref": None, "derived": True}
        rosters[oid] = [{
            "id": w["id"], "worker": w["id"], "post": mt["post"], "name": people.get(w["id"], {}).get("name") or w["id"],
            "id_number": people.get(w["id"], {}).get("id_number"),
            "id_number_masked": people.get(w["id"], {}).get("id_number_masked"),
            "phone": people.get(w["id"], {}).get("phone"), "phone_masked": people.get(w["id"], {}).get("phone_masked"),
            "hometown": None, "screening": "cleared", "screening_valid_until": w.get("screening_valid_until"),
        } for w, mt in zip(ws, ms)]
    return orders, owners, rosters


def with_matches(snapshot: dict[str, Any], result: Optional[dict[str, Any]]) -> dict[str, Any]:
    """``snapshot`` as the outputs see it: the orders the plan's matches derived added (with their
    agency as owner and their matched workers as roster), so that boarding lists, manifests and
    the report cover registered workers like agencies' orders. The stored snapshot is unchanged."""
    orders, owners, rosters = _derived(snapshot, result)
    if not orders:
        return snapshot
    return {**snapshot, "scenario": {**snapshot["scenario"], "orders": [*snapshot["scenario"]["orders"], *orders]},
            "orders": {**snapshot.get("orders", {}), **owners}, "rosters": {**snapshot.get("rosters", {}), **rosters}}


def agency_in_plan(snapshot: dict[str, Any], agency_id: int) -> bool:
    """Whether an agency has orders or registered workers in a plan."""
    return any(o.get("agency_id") == agency_id for o in snapshot.get("orders", {}).values()) or any(
        w.get("agency_id") == agency_id for w in snapshot.get("workers", {}).values())


def subsidy_rate(policy: dict[str, Any], agency: str) -> Optional[float]:
    """Yuan per delivered worker for ``agency`` (policy ``subsidy_per_worker``: one figure or one
    per agency); None when the policy sets none for it."""
    rate = policy.get("subsidy_per_worker")
    if isinstance(rate, dict):
        value = rate.get(agency)
        return float(value) if value is not None else None
    return float(rate) if rate is not None else None


def matching_view(snapshot: dict[str, Any], result: dict[str, Any], agency_id: Optional[int] = None) -> dict[str, Any]:
    """A plan's match: the summary, fill by firm and trade, unmatched by reason (an agency: of its
    own workers), the blocking pairs and the budget."""
    scenario = snapshot.get("scenario", {})
    people = snapshot.get("workers", {})
    mine = None if agency_id is None else {w for w, p in people.items() if p.get("agency_id") == agency_id}
    posts = {p["id"]: p for p in scenario.get("posts", [])}
    matches = [mt for mt in result.get("matches") or [] if mine is None or mt["worker"] in mine]
    unmatched = [u for u in result.get("unmatched") or [] if mine is None or u["worker"] in mine]
    filled: Counter[str] = Counter(mt["post"] for mt in matches)
    fill: dict[tuple[str, str], dict[str, Any]] = {}
    for p in posts.values():
        g = fill.setdefault((p.get("firm", ""), p["trade"]), {"firm": p.get("firm", ""), "trade": p["trade"],
                                                              "posts": 0, "openings": 0, "matched": 0})
        g["posts"] += 1
        g["openings"] += p["openings"]
        g["matched"] += filled.get(p["id"], 0)
    for g in fill.values():
        g["fill_rate"] = round(g["matched"] / g["openings"], 4) if g["openings"] else None
    reasons: Counter[str] = Counter(u["reason"] for u in unmatched)
    summary = (result.get("summary") or {}).get("matching")
    policy = scenario.get("policy", {})
    return {
        "summary": summary if agency_id is None else None,
        "workers": len(people) if mine is None else len(mine),
        "matched": len(matches),
        "fill": sorted(fill.values(), key=lambda g: (g["firm"], g["trade"])),
        "unmatched_by_reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "blocking_pairs": (summary or {}).get("blocking_pairs") if agency_id is None else None,
        "blocking_budget": (summary or {}).get("blocking_budget", policy.get("match_blocking_pairs", 0)),
    }


def blocking_pair_rows(snapshot: dict[str, Any], result: dict[str, Any], limit: int = 200) -> list[dict[str, Any]]:
    """The match's blocking pairs (worker, the post they prefer that would take them), recomputed
    with straight-line roads: a worker and a post each prefer the other to what they got."""
    from planner.contract import Scenario  # noqa: PLC0415
    from planner.match import blocking, compile_match  # noqa: PLC0415

    if not result.get("matches") and not result.get("unmatched"):
        return []
    scenario = Scenario.model_validate({**snapshot["scenario"], "orders": []})
    c = compile_match(scenario)
    index = {w.id: i for i, w in enumerate(c.workers)}
    post_at = {p.id: k for k, p in enumerate(c.posts)}
    assign = {index[mt["worker"]]: post_at[mt["post"]] for mt in result.get("matches") or []
              if mt["worker"] in index and mt["post"] in post_at}
    people = snapshot.get("workers", {})
    got = {mt["worker"]: mt["post"] for mt in result.get("matches") or []}
    rows = []
    for i, k in blocking(c, assign)[:limit]:
        w, p = c.workers[i], c.posts[k]
        rows.append({"worker": w.id, "ref": people.get(w.id, {}).get("ref"), "agency": w.agency,
                     "has": got.get(w.id), "prefers": p.id, "firm": p.firm, "trade": p.trade})
    return rows


WORKER_COLUMNS = ["中介 agency", "工人 worker", "你的编号 your ref", "姓名 name", "岗位 post", "企业 firm", "工种 trade",
                  "月薪 wage", "工厂 site", "上车点 pickup", "上车时间 boarding", "车次 trip", "车辆 coach",
                  "预计到达 arrives", "未匹配原因 not matched because", "说明 detail"]


def worker_rows(doc: dict[str, Any], snapshot: dict[str, Any], agency_id: Optional[int] = None) -> list[dict[str, Any]]:
    """Each registered worker (an agency: its own) with the post they were matched to and where and
    when they board (the pickup of the trip that boards their derived order; for a train, the feeder's
    pickup), or why they have no post or no seat."""
    from .exports import _drop_of, _place, _t, assign_workers, coach, first_boardings  # noqa: PLC0415
    from .stored import StoredPlan  # noqa: PLC0415

    stored = StoredPlan.from_document(0, doc, with_matches(snapshot, doc))
    people = snapshot.get("workers", {})
    posts = {p["id"]: p for p in snapshot["scenario"].get("posts", [])}
    sites = {s["id"]: s.get("name") or s["id"] for s in snapshot["scenario"].get("sites", [])}
    seats = assign_workers(stored)
    boarding: dict[str, dict[str, Any]] = {}
    for trip, i, stop, ld in first_boardings(stored):
        for w in seats.get((trip.id, i, ld.order), []):
            if "worker" in w:
                drop = _drop_of(trip, ld.order)
                boarding[w["worker"]] = {
                    "上车点 pickup": _place(stop.place), "上车时间 boarding": _t(stop.arrive),
                    "车次 trip": trip.id, "车辆 coach": coach(trip),
                    "预计到达 arrives": _t(drop.arrive) if drop else ""}
    short = {u["order"]: u for u in doc.get("unassigned", [])}
    rows = []
    for mt in doc.get("matches") or []:
        person = people.get(mt["worker"], {})
        if agency_id is not None and person.get("agency_id") != agency_id:
            continue
        p = posts.get(mt["post"], {})
        b = boarding.get(mt["worker"])
        u = short.get(mt["order"]) if b is None else None
        rows.append({"中介 agency": person.get("agency", ""), "工人 worker": mt["worker"],
                     "你的编号 your ref": person.get("ref") or "", "姓名 name": person.get("name", ""),
                     "岗位 post": mt["post"], "企业 firm": p.get("firm", ""), "工种 trade": p.get("trade", ""),
                     "月薪 wage": p.get("monthly_wage", ""), "工厂 site": sites.get(mt["site"], mt["site"]),
                     **(b or {}), "未匹配原因 not matched because": u["reason"] if u else "",
                     "说明 detail": (u.get("detail") or "") if u else ""})
    for um in doc.get("unmatched") or []:
        person = people.get(um["worker"], {})
        if agency_id is not None and person.get("agency_id") != agency_id:
            continue
        rows.append({"中介 agency": person.get("agency", ""), "工人 worker": um["worker"],
                     "你的编号 your ref": person.get("ref") or "", "姓名 name": person.get("name", ""),
                     "未匹配原因 not matched because": um["reason"], "说明 detail": um.get("detail") or ""})
    rows.sort(key=lambda r: (r["中介 agency"], int(r["工人 worker"]) if str(r["工人 worker"]).isdigit() else 0))
    return [{c: r.get(c, "") for c in WORKER_COLUMNS} for r in rows]


def snapshot_people(rows: Sequence[m.MatchWorker]) -> dict[str, dict[str, Any]]:
    """Who each registered worker of a plan is (kept beside the scenario, never in it)."""
    return {str(w.id): {"agency_id": w.agency_id, "agency": w.agency.name, "ref": w.ref, "name": w.name,
                        "id_number": w.id_number_enc, "id_number_masked": w.id_number_masked,
                        "phone": w.phone_enc, "phone_masked": w.phone_masked} for w in rows}



# ------------------------------------------------------------------ the workers service (the JSON routes and the console)


def stored_refs(session: Session, agency_id: int, refs: list[Optional[str]]) -> dict[str, int]:
    """Which of ``refs`` the agency's registered workers already have: ref → the service's id."""
    wanted = sorted({r for r in refs if r})
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        out.update(session.execute(select(m.MatchWorker.ref, m.MatchWorker.id).where(
            m.MatchWorker.agency_id == agency_id, m.MatchWorker.ref.in_(wanted[start:start + 500]))).all())  # type: ignore[arg-type]
    return out


def register(session: Session, user: m.Principal, protector: Protector, items: list[MatchWorkerIn],
             labels: Optional[list[str]] = None) -> MatchWorkersCreated:
    """Store an agency's workers, all or nothing (422 listing every problem; 409 when the same ids
    were stored at the same moment)."""
    posts = set(session.scalars(select(m.Post.id)))
    stored = stored_refs(session, user.id, [w.id for w in items])
    session.commit()
    contract, problems = prepare_workers(items, user.name, posts, labels, stored)
    if problems:
        raise ApiError(422, f"{len(problems)} problem(s) in the workers; nothing was stored", problems)
    rows = [new_worker(c, item, user, protector) for c, item in zip(contract, items)]
    session.add_all(rows)
    commit_or_409(session, "another submission stored the same worker ids at the same moment; nothing was "
                           "stored: list your workers and submit again")
    return MatchWorkersCreated(created=len(rows), workers=[worker_out(r, user, protector) for r in rows])


def upload_workers(session: Session, user: m.Principal, protector: Protector, settings: Any, data: bytes,
                   filename: str) -> MatchWorkersCreated:
    """Register workers from a CSV/XLSX file, all or nothing: every bad row listed (row, field, why)."""
    if not data:
        raise ApiError(422, "the file is empty", [Problem(filename, "file", "the file is empty")])
    try:
        items, labels, problems, n_rows = parse_upload(data, filename, settings.max_orders_per_request,
                                                       settings.max_upload_unpacked_bytes)
    except InputError as exc:
        raise ApiError(422, f"cannot read {filename}: {exc}", exc.problems) from None
    if items:  # the rows that read well are checked too: every bad row is named at once
        posts = set(session.scalars(select(m.Post.id)))
        stored = stored_refs(session, user.id, [w.id for w in items])
        session.commit()
        problems = sorted(problems + prepare_workers(items, user.name, posts, labels, stored)[1],
                          key=lambda p: row_of(p.where))
    if problems:
        bad_rows = len({p.where for p in problems})
        raise ApiError(422, f"{filename}: {len(problems)} problem(s) in {bad_rows} row(s) of {n_rows}; "
                            f"nothing was stored", problems)
    if not items:
        raise ApiError(422, f"{filename} has no worker rows", [Problem(filename, "file", "no worker rows")])
    return register(session, user, protector, items, labels)


def list_workers(session: Session, user: m.Principal, protector: Protector, agency: Optional[str] = None,
                 limit: int = 5000, offset: int = 0) -> list[MatchWorkerOut]:
    """Registered workers the caller may see (an agency: its own; a coordinator: all, masked)."""
    q = select(m.MatchWorker).join(m.MatchWorker.agency)
    if user.role == "agency":
        q = q.where(m.MatchWorker.agency_id == user.id)
    elif agency is not None:
        q = q.where(m.Principal.name == agency)
    rows = list(session.scalars(q.order_by(m.MatchWorker.id).limit(limit).offset(offset)))
    return [worker_out(r, user, protector) for r in rows]
