"""The policy as a form on the console's reference page: each field of :class:`planner.contract.Policy`
with its Chinese label, unit and default; what the coordinator types read into a policy, and what
is wrong with it said in Chinese with the field named (the JSON route's messages are English)."""

from __future__ import annotations

import json
import typing
from datetime import time
from typing import Any, Optional

from pydantic import ValidationError

from planner.contract import Policy

#: field → (label, unit)
LABELS: dict[str, tuple[str, str]] = {
    "occupancy_cap": ("载客率上限", "比例 0–1"),
    "max_pickup_stops": ("最多上车点", "个"),
    "max_ride_hours": ("最长车程", "小时"),
    "max_detour_hours": ("绕行最多多坐", "小时，比直达多；空：不限"),
    "max_detour_share": ("绕行最多多坐比例", "倍，1：至多直达的两倍；空：不限"),
    "boarding_minutes": ("上车用时", "分钟"),
    "alight_minutes": ("下车用时", "分钟"),
    "road_factor": ("道路系数", "倍"),
    "speed_kmh": ("平均车速", "公里/小时"),
    "max_continuous_driving_hours": ("连续驾驶上限", "小时"),
    "night_continuous_driving_hours": ("夜间连续驾驶上限", "小时"),
    "night": ("夜间时段", "时:分 起–止，空：无"),
    "break_minutes": ("休息时长", "分钟"),
    "max_daily_driving_hours": ("每日驾驶上限", "小时"),
    "night_rest": ("夜间停驶时段", "时:分 起–止，空：无"),
    "two_driver_km": ("双驾驶员里程", "公里"),
    "min_riders_per_trip": ("每车次最少乘客", "人"),
    "turnaround_minutes": ("车场周转时间", "分钟"),
    "county_snap_km": ("坐标归县距离", "公里"),
    "depot_warning_km": ("车场距离提醒", "公里"),
    "station_minutes": ("车站衔接时间", "分钟"),
    "feeder_night_exempt_km": ("短途接驳免夜间停驶", "公里"),
    "boarding_hours": ("上车时段", "时:分 起–止，空：任何时间"),
    "worker_hour_cost": ("工人每小时成本", "元/人·小时"),
    "match_blocking_pairs": ("阻塞对上限", "个"),
    "match_priority": ("岗位排序方式", "level 等级 / registration 登记顺序"),
    "subsidy_per_worker": ("每人补贴", "元，或 JSON {中介: 元}"),
    "driving_rules": ("执行驾驶规定", "是/否"),
    "time_rules": ("执行时间规定", "是/否"),
}


def label(name: str) -> str:
    return f"{LABELS.get(name, (name, ''))[0]} {name}"


def _kind(name: str) -> str:
    ann = Policy.model_fields[name].annotation
    args = typing.get_args(ann)
    if ann is bool:
        return "bool"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if typing.get_origin(ann) is typing.Literal:
        return "choice"
    if any(typing.get_args(a) == (time, time) for a in args):
        return "window"
    return "text"


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{str(value[0])[:5]}–{str(value[1])[:5]}"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def rows(stored: dict[str, Any], typed: Optional[dict[str, str]] = None) -> list[dict[str, Any]]:
    """The form's rows: each field's label, unit, default, kind and value (what was typed, when a
    refused form comes back, else the policy in force)."""
    current = Policy.model_validate(stored).model_dump(mode="json")
    out = []
    for name, field in Policy.model_fields.items():
        kind = _kind(name)
        row: dict[str, Any] = {"name": name, "label": LABELS.get(name, (name, ""))[0], "unit": LABELS.get(name, ("", ""))[1],
                               "kind": kind, "default": _show(field.default) or "无", "set": name in stored}
        value = current.get(name)
        if kind == "window":
            pair = [str(v)[:5] for v in value] if value else ["", ""]
            row["from"] = (typed or {}).get(f"{name}.from", pair[0])
            row["until"] = (typed or {}).get(f"{name}.until", pair[1])
        elif kind == "bool":
            row["value"] = (typed or {}).get(name) == "on" if typed is not None else bool(value)
        elif kind == "choice":
            row["value"] = (typed or {}).get(name, value)
            row["choices"] = list(typing.get_args(field.annotation))
        else:
            row["value"] = (typed or {}).get(name, "" if value is None else _show(value))
        out.append(row)
    return out


_WHY = {"greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}", "less_than": "应小于 {lt}",
        "less_than_equal": "应不大于 {le}", "int_parsing": "应为整数", "int_from_float": "应为整数",
        "float_parsing": "应为数字", "literal_error": "应为 {expected} 之一", "bool_parsing": "应为 是/否"}


def read(stored: dict[str, Any], typed: dict[str, str]) -> tuple[Optional[Policy], list[dict[str, str]]]:
    """The policy the form gives (fields left at their default and not set before stay unset), or
    the problems: ``[{"field": "最长车程 max_ride_hours", "message": "应不大于 96（填的是 200）"}]``."""
    problems: list[dict[str, str]] = []
    new = dict(stored)
    defaults = Policy().model_dump(mode="json")
    for name in Policy.model_fields:
        kind = _kind(name)
        try:
            value: Any
            if kind == "window":
                a, b = typed.get(f"{name}.from", "").strip(), typed.get(f"{name}.until", "").strip()
                if not a and not b:
                    value = None
                elif not a or not b:
                    raise ValueError("起止时间都要填（都空：无）")
                else:
                    value = [a, b]
            elif kind == "bool":
                value = typed.get(name) == "on"
            else:
                text = typed.get(name, "").strip()
                if text == "":
                    if kind in ("int", "float", "choice"):
                        new.pop(name, None)  # empty: the default
                        continue
                    value = None
                elif kind == "int":
                    try:
                        value = int(text)
                    except ValueError:
                        raise ValueError(f"应为整数（填的是 {text}）") from None
                elif kind == "float":
                    try:
                        value = float(text)
                    except ValueError:
                        raise ValueError(f"应为数字（填的是 {text}）") from None
                elif name == "subsidy_per_worker" and text.startswith("{"):
                    try:
                        value = json.loads(text)
                    except json.JSONDecodeError:
                        raise ValueError("应为数字或 JSON 对象 {\"中介\": 元}") from None
                elif name == "subsidy_per_worker":
                    try:
                        value = float(text)
                    except ValueError:
                        raise ValueError(f"应为数字（填的是 {text}）") from None
                else:
                    value = text
        except ValueError as exc:
            problems.append({"field": label(name), "message": str(exc)})
            continue
        if name not in stored and _valid_alone(name, value) \
                and Policy.model_validate({name: value}).model_dump(mode="json")[name] == defaults[name]:
            continue  # left at its default: stays unset
        new[name] = value
    try:
        policy = Policy.model_validate(new)
    except ValidationError as exc:
        return None, problems + [_problem(e, new) for e in exc.errors()]
    return (None, problems) if problems else (policy, [])


def _valid_alone(name: str, value: Any) -> bool:
    try:
        Policy.model_validate({name: value})
    except ValidationError:
        return False
    return True


def _problem(err: Any, new: dict[str, Any]) -> dict[str, str]:
    loc = [str(x) for x in err.get("loc", ())]
    name = loc[0] if loc and loc[0] in Policy.model_fields else ""
    if not name:  # a rule across fields: name the fields its message names
        names = [n for n in Policy.model_fields if n in err.get("msg", "")]
        if set(names) >= {"night_continuous_driving_hours", "max_continuous_driving_hours"}:
            return {"field": label("night_continuous_driving_hours"),
                    "message": f"不能超过 {label('max_continuous_driving_hours')}"}
        return {"field": "、".join(label(n) for n in names) or "规则 policy", "message": f"值无效：{err.get('msg', '')}"}
    why = _WHY.get(err.get("type", ""))
    ctx = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in (err.get("ctx") or {}).items()}
    try:
        text = why.format(**ctx) if why else f"值无效：{err.get('msg', '')}"
    except (KeyError, IndexError):
        text = f"值无效：{err.get('msg', '')}"
    if name in new and new[name] is not None:
        text += f"（填的是 {_show(new[name])}）"
    return {"field": label(name), "message": text}
