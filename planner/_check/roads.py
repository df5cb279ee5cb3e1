"""Road km and driving minutes of a leg, read on the checker's own: geodesic × road factor (minutes
at the policy's speed), a ``from,to,km[,minutes]`` CSV, or an OSRM server's ``route`` service
(its ``distance`` and ``duration``) — the source the plan names (``solver.roads``) or the caller's."""

from __future__ import annotations

import csv
import json
import math
from functools import lru_cache
from typing import Optional

from geopy.distance import geodesic

from ..contract import Place
from ..network import http


class RoadsError(ValueError):
    """The road-distance source named by the plan (or the caller) cannot be read."""


@lru_cache(maxsize=200_000)
def geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # cached: many legs repeat between the same county and the same site
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


#: a road-table row: km, and minutes when the row gives them
Row = tuple[float, Optional[float]]


def _number(cell: Optional[str]) -> float:
    v = float(cell) if cell is not None else math.nan
    if not math.isfinite(v) or v < 0:
        raise ValueError(cell)
    return v


class Roads:
    """Road km and pure driving minutes between two stops' places.

    A CSV's keys are a site or depot id, a county code, or ``lat,lon`` with five decimals; a pair
    given one way counts both ways; pairs missing fall back to geodesic × road factor. A row's
    ``minutes`` (the column is optional, a cell may be empty) times its leg; without them the leg
    takes its km at the policy's speed.
    """

    def __init__(self, spec: str, factor: float, table: Optional[dict[tuple[str, str], Row]] = None):
        self.spec, self.factor, self.table = spec, factor, table
        self._osrm: dict[tuple[float, float, float, float], tuple[float, float]] = {}

    @classmethod
    def open(cls, spec: Optional[str], factor: float) -> "Roads":
        if not spec or spec == "geodesic":
            return cls("geodesic", factor)
        if spec.startswith(("http://", "https://")):
            return cls(spec.rstrip("/"), factor)
        table: dict[tuple[str, str], Row] = {}
        try:
            with open(spec, encoding="utf-8-sig", newline="") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    try:
                        key = (row["from"].strip(), row["to"].strip())
                        km = _number(row["km"])
                    except (KeyError, TypeError, ValueError, AttributeError):
                        raise RoadsError(f"{spec}: row {i}: needs from,to,km with km a number ≥ 0") from None
                    cell = row.get("minutes")
                    mins: Optional[float] = None
                    if cell is not None and cell.strip():
                        try:
                            mins = _number(cell)
                        except ValueError:
                            raise RoadsError(f"{spec}: row {i}: minutes must be a number ≥ 0 (or empty), "
                                             f"got {cell!r}") from None
                    table[key] = (km, mins)
        except OSError as exc:
            raise RoadsError(f"cannot read the road-distance file {spec}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise RoadsError(f"cannot read the road-distance file {spec}: not UTF-8 text ({exc.reason})") from None
        return cls(spec, factor, table)

    def describe(self) -> str:
        if self.spec == "geodesic":
            return f"geodesic × road factor {self.factor:g}"
        return f"road km from {self.spec}"

    def km(self, a: Place, b: Place) -> float:
        row = self._row(a, b)
        if row is not None:
            return row[0]
        if self.table is None and self.spec != "geodesic":
            return self._route(a, b)[0]
        return geo_km(a.lat, a.lon, b.lat, b.lon) * self.factor

    def minutes(self, a: Place, b: Place, speed_kmh: float) -> float:
        """Pure driving minutes of the leg from ``a`` to ``b`` (not rounded)."""
        return self.timing(a, b, speed_kmh)[0]

    def timing(self, a: Place, b: Place, speed_kmh: float) -> tuple[float, bool]:
        """Driving minutes of the leg, and whether the road source gave them (False: its km at
        ``speed_kmh``)."""
        row = self._row(a, b)
        if row is not None:
            if row[1] is not None:
                return row[1], True
            return _at(row[0], speed_kmh), False
        if self.table is None and self.spec != "geodesic":
            return self._route(a, b)[1], True
        return _at(geo_km(a.lat, a.lon, b.lat, b.lon) * self.factor, speed_kmh), False

    def _row(self, a: Place, b: Place) -> Optional[Row]:
        if self.table is None:
            return None
        for ka in (a.id, a.county):
            for kb in (b.id, b.county):
                if ka and kb:
                    v = self.table.get((ka, kb))
                    if v is None:
                        v = self.table.get((kb, ka))
                    if v is not None:
                        return v
        return None

    def _route(self, a: Place, b: Place) -> tuple[float, float]:
        """km and minutes of the OSRM server's route from ``a`` to ``b``, asked once per pair."""
        key = (a.lat, a.lon, b.lat, b.lon)
        if key not in self._osrm:
            if (a.lat, a.lon) == (b.lat, b.lon):
                return 0.0, 0.0
            url = f"{self.spec}/route/v1/driving/{a.lon:.6f},{a.lat:.6f};{b.lon:.6f},{b.lat:.6f}?overview=false"
            where = f"the OSRM server {self.spec}"
            try:
                status, raw = http.get(url, 30)
            except OSError as exc:
                raise RoadsError(f"{where} gave no route: {getattr(exc, 'reason', None) or exc}") from None
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if status >= 400 or not isinstance(body, dict):
                what = f"{body.get('code')}: {body.get('message')}" if isinstance(body, dict) and body.get("code") \
                    else f"HTTP {status}, no JSON route"
                raise RoadsError(f"{where} gave no route: {what}")
            try:
                if body.get("code", "Ok") != "Ok":
                    raise RoadsError(f"{where} gave no route: {body.get('code')}: {body.get('message')}")
                route = body["routes"][0]
                km, secs = float(route["distance"]) / 1000.0, float(route["duration"])
            except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
                raise RoadsError(f"{where} gave no route: no distance and duration in its answer ({exc!r})") from None
            self._osrm[key] = (km, secs / 60.0)
        return self._osrm[key]


def _at(km: float, speed_kmh: float) -> float:
    return km / speed_kmh * 60.0 if speed_kmh > 0 else math.inf
