"""Spreadsheet and CSV cells normalised for the field they fill: texts, whole numbers, date-times
as Excel and Chinese offices write them, clock times and clock-time pairs."""

from __future__ import annotations

import re
from datetime import date, datetime, time

Row = dict[str, object]


_TEXT_FIELDS = {"id", "name", "agency", "site", "depot", "county", "address", "risk", "station", "train", "kind"}


_INT_FIELDS = {"headcount", "cleared", "failed", "seats", "count", "intake_per_day",
               "max_pickup_stops", "min_riders_per_trip", "cars", "seats_per_car", "min_riders"}


_DATETIME_FIELDS = {"earliest_departure", "arrive_by", "screening_valid_until",
                    "available_from", "available_until", "from", "until", "arrive", "depart"}


_CLOCK_FIELDS = {"receive_from", "receive_until"}


_CLOCK_PAIR_FIELDS = {"night_rest", "night", "boarding_hours"}


def _header_key(header: object) -> str:
    text = str(header).strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


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
