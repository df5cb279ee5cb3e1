"""Road distances and driving times between resolved places, behind one provider interface.

Every source gives road km (:meth:`DistanceProvider.matrix`) and, for the same pairs, road km
with pure driving minutes (:meth:`DistanceProvider.table`). The default estimates road km as
geodesic km on the WGS-84 ellipsoid times a road factor, for a whole matrix at once (NumPy,
Lambert's formula: within a few metres of geopy's geodesic at the distances we plan), and
minutes as km at the policy's speed. A real road source can replace it: :class:`CsvRoadMatrix`
reads ``from,to,km[,minutes]`` rows, :class:`OsrmTable` asks an OSRM server's ``table``
service for distances and durations.
"""

from __future__ import annotations

import csv
import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from .http import get as http_get
from .places import Point

# WGS-84
_A = 6378137.0
_F = 1 / 298.257223563
_B = _A * (1 - _F)


class RoadSourceError(ValueError):
    """A road source (a road table, an OSRM server) cannot be read or gives no usable answer;
    the message names the file or the server and what happened."""


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


def drive_minutes(km, speed_kmh: float):
    """Driving minutes for ``km`` (a number or an array) at ``speed_kmh``; not rounded."""
    if not speed_kmh > 0:
        raise ValueError(f"speed_kmh must be > 0, got {speed_kmh!r}")
    return km / speed_kmh * 60.0


class DistanceProvider(Protocol):
    """Gives road km and driving minutes between places; ``source`` names it in a plan (``solver.roads``)."""

    @property
    def source(self) -> str:
        ...

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        """Road km, shape (len(origins), len(destinations))."""
        ...

    def table(self, origins: Sequence[Point], destinations: Sequence[Point],
              speed_kmh: float) -> tuple[np.ndarray, np.ndarray]:
        """Road km and pure driving minutes (floats, not rounded), each of shape
        (len(origins), len(destinations)). ``speed_kmh`` times the pairs the source gives no
        time for (all of them for the geodesic estimate)."""
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
        la = np.array([p.lat for p in origins], dtype=float)[:, None]
        lo = np.array([p.lon for p in origins], dtype=float)[:, None]
        lb = np.array([p.lat for p in destinations], dtype=float)[None, :]
        ld = np.array([p.lon for p in destinations], dtype=float)[None, :]
        return geodesic_km(la, lo, lb, ld) * self.road_factor

    def table(self, origins: Sequence[Point], destinations: Sequence[Point],
              speed_kmh: float) -> tuple[np.ndarray, np.ndarray]:
        """Geodesic km × road factor, and those km at ``speed_kmh``."""
        km = self.matrix(origins, destinations)
        return km, drive_minutes(km, speed_kmh)


def place_key(p: Point) -> str:
    """The key a road-matrix file uses for a place: a site or depot id, a county code, or ``lat,lon``."""
    return p.key


class CsvRoadMatrix:
    """Road km, and optionally driving minutes, from a CSV with columns ``from,to,km[,minutes]``.

    Keys are site or depot ids, county codes (for origins given as a county or an address) or
    ``lat,lon`` with five decimals (origins given as coordinates). A pair given one way only
    counts both ways. Pairs missing from the file fall back to ``fallback`` (geodesic × road
    factor by default), so a partial matrix (e.g. only the long legs) is enough. The
    ``minutes`` column may be left out of the file, or left empty in a row: that pair's
    minutes are then its km at the speed :meth:`table` is given.
    """

    def __init__(self, path: str, fallback: DistanceProvider | None = None):
        self.path = path
        self.km: dict[tuple[str, str], float] = {}
        #: the pairs whose row gives minutes
        self.minutes: dict[tuple[str, str], float] = {}
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                self._read(csv.DictReader(fh))
        except OSError as exc:
            raise RoadSourceError(f"cannot read the road table {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise RoadSourceError(f"cannot read the road table {path}: not UTF-8 text ({exc.reason})") from None
        self.fallback = fallback or GeodesicRoad()
        self.source = path

    def _read(self, rows: csv.DictReader) -> None:
        path = self.path
        for i, row in enumerate(rows, start=2):
            try:
                a, b = row["from"].strip(), row["to"].strip()
                km = float(row["km"])
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise RoadSourceError(f"{path}: row {i}: needs from,to,km: {e}") from None
            if not a or not b:
                raise RoadSourceError(f"{path}: row {i}: needs from,to,km: an empty place key")
            if not math.isfinite(km) or km < 0:
                raise RoadSourceError(f"{path}: row {i}: km must be a number ≥ 0, got {row['km']!r}")
            self.km[(a, b)] = km
            cell = row.get("minutes")
            if cell is not None and cell.strip():
                try:
                    m = float(cell)
                except ValueError:
                    m = math.nan
                if not math.isfinite(m) or m < 0:
                    raise RoadSourceError(f"{path}: row {i}: minutes must be a number ≥ 0 (or left empty), "
                                          f"got {cell!r}")
                self.minutes[(a, b)] = m
            else:
                self.minutes.pop((a, b), None)  # a later row for the pair without minutes

    def _cells(self, origins: Sequence[Point], destinations: Sequence[Point]):
        """Each (i, j, (a, b)) the file gives, the reverse direction first, so a pair given both
        ways ends with its own direction."""
        rows: dict[str, list[int]] = {}
        cols: dict[str, list[int]] = {}
        for i, p in enumerate(origins):
            rows.setdefault(p.key, []).append(i)
        for j, p in enumerate(destinations):
            cols.setdefault(p.key, []).append(j)
        for a, b in self.km:
            for i in rows.get(b, ()):
                for j in cols.get(a, ()):
                    yield i, j, (a, b)
        for a, b in self.km:
            for i in rows.get(a, ()):
                for j in cols.get(b, ()):
                    yield i, j, (a, b)

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        out = np.array(self.fallback.matrix(origins, destinations), dtype=float)
        for i, j, pair in self._cells(origins, destinations):
            out[i, j] = self.km[pair]
        return out

    def table(self, origins: Sequence[Point], destinations: Sequence[Point],
              speed_kmh: float) -> tuple[np.ndarray, np.ndarray]:
        """The file's km and minutes (a row without minutes: its km at ``speed_kmh``); pairs
        missing from the file: the fallback's."""
        km, mins = self.fallback.table(origins, destinations, speed_kmh)
        km, mins = np.array(km, dtype=float), np.array(mins, dtype=float)
        for i, j, pair in self._cells(origins, destinations):
            km[i, j] = self.km[pair]
            m = self.minutes.get(pair)
            mins[i, j] = drive_minutes(km[i, j], speed_kmh) if m is None else m
        return km, mins


def _coord(p: Point) -> str:
    return f"{p.lon:.6f},{p.lat:.6f}"


def _chunks(n: int, size: int) -> list[range]:
    return [range(k, min(n, k + size)) for k in range(0, n, size)] if n else []


class OsrmTable:
    """Road km and driving minutes from an OSRM server's ``table`` service
    (``annotations=distance,duration``).

    Large matrices go in blocks of at most ``max_locations`` coordinates per request (sources
    and destinations together; an OSRM server refuses more than its ``--max-table-size``,
    100 by default). The last few answers are kept, so asking km and minutes for the same
    places requests once.
    """

    def __init__(self, base_url: str, profile: str = "driving", timeout: float = 60.0,
                 max_locations: int = 100, cache_size: int = 8):
        if max_locations < 2:
            raise ValueError(f"max_locations must be at least 2, got {max_locations}")
        self.base_url = base_url.rstrip("/")
        self.source = self.base_url
        self.profile = profile
        self.timeout = timeout
        self.max_locations = max_locations
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[tuple[str, ...], tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        #: how many requests went to the server (for tests and logs)
        self.requests = 0

    def matrix(self, origins: Sequence[Point], destinations: Sequence[Point]) -> np.ndarray:
        return self._fetch(origins, destinations)[0].copy()

    def table(self, origins: Sequence[Point], destinations: Sequence[Point],
              speed_kmh: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The server's km and minutes (``speed_kmh`` is not used: the server times every pair)."""
        km, mins = self._fetch(origins, destinations)
        return km.copy(), mins.copy()

    # ------------------------------------------------------------------ requests

    def _fetch(self, origins: Sequence[Point], destinations: Sequence[Point]) -> tuple[np.ndarray, np.ndarray]:
        okeys = tuple(_coord(p) for p in origins)
        dkeys = tuple(_coord(p) for p in destinations)
        key = (okeys, dkeys)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        # ask each distinct coordinate once
        uo = list(dict.fromkeys(okeys))
        ud = list(dict.fromkeys(dkeys))
        km_u = np.full((len(uo), len(ud)), np.nan)
        min_u = np.full((len(uo), len(ud)), np.nan)
        for rows, cols in self._blocks(uo, ud):
            d, t = self._request([uo[i] for i in rows], [ud[j] for j in cols])
            km_u[rows.start:rows.stop, cols.start:cols.stop] = d / 1000.0
            min_u[rows.start:rows.stop, cols.start:cols.stop] = t / 60.0
        oi = np.array(_positions(okeys, uo), dtype=int)
        dj = np.array(_positions(dkeys, ud), dtype=int)
        km, mins = km_u[np.ix_(oi, dj)], min_u[np.ix_(oi, dj)]
        bad = np.isnan(km) | np.isnan(mins)
        if bad.any():
            i, j = (int(x) for x in np.argwhere(bad)[0])
            raise RoadSourceError(
                f"the OSRM server {self.base_url} finds no road for {int(bad.sum())} of {bad.size} pair(s), "
                f"e.g. from {_label(origins[i])} to {_label(destinations[j])}")
        self._cache[key] = (km, mins)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return km, mins

    def _blocks(self, uo: list[str], ud: list[str]) -> list[tuple[range, range]]:
        """Blocks of (origin rows, destination columns) whose coordinates fit one request."""
        no, nd, lim = len(uo), len(ud), self.max_locations
        if not no or not nd:
            return []
        if len(set(uo) | set(ud)) <= lim:
            return [(range(no), range(nd))]
        half = lim // 2
        if no <= half:
            so, sd = no, lim - no
        elif nd <= half:
            so, sd = lim - nd, nd
        else:
            so, sd = half, lim - half
        return [(r, c) for r in _chunks(no, so) for c in _chunks(nd, sd)]

    def _request(self, src: list[str], dst: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Metres and seconds from ``src`` to ``dst`` (NaN where the server finds no road)."""
        coords = list(dict.fromkeys(src + dst))
        at = {c: k for k, c in enumerate(coords)}
        url = (f"{self.base_url}/table/v1/{self.profile}/{';'.join(coords)}"
               f"?sources={';'.join(str(at[c]) for c in src)}"
               f"&destinations={';'.join(str(at[c]) for c in dst)}&annotations=distance,duration")
        self.requests += 1
        where = f"the OSRM server {self.base_url}"
        try:
            status, raw = http_get(url, self.timeout)
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise RoadSourceError(f"{where} cannot be reached: {reason}") from None
        if status >= 400:
            # OSRM answers a refused query with HTTP 400 and a JSON body naming the code
            try:
                refused = json.loads(raw)
            except ValueError:
                refused = None
            if not isinstance(refused, dict):
                raise RoadSourceError(f"{where} answered HTTP {status}")
            raise RoadSourceError(f"{where} refused the table request ({len(coords)} coordinates): "
                                  f"{refused.get('code')}: {refused.get('message')}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RoadSourceError(f"{where} did not answer JSON (got {raw[:80]!r})") from None
        if not isinstance(body, dict):
            raise RoadSourceError(f"{where} did not answer a JSON object (got {raw[:80]!r})")
        if body.get("code") != "Ok":
            raise RoadSourceError(f"{where} refused the table request: {body.get('code')}: {body.get('message')}")
        out = []
        for name in ("distances", "durations"):
            try:
                a = np.array([[math.nan if v is None else float(v) for v in row] for row in body[name]], dtype=float)
            except (KeyError, TypeError, ValueError):
                raise RoadSourceError(f"{where} answered a table without usable {name}") from None
            if a.shape != (len(src), len(dst)):
                raise RoadSourceError(f"{where} answered {name} of shape {a.shape}, "
                                      f"asked for {len(src)} × {len(dst)}")
            out.append(a)
        return out[0], out[1]


def _positions(keys: Sequence[str], unique: list[str]) -> list[int]:
    at = {k: i for i, k in enumerate(unique)}
    return [at[k] for k in keys]


def _label(p: Point) -> str:
    return f"{p.name or p.key} ({p.lat:.5f},{p.lon:.5f})"


def provider_for(spec: str | None, road_factor: float) -> DistanceProvider:
    """Build a provider from a setting: none or ``geodesic`` (geodesic × road factor), a
    ``from,to,km[,minutes]`` CSV path, or an ``http(s)://`` OSRM base URL."""
    if not spec or spec == "geodesic":
        return GeodesicRoad(road_factor)
    if spec.startswith(("http://", "https://")):
        return OsrmTable(spec)
    return CsvRoadMatrix(spec, GeodesicRoad(road_factor))


def hours(km: float, speed_kmh: float) -> float:
    """Driving hours for ``km`` at ``speed_kmh``."""
    return km / speed_kmh if speed_kmh > 0 else math.inf
