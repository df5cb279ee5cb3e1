"""Read scenarios and order tables, and report *every* problem in them at once.

A scenario comes as a contract-v1 JSON file or as an Excel workbook with one sheet per
section (``sites``, ``depots``, ``fleet``, ``regions``, ``orders``, ``policy`` and optionally
``scenario``). Order tables (CSV or XLSX uploads from HR agencies, English or Chinese headers)
go through :func:`read_table` and :func:`parse_order_rows`; the workbook's ``orders`` sheet
uses the same code path.

Validation never stops at the first mistake: each item is validated on its own, then ids and
references are cross-checked, then all places are resolved in one batch, and finally one
:class:`~planner.errors.InputError` lists each problem with where it is (section, row or index,
item id), which field, and why.

This module imports neither the web layer nor a database.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterable, Optional

from pydantic import BaseModel, TypeAdapter, ValidationError

from .contract import (
    Depot,
    Location,
    Order,
    Policy,
    Region,
    Scenario,
    Site,
    Trip,
    VehicleType,
    as_shanghai,
    driver_pool_problems,
    unknown_field_message,
)
from .errors import InputError, Problem

__all__ = [
    "load_scenario",
    "parse_order_rows",
    "check_orders",
    "read_table",
]

Row = dict[str, object]
#: columns the service adds to uploaded rows for its own bookkeeping (never order fields)
INTERNAL_PREFIX = "_fangang"

#: sheets a workbook must have, and those it may have
REQUIRED_SHEETS = ("sites", "depots", "fleet", "orders")
OPTIONAL_SHEETS = ("regions", "policy", "scenario")
#: sections with an ``id`` that must be unique
_ID_SECTIONS = ("sites", "depots", "fleet", "orders")
_SECTION_RANK = {s: i for i, s in enumerate(
    ("file", "scenario", "sites", "depots", "fleet", "regions", "orders", "policy"))}
_MODELS: dict[str, type[BaseModel]] = {
    "sites": Site, "depots": Depot, "fleet": VehicleType, "regions": Region, "orders": Order,
}
#: top-level scenario keys besides the sections and the policy
_TOP_LEVEL = ("name", "fixed")

# ------------------------------------------------------------------ order table headers

#: canonical order field (dotted path) -> accepted header spellings (compared after
#: :func:`_header_key`: stripped, lower case, spaces and hyphens as underscores)
ORDER_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "order", "order_id", "编号", "订单号", "订单编号", "单号"),
    "agency": ("agency", "中介", "人力资源公司", "机构", "劳务公司", "劳务中介"),
    "origin.county": ("origin.county", "origin_county", "county", "区县", "区县代码", "县",
                      "行政区划代码"),
    "origin.address": ("origin.address", "origin_address", "address", "地址", "家庭住址",
                       "住址"),
    "origin.lat": ("origin.lat", "origin_lat", "lat", "latitude", "纬度"),
    "origin.lon": ("origin.lon", "origin_lon", "lon", "lng", "longitude", "经度"),
    "origin.name": ("origin.name", "origin_name", "name", "地名"),
    "headcount": ("headcount", "人数", "总人数"),
    "cleared": ("cleared", "已筛查", "筛查通过", "已通过", "通过"),
    "failed": ("failed", "未通过", "筛查未通过"),
    "earliest_departure": ("earliest_departure", "最早出发", "最早出发时间"),
    "arrive_by": ("arrive_by", "最晚到达", "最晚到达时间", "到达截止"),
    "site": ("site", "工厂", "厂区", "目的地"),
    "screening_valid_until": ("screening_valid_until", "筛查有效期", "筛查有效至"),
    "note": ("note", "notes", "remark", "remarks", "备注", "说明"),
}
_REQUIRED_ORDER_COLUMNS = ("id", "agency", "site", "headcount", "cleared",
                           "earliest_departure", "arrive_by")
_ORIGIN_COLUMNS = ("origin.county", "origin.address", "origin.lat", "origin.lon")

#: flat location columns of a sheet row -> the ``location`` sub-field (sites, depots)
_LOCATION_COLUMNS = {
    "county": "county", "address": "address", "lat": "lat", "latitude": "lat",
    "lon": "lon", "lng": "lon", "longitude": "lon",
}

#: fields read as text even when a spreadsheet stores them as numbers
_TEXT_FIELDS = {"id", "name", "agency", "site", "depot", "county", "address", "risk"}
_INT_FIELDS = {"headcount", "cleared", "failed", "seats", "count", "intake_per_day",
               "max_pickup_stops", "min_riders_per_trip"}
_DATETIME_FIELDS = {"earliest_departure", "arrive_by", "screening_valid_until",
                    "available_from", "available_until", "from", "until"}
_CLOCK_FIELDS = {"receive_from", "receive_until"}
_CLOCK_PAIR_FIELDS = {"night_rest", "night"}

#: the first word of a model validator's message that names the field it is about
_FIELD_WORDS = {"cleared", "failed", "headcount", "arrive_by", "earliest_departure",
                "available_until", "available_from", "until", "county", "address",
                "lat", "lon"}


def _header_key(header: object) -> str:
    text = str(header).strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


_ORDER_ALIASES: dict[str, str] = {
    _header_key(alias): target for target, aliases in ORDER_HEADERS.items() for alias in aliases
}

# ------------------------------------------------------------------ problem bookkeeping


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


# ------------------------------------------------------------------ cell values


_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})(?:\s*[:：时点]\s*(\d{1,2}))?(?:\s*[:：分]\s*(\d{1,2}))?\s*秒?分?)?$"
)


def _datetime_cell(value: object) -> object:
    """Spreadsheet value for a date-time field: keep datetimes, read common texts and serials."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # an Excel serial day number, not a Unix timestamp
            from openpyxl.utils.datetime import from_excel  # noqa: PLC0415

            return from_excel(value)
        return value
    if isinstance(value, str):
        text = value.strip()
        m = _DATE_TEXT.match(text)
        if m:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            try:
                return datetime(y, mo, d, h, mi, s)
            except ValueError:
                return text
        try:
            serial = float(text)
        except ValueError:
            return text
        return _datetime_cell(serial)
    return value


def _clock_cell(value: object) -> object:
    if isinstance(value, float) and 0 <= value < 1:  # a time stored as a fraction of a day
        minutes = round(value * 24 * 60)
        return time(minutes // 60, minutes % 60)
    return value


def _clock_pair_cell(value: object) -> object:
    """``"02:00-05:00"`` (also ``–``, ``~``, ``至``, ``,``) -> ``["02:00", "05:00"]``."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "none", "null", "-", "无", "否"):
            return None
        parts = [p.strip() for p in re.split(r"\s*(?:-|–|—|~|～|至|到|,|，|/)\s*", text)]
        if len(parts) == 2 and all(parts):
            return parts
    return value


def _cell(field_name: str, value: object) -> object:
    """Normalise one spreadsheet or CSV cell for the field it fills."""
    if isinstance(value, str):
        value = value.strip()
    if field_name in _TEXT_FIELDS:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value
    if field_name in _INT_FIELDS:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace(",", ""))
            except ValueError:
                return value
            return int(number) if number.is_integer() else value
        return value
    if field_name in _DATETIME_FIELDS:
        return _datetime_cell(value)
    if field_name in _CLOCK_FIELDS:
        return _clock_cell(value)
    if field_name in _CLOCK_PAIR_FIELDS:
        return _clock_pair_cell(value)
    return value


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _set_path(target: dict, path: str, value: object) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[parts[-1]] = value


# ------------------------------------------------------------------ order tables


@dataclass
class _OrderRow:
    row: int
    where: str
    data: dict
    ok: bool
    obj: Optional[Order] = None


def _order_rows(rows: list[Row], first_row: int, label: str
                ) -> tuple[list[_OrderRow], list[tuple[int, Problem]]]:
    """Map, normalise and validate order rows; problems come with their row numbers."""
    problems: list[tuple[int, Problem]] = []
    headers: list[object] = []
    for r in rows:
        for h in r:
            if h not in headers:
                headers.append(h)
    mapping: dict[object, str] = {}
    header_row = first_row - 1
    header_where = f"{label} {header_row} (header)"
    unknown: list[str] = []
    for h in headers:
        if h is None or not str(h).strip():
            continue
        key = _header_key(h)
        if str(h).startswith(INTERNAL_PREFIX):
            mapping[h] = str(h)  # the service's own bookkeeping column, not validated
        elif key in _ORDER_ALIASES:
            mapping[h] = _ORDER_ALIASES[key]
        else:
            unknown.append(str(h).strip())
    targets = set(mapping.values())
    missing: set[str] = set()
    for h in unknown:
        spellings = sorted({a for aliases in ORDER_HEADERS.values() for a in aliases})
        close = difflib.get_close_matches(_header_key(h), spellings, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append((header_row, Problem(header_where, h, (
            f"unknown column {h!r}: {hint}an order has only these fields: "
            + ", ".join(sorted(ORDER_HEADERS)) + " (accepted headers: see the documentation)"))))
    if unknown:
        missing.add("__unknown__")  # no row is valid while a column is not understood
    if rows:
        for col in _REQUIRED_ORDER_COLUMNS:
            if col not in targets:
                missing.add(col)
                problems.append((header_row, Problem(
                    header_where, col, "missing required column; accepted headers: "
                    + ", ".join(ORDER_HEADERS[col]))))
        if not targets & set(_ORIGIN_COLUMNS):
            missing.add("origin")
            problems.append((header_row, Problem(
                header_where, "origin",
                "missing origin columns: give county, address, or lat and lon (区县/地址/纬度+经度)")))

    out: list[_OrderRow] = []
    for i, r in enumerate(rows):
        row_no = first_row + i
        if all(_empty(v) for v in r.values()):
            continue
        data: dict = {}
        for h, value in r.items():
            target = mapping.get(h)
            if target is None or _empty(value):
                continue
            _set_path(data, target, _cell(target.rsplit(".", 1)[-1], value))
        where = _where(f"{label} {row_no}", data, "orders")
        found = _cross_problems("orders", data, where)
        order: Optional[Order] = None
        try:
            order = Order.model_validate({k: v for k, v in data.items() if not k.startswith(INTERNAL_PREFIX)})
        except ValidationError as exc:
            valid = False
            found = _unique([p for p in validation_problems(exc, where)
                             if not (p.message == "required field is missing"
                                     and p.field.split(".")[0] in missing)] + found)
        else:
            valid, found = True, []
        problems.extend((row_no, p) for p in found)
        ok = valid and not missing
        out.append(_OrderRow(row_no, where, data, ok, order if ok else None))
    return out, problems


def parse_order_rows(rows: list[Row], *, first_row: int = 2, label: str = "row"
                     ) -> tuple[list[dict], list[Problem]]:
    """Turn table rows (English or Chinese headers) into contract-v1 order dicts.

    Parameters
    ----------
    rows : list of dict
        One dict per table row, keys are the header texts (as from :func:`read_table`).
        Rows whose cells are all empty are skipped but still counted.
    first_row : int, optional
        The row number (as a spreadsheet shows it) of ``rows[0]``; 2 when row 1 holds the
        headers.
    label : str, optional
        How rows are named in problems, e.g. ``"orders row"`` gives ``orders row 5 (O00004)``.

    Returns
    -------
    orders : list of dict
        The rows that are valid orders, as dicts ready for ``Order.model_validate`` (origin
        nested, numbers and dates normalised). Rows with problems are left out.
    problems : list of Problem
        Per row: which field and why (missing required column, not a number, bad date,
        cleared above headcount, ...). Site ids and places are *not* checked here; see
        :func:`check_orders`.

    Notes
    -----
    Headers are matched after stripping white space and ignoring case; accepted spellings
    are listed in :data:`ORDER_HEADERS` (e.g. 编号/订单号, 中介/人力资源公司/机构, 区县/区县代码/县,
    地址/家庭住址, 纬度, 经度, 人数, 已筛查/筛查通过/已通过, 未通过, 最早出发, 最晚到达,
    工厂/厂区/目的地, 筛查有效期/筛查有效至, 备注). A column that is none of these is refused
    (one problem on the header row, with the nearest accepted header).
    """
    parsed, problems = _order_rows(rows, first_row, label)
    return [r.data for r in parsed if r.ok], [p for _, p in problems]


def _site_problems(orders: list[Order], site_ids: set[str], where: list[str]) -> list[Problem]:
    known = ", ".join(sorted(site_ids)) or "none"
    return [Problem(w, "site", f"unknown site {o.site!r} (known sites: {known})")
            for o, w in zip(orders, where) if o.site not in site_ids]


def _place_problems(entries: list[tuple[str, str, Location]]) -> list[Problem]:
    """Resolve ``(where, field prefix, location)`` entries in one batch; report failures."""
    from .places import PlaceError, resolve_all  # noqa: PLC0415 (cpca is heavy)

    if not entries:
        return []
    results = resolve_all([loc for _, _, loc in entries])
    out = []
    for (where, prefix, loc), result in zip(entries, results):
        if isinstance(result, PlaceError):
            kind = "county" if loc.county is not None else "address" if loc.address is not None else ""
            field_name = f"{prefix}.{kind}" if prefix and kind else (prefix or kind)
            out.append(Problem(where, field_name, str(result)))
    return out


def check_orders(orders: list[Order], site_ids: set[str], where: list[str]) -> list[Problem]:
    """Check orders against reference data: known sites and resolvable origins.

    Parameters
    ----------
    orders : list of Order
        Validated orders.
    site_ids : set of str
        The ids of the sites orders may go to.
    where : list of str
        For each order, where it came from (e.g. ``"row 5 (O00004)"``), used in problems.

    Returns
    -------
    list of Problem
        An unknown site (field ``site``), an unknown county code (``origin.county``), or an
        address that names no county (``origin.address``). All origins are resolved in one
        batch.
    """
    if len(where) != len(orders):
        raise ValueError("check_orders: `where` must have one entry per order")
    problems = _site_problems(orders, site_ids, where)
    problems += _place_problems([(w, "origin", o.origin) for o, w in zip(orders, where)])
    return problems


# ------------------------------------------------------------------ tables (CSV, XLSX)


def _decode_csv(data: bytes, filename: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError([Problem(filename, "file", "cannot decode the file as UTF-8 or GBK text")])


def _rows_to_dicts(rows: list[list[object]]) -> list[Row]:
    """Header row + data rows -> dicts; interior empty rows kept (row numbers), trailing dropped."""
    if not rows:
        return []
    headers = [None if _empty(h) else str(h).strip() for h in rows[0]]
    out: list[Row] = []
    for cells in rows[1:]:
        row: Row = {}
        for j, h in enumerate(headers):
            if h is None:
                continue
            value = cells[j] if j < len(cells) else None
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    value = None
            if h in row and row[h] is not None and value is None:
                continue  # a duplicate header keeps the first non-empty value
            row[h] = value
        out.append(row)
    while out and all(_empty(v) for v in out[-1].values()):
        out.pop()
    return out


def _is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def _open_workbook(data: bytes, filename: str):
    import openpyxl  # noqa: PLC0415

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise InputError([Problem(
            filename, "file", f"not an Excel .xlsx workbook ({type(exc).__name__}: {exc})")]
        ) from None
    except Exception as exc:  # openpyxl's own InvalidFileException and parse errors
        raise InputError([Problem(
            filename, "file", f"not an Excel .xlsx workbook ({type(exc).__name__}: {exc})")]
        ) from None


def _sheet_rows(ws) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def read_table(data: bytes, filename: str) -> list[Row]:
    """Read a CSV or XLSX table into one dict per data row.

    Parameters
    ----------
    data : bytes
        The file's content.
    filename : str
        Its name: ``.xlsx``/``.xlsm`` (or zip content) is read as a workbook (first sheet),
        anything else as CSV in UTF-8 (with or without BOM) or, failing that, GBK/GB18030
        as Chinese Excel exports it. The delimiter (``,``, ``;``, tab) is sniffed.

    Returns
    -------
    list of dict
        Keys are the header texts of the first row (stripped), values the cells (``None``
        when empty; CSV cells are text). ``rows[i]`` is the table's row ``i + 2``: empty rows
        inside the table are kept as all-``None`` dicts so row numbers stay right; trailing
        empty rows are dropped.

    Raises
    ------
    InputError
        When the file cannot be decoded or is not a workbook.
    """
    if _is_xlsx(data, filename):
        wb = _open_workbook(data, filename)
        try:
            if not wb.worksheets:
                return []
            return _rows_to_dicts(_sheet_rows(wb.worksheets[0]))
        finally:
            wb.close()
    text = _decode_csv(data, filename)
    first_line = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return _rows_to_dicts(rows)


# ------------------------------------------------------------------ scenarios


def load_scenario(path: str | Path) -> Scenario:
    """Read and fully validate a scenario from a ``.json`` file or an ``.xlsx`` workbook.

    Parameters
    ----------
    path : str or Path
        A contract-v1 JSON file, or a workbook with sheets ``sites``, ``depots``, ``fleet``,
        ``orders`` (required), ``regions``, ``policy`` and ``scenario`` (optional). Sheets
        have one header row and one item per row; a location is given by ``county`` /
        ``address`` / ``lat`` + ``lon`` columns (or ``location.county`` etc.; for orders
        ``origin.county`` or the Chinese headers of :func:`parse_order_rows`). ``policy``
        and ``scenario`` are either key/value rows or one header row and one value row;
        ``night_rest`` is written ``02:00-05:00`` or left empty for none.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    InputError
        Listing every problem found, each with where (``orders[3] (O00004)`` in JSON,
        ``orders row 5 (O00004)`` in a workbook), the field and why: schema errors per item,
        duplicate ids, unknown depots and sites, unknown counties and addresses that name no
        county, malformed JSON (with line and column), a file that is not a workbook or
        lacks a required sheet.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(path.name, "file", f"cannot read file: {exc.strerror or exc}")]
                         ) from None
    if path.suffix.lower() in (".xlsx", ".xlsm") or (
            path.suffix.lower() != ".json" and data[:4] == b"PK\x03\x04"):
        return _load_workbook(data, path.name)
    return _load_json(data, path.name)


def _load_json(data: bytes, filename: str) -> Scenario:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(filename, "file", f"not UTF-8 text (byte {exc.start})")]
                         ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(
            filename, "json", f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
        ) from None
    if not isinstance(doc, dict):
        raise InputError([Problem(filename, "json",
                                  f"a scenario is a JSON object, got {type(doc).__name__}")])
    problems = _Problems()
    items: dict[str, list[_Item]] = {}
    for section in _MODELS:
        raw = doc.get(section, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.add(section, -1, Problem(section, section,
                                              f"expected a list, got {type(raw).__name__}"))
            raw = []
        items[section] = [_Item(section, i, _where(f"{section}[{i}]", r, section), r)
                          for i, r in enumerate(raw)]
        for item in items[section]:
            _validate(item, problems)
    policy = doc.get("policy", {})
    if policy is None:
        policy = {}
    rest = {k: v for k, v in doc.items() if k not in _MODELS and k != "policy"}
    return _finish(items, policy, "policy", rest, "scenario", problems)


def _finish(items: dict[str, list[_Item]], policy_raw: object, policy_where: str,
            rest: dict, scenario_where: str, problems: _Problems) -> Scenario:
    """Validate policy and name, cross-check ids and references, resolve places, build."""
    policy: Optional[Policy] = None
    if not isinstance(policy_raw, dict):
        problems.add("policy", 0, Problem(policy_where, "policy",
                                          f"expected an object, got {type(policy_raw).__name__}"))
    else:
        try:
            policy = Policy.model_validate(policy_raw)
        except ValidationError as exc:
            problems.extend("policy", 0, validation_problems(exc, policy_where, model=Policy))
    for key in rest:
        if key not in _TOP_LEVEL:
            problems.add("scenario", 0, Problem(scenario_where, key, unknown_field_message(Scenario, (key,))))
    fixed = rest.get("fixed")
    if fixed is not None:
        if not isinstance(fixed, list):
            problems.add("scenario", 0, Problem(scenario_where, "fixed", "expected a list of trips"))
        else:
            for i, trip in enumerate(fixed):
                try:
                    Trip.model_validate(trip)
                except ValidationError as exc:
                    problems.extend("scenario", 0, validation_problems(exc, f"fixed[{i}]"))
    if "name" in rest and not isinstance(rest["name"], str):
        problems.add("scenario", 0, Problem(scenario_where, "name",
                                            f"expected text, got {_short(rest['name'])}"))

    # duplicate ids (on raw ids, so an item with another mistake still counts)
    ids: dict[str, set[str]] = {}
    for section in _ID_SECTIONS:
        first: dict[str, str] = {}
        for item in items.get(section, []):
            raw_id = item.raw.get("id") if isinstance(item.raw, dict) else None
            if raw_id is None or isinstance(raw_id, (dict, list, bool)):
                continue
            key = _tag(raw_id)
            if key in first:
                problems.add(section, item.row, Problem(
                    item.where, "id", f"duplicate id {key!r} (first at {first[key]})"))
            else:
                first[key] = item.where
        ids[section] = set(first)

    pools = [it.obj for it in items.get("depots", []) if isinstance(it.obj, Depot)]
    types = [it.obj for it in items.get("fleet", []) if isinstance(it.obj, VehicleType)]
    for text in driver_pool_problems(pools, types):  # type: ignore[arg-type]
        where, fld, message = text.split(": ", 2)
        section = "depots" if where.startswith("depots") else "fleet"
        problems.add(section, 0, Problem(where, fld, message))

    known_depots = ", ".join(sorted(ids["depots"])) or "none"
    for item in items.get("fleet", []):
        vt = item.obj
        if isinstance(vt, VehicleType) and vt.depot not in ids["depots"]:
            problems.add("fleet", item.row, Problem(
                item.where, "depot", f"unknown depot {vt.depot!r} (known depots: {known_depots})"))

    order_items = [it for it in items.get("orders", []) if isinstance(it.obj, Order)]
    by_where = {it.where: it for it in order_items}
    for p in _site_problems([it.obj for it in order_items], ids["sites"],  # type: ignore[misc]
                            [it.where for it in order_items]):
        problems.add("orders", by_where[p.where].row, p)

    # every place in one batch
    entries: list[tuple[str, str, Location]] = []
    owners: list[_Item] = []
    for section, prefix in (("sites", "location"), ("depots", "location")):
        for it in items.get(section, []):
            if it.obj is not None:
                entries.append((it.where, prefix, it.obj.location))  # type: ignore[attr-defined]
                owners.append(it)
    for it in items.get("regions", []):
        region = it.obj
        if isinstance(region, Region):
            try:
                loc = Location(county=region.county)
            except ValidationError as exc:
                problems.extend("regions", it.row, [
                    Problem(it.where, "county", p.message) for p in validation_problems(exc, it.where)])
                continue
            entries.append((it.where, "", loc))
            owners.append(it)
    for it in order_items:
        entries.append((it.where, "origin", it.obj.origin))  # type: ignore[union-attr]
        owners.append(it)
    rows_by_where = {it.where: it for it in owners}
    for p in _place_problems(entries):
        it = rows_by_where[p.where]
        problems.add(it.section, it.row, p)

    if problems:
        raise InputError(problems.sorted())
    try:
        return Scenario.model_validate({
            **rest,
            **{section: [it.obj for it in items.get(section, [])] for section in _MODELS},
            "policy": policy,
        })
    except ValidationError as exc:  # pragma: no cover - every rule is checked above
        raise InputError(validation_problems(exc, scenario_where)) from None


# ------------------------------------------------------------------ workbooks


def _find_sheets(wb) -> dict[str, Any]:
    return {str(name).strip().lower(): wb[name] for name in wb.sheetnames}


def _generic_row(section: str, row: Row) -> dict:
    """A sheet row of sites/depots/fleet/regions as a nested dict (flat location columns)."""
    data: dict = {}
    has_location = section in ("sites", "depots")
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


def _load_workbook(data: bytes, filename: str) -> Scenario:
    wb = _open_workbook(data, filename)
    try:
        sheets = _find_sheets(wb)
        missing = [s for s in REQUIRED_SHEETS if s not in sheets]
        if missing:
            found = ", ".join(wb.sheetnames) or "none"
            raise InputError([Problem(filename, "sheet", f"missing sheet {s!r} (sheets found: {found})")
                              for s in missing])
        tables = {name: _sheet_rows(ws) for name, ws in sheets.items()
                  if name in REQUIRED_SHEETS + OPTIONAL_SHEETS}
    finally:
        wb.close()

    problems = _Problems()
    items: dict[str, list[_Item]] = {}
    for section in ("sites", "depots", "fleet", "regions"):
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
