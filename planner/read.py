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

from pathlib import Path

from ._read.places import check_orders
from ._read.problems import validation_problems
from ._read.scenario import _load_json
from ._read.tables import INTERNAL_PREFIX, ORDER_HEADERS, parse_order_rows, read_table
from ._read.workbook import _load_workbook
from .contract import Scenario
from .errors import InputError, Problem

__all__ = [
    "load_scenario",
    "load_scenario_bytes",
    "parse_order_rows",
    "check_orders",
    "read_table",
    "validation_problems",
    "ORDER_HEADERS",
    "INTERNAL_PREFIX",
]


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
    return load_scenario_bytes(data, path.name)


def load_scenario_bytes(data: bytes, filename: str) -> Scenario:
    """:func:`load_scenario` of a file's contents (an upload): a workbook by its name or its zip
    signature, else JSON."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm") or (suffix != ".json" and data[:4] == b"PK\x03\x04"):
        return _load_workbook(data, filename)
    return _load_json(data, filename)

