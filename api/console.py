"""The web console at ``/`` (first part): sign in with an API key, the coordinator's plans (start
one, watch its progress, the plan view: summary and warnings, the map, the unassigned workers by
reason, every download), an agency's plans with its own boarding list and downloads.

Signed-in state is a signed, HttpOnly, SameSite=Lax cookie (``itsdangerous`` with the service's
secret) holding the principal's id, the language and a CSRF token that every form posts back.
The JSON API keeps its Bearer keys; nothing here changes it. Pages are Jinja2 templates
(``api/templates``) with their styles inline and a few lines of plain script: nothing is fetched
from anywhere but the service.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from planner.contract import Plan, Scenario
from planner.plan_map import layers, to_html

from . import exports as ex
from . import models as m
from .errors import ApiError
from .plans import agency_orders, agency_view, dispatched, plan_document
from .schemas import PlanIn
from .security import hash_api_key

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
COOKIE, MAX_AGE = "fangang_session", 12 * 3600

#: the interface's words, Chinese first
WORDS: dict[str, dict[str, str]] = {
    "zh": {"sign_in": "登录", "key": "API 密钥", "sign_out": "退出", "plans": "计划", "start": "开始计划",
           "time_limit": "时限（秒）", "status": "状态", "progress": "进度", "open": "查看", "summary": "概要",
           "map": "地图", "unassigned": "未安排", "reason": "原因", "count": "人数", "order": "订单",
           "downloads": "下载", "warnings": "提醒", "bad_key": "密钥无效", "boarding": "上车安排",
           "requested": "申请人数", "eligible": "可出行", "planned": "已安排", "by_train": "乘火车",
           "trips": "车次", "coaches": "用车", "km": "公里", "cost": "费用", "bound": "下界", "filter": "筛选",
           "none": "无", "lang": "English"},
    "en": {"sign_in": "Sign in", "key": "API key", "sign_out": "Sign out", "plans": "Plans", "start": "Start a plan",
           "time_limit": "time limit (s)", "status": "status", "progress": "progress", "open": "open",
           "summary": "Summary", "map": "Map", "unassigned": "Unassigned", "reason": "reason", "count": "count",
           "order": "order", "downloads": "Downloads", "warnings": "Warnings", "bad_key": "invalid API key",
           "boarding": "Boarding list", "requested": "requested", "eligible": "eligible", "planned": "planned",
           "by_train": "by train", "trips": "trips", "coaches": "coaches", "km": "km", "cost": "cost",
           "bound": "bound", "filter": "filter", "none": "none", "lang": "中文"},
}
DOWNLOADS = (("manifests", "xlsx"), ("train-manifests", "xlsx"), ("schedule", "xlsx"), ("boarding", "xlsx"),
             ("report", "xlsx"), ("plan", "json"))


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
                                                          "lang": state["lang"], **context})
    return _save(request, response, state)


def _signed_in(request: Request) -> tuple[dict[str, Any], m.Principal]:
    state = _state(request)
    user = _user(request, state)
    if user is None:
        raise _ToSignIn()
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
        rows = []
        for job in jobs:
            if user.role == "agency" and (job.status != "done" or not agency_orders(job.snapshot, user.id)):
                continue
            rows.append({"id": job.id, "status": job.status, "phase": job.phase, "fraction": job.fraction or 0.0,
                         "created": job.created_at.strftime("%Y-%m-%d %H:%M"),
                         "planned": (job.result or {}).get("summary", {}).get("workers_planned")
                         if user.role == "coordinator" else None})
    return _page(request, "console.html", state, user=user, plans=rows)


@router.post("/console/plans")
def start_plan(request: Request, time_limit: float = Form(30.0), csrf: str = Form("")) -> Response:
    from .routes.plans import new_job  # noqa: PLC0415

    state, user = _signed_in(request)
    _check_csrf(state, csrf)
    if user.role != "coordinator":
        raise ApiError(403, "only a park coordinator may start a plan")
    with request.app.state.sessions() as session:
        job = new_job(session, user, request.app.state.settings, PlanIn(time_limit=time_limit))
        session.add(job)
        session.commit()
        plan_id = job.id
    request.app.state.runner.wake()
    return RedirectResponse(f"/console/plans/{plan_id}", status_code=303)


def _job(request: Request, plan_id: int, user: m.Principal) -> m.PlanJob:
    with request.app.state.sessions() as session:
        job = session.get(m.PlanJob, plan_id)
        if job is None:
            raise ApiError(404, f"no plan {plan_id}")
        if user.role == "agency" and not agency_orders(job.snapshot, user.id):
            raise ApiError(404, f"no plan {plan_id}")  # another agency's plan: not even its existence
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
    context: dict[str, Any] = {"user": user, "job": job, "downloads": DOWNLOADS, "map_svg": None}
    if job.status == "done" and job.result is not None:
        with request.app.state.sessions() as session:
            doc = plan_document(job, dispatched(session, plan_id))
        if user.role == "agency":
            doc = agency_view(doc, job.snapshot, user.id)
        else:
            page = to_html(layers(Scenario.model_validate(job.snapshot["scenario"]), Plan.model_validate(doc)))
            context["map_svg"] = page[page.index("<svg"):page.index("</svg>") + 6]
            context["filters"] = page[page.index("<header>") + 8:page.index("</header>")]
            context["script"] = page[page.index("<script>") + 8:page.index("</script>")]
        reasons: Counter[str] = Counter()
        for u in doc.get("unassigned", []):
            reasons[u["reason"]] += u["count"]
        context.update(doc=doc, summary=doc.get("summary", {}), reasons=sorted(reasons.items(), key=lambda kv: -kv[1]),
                       unassigned=doc.get("unassigned", []), warnings=doc.get("warnings", []),
                       boarding=ex.boarding_rows(doc, job.snapshot, agency_orders(job.snapshot, user.id))
                       if user.role == "agency" else [])
    return _page(request, "plan.html", state, **context)


@router.get("/console/plans/{plan_id}/files/{name}.{fmt}")
def download(request: Request, plan_id: int, name: str, fmt: str) -> Response:
    """The plan's outputs for the signed-in user, as the JSON API gives them (same scope rules)."""
    from .routes import exports as routes  # noqa: PLC0415
    from .routes.plans import get_plan_json  # noqa: PLC0415

    _, user = _signed_in(request)
    _job(request, plan_id, user)
    protector = request.app.state.protector
    with request.app.state.sessions() as session:
        if (name, fmt) == ("plan", "json"):
            return get_plan_json(plan_id, session, user)
        handlers = {"manifests": lambda: routes.manifests(plan_id, fmt, session, user, protector),  # type: ignore[arg-type]
                    "train-manifests": lambda: routes.train_manifests(plan_id, fmt, session, user, protector),  # type: ignore[arg-type]
                    "boarding": lambda: routes.boarding(plan_id, fmt, session, user),  # type: ignore[arg-type]
                    "report": lambda: routes.report(plan_id, fmt, session, user)}  # type: ignore[arg-type]
        if name == "schedule":
            if user.role != "coordinator":
                raise ApiError(403, "the operators' schedule is the park coordinator's")
            return routes.schedule(plan_id, fmt, session, user)  # type: ignore[arg-type]
        if name not in handlers or fmt not in ("csv", "xlsx", "json"):
            raise ApiError(404, f"no download {name}.{fmt}")
        return handlers[name]()


def install(app: Any) -> None:
    """Add the console's pages to ``app`` (and send the signed-out to the sign-in page)."""
    app.include_router(router)

    @app.exception_handler(_ToSignIn)
    async def _to_sign_in(request: Request, exc: _ToSignIn) -> Response:
        return RedirectResponse("/", status_code=303)
