"""Road distances between resolved places, behind one provider interface.

The default estimates road km as geodesic km on the WGS-84 ellipsoid times a road factor, for a
whole matrix at once (NumPy, Lambert's formula: within a few metres of geopy's geodesic at the
distances we plan). A real road matrix can replace it: :class:`CsvRoadMatrix` reads
``from,to,km`` rows, :class:`OsrmTable` asks an OSRM server's ``table`` service.
"""

from __future__ import annotations

import csv
import json
import math
import urllib.request
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from .places import Point

# WGS-84
_A = 6378137.0
_F = 1 / 298.257223563
_B = _A * (1 - _F)


def geodesic_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Ellipsoidal distance in km (Lambert's formula), broadcasting over NumPy arrays."""
    lat1, lon1, lat2, lon2 = (np.asarray(x, dtype=float) for x in (lat1, lon1, lat2, lon2))
    # reduced latitudes
    b1 = np.arctan((1 - _F) * np.tan(np.radians(lat1)))
    b2 = np.arctan((1 - _F) * np.tan(np.radians(lat2)))
    dlon = np.radians(lon2 - lon1)
    # central angle between reduced latitudes (haversine, numerically stable)
    h = np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin(dlon / 2) ** 2
    sigma = 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    p = (b1 + b2) / 2
    q = (b2 - b1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (sigma - np.sin(sigma)) * (np.sin(p) ** 2 * np.cos(q) ** 2) / np.cos(sigma / 2) ** 2
        y = (sigma + np.sin(sigma)) * (np.cos(p) ** 2 * np.sin(q) ** 2) / np.sin(sigma / 2) ** 2
        d = _A * (sigma - _F / 2 * (x + y))
    return np.where(sigma > 1e-12, d, 0.0) / 1000.0


class DistanceProvider(Protocol):
    """Gives road km between places; ``source`` names it in a plan (``solver.roads``)."""

    @property
    def source(self) -> str:
        ...

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        """Road km, shape (len(origins), len(destinations))."""
        ...


@dataclass(frozen=True)
class GeodesicRoad:
    """Geodesic km × ``road_factor``: the default when no road source is configured."""

    road_factor: float = 1.3

    @property
    def source(self) -> str:
        """How a plan names this source (``solver.roads``)."""
        return "geodesic"

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        la = np.array([p.lat for p in origins])[:, None]
        lo = np.array([p.lon for p in origins])[:, None]
        lb = np.array([p.lat for p in destinations])[None, :]
        ld = np.array([p.lon for p in destinations])[None, :]
        return geodesic_km(la, lo, lb, ld) * self.road_factor


def place_key(p: Point) -> str:
    """The key a road-matrix file uses for a place: a site or depot id, a county code, or ``lat,lon``."""
    return p.key


class CsvRoadMatrix:
    """Road km from a CSV with columns ``from,to,km``.

    Keys are site or depot ids, county codes (for origins given as a county or an address) or
    ``lat,lon`` with five decimals (origins given as coordinates). A pair given one way only
    counts both ways. Pairs missing from the file fall back to ``fallback`` (geodesic × road
    factor by default), so a partial matrix (e.g. only the long legs) is enough.
    """

    def __init__(self, path: str, fallback: DistanceProvider | None = None):
        self.path = path
        self.km: dict[tuple[str, str], float] = {}
        with open(path, encoding="utf-8-sig") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    km = float(row["km"])
                    a, b = row["from"].strip(), row["to"].strip()
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    raise ValueError(f"{path}: row {i}: needs from,to,km: {e}") from None
                if not math.isfinite(km) or km < 0:
                    raise ValueError(f"{path}: row {i}: km must be a number ≥ 0, got {row['km']!r}")
                self.km[(a, b)] = km
        self.fallback = fallback or GeodesicRoad()
        self.source = path

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        out = self.fallback.matrix(origins, destinations)
        rows: dict[str, list[int]] = {}
        cols: dict[str, list[int]] = {}
        for i, p in enumerate(origins):
            rows.setdefault(p.key, []).append(i)
        for j, p in enumerate(destinations):
            cols.setdefault(p.key, []).append(j)
        # the reverse direction first, so a pair given both ways keeps its own direction
        for (a, b), v in self.km.items():
            for i in rows.get(b, ()):
                for j in cols.get(a, ()):
                    out[i, j] = v
        for (a, b), v in self.km.items():
            for i in rows.get(a, ()):
                for j in cols.get(b, ()):
                    out[i, j] = v
        return out


class OsrmTable:
    """Road km from an OSRM server's ``table`` service (``annotations=distance``)."""

    def __init__(self, base_url: str, profile: str = "driving", timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.source = self.base_url
        self.profile = profile
        self.timeout = timeout

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        pts = list(origins) + list(destinations)
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in pts)
        src = ";".join(str(i) for i in range(len(origins)))
        dst = ";".join(str(len(origins) + j) for j in range(len(destinations)))
        url = (f"{self.base_url}/table/v1/{self.profile}/{coords}"
               f"?sources={src}&destinations={dst}&annotations=distance")
        with urllib.request.urlopen(url, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            body = json.load(resp)
        if body.get("code") != "Ok":
            raise RuntimeError(f"OSRM table failed: {body.get('code')}: {body.get('message')}")
        d = np.array(body["distances"], dtype=float) / 1000.0
        if np.isnan(d).any():
            raise RuntimeError("OSRM table has unreachable pairs")
        return d


def provider_for(spec: str | None, road_factor: float) -> DistanceProvider:
    """Build a provider from a setting: none or ``geodesic`` (geodesic × road factor), a
    ``from,to,km`` CSV path, or an ``http(s)://`` OSRM base URL."""
    if not spec or spec == "geodesic":
        return GeodesicRoad(road_factor)
    if spec.startswith(("http://", "https://")):
        return OsrmTable(spec)
    return CsvRoadMatrix(spec, GeodesicRoad(road_factor))


def hours(km: float, speed_kmh: float) -> float:
    """Driving hours for ``km`` at ``speed_kmh``."""
    return km / speed_kmh if speed_kmh > 0 else math.inf
