"""China's conventional trunk railway as a ``networkx`` graph, and the special trains fangang
suggests from it.

The network ships in ``planner/data/``: ``stations.csv`` (the main station of each prefecture-level
city on the trunk lines through the labour-exporting and receiving provinces, at the city's seat)
and ``rail_links.csv`` (consecutive stations along each line, km = great-circle × 1.25; see
``benchmarks/rail_data.py``). A coordinator may replace both with CSVs of the same columns.

Train suggestions (:func:`suggest`): workers a plan leaves behind for want of a coach that can
reach them (ride limit, deadline, connection, no seat), and those a coach brings from
:data:`FAR_KM` or farther, are gathered hub by hub: the station that the most of them are near
(within :data:`FEEDER_KM`; the stranded count twice) boards those it can carry to the station
nearest their site. Its trains leave at 20:00 on the day that carries the most (ready at the hub,
screening still valid at their first boarding, arriving by their deadline, door to door within
the policy's ``max_ride_hours``), at the average speed of their class along the shortest path —
conventional (:data:`CONVENTIONAL`, 70 km/h, hard-seat fares) unless the ride would be too long,
then an EMU charter (:data:`EMU`, 200 km/h). A load of :data:`MIN_RIDERS` or more is a special
train, a smaller one (down to a group booking's :data:`GROUP_MIN`) reserved cars on a scheduled
train. Costs are estimates: the class's fare per seat-km plus each rider's share of a feeder and
a last-mile coach (a special train's own price is the railway's to name: the offer leaves
``fixed_cost`` 0 for the coordinator to fill in).
"""

from __future__ import annotations

import csv
import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
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
#: A home county may feed a station this far away (great-circle km); a site's station is the
#: nearest within it.
FEEDER_KM = 250.0
#: Fewest riders worth a special train; smaller groups (down to a group booking's
#: :data:`GROUP_MIN`) get reserved cars on a scheduled train.
MIN_RIDERS, GROUP_MIN = 300, 20
#: Reasons that a train may cure.
STRANDED = ("ride_time_exceeded", "deadline_unreachable", "connection_missed", "no_train_seat", "no_vehicle")
#: Coach riders this far (road km) from their site are worth a train too.
FAR_KM = 1200.0
#: A feeder or last-mile coach's hours are its driving time from the road source stretched to
#: this average speed (km/h) for breaks and town roads.
FEEDER_KMH = 60.0


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
    """The workers of one order a train could carry (stranded, or brought from very far by coach)."""

    order: str
    count: int
    stranded: bool
    lat: float
    lon: float
    earliest: datetime
    arrive_by: datetime
    screening_until: Optional[datetime]
    dest: str  # the station nearest the order's site
    last_km: float  # road km from that station to the site
    last_h: float  # hours of that last mile (the road source's driving time, with slack)
    coach_share: float  # what one of them costs by coach (0 when stranded)
    near: list[str]  # stations within FEEDER_KM, nearest first
    #: road km and hours (with slack) from home to each station in ``near``
    feeder: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Cost:
    fixed: float
    per_km: float
    seats: int


def suggest(scenario: Scenario, plan: Plan, network: Optional[RailNetwork] = None,
            roads: Any = None) -> list[Suggestion]:
    """Special trains for the workers ``plan`` leaves behind or brings from very far (see the
    module's doc). Each suggestion carries, besides the contract's fields, ``offer`` (a train
    offer for the scenario), ``train_class`` and the ``stations`` it needs. Road km and times
    (home → site, home → boarding station, station → site) come from ``roads``, the plan's road
    source (default: geodesic × the policy's road factor)."""
    from .network import places  # noqa: PLC0415
    from .network.roads import GeodesicRoad  # noqa: PLC0415

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
    site_pt = {k: replace(p, ref=k) if isinstance(p, places.Point) else p for k, p in zip(sites, points[len(orders):])}
    factor = scenario.policy.road_factor
    roads = roads or GeodesicRoad(factor)
    speed = scenario.policy.speed_kmh
    slack = speed / FEEDER_KMH  # a feeder's hours: its driving time, stretched for breaks and town roads
    cheap = min(scenario.fleet, key=lambda v: (v.fixed_cost + v.cost_per_km * 1000) / v.seats, default=None)
    coach = _Cost(cheap.fixed_cost, cheap.cost_per_km, cheap.seats) if cheap is not None else None
    # which stations each order could use (a straight-line radius), then their road km and times
    # from the road source, in one table
    wanted: list[tuple[str, places.Point, places.Point, str, list[RailStation]]] = []
    for oid, o in orders.items():
        pt, spt = origin[oid], site_pt.get(o.site)
        if not isinstance(pt, places.Point) or not isinstance(spt, places.Point):
            continue
        d = network.nearest(spt.lat, spt.lon, FEEDER_KM)
        if d is None:
            continue
        lat, lon = pt.lat, pt.lon
        near = sorted((s for s in network.stations.values() if s.id != d
                       and _geo_km(lat, lon, s.lat, s.lon) <= FEEDER_KM),
                      key=lambda s: _geo_km(lat, lon, s.lat, s.lon))
        if near:
            wanted.append((oid, pt, spt, d, near))
    # rows and columns keyed as road tables key places: county codes, site and station ids
    rows: dict[str, places.Point] = {}
    cols: dict[str, places.Point] = {}

    def station(s: RailStation) -> places.Point:
        return places.Point(s.lat, s.lon, s.name, ref=s.id)

    for _, pt, spt, d, near in wanted:
        for a in (pt, spt):
            rows.setdefault(a.key, a)
        for b in [spt, station(network.stations[d]), *map(station, near)]:
            cols.setdefault(b.key, b)
    row_at = {k: i for i, k in enumerate(rows)}
    col_at = {k: j for j, k in enumerate(cols)}
    km_t, min_t = roads.table(list(rows.values()), list(cols.values()), speed) if rows else (None, None)

    def road(a: places.Point, b: places.Point) -> tuple[float, float]:  # km, hours with slack
        i, j = row_at[a.key], col_at[b.key]
        return float(km_t[i, j]), float(min_t[i, j]) / 60.0 * slack  # type: ignore[index]

    riders: list[_Rider] = []
    for oid, pt, spt, d, near in wanted:
        o = orders[oid]
        sd = network.stations[d]
        road_km, _ = road(pt, spt)
        last_km, last_h = road(spt, station(sd))
        share = (coach.fixed + coach.per_km * 2 * road_km) / coach.seats if coach is not None else 0.0
        common = dict(lat=pt.lat, lon=pt.lon, earliest=o.earliest_departure, arrive_by=o.arrive_by,
                      screening_until=o.screening_valid_until, dest=d, last_km=last_km, last_h=last_h,
                      near=[s.id for s in near], feeder={s.id: road(pt, station(s)) for s in near})
        if stranded.get(oid):
            riders.append(_Rider(oid, stranded[oid], True, coach_share=0.0, **common))  # type: ignore[arg-type]
        if road_km >= FAR_KM and by_coach.get(oid):
            riders.append(_Rider(oid, by_coach[oid], False, coach_share=share, **common))  # type: ignore[arg-type]
    return _gather(network, riders, scenario.policy.max_ride_hours, factor, coach)


def _gather(network: RailNetwork, riders: list[_Rider], max_ride_h: float, factor: float,
            coach: Optional[_Cost]) -> list[Suggestion]:
    """Trains, hub by hub: the boarding station that gathers the most riders not yet seated (a
    rider counts where it is near, the stranded twice) gets the trains its riders can take; riders
    it cannot carry try their other stations. Numbers the suggestions."""
    out: list[Suggestion] = []
    pending = list(riders)
    tried: set[tuple[str, str, str]] = set()  # (order, stranded?, station) that could not ride from there
    while pending:
        score: dict[tuple[str, str], int] = defaultdict(int)
        for r in pending:
            for st in r.near:
                if (r.order, str(r.stranded), st) not in tried:
                    score[(st, r.dest)] += r.count * (2 if r.stranded else 1)
        if not score:
            break
        (hub, dest), _ = max(score.items(), key=lambda kv: (kv[1], kv[0]))
        group = [r for r in pending if r.dest == dest and hub in r.near
                 and (r.order, str(r.stranded), hub) not in tried]
        if sum(r.count for r in group) < GROUP_MIN:
            for r in group:
                tried.add((r.order, str(r.stranded), hub))
            continue
        trains, seated = _departures(network, hub, dest, group, max_ride_h, factor, coach)
        out += trains
        for r in group:
            if id(r) not in seated:
                tried.add((r.order, str(r.stranded), hub))
        pending = [r for r in pending if id(r) not in seated]
    out = [sg for sg in out if sg.brings_back or sg.saves > 0]
    for k, sg in enumerate(out, start=1):
        offer = (sg.model_extra or {})["offer"]
        offer["id"] = f"S{k:02d}"
        offer["name"] = f"{offer['name']}{k:02d}"
    return out


def _departures(network: RailNetwork, hub: str, dest: str, group: list[_Rider], max_ride_h: float, factor: float,
                coach: Optional[_Cost]) -> tuple[list[Suggestion], set[int]]:
    """Trains from ``hub`` to ``dest`` for ``group``: each leaves at 20:00 on the day that carries
    the most of them (ready at the hub by then, within their screening, arriving by their
    deadline, door to door within ``max_ride_h``), in the first class of :data:`CLASSES` that
    carries any; a large load gets a special train, a small one reserved cars. Returns the
    suggestions and the riders seated (by ``id``)."""
    sh = network.stations[hub]
    sd = network.stations[dest]
    km = network.km(hub, dest)
    if math.isinf(km):
        return [], set()
    out: list[Suggestion] = []
    seated: set[int] = set()
    left = list(group)

    def feeder_h(r: _Rider) -> float:  # to the hub, with boarding and the hour at the station
        return r.feeder[hub][1] + 2.5

    def fits(r: _Rider, depart: datetime, arrive: datetime) -> bool:
        board = depart - timedelta(hours=feeder_h(r))
        door = arrive + timedelta(hours=r.last_h + 2.0)
        return (r.earliest <= board and door <= r.arrive_by
                and (r.screening_until is None or board <= r.screening_until)
                and (door - board).total_seconds() / 3600 <= max_ride_h)

    while left:
        best: Optional[tuple[int, datetime, TrainClass, list[_Rider]]] = None
        days = sorted({(r.earliest + timedelta(hours=feeder_h(r))).astimezone(SHANGHAI).date() for r in left})
        days = sorted(set(days) | {d + timedelta(days=k) for d in days for k in (1, 2)})
        for day in days:
            depart = datetime(day.year, day.month, day.day, 20, tzinfo=SHANGHAI)
            for cls in CLASSES:
                arrive = depart + timedelta(minutes=math.ceil(km / cls.speed_kmh * 60))
                ride = [r for r in left if fits(r, depart, arrive)]
                n = min(sum(r.count for r in ride), cls.seats_per_car * cls.max_cars)
                if ride and (best is None or n > best[0]):
                    best = (n, depart, cls, ride)
                if ride:
                    break
        if best is None or best[0] < GROUP_MIN:
            break
        _, depart, cls, ride = best
        ride.sort(key=lambda r: (not r.stranded, r.arrive_by))
        chosen: list[_Rider] = []
        seats = 0
        for r in ride:
            if seats + r.count <= cls.seats_per_car * cls.max_cars:
                chosen.append(r)
                seats += r.count
        if not chosen:
            break
        seated.update(id(r) for r in chosen)
        left = [r for r in left if id(r) not in seated]
        arrive = depart + timedelta(minutes=math.ceil(km / cls.speed_kmh * 60))
        seat = round(km * cls.fare_per_km)

        def local(r: _Rider) -> float:  # a seat's share of a feeder and a last-mile coach
            if coach is None:
                return 0.0
            feeder_km = r.feeder[hub][0]
            return (2 * coach.fixed + coach.per_km * 2 * (feeder_km + r.last_km)) / coach.seats

        special = seats >= MIN_RIDERS
        est = sum(r.count * (seat + local(r)) for r in chosen)
        saves = sum(r.count * (r.coach_share - seat - local(r)) for r in chosen if not r.stranded)
        stations = [{"id": s.id, "name": s.name, "location": {"lat": s.lat, "lon": s.lon}} for s in (sh, sd)]
        out.append(Suggestion.model_validate({
            "from": [hub], "to": dest, "day": depart.date().isoformat(), "riders": seats,
            "est_cost": round(est, 2), "saves": round(saves, 2),
            "brings_back": sum(r.count for r in chosen if r.stranded),
            "offer": {"id": "", "name": cls.prefix if special else ("D" if cls is EMU else "K"),
                      "kind": "special" if special else "cars",
                      "calls": [{"station": hub, "depart": depart.isoformat()},
                                {"station": dest, "arrive": arrive.isoformat()}],
                      "board_at": [hub], "alight_at": [dest], "cars": math.ceil(seats / cls.seats_per_car),
                      "seats_per_car": cls.seats_per_car, "fixed_cost": 0.0, "cost_per_seat": float(seat),
                      "min_riders": 1},
            "train_class": cls.name, "stations": stations}))
    return out, seated


def apply(scenario: dict[str, Any], suggestions: list[Suggestion], fleet_like: Optional[dict[str, Any]] = None
          ) -> dict[str, Any]:
    """``scenario`` (a dict) with the suggested trains as offers, their stations and, where the
    coaches based within 150 km of a boarding station have fewer seats than its suggested riders
    plus a tenth, a local yard there (``Y<station>``) with coaches like ``fleet_like`` (default:
    the scenario's first coach type) for the rest: its feeders in one wave."""
    out = dict(scenario)
    stations = {s["id"]: s for s in out.get("stations", [])}
    trains = list(out.get("trains", []))
    depots = list(out.get("depots", []))
    fleet = list(out.get("fleet", []))
    template = fleet_like or (fleet[0] if fleet else None)
    riders: dict[str, int] = defaultdict(int)
    for s in suggestions:
        extra = s.model_extra or {}
        for st in extra.get("stations", []):
            stations.setdefault(st["id"], st)
        offer = dict(extra["offer"])
        while any(t["id"] == offer["id"] for t in trains):
            offer["id"] = offer["id"] + "b"
        trains.append(offer)
        for b in s.from_:
            riders[b] += s.riders
    where = {d["id"]: d["location"] for d in depots}
    for b, n in sorted(riders.items()):
        if template is None:
            break
        st = stations[b]["location"]
        near = sum(v["seats"] * v["count"] for v in fleet if "lat" in where.get(v["depot"], {})
                   and _geo_km(st["lat"], st["lon"], where[v["depot"]]["lat"], where[v["depot"]]["lon"]) <= 150)
        short = math.ceil(n * 1.1) - near
        if short <= 0:
            continue
        depot_id = f"Y{b}"
        if depot_id not in where:
            depots.append({"id": depot_id, "name": f"{stations[b]['name']} local coaches (suggested)",
                           "location": {"lat": st["lat"], "lon": st["lon"]}})
            where[depot_id] = depots[-1]["location"]
        fleet.append({**{k: v for k, v in template.items() if k not in ("drivers", "operator")},
                      "id": f"local-{b}-{len(fleet)}", "depot": depot_id,
                      "count": math.ceil(short / template["seats"]) + 1})
    out.update(stations=list(stations.values()), trains=trains, depots=depots, fleet=fleet)
    return out
