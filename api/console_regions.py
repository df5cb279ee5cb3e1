"""The console's risk regions page (``/console/regions``): counties shown as what they are
(丹寨县 (522636) 贵州省黔东南苗族侗族自治州), a county field with a typeahead (a ``<datalist>`` the
page fills from ``/console/counties.json``, the same search as ``GET /v1/reference/counties``),
each county's dated periods editable one by one, a schedule deleted only after a confirmation
step, and the history of changes. Every change goes through :mod:`api.regions`, the service
functions of the JSON routes; refusals are shown on the page, in Chinese with the English after.
"""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import URL

from . import models as m
from . import reference as ref
from . import regions as rg
from .errors import ApiError, problem_json

router = APIRouter(include_in_schema=False)

#: this page's words (the console's own are in ``api.console.WORDS``)
T: dict[str, dict[str, str]] = {
    "zh": {"county": "区县", "county_hint": "区县名称或代码（丹寨县、522636）", "risk": "风险等级", "from": "开始",
           "until": "结束", "add": "添加时段", "save": "保存", "remove": "删除此时段", "delete_all": "删除全部时段",
           "confirm_title": "确认删除", "confirm": "确认删除全部时段", "back": "返回", "history": "修改记录",
           "when": "时间", "who": "操作人", "what": "内容", "action": "操作", "before": "修改前", "after": "修改后",
           "open": "（不限）", "periods": "个时段", "low": "低", "medium": "中", "high": "高",
           "times": "时间为北京时间（Asia/Shanghai）；结束时刻不含在内。",
           "confirm_text": "将删除以下区县的全部风险时段（该区县恢复为低风险）："},
    "en": {"county": "county", "county_hint": "county name or code (丹寨县, 522636)", "risk": "risk", "from": "from",
           "until": "until", "add": "Add a period", "save": "Save", "remove": "remove this period",
           "delete_all": "delete all periods", "confirm_title": "Confirm deletion", "confirm": "Delete all periods",
           "back": "Back", "history": "History of changes", "when": "when", "who": "who", "what": "what",
           "action": "action", "before": "before", "after": "after", "open": "(open)", "periods": "period(s)",
           "low": "low", "medium": "medium", "high": "high",
           "times": "Times are Beijing time (Asia/Shanghai); until is exclusive.",
           "confirm_text": "This deletes every risk period of this county (it is low risk again):"},
}
_ZH_BY_STATUS = {400: "请求有误", 403: "无权操作", 404: "未找到", 409: "冲突", 422: "输入有误"}
_ACTIONS = {"set": "修改 set", "delete": "删除 delete", "replace": "整体替换 replace"}


def _console() -> Any:
    from . import console  # noqa: PLC0415  (console installs this router)

    return console


def _form(request: Request, csrf: str, role: str, refusal: str) -> tuple[dict[str, Any], m.Principal]:
    got: tuple[dict[str, Any], m.Principal] = _console()._form(request, csrf, role, refusal)
    return got


def _local_input(value: Optional[str]) -> str:
    """An ISO time with +08:00 as a datetime-local input's value: 2027-02-10T08:00."""
    return value[:16] if value else ""


def _period_text(p: dict[str, Any]) -> str:
    def at(v: Optional[str]) -> str:
        return v[:16].replace("T", " ") if v else "…"
    risk = str(p.get("risk", ""))
    word = T["zh"].get(risk, "") if risk in ("low", "medium", "high") else ""
    return f"{word + ' ' if word else ''}{risk} {at(p.get('from'))} – {at(p.get('until'))}"


def _periods_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return "; ".join(_period_text(p) for p in value) or "—"
    return str(value)


def _groups(session: Any) -> list[dict[str, Any]]:
    """Counties with periods, each with its label and its periods (with their row ids)."""
    from sqlalchemy import select  # noqa: PLC0415

    codes = sorted(set(session.scalars(select(m.Region.county))))
    out = []
    for code in codes:
        periods = []
        for row in rg.county_rows(session, code):
            p = rg.region_out(row, with_id=True)
            p["from_input"], p["until_input"] = _local_input(p.get("from")), _local_input(p.get("until"))
            periods.append(p)
        out.append({"code": code, "label": rg.county_label(code), "periods": periods})
    return out


def _history(session: Any) -> list[dict[str, Any]]:
    rows = []
    for h in ref.history(session, "region", None, 50):
        rows.append({**h, "when_text": h["when"][:16].replace("T", " "), "label": rg.county_label(h["key"] or ""),
                     "action_text": _ACTIONS.get(h["action"], h["action"]),
                     "before_text": _periods_text(h["before"]), "after_text": _periods_text(h["after"])})
    return rows


def _render(request: Request, state: dict[str, Any], user: m.Principal, error: Optional[ApiError] = None,
            form: Optional[dict[str, str]] = None, note: Optional[str] = None) -> Response:
    with request.app.state.sessions() as session:
        groups = _groups(session)
        history = _history(session) if user.role == "coordinator" else []
    message = problems = None
    if error is not None:
        zh = getattr(error, "zh", None) or _ZH_BY_STATUS.get(error.status, "出错")
        message = f"{zh} {error.detail}"
        problems = [problem_json(p) for p in error.problems or []]
    lang = state.get("lang", "zh")
    response = _console()._page(request, "regions.html", state, user=user, groups=groups, history=history,
                                error=message, problems=problems, t=T.get(lang, T["zh"]), form=form or {},
                                note=note)
    if error is not None:
        response.status_code = error.status if error.status in _ZH_BY_STATUS else 422
    return response


def _coordinator(request: Request, csrf: str) -> tuple[dict[str, Any], m.Principal]:
    return _form(request, csrf, "coordinator", "only a park coordinator sets risk levels")


def _period(risk: str, from_: str, until: str) -> dict[str, Any]:
    out: dict[str, Any] = {"risk": risk.strip()}
    if from_.strip():
        out["from"] = from_.strip()
    if until.strip():
        out["until"] = until.strip()
    return out


@router.get("/console/regions", response_class=HTMLResponse)
def regions_page(request: Request, note: str = "") -> Response:
    state, user = _console()._signed_in(request)
    return _render(request, state, user, note=f"已按现行区县保存 stored under today's county: {note}" if note else None)


@router.get("/console/counties.json")
def counties_json(request: Request, q: str = "") -> Response:
    """The typeahead of the county field (signed-in users; the same search as ``/v1/reference/counties``)."""
    _console()._signed_in(request)
    return JSONResponse(rg.search_counties(q))


@router.post("/console/regions", response_class=HTMLResponse)
def add_period(request: Request, county: str = Form(""), risk: str = Form("high"), from_: str = Form("", alias="from"),
               until: str = Form(""), csrf: str = Form("")) -> Response:
    """Add a period (risk, from, until; blank: open) to a county given by name or code, keeping
    its other periods; one that overlaps them is refused on the page."""
    state, user = _coordinator(request, csrf)
    with request.app.state.sessions() as session:
        try:
            found, _ = rg.add_period(session, user, county, _period(risk, from_, until))
        except ApiError as exc:
            session.rollback()
            form = {"county": county, "risk": risk, "from": from_, "until": until}
            return _render(request, state, user, exc, form)
    # a former code or name: say which county of today it was stored under
    back = URL("/console/regions")
    return RedirectResponse(str(back.include_query_params(note=found.note) if found.note else back), status_code=303)


@router.post("/console/regions/{county}/periods", response_class=HTMLResponse)
def change_period(request: Request, county: str, period: int = Form(...), risk: str = Form(""),
                  to: str = Form(""), from_: str = Form("", alias="from"), until: str = Form(""),
                  remove: str = Form(""), csrf: str = Form("")) -> Response:
    """Change one period (its risk — ``to`` for the → buttons —, from and until) or remove it,
    keeping the county's other periods. Removing the last one is deleting the schedule: asked first."""
    state, user = _coordinator(request, csrf)
    with request.app.state.sessions() as session:
        try:
            found = rg.find_county(county)
            if remove and len(rg.county_rows(session, found.code)) <= 1:
                session.rollback()  # end the read (SQLite: BEGIN IMMEDIATE) before the page reads again
                return _confirm(request, state, user, found.code)
            rg.change_period(session, user, found.code, period,
                             None if remove else _period(to or risk, from_, until))
        except ApiError as exc:
            session.rollback()
            return _render(request, state, user, exc)
    return RedirectResponse("/console/regions", status_code=303)


def _confirm(request: Request, state: dict[str, Any], user: m.Principal, code: str) -> Response:
    with request.app.state.sessions() as session:
        periods = [rg.region_out(r) for r in rg.county_rows(session, code)]
    lang = state.get("lang", "zh")
    return _console()._page(request, "regions_confirm.html", state, user=user, code=code,
                            label=rg.county_label(code), periods=[_period_text(p) for p in periods],
                            t=T.get(lang, T["zh"]))


@router.post("/console/regions/{county}/delete", response_class=HTMLResponse)
def delete_schedule(request: Request, county: str, confirm: str = Form(""), csrf: str = Form("")) -> Response:
    """Delete all of a county's periods: without ``confirm=yes`` a page asks first (nothing deleted)."""
    state, user = _coordinator(request, csrf)
    with request.app.state.sessions() as session:
        try:
            found = rg.find_county(county)
            if confirm != "yes":
                if not rg.county_rows(session, found.code):
                    rg.delete_schedule(session, user, found.code)  # 404: nothing to delete
                session.rollback()
                return _confirm(request, state, user, found.code)
            rg.delete_schedule(session, user, found.code)
        except ApiError as exc:
            session.rollback()
            return _render(request, state, user, exc)
    return RedirectResponse("/console/regions", status_code=303)
