"""Places: every stop is where it says — depots, origins (their county), sites; orders known.

Rules ``depot``, ``wrong_origin``, ``wrong_site``, ``unknown_order`` (on boards and alights).
"""

from __future__ import annotations

from typing import Optional

from ..contract import Place, Stop, Trip, VehicleType
from ..network import places
from .common import PLACE_TOL_KM, Facts, stop_label
from .roads import geo_km


def check_places(f: Facts) -> None:
    for tf in f.trips:
        trip, vt = tf.trip, tf.vt
        for i, s in enumerate(trip.stops):
            if s.kind in ("depart", "return"):
                _depot(f, trip, i, s, vt)
            if s.place.station is not None:
                _station(f, trip, i, s)
            elif s.kind == "drop":
                _drop(f, trip, i, s)
            for ld in s.board:
                if ld.order not in f.orders:
                    f.add("unknown_order", trip.id, f"{stop_label(i, s)} boards {ld.count} of unknown order {ld.order!r}")
                elif s.kind == "pickup" and s.place.station is None:
                    _pickup(f, trip, i, s, ld.order)
            for ld in s.alight:
                if ld.order not in f.orders:
                    f.add("unknown_order", trip.id, f"{stop_label(i, s)}: {ld.count} of unknown order {ld.order!r} alight")


def _far(place: Place, pt: places.Point) -> float:
    return geo_km(place.lat, place.lon, pt.lat, pt.lon)


def _depot(f: Facts, trip: Trip, i: int, s: Stop, vt: Optional[VehicleType]) -> None:
    depot = vt.depot if vt else trip.depot
    if s.place.id != depot:
        f.add("depot", trip.id, f"{stop_label(i, s)} is at {s.place.id!r}, not the depot {depot!r} of {trip.vehicle_type}")
        return
    pt = f.depot_pt.get(depot)
    if isinstance(pt, places.Point) and _far(s.place, pt) > PLACE_TOL_KM:
        f.add("depot", trip.id, f"{stop_label(i, s)}: coordinates are {_far(s.place, pt):.1f} km from depot {depot!r}")


def _pickup(f: Facts, trip: Trip, i: int, s: Stop, order: str) -> None:
    pt = f.origin_pt.get(order)
    o = f.orders[order]
    if isinstance(pt, places.PlaceError):
        f.add("wrong_origin", trip.id, f"{stop_label(i, s)}: origin of order {order} cannot be resolved ({pt}), "
              f"so the pickup cannot be verified")
        return
    if pt is None:
        return
    if pt.kind == "coords" and s.place.county is not None and s.place.county[:6] != pt.county:
        f.add("wrong_origin", trip.id, f"{stop_label(i, s)}: says county {s.place.county!r}, but the "
              f"coordinates of order {order} lie in county {pt.county}")
    if pt.kind != "coords" and (s.place.county or "")[:6] != pt.county:
        f.add("wrong_origin", trip.id, f"{stop_label(i, s)}: county {s.place.county!r} is not "
              f"the origin county {pt.county} of order {order}")
    elif _far(s.place, pt) > PLACE_TOL_KM:
        f.add("wrong_origin", trip.id, f"{stop_label(i, s)}: coordinates are {_far(s.place, pt):.1f} km from the "
              f"origin of order {order} ({o.origin.county or o.origin.address or 'coordinates'})")


def _station(f: Facts, trip: Trip, i: int, s: Stop) -> None:
    station = f.stations.get(s.place.station or "")
    if station is None:
        f.add("wrong_station", trip.id, f"{stop_label(i, s)}: {s.place.station!r} is not a station")
        return
    pt = f.station_pt.get(station.id)
    if isinstance(pt, places.Point) and _far(s.place, pt) > PLACE_TOL_KM:
        f.add("wrong_station", trip.id, f"{stop_label(i, s)}: coordinates are {_far(s.place, pt):.1f} km from "
              f"station {station.id}")


def _drop(f: Facts, trip: Trip, i: int, s: Stop) -> None:
    site = f.sites.get(s.place.id or "")
    if site is None:
        f.add("wrong_site", trip.id, f"{stop_label(i, s)}: {s.place.id!r} is not a site")
        return
    pt = f.site_pt.get(site.id)
    if isinstance(pt, places.Point) and _far(s.place, pt) > PLACE_TOL_KM:
        f.add("wrong_site", trip.id, f"{stop_label(i, s)}: coordinates are {_far(s.place, pt):.1f} km from site {site.id}")
    for ld in s.alight:
        o = f.orders.get(ld.order)
        if o is not None and s.place.id != o.site:
            f.add("wrong_site", trip.id, f"{stop_label(i, s)}: {ld.count} of order {o.id} alight at "
                  f"{s.place.id!r}, but the order goes to site {o.site!r}")
