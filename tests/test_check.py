"""Tests of planner.check: the hand-made tiny plan passes, and each broken plan is caught."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import time as clock
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from geopy.distance import geodesic

from planner._check.journey import fastest_ride
from planner.check import RULE_CODES, Violation, check, journey
from planner.contract import SHANGHAI, Plan, Scenario
from planner.network import places

FIXTURES = Path(__file__).parent / "fixtures" / "check"


# ------------------------------------------------------------------ factories


def tiny() -> tuple[dict, dict]:
    """Fresh copies of the example pair: 38 workers of 滑县 (410526) on one coach to F1."""
    sc = json.loads((FIXTURES / "scenario-tiny.json").read_text(encoding="utf-8"))
    pl = json.loads((FIXTURES / "plan-tiny.json").read_text(encoding="utf-8"))
    return sc, pl


def run(sc: dict, pl: dict) -> list[Violation]:
    return check(Scenario.model_validate(copy.deepcopy(sc)), Plan.model_validate(copy.deepcopy(pl)))


def codes(sc: dict, pl: dict) -> set[str]:
    return {v.rule for v in run(sc, pl)}


def stop(pl: dict, kind: str, trip: int = 0) -> dict:
    """The first stop of ``kind`` in trip number ``trip``."""
    return next(s for s in pl["trips"][trip]["stops"] if s["kind"] == kind)


def iso(text: str) -> str:
    return f"2027-02-11T{text}:00+08:00" if len(text) == 5 else text


def order(oid: str, county: str, headcount: int, cleared: int, site: str = "F1",
          earliest: str = "2027-02-11T00:00:00+08:00", arrive_by: str = "2027-02-14T00:00:00+08:00") -> dict:
    return {"id": oid, "agency": "a", "origin": {"county": county}, "site": site,
            "headcount": headcount, "cleared": cleared,
            "earliest_departure": earliest, "arrive_by": arrive_by}


def _road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geodesic(a, b).km * 1.3


def build_trip(sc: dict, tid: str, pickups: list, drops: list, start: datetime,
               bus: int = 0, crew: int | None = None, vt: str = "coach53") -> dict:
    """A rule-abiding trip: legs at 75 km/h driven in ≤3 h pieces with 30 min breaks.

    ``pickups`` is ``[(county, [(order, count), ...]), ...]``, ``drops`` is
    ``[(site, [(order, count), ...]), ...]``. Stops last 30 min (pickup) and 20 min (drop).
    """
    table = places.counties()
    fleet = next(v for v in sc["fleet"] if v["id"] == vt)
    depot = next(d for d in sc["depots"] if d["id"] == fleet["depot"])
    sites = {s["id"]: s for s in sc["sites"]}
    dep_place = {"id": depot["id"], "name": depot["name"], **depot["location"]}
    seq = [("depart", dep_place, [])]
    for county, loads in pickups:
        c = table[county]
        seq.append(("pickup", {"county": county, "name": c.name, "lat": c.lat, "lon": c.lon}, loads))
    for site, loads in drops:
        s = sites[site]
        seq.append(("drop", {"id": site, "name": s["name"], **s["location"]}, loads))
    seq.append(("return", dep_place, []))

    stops, t, legs = [], start, []
    for i, (kind, place, loads) in enumerate(seq):
        st: dict = {"kind": kind, "place": place}
        if i > 0:
            prev = seq[i - 1][1]
            km = _road_km((prev["lat"], prev["lon"]), (place["lat"], place["lon"]))
            legs.append(km)
            left = timedelta(minutes=math.ceil(km / 75 * 60))
            drive = []
            while left > timedelta(0):
                piece = min(left, timedelta(hours=3))
                drive.append([t.isoformat(), (t + piece).isoformat()])
                t += piece
                left -= piece
                if left > timedelta(0):
                    t += timedelta(minutes=30)
            st["drive"] = drive
            st["arrive"] = t.isoformat()
        if kind != "return":
            t += timedelta(minutes={"depart": 0, "pickup": 30, "drop": 20}[kind])
            st["depart"] = t.isoformat()
        if kind == "pickup":
            st["board"] = [{"order": o, "count": n} for o, n in loads]
        if kind == "drop":
            st["alight"] = [{"order": o, "count": n} for o, n in loads]
        stops.append(st)
    km = round(sum(legs), 1)
    n_pick = len(pickups)
    outbound = sum(legs[:n_pick])
    loaded = sum(legs[n_pick:n_pick + len(drops)])
    if crew is None:
        crew = 2 if max(outbound, loaded) > 400 else 1
    cost = round(fleet["fixed_cost"] + fleet["cost_per_km"] * km + fleet["crew_cost"] * (crew - 1), 2)
    return {"id": tid, "vehicle_type": vt, "bus": bus, "depot": depot["id"], "crew": crew,
            "cohort": "low", "km": km, "cost": cost, "stops": stops}


def finish(sc: dict, trips: list[dict]) -> dict:
    """A plan around ``trips``: unassigned workers and summary filled in consistently."""
    boarded: dict[str, int] = {}
    for t in trips:
        for s in t["stops"]:
            for ld in s.get("board", []):
                boarded[ld["order"]] = boarded.get(ld["order"], 0) + ld["count"]
    unassigned = []
    for o in sc["orders"]:
        pending = o["headcount"] - o["cleared"] - o.get("failed", 0)
        for reason, n in (("screening_pending", pending), ("screening_failed", o.get("failed", 0)),
                          ("no_vehicle", o["cleared"] - boarded.get(o["id"], 0))):
            if n > 0:
                unassigned.append({"order": o["id"], "count": n, "reason": reason})
    km = round(sum(t["km"] for t in trips), 1)
    return {
        "scenario": sc["name"], "solver": {"seconds": 0, "status": "test"},
        "trips": trips, "unassigned": unassigned,
        "summary": {
            "workers_requested": sum(o["headcount"] for o in sc["orders"]),
            "workers_eligible": sum(o["cleared"] for o in sc["orders"]),
            "workers_planned": sum(boarded.values()),
            "trips": len(trips), "buses_used": len({(t["vehicle_type"], t["bus"]) for t in trips}),
            "km": km, "cost": round(sum(t["cost"] for t in trips), 2), "lower_bound_km": 0.0,
        },
    }


def two_counties() -> tuple[dict, dict]:
    """滑县 (410526, 20 workers) and 浚县 (410621, 15 workers) share one coach to F1."""
    sc, _ = tiny()
    sc["orders"] = [order("O1", "410526", 20, 20), order("O2", "410621", 15, 15)]
    trip = build_trip(sc, "T1", [("410526", [("O1", 20)]), ("410621", [("O2", 15)])],
                      [("F1", [("O1", 20), ("O2", 15)])], datetime(2027, 2, 11, 8, 0, tzinfo=SHANGHAI))
    return sc, finish(sc, [trip])


def far_run(crew: int | None = None) -> tuple[dict, dict]:
    """30 workers from 历下区 (370102), ~490 road km from the depot: a two-driver run."""
    sc, _ = tiny()
    sc["orders"] = [order("O1", "370102", 30, 30)]
    trip = build_trip(sc, "T1", [("370102", [("O1", 30)])], [("F1", [("O1", 30)])],
                      datetime(2027, 2, 11, 5, 0, tzinfo=SHANGHAI), crew=crew)
    return sc, finish(sc, [trip])


def split_tiny() -> tuple[dict, dict]:
    """The tiny plan as two trips of 19 workers on coaches 0 and 1 at the same time."""
    sc, pl = tiny()
    t1 = pl["trips"][0]
    stop(pl, "pickup")["board"][0]["count"] = 19
    stop(pl, "drop")["alight"][0]["count"] = 19
    t2 = copy.deepcopy(t1)
    t2["id"], t2["bus"] = "T2", 1
    pl["trips"].append(t2)
    pl["summary"].update(trips=2, buses_used=2, km=2 * t1["km"], cost=2 * t1["cost"])
    return sc, pl


# ------------------------------------------------------------------ valid plans


def test_tiny_example_passes():
    """The hand-made example pair obeys every rule: no violations."""
    sc, pl = tiny()
    assert run(sc, pl) == []


def test_shared_example_passes():
    """The example files as shipped in ../shared/examples (when present) pass unchanged."""
    shared = Path("/work/shared/examples")
    if not (shared / "plan-tiny.json").exists():
        pytest.skip("shared examples not available")
    sc = Scenario.model_validate(json.loads((shared / "scenario-tiny.json").read_text(encoding="utf-8")))
    pl = Plan.model_validate(json.loads((shared / "plan-tiny.json").read_text(encoding="utf-8")))
    assert check(sc, pl) == []


def test_factory_plans_pass():
    """The test factories build valid plans: two pickups, a two-driver run, two coaches."""
    for sc, pl in (two_counties(), far_run(), split_tiny()):
        assert run(sc, pl) == [], run(sc, pl)


def test_violation_is_frozen_and_readable():
    """A Violation is immutable and prints its rule, trip and message."""
    v = Violation("seats", "T1", "too many")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.rule = "x"  # type: ignore[misc]
    assert str(v) == "[seats] trip T1: too many"


def test_naive_plan_times_read_as_shanghai():
    """Plan times without an offset are read as Asia/Shanghai, so the example still passes."""
    sc, pl = tiny()
    for s in pl["trips"][0]["stops"]:
        for k in ("arrive", "depart"):
            if k in s:
                s[k] = s[k].replace("+08:00", "")
    assert run(sc, pl) == []


# ------------------------------------------------------------------ seats, cohorts, regions


def test_overload():
    """38 on board with a 50 % cap on 53 seats (floor 26) breaks the seat rule."""
    sc, pl = tiny()
    sc["policy"]["occupancy_cap"] = 0.5
    assert "seats" in codes(sc, pl)


def test_seats_exactly_at_cap_pass():
    """Exactly floor(seats × cap) on board is allowed: 38 of a 0.72 cap on 53 seats (38.16)."""
    sc, pl = tiny()
    sc["policy"]["occupancy_cap"] = 0.72
    assert run(sc, pl) == []


def test_mixed_cohorts():
    """A medium-risk county and a low one on the same trip is a mixed cohort."""
    sc, pl = two_counties()
    sc["regions"] = [{"county": "410621", "risk": "medium", "from": "2027-02-01T00:00:00+08:00"}]
    assert "cohort_mixed" in codes(sc, pl)


def test_medium_cohort_alone_passes_and_must_be_declared():
    """A medium-only trip passes when it says cohort medium, and is flagged when it says low."""
    sc, pl = tiny()
    sc["regions"] = [{"county": "410526", "risk": "medium"}]
    assert codes(sc, pl) == {"cohort"}
    pl["trips"][0]["cohort"] = "medium"
    assert run(sc, pl) == []


def test_pickup_in_high_risk_county():
    """A pickup at a county while it is high risk is region_closed."""
    sc, pl = tiny()
    sc["regions"] = [{"county": "410526", "risk": "high", "from": "2027-02-10T00:00:00+08:00",
                      "until": "2027-02-12T00:00:00+08:00"}]
    assert "region_closed" in codes(sc, pl)


def test_high_risk_ending_as_stop_begins_passes():
    """A high period that ends when the coach arrives (08:00) does not overlap the pickup."""
    sc, pl = tiny()
    sc["regions"] = [{"county": "410526", "risk": "high", "until": "2027-02-11T08:00:00+08:00"}]
    assert run(sc, pl) == []


def test_high_risk_starting_during_stop():
    """A high period starting during the pickup (08:10, stop 08:00–08:30) overlaps it."""
    sc, pl = tiny()
    sc["regions"] = [{"county": "410526", "risk": "high", "from": "2027-02-11T08:10:00+08:00"}]
    assert "region_closed" in codes(sc, pl)


def test_screening_expired():
    """Boarding at 08:30 after screening expired at 08:00 is caught."""
    sc, pl = tiny()
    sc["orders"][0]["screening_valid_until"] = "2027-02-11T08:00:00+08:00"
    assert "screening_expired" in codes(sc, pl)


# ------------------------------------------------------------------ coaches


def test_overlapping_coach():
    """Two trips of the same coach at the same time overlap."""
    sc, pl = split_tiny()
    pl["trips"][1]["bus"] = 0
    pl["summary"]["buses_used"] = 1
    assert codes(sc, pl) == {"coach_overlap"}


def second_trip(hours: float, minutes: float = 0, *, bus: int = 0) -> tuple[dict, dict]:
    """The split tiny plan with its second trip (T2) moved ``hours``:``minutes`` later on ``bus``.

    T1 leaves the depot 05:00 and returns 13:30 having driven ~5 h 10 min (滑县, one driver)."""
    sc, pl = split_tiny()
    sc["sites"][0].update(receive_from="00:00", receive_until="24:00")
    t2 = pl["trips"][1]
    t2["bus"] = bus
    pl["summary"]["buses_used"] = len({t["bus"] for t in pl["trips"]})
    shift_trip(t2, timedelta(hours=hours, minutes=minutes))
    return sc, pl


def shift_trip(trip: dict, delta: timedelta) -> None:
    """Move every time of ``trip`` (stops and driving) later by ``delta``."""
    def later(text: str) -> str:
        return (datetime.fromisoformat(text) + delta).isoformat()

    for s in trip["stops"]:
        for k in ("arrive", "depart"):
            if k in s:
                s[k] = later(s[k])
        s["drive"] = [[later(a), later(b)] for a, b in s.get("drive", [])]


def test_back_to_back_trips_break_the_turnaround_and_the_crews_day():
    """A coach leaving again the minute it returns (13:30) has no turnaround, and its one driver,
    who stays with the coach, drives ~10 h in a day."""
    sc, pl = second_trip(8, 30)
    found = run(sc, pl)
    assert {v.rule for v in found} == {"turnaround", "daily_driving"}
    daily = next(v for v in found if v.rule == "daily_driving")
    assert "coach53#0/1" in daily.message and "T1, T2" in daily.message


def test_turnaround_kept_but_the_crew_still_drives_too_long():
    """An hour at the depot satisfies the turnaround; the driver's 24 h still holds ~10 h."""
    sc, pl = second_trip(9, 30)
    assert codes(sc, pl) == {"daily_driving"}
    sc["policy"]["max_daily_driving_hours"] = 11
    assert run(sc, pl) == []


def test_a_fresh_driver_from_the_pool_takes_the_coach_out_again():
    """Crews may change at the depot: with the second trip driven by a pool driver, each driver
    drives ~5 h and the plan is legal; a driver outside every pool is refused."""
    sc, pl = second_trip(9, 30)
    sc["depots"][0]["drivers"] = ["张师傅", "李师傅"]
    pl["trips"][0]["drivers"] = ["张师傅"]
    pl["trips"][1]["drivers"] = ["李师傅"]
    assert run(sc, pl) == []
    pl["trips"][1]["drivers"] = ["张师傅"]
    assert codes(sc, pl) == {"daily_driving"}
    pl["trips"][1]["drivers"] = ["王师傅"]
    assert codes(sc, pl) == {"drivers"}


def test_named_drivers_one_per_seat_of_the_crew_and_never_in_two_places():
    """Two coaches at the same time cannot share a driver; a crew of 1 names one driver."""
    sc, pl = second_trip(0, bus=1)
    sc["fleet"][0]["drivers"] = ["张师傅", "李师傅"]
    pl["trips"][0]["drivers"] = ["张师傅"]
    pl["trips"][1]["drivers"] = ["张师傅"]
    assert codes(sc, pl) == {"driver_overlap"}
    pl["trips"][1]["drivers"] = ["李师傅", "张师傅"]
    assert codes(sc, pl) == {"drivers", "driver_overlap"}


def test_a_stretch_runs_on_from_one_trip_into_the_next():
    """With no turnaround and a 30-minute break, the far run's last 33 min before the drop, the
    20-minute drop, the 5 min back to the depot and the next trip's first 3 h out are one
    stretch of 3 h 38 min, over a 3.5 h limit."""
    sc, pl = far_run()
    t1 = pl["trips"][0]
    t2 = copy.deepcopy(t1)
    t2["id"] = "T2"
    shift_trip(t2, datetime.fromisoformat(t1["stops"][-1]["arrive"]) - datetime.fromisoformat(t1["stops"][0]["depart"]))
    sc["orders"][0]["headcount"] = sc["orders"][0]["cleared"] = 60
    for s in t2["stops"]:
        for ld in s.get("board", []) + s.get("alight", []):
            ld["count"] = 30
    pl = finish(sc, [t1, t2])
    sc["policy"].update(turnaround_minutes=0, break_minutes=30, max_daily_driving_hours=24,
                        max_continuous_driving_hours=3.5)
    found = [v for v in run(sc, pl) if v.rule == "continuous_driving"]
    assert found and "across trips T1, T2" in found[0].message


def test_nothing_but_dispatched_trips_leaves_before_now():
    """A plan made at 06:00 cannot have a trip that left the depot at 05:00, unless it was dispatched."""
    sc, pl = tiny()
    pl["solver"]["now"] = "2027-02-11T06:00:00+08:00"
    assert codes(sc, pl) == {"before_now"}
    pl["trips"][0]["dispatched"] = True
    assert run(sc, pl) == []


def test_screening_batches_are_matched_worker_by_worker():
    """38 cleared workers board at 08:30; 10 of them were screened to 08:00 only: caught. With 10
    valid until 09:00 the boarding is fine, whatever the order's own screening_valid_until."""
    sc, pl = tiny()
    sc["orders"][0]["screening_batches"] = [{"count": 10, "until": "2027-02-11T08:00:00+08:00"},
                                            {"count": 28, "until": "2027-02-12T00:00:00+08:00"}]
    assert codes(sc, pl) == {"screening_expired"}
    sc["orders"][0]["screening_batches"][0]["until"] = "2027-02-11T09:00:00+08:00"
    sc["orders"][0]["screening_valid_until"] = "2027-02-11T07:00:00+08:00"
    assert run(sc, pl) == []


def test_road_km_from_the_plans_own_source(tmp_path):
    """A plan measured with a road-distance CSV passes when checked with the same CSV (named by
    the plan or given), and fails when measured geodesically."""
    sc, pl = tiny()
    km = {("D1", "410526"): 200.0, ("410526", "F1"): 190.0, ("F1", "D1"): 6.0}
    path = tmp_path / "roads.csv"
    path.write_text("from,to,km\n" + "".join(f"{a},{b},{v}\n" for (a, b), v in km.items()), encoding="utf-8")
    t = pl["trips"][0]
    t["km"] = 396.0
    t["cost"] = 1000 + 7 * 396.0
    pl["summary"].update(km=396.0, cost=t["cost"])
    assert "km" in codes(sc, pl)
    assert check(Scenario.model_validate(sc), Plan.model_validate(pl), roads=str(path)) == []
    pl["solver"]["roads"] = str(path)
    assert run(sc, pl) == []


def test_coordinates_are_checked_in_their_county():
    """A pickup at coordinates in 滑县 while 滑县 is high risk is region_closed; a stop that
    names another county for those coordinates is wrong_origin."""
    sc, pl = tiny()
    sc["orders"][0]["origin"] = {"lat": 35.58, "lon": 114.52}
    place = stop(pl, "pickup")["place"]
    place.update(lat=35.58, lon=114.52, id="35.58000,114.52000")
    sc["regions"] = [{"county": "410526", "risk": "high", "until": "2027-02-12T00:00:00+08:00"}]
    assert codes(sc, pl) == {"region_closed"}
    sc["regions"] = []
    place["county"] = "410621"
    assert codes(sc, pl) == {"wrong_origin"}


def test_bus_index_out_of_range():
    """Bus 2 of a type with two coaches (0 and 1) does not exist."""
    sc, pl = tiny()
    pl["trips"][0]["bus"] = 2
    assert "bus_index" in codes(sc, pl)


def test_unknown_vehicle_type():
    """A trip on a vehicle type not in the fleet is caught."""
    sc, pl = tiny()
    pl["trips"][0]["vehicle_type"] = "coach99"
    assert "vehicle_type" in codes(sc, pl)


def test_availability_window():
    """Leaving the depot before the type's available_from is caught."""
    sc, pl = tiny()
    sc["fleet"][0]["available_from"] = "2027-02-11T06:00:00+08:00"
    assert codes(sc, pl) == {"availability"}


def test_wrong_depot():
    """A trip that ends at another depot than its type's is caught."""
    sc, pl = tiny()
    sc["depots"].append({"id": "D2", "name": "other", "location": {"lat": 34.56, "lon": 113.81}})
    pl["trips"][0]["stops"][-1]["place"]["id"] = "D2"
    assert "depot" in codes(sc, pl)


def test_crew_one_on_long_run():
    """One driver on a ~490 km outbound run (over 400 km) breaks the crew rule."""
    sc, pl = far_run(crew=1)
    assert "crew" in codes(sc, pl)


def test_crew_rule_with_lower_threshold():
    """The threshold is policy.two_driver_km: 169 km outbound needs two drivers above 150 km."""
    sc, pl = tiny()
    sc["policy"]["two_driver_km"] = 150
    assert codes(sc, pl) == {"crew"}


def test_wrong_km():
    """A trip km far from its recomputed legs (345.4 km) is caught."""
    sc, pl = tiny()
    pl["trips"][0]["km"] = 300
    assert "km" in codes(sc, pl)


def test_km_within_tolerance_passes():
    """A km within 0.5 % + 0.5 km of the legs passes (345.44 → 346.5 is within 2.2 km)."""
    sc, pl = tiny()
    pl["trips"][0]["km"] = 346.5
    pl["trips"][0]["cost"] = 1000 + 7 * 346.5
    pl["summary"].update(km=346.5, cost=1000 + 7 * 346.5)
    assert run(sc, pl) == []


def test_wrong_cost():
    """A trip cost that is not fixed + per-km × km + crew cost is caught."""
    sc, pl = tiny()
    pl["trips"][0]["cost"] = 3000
    pl["summary"]["cost"] = 3000
    assert codes(sc, pl) == {"cost"}


def test_min_riders():
    """Fewer riders than policy.min_riders_per_trip is caught."""
    sc, pl = tiny()
    sc["policy"]["min_riders_per_trip"] = 39
    assert codes(sc, pl) == {"min_riders"}


# ------------------------------------------------------------------ stops and places


def test_wrong_site():
    """Workers of an order bound for F2 alighting at F1 are caught."""
    sc, pl = tiny()
    sc["sites"].append({"id": "F2", "name": "F2", "location": {"lat": 34.53, "lon": 113.72}})
    sc["orders"][0]["site"] = "F2"
    assert "wrong_site" in codes(sc, pl)


def test_drop_coordinates_must_match_site():
    """A drop named F1 but 10 km away from F1 is caught."""
    sc, pl = tiny()
    stop(pl, "drop")["place"]["lon"] = 113.95
    assert "wrong_site" in codes(sc, pl)


def test_pickup_in_wrong_county():
    """A pickup claiming another county than the order's origin is caught."""
    sc, pl = tiny()
    stop(pl, "pickup")["place"]["county"] = "410621"
    assert "wrong_origin" in codes(sc, pl)


def test_pickup_coordinates_must_match_origin():
    """A pickup 20 km away from the origin county's seat is caught."""
    sc, pl = tiny()
    stop(pl, "pickup")["place"]["lat"] = 35.75
    assert "wrong_origin" in codes(sc, pl)


def test_coordinate_origin():
    """An origin given as coordinates is picked up there; its risk is the nearest county's (滑县)."""
    sc, pl = tiny()
    sc["orders"][0]["origin"] = {"lat": 35.58, "lon": 114.52}
    place = stop(pl, "pickup")["place"]
    place.update(lat=35.58, lon=114.52)
    del place["county"]
    assert run(sc, pl) == []
    sc["regions"] = [{"county": "410526", "risk": "medium"}]
    assert codes(sc, pl) == {"cohort"}


def test_address_origin():
    """An origin given as a Chinese address resolves to its county (滑县) and must match the pickup."""
    sc, pl = tiny()
    sc["orders"][0]["origin"] = {"address": "河南省安阳市滑县道口镇"}
    assert run(sc, pl) == []
    stop(pl, "pickup")["place"]["county"] = "410621"
    assert "wrong_origin" in codes(sc, pl)


def test_too_many_pickup_stops():
    """Two pickup stops with policy.max_pickup_stops = 1 is caught."""
    sc, pl = two_counties()
    sc["policy"]["max_pickup_stops"] = 1
    assert codes(sc, pl) == {"pickup_stops"}


def test_stop_order():
    """A drop before the pickup breaks the stop order."""
    sc, pl = tiny()
    s = pl["trips"][0]["stops"]
    s[1], s[2] = s[2], s[1]
    assert "stop_order" in codes(sc, pl)


def test_time_going_backwards():
    """A stop that departs before it arrives is caught."""
    sc, pl = tiny()
    stop(pl, "drop")["depart"] = iso("12:00")
    assert "stop_order" in codes(sc, pl)


def test_boarding_time_too_short():
    """A 10-minute pickup is shorter than the 30 boarding minutes."""
    sc, pl = tiny()
    stop(pl, "pickup")["depart"] = iso("08:10")
    assert "boarding_time" in codes(sc, pl)


def test_alight_time_too_short():
    """A 5-minute drop is shorter than the 20 alighting minutes."""
    sc, pl = tiny()
    stop(pl, "drop")["depart"] = iso("12:35")
    assert "alight_time" in codes(sc, pl)


def test_workers_never_alight():
    """Workers who board and do not alight on the same trip are caught."""
    sc, pl = tiny()
    stop(pl, "drop")["alight"][0]["count"] = 30
    assert codes(sc, pl) == {"alight_mismatch"}


def test_alight_before_boarding():
    """A drop ahead of the pickup: nobody is on board to alight, and the boarders never alight."""
    sc, pl = tiny()
    s = pl["trips"][0]["stops"]
    s[1], s[2] = s[2], s[1]
    msgs = [v.message for v in run(sc, pl) if v.rule == "alight_mismatch"]
    assert len(msgs) == 2 and "never alight" in msgs[1]


# ------------------------------------------------------------------ workers


def test_worker_planned_twice():
    """40 boarded of 38 cleared, plus 2 unassigned: counted twice and not all cleared."""
    sc, pl = tiny()
    stop(pl, "pickup")["board"][0]["count"] = 40
    stop(pl, "drop")["alight"][0]["count"] = 40
    assert {"cleared", "worker_count"} <= codes(sc, pl)


def test_worker_on_two_trips():
    """The same order boarded on two trips beyond its count is caught."""
    sc, pl = split_tiny()
    for t in pl["trips"]:
        t["stops"][1]["board"][0]["count"] = 38
        t["stops"][2]["alight"][0]["count"] = 38
    assert {"cleared", "worker_count"} <= codes(sc, pl)


def test_worker_lost():
    """30 boarded + 2 unassigned of a headcount of 40: 8 workers are lost."""
    sc, pl = tiny()
    stop(pl, "pickup")["board"][0]["count"] = 30
    stop(pl, "drop")["alight"][0]["count"] = 30
    assert "worker_count" in codes(sc, pl)


def test_unassigned_reason_must_match_screening():
    """The 2 pending workers must be unassigned as screening_pending, not no_vehicle."""
    sc, pl = tiny()
    pl["unassigned"][0]["reason"] = "no_vehicle"
    assert codes(sc, pl) == {"unassigned_reason"}


def test_unknown_order():
    """Boarding an order id the scenario does not know is caught."""
    sc, pl = tiny()
    stop(pl, "pickup")["board"][0]["order"] = "O9"
    stop(pl, "drop")["alight"][0]["order"] = "O9"
    assert {"unknown_order", "worker_count"} <= codes(sc, pl)


# ------------------------------------------------------------------ time windows


def test_late_arrival():
    """Arriving at 12:30 for an arrive_by of 12:00 is late."""
    sc, pl = tiny()
    sc["orders"][0]["arrive_by"] = "2027-02-11T12:00:00+08:00"
    assert codes(sc, pl) == {"late_arrival"}


def test_earliest_departure():
    """Boarding at 08:30 before the order's earliest departure 09:00 is caught."""
    sc, pl = tiny()
    sc["orders"][0]["earliest_departure"] = "2027-02-11T09:00:00+08:00"
    assert codes(sc, pl) == {"earliest_departure"}


def test_receiving_hours():
    """A drop at 12:30 at a site receiving from 13:00 is outside its hours."""
    sc, pl = tiny()
    sc["sites"][0]["receive_from"] = "13:00"
    assert codes(sc, pl) == {"receiving_hours"}


def test_receiving_hours_depart_counts():
    """The drop's depart (12:50) must also be within hours: receive_until 12:40 is broken."""
    sc, pl = tiny()
    sc["sites"][0]["receive_until"] = "12:40"
    assert codes(sc, pl) == {"receiving_hours"}


def test_site_intake_per_day():
    """38 workers on one day at a site taking 30 a day exceeds its intake."""
    sc, pl = tiny()
    sc["sites"][0]["intake_per_day"] = 30
    assert codes(sc, pl) == {"site_intake"}


def test_site_intake_counts_per_day():
    """Two trips of 19 on different days fit an intake of 20 a day; on one day they do not."""
    sc, pl = split_tiny()
    sc["sites"][0]["intake_per_day"] = 20
    sc["orders"][0]["arrive_by"] = "2027-02-13T00:00:00+08:00"
    assert codes(sc, pl) == {"site_intake"}
    for s in pl["trips"][1]["stops"]:
        for k in ("arrive", "depart"):
            if k in s:
                s[k] = (datetime.fromisoformat(s[k]) + timedelta(days=1)).isoformat()
    assert run(sc, pl) == []


def test_ride_time():
    """A 4 h ride (08:30–12:30) exceeds max_ride_hours = 3."""
    sc, pl = tiny()
    sc["policy"]["max_ride_hours"] = 3
    assert codes(sc, pl) == {"ride_time"}


RUZHOU, LIXIA = "410482", "370102"  # 汝州市 (~100 road km west of F1), 历下区 (Jinan, ~490 km)


def _detour_trip(first: str, second: str) -> tuple[dict, dict]:
    """20 workers of 汝州市 and 20 of 历下区 on one coach to F1, ``first`` boarded first."""
    sc, _ = tiny()
    sc["orders"] = [order("N", RUZHOU, 20, 20), order("X", LIXIA, 20, 20)]
    oid = {RUZHOU: "N", LIXIA: "X"}
    trip = build_trip(sc, "T1", [(first, [(oid[first], 20)]), (second, [(oid[second], 20)])],
                      [("F1", [("N", 20), ("X", 20)])], datetime(2027, 2, 11, 5, 0, tzinfo=SHANGHAI), crew=2)
    return sc, finish(sc, [trip])


def test_a_near_county_boarded_before_a_far_detour_is_caught():
    """汝州市's workers boarded first ride on to 历下区 and back: about 17 h for a 1.75 h direct
    ride, over the default limit (direct + 4 h or twice direct). 历下区's workers ride straight
    to the site (no stop in between): no detour."""
    sc, pl = _detour_trip(RUZHOU, LIXIA)
    found = [v for v in run(sc, pl) if v.rule == "detour"]
    assert len(found) == 1 and found[0].trip == "T1"
    assert "汝州市" in found[0].message and "20 worker(s)" in found[0].message
    ride, direct, most = (float(x) for x in re.findall(r"(\d+\.\d+) h", found[0].message))
    assert ride > 12 and 1 < direct < 2.5 and most == pytest.approx(direct + 4, abs=0.01)


def test_the_far_county_boarded_first_keeps_every_ride_within_the_detour_limit():
    """The same coach boarding 历下区 first: 汝州市's workers ride straight in, 历下区's ride via
    汝州市 within twice their direct ride. A pooled pair of neighbours passes too."""
    sc, pl = _detour_trip(LIXIA, RUZHOU)
    assert "detour" not in codes(sc, pl)
    assert "detour" not in codes(*two_counties())


def test_the_detour_limit_follows_the_policy():
    """Both terms null: no detour limit; 20 extra hours allowed: the near-first coach passes."""
    sc, pl = _detour_trip(RUZHOU, LIXIA)
    sc["policy"].update(max_detour_hours=None, max_detour_share=None)
    assert "detour" not in codes(sc, pl)
    sc["policy"].update(max_detour_hours=20)
    assert "detour" not in codes(sc, pl)
    sc["policy"].update(max_detour_hours=None, max_detour_share=1.0)
    assert "detour" in codes(sc, pl)


def test_time_rules_off_skips_time_windows():
    """With policy.time_rules false, deadline, hours, intake and ride time are not checked."""
    sc, pl = tiny()
    sc["orders"][0]["arrive_by"] = "2027-02-11T12:00:00+08:00"
    sc["orders"][0]["earliest_departure"] = "2027-02-11T08:00:00+08:00"
    sc["sites"][0].update(receive_from="13:00", intake_per_day=30)
    sc["policy"].update(max_ride_hours=3, time_rules=False)
    assert run(sc, pl) == []


# ------------------------------------------------------------------ driving


def test_leg_too_fast():
    """Reaching 滑县 (169 km, 135 min at 75 km/h) one hour after leaving is impossible."""
    sc, pl = tiny()
    pl["trips"][0]["stops"][0]["depart"] = iso("07:00")
    assert "leg_time" in codes(sc, pl)


def test_drive_intervals_too_short():
    """A drive list of 60 min for a 169 km leg is less than km / speed."""
    sc, pl = tiny()
    stop(pl, "pickup")["drive"] = [[iso("05:00"), iso("06:00")]]
    assert codes(sc, pl) == {"leg_time"}


def test_night_rest():
    """Driving 02:30–04:50 is inside the 02:00–05:00 night rest."""
    sc, pl = tiny()
    pl["trips"][0]["stops"][0]["depart"] = iso("02:00")
    stop(pl, "pickup")["drive"] = [[iso("02:30"), iso("04:50")]]
    assert "night_rest" in codes(sc, pl)


def test_night_rest_off():
    """With policy.night_rest null, driving at 03:00 is allowed (night stretch under 2 h)."""
    sc, pl = tiny()
    sc["policy"]["night_rest"] = None
    pl["trips"][0]["stops"][0]["depart"] = iso("02:00")
    stop(pl, "pickup")["drive"] = [[iso("02:30"), iso("03:30")], [iso("04:00"), iso("05:20")]]
    assert run(sc, pl) == []


def test_night_continuous_driving():
    """2 h 15 min of driving in one stretch inside night hours (22:00–06:00) exceeds 2 h."""
    sc, pl = tiny()
    sc["policy"]["night_rest"] = None
    pl["trips"][0]["stops"][0]["depart"] = iso("02:00")
    stop(pl, "pickup")["drive"] = [[iso("02:30"), iso("04:45")]]
    assert codes(sc, pl) == {"night_driving"}


def test_continuous_driving():
    """4 h 20 min of driving with only a 10-minute pause exceeds 4 h continuous driving."""
    sc, pl = tiny()
    stop(pl, "pickup")["drive"] = [[iso("05:00"), iso("07:30")], [iso("07:40"), iso("09:30")]]
    shift_after_depot(pl, timedelta(hours=2))
    assert codes(sc, pl) == {"continuous_driving"}


def test_break_of_twenty_minutes_resets_stretch():
    """The same 4 h 20 min of driving with a 20-minute break is two legal stretches."""
    sc, pl = tiny()
    stop(pl, "pickup")["drive"] = [[iso("05:00"), iso("07:30")], [iso("07:50"), iso("09:40")]]
    shift_after_depot(pl, timedelta(hours=2))
    assert run(sc, pl) == []


def test_daily_driving():
    """8 h to the pickup plus 2 h 17 min loaded, within 24 h, exceeds 1 × 8 h."""
    sc, pl = tiny()
    stop(pl, "pickup")["drive"] = [[iso("05:00"), iso("09:00")], [iso("09:20"), iso("13:20")]]
    shift_after_depot(pl, timedelta(hours=6))
    assert codes(sc, pl) == {"daily_driving"}
    # two drivers share the wheel: 16 h a day
    pl["trips"][0]["crew"] = 2
    pl["trips"][0]["cost"] += 600
    pl["summary"]["cost"] += 600
    assert run(sc, pl) == []


def test_driving_rules_off():
    """With policy.driving_rules false, night rest and continuous driving are not checked."""
    sc, pl = tiny()
    sc["policy"]["driving_rules"] = False
    pl["trips"][0]["stops"][0]["depart"] = iso("02:00")
    stop(pl, "pickup")["drive"] = [[iso("02:00"), iso("07:00")]]
    assert run(sc, pl) == []


def shift_after_depot(pl: dict, delta: timedelta) -> None:
    """Move every stop after the depot departure later by ``delta``."""
    for s in pl["trips"][0]["stops"][1:]:
        for k in ("arrive", "depart"):
            if k in s:
                s[k] = (datetime.fromisoformat(s[k]) + delta).isoformat()


# ------------------------------------------------------------------ summary


def test_summary_recomputed():
    """A summary whose workers_planned and trips do not match the plan is caught."""
    sc, pl = tiny()
    pl["summary"].update(workers_planned=40, trips=2)
    msgs = [v.message for v in run(sc, pl) if v.rule == "summary"]
    assert len(msgs) == 2


def test_km_over_bound():
    """km_over_bound, when given, is km / lower_bound_km (345.4 / 247.7 = 1.3944)."""
    sc, pl = tiny()
    pl["summary"]["km_over_bound"] = 1.3944
    assert run(sc, pl) == []
    pl["summary"]["km_over_bound"] = 1.2
    assert codes(sc, pl) == {"summary"}


def test_lower_bound_above_plan():
    """A lower bound above the plan's own km is not a lower bound."""
    sc, pl = tiny()
    pl["summary"]["lower_bound_km"] = 400
    assert codes(sc, pl) == {"lower_bound"}


def test_sharp_lower_bound_between_the_bound_and_the_km():
    """lower_bound_km_sharp lies between lower_bound_km (247.7) and the plan's km (345.4): above
    the km it is no bound, below the per-worker bound it is not the sharper one."""
    sc, pl = tiny()
    pl["summary"]["lower_bound_km_sharp"] = 300.0
    assert run(sc, pl) == []
    pl["summary"]["lower_bound_km_sharp"] = 400.0
    msgs = [v.message for v in run(sc, pl) if v.rule == "lower_bound"]
    assert len(msgs) == 1 and "exceeds the plan's 345.4 km" in msgs[0]
    pl["summary"]["lower_bound_km_sharp"] = 200.0
    msgs = [v.message for v in run(sc, pl) if v.rule == "lower_bound"]
    assert len(msgs) == 1 and "below lower_bound_km 247.7" in msgs[0]


# ------------------------------------------------------------------ scale


def test_every_code_is_documented():
    """Every code the checker reports in these tests is in RULE_CODES."""
    sc, pl = tiny()
    sc["policy"]["occupancy_cap"] = 0.5
    assert {v.rule for v in run(sc, pl)} <= set(RULE_CODES)


def test_two_thousand_trips_fast():
    """2,000 trips (200 coaches × 10 days) and 76,000 workers check in a few seconds, cleanly."""
    sc, pl = tiny()
    sc["fleet"][0]["count"] = 200
    sc["sites"][0]["intake_per_day"] = None
    base = pl["trips"][0]
    orders, trips = [], []
    for day in range(10):
        for bus in range(200):
            oid = f"O{day:02d}{bus:03d}"
            orders.append(order(oid, "410526", 38, 38, arrive_by="2027-02-22T00:00:00+08:00"))
            t = copy.deepcopy(base)
            t["id"], t["bus"] = f"T{day:02d}{bus:03d}", bus
            for s in t["stops"]:
                for k in ("arrive", "depart"):
                    if k in s:
                        s[k] = (datetime.fromisoformat(s[k]) + timedelta(days=day)).isoformat()
                for ld in s.get("board", []) + s.get("alight", []):
                    ld["order"] = oid
            trips.append(t)
    sc["orders"] = orders
    plan = finish(sc, trips)
    plan["summary"]["km"] = round(plan["summary"]["km"], 1)
    scenario, plan_m = Scenario.model_validate(sc), Plan.model_validate(plan)
    t0 = clock.perf_counter()
    out = check(scenario, plan_m)
    assert out == []
    assert clock.perf_counter() - t0 < 20


# ------------------------------------------------------------------ the workers' journey


def _at(day: int, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2027-02-{day:02d}T{hhmm}:00+08:00")


def _shift(st: dict, delta: timedelta, keys: tuple[str, ...] = ("arrive", "depart")) -> None:
    for k in keys:
        if k in st:
            st[k] = (datetime.fromisoformat(st[k]) + delta).isoformat()


def test_a_fresh_crews_fastest_ride_by_hand():
    """The checker's own arithmetic: 600 km by day is 4 h, a 20 min break, 4 h (500 min); 300 km
    from 22:00 is 2 h of night driving, a break, 1 h 40 to the 02:00 rest, 20 min after 05:00
    (440 min); with the night rest lifted, 2 h, a break, 2 h (260 min)."""
    from planner.contract import Policy

    p = Policy()
    day = (datetime(2027, 2, 11, 6, 0, tzinfo=SHANGHAI) - datetime(2000, 1, 1, tzinfo=SHANGHAI)).total_seconds() / 60
    assert fastest_ride(p, day, [600.0], [], crew=1) == pytest.approx([500.0])
    night = day + 16 * 60  # 22:00
    assert fastest_ride(p, night, [300.0], [], crew=1) == pytest.approx([440.0])
    assert fastest_ride(p, night, [300.0], [], crew=1, night_rest=False) == pytest.approx([260.0])
    # two legs with a 30 min stop between: the stop is a break, so 4 h + 30 min + 4 h
    assert fastest_ride(p, day, [300.0, 300.0], [30.0], crew=1) == pytest.approx([240.0, 510.0])


def test_boarding_at_home_outside_the_boarding_hours_is_caught():
    """A coach reaching 滑县 at 22:12 boards its workers until 22:42: outside 06:00–22:00. With the
    coordinator's ``boarding_hours: null`` the same plan boards at an allowed hour."""
    sc, _ = tiny()
    trip = build_trip(sc, "T1", [("410526", [("O1", 38)])], [("F1", [("O1", 38)])], _at(11, "19:55"))
    pl = finish(sc, [trip])
    found = [v for v in run(sc, pl) if v.rule == "boarding_hours"]
    assert len(found) == 1 and "22:" in found[0].message and "06:00–22:00" in found[0].message
    sc["policy"]["boarding_hours"] = None
    assert "boarding_hours" not in codes(sc, pl)
    sc["policy"]["boarding_hours"] = ["06:00", "23:00"]
    assert "boarding_hours" not in codes(sc, pl)


def test_a_loaded_coach_standing_still_is_measured_and_a_plan_that_hides_it_is_caught():
    """The tiny trip's coach, loaded at 08:30, stands 10 h more before it drives on: the checker
    measures ~10 h of loaded wait beyond the rests a fresh crew needs, and the plan that says
    0 h (or an hour's less time on board than its stops give) breaks the journey rule."""
    sc, pl = tiny()
    before = journey(Scenario.model_validate(sc), Plan.model_validate(pl))
    (tid,) = before.onboard
    trip = pl["trips"][0]
    drop = stop(pl, "drop")
    drop["drive"] = [[(datetime.fromisoformat(a) + timedelta(hours=10)).isoformat(),
                      (datetime.fromisoformat(b) + timedelta(hours=10)).isoformat()] for a, b in drop.get("drive", [])]
    _shift(drop, timedelta(hours=10))
    ret = stop(pl, "return")
    ret["drive"] = [[(datetime.fromisoformat(a) + timedelta(hours=10)).isoformat(),
                     (datetime.fromisoformat(b) + timedelta(hours=10)).isoformat()] for a, b in ret.get("drive", [])]
    _shift(ret, timedelta(hours=10))
    sc["orders"][0]["arrive_by"] = "2027-02-13T00:00:00+08:00"
    after = journey(Scenario.model_validate(sc), Plan.model_validate(pl))
    assert after.loaded_wait[tid] == pytest.approx(before.loaded_wait[tid] + 10, abs=0.05)
    assert after.onboard[tid] == pytest.approx(before.onboard[tid] + 10, abs=0.01)
    assert after.waiting_over(2) == 38 and after.worker_hours == [pytest.approx(after.onboard[tid])] * 38
    assert "journey" not in codes(sc, pl)  # figures the plan does not give are not judged
    trip["loaded_wait_hours"] = 0.0
    trip["onboard_hours"] = round(after.onboard[tid], 2)
    assert [v.rule for v in run(sc, pl)].count("journey") == 1
    trip["loaded_wait_hours"] = round(after.loaded_wait[tid], 2)
    assert "journey" not in codes(sc, pl)
    trip["onboard_hours"] = round(after.onboard[tid] - 1, 2)
    assert "journey" in codes(sc, pl)


def test_the_summarys_journey_figures_are_recomputed():
    """worker_hours, night_boardings and loaded_wait_hours in the summary must be what the stops
    give; each wrong one is a journey violation."""
    sc, pl = tiny()
    j = journey(Scenario.model_validate(sc), Plan.model_validate(pl))
    hours = j.hours_summary()
    assert hours is not None
    pl["summary"].update(worker_hours={k: round(v, 2) for k, v in hours.items()}, night_boardings=0,
                         loaded_wait_hours=round(sum(j.loaded_wait.values()), 2))
    assert "journey" not in codes(sc, pl)
    for key, value in (("night_boardings", 38), ("loaded_wait_hours", 30.0),
                       ("worker_hours", {**{k: round(v, 2) for k, v in hours.items()}, "mean": hours["mean"] + 1})):
        broken = copy.deepcopy(pl)
        broken["summary"][key] = value
        assert "journey" in codes(sc, broken), key
