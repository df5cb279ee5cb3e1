"""Resolve contract locations (county code, Chinese address, coordinates) to points.

County coordinates come from the ``adcodes.csv`` that ships with ``cpca``; Chinese free-text
addresses are parsed with ``cpca.transform`` down to a county.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from .contract import Location


class PlaceError(ValueError):
    """A location that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class Point:
    """A resolved place: coordinates, a display name, and the 6-digit county when known."""

    lat: float
    lon: float
    name: str
    county: Optional[str] = None


@dataclass(frozen=True)
class County:
    code: str
    name: str
    lat: float
    lon: float
    province: str


_PROVINCE_NAMES: dict[str, str] = {}


@lru_cache(maxsize=1)
def counties() -> dict[str, County]:
    """All county-level rows of cpca's ``adcodes.csv``, by 6-digit code.

    Rows with a 12-digit code ending in ``000000`` are counties, cities or provinces; we keep
    those whose 6-digit code does not end in ``00`` (county level) and that carry coordinates.
    """
    import cpca  # noqa: PLC0415  (heavy import: pandas and a matcher)

    path = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    out: dict[str, County] = {}
    provinces: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code12 = row["adcode"]
            if not code12.endswith("000000"):
                continue
            code = code12[:6]
            if code.endswith("0000"):
                provinces[code[:2]] = row["name"]
                continue
            if code.endswith("00"):
                continue
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError):
                continue
            out[code] = County(code, row["name"], lat, lon, "")
    for code, c in out.items():
        out[code] = County(c.code, c.name, c.lat, c.lon, provinces.get(code[:2], ""))
    return out


def province_of(code: str) -> str:
    """The province name of a 6-digit county code ("" when unknown)."""
    c = counties().get(code[:6])
    return c.province if c else ""


def resolve(location: Location) -> Point:
    """Resolve one location; raise :class:`PlaceError` when it cannot be."""
    if location.lat is not None and location.lon is not None:
        return Point(location.lat, location.lon, location.name or f"{location.lat:.4f},{location.lon:.4f}")
    if location.county is not None:
        code = location.county[:6]
        c = counties().get(code)
        if c is None:
            raise PlaceError(f"unknown county code {location.county!r}")
        return Point(c.lat, c.lon, location.name or c.name, c.code)
    result = resolve_all([location])[0]
    if isinstance(result, PlaceError):
        raise result
    return result


def resolve_all(locations: list[Location]) -> list[Point | PlaceError]:
    """Resolve many locations, batching addresses; failures come back as errors in place."""
    out: list[Point | PlaceError] = [PlaceError("unresolved")] * len(locations)
    addr_idx = [i for i, loc in enumerate(locations) if loc.address is not None]
    for i, loc in enumerate(locations):
        if loc.address is None:
            try:
                out[i] = resolve(loc)
            except PlaceError as e:
                out[i] = e
    if addr_idx:
        import cpca  # noqa: PLC0415

        texts = [locations[i].address or "" for i in addr_idx]
        df = cpca.transform(texts)
        table = counties()
        for i, text, code, district in zip(addr_idx, texts, df["adcode"], df["区"]):
            code = (str(code) if code is not None else "")[:6]
            if not district or str(district) == "None" or code not in table:
                out[i] = PlaceError(f"address {text!r} does not name a county (区/县) that can be found")
                continue
            c = table[code]
            out[i] = Point(c.lat, c.lon, locations[i].name or c.name, c.code)
    return out
