"""The geography layer: every place fangang plans with, and the roads between them.

- :mod:`.places` — the county table (国家统计局 2023 division codes, with former codes and names
  mapped to today's) and the resolver: county codes, Chinese addresses as agencies write them,
  coordinates snapped to their county within the policy's ``county_snap_km``;
- :mod:`.roads` — road sources, each giving km and driving minutes: geodesic × road factor at the
  policy's speed (default), a ``from,to,km[,minutes]`` CSV, an OSRM server;
- :mod:`.http` — the one place that opens a URL.

:class:`Network` is a scenario's places, resolved once, with the km and minutes matrices of one
source between them; the optimiser compiles its problem from it. The checker reads roads on its
own (``planner/_check/roads.py``) from the same source the plan names, keeping its own arithmetic.
Only this package imports ``cpca`` (when building the table: ``tools/build_divisions.py``) or
opens URLs (tests/test_architecture.py holds it to that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .places import SNAP_KM, PlaceError, Point, resolve_all
from .roads import DistanceProvider, GeodesicRoad, RoadSourceError, provider_for

__all__ = ["SNAP_KM", "DistanceProvider", "GeodesicRoad", "Network", "PlaceError", "Point", "RoadSourceError",
           "provider_for", "resolve_all"]


@dataclass(frozen=True)
class Network:
    """Places and the roads between them, frozen: ``km[i, j]`` road km and ``minutes[i, j]`` pure
    driving minutes (not rounded) from place ``i`` to ``j``, both from ``source``."""

    places: tuple[Point, ...]
    km: np.ndarray
    minutes: np.ndarray
    source: str

    @classmethod
    def build(cls, places: Sequence[Point], roads: Optional[DistanceProvider], speed_kmh: float,
              road_factor: float = 1.3) -> "Network":
        """The matrices of ``places`` from ``roads`` (default: geodesic × ``road_factor`` at
        ``speed_kmh``), in one table request."""
        source = roads or GeodesicRoad(road_factor)
        km, minutes = source.table(list(places), list(places), speed_kmh)
        km, minutes = np.asarray(km, dtype=float), np.asarray(minutes, dtype=float)
        km.setflags(write=False)
        minutes.setflags(write=False)
        return cls(tuple(places), km, minutes, source.source)

    def drive_minutes(self) -> np.ndarray:
        """Whole driving minutes of every leg, rounded up: a plan never drives faster than its
        source allows."""
        return np.ceil(self.minutes - 1e-9).astype(np.int64)
