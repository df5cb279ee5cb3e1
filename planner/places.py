"""Resolve contract locations (county code, Chinese address, coordinates) to points in a county.

County coordinates (the county seat) come from the ``adcodes.csv`` that ships with ``cpca``;
Chinese free-text addresses are parsed with ``cpca.transform`` down to a county. Every origin
ends up in a county, so region risk, cohorts and every county rule apply whatever form it came in:

- a county code is looked up (unknown codes are refused);
- an address is resolved by ``cpca``; a county name that several counties share (朝阳区, 鼓楼区)
  is refused with the candidates listed unless the address also names the province or city;
  an address naming a province or city that does not hold the county found is refused too;
- coordinates are placed in the county whose seat is nearest, when that seat is within
  ``snap_km`` (``policy.county_snap_km``, default 100 km); farther, the coordinates are refused
  (outside China, or mistyped). Near a county border the nearest seat can be the neighbour's:
  cpca ships no county outlines, and the plan shows the county chosen (``place.county``).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Optional

import numpy as np

from .contract import Location

#: default of ``policy.county_snap_km``
SNAP_KM = 100.0


class PlaceError(ValueError):
    """A location that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class Point:
    """A resolved place: coordinates, a display name and its 6-digit county.

    ``kind`` says how it was given: ``county`` and ``address`` points stand at the county seat,
    ``coords`` points where they were given (``county`` is then the county they were placed in).
    ``ref`` is the id of a site or depot, for road-distance tables keyed by id.
    """

    lat: float
    lon: float
    name: str
    county: Optional[str] = None
    kind: Literal["county", "address", "coords"] = "county"
    ref: Optional[str] = None

    @property
    def key(self) -> str:
        """How road-distance tables name this place: a site/depot id, a county code, or ``lat,lon``."""
        if self.ref:
            return self.ref
        if self.kind != "coords" and self.county:
            return self.county
        return f"{self.lat:.5f},{self.lon:.5f}"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    lat: float
    lon: float
    province: str
    city: str = ""

    @property
    def label(self) -> str:
        return f"{self.province}{self.city if self.city != self.province else ''}{self.name} ({self.code})"


@lru_cache(maxsize=1)
def counties() -> dict[str, County]:
    """All county-level rows of cpca's ``adcodes.csv``, by 6-digit code.

    Rows with a 12-digit code ending in ``000000`` are counties, cities or provinces; we keep
    those whose 6-digit code does not end in ``00`` (county level) and that carry coordinates.
    """
    import cpca  # noqa: PLC0415  (heavy import: pandas and a matcher)

    path = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    rows: dict[str, tuple[str, float, float]] = {}
    provinces: dict[str, str] = {}
    cities: dict[str, str] = {}
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
                cities[code[:4]] = row["name"]
                continue
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError):
                continue
            rows[code] = (row["name"], lat, lon)
    out: dict[str, County] = {}
    for code, (name, lat, lon) in rows.items():
        province = provinces.get(code[:2], "")
        city = cities.get(code[:4], "")
        if city in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            city = province
        out[code] = County(code, name, lat, lon, province, city)
    return out


@lru_cache(maxsize=1)
def _by_name() -> dict[str, list[County]]:
    out: dict[str, list[County]] = {}
    for c in counties().values():
        out.setdefault(c.name, []).append(c)
    return out


@lru_cache(maxsize=1)
def _seats() -> tuple[list[str], np.ndarray, np.ndarray]:
    table = counties()
    codes = sorted(table)
    return codes, np.radians([table[c].lat for c in codes]), np.radians([table[c].lon for c in codes])


def nearest_counties(lats: np.ndarray, lons: np.ndarray) -> tuple[list[str], np.ndarray]:
    """For each coordinate, the county whose seat is nearest and that seat's great-circle km."""
    codes, la, lo = _seats()
    out_codes: list[str] = []
    out_km = np.zeros(len(lats))
    for start in range(0, len(lats), 2000):  # chunks keep the distance matrix small
        a = np.radians(np.asarray(lats[start:start + 2000], dtype=float))[:, None]
        b = np.radians(np.asarray(lons[start:start + 2000], dtype=float))[:, None]
        h = np.sin((la[None, :] - a) / 2) ** 2 + np.cos(a) * np.cos(la[None, :]) * np.sin((lo[None, :] - b) / 2) ** 2
        d = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        j = np.argmin(d, axis=1)
        out_codes += [codes[k] for k in j]
        out_km[start:start + len(j)] = d[np.arange(len(j)), j]
    return out_codes, out_km


def province_of(code: str) -> str:
    """The province name of a 6-digit county code ("" when unknown)."""
    c = counties().get(code[:6])
    return c.province if c else ""


def resolve(location: Location, snap_km: float = SNAP_KM) -> Point:
    """Resolve one location; raise :class:`PlaceError` when it cannot be."""
    result = resolve_all([location], snap_km)[0]
    if isinstance(result, PlaceError):
        raise result
    return result


def _named(text: str, name: str) -> bool:
    """Whether an address text names a province or city (its full name, or its first two characters)."""
    return bool(name) and (name in text or name[:2] in text)


def _address(text: str, display: Optional[str], district: object, code: str) -> Point | PlaceError:
    table = counties()
    if not district or str(district) == "None" or code not in table:
        return PlaceError(f"address {text!r} does not name a county (区/县) that can be found")
    found = table[code]
    same = _by_name().get(found.name, [found])
    # the city names a county best (two 市中区 lie in 四川省); else the province
    named = ([c for c in same if _named(text, c.city) and c.city != c.province]
             or [c for c in same if _named(text, c.province)])
    if len(same) > 1 and len(named) != 1:
        pool = named or same
        if len(pool) > 1:
            listed = "; ".join(c.label for c in sorted(pool, key=lambda c: c.code))
            return PlaceError(f"address {text!r} is ambiguous: {len(pool)} counties are called {found.name} "
                              f"({listed}); add the province and city, or give the county code")
    if named and len(same) > 1:
        found = named[0]
    elif not (_named(text, found.province) or _named(text, found.city) or found.name[:2] in text):
        return PlaceError(f"address {text!r} was read as {found.label}, which it does not name; "
                          f"give the province, city and county, or the county code")
    return Point(found.lat, found.lon, display or found.name, found.code, "address")


def resolve_all(locations: list[Location], snap_km: float = SNAP_KM) -> list[Point | PlaceError]:
    """Resolve many locations, batching addresses and coordinates; failures come back as errors in place."""
    out: list[Point | PlaceError] = [PlaceError("unresolved")] * len(locations)
    table = counties()
    coords: list[int] = []
    addresses: list[int] = []
    for i, loc in enumerate(locations):
        if loc.lat is not None and loc.lon is not None:
            coords.append(i)
        elif loc.county is not None:
            c = table.get(loc.county[:6])
            out[i] = (PlaceError(f"unknown county code {loc.county!r}") if c is None
                      else Point(c.lat, c.lon, loc.name or c.name, c.code, "county"))
        elif loc.address is not None:
            addresses.append(i)
    if coords:
        lats = np.array([locations[i].lat for i in coords], dtype=float)
        lons = np.array([locations[i].lon for i in coords], dtype=float)
        codes, km = nearest_counties(lats, lons)
        for i, code, d in zip(coords, codes, km):
            loc = locations[i]
            c = table[code]
            if d > snap_km:
                out[i] = PlaceError(
                    f"coordinates ({loc.lat:g}, {loc.lon:g}) are {d:,.0f} km from the nearest county seat "
                    f"({c.label}), more than {snap_km:g} km: outside China, or mistyped (lat and lon swapped?)")
            else:
                out[i] = Point(float(loc.lat), float(loc.lon),  # type: ignore[arg-type]
                               loc.name or f"{c.name} {loc.lat:.4f},{loc.lon:.4f}", c.code, "coords")
    if addresses:
        import cpca  # noqa: PLC0415

        texts = [locations[i].address or "" for i in addresses]
        df = cpca.transform(texts)
        for i, text, code, district in zip(addresses, texts, df["adcode"], df["区"]):
            code = (str(code) if code is not None else "")[:6]
            out[i] = _address(text, locations[i].name, district, code)
    return out


def km_between(a: Point, b: Point) -> float:
    """Great-circle km between two points (for messages and warnings, not for planning)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))
