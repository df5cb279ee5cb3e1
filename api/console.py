"""The web console at ``/``: sign in with an API key; the coordinator's plans (start one, watch its
progress, the plan view: summary and warnings, the map, a timeline of every coach and train, the
unassigned workers by reason, dispatch and re-plan, every download) and risk regions (a county's
level in two clicks); an agency's orders (upload a CSV/XLSX file: every bad row shown, nothing
stored) and its plans with its own boarding list and downloads.

Signed-in state is a signed, HttpOnly, SameSite=Lax cookie (``itsdangerous`` with the service's
secret) holding the principal's id, the language and a CSRF token that every form posts back.
The JSON API keeps its Bearer keys; nothing here changes it. Pages are Jinja2 templates
(``api/templates``) with their styles inline and a few lines of plain script: nothing is fetched
from anywhere but the service.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional, Union

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from planner.contract import SHANGHAI, Scenario, Trip
from planner.labels import PHASES, PURPOSES, REASONS, STATUSES, WARNINGS, detail, field, local, problem, rule, word
from planner.plan_map import layers, to_html

from . import downloads as dl
from . import exports as ex
from . import models as m
from . import orders as orders_svc
from . import plans as plans_svc
from . import publish as pb
from . import reference as ref
from .errors import ApiError, problem_json
from .plans import agency_orders, dispatched, plan_document, seen
from .printouts import trip_sheets
from .publish import agency_may_read, in_force
from .schemas import PlanIn
from .security import hash_api_key
from .stored import StoredPlan, boarded, county_label, partial_trips

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# the contract's codes as people read them: {{ u.reason|reason(lang) }}, purposes, statuses
templates.env.filters["reason"] = lambda code, lang="zh": word(REASONS, str(code), lang)
templates.env.filters["purpose"] = lambda code, lang="zh": word(PURPOSES, str(code), lang)
templates.env.filters["status"] = lambda code, lang="zh": word(STATUSES, str(code), lang)
templates.env.filters["warning"] = lambda code, lang="zh": word(WARNINGS, str(code), lang)
templates.env.filters["detail"] = lambda text, lang="zh": detail(text, lang)
templates.env.filters["rule"] = lambda code, lang="zh": rule(str(code), lang)
templates.env.filters["problem"] = lambda text, lang="zh": problem(None if text is None else str(text), lang)
templates.env.filters["field"] = lambda name, lang="zh": field(None if name is None else str(name), lang)
COOKIE, MAX_AGE = "fangang_session", 12 * 3600

#: the interface's words, Chinese first
WORDS: dict[str, dict[str, str]] = {
    "zh": {"sign_in": "登录", "key": "API 密钥", "sign_out": "退出", "plans": "计划", "start": "开始计划",
           "time_limit": "时限（秒）", "status": "状态", "progress": "进度", "open": "查看", "summary": "概要",
           "map": "地图", "unassigned": "未安排", "reason": "原因", "detail": "差多少", "count": "人数", "order": "订单",
           "downloads": "下载", "warnings": "提醒", "bad_key": "密钥无效", "boarding": "上车安排",
           "requested": "申请人数", "eligible": "可出行", "planned": "已安排", "by_train": "乘火车",
           "trips": "车次", "coaches": "用车", "km": "公里", "cost": "费用（元）", "bound": "里程 ÷ 下界", "filter": "筛选",
           "none": "无", "lang": "English", "orders": "订单", "file": "文件（CSV/XLSX）", "upload": "上传",
           "stored": "已保存订单", "row": "行", "field": "字段", "why": "原因", "ref": "你的编号", "origin": "区县",
           "site": "工厂", "cleared": "已筛查", "failed": "未通过", "pending": "待筛查", "roster": "名单",
           "regions": "风险地区", "county": "区县代码", "risk": "风险等级", "timeline": "时间线",
           "replan": "重新计划（保留已发车）", "dispatch": "发车", "undispatch": "撤销发车", "cancel": "取消",
           "reference": "基础数据", "replace": "替换全部基础数据（JSON 或 XLSX）", "sites": "工厂", "depots": "车场",
           "fleet": "车辆", "stations": "车站", "trains": "列车", "policy": "规则", "roster_file": "名单文件",
           "posts": "岗位", "workers": "工人", "matching": "岗位匹配", "fill": "按企业和工种", "firm": "企业",
           "trade": "工种", "openings": "岗位数", "matched": "已匹配", "fill_rate": "满岗率", "unmatched": "未匹配",
           "blocking": "阻塞对", "budget": "阻塞对上限", "save": "保存", "replan_match": "重新匹配并计划",
           "post": "岗位", "pickup": "上车点", "boards": "上车时间", "name": "姓名", "report": "中介报表",
           "delivered": "已送达", "subsidy": "补贴", "rate": "每人补贴", "posts_json": "岗位（JSON 列表）",
           "first_choice": "第一志愿比例", "method": "匹配方法", "wage": "月薪", "start_by": "到岗日期",
           "dorm": "住宿", "level": "最低等级", "trades": "工种等级", "choices": "志愿", "phone": "手机",
           "id_number": "身份证号", "worker_file": "工人名单文件（CSV/XLSX）", "prefers": "更想去",
           "departs": "出车时间", "riders": "乘车人数", "drivers": "司机",
           "cost_share": "分摊费用（元）", "lower_bound": "里程下界（公里）",
           "sharp": "整车下界（公里）", "sharp_ratio": "里程 ÷ 整车下界"},
    "en": {"sign_in": "Sign in", "key": "API key", "sign_out": "Sign out", "plans": "Plans", "start": "Start a plan",
           "time_limit": "time limit (s)", "status": "status", "progress": "progress", "open": "open",
           "summary": "Summary", "map": "Map", "unassigned": "Unassigned", "reason": "reason", "count": "count",
           "detail": "nearest miss",
           "order": "order", "downloads": "Downloads", "warnings": "Warnings", "bad_key": "invalid API key",
           "boarding": "Boarding list", "requested": "requested", "eligible": "eligible", "planned": "planned",
           "by_train": "by train", "trips": "trips", "coaches": "coaches", "km": "km", "cost": "cost",
           "bound": "km ÷ bound", "filter": "filter", "none": "none", "lang": "中文", "orders": "Orders",
           "file": "file (CSV/XLSX)", "upload": "Upload", "stored": "orders stored", "row": "row", "field": "field",
           "why": "why", "ref": "your ref", "origin": "county", "site": "site", "cleared": "cleared",
           "failed": "failed", "pending": "pending", "roster": "roster", "regions": "Risk regions",
           "county": "county code", "risk": "risk", "timeline": "Timeline",
           "replan": "Re-plan (keep dispatched trips)", "dispatch": "dispatch", "undispatch": "undo dispatch",
           "cancel": "Cancel", "reference": "Reference data", "replace": "Replace all reference data (JSON or XLSX)",
           "sites": "Sites", "depots": "Depots", "fleet": "Fleet", "stations": "Stations", "trains": "Train offers",
           "policy": "Policy", "roster_file": "roster file",
           "posts": "Posts", "workers": "Workers", "matching": "Matching", "fill": "By firm and trade", "firm": "firm",
           "trade": "trade", "openings": "openings", "matched": "matched", "fill_rate": "fill rate",
           "unmatched": "Not matched", "blocking": "blocking pairs", "budget": "blocking-pair budget", "save": "Save",
           "replan_match": "Re-match and re-plan", "post": "post", "pickup": "pickup", "boards": "boards at",
           "name": "name", "report": "Agency report", "delivered": "delivered", "subsidy": "subsidy",
           "rate": "per worker", "posts_json": "posts (JSON list)", "first_choice": "first choice share",
           "method": "method", "wage": "monthly wage", "start_by": "start by", "dorm": "dorm", "level": "min level",
           "trades": "trades", "choices": "choices", "phone": "phone", "id_number": "ID number",
           "worker_file": "workers file (CSV/XLSX)", "prefers": "prefers",
           "departs": "leaves depot", "riders": "riders", "drivers": "drivers",
           "cost_share": "cost share (yuan)", "lower_bound": "lower bound (km)",
           "sharp": "sharp bound (km)", "sharp_ratio": "km ÷ sharp bound"},
}
DOWNLOADS = (("manifests", "xlsx"), ("manifests", "pdf"), ("train-manifests", "xlsx"), ("schedule", "xlsx"),
             ("dispatch", "pdf"), ("boarding", "xlsx"), ("report", "xlsx"), ("plan", "json"), ("worker-posts", "csv"))


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.protection_key(), salt="fangang-console")


def _state(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            return dict(_signer(request).loads(raw, max_age=MAX_AGE))
        except BadSignature:
            pass
    return {}


def _save(request: Request, response: Response, state: dict[str, Any]) -> Response:
    response.set_cookie(COOKIE, _signer(request).dumps(state), max_age=MAX_AGE, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


def _fresh(state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "csrf": state.get("csrf") or secrets.token_urlsafe(24), "lang": state.get("lang", "zh")}


def _check_csrf(state: dict[str, Any], token: str) -> None:
    if not state.get("csrf") or not hmac.compare_digest(str(state["csrf"]), token or ""):
        raise ApiError(403, "the form is stale or forged (CSRF token mismatch): reload the page")


def _user(request: Request, state: dict[str, Any]) -> Optional[m.Principal]:
    if "who" not in state:
        return None
    with request.app.state.sessions() as session:
        user = session.get(m.Principal, state["who"])
        if user is not None:
            session.expunge(user)
        return user


def _page(request: Request, name: str, state: dict[str, Any], **context: Any) -> Response:
    state = _fresh(state)
    response = templates.TemplateResponse(request, name, {"w": WORDS[state["lang"]], "csrf": state["csrf"],
                                                          "status_words": {k: word(STATUSES, k, state["lang"])
                                                                           for k in STATUSES},
                                                          "phase_words": {k: word(PHASES, k, state["lang"])
                                                                          for k in PHASES},
                                                          "lang": state["lang"], **context})
    return _save(request, response, state)


def _signed_in(request: Request) -> tuple[dict[str, Any], m.Principal]:
    state = _state(request)
    user = _user(request, state)
    if user is None:
        raise _ToSignIn()
    return state, user


def _form(request: Request, csrf: str, role: str, refusal: str) -> tuple[dict[str, Any], m.Principal]:
    """A form's sender: signed in, the form's CSRF token right, of ``role`` (else 403 ``refusal``)."""
    state, user = _signed_in(request)
    _check_csrf(state, csrf)
    if user.role != role:
        raise ApiError(403, refusal)
    return state, user


class _ToSignIn(Exception):
    """Not signed in: the page sends the browser to the sign-in form."""


@router.get("/", response_class=HTMLResponse)
def home(request: Request, lang: Optional[str] = None) -> Response:
    state = _state(request)
    if lang in WORDS:
        state["lang"] = lang
    if _user(request, state) is not None:
        return _save(request, RedirectResponse("/console", status_code=303), _fresh(state))
    return _page(request, "sign_in.html", state, error=None)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, key: str = Form(""), csrf: str = Form("")) -> Response:
    state = _state(request)
    _check_csrf(state, csrf)
    with request.app.state.sessions() as session:
        user = session.scalar(select(m.Principal).where(m.Principal.key_hash == hash_api_key(key.strip())))
    if user is None:
        return _page(request, "sign_in.html", state, error=WORDS[state.get("lang", "zh")]["bad_key"])
    state = {"who": user.id, "lang": state.get("lang", "zh"), "csrf": secrets.token_urlsafe(24)}  # a new session
    return _save(request, RedirectResponse("/console", status_code=303), state)


@router.post("/sign-out")
def sign_out(request: Request, csrf: str = Form("")) -> Response:
    state = _state(request)
    _check_csrf(state, csrf)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/console", response_class=HTMLResponse)
def console(request: Request) -> Response:
    state, user = _signed_in(request)
    with request.app.state.sessions() as session:
        jobs = list(session.scalars(select(m.PlanJob).order_by(m.PlanJob.id.desc()).limit(50)))
        current = in_force(session)
        versions = {p.plan_id: p.version for p in session.scalars(select(m.Publication).order_by(m.Publication.version))}
        rows = []
        for job in jobs:
            if user.role == "agency" and (job.status != "done" or not agency_may_read(session, job, user)):
                continue
            rows.append({"id": job.id, "version": versions.get(job.id),
                         "in_force": current is not None and current.plan_id == job.id,
                         "status": job.status, "phase": job.phase, "fraction": job.fraction or 0.0,
                         "status_label": word(STATUSES, job.status, state["lang"]),
                         "phase_label": word(PHASES, job.phase or "", state["lang"]),
                         "created": local(job.created_at),  # Asia/Shanghai, as the park reads clocks
                         "planned": (job.result or {}).get("summary", {}).get("workers_planned")
                         if user.role == "coordinator" else None})
    return _page(request, "console.html", state, user=user, plans=rows)


@router.post("/console/plans")
def start_plan(request: Request, time_limit: float = Form(30.0), csrf: str = Form("")) -> Response:
    state, user = _form(request, csrf, "coordinator", "only a park coordinator may start a plan")
    with request.app.state.sessions() as session:
        plan_id = plans_svc.start_job(session, user, request.app.state.settings, PlanIn(time_limit=time_limit)).id
    request.app.state.runner.wake()
    return RedirectResponse(f"/console/plans/{plan_id}", status_code=303)


def _job(request: Request, plan_id: int, user: m.Principal) -> m.PlanJob:
    with request.app.state.sessions() as session:
        job = session.get(m.PlanJob, plan_id)
        if job is None:
            raise ApiError(404, f"no plan {plan_id}")
        if user.role == "agency" and not agency_may_read(session, job, user):
            raise ApiError(404, f"no plan {plan_id}")  # not the plan in force, or another agency's: not even its existence
        session.expunge(job)
        return job


@router.get("/console/plans/{plan_id}/status.json")
def status(request: Request, plan_id: int) -> Response:
    _, user = _signed_in(request)
    job = _job(request, plan_id, user)
    return JSONResponse({"status": job.status, "phase": job.phase, "fraction": job.fraction or 0.0,
                         "best_cost": job.best_cost if user.role == "coordinator" else None})


@router.get("/console/plans/{plan_id}", response_class=HTMLResponse)
def plan_view(request: Request, plan_id: int) -> Response:
    state, user = _signed_in(request)
    job = _job(request, plan_id, user)
    context: dict[str, Any] = {"user": user, "job": job, "downloads": DOWNLOADS, "map_svg": None, "timeline": None}
    if job.status == "done" and job.result is not None:
        with request.app.state.sessions() as session:
            doc = plan_document(job, dispatched(session, plan_id))
        # the plan, typed, as every part of the page reads it (an agency: its own cut of it)
        full_stored = StoredPlan.from_document(job.id, doc, seen(job))
        stored = full_stored
        coordinator = user.role == "coordinator"
        if not coordinator:
            stored = full_stored.for_agency(user.id)
        else:
            page = to_html(layers(Scenario.model_validate(seen(job)["scenario"]), stored.plan, stored.order_labels()))
            at = page.index('<svg id="map"')
            context["map_svg"] = page[at:page.index("</svg>", at) + 6]
            context["filters"] = page[page.index("<header>") + 8:page.index("</header>")]
            context["script"] = page[page.index("<script>") + 8:page.index("</script>")]
            context["timeline"] = timeline(stored)
            context["trip_rows"] = trip_rows(stored)
        context.update(stored=stored, summary=stored.plan.summary if coordinator else None,
                       agency_summary=stored.agency_summary, reasons=stored.reasons(),
                       unassigned=stored.unassigned_rows(state["lang"], with_agency=coordinator),
                       warnings=stored.plan.warnings,
                       boarding=ex.boarding_rows(full_stored, agency_orders(seen(job), user.id))
                       if not coordinator else [])
        context.update(_match_context(request, job, doc, full_stored, user))
        context.update(_publish_context(request, job, user))
        context["print_trips"] = trip_sheets(stored)  # the print view: a page per trip
    elif job.status == "failed" and job.violations and user.role == "coordinator":
        context["violations"] = [{"rule": v.get("rule", ""), "label": rule(v.get("rule", ""), state["lang"]),
                                  "trip": v.get("trip") or "", "message": v.get("message", "")}
                                 for v in job.violations[:200]]
    return _page(request, "plan.html", state, **context)


def _match_context(request: Request, job: m.PlanJob, doc: dict[str, Any], stored: StoredPlan,
                   user: m.Principal) -> dict[str, Any]:
    """The plan view's match and move part (the same service functions as the JSON routes): the
    match by firm and trade, unmatched by reason, blocking pairs and their budget (coordinators),
    each of the agency's workers with post and boarding (agencies), and the agency report with the
    subsidy."""
    from . import matching as mt  # noqa: PLC0415

    out: dict[str, Any] = {"matching": None, "my_workers": [], "pairs": []}
    view = seen(job)
    scope = agency_orders(view, user.id) if user.role == "agency" else None
    rep = ex.report(stored, scope)
    out["agency_report"] = rep["agencies"]
    if not (doc.get("matches") or doc.get("unmatched") or job.snapshot["scenario"].get("posts")):
        return out
    if user.role == "agency":
        out["matching"] = mt.matching_view(job.snapshot, doc, user.id)
        out["my_workers"] = mt.worker_rows(doc, job.snapshot, user.id)
    else:
        out["matching"] = mt.matching_view(job.snapshot, doc)
        if len(job.snapshot["scenario"].get("workers", [])) <= 5000:
            try:
                out["pairs"] = mt.blocking_pair_rows(job.snapshot, doc, limit=100)
            except Exception:  # noqa: BLE001  (the page shows the count from the plan then)
                out["pairs"] = []
        with request.app.state.sessions() as session:
            out["budget_now"] = ref.policy_dict(session).get("match_blocking_pairs", 0)
    return out


@router.get("/console/plans/{plan_id}/files/{name}.{fmt}")
def download(request: Request, plan_id: int, name: str, fmt: str) -> Response:
    """The plan's outputs for the signed-in user, as the JSON API gives them (same scope rules)."""
    _, user = _signed_in(request)
    _job(request, plan_id, user)
    protector = request.app.state.protector
    with request.app.state.sessions() as session:
        if (name, fmt) == ("plan", "json"):
            return dl.plan_json(session, plan_id, user).response()
        if fmt == "pdf" and name in ("manifests", "dispatch"):
            if name == "manifests":
                return dl.manifests_pdf(session, plan_id, user, protector).response()
            if user.role != "coordinator":
                raise ApiError(403, "the dispatch sheets are the park coordinator's")
            return dl.dispatch_pdf(session, plan_id).response()
        if name == "notify" and fmt in ("csv", "xlsx"):
            return dl.notify(session, plan_id, fmt, user).response()
        if name == "schedule":
            if user.role != "coordinator":
                raise ApiError(403, "the operators' schedule is the park coordinator's")
            if fmt not in ("csv", "xlsx"):
                raise ApiError(404, f"no download {name}.{fmt}")
            return dl.schedule(session, plan_id, fmt).response()
        if name not in _FILES or fmt not in ("csv", "xlsx", "json") \
                or (fmt == "json" and name not in ("report", "worker-posts")):
            raise ApiError(404, f"no download {name}.{fmt}")
        out = _FILES[name](session, plan_id, fmt, user, protector)
        return JSONResponse(out) if isinstance(out, dict) else out.response()


#: the console's downloads by name (the same service functions as the JSON routes)
_FILES: dict[str, Any] = {
    "manifests": lambda s, p, f, u, pr: dl.manifests(s, p, f, u, pr),
    "train-manifests": lambda s, p, f, u, pr: dl.train_manifests(s, p, f, u, pr),
    "boarding": lambda s, p, f, u, pr: dl.boarding(s, p, f, u),
    "report": lambda s, p, f, u, pr: dl.report(s, p, f, u),
    "worker-posts": lambda s, p, f, u, pr: dl.worker_posts(s, p, f, u)}


# ------------------------------------------------------------------ the timeline


def _sh(when: Optional[datetime]) -> Optional[datetime]:
    """A plan's time in Asia/Shanghai."""
    return when.astimezone(SHANGHAI) if when is not None else None


def _trip_facts(trip: Trip, site_of: dict[str, str]) -> dict[str, Any]:
    """What a coordinator reads of a trip: where it picks up (county names), when it leaves the
    depot, how many board, the sites (by name, and their ids for the filters), the day of its first
    boarding (as the map's day filter has it)."""
    stops = trip.stops
    pickups = [s for s in stops if s.kind == "pickup"]
    origins = list(dict.fromkeys(s.place.name or s.place.county or s.place.id or "" for s in pickups))
    leave = next((_sh(s.depart) for s in stops if s.kind == "depart" and s.depart), None)
    first = next((_sh(s.depart or s.arrive) for s in pickups), None)
    orders = {ld.order for s in stops for ld in s.board + s.alight}
    sites = sorted({site_of[o] for o in orders if site_of.get(o)})
    names = list(dict.fromkeys(s.place.name or s.place.id or "" for s in stops if s.kind == "drop"))
    labels = list(dict.fromkeys(county_label(s.place.name, s.place.county) or s.place.id or "" for s in pickups))
    return {"origins": [o for o in origins if o], "origin_labels": [o for o in labels if o],
            "leave": leave, "first": first, "sites": sites,
            "site_names": [n for n in names if n], "day": first.date().isoformat() if first else "",
            "riders": sum(boarded(s) for s in stops)}


def trip_rows(stored: StoredPlan) -> list[dict[str, Any]]:
    """The plan view's trip table: origins, departure (Asia/Shanghai), riders, sites, coach,
    drivers, purpose, ref and whether dispatched, sorted by departure."""
    site_of = stored.site_of()
    rows = []
    for trip in stored.trips:
        f = _trip_facts(trip, site_of)
        rows.append({"trip": trip, "id": trip.id, "ref": stored.ref(trip) or "", "dispatched": trip.dispatched,
                     "origins": "、".join(f["origin_labels"]),
                     "departs": f["leave"].strftime("%m-%d %H:%M") if f["leave"] else "",
                     "riders": f["riders"], "sites": ", ".join(f["site_names"]), "coach": ex.coach(trip),
                     "drivers": "、".join(trip.drivers or []), "crew": trip.crew,
                     "purpose": trip.purpose,
                     "key": (f["leave"] or f["first"] or datetime.max.replace(tzinfo=SHANGHAI), trip.id)})
    return sorted(rows, key=lambda r: r["key"])


def timeline(plan: Union[StoredPlan, dict[str, Any]], trains: Optional[list[dict[str, Any]]] = None,
             orders: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """Rows for the Gantt chart: one per coach (its trips, the gaps between them its rests at the
    depot), in the coaches' order (#1, #2, … #10), and one per train that runs; times as minutes
    from the first event; each bar labelled with its trip (ref or id) and first county, and
    carrying the day and sites the map's filters use.

    ``plan`` is a stored plan (its trains and orders are the scenario's unless given) or a partial
    plan document (trips and train loads; read by :func:`api.stored.partial_trips`)."""
    if isinstance(plan, StoredPlan):
        trips, loads = plan.trips, plan.plan.train_loads
        site_of = plan.site_of() if orders is None else {o["id"]: o.get("site", "") for o in orders}
        trains = plan.scenario.get("trains", []) if trains is None else trains
    else:
        trips, loads = partial_trips(plan)
        site_of = {o["id"]: o.get("site", "") for o in orders or []}
    # row key, row name, id, start, end, kind, title, label, day, sites
    spans: list[tuple[tuple[Any, ...], str, str, datetime, datetime, str, str, str, str, str]] = []
    for trip in trips:
        times = [x for s in trip.stops for x in (_sh(s.arrive), _sh(s.depart)) if x is not None]
        if times:
            f = _trip_facts(trip, site_of)
            name = StoredPlan.ref(trip) or trip.id
            spans.append(((0, trip.vehicle_type, trip.bus), ex.coach(trip), trip.id, min(times), max(times),
                          trip.purpose, f"{name} {trip.purpose}{' ✓' if trip.dispatched else ''}",
                          f"{name} {f['origins'][0] if f['origins'] else ''}".strip(), f["day"], " ".join(f["sites"])))
    riders = Counter[str]()
    for r in loads:
        riders[r.train] += r.count
    for tr in trains or []:
        if riders.get(tr["id"]):
            start, end = _iso(tr["calls"][0].get("depart")), _iso(tr["calls"][-1].get("arrive"))
            if start and end:
                name = tr.get("name") or tr["id"]
                spans.append(((1, name, 0), f"列车 {name}", tr["id"], start, end, "train",
                              f"{name} · {riders[tr['id']]} riders", name, start.date().isoformat(), ""))
    if not spans:
        return {"rows": [], "days": [], "width": 0}
    origin = min(s[3] for s in spans).replace(hour=0, minute=0, second=0, microsecond=0)
    end = max(s[4] for s in spans)
    minutes = int((end - origin).total_seconds() // 60) + 1
    rows: dict[str, list[dict[str, Any]]] = {}
    for _, row, sid, a, b, kind, title, label, day, sites in sorted(spans, key=lambda s: (s[0], s[3])):
        rows.setdefault(row, []).append({"id": sid, "x": int((a - origin).total_seconds() // 60),
                                         "w": max(1, int((b - a).total_seconds() // 60)), "kind": kind,
                                         "label": title, "text": label, "day": day, "sites": sites,
                                         "from": a.strftime("%m-%d %H:%M"), "to": b.strftime("%m-%d %H:%M")})
    days = [{"x": d * 1440, "label": (origin + timedelta(days=d)).strftime("%m-%d")} for d in range(minutes // 1440 + 1)]
    return {"rows": [{"name": k, "spans": v} for k, v in rows.items()], "days": days, "width": minutes}


def _iso(text: Optional[str]) -> Optional[datetime]:
    """A train call's ISO time (the scenario's, as stored) in Asia/Shanghai."""
    return datetime.fromisoformat(text).astimezone(SHANGHAI) if text else None


# ------------------------------------------------------------------ dispatch and re-plan


@router.post("/console/plans/{plan_id}/trips/{trip_id}/dispatch")
def dispatch(request: Request, plan_id: int, trip_id: str, csrf: str = Form(""), undo: str = Form("")) -> Response:
    state, user = _form(request, csrf, "coordinator", "only a park coordinator dispatches trips")
    with request.app.state.sessions() as session:
        plans_svc.set_dispatched(session, plan_id, trip_id, user, on=not undo)
    return RedirectResponse(f"/console/plans/{plan_id}#timeline", status_code=303)


@router.post("/console/plans/{plan_id}/replan")
def replan(request: Request, plan_id: int, time_limit: float = Form(30.0), csrf: str = Form("")) -> Response:
    """A new plan keeping this plan's dispatched trips as they are."""
    state, user = _form(request, csrf, "coordinator", "only a park coordinator may re-plan")
    with request.app.state.sessions() as session:
        new_id = plans_svc.start_job(session, user, request.app.state.settings,
                                     PlanIn(time_limit=time_limit, base_plan=plan_id)).id
    request.app.state.runner.wake()
    return RedirectResponse(f"/console/plans/{new_id}", status_code=303)


@router.post("/console/plans/{plan_id}/cancel")
def cancel(request: Request, plan_id: int, csrf: str = Form("")) -> Response:
    state, user = _form(request, csrf, "coordinator", "only a park coordinator cancels a plan")
    with request.app.state.sessions() as session:
        plans_svc.cancel_job(session, plan_id, user, request.app.state.runner)
    return RedirectResponse(f"/console/plans/{plan_id}", status_code=303)


# ------------------------------------------------------------------ an agency's orders


@router.get("/console/orders", response_class=HTMLResponse)
def orders_page(request: Request, stored: Optional[int] = None) -> Response:
    state, user = _signed_in(request)
    with request.app.state.sessions() as session:
        rows = orders_svc.list_orders(session, user)
    return _page(request, "orders.html", state, user=user, orders=rows, problems=None, message=None, stored=stored)


@router.post("/console/orders/upload", response_class=HTMLResponse)
def upload(request: Request, file: UploadFile, csrf: str = Form("")) -> Response:
    """The file's orders, all or nothing: a bad row shows every problem (row, field, why)."""
    state, user = _form(request, csrf, "agency", "only an HR agency submits orders")
    with request.app.state.sessions() as session:
        try:
            answer = orders_svc.upload_orders(session, user, request.app.state.protector, request.app.state.settings,
                                              file.file.read(), file.filename or "upload.csv")
        except ApiError as exc:
            session.rollback()
            rows = orders_svc.list_orders(session, user)
            return _page(request, "orders.html", state, user=user, orders=rows, message=exc.detail,
                         problems=[problem_json(p) for p in exc.problems or []], stored=None)
    created = answer.body.get("created", 0)
    return RedirectResponse(f"/console/orders?stored={created}", status_code=303)


@router.post("/console/orders/{order_id}/roster", response_class=HTMLResponse)
def upload_roster(request: Request, order_id: int, file: UploadFile, csrf: str = Form("")) -> Response:
    """Replace an order's roster from a file, all or nothing (every bad row shown)."""
    state, user = _signed_in(request)
    _check_csrf(state, csrf)
    with request.app.state.sessions() as session:
        try:
            orders_svc.upload_roster(session, user, order_id, request.app.state.protector,
                                     request.app.state.settings, file.file.read(), file.filename or "roster.csv")
        except ApiError as exc:
            session.rollback()
            rows = orders_svc.list_orders(session, user)
            return _page(request, "orders.html", state, user=user, orders=rows, message=exc.detail,
                         problems=[problem_json(p) for p in exc.problems or []], stored=None)
    return RedirectResponse("/console/orders", status_code=303)


# ------------------------------------------------------------------ reference data


@router.get("/console/reference", response_class=HTMLResponse)
def reference_page(request: Request) -> Response:
    state, user = _signed_in(request)
    if user.role != "coordinator":
        raise ApiError(403, "reference data is the park coordinator's")
    return _reference_with(request, state, user, None, [])


@router.post("/console/reference", response_class=HTMLResponse)
def replace_reference(request: Request, file: UploadFile, csrf: str = Form("")) -> Response:
    """Replace all reference data from a scenario file (JSON or an .xlsx workbook, orders left
    out): every problem shown, nothing changed unless the whole file is good."""
    from planner.errors import InputError  # noqa: PLC0415
    from planner.read import load_scenario_bytes  # noqa: PLC0415

    state, user = _form(request, csrf, "coordinator", "reference data is the park coordinator's")
    problems: list[dict[str, Any]] = []
    message = None
    try:
        scenario = load_scenario_bytes(file.file.read(), file.filename or "reference.json")
        with request.app.state.sessions() as session:
            ref.replace_reference(session, user, scenario.model_copy(update={"orders": []}))
    except InputError as exc:
        message, problems = f"{file.filename}: {len(exc.problems)} problem(s); nothing was changed", \
            [problem_json(p) for p in exc.problems]
    except ApiError as exc:
        message, problems = exc.detail, [problem_json(p) for p in exc.problems or []]
    if message is None:
        return RedirectResponse("/console/reference", status_code=303)
    return _reference_with(request, state, user, message, problems)


def _reference_with(request: Request, state: dict[str, Any], user: m.Principal, message: Optional[str],
                    problems: list[dict[str, Any]], typed: Optional[dict[str, str]] = None) -> Response:
    from planner.contract import Policy  # noqa: PLC0415

    from . import policy_form  # noqa: PLC0415

    with request.app.state.sessions() as session:
        data = ref.reference_dict(session)
    return _page(request, "reference.html", state, user=user, data=data,
                 policy=Policy.model_validate(data["policy"]).model_dump(mode="json"), policy_set=set(data["policy"]),
                 message=message, problems=problems, policy_rows=policy_form.rows(data["policy"], typed),
                 windows={v["id"]: [_iso(v.get(k)).strftime("%Y-%m-%dT%H:%M") if v.get(k) else ""  # type: ignore[union-attr]
                                    for k in ("available_from", "available_until")] for v in data["fleet"]})


@router.post("/console/reference/fleet/{vehicle_type}/window", response_class=HTMLResponse)
def set_fleet_window(request: Request, vehicle_type: str, available_from: str = Form(""),
                     available_until: str = Form(""), csrf: str = Form("")) -> Response:
    """When a coach type may be used (Asia/Shanghai), through the fleet's service function."""
    from planner.contract import VehicleType  # noqa: PLC0415

    state, user = _form(request, csrf, "coordinator", "reference data is the park coordinator's")
    window: dict[str, str] = {}
    for key, text, name in (("available_from", available_from, "可用起 available_from"),
                            ("available_until", available_until, "可用至 available_until")):
        try:
            window[key] = datetime.fromisoformat(text.strip()).replace(tzinfo=SHANGHAI).isoformat()
        except ValueError:
            return _reference_with(request, state, user, f"{vehicle_type} {name}：应为日期和时间，如 2027-02-11 06:00"
                                   f"（填的是 {text or '空'}）", [])
    if window["available_until"] <= window["available_from"]:
        return _reference_with(request, state, user, f"{vehicle_type} 可用至 available_until：应晚于可用起 "
                               "available_from；未保存", [])
    with request.app.state.sessions() as session:
        row = session.get(m.VehicleType, vehicle_type)
        if row is None:
            raise ApiError(404, f"no vehicle type {vehicle_type!r}")
        try:
            vt = VehicleType.model_validate({**ref.vehicle_dict(row), **window})
            ref.set_vehicle_type(session, user, vehicle_type, vt)
        except (ApiError, ValueError) as exc:
            session.rollback()
            return _reference_with(request, state, user, f"{vehicle_type} 可用时段 available window："
                                   f"{getattr(exc, 'detail', None) or exc}", [])
    return RedirectResponse("/console/reference#fleet", status_code=303)


@router.post("/console/reference/policy-form", response_class=HTMLResponse)
async def set_policy_form(request: Request) -> Response:
    """The policy field by field (the same service function as the JSON route); what is wrong is
    said in Chinese with the field named, and the form comes back as typed."""
    from . import policy_form  # noqa: PLC0415
    typed = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    state, user = _form(request, typed.get("csrf", ""), "coordinator", "reference data is the park coordinator's")
    with request.app.state.sessions() as session:
        stored = ref.policy_dict(session)
    value, problems = policy_form.read(stored, typed)
    if value is None:
        return _reference_with(request, state, user, f"规则有 {len(problems)} 处错误，未保存 (nothing was changed)",
                               [{"where": "规则 policy", **p} for p in problems], typed)
    with request.app.state.sessions() as session:
        ref.set_policy(session, user, value)
    return RedirectResponse("/console/reference#policy", status_code=303)


@router.post("/console/reference/fleet/{vehicle_type}", response_class=HTMLResponse)
def set_fleet_count(request: Request, vehicle_type: str, count: int = Form(...), csrf: str = Form("")) -> Response:
    """A coach type's number of coaches (a dispatched trip's coach stays: refused then)."""
    from planner.contract import VehicleType  # noqa: PLC0415

    state, user = _form(request, csrf, "coordinator", "reference data is the park coordinator's")
    with request.app.state.sessions() as session:
        row = session.get(m.VehicleType, vehicle_type)
        if row is None:
            raise ApiError(404, f"no vehicle type {vehicle_type!r}")
        try:
            vt = VehicleType.model_validate({**ref.vehicle_dict(row), "count": count})
            ref.set_vehicle_type(session, user, vehicle_type, vt)
        except (ApiError, ValueError) as exc:
            session.rollback()
            return _reference_with(request, state, user, getattr(exc, "detail", None) or str(exc), [])
    return RedirectResponse("/console/reference#fleet", status_code=303)


@router.post("/console/reference/policy", response_class=HTMLResponse)
def set_policy(request: Request, policy: str = Form(""), csrf: str = Form("")) -> Response:
    """The policy as JSON (fields left out take their defaults); a misspelt field is refused."""
    from pydantic import ValidationError  # noqa: PLC0415

    from planner.contract import Policy  # noqa: PLC0415
    from planner.read import validation_problems  # noqa: PLC0415

    state, user = _form(request, csrf, "coordinator", "reference data is the park coordinator's")
    try:
        value = Policy.model_validate(json.loads(policy or "{}"))
    except json.JSONDecodeError as exc:
        return _reference_with(request, state, user, f"policy: not JSON ({exc.msg}, line {exc.lineno})", [])
    except ValidationError as exc:
        probs = validation_problems(exc, "policy", model=Policy)
        return _reference_with(request, state, user, f"policy: {len(probs)} problem(s); nothing was changed",
                               [problem_json(p) for p in probs])
    with request.app.state.sessions() as session:
        ref.set_policy(session, user, value)
    return RedirectResponse("/console/reference#policy", status_code=303)


# ------------------------------------------------------------------ risk regions


# the risk regions page is api/console_regions.py (installed below)


# ------------------------------------------------------------------ match and move


@router.post("/console/plans/{plan_id}/blocking-budget", response_class=HTMLResponse)
def set_blocking_budget(request: Request, plan_id: int, budget: str = Form(""), csrf: str = Form("")) -> Response:
    """The policy's ``match_blocking_pairs``, saved through the policy route's own function (the
    next plan uses it; the plan view has the re-plan button)."""
    from pydantic import ValidationError  # noqa: PLC0415

    from planner.contract import Policy  # noqa: PLC0415
    from planner.read import validation_problems  # noqa: PLC0415

    state, user = _form(request, csrf, "coordinator", "only a park coordinator sets the blocking-pair budget")
    _job(request, plan_id, user)
    with request.app.state.sessions() as session:
        current = ref.policy_dict(session)
        try:
            value = Policy.model_validate({**current, "match_blocking_pairs": budget.strip() or 0})
        except ValidationError as exc:
            probs = validation_problems(exc, "policy", model=Policy)
            return _page(request, "message.html", state, user=user, title=WORDS[state.get("lang", "zh")]["budget"],
                         message=f"policy: {len(probs)} problem(s); nothing was changed",
                         problems=[problem_json(p) for p in probs], back=f"/console/plans/{plan_id}#matching")
        ref.set_policy(session, user, value)
    return RedirectResponse(f"/console/plans/{plan_id}#matching", status_code=303)


@router.get("/console/posts", response_class=HTMLResponse)
def posts_page(request: Request) -> Response:
    state, user = _signed_in(request)
    if user.role != "coordinator":
        raise ApiError(403, "posts are the park coordinator's")
    return _posts_with(request, state, user, None, [], None)


def _posts_with(request: Request, state: dict[str, Any], user: m.Principal, message: Optional[str],
                problems: list[dict[str, Any]], text: Optional[str]) -> Response:
    with request.app.state.sessions() as session:
        posts = ref.posts_list(session)
        sites = {s.id: s.name or s.id for s in session.scalars(select(m.Site).order_by(m.Site.id))}
    by_site: dict[str, list[dict[str, Any]]] = {}
    for p in posts:
        by_site.setdefault(p["site"], []).append(p)
    return _page(request, "posts.html", state, user=user, by_site=by_site, sites=sites, message=message,
                 problems=problems, text=text if text is not None else json.dumps(posts, ensure_ascii=False, indent=1))


@router.post("/console/posts", response_class=HTMLResponse)
async def replace_posts_form(request: Request) -> Response:
    """Replace all posts from JSON (the text box, or an uploaded .json file), all or nothing."""
    form = await request.form()
    csrf, text, upload_ = str(form.get("csrf") or ""), str(form.get("posts") or ""), form.get("file")
    state, user = _form(request, csrf, "coordinator", "posts are the park coordinator's")
    if upload_ is not None and not isinstance(upload_, str):
        data = await upload_.read()
        if data:
            text = data.decode("utf-8-sig", errors="replace")
    try:
        items = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        return _posts_with(request, state, user, f"posts: not JSON ({exc.msg}, line {exc.lineno})", [], text)
    if not isinstance(items, list):
        return _posts_with(request, state, user, "posts: give a JSON list of posts", [], text)
    with request.app.state.sessions() as session:
        try:
            ref.replace_posts(session, items)
        except ApiError as exc:
            session.rollback()
            return _posts_with(request, state, user, exc.detail, [problem_json(p) for p in exc.problems or []], text)
    return RedirectResponse("/console/posts", status_code=303)


@router.get("/console/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> Response:
    """An agency's registered workers (a coordinator: all, masked), each with the post and boarding
    of the latest done plan that has them."""
    return _workers_with(request, *_signed_in(request), None, [])


def _workers_with(request: Request, state: dict[str, Any], user: m.Principal, message: Optional[str],
                  problems: list[dict[str, Any]]) -> Response:
    from . import matching as mt  # noqa: PLC0415

    with request.app.state.sessions() as session:
        rows = mt.list_workers(session, user, request.app.state.protector, None, 20000, 0)
        latest = None
        for job in session.scalars(select(m.PlanJob).where(m.PlanJob.status == "done").order_by(m.PlanJob.id.desc())
                                   .limit(20)):
            if job.snapshot.get("workers") and (user.role == "coordinator" or agency_may_read(session, job, user)):
                latest = job
                break
        placed: dict[str, dict[str, Any]] = {}
        if latest is not None and latest.result is not None:
            doc = plan_document(latest, dispatched(session, latest.id))
            placed = {r["工人 worker"]: r for r in mt.worker_rows(
                doc, latest.snapshot, user.id if user.role == "agency" else None)}
    return _page(request, "workers.html", state, user=user, workers=rows, placed=placed,
                 plan_id=latest.id if latest is not None else None, message=message, problems=problems)


@router.post("/console/workers/upload", response_class=HTMLResponse)
def upload_workers_form(request: Request, file: UploadFile, csrf: str = Form("")) -> Response:
    """Register workers from a file, all or nothing (every bad row shown)."""
    from . import matching as mt  # noqa: PLC0415

    state, user = _form(request, csrf, "agency", "only an HR agency registers workers")
    with request.app.state.sessions() as session:
        try:
            mt.upload_workers(session, user, request.app.state.protector, request.app.state.settings,
                              file.file.read(), file.filename or "workers.csv")
        except ApiError as exc:
            session.rollback()
            return _workers_with(request, state, user, exc.detail, [problem_json(p) for p in exc.problems or []])
    return RedirectResponse("/console/workers", status_code=303)


# ------------------------------------------------------------------ the plan in force and what a re-plan changes


def _publish_context(request: Request, job: m.PlanJob, user: m.Principal) -> dict[str, Any]:
    """The plan view's 现行 in force badge, the stable trip refs for the trip table and the counts of
    its difference from the plan in force (the same service function as ``/v1/plans/{id}/diff``)."""

    out: dict[str, Any] = {"in_force": None, "version": None, "difference": None, "difference_error": None,
                           "refs": {}}
    with request.app.state.sessions() as session:
        current = pb.in_force(session)
        pub = pb.latest_publication(session, job.id)
        out["version"] = pub.version if pub is not None else None
        out["in_force"] = pb.publication_dict(session, current) if current is not None else None
        try:
            out["difference"] = pb.diff_of(session, job.id, user)
            out["refs"] = out["difference"]["refs"]
        except ApiError as exc:
            out["difference_error"] = exc.detail
            if job.result is not None:
                out["refs"] = pb.stored_refs(job.result)
    return out


@router.post("/console/plans/{plan_id}/publish")
def publish_form(request: Request, plan_id: int, csrf: str = Form("")) -> Response:
    """Publish a done plan as the plan in force (the same function as ``POST /v1/plans/{id}/publish``)."""

    state, user = _form(request, csrf, "coordinator", "only a park coordinator publishes a plan")
    with request.app.state.sessions() as session:
        job = session.get(m.PlanJob, plan_id)
        if job is None:
            raise ApiError(404, f"no plan {plan_id}")
        pb.publish(session, job, user)
    return RedirectResponse(f"/console/plans/{plan_id}", status_code=303)


@router.get("/console/plans/{plan_id}/diff", response_class=HTMLResponse)
def difference_page(request: Request, plan_id: int, base: Optional[int] = None) -> Response:
    """与现行方案对比: trips added, removed, retimed, and every changed boarding (per order and
    rostered worker), with the notify downloads."""

    state, user = _signed_in(request)
    job = _job(request, plan_id, user)
    with request.app.state.sessions() as session:
        try:
            d = pb.diff_of(session, plan_id, user, base if user.role == "coordinator" else None)
            error = None
        except ApiError as exc:
            if exc.status == 404:
                raise
            d, error = None, exc.detail
    from .publish import _CHANGE  # noqa: PLC0415

    return _page(request, "difference.html", state, user=user, job=job, d=d, error=error, base=base,
                 change_words=_CHANGE)


def install(app: Any) -> None:
    """Add the console's pages to ``app`` (and send the signed-out to the sign-in page)."""
    from .console_regions import router as regions_router  # noqa: PLC0415

    app.include_router(router)
    app.include_router(regions_router)

    @app.exception_handler(_ToSignIn)
    async def _to_sign_in(request: Request, exc: _ToSignIn) -> Response:
        return RedirectResponse("/", status_code=303)

    as_json = app.exception_handlers.get(ApiError)

    @app.exception_handler(ApiError)
    async def _console_error(request: Request, exc: ApiError) -> Response:
        """On a console page an error is a page in the reader's language (the API keeps its JSON)."""
        path = request.url.path
        if as_json is not None and not (path.startswith("/console") or path in ("/", "/sign-in", "/sign-out")) \
                or path.endswith(".json"):
            return await as_json(request, exc)
        state = _state(request)
        user = _user(request, state)
        titles = {403: "没有权限 (forbidden)", 404: "找不到 (not found)", 409: "无法完成 (conflict)",
                  422: "输入有误 (invalid input)"}
        response = _page(request, "message.html", state, user=user, title=titles.get(exc.status, "出错了 (error)"),
                         message=exc.detail, problems=[problem_json(p) for p in exc.problems or []],
                         back=request.headers.get("referer") or "/console")
        response.status_code = exc.status
        return response
