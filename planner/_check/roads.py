"""Road km of a leg, read on the checker's own: geodesic × road factor, a ``from,to,km`` CSV, or
an OSRM server's ``route`` service — the source the plan names (``solver.roads``) or the caller's."""

from __future__ import annotations

import csv
import json
import urllib.request
from functools import lru_cache
from typing import Optional

from geopy.distance import geodesic

from ..contract import Place


class RoadsError(ValueError):
    """The road-distance source named by the plan (or the caller) cannot be read."""


@lru_cache(maxsize=200_000)
def geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # cached: many legs repeat between the same county and the same site
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


class Roads:
    """Road km between two stops' places.

    A CSV's keys are a site or depot id, a county code, or ``lat,lon`` with five decimals; a pair
    given one way counts both ways; pairs missing fall back to geodesic × road factor.
    """

    def __init__(self, spec: str, factor: float, table: Optional[dict[tuple[str, str], float]] = None):
        self.spec, self.factor, self.table = spec, factor, table
        self._osrm: dict[tuple[float, float, float, float], float] = {}

    @classmethod
    def open(cls, spec: Optional[str], factor: float) -> "Roads":
        if not spec or spec == "geodesic":
            return cls("geodesic", factor)
        if spec.startswith(("http://", "https://")):
            return cls(spec.rstrip("/"), factor)
        table: dict[tuple[str, str], float] = {}
        try:
            with open(spec, encoding="utf-8-sig") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    try:
                        table[(row["from"].strip(), row["to"].strip())] = float(row["km"])
                    except (KeyError, TypeError, ValueError, AttributeError):
                        raise RoadsError(f"{spec}: row {i}: needs from,to,km") from None
        except OSError as exc:
            raise RoadsError(f"cannot read the road-distance file {spec}: {exc.strerror or exc}") from None
        return cls(spec, factor, table)

    def describe(self) -> str:
        if self.spec == "geodesic":
            return f"geodesic × road factor {self.factor:g}"
        return f"road km from {self.spec}"

    def km(self, a: Place, b: Place) -> float:
        if self.table is not None:
            for ka in (a.id, a.county):
                for kb in (b.id, b.county):
                    if ka and kb:
                        v = self.table.get((ka, kb))
                        if v is None:
                            v = self.table.get((kb, ka))
                        if v is not None:
                            return v
        elif self.spec != "geodesic":
            return self._route(a, b)
        return geo_km(a.lat, a.lon, b.lat, b.lon) * self.factor

    def _route(self, a: Place, b: Place) -> float:
        key = (a.lat, a.lon, b.lat, b.lon)
        if key not in self._osrm:
            if (a.lat, a.lon) == (b.lat, b.lon):
                return 0.0
            url = f"{self.spec}/route/v1/driving/{a.lon:.6f},{a.lat:.6f};{b.lon:.6f},{b.lat:.6f}?overview=false"
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (configured URL)
                    body = json.load(resp)
                self._osrm[key] = float(body["routes"][0]["distance"]) / 1000.0
            except (OSError, KeyError, IndexError, ValueError) as exc:
                raise RoadsError(f"the OSRM server {self.spec} gave no route: {exc}") from None
        return self._osrm[key]
