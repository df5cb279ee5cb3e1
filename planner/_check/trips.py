"""Coaches and trips: a known coach, stops in order and long enough, seats, riders, crew, km and
cost, availability, one trip at a time per coach with its turnaround, nothing before ``now``.

Rules ``vehicle_type``, ``bus_index``, ``depot`` (the trip's field), ``duplicate_trip``,
``stop_order``, ``empty_stop``, ``boarding_time``, ``alight_time``, ``pickup_stops``, ``seats``,
``min_riders``, ``crew``, ``km``, ``cost``, ``availability``, ``coach_overlap``, ``turnaround``,
``before_now``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Optional

from ..contract import as_shanghai
from .common import TOL, Facts, TripFacts, fmt, minutes, stop_label


def check_trips(f: Facts) -> None:
    seen: set[str] = set()
    for tf in f.trips:
        trip = tf.trip
        if trip.id in seen:
            f.add("duplicate_trip", trip.id, f"trip id {trip.id!r} is used more than once")
        seen.add(trip.id)
        _coach(f, tf)
        _structure(f, tf)
        _purpose(f, tf)
        _loads(f, tf)
        _crew_km_cost(f, tf)
        _availability(f, tf)


def _coach(f: Facts, tf: TripFacts) -> None:
    trip, vt = tf.trip, tf.vt
    if vt is None:
        f.add("vehicle_type", trip.id, f"unknown vehicle type {trip.vehicle_type!r}")
        return
    if trip.bus >= vt.count:
        f.add("bus_index", trip.id, f"bus {trip.bus} of {vt.id}, which has {vt.count} coach(es) numbered "
              f"0..{vt.count - 1}")
    if trip.depot != vt.depot:
        f.add("depot", trip.id, f"trip depot {trip.depot!r} is not {vt.id}'s depot {vt.depot!r}")


def _structure(f: Facts, tf: TripFacts) -> None:
    """Stop kinds and their order, each stop's times, dwell and monotone times."""
    trip, p = tf.trip, f.p
    stops, tid = trip.stops, trip.id
    kinds = [s.kind for s in stops]
    rank = {"depart": 0, "pickup": 1, "drop": 2, "return": 3}
    ok = (len(stops) >= 4 and kinds[0] == "depart" and kinds[-1] == "return"
          and kinds.count("depart") == 1 and kinds.count("return") == 1
          and "pickup" in kinds and "drop" in kinds
          and all(rank[a] <= rank[b] for a, b in zip(kinds, kinds[1:])))
    if not ok:
        f.add("stop_order", tid, f"stops are {' → '.join(kinds)}; expected depart, 1+ pickups, 1+ drops, return")
    for i, s in enumerate(stops):
        need_a, need_d = s.kind != "depart", s.kind != "return"
        if (need_a and s.arrive is None) or (need_d and s.depart is None):
            f.add("stop_order", tid, f"{stop_label(i, s)} lacks its "
                  f"{'arrive' if need_a and s.arrive is None else 'depart'} time")
        if s.board and s.kind != "pickup":
            f.add("stop_order", tid, f"{stop_label(i, s)} boards workers; only pickups may")
        if s.alight and s.kind != "drop":
            f.add("stop_order", tid, f"{stop_label(i, s)} lets workers alight; only drops may")
        if s.kind == "pickup" and not s.board:
            f.add("empty_stop", tid, f"{stop_label(i, s)} boards nobody")
        if s.kind == "drop" and not s.alight:
            f.add("empty_stop", tid, f"{stop_label(i, s)} lets nobody alight")
    prev: Optional[datetime] = None
    for i, (s, tm) in enumerate(zip(stops, tf.times)):
        if tm.arrive and tm.depart and tm.depart < tm.arrive - TOL:
            f.add("stop_order", tid, f"{stop_label(i, s)} departs {fmt(tm.depart)} before it arrives {fmt(tm.arrive)}")
        if prev and tm.arrive and tm.arrive < prev - TOL:
            f.add("stop_order", tid, f"{stop_label(i, s)} arrives {fmt(tm.arrive)}, before the previous stop "
                  f"departs {fmt(prev)}")
        if tm.arrive and tm.depart:
            dwell = tm.depart - tm.arrive
            if s.kind == "pickup" and dwell < timedelta(minutes=p.boarding_minutes) - TOL:
                f.add("boarding_time", tid, f"{stop_label(i, s)} lasts {minutes(dwell)}, "
                      f"less than {p.boarding_minutes:g} min of boarding")
            if s.kind == "drop" and dwell < timedelta(minutes=p.alight_minutes) - TOL:
                f.add("alight_time", tid, f"{stop_label(i, s)} lasts {minutes(dwell)}, "
                      f"less than {p.alight_minutes:g} min to alight")
        prev = tm.depart or prev


def _purpose(f: Facts, tf: TripFacts) -> None:
    """A direct trip goes from homes to sites; a feeder from homes to stations; a last mile from
    stations to sites."""
    trip = tf.trip
    want = {"direct": (False, False), "feeder": (False, True), "last_mile": (True, False)}[trip.purpose]
    for i, s in enumerate(trip.stops):
        if s.kind not in ("pickup", "drop"):
            continue
        at_station = s.place.station is not None
        expected = want[0] if s.kind == "pickup" else want[1]
        if at_station != expected:
            where = "a station" if at_station else ("a home county" if s.kind == "pickup" else "a site")
            f.add("purpose", trip.id, f"{stop_label(i, s)}: a {trip.purpose} trip's {s.kind} is at {where}")


def _loads(f: Facts, tf: TripFacts) -> None:
    """Seats at every stop, pickup stops, riders."""
    trip, vt, p = tf.trip, tf.vt, f.p
    cap = math.floor(vt.seats * p.occupancy_cap + 1e-9) if vt else None
    on_board: dict[str, int] = {}
    load = riders = 0
    for i, s in enumerate(trip.stops):
        for ld in s.board:
            on_board[ld.order] = on_board.get(ld.order, 0) + ld.count
            load += ld.count
            riders += ld.count
        for ld in s.alight:
            gone = min(ld.count, on_board.get(ld.order, 0))
            on_board[ld.order] = on_board.get(ld.order, 0) - gone
            load -= gone
        if vt is not None and cap is not None and load > cap:
            f.add("seats", trip.id, f"{stop_label(i, s)}: {load} on board, more than "
                  f"floor({vt.seats} seats × {p.occupancy_cap:g}) = {cap}")
    pickups = sum(1 for s in trip.stops if s.kind == "pickup")
    if pickups > p.max_pickup_stops:
        f.add("pickup_stops", trip.id, f"{pickups} pickup stops, more than {p.max_pickup_stops}")
    if riders < p.min_riders_per_trip and not trip.dispatched:  # a dispatched trip runs as it is (no-shows)
        f.add("min_riders", trip.id, f"{riders} rider(s), fewer than {p.min_riders_per_trip}")


def _crew_km_cost(f: Facts, tf: TripFacts) -> None:
    trip, vt, p, legs = tf.trip, tf.vt, f.p, tf.legs
    km = sum(legs)
    if abs(trip.km - km) > 0.005 * km + 0.5:
        f.add("km", trip.id, f"km {trip.km:g} but its legs add up to {km:.1f} km ({f.roads.describe()})")
    kinds = [s.kind for s in trip.stops]
    picks = [i for i, k in enumerate(kinds) if k == "pickup"]
    drops = [i for i, k in enumerate(kinds) if k == "drop"]
    if picks and drops:
        outbound = sum(legs[1:picks[-1] + 1])
        loaded = sum(legs[picks[0] + 1:drops[-1] + 1])
        longest = max(outbound, loaded)
        # half a km of slack: the optimizer may use another (equally exact) geodesic formula
        if longest > p.two_driver_km + 0.5 and trip.crew < 2:
            which = "outbound run (depot → last pickup)" if outbound >= loaded else "loaded run (first pickup → last drop)"
            f.add("crew", trip.id, f"crew {trip.crew} on a {longest:.1f} km {which}; runs over "
                  f"{p.two_driver_km:g} km need 2 drivers")
    if vt is not None:
        cost = vt.fixed_cost + vt.cost_per_km * trip.km + vt.crew_cost * (trip.crew - 1)
        if abs(trip.cost - cost) > 0.005 * abs(cost) + 1:
            f.add("cost", trip.id, f"cost {trip.cost:g} but fixed {vt.fixed_cost:g} + {vt.cost_per_km:g}/km × "
                  f"{trip.km:g} km + crew {vt.crew_cost:g} × {trip.crew - 1} = {cost:.2f}")


def _availability(f: Facts, tf: TripFacts) -> None:
    vt, start, end = tf.vt, tf.start, tf.end
    if vt is None or start is None or end is None:
        return
    if start < vt.available_from - TOL:
        f.add("availability", tf.trip.id, f"leaves the depot {fmt(start)}, before {vt.id} is available "
              f"({fmt(vt.available_from)})")
    if end > vt.available_until + TOL:
        f.add("availability", tf.trip.id, f"returns {fmt(end)}, after {vt.id} is available ({fmt(vt.available_until)})")


def check_coaches(f: Facts) -> None:
    """Trips of one coach do not overlap and leave it its turnaround at the depot."""
    turnaround = timedelta(minutes=f.p.turnaround_minutes)
    for (vt, bus), uses in f.coach_use.items():
        last_end: Optional[datetime] = None
        last_id = ""
        for start, end, tid in sorted(uses):
            if last_end is not None and start < last_end - TOL:
                f.add("coach_overlap", tid, f"coach {vt} #{bus} leaves {fmt(start)} while still "
                      f"on trip {last_id} until {fmt(last_end)}")
            elif last_end is not None and start - last_end < turnaround - TOL:
                f.add("turnaround", tid, f"coach {vt} #{bus} leaves {fmt(start)}, {minutes(start - last_end)} after "
                      f"trip {last_id} returned ({fmt(last_end)}); a coach needs {f.p.turnaround_minutes:g} min at "
                      f"its depot between trips")
            if last_end is None or end > last_end:
                last_end, last_id = end, tid


def check_now(f: Facts) -> None:
    """Nothing but dispatched trips leaves before the plan's ``solver.now``."""
    now = f.plan.solver.now
    if now is None:
        return
    for tf in f.trips:
        if tf.start is not None and not tf.trip.dispatched and tf.start < as_shanghai(now) - TOL:
            f.add("before_now", tf.trip.id, f"leaves {fmt(tf.start)}, before the plan was made ({fmt(now)}); "
                  f"only dispatched trips may lie in the past")
