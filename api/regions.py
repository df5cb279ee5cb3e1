"""Risk regions as what they are: counties (by code, former code or name) and their dated risk
periods — the service functions that the JSON routes (``api/routes/reference.py``) and the
console's risk regions page (``api/console_regions.py``) both call.

A county is given as a 6-digit code, a former code (淮阳县 411626 → 淮阳区 411603, said so in the
answer), or a name (丹寨县, 丹寨, 贵州省黔东南州丹寨县: read by :func:`planner.network.places.resolve_all`
as an address). Whatever cannot be read as exactly one county is a 422 naming the problem, with the
resolver's suggestions or candidates. A county's periods ({risk, from, until}) are checked one by one
(from before until) and against each other (no two overlap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from planner.contract import Location, Region
from planner.errors import Problem
from planner.read import validation_problems

from . import models as m
from . import reference as ref
from .errors import ApiError

#: display fields a region answer carries beside the contract's; given back in a PUT they are ignored
DISPLAY_FIELDS = ("name", "province", "city", "note")
TYPEAHEAD_LIMIT = 20


class RegionError(ApiError):
    """A refusal about a county or its periods, with its Chinese words for the console."""

    def __init__(self, status: int, zh: str, detail: str, problems: Optional[list[Problem]] = None):
        super().__init__(status, detail, problems)
        self.zh = zh


@dataclass(frozen=True)
class FoundCounty:
    code: str
    name: str
    province: str
    city: str
    note: str = ""  # "淮阳县 (411626) is now 淮阳区 (411603)" when given by a former code or name

    def info(self) -> dict[str, Any]:
        out = {"county": self.code, "name": self.name, "province": self.province, "city": self.city}
        if self.note:
            out["note"] = self.note
        return out

    @property
    def label(self) -> str:
        """丹寨县 (522636) 贵州省黔东南苗族侗族自治州"""
        return f"{self.name} ({self.code}) {_where(self.province, self.city)}"


def _where(province: str, city: str) -> str:
    return province + (city if city and city != province else "")


def county_info(code: str) -> dict[str, Any]:
    """The name, province and city of a stored county code (blank when the table lacks it)."""
    from planner.network.places import counties  # noqa: PLC0415

    c = counties().get(code)
    if c is None:
        return {"county": code, "name": "", "province": "", "city": ""}
    return {"county": c.code, "name": c.name, "province": c.province, "city": c.city}


def county_label(code: str) -> str:
    info = county_info(code)
    if not info["name"]:
        return code
    return f"{info['name']} ({code}) {_where(info['province'], info['city'])}"


def find_county(text: Any, where: str = "county") -> FoundCounty:
    """The county ``text`` names (code, former code or name), else :class:`RegionError` 422."""
    from planner.network.places import PlaceError, counties, resolve_all  # noqa: PLC0415

    written = "" if text is None else str(text).strip()
    if written.endswith(".0") and written[:-2].isdigit():
        written = written[:-2]
    if not written:
        raise RegionError(422, "未填写区县", "no county given: a 6-digit code or a name (丹寨县)",
                          [Problem(where, "county", "no county given")])
    if written.isdigit():
        if len(written) != 6:
            near = sorted(c for c in counties() if c.startswith(written))[:5] if len(written) < 6 else []
            hint = f" — did you mean {', '.join(county_label(c) for c in near)}?" if near else ""
            msg = f"county code {written!r} has {len(written)} digits, not 6{hint}"
            raise RegionError(422, "区县代码应为6位数字", msg, [Problem(where, "county", msg)])
        loc = Location(county=written)
    else:
        loc = Location(address=written)
    res = resolve_all([loc])[0]
    if isinstance(res, PlaceError) or res.county is None:
        msg = str(res) if isinstance(res, PlaceError) else f"{written!r} is no county"
        zh = "区县不唯一" if "ambiguous" in msg else "未知区县"
        detail = f"unknown county: {msg}" if zh == "未知区县" and "unknown county" not in msg else msg
        raise RegionError(422, zh, detail,
                          [Problem(where, "county", msg)])
    c = counties()[res.county]
    return FoundCounty(c.code, c.name, c.province, c.city, res.note)


def search_counties(q: str, limit: int = TYPEAHEAD_LIMIT) -> list[dict[str, Any]]:
    """Counties for a typeahead: by code prefix (today's or a former code) or by name — names
    starting with ``q`` first, then names holding it, then province/city + name."""
    from planner.network.places import changes, counties  # noqa: PLC0415

    text = (q or "").strip()
    table = counties()
    limit = max(1, min(limit, TYPEAHEAD_LIMIT))
    picked: list[str] = []

    def add(codes: Any) -> None:
        for code in codes:
            if code not in picked and code in table:
                picked.append(code)

    if not text:
        add(sorted(table)[:limit])
    elif text.isdigit():
        add(sorted(c for c in table if c.startswith(text)))
        add(changes()[c].new_code for c in sorted(changes()) if c.startswith(text))
    else:
        add(sorted(c for c, v in table.items() if v.name.startswith(text)))
        add(sorted(c for c, v in table.items() if text in v.name))
        add(sorted(c for c, v in table.items() if text in _where(v.province, v.city) + v.name))
        add(changes()[c].new_code for c, ch in sorted(changes().items()) if text in ch.old_name)
    out = []
    for code in picked[:limit]:
        c = table[code]
        out.append({"code": c.code, "name": c.name, "province": c.province, "city": c.city,
                    "label": f"{c.name} ({c.code}) {_where(c.province, c.city)}"})
    return out


# ------------------------------------------------------------------ periods


def _ordered(rows: list[m.Region]) -> list[m.Region]:
    far = datetime.min.replace(tzinfo=ref.SHANGHAI)
    return sorted(rows, key=lambda r: (r.valid_from or far, r.id or 0))


def county_rows(session: Session, code: str) -> list[m.Region]:
    return _ordered(list(session.scalars(select(m.Region).where(m.Region.county == code))))


def region_out(row: m.Region, with_id: bool = False) -> dict[str, Any]:
    """A stored period as the contract has it, with the county's name, province and city (and the
    row's id, for the console's forms)."""
    out = ref.region_dict(row)
    info = county_info(row.county)
    got = {"county": row.county, "name": info["name"], "province": info["province"], "city": info["city"],
           **{k: v for k, v in out.items() if k != "county"}}
    if with_id:
        got["id"] = row.id
    return got


def list_regions(session: Session) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(m.Region).order_by(m.Region.county, m.Region.id)))
    by_county: dict[str, list[m.Region]] = {}
    for r in rows:
        by_county.setdefault(r.county, []).append(r)
    return [region_out(r) for code in sorted(by_county) for r in _ordered(by_county[code])]


def _describe(r: Region) -> str:
    def at(t: Optional[datetime]) -> str:
        return t.astimezone(ref.SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else "…"
    return f"{r.risk} {at(r.from_)} – {at(r.until)}"


def check_periods(code: str, items: list[Any], where: str = "body") -> list[Region]:
    """``items`` (objects with risk, from, until) as contract regions of ``code``, each valid and
    no two overlapping; else :class:`RegionError` 422 naming the period(s)."""
    regions: list[tuple[int, Region]] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(at, "", "a period is an object {risk, from, until}"))
            continue
        data = {k: v for k, v in item.items() if k not in (*DISPLAY_FIELDS, "id", "county")}
        try:
            regions.append((i, Region.model_validate({**data, "county": code})))
        except ValidationError as exc:
            problems += validation_problems(exc, at, model=Region)
    if problems:
        p = problems[0]
        raise RegionError(422, "风险时段有误", f"invalid risk period {p.where}: {p.field}: {p.message}", problems)
    problems += overlaps(regions, where)
    if problems:
        raise RegionError(422, "风险时段重叠", f"overlapping risk periods of county {code}: {problems[0].message}",
                          problems)
    return [r for _, r in regions]


def overlaps(regions: list[tuple[int, Region]], where: str = "body") -> list[Problem]:
    """Pairs of periods of one county that overlap (until is exclusive: one may start when another ends)."""
    lo = datetime.min.replace(tzinfo=ref.SHANGHAI)
    hi = datetime.max.replace(tzinfo=ref.SHANGHAI)
    out = []
    items = sorted(regions, key=lambda ir: (ir[1].county, ir[1].from_ or lo))
    for (i, a), (j, b) in zip(items, items[1:]):
        if a.county == b.county and (b.from_ or lo) < (a.until or hi):
            first, second = sorted([(i, a), (j, b)], key=lambda x: x[0])
            out.append(Problem(f"{where}[{second[0]}]", "from",
                               f"period {second[0] + 1} ({_describe(second[1])}) overlaps period {first[0] + 1} "
                               f"({_describe(first[1])})"))
    return out


def _store(session: Session, who: m.Principal, code: str, regions: list[Region], action: str) -> None:
    with ref.tracked(session, who, "region", [code], action):
        session.execute(delete(m.Region).where(m.Region.county == code))
        session.add_all([ref.region_row(r) for r in regions])


def set_periods(session: Session, who: m.Principal, county: Any, items: list[Any],
                where: str = "body") -> tuple[FoundCounty, list[dict[str, Any]]]:
    """Replace one county's periods with ``items`` (``[]`` clears them), recorded in the history;
    the county and its periods as stored."""
    found = find_county(county, "county")
    regions = check_periods(found.code, items, where)
    _store(session, who, found.code, regions, "set" if regions else "delete")
    session.commit()
    return found, [region_out(r) for r in county_rows(session, found.code)]


def current_periods(session: Session, code: str) -> list[dict[str, Any]]:
    """A county's stored periods as period objects (risk, from, until)."""
    return [{k: v for k, v in ref.region_dict(r).items() if k != "county"} for r in county_rows(session, code)]


def add_period(session: Session, who: m.Principal, county: Any, period: dict[str, Any]
               ) -> tuple[FoundCounty, list[dict[str, Any]]]:
    """Add one period to a county's schedule, keeping the others (an overlap is refused)."""
    found = find_county(county)
    _, rows = set_periods(session, who, found.code, [*current_periods(session, found.code), period])
    return found, rows  # with its note when given by a former code or name


def change_period(session: Session, who: m.Principal, county: Any, period_id: int,
                  period: Optional[dict[str, Any]]) -> tuple[FoundCounty, list[dict[str, Any]]]:
    """Replace (or with ``None`` remove) the stored period ``period_id`` of a county, keeping the others."""
    found = find_county(county)
    rows = county_rows(session, found.code)
    if not any(r.id == period_id for r in rows):
        raise RegionError(409, "该时段已被修改", f"county {found.code} has no period {period_id} any more "
                                          f"(changed meanwhile?): reload the page")
    items: list[Any] = []
    for r in rows:
        if r.id != period_id:
            items.append({k: v for k, v in ref.region_dict(r).items() if k != "county"})
        elif period is not None:
            items.append(period)
    return set_periods(session, who, found.code, items)


def delete_schedule(session: Session, who: m.Principal, county: Any) -> FoundCounty:
    """Forget all of a county's periods (404 when it has none)."""
    found = find_county(county)
    if not county_rows(session, found.code):
        raise RegionError(404, "该区县没有风险时段", f"no risk level is set for county {found.code} ({found.name})")
    _store(session, who, found.code, [], "delete")
    session.commit()
    return found


def replace_regions(session: Session, who: m.Principal, items: list[Any]) -> list[dict[str, Any]]:
    """Replace every county's periods with ``items`` (objects with county, risk, from, until), all
    or nothing; each changed county recorded in the history."""
    problems: list[Problem] = []
    by_county: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(Problem(f"body[{i}]", "", "a region is an object {county, risk, from, until}"))
            continue
        try:
            found = find_county(item.get("county"), f"body[{i}]")
        except RegionError as exc:
            problems += exc.problems or []
            continue
        by_county.setdefault(found.code, []).append((i, item))
    regions: list[Region] = []
    for code, entries in by_county.items():
        checked: list[tuple[int, Region]] = []
        for i, item in entries:
            try:
                checked += [(i, r) for r in check_periods(code, [item], f"body[{i}]")]
            except RegionError as exc:
                problems += [Problem(f"body[{i}]", p.field, p.message) for p in exc.problems or []]
        for p in overlaps(checked):
            problems.append(p)
        regions += [r for _, r in checked]
    if problems:
        raise RegionError(422, "风险地区有误", f"{len(problems)} problem(s) in the regions; nothing was changed",
                          problems)
    with ref.tracked(session, who, "region", None, "replace"):
        session.execute(delete(m.Region))
        session.add_all([ref.region_row(r) for r in regions])
    session.commit()
    return list_regions(session)
