"""Bounds a real park never reaches and a mistake or an attacker does, checked before anything is
stored or parsed — so that no input is a 500, and no input makes unbounded work.

* **Integers.** Ids and counts are stored in 32-bit columns (PostgreSQL's ``INTEGER``), so
  :data:`MAX_INT` bounds every integer a request carries: an id in the path beyond it is no such
  thing (404, like any unknown id); any other integer beyond it — a query parameter, a body value,
  a form field — is a 422 naming the field. Fields with a tighter meaning declare it on their
  schema (a headcount, a seed), so the OpenAPI document shows it.
* **Headcount.** :data:`MAX_HEADCOUNT` = 2,000 workers per order: one agency's workers of one
  home place for one site. A large electronics park hires 1,000–3,000 workers *in total* from a
  county after the Spring Festival, through several agencies and orders of tens to a few hundred
  (40 coaches of 50 seats carry 2,000); 10⁹ is a typo or an attack, and would make the next plan's
  solver grow past any memory.
* **Text.** No string may hold a NUL character (PostgreSQL cannot store one) or be longer than
  :data:`MAX_TEXT` characters; addresses, names and notes have tighter limits on their schemas.
* **Files.** A CSV/XLSX upload is measured before it is parsed: an XLSX's unpacked size (the zip's
  directory), its first sheet's rows, row numbers and columns (counted by streaming through the
  sheet's XML, stopping at the first row over the limit), a CSV's records. A 63 KiB workbook that
  unpacks to a million rows is refused after reading its first rows, without openpyxl.

:func:`check_request` applies the integer and text rules to every route (path, query, JSON body,
form fields); :func:`read_upload` applies the file rules and then the text rules to every cell.
"""

from __future__ import annotations

import csv
import io
import re
import typing
import zipfile
from typing import Annotated, Any, Iterable, Optional, TypeVar
from xml.etree import ElementTree

from fastapi import Request
from pydantic import Field
from sqlalchemy.orm import Session

from planner.errors import InputError, Problem

from .errors import ApiError

#: the largest integer stored (PostgreSQL INTEGER, the type of every id and count column)
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
#: workers in one order (see the module's docstring for why)
MAX_HEADCOUNT = 2000
#: the longest string accepted anywhere; tighter limits below
MAX_TEXT = 2000
#: an address (a Chinese postal address is under 100 characters)
MAX_ADDRESS = 500
#: a person's or a place's name, an id or reference
MAX_NAME = 100
MAX_PLACE_NAME = 200
MAX_NOTE = 1000
#: an id in a path (every id column is 100 characters at most)
MAX_PATH_TEXT = 100
#: columns of an uploaded table (an order file has about 15)
MAX_COLUMNS = 200

#: a count of workers (headcount, cleared, failed)
Headcount = Annotated[int, Field(ge=0, le=MAX_HEADCOUNT, description=f"at most {MAX_HEADCOUNT} workers per order")]
#: an integer stored in a 32-bit column
Int32 = Annotated[int, Field(ge=MIN_INT, le=MAX_INT)]
#: a non-negative 32-bit integer (offsets, seeds)
Natural = Annotated[int, Field(ge=0, le=MAX_INT)]

_CONTROL = re.compile(r"[\x00]")

T = TypeVar("T")


def get_by_id(session: Session, model: type[T], ident: int, **kwargs: Any) -> Optional[T]:
    """``session.get`` for an integer id, ``None`` when the id is beyond the database's integers."""
    if not MIN_INT <= ident <= MAX_INT:
        return None
    return session.get(model, ident, **kwargs)


def text_problem(value: str, limit: int = MAX_TEXT) -> Optional[str]:
    """Why ``value`` cannot be stored (a NUL character, too long), or None."""
    if _CONTROL.search(value):
        return "不能含有 NUL 字符 (\\x00): a NUL character cannot be stored"
    if len(value) > limit:
        return f"太长：{len(value)} 个字符，最多 {limit} (too long: {len(value)} characters, at most {limit})"
    return None


def int_problem(value: int) -> Optional[str]:
    if not MIN_INT <= value <= MAX_INT:
        return f"超出范围 (out of range): at most {MAX_INT}" + (f", at least {MIN_INT}" if value < 0 else "")
    return None


def value_problems(data: Any, where: str, field: str = "") -> list[Problem]:
    """Every integer beyond the database's range and every string that cannot be stored, anywhere
    in ``data`` (parsed JSON), named like a pydantic error: ``("body[0]", "workers[2].name")``."""
    out: list[Problem] = []
    stack: list[tuple[Any, str, str]] = [(data, where, field)]
    while stack:
        value, at, name = stack.pop()
        if isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        if isinstance(value, int):
            why = int_problem(value)
        elif isinstance(value, str):
            why = text_problem(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                key = str(k)
                bad_key = text_problem(key, MAX_NAME)
                if bad_key:
                    out.append(Problem(at, _join(name, key[:40]), f"key: {bad_key}"))
                stack.append((v, at, _join(name, key)))
            continue
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if not name and at in ("body", "query", "path", "form"):
                    stack.append((v, f"{at}[{i}]", ""))
                else:
                    stack.append((v, at, f"{name}[{i}]"))
            continue
        else:
            continue
        if why:
            out.append(Problem(at, name or at, why))
    return sorted(out, key=lambda p: (p.where, p.field))


def _join(name: str, key: str) -> str:
    return f"{name}.{key}" if name else key


def _declares_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    return any(a is int for a in typing.get_args(annotation))


async def check_request(request: Request) -> None:
    """A dependency of every route: an integer id in the path beyond the database's integers is
    404 (no such thing); any other integer beyond them, and any string holding a NUL or too long,
    in the query, the JSON body or a form, is a 422 naming the field."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    problems: list[Problem] = []
    int_path = {f.alias for f in getattr(dependant, "path_params", []) if _declares_int(f.field_info.annotation)}
    for name, value in request.path_params.items():
        if name in int_path:
            if _too_big(str(value)):
                raise ApiError(404, f"no such resource: {request.url.path} ({name} is beyond any stored id)")
        elif isinstance(value, str):
            why = text_problem(value, MAX_PATH_TEXT)
            if why:
                problems.append(Problem("path", name, why))
    int_query = {f.alias for f in getattr(dependant, "query_params", []) if _declares_int(f.field_info.annotation)}
    for name, value in request.query_params.multi_items():
        why = text_problem(value)
        if why is None and name in int_query and _too_big(value):
            why = f"超出范围 (out of range): at most {MAX_INT}"
        if why:
            problems.append(Problem("query", name, why))
    if dependant is not None and getattr(dependant, "body_params", None) and request.method in ("POST", "PUT", "PATCH"):
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            int_form = {f.alias for f in dependant.body_params if _declares_int(f.field_info.annotation)}
            for name, value in form.multi_items():
                if isinstance(value, str):
                    why = text_problem(value)
                    if why is None and name in int_form and _too_big(value):
                        why = f"超出范围 (out of range): at most {MAX_INT}"
                    if why:
                        problems.append(Problem("form", name, why))
        elif await request.body():
            try:
                data = await request.json()
            except ValueError:
                data = None  # not JSON: the route's own validation answers
            problems += value_problems(data, "body")
    if problems:
        p = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ApiError(422, f"invalid request: {p.where}: {p.field}: {p.message}{more}", problems)


def _too_big(text: str) -> bool:
    text = text.strip()
    digits = text.lstrip("+-")
    if not digits.isdigit():
        return False
    return not MIN_INT <= int(text) <= MAX_INT


# ------------------------------------------------------------------ uploaded tables


def read_upload(data: bytes, filename: str, max_rows: int, max_unpacked: int) -> list[dict[str, Any]]:
    """:func:`planner.read.read_table`, after :func:`check_table_size`, with every cell's text
    checked (a NUL, too long: the row and column named). Raises :class:`InputError`."""
    from planner.read import read_table  # noqa: PLC0415

    check_table_size(data, filename, max_rows, max_unpacked)
    rows = read_table(data, filename)
    problems = []
    for i, row in enumerate(rows):
        for header, value in row.items():
            if isinstance(value, str):
                why = text_problem(value)
                if why:
                    problems.append(Problem(f"row {i + 2}", str(header), why))
        for header in row:
            why = text_problem(str(header), MAX_NAME)
            if why and i == 0:
                problems.append(Problem("row 1 (header)", str(header)[:40], why))
    if problems:
        raise InputError(problems)
    return rows


def _is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def check_table_size(data: bytes, filename: str, max_rows: int, max_unpacked: int) -> None:
    """Refuse, before parsing, a table of more than ``max_rows`` data rows (plus the header), an
    XLSX that unpacks to more than ``max_unpacked`` bytes or whose first sheet has more than
    :data:`MAX_COLUMNS` columns. A file that is no workbook is left to the reader to refuse."""
    if _is_xlsx(data, filename):
        _check_xlsx(data, filename, max_rows, max_unpacked)
    else:
        _check_csv(data, filename, max_rows)


def _refuse(filename: str, message: str) -> InputError:
    return InputError([Problem(filename, "file", message)])


def _too_many(filename: str, max_rows: int, what: str) -> InputError:
    return _refuse(filename, f"文件行数超过上限 {max_rows} (more than {max_rows} rows per upload: {what}); "
                             f"split the file")


def _check_csv(data: bytes, filename: str, max_rows: int) -> None:
    if data.count(b"\n") <= max_rows + 1:
        return
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return  # the reader says it cannot be decoded
    total = last = 0
    for record in csv.reader(io.StringIO(text, newline="")):
        total += 1
        if any(cell.strip() for cell in record):
            last = total
            if last > max_rows + 1:
                raise _too_many(filename, max_rows, f"row {last} has data")
        elif total > 10 * (max_rows + 1):
            raise _too_many(filename, max_rows, f"{total} lines")


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_ROW = re.compile(rb"<(?:[A-Za-z]\w*:)?row(?=[\s>/])([^>]*)>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL_REF = re.compile(rb'<(?:[A-Za-z]\w*:)?c\s[^>]*?\br="([A-Z]+)\d+"')
_DIMENSION = re.compile(rb'<(?:[A-Za-z]\w*:)?dimension\s+ref="[A-Z]+\d+(?::([A-Z]+)\d+)?"')
_CHUNK = 1 << 20


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _first_sheet(zf: zipfile.ZipFile) -> list[str]:
    """The first sheet's member, as openpyxl reads it; all worksheets when that cannot be told."""
    sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    try:
        for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            if zf.getinfo(name).file_size > 1 << 20:
                return sheets
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        first = book.find("m:sheets/m:sheet", _NS)
        rid = first.get(f"{{{_NS['r']}}}id") if first is not None else None
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        for rel in rels.findall("rel:Relationship", _NS):
            if rel.get("Id") == rid:
                target = rel.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else "xl/" + target
                return [path] if path in zf.namelist() else sheets
    except (KeyError, ElementTree.ParseError):
        pass
    return sheets


def _check_xlsx(data: bytes, filename: str, max_rows: int, max_unpacked: int) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a workbook: the reader says so
    with zf:
        unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > max_unpacked:
            raise _refuse(filename, f"解压后过大 (the workbook unpacks to {unpacked / 2**20:.0f} MB; at most "
                                    f"{max_unpacked / 2**20:.0f} MB)")
        for name in _first_sheet(zf):
            try:
                _scan_sheet(zf, name, filename, max_rows)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
                return  # a broken member: the reader says so


def _scan_sheet(zf: zipfile.ZipFile, name: str, filename: str, max_rows: int) -> None:
    """Stream through a sheet's XML counting rows and columns; stop at the first over a limit."""
    rows = number = 0
    tail = b""
    first = True
    with zf.open(name) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            buf = tail + chunk
            if first:
                dim = _DIMENSION.search(buf)
                if dim and dim.group(1) and _column_number(dim.group(1)) > MAX_COLUMNS:
                    raise _refuse(filename, f"列数超过上限 {MAX_COLUMNS} (the sheet claims columns up to "
                                            f"{dim.group(1).decode()}; at most {MAX_COLUMNS} columns)")
                first = False
            # up to the last tag's start: a tag cut by the chunk's end is read with the next chunk
            end = len(buf) if not chunk else buf.rfind(b"<")
            if end < 0:
                end = len(buf)
            for m in _ROW.finditer(buf, 0, end):
                rows += 1
                given = _ROW_NUMBER.search(m.group(1))
                number = int(given.group(1)) if given else number + 1
                if rows > max_rows + 1 or number > max_rows + 1:
                    raise _too_many(filename, max_rows, f"row {max(rows, number)}")
            for m in _CELL_REF.finditer(buf, 0, end):
                if _column_number(m.group(1)) > MAX_COLUMNS:
                    raise _refuse(filename, f"列数超过上限 {MAX_COLUMNS} (a cell in column {m.group(1).decode()}; "
                                            f"at most {MAX_COLUMNS} columns)")
            if not chunk:
                return
            tail = buf[end:]


def lengths_problems(values: Iterable[tuple[str, str, Optional[str], int]]) -> list[Problem]:
    """``(where, field, value, limit)`` → a problem for each value longer than its limit."""
    out = []
    for where, field, value, limit in values:
        if value is not None:
            why = text_problem(value, limit)
            if why:
                out.append(Problem(where, field, why))
    return out
