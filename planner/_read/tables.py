"""Order tables (CSV or XLSX, English or Chinese headers), as HR agencies upload them: rows read,
columns matched to order fields (an unknown column refused on the header row), every row
validated on its own."""

from __future__ import annotations

import csv
import difflib
import io
import zipfile
from dataclasses import dataclass
from typing import Optional

from pydantic import ValidationError

from ..contract import (
    Order,
)
from ..errors import InputError, Problem
from .cells import Row, _cell, _empty, _header_key, _set_path
from .problems import _cross_problems, _unique, _where, validation_problems

INTERNAL_PREFIX = "_fangang"


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


_ORDER_ALIASES: dict[str, str] = {
    _header_key(alias): target for target, aliases in ORDER_HEADERS.items() for alias in aliases
}


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
        for column in r:
            if column not in headers:
                headers.append(column)
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
    rows: list[list[object]] = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return _rows_to_dicts(rows)
