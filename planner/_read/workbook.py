"""A scenario as an Excel workbook: one sheet per section (``sites``, ``depots``, ``fleet``,
``orders``; ``regions``, ``policy``, ``scenario``, ``stations``, ``trains`` and ``train_calls``
optional), flat location columns, policy as key/value rows or one header row. A train offer is a
row of ``trains`` (``board_at``/``alight_at`` as comma-separated station ids) and its calls, in
order, the rows of ``train_calls`` (``train``, ``station``, ``arrive``, ``depart``). A sheet of
another name is refused, not ignored."""

from __future__ import annotations

import re
from typing import Any

from ..contract import (
    Policy,
    Scenario,
)
from ..errors import InputError, Problem
from .cells import _CLOCK_PAIR_FIELDS, Row, _cell, _empty, _header_key, _set_path
from .problems import _Item, _Problems, _tag, _validate, _where
from .scenario import _finish
from .tables import _open_workbook, _order_rows, _rows_to_dicts, _sheet_rows

REQUIRED_SHEETS = ("sites", "depots", "fleet", "orders")


OPTIONAL_SHEETS = ("regions", "policy", "scenario", "stations", "trains", "train_calls")


_LOCATION_COLUMNS = {
    "county": "county", "address": "address", "lat": "lat", "latitude": "lat",
    "lon": "lon", "lng": "lon", "longitude": "lon",
}


def _find_sheets(wb) -> dict[str, Any]:
    return {str(name).strip().lower(): wb[name] for name in wb.sheetnames}


def _generic_row(section: str, row: Row) -> dict:
    """A sheet row of sites/depots/fleet/regions as a nested dict (flat location columns)."""
    data: dict = {}
    has_location = section in ("sites", "depots", "stations")
    for header, value in row.items():
        if _empty(value):
            continue
        key = _header_key(header)
        if has_location and key in _LOCATION_COLUMNS:
            path = f"location.{_LOCATION_COLUMNS[key]}"
        elif has_location and key in ("location_name", "location.name"):
            path = "location.name"
        else:
            path = key
        _set_path(data, path, _cell(path.rsplit(".", 1)[-1], value))
    return data


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _key_values(rows: list[list[object]], known: set[str]) -> dict[str, object]:
    """A ``policy``/``scenario`` sheet: key/value rows, or one header row and one value row."""
    rows = [r for r in rows if not all(_empty(c) for c in r)]
    if not rows:
        return {}

    def cells(r: list[object]) -> list[object]:
        out = list(r)
        while out and _empty(out[-1]):
            out.pop()
        return out

    first = cells(rows[0])
    labels = [_header_key(c) if not _empty(c) else "" for c in first]
    header_format = False
    if labels[:2] in (["key", "value"], ["field", "value"], ["name", "value"],
                      ["参数", "值"], ["项目", "值"]):
        rows = rows[1:]
    elif len(first) > 2:
        header_format = True
    elif len(first) == 2 and isinstance(first[1], str) and _header_key(first[1]) in known:
        header_format = True
    elif len(first) == 1 and len(rows) == 2 and len(cells(rows[1])) <= 1:
        header_format = not (isinstance(rows[1][0], str) and _IDENT.match(rows[1][0].strip() or "")
                             and _header_key(rows[1][0]) in known)
    out: dict[str, object] = {}
    if header_format:
        values = list(rows[1]) if len(rows) > 1 else []
        for j, label in enumerate(labels):
            if label:
                out[label] = values[j] if j < len(values) else None
    else:
        for r in rows:
            if _empty(r[0]):
                continue
            out[_header_key(r[0])] = r[1] if len(r) > 1 else None
    return out


def _policy_from_sheet(values: dict[str, object]) -> dict:
    out: dict = {}
    for key, value in values.items():
        if key in _CLOCK_PAIR_FIELDS:
            out[key] = None if _empty(value) else _cell(key, value)
        elif not _empty(value):
            out[key] = _cell(key, value)
    return out


def _train_items(tables: dict[str, list[list[object]]], problems: _Problems) -> list[_Item]:
    """The ``trains`` sheet's offers, each with its calls from ``train_calls`` (in sheet order)."""
    calls: dict[str, list[dict]] = {}
    call_rows: dict[str, list[int]] = {}
    for i, row in enumerate(_rows_to_dicts(tables.get("train_calls", []))):
        if all(_empty(v) for v in row.values()):
            continue
        raw = _generic_row("train_calls", row)
        train = raw.pop("train", None)
        if train is None:
            problems.add("train_calls", i + 2, Problem(f"train_calls row {i + 2}", "train", "required field is missing"))
            continue
        calls.setdefault(str(train), []).append(raw)
        call_rows.setdefault(str(train), []).append(i + 2)
    out: list[_Item] = []
    for i, row in enumerate(_rows_to_dicts(tables.get("trains", []))):
        if all(_empty(v) for v in row.values()):
            continue
        raw = _generic_row("trains", row)
        for key in ("board_at", "alight_at"):
            if isinstance(raw.get(key), str):
                raw[key] = [s.strip() for s in re.split(r"[,，、;\s]+", raw[key]) if s.strip()]
        raw["calls"] = calls.pop(str(raw.get("id")), [])
        item = _Item("trains", i + 2, _where(f"trains row {i + 2}", raw, "trains"), raw)
        _validate(item, problems)
        out.append(item)
    for train in calls:
        first = call_rows[train][0]
        problems.add("train_calls", first, Problem(f"train_calls row {first}", "train",
                                                   f"unknown train {train!r} (no row of sheet 'trains' has this id)"))
    return out


def _load_workbook(data: bytes, filename: str) -> Scenario:
    wb = _open_workbook(data, filename)
    try:
        sheets = _find_sheets(wb)
        missing = [s for s in REQUIRED_SHEETS if s not in sheets]
        if missing:
            found = ", ".join(wb.sheetnames) or "none"
            raise InputError([Problem(filename, "sheet", f"missing sheet {s!r} (sheets found: {found})")
                              for s in missing])
        unknown = [name for name in wb.sheetnames if str(name).strip().lower() not in REQUIRED_SHEETS + OPTIONAL_SHEETS]
        if unknown:
            raise InputError([Problem(filename, "sheet", f"unknown sheet {name!r}: nothing of it would be read "
                                      f"(sheets: {', '.join(REQUIRED_SHEETS + OPTIONAL_SHEETS)})")
                              for name in unknown])
        tables = {name: _sheet_rows(ws) for name, ws in sheets.items()}
    finally:
        wb.close()

    problems = _Problems()
    items: dict[str, list[_Item]] = {}
    for section in ("sites", "depots", "fleet", "regions", "stations"):
        rows = _rows_to_dicts(tables.get(section, []))
        section_items = []
        for i, row in enumerate(rows):
            if all(_empty(v) for v in row.values()):
                continue
            raw = _generic_row(section, row)
            section_items.append(_Item(section, i + 2, _where(f"{section} row {i + 2}", raw, section), raw))
        items[section] = section_items
        for item in section_items:
            _validate(item, problems)

    items["trains"] = _train_items(tables, problems)

    parsed, order_problems = _order_rows(_rows_to_dicts(tables["orders"]), 2, "orders row")
    for row_no, p in order_problems:
        problems.add("orders", row_no, p)
    items["orders"] = []
    for r in parsed:
        items["orders"].append(_Item("orders", r.row, r.where, r.data, r.obj))

    policy = _policy_from_sheet(_key_values(tables.get("policy", []), set(Policy.model_fields)))
    rest: dict = {}
    name_values = _key_values(tables.get("scenario", []), {"name"})
    for key, value in name_values.items():
        if not _empty(value):
            rest[key] = _tag(value) if key == "name" and isinstance(value, (int, float)) else value
    return _finish(items, policy, "policy sheet", rest, "scenario sheet", problems)
