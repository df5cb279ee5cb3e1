"""Generate a realistic park scenario (contract v1) for benchmarks and samples.

A park near Zhengzhou's airport zone (郑州航空港) brings migrant workers back after the Spring
Festival. The generator draws, deterministically for a seed (``numpy.random.default_rng``):

- home counties: real county-level rows of ``cpca``'s table (about 2015, frozen in
  :func:`legacy_counties` so that a seed generates the parks measured before; the planner reads
  their former codes as today's counties, with a note) from labour-exporting provinces, the
  nearer and larger ones weighted more; counties within 60 km of the park are left out (their
  workers come by themselves), and so are those beyond 1,300 km (a coach ride there would exceed
  the default 36 h ride limit: train territory);
- headcount per county: lognormal, scaled so the total is exactly ``workers``;
- 1–3 orders per county from a handful of HR agencies (Chinese names, some regional), each to one
  site; ≈ 97 % cleared, some of the rest ``failed``, the others pending;
- earliest departure on the first three days of a window starting 2027-02-11, ``arrive_by`` 5–8
  days later, a screening expiry (48–96 h after earliest departure) on ~20 % of orders;
- ~12 % of origins as Chinese addresses ("四川省巴中市恩阳区" + a street), checked to resolve
  back to the same county with ``cpca`` (a county code otherwise; frozen too, and the planner's
  own reading resolves every one of them to that county, or to its successor);
- sites within 15 km of 34.53, 113.84, receiving 07:00–22:00, with an intake per day that binds a
  little; one depot, the park coach yard;
- risk regions: a few counties ``medium`` since before the window, one or two ``high`` until day 2;
- a mixed coach fleet (53/45/35/19 seats) sized by geography: seats = Σ workers × their county's
  round-trip days / 3 (a round trip: 2 × 1.3 × geodesic km at 75 km/h, two drivers at 16 h a
  day, plus half a day), about one seat per 1.6–1.9 workers for these parks: a coach does 2–3
  trips in the window.

``rules=False`` switches off the rules PyVRP cannot express (driving rules, time rules) and lifts
the pickup-stop limit to 50: the variant for comparing with a plain CVRP solver.

CLI::

    python -m benchmarks.generate --workers 20000 --counties 300 --sites 3 --seed 1 -o out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from planner.contract import SHANGHAI
from planner.network.places import County


@dataclass(frozen=True)
class Park:
    """Where a generated park lies: its name, the centre of its sites and its coach yard."""

    name: str
    centre: tuple[float, float]
    depot: tuple[float, float]


#: Parks the generator knows: Zhengzhou's airport economy zone (the default), Kunshan's
#: development zone (Jiangsu: its workers come from far inland) and Chongqing's Liangjiang zone.
PARKS: dict[str, Park] = {
    "zhengzhou": Park("郑州航空港", (34.53, 113.84), (34.56, 113.81)),
    "kunshan": Park("昆山开发区", (31.35, 120.98), (31.38, 120.95)),
    "chongqing": Park("重庆两江新区", (29.72, 106.63), (29.70, 106.60)),
}
PARK, DEPOT = PARKS["zhengzhou"].centre, PARKS["zhengzhou"].depot
WINDOW_START = datetime(2027, 2, 11, tzinfo=SHANGHAI)
WINDOW_DAYS = 11
#: Home counties lie between these geodesic distances from the park (km).
NEAR_KM, FAR_KM = 60.0, 1300.0

#: Labour-exporting provinces and their weight (per county drawn and, as a square root, per
#: county headcount): the nearer and larger exporters count more.
PROVINCES: dict[str, float] = {
    "河南省": 3.0, "安徽省": 2.4, "四川省": 2.0, "湖北省": 1.8, "重庆市": 2.0, "湖南省": 1.5,
    "河北省": 1.3, "江西省": 1.1, "贵州省": 1.1, "山东省": 0.8, "山西省": 0.8, "陕西省": 0.8,
    "广西壮族自治区": 0.8, "云南省": 0.6, "甘肃省": 0.7,
}

#: Agencies: national ones take any county, regional ones prefer their provinces.
AGENCIES: dict[str, tuple[str, ...]] = {
    "恒信人力": (),
    "众成劳务": (),
    "中原职介": ("河南省", "河北省", "山东省", "山西省"),
    "川黔人力资源": ("四川省", "贵州省", "重庆市", "云南省"),
    "皖江劳务": ("安徽省", "江西省"),
    "荆楚湘人力资源": ("湖北省", "湖南省"),
    "西部劳务协作中心": ("甘肃省", "陕西省", "广西壮族自治区", "云南省"),
}

SITE_NAMES = ("智能终端一厂", "电子组装二厂", "精密模组厂", "显示面板厂", "锂电池厂", "汽车电子厂",
              "物流分拣中心", "医疗器械厂", "半导体封测厂", "服装加工厂", "食品加工厂", "光电材料厂")

STREETS = ("人民路{n}号", "文化路{n}号", "建设路{n}号", "解放路{n}号", "中山路{n}号", "幸福街{n}号",
           "迎宾大道{n}号", "车站路{n}号")

#: Round-trip days one seat of the fleet provides over the window (fleet sizing).
SEAT_DAYS_PER_SEAT = 3.0

#: Coach types: seats, share of all seats, fixed cost per trip, cost per km, crew cost.
COACHES = ((53, 0.55, 1200.0, 7.0, 600.0), (45, 0.25, 1000.0, 6.2, 600.0),
           (35, 0.12, 800.0, 5.0, 550.0), (19, 0.08, 500.0, 3.6, 500.0))


def _geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle km (good to a fraction of a percent at these distances)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@lru_cache(maxsize=1)
def legacy_counties() -> dict[str, County]:
    """The county-level rows of ``cpca``'s ``adcodes.csv`` (codes and names of about 2015), by code.

    The generator draws home counties from these, as it did before the planner moved to the 2023
    divisions (``planner/data/divisions.csv``), so that a seed keeps generating the same park:
    the same codes, names and coordinates. About 0.5 % of them are gone since (淮阳县 411626); the
    planner resolves those to today's county (淮阳区 411603) with a :attr:`~planner.network.places.Point.note`.
    Rows with a 12-digit code ending in ``000000`` are counties, cities or provinces; those whose
    6-digit code does not end in ``00`` and that carry coordinates are county level.
    """
    import cpca  # noqa: PLC0415

    path = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    rows: dict[str, tuple[str, float, float]] = {}
    provinces: dict[str, str] = {}
    cities: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code12 = row["adcode"]
            if not code12.endswith("000000"):
                continue
            code = code12[:6]
            if code.endswith("0000"):
                provinces[code[:2]] = row["name"]
                continue
            if code.endswith("00"):
                cities[code[:4]] = row["name"]
                continue
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError):
                continue
            rows[code] = (row["name"], lat, lon)
    out: dict[str, County] = {}
    for code, (name, lat, lon) in rows.items():
        province = provinces.get(code[:2], "")
        city = cities.get(code[:4], "")
        if city in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            city = province
        out[code] = County(code, name, lat, lon, province, city)
    return out


@lru_cache(maxsize=1)
def _city_names() -> dict[str, str]:
    """Prefecture-level names by 4-digit code prefix, from cpca's ``adcodes.csv``."""
    import cpca  # noqa: PLC0415

    path = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["adcode"][:6]
            if row["adcode"].endswith("000000") and code.endswith("00") and not code.endswith("0000"):
                out[code[:4]] = row["name"]
    return out


def _round_trip_days(lat: float, lon: float, park: tuple[float, float] = PARK) -> float:
    """Rough days a coach needs for a round trip park → county → park (for fleet sizing only)."""
    return 2 * 1.3 * _geo_km(lat, lon, *park) / 75.0 / 16.0 + 0.5


def _iso(t: datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat()


def _split_exact(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integers ≥ ``minimum`` proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    n = len(weights)
    free = total - minimum * n
    if free < 0:
        raise ValueError(f"{total} workers cannot give {n} counties {minimum} each")
    share = weights / weights.sum() * free
    base = np.floor(share).astype(int)
    rest = free - int(base.sum())
    order = np.argsort(-(share - base), kind="stable")
    base[order[:rest]] += 1
    return base + minimum


def _addresses_ok(texts: list[str], codes: list[str]) -> list[bool]:
    """Which addresses ``cpca`` resolves back to the county they were made from."""
    if not texts:
        return []
    import cpca  # noqa: PLC0415

    df = cpca.transform(texts)
    return [str(code)[:6] == want and bool(d) and str(d) != "None"
            for code, d, want in zip(df["adcode"], df["区"], codes)]


def generate(workers: int, counties: int, sites: int, *, seed: int, risk: bool = True,
             max_stops: int = 3, rules: bool = True, far_km: float = FAR_KM, park: str = "zhengzhou",
             trains: int = 0, reserved: int = 0) -> dict:
    """Generate a contract-v1 scenario of a park (near Zhengzhou unless ``park`` says otherwise).

    Parameters
    ----------
    workers
        Total headcount over all orders (exact).
    counties
        Number of home counties (each gets at least 3 workers).
    sites
        Number of factories of the park.
    seed
        Seed of ``numpy.random.default_rng``: the same arguments give the same scenario.
    risk
        Add risk regions (a few ``medium`` counties, one or two ``high`` until day 2).
    max_stops
        ``policy.max_pickup_stops``.
    rules
        False switches off the rules a plain CVRP solver cannot express: ``driving_rules`` and
        ``time_rules`` false, ``max_pickup_stops`` 50.
    far_km
        Home counties lie at most this far (geodesic km) from the park. The default (1,300 km)
        keeps every county within a coach's reach; larger values keep the far provinces in
        (Yunnan, Guangxi, Gansu … up to ~1,900 km): their workers are unassigned
        (``ride_time_exceeded``) until trains are planned.
    park
        A key of :data:`PARKS`.
    trains, reserved
        Special trains (whole trains) and reserved-car offers on scheduled trains to offer, from
        the boarding stations with the most far workers (:func:`train_offers`); each boarding
        station gets a local coach yard for its feeders.

    Returns
    -------
    dict
        A JSON-serialisable scenario (times ISO 8601 with +08:00).
    """
    if workers < 1 or counties < 1 or sites < 1:
        raise ValueError("workers, counties and sites must be positive")
    if workers < counties:
        raise ValueError(f"{workers} workers cannot come from {counties} counties (one each at least)")
    if park not in PARKS:
        raise ValueError(f"unknown park {park!r}; known: {', '.join(PARKS)}")
    where = PARKS[park]
    centre = where.centre
    rng = np.random.default_rng(seed)

    # ---- home counties
    table = sorted(legacy_counties().values(), key=lambda c: c.code)
    pool = [c for c in table if c.province in PROVINCES and NEAR_KM < _geo_km(c.lat, c.lon, *centre) <= far_km]
    if counties > len(pool):
        raise ValueError(f"at most {len(pool)} labour-exporting counties are available, asked {counties}")
    pw = np.array([PROVINCES[c.province] for c in pool])
    rural = np.array([1.4 if c.name.endswith(("县", "市")) else 1.0 for c in pool])
    p = pw * rural
    chosen_idx = np.sort(rng.choice(len(pool), size=counties, replace=False, p=p / p.sum()))
    chosen = [pool[i] for i in chosen_idx]
    weight = rng.lognormal(0.0, 0.9, size=counties) * np.sqrt(pw[chosen_idx])
    heads = _split_exact(weight, workers, min(3, workers // counties))

    # ---- sites and depot
    site_rows = []
    site_weight = rng.uniform(0.5, 1.5, size=sites)
    for s in range(sites):
        r = 15.0 * math.sqrt(rng.uniform(0.0, 1.0)) if s else rng.uniform(0.0, 3.0)
        a = rng.uniform(0.0, 2 * math.pi)
        lat = centre[0] + r * math.cos(a) / 111.0
        lon = centre[1] + r * math.sin(a) / (111.0 * math.cos(math.radians(centre[0])))
        name = SITE_NAMES[s % len(SITE_NAMES)] + ("" if s < len(SITE_NAMES) else f"{s // len(SITE_NAMES) + 1}")
        site_rows.append({"id": f"F{s + 1}", "name": name,
                          "location": {"lat": round(lat, 5), "lon": round(lon, 5)},
                          "receive_from": "07:00", "receive_until": "22:00"})

    # ---- orders
    agencies = list(AGENCIES)
    national = [a for a in agencies if not AGENCIES[a]]
    orders: list[dict] = []
    cities = _city_names()
    address_of: dict[int, str] = {}
    county_of: list = []  # each order's home county
    for c, h in zip(chosen, heads):
        h = int(h)
        k = 1 if h < 10 else int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        k = max(1, min(k, h // 5))
        parts = 1 + rng.multinomial(h - k, rng.dirichlet(np.full(k, 2.0)))
        regional = [a for a in agencies if c.province in AGENCIES[a]]
        for n in parts:
            n = int(n)
            agency = (regional[int(rng.integers(len(regional)))] if regional and rng.random() < 0.6
                      else national[int(rng.integers(len(national)))])
            site = int(rng.choice(sites, p=site_weight / site_weight.sum()))
            not_cleared = int(rng.binomial(n, 0.03))
            failed = int(rng.binomial(not_cleared, 0.4))
            day = int(rng.choice(3, p=[0.45, 0.35, 0.2]))
            hour = int(rng.choice([0, 6, 7, 8, 9, 10, 14]))
            earliest = WINDOW_START + timedelta(days=day, hours=hour)
            arrive_by = WINDOW_START + timedelta(days=day + int(rng.integers(5, 9)))
            order = {"id": f"O{len(orders) + 1:05d}", "agency": agency, "origin": {"county": c.code},
                     "site": f"F{site + 1}", "headcount": n, "cleared": n - not_cleared,
                     "earliest_departure": _iso(earliest), "arrive_by": _iso(arrive_by)}
            if failed:
                order["failed"] = failed
            if rng.random() < 0.2:
                hours = int(rng.choice([48, 60, 72, 84, 96]))
                order["screening_valid_until"] = _iso(earliest + timedelta(hours=hours))
            if rng.random() < 0.12:
                street = STREETS[int(rng.integers(len(STREETS)))].format(n=int(rng.integers(1, 300)))
                city = cities.get(c.code[:4], "")
                address_of[len(orders)] = f"{c.province}{city}{c.name}{street}"
            orders.append(order)
            county_of.append(c)
    # an address that cpca would not resolve back to its county stays a county code
    idx = sorted(address_of)
    ok = _addresses_ok([address_of[i] for i in idx], [orders[i]["origin"]["county"] for i in idx])
    for i, good in zip(idx, ok):
        if good:
            orders[i]["origin"] = {"address": address_of[i]}

    # ---- site intake: binds a little on the busy first days, everything fits in the window
    for row in site_rows:
        load = sum(o["cleared"] for o in orders if o["site"] == row["id"])
        row["intake_per_day"] = max(20, int(math.ceil(load / 4.0 / 10.0)) * 10)

    # ---- risk regions
    regions: list[dict] = []
    if risk:
        order_rank = np.argsort(-heads, kind="stable")
        candidates = [chosen[i].code for i in order_rank[counties // 10:]] or [c.code for c in chosen]
        n_med = max(1, round(counties * 0.012))
        n_high = 1 if counties < 100 else 2
        picked = rng.choice(len(candidates), size=min(len(candidates), n_med + n_high), replace=False)
        codes = [candidates[int(i)] for i in picked]
        for code in codes[:n_med]:
            regions.append({"county": code, "risk": "medium", "from": _iso(WINDOW_START - timedelta(days=5))})
        for j, code in enumerate(codes[n_med:]):
            until = WINDOW_START + timedelta(days=2)
            regions.append({"county": code, "risk": "high", "from": _iso(WINDOW_START - timedelta(days=3)),
                            "until": _iso(until)})
            if j == 1:  # phased release: the second one stays medium for two more days
                regions.append({"county": code, "risk": "medium", "from": _iso(until),
                                "until": _iso(until + timedelta(days=2))})

    # ---- fleet: enough seat-days for every worker's round trip, a coach doing 2–3 trips
    seat_days = sum(int(h) * _round_trip_days(c.lat, c.lon, centre) for c, h in zip(chosen, heads))
    seats_total = seat_days / SEAT_DAYS_PER_SEAT
    fleet = []
    for seats, share, fixed, per_km, crew in COACHES:
        fleet.append({"id": f"coach{seats}", "seats": seats,
                      "count": max(2, int(round(seats_total * share / seats))), "depot": "D1",
                      "fixed_cost": fixed, "cost_per_km": per_km, "crew_cost": crew,
                      "available_from": _iso(WINDOW_START),
                      "available_until": _iso(WINDOW_START + timedelta(days=WINDOW_DAYS))})

    policy: dict = {"max_pickup_stops": max_stops}
    if not rules:
        policy = {"max_pickup_stops": 50, "driving_rules": False, "time_rules": False}
    depots = [{"id": "D1", "name": "park coach yard", "location": {"lat": where.depot[0], "lon": where.depot[1]}}]
    stations: list[dict] = []
    offers: list[dict] = []
    if trains or reserved:
        stations, offers, yards, local = train_offers(orders, county_of, centre, trains, reserved, rng)
        depots += yards
        fleet += local
    name = f"{where.name} park, {workers:,} workers, {counties} counties, {sites} sites, seed {seed}"
    if far_km != FAR_KM:
        name += f", counties up to {far_km:,.0f} km"
    if trains or reserved:
        name += f", {len([t for t in offers if t['kind'] == 'special'])} special trains"
        name += f" and {len([t for t in offers if t['kind'] == 'cars'])} reserved-car offers"
    if not rules:
        name += " (rules off)"
    out = {
        "name": name,
        "sites": site_rows,
        "depots": depots,
        "fleet": fleet,
        "regions": regions,
        "orders": orders,
        "policy": policy,
    }
    if stations:
        out["stations"], out["trains"] = stations, offers
    return out


#: Road km ≈ this × geodesic (the default policy's road factor).
ROAD_FACTOR = 1.3
#: A county feeds a boarding station this far away (geodesic km): the hubs of the offers.
HUB_KM = 250.0
#: A special train's fixed price (a path requested from the railway bureau), its fewest riders,
#: and the fewest far workers near a station for a special train to be offered there.
TRAIN_FIXED, TRAIN_MIN_RIDERS, TRAIN_GROUP = 30_000.0, 150, 200


def train_offers(orders: list[dict], county_of: list, park: tuple[float, float], trains: int, reserved: int,
                 rng: np.random.Generator) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Train offers for a generated park: stations, offers, local coach yards and their fleets.

    The offers go where coaches cannot, or only just: workers whose straight ride (two drivers, the
    default driving rules, road km = :data:`ROAD_FACTOR` × geodesic) exceeds 93 % of the default
    36 h. ``trains``
    times, the station (on fangang's rail network) that the most such workers not yet seated live
    within :data:`HUB_KM` of gets a special train leaving at 20:00 on the day that most of them
    are ready by — conventional (7–12 hard-seat cars of 118, :data:`planner.rail.CONVENTIONAL`) when its
    run leaves room in the 36 h ride door to door, an EMU charter (8–16 cars of 72) otherwise —
    with a second boarding station on its way when seats are left; ``reserved`` times, the next
    group gets 2–4 reserved cars on a scheduled train leaving at 11:00 the next day. Run times come
    from the class's average speed; seats cost the class's fare per km; special trains cost
    :data:`TRAIN_FIXED` and run with at least :data:`TRAIN_MIN_RIDERS`,
    offered where :data:`TRAIN_GROUP` far workers are. Every boarding station gets
    a local coach yard (a county transport company) with enough 53-seaters to bring all its seats
    in one wave, priced as the park's 53-seaters."""
    from planner.driving import DrivingRules, leg_minutes  # noqa: PLC0415
    from planner.rail import CONVENTIONAL, EMU, RailNetwork  # noqa: PLC0415

    net = RailNetwork.default()
    # the estimate of which workers no coach brings, frozen as it was when the benchmark parks were
    # first measured (a crew at its daily limit waiting for an hour's room), so that a seed
    # generates the same park whatever the planner's driving model does since
    rules = DrivingRules(daily_chunk=60)
    dest = net.nearest(*park, 150)
    if dest is None:
        return [], [], [], []
    # far workers: (order index, near stations, ready day, count) — seated ones drop out
    far: list[list] = []
    for i, (o, c) in enumerate(zip(orders, county_of)):
        if leg_minutes(_geo_km(c.lat, c.lon, *park) * ROAD_FACTOR, rules, crew=2) + 15 <= 0.93 * 36 * 60:
            continue
        near = {s.id for s in net.stations.values() if s.id != dest and _geo_km(c.lat, c.lon, s.lat, s.lon) <= HUB_KM}
        if near:
            day = (datetime.fromisoformat(o["earliest_departure"]) - WINDOW_START).days
            far.append([i, near, day, o["cleared"]])

    def riders(st: str, day: int) -> int:  # near st and ready by the train
        return sum(f[3] for f in far if st in f[1] and f[2] <= day)

    def seat(st: str, day: int, room: int) -> int:
        took = 0
        for f in sorted((f for f in far if st in f[1] and f[2] <= day and f[3] > 0),
                        key=lambda f: (-f[2], f[0])):
            n = min(room - took, f[3])
            f[3] -= n
            took += n
        return took

    def station(st: str) -> dict:
        s = net.stations[st]
        return {"id": st, "name": s.name, "location": {"lat": s.lat, "lon": s.lon}}

    used: dict[str, dict] = {dest: station(dest)}
    offers: list[dict] = []
    seats_at: Counter = Counter()
    hubs = sorted(set().union(*(f[1] for f in far))) if far else []
    for k in range(trains + reserved):
        special = k < trains
        groups = [(riders(st, d), st, d) for st in hubs for d in range(3)]
        groups = [g for g in groups if g[0] >= (TRAIN_GROUP if special else 60)]
        if not groups:
            continue
        n, st, day = max(groups)
        cls = CONVENTIONAL if net.hours(st, dest, CONVENTIONAL) + 8 <= 36 else EMU
        depart = WINDOW_START + timedelta(days=day, hours=20)
        if special:
            lo, hi = (7, 12) if cls is CONVENTIONAL else (8, 16)
            cars = min(hi, max(lo, math.ceil(n * 1.05 / cls.seats_per_car)))
        else:
            cars = int(min(4, max(2, math.ceil(n / cls.seats_per_car))))
            depart += timedelta(days=1, hours=-9)
        room = cars * cls.seats_per_car
        room -= seat(st, day, room)
        boards = [st]
        total = net.km(st, dest)
        if special and room >= cls.seats_per_car:  # a second station on the way, with riders of its own
            on_way = [(riders(b, day), b) for b in hubs if b != st and riders(b, day) >= 100
                      and net.km(st, b) + net.km(b, dest) <= 1.05 * total and net.km(st, b) <= 600]
            if on_way:
                b = max(on_way)[1]
                seat(b, day, room)
                boards.append(b)
        calls: list[dict] = [{"station": st, "depart": _iso(depart)}]
        if len(boards) > 1:
            t = depart + timedelta(minutes=math.ceil(net.hours(st, boards[1], cls) * 60))
            calls.append({"station": boards[1], "arrive": _iso(t), "depart": _iso(t + timedelta(minutes=10))})
        arrive = depart + timedelta(minutes=math.ceil(net.hours(st, dest, cls) * 60) + 10 * (len(boards) - 1))
        calls.append({"station": dest, "arrive": _iso(arrive)})
        number = (4000 + k) if special else (1100 + 2 * k)
        scheduled = "D" if cls is EMU else "K"
        offers.append({"id": f"T{len(offers) + 1:02d}", "name": f"{cls.prefix if special else scheduled}{number}",
                       "kind": "special" if special else "cars", "calls": calls, "board_at": boards,
                       "alight_at": [dest], "cars": cars, "seats_per_car": cls.seats_per_car,
                       "fixed_cost": TRAIN_FIXED if special else 0.0,
                       "cost_per_seat": float(round(total * cls.fare_per_km)),
                       "min_riders": TRAIN_MIN_RIDERS if special else 1})
        for b in boards:
            used[b] = station(b)
            seats_at[b] += cars * cls.seats_per_car
    yards, local = [], []
    for st, seats in sorted(seats_at.items()):
        s = net.stations[st]
        yards.append({"id": f"Y{st}", "name": f"{s.name[:-1]}客运 (feeders)",
                      "location": {"lat": round(s.lat + 0.01, 5), "lon": round(s.lon + 0.01, 5)}})
        local.append({"id": f"local-{st}", "seats": 53, "count": math.ceil(seats / 45) + 2,
                      "depot": f"Y{st}", "fixed_cost": 1200.0, "cost_per_km": 7.0, "crew_cost": 600.0,
                      "available_from": _iso(WINDOW_START),
                      "available_until": _iso(WINDOW_START + timedelta(days=WINDOW_DAYS))})
    return list(used.values()), offers, yards, local


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=20000)
    ap.add_argument("--counties", type=int, default=300)
    ap.add_argument("--sites", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-stops", type=int, default=3)
    ap.add_argument("--no-risk", action="store_true", help="no risk regions")
    ap.add_argument("--far-km", type=float, default=FAR_KM,
                    help=f"farthest home county, geodesic km (default {FAR_KM:,.0f}; larger keeps far counties in)")
    ap.add_argument("--park", default="zhengzhou", choices=sorted(PARKS), help="where the park lies")
    ap.add_argument("--trains", type=int, default=0, help="special trains to offer (default none)")
    ap.add_argument("--reserved", type=int, default=0, help="reserved-car offers on scheduled trains")
    ap.add_argument("--no-rules", action="store_true",
                    help="switch off driving and time rules, max 50 pickup stops (CVRP comparison)")
    ap.add_argument("--name", help="scenario name (default: describes the size and seed)")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    args = ap.parse_args(argv)
    scenario = generate(args.workers, args.counties, args.sites, seed=args.seed, risk=not args.no_risk,
                        max_stops=args.max_stops, rules=not args.no_rules, far_km=args.far_km, park=args.park,
                        trains=args.trains, reserved=args.reserved)
    if args.name:
        scenario["name"] = args.name
    text = json.dumps(scenario, ensure_ascii=False, indent=1)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
