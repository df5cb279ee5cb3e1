"""China's conventional trunk railway as a ``networkx`` graph, and the special trains fangang
suggests from it.

The network ships in ``planner/data/``: ``stations.csv`` (the main station of each prefecture-level
city on the trunk lines through the labour-exporting and receiving provinces, at the city's seat)
and ``rail_links.csv`` (consecutive stations along each line, km = great-circle × 1.25; see
``benchmarks/rail_data.py``). A coordinator may replace both with CSVs of the same columns.

Train suggestions (:func:`suggest`): workers a plan leaves behind for want of a coach that can
reach them (ride limit, deadline, connection, no seat), and those a coach brings from very far,
are grouped by the station nearest their home county and the station nearest their site. Each
large group becomes a special train: it boards at its station (and at a second one on the way
with riders of its own), leaves in the evening of the day its riders are ready, runs at
the average speed of its class along the shortest path — conventional (:data:`CONVENTIONAL`,
70 km/h, hard-seat fares) unless the ride door to door would exceed the policy's ``max_ride_hours``,
then an EMU charter (:data:`EMU`, 200 km/h) — and is priced at its class's fare per seat-km plus
each rider's share of a feeder and a last-mile coach.
"""

from __future__ import annotations

import csv
import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import networkx as nx

from .contract import SHANGHAI, Plan, Scenario, Suggestion


@dataclass(frozen=True)
class TrainClass:
    """A class of special train, for estimates: its average speed over the whole run (stops
    included), the seats of a car, the most cars and a seat's fare per km."""

    prefix: str
    name: str
    speed_kmh: float
    seats_per_car: int
    max_cars: int
    fare_per_km: float


#: Conventional K/T trains (60–80 km/h overall; hard-seat cars of 118 seats; 800–1,400 riders)
#: and EMU charters (G/D, ~200 km/h; 8-car sets of ~576 seats, two coupled at most), after
#: ``../shared/research/trains.md``.
CONVENTIONAL = TrainClass("L", "conventional (K/T)", 70.0, 118, 12, 0.07)
EMU = TrainClass("G", "EMU (G/D)", 200.0, 72, 16, 0.30)
#: The classes suggestions use: conventional, unless the ride door to door would be too long.
CLASSES = (CONVENTIONAL, EMU)
#: Average speed and fare of the conventional class (what the module's doc calls SPEED_KMH).
SPEED_KMH, SEAT_YUAN_PER_KM = CONVENTIONAL.speed_kmh, CONVENTIONAL.fare_per_km
#: A home county feeds the station whose city seat is nearest, if within this (great-circle km).
FEEDER_KM = 150.0
#: Fewest riders worth a special train.
MIN_RIDERS = 150
#: Reasons that a train may cure.
STRANDED = ("ride_time_exceeded", "deadline_unreachable", "connection_missed", "no_train_seat", "no_vehicle")
#: Coach riders this far (road km) from their site are worth a train too.
FAR_KM = 1200.0


def _geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class RailStation:
    id: str
    name: str
    lat: float
    lon: float


@dataclass
class RailNetwork:
    """Stations and the links between them (an undirected graph, edges weighted by ``km``)."""

    stations: dict[str, RailStation]
    graph: nx.Graph = field(repr=False)
    _from: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    @classmethod
    @functools.cache
    def default(cls) -> "RailNetwork":
        """The network fangang ships (read once)."""
        data = resources.files("planner") / "data"
        with resources.as_file(data / "stations.csv") as s, resources.as_file(data / "rail_links.csv") as lk:
            return cls.from_csv(s, lk)

    @classmethod
    def from_csv(cls, stations: str | Path, links: str | Path) -> "RailNetwork":
        """A network from ``id,name,lat,lon`` station rows and ``from,to,km`` link rows."""
        table: dict[str, RailStation] = {}
        with open(stations, encoding="utf-8-sig") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    table[row["id"]] = RailStation(row["id"], row["name"], float(row["lat"]), float(row["lon"]))
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"{stations}: row {i}: needs id,name,lat,lon") from None
        g = nx.Graph()
        g.add_nodes_from(table)
        with open(links, encoding="utf-8-sig") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    a, b, km = row["from"], row["to"], float(row["km"])
                except (KeyError, TypeError, ValueError):
                    raise ValueError(f"{links}: row {i}: needs from,to,km") from None
                if a not in table or b not in table:
                    raise ValueError(f"{links}: row {i}: unknown station {a if a not in table else b!r}")
                g.add_edge(a, b, km=km)
        return cls(table, g)

    def nearest(self, lat: float, lon: float, within_km: float) -> Optional[str]:
        """The station nearest a point, if within ``within_km`` (great-circle)."""
        best = min(self.stations.values(), key=lambda s: _geo_km(lat, lon, s.lat, s.lon), default=None)
        if best is None or _geo_km(lat, lon, best.lat, best.lon) > within_km:
            return None
        return best.id

    def km(self, a: str, b: str) -> float:
        """Rail km along the shortest path (inf when not connected)."""
        if a not in self.graph:
            return math.inf
        if a not in self._from:
            self._from[a] = nx.single_source_dijkstra_path_length(self.graph, a, weight="km")
        return float(self._from[a].get(b, math.inf))

    def hours(self, a: str, b: str, cls: TrainClass = CONVENTIONAL) -> float:
        """Hours along the shortest path at the class's average speed."""
        return self.km(a, b) / cls.speed_kmh


@dataclass
class _Rider:
    order: str
    count: int
    stranded: bool
    ready: datetime  # at the boarding station
    deadline: datetime  # arrival at the alighting station
    coach_share: float  # what this worker costs by coach (0 when stranded)
    road_hours: float  # feeder and last mile, with their margins at the stations
    local_share: float  # what this worker's feeder and last mile cost by coach


def suggest(scenario: Scenario, plan: Plan, network: Optional[RailNetwork] = None) -> list[Suggestion]:
    """Special trains for the workers ``plan`` leaves behind or brings from very far (see the
    module's doc). Each suggestion carries, besides the contract's fields, ``offer`` (a train
    offer for the scenario), ``stations`` it needs and, for a boarding station with no coach yard
    near it, a suggested local ``depot`` and ``fleet`` for its feeders."""
    from . import places  # noqa: PLC0415

    network = network or RailNetwork.default()
    stranded: dict[str, int] = defaultdict(int)
    for u in plan.unassigned:
        if u.reason in STRANDED:
            stranded[u.order] += u.count
    by_coach: dict[str, int] = defaultdict(int)
    for t in plan.trips:
        if t.purpose == "direct":
            for s in t.stops:
                for ld in s.board:
                    by_coach[ld.order] += ld.count
    orders = {o.id: o for o in scenario.orders if stranded.get(o.id) or by_coach.get(o.id)}
    if not orders:
        return []
    sites = {s.id: s for s in scenario.sites}
    points = places.resolve_all([o.origin for o in orders.values()] + [s.location for s in sites.values()],
                                scenario.policy.county_snap_km)
    origin = dict(zip(orders, points[:len(orders)]))
    site_pt = dict(zip(sites, points[len(orders):]))
    factor = scenario.policy.road_factor
    cheap = min(scenario.fleet, key=lambda v: (v.fixed_cost + v.cost_per_km * 1000) / v.seats, default=None)
    groups: dict[tuple[str, str], list[_Rider]] = defaultdict(list)
    for oid, o in orders.items():
        pt, spt = origin[oid], site_pt.get(o.site)
        if not isinstance(pt, places.Point) or not isinstance(spt, places.Point):
            continue
        road = _geo_km(pt.lat, pt.lon, spt.lat, spt.lon) * factor
        far = road >= FAR_KM
        count = stranded.get(oid, 0) + (by_coach.get(oid, 0) if far else 0)
        if not count:
            continue
        a = network.nearest(pt.lat, pt.lon, FEEDER_KM)
        d = network.nearest(spt.lat, spt.lon, FEEDER_KM)
        if a is None or d is None or a == d:
            continue
        feeder_h = _geo_km(pt.lat, pt.lon, network.stations[a].lat, network.stations[a].lon) * factor / 60 + 2.5
        last_h = _geo_km(spt.lat, spt.lon, network.stations[d].lat, network.stations[d].lon) * factor / 60 + 2.0
        sa, sd = network.stations[a], network.stations[d]
        local_km = (_geo_km(pt.lat, pt.lon, sa.lat, sa.lon) + _geo_km(spt.lat, spt.lon, sd.lat, sd.lon)) * factor
        share = local = 0.0
        if cheap is not None:  # a coach there and back, a seat's share
            share = (cheap.fixed_cost + cheap.cost_per_km * 2 * road) / cheap.seats
            local = (2 * cheap.fixed_cost + cheap.cost_per_km * 2 * local_km) / cheap.seats
        road_h = feeder_h + last_h  # both with their margins for boarding and the station
        ready, latest = o.earliest_departure + timedelta(hours=feeder_h), o.arrive_by - timedelta(hours=last_h)
        if stranded.get(oid):
            groups[(a, d)].append(_Rider(oid, stranded[oid], True, ready, latest, 0.0, road_h, local))
        if far and by_coach.get(oid):
            groups[(a, d)].append(_Rider(oid, by_coach[oid], False, ready, latest, share, road_h, local))
    return _trains(network, groups, scenario.policy.max_ride_hours)


def _trains(network: RailNetwork, groups: dict[tuple[str, str], list[_Rider]], max_ride_h: float) -> list[Suggestion]:
    """One special train per large group (a second boarding station joins a group on its way)."""
    out: list[Suggestion] = []
    taken: set[tuple[str, str]] = set()
    ranked = sorted(groups, key=lambda k: -sum(r.count for r in groups[k]))
    for key in ranked:
        if key in taken:
            continue
        a, d = key
        riders = list(groups[key])
        boards = [a]
        total = network.km(a, d)
        for other in ranked:  # a second station on the way, with riders of its own
            b, d2 = other
            if other in taken or other == key or d2 != d or len(boards) > 1:
                continue
            if network.km(a, b) + network.km(b, d) <= 1.05 * total and network.km(a, b) <= 600:
                boards.append(b)
                riders += groups[other]
                taken.add(other)
        taken.add(key)
        out += _departures(network, boards, d, riders, max_ride_h)
    kept = [s for s in out if s.riders >= MIN_RIDERS]
    for k, s in enumerate(kept, start=1):
        offer = (s.model_extra or {})["offer"]
        offer["id"] = f"S{k:02d}"
        offer["name"] = f"{offer['name']}{k:02d}"
    return kept


def _departures(network: RailNetwork, boards: list[str], dest: str, riders: list[_Rider], max_ride_h: float
                ) -> list[Suggestion]:
    """Trains for ``riders`` from ``boards`` to ``dest``: each leaves at 20:00 on the day its riders
    are ready and takes those who arrive by their deadline, in the first class of :data:`CLASSES`
    whose ride door to door is within ``max_ride_h``; riders left over wait for the next."""
    out: list[Suggestion] = []
    left = sorted(riders, key=lambda r: r.ready)
    km = network.km(boards[0], dest)
    while left:
        first = left[0].ready.astimezone(SHANGHAI)
        depart = first.replace(hour=20, minute=0, second=0, microsecond=0)
        if depart < first:
            depart += timedelta(days=1)
        ride: list[_Rider] = []
        cls = CONVENTIONAL
        for cls in CLASSES:
            arrive = depart + timedelta(minutes=math.ceil(network.hours(boards[0], dest, cls) * 60) + 10 * (len(boards) - 1))
            ride = [r for r in left if r.ready <= depart and r.deadline >= arrive
                    and r.road_hours + (arrive - depart).total_seconds() / 3600 <= max_ride_h]
            if ride:
                break
        if not ride:
            left = left[1:]
            continue
        cap = cls.seats_per_car * cls.max_cars
        chosen: list[_Rider] = []
        seats = 0
        for r in ride:
            if seats + r.count > cap:
                continue
            chosen.append(r)
            seats += r.count
        left = [r for r in left if r not in chosen]
        seat = round(km * cls.fare_per_km)
        cars = max(1, math.ceil(seats / cls.seats_per_car))
        calls: list[dict[str, Any]] = []
        for i, b in enumerate(boards):
            t = depart + timedelta(minutes=math.ceil(network.hours(boards[0], b, cls) * 60) + 10 * i)
            calls.append({"station": b, "depart": t.isoformat()} if i == 0 else
                         {"station": b, "arrive": (t - timedelta(minutes=10)).isoformat(), "depart": t.isoformat()})
        calls.append({"station": dest, "arrive": arrive.isoformat()})
        stations = [{"id": s, "name": network.stations[s].name,
                     "location": {"lat": network.stations[s].lat, "lon": network.stations[s].lon}} for s in boards + [dest]]
        est = sum(r.count * (seat + r.local_share) for r in chosen)
        saves = sum(r.count * (r.coach_share - seat - r.local_share) for r in chosen if not r.stranded)
        out.append(Suggestion.model_validate({
            "from": boards, "to": dest, "day": depart.date().isoformat(), "riders": seats,
            "est_cost": round(est, 2), "saves": round(saves, 2),
            "brings_back": sum(r.count for r in chosen if r.stranded),
            "offer": {"id": "", "name": cls.prefix, "kind": "special", "calls": calls, "board_at": boards,
                      "alight_at": [dest], "cars": cars, "seats_per_car": cls.seats_per_car, "fixed_cost": 0.0,
                      "cost_per_seat": float(seat), "min_riders": 1},
            "train_class": cls.name, "stations": stations}))
    return out


def apply(scenario: dict[str, Any], suggestions: list[Suggestion], fleet_like: Optional[dict[str, Any]] = None
          ) -> dict[str, Any]:
    """``scenario`` (a dict) with the suggested trains, their stations and, where no coach yard is
    within 150 km of a boarding station, a local yard and coaches for its feeders."""
    out = dict(scenario)
    stations = {s["id"]: s for s in out.get("stations", [])}
    trains = list(out.get("trains", []))
    depots = list(out.get("depots", []))
    fleet = list(out.get("fleet", []))
    template = fleet_like or (fleet[0] if fleet else None)
    for s in suggestions:
        extra = s.model_extra or {}
        for st in extra.get("stations", []):
            stations.setdefault(st["id"], st)
        offer = dict(extra["offer"])
        while any(t["id"] == offer["id"] for t in trains):
            offer["id"] = offer["name"] = offer["id"] + "b"
        trains.append(offer)
        for b in s.from_:
            st = stations[b]["location"]
            near = any(_geo_km(st["lat"], st["lon"], d["location"]["lat"], d["location"]["lon"]) <= 150
                       for d in depots if "lat" in d["location"])
            if near or template is None:
                continue
            depot_id = f"Y{b}"
            depots.append({"id": depot_id, "name": f"{stations[b]['name']} local coaches (suggested)",
                           "location": {"lat": st["lat"], "lon": st["lon"]}})
            fleet.append({**{k: v for k, v in template.items() if k not in ("drivers", "operator")},
                          "id": f"local-{b}", "depot": depot_id,
                          "count": math.ceil(s.riders / template["seats"]) + 1})
    out.update(stations=list(stations.values()), trains=trains, depots=depots, fleet=fleet)
    return out
