"""Problem bookkeeping: every problem found, with where (section, row or index, id), the field
and why; pydantic errors turned into problems, with the nearest known name for an unknown field;
checks across an item's fields made on the raw item, so all of its problems come at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Iterable, Optional

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..contract import (
    Depot,
    Order,
    Post,
    Region,
    Site,
    Station,
    TrainOffer,
    VehicleType,
    Worker,
    as_shanghai,
    unknown_field_message,
)
from ..errors import Problem

_SECTION_RANK = {s: i for i, s in enumerate(
    ("file", "scenario", "sites", "depots", "fleet", "regions", "orders", "policy", "stations", "trains",
     "posts", "workers"))}


_MODELS: dict[str, type[BaseModel]] = {
    "sites": Site, "depots": Depot, "fleet": VehicleType, "regions": Region, "orders": Order,
    "stations": Station, "trains": TrainOffer, "posts": Post, "workers": Worker,
}


_ID_SECTIONS = ("sites", "depots", "fleet", "orders", "stations", "trains", "posts", "workers")


_TOP_LEVEL = ("name", "fixed")


_FIELD_WORDS = {"cleared", "failed", "headcount", "arrive_by", "earliest_departure",
                "available_until", "available_from", "until", "county", "address",
                "lat", "lon"}


@dataclass
class _Problems:
    """Problems with a sort key (section rank, row), so the report reads top to bottom."""

    items: list[tuple[tuple[int, int, int], Problem]] = field(default_factory=list)

    def add(self, section: str, row: int, problem: Problem) -> None:
        self.items.append(((_SECTION_RANK.get(section, 99), row, len(self.items)), problem))

    def extend(self, section: str, row: int, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(section, row, p)

    def sorted(self) -> list[Problem]:
        seen: set[tuple[str, str, str]] = set()
        out = []
        for _, p in sorted(self.items, key=lambda kp: kp[0]):
            key = (p.where, p.field, p.message)
            if key not in seen:
                seen.add(key)
                out.append(p)
        return out

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class _Item:
    """One raw item of a section: where it is, its position for sorting, its data."""

    section: str
    row: int
    where: str
    raw: Any
    obj: Optional[BaseModel] = None


def _tag(value: object) -> str:
    """An id for display: numbers without a trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _where(label: str, raw: object, section: str) -> str:
    if isinstance(raw, dict):
        key = "county" if section == "regions" else "id"
        value = raw.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and _tag(value):
            return f"{label} ({_tag(value)})"
    return label


def _loc_text(loc: Iterable[object]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validation_problems(exc: ValidationError, where: str, prefix: str = "",
                        model: Optional[type[BaseModel]] = None) -> list[Problem]:
    """Turn a pydantic :class:`ValidationError` into one :class:`Problem` per error.

    Parameters
    ----------
    exc : ValidationError
        The error raised by ``Model.model_validate``.
    where : str
        Where the item is, e.g. ``"orders[3] (O00004)"``.
    prefix : str, optional
        Prepended to every field path (e.g. ``"policy."``).
    model : pydantic model class, optional
        The model validated; an unknown field is then answered with the nearest known name of
        the right (sub-)model (``ocupancy_cap`` → did you mean ``occupancy_cap``?).

    Returns
    -------
    list of Problem
        The field is the error's ``loc`` as a dotted path; an error of a model validator
        (empty ``loc``, or a whole location) is attributed to the field its message starts
        with, e.g. ``cleared (50) exceeds headcount (40)`` to ``cleared``.
    """
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        kind = err.get("type", "")
        if kind == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        elif kind == "assertion_error" and msg.startswith("Assertion failed, "):
            msg = msg[len("Assertion failed, "):]
        if kind == "value_error" and (not loc or loc[-1] in ("origin", "location")):
            m = re.match(r"[A-Za-z_]+", msg)
            if m and m.group(0) in _FIELD_WORDS:
                loc = loc + (m.group(0),)
        if kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            msg = unknown_field_message(model, loc)
        elif kind != "value_error" and "input" in err:
            value = err["input"]
            if isinstance(value, (str, int, float, bool, date, time)) or value is None:
                msg = f"{msg} (got {_short(value)})"
        path = _loc_text(loc)
        out.append(Problem(where, (prefix + path) if path else (prefix.rstrip(".") or "item"), msg))
    return out


_INT = TypeAdapter(int)


_DT = TypeAdapter(datetime)


def _try(adapter: TypeAdapter, value: object) -> Any:
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _cross_problems(section: str, raw: dict, where: str) -> list[Problem]:
    """Checks across fields that a model validator would only make after all fields pass.

    Run on the raw item so that, e.g., an order with a bad county *and* ``cleared`` above
    ``headcount`` reports both. Messages are the models' own, so duplicates merge.
    """
    out = []
    if section == "orders":
        head, clr = _try(_INT, raw.get("headcount")), _try(_INT, raw.get("cleared"))
        fail = _try(_INT, raw.get("failed", 0))
        if head is not None and clr is not None and head >= 0 and clr >= 0:
            if clr > head:
                out.append(Problem(where, "cleared", f"cleared ({clr}) exceeds headcount ({head})"))
            elif fail is not None and fail >= 0 and clr + fail > head:
                out.append(Problem(where, "cleared", "cleared + failed exceeds headcount"))
        start, end = _try(_DT, raw.get("earliest_departure")), _try(_DT, raw.get("arrive_by"))
        if start is not None and end is not None and as_shanghai(end) <= as_shanghai(start):
            out.append(Problem(where, "arrive_by", "arrive_by must be after earliest_departure"))
    elif section == "fleet":
        start, end = _try(_DT, raw.get("available_from")), _try(_DT, raw.get("available_until"))
        if start is not None and end is not None and as_shanghai(end) <= as_shanghai(start):
            out.append(Problem(where, "available_until",
                               "available_until must be after available_from"))
    elif section == "regions":
        start, end = _try(_DT, raw.get("from")), _try(_DT, raw.get("until"))
        if start is not None and end is not None and as_shanghai(end) <= as_shanghai(start):
            out.append(Problem(where, "until", "until must be after from"))
    return out


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _validate(item: _Item, problems: _Problems) -> None:
    """Validate one item with its section's model; record the model or the problems."""
    model = _MODELS[item.section]
    if not isinstance(item.raw, dict):
        problems.add(item.section, item.row, Problem(
            item.where, "item", f"expected an object, got {type(item.raw).__name__}"))
        return
    found = _cross_problems(item.section, item.raw, item.where)
    try:
        item.obj = model.model_validate(item.raw)
    except ValidationError as exc:
        found = _unique(validation_problems(exc, item.where, model=model) + found)
    else:
        found = []
    problems.extend(item.section, item.row, found)
