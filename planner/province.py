"""A province at once: many parks planned as tasks on a Dask cluster (``distributed``; a
``LocalCluster`` on this machine unless a scheduler address is given).

A province is a folder of park scenarios (``*.json``, contract v1, one park each) with an optional
``province.json`` of what the parks share — ``name``; ``regions`` (risk levels: they replace a
park's own for the same counties); ``depots`` and ``fleet_pool`` (coach types whose coaches any
park may use); ``stations`` and ``trains`` (train offers whose cars any park near them may use) —
or one JSON file with the same keys and ``parks`` (a name → scenario map).

How a shared fleet is split (:func:`split_pool`): first every pooled type's coaches go to the parks
in proportion to their cleared workers (largest remainder); each park is planned with its share
(a task each: plain dicts in, a plan dict and its checker's findings out — the OR-Tools models are
built on the worker). Then a second pass: a park that left workers ``no_vehicle`` takes the coaches
other parks did not use (a park keeps the coaches up to the highest it used; the others are idle)
and is planned again. Coach ``b`` of type ``t`` in park ``k`` is coach ``offset[k][t] + b`` of the
pool, so no pooled coach can be in two parks; :func:`check_province` verifies it on the plans, and
that every park's plan passes the checker on its own scenario.

Shared trains (``stations`` and ``trains`` in ``province.json``, contract-v1 train offers): a train
is split by whole cars (:func:`split_seats`) among the parks that could use it — those with workers
within :data:`BOARD_KM` road km of a boarding station and a site within :data:`ALIGHT_KM` of an
alighting one — in proportion to those workers (largest remainder). A park plans with its cars, the
same share of the fixed cost and of ``min_riders`` (:func:`park_train`). Second pass: a train with
riders but fewer than ``min_riders`` over all parks is taken off every park (those that rode it are
planned again); of a train that runs, a park that left no worker ``no_train_seat`` keeps the cars
up to the last it filled and the freed cars go to the parks that left workers ``no_train_seat``
(their extra cars carry no fixed cost: the train runs anyway). Car ``c`` of park ``k`` is car
``offset[k] + c`` of the train; the province checker verifies that no car is in two parks or over
its seats, that no park rides beyond its cars or a copy that differs from the offer, and the
fewest riders over all parks. The summary counts a shared train's fixed cost once.

Within a park nothing is fanned out further: its sites, cohorts and days share the park's coaches
and crews (a crew's driving carries over its coach's trips), so they are not independent.

Tasks carry ``retries``: a worker that dies mid-run (killed, out of memory) costs its park a
restart on another worker, never a second plan.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .contract import Plan, Scenario

#: retries of a park's task when its worker dies
RETRIES = 3
#: the cluster's event topic on which parks report their progress
TOPIC = "fangang-progress"


@dataclass
class Province:
    """Parks (name → scenario dict) and what they share."""

    name: str
    parks: dict[str, dict[str, Any]]
    regions: list[dict[str, Any]] = field(default_factory=list)
    depots: list[dict[str, Any]] = field(default_factory=list)
    fleet_pool: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    trains: list[dict[str, Any]] = field(default_factory=list)


def local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` processes, one thread each, whose workers may fork (the
    local search of a park forks two children, as it does when a park is planned alone)."""
    import dask  # noqa: PLC0415
    from distributed import LocalCluster  # noqa: PLC0415

    with dask.config.set({"distributed.worker.daemon": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def load_province(path: str | Path) -> Province:
    """A province from a folder (park ``*.json`` files and an optional ``province.json``) or one
    JSON file with ``parks``."""
    path = Path(path)
    if path.is_dir():
        shared_file = path / "province.json"
        shared = json.loads(shared_file.read_text(encoding="utf-8")) if shared_file.exists() else {}
        parks = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(path.glob("*.json"))
                 if p.name != "province.json"}
    else:
        shared = json.loads(path.read_text(encoding="utf-8"))
        parks = dict(shared.get("parks", {}))
    known = ("name", "regions", "depots", "fleet_pool", "stations", "trains", "parks")
    unknown = set(shared) - set(known)
    if unknown:
        raise ValueError(f"{path}: unknown province field(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(known)})")
    if not parks:
        raise ValueError(f"{path}: no park scenario found")
    province = Province(shared.get("name", path.stem), parks, list(shared.get("regions", [])),
                        list(shared.get("depots", [])), list(shared.get("fleet_pool", [])),
                        list(shared.get("stations", [])), list(shared.get("trains", [])))
    _check_shared_trains(province, path)
    return province


def _check_shared_trains(province: Province, path: Path) -> None:
    """Shared train offers are contract-v1 ``trains`` calling at the province's ``stations``, with
    ids no park uses for a train of its own."""
    from pydantic import ValidationError  # noqa: PLC0415

    from .contract import Station, TrainOffer  # noqa: PLC0415

    ids = set()
    for i, st in enumerate(province.stations):
        try:
            ids.add(Station.model_validate(st).id)
        except ValidationError as e:
            raise ValueError(f"{path}: stations[{i}]: {e}") from None
    own = {t.get("id") for sc in province.parks.values() for t in sc.get("trains", [])}
    for i, t in enumerate(province.trains):
        try:
            offer = TrainOffer.model_validate(t)
        except ValidationError as e:
            raise ValueError(f"{path}: trains[{i}]: {e}") from None
        missing = [c.station for c in offer.calls if c.station not in ids]
        if missing:
            raise ValueError(f"{path}: trains[{i}] ({offer.id}): calls at {', '.join(missing)}, "
                             "not among the province's stations")
        if offer.id in own:
            raise ValueError(f"{path}: trains[{i}] ({offer.id}): a park has a train of its own with this id")


def _demand(scenario: dict[str, Any]) -> int:
    return sum(int(o.get("cleared", o.get("headcount", 0))) for o in scenario.get("orders", []))


def _largest_remainder(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` whole units shared in proportion to ``weights`` (largest remainder, ties by name)."""
    whole = sum(weights.values())
    if not whole:
        return {n: 0 for n in weights}
    share = {n: total * w / whole for n, w in weights.items()}
    base = {n: math.floor(x) for n, x in share.items()}
    for n in sorted(share, key=lambda n: (-(share[n] - base[n]), n))[:total - sum(base.values())]:
        base[n] += 1
    return base


def split_pool(province: Province, counts: Optional[dict[str, dict[str, int]]] = None
               ) -> dict[str, dict[str, int]]:
    """Pooled coaches per park and type: ``counts`` if given, else in proportion to each park's
    cleared workers (largest remainder; every type's total is its pool's count)."""
    if counts is not None:
        return counts
    demand = {name: _demand(sc) for name, sc in province.parks.items()}
    out: dict[str, dict[str, int]] = {name: {} for name in province.parks}
    for vt in province.fleet_pool:
        for name, n in _largest_remainder(vt["count"], demand).items():
            out[name][vt["id"]] = n
    return out


#: a park shares a province train when some of its workers live within BOARD_KM road km of one of
#: the train's boarding stations (a feeder's reach) and one of its sites is within ALIGHT_KM of one
#: of its alighting stations (a last mile's)
BOARD_KM, ALIGHT_KM = 250.0, 150.0


def train_demand(province: Province, roads: Optional[str] = None) -> dict[str, dict[str, int]]:
    """Per shared train, per park: the cleared workers of the park who could ride it (see
    :data:`BOARD_KM`), road km from ``roads`` (a road source as ``--roads`` names it; default
    geodesic × each park's road factor)."""
    from .contract import Location, TrainOffer  # noqa: PLC0415
    from .network.places import Point, resolve_all  # noqa: PLC0415
    from .network.roads import provider_for  # noqa: PLC0415

    out: dict[str, dict[str, int]] = {t["id"]: {} for t in province.trains}
    if not province.trains:
        return out

    def points(rows: list[dict[str, Any]], key: str) -> list[Any]:
        return resolve_all([Location.model_validate(r[key]) for r in rows])

    where = {st["id"]: p for st, p in zip(province.stations, points(province.stations, "location"))
             if isinstance(p, Point)}
    offers = [TrainOffer.model_validate(t) for t in province.trains]
    for name, sc in province.parks.items():
        source = provider_for(roads, float(sc.get("policy", {}).get("road_factor", 1.3)))
        speed = float(sc.get("policy", {}).get("speed_kmh", 75.0))
        orders = sc.get("orders", [])
        ok = [(o, p) for o, p in zip(orders, points(orders, "origin")) if isinstance(p, Point)]
        sites = [p for p in points(sc.get("sites", []), "location") if isinstance(p, Point)]
        col = {s: k for k, s in enumerate(where)}
        stations = list(where.values())
        to_station = source.table(sites, stations, speed)[0] if sites and stations else None
        from_home = source.table([p for _, p in ok], stations, speed)[0] if ok and stations else None
        for offer in offers:
            if to_station is None or not any(s in where and float(to_station[i, col[s]]) <= ALIGHT_KM
                                             for s in offer.alighting() for i in range(len(sites))):
                continue
            if from_home is None:
                continue
            near = np.zeros(len(ok), dtype=bool)
            for s in (b for b in offer.boarding() if b in where):
                near |= from_home[:, col[s]] <= BOARD_KM
            n = sum(int(o.get("cleared", o.get("headcount", 0))) for (o, _), yes in zip(ok, near) if yes)
            if n:
                out[offer.id][name] = n
    return out


def split_seats(province: Province, demand: Optional[dict[str, dict[str, int]]] = None
                ) -> dict[str, dict[str, int]]:
    """Cars per shared train and park, in proportion to the park's riders who could use it
    (:func:`train_demand`; largest remainder, whole cars: a car is never split between parks)."""
    demand = train_demand(province) if demand is None else demand
    out: dict[str, dict[str, int]] = {}
    for t in province.trains:
        cars = _largest_remainder(t["cars"], demand.get(t["id"], {}))
        out[t["id"]] = {n: k for n, k in cars.items() if k > 0}
    return out


def park_train(offer: dict[str, Any], cars: int) -> dict[str, Any]:
    """A park's part of a shared train: its ``cars``, the fixed cost and the fewest riders in
    proportion (the whole train runs only with ``min_riders`` over every park)."""
    part = cars / offer["cars"]
    low = int(offer.get("min_riders", 1))
    return {**offer, "cars": cars, "fixed_cost": float(offer.get("fixed_cost", 0.0)) * part,
            "min_riders": max(1, math.ceil(low * part)) if low > 1 else 1}


def park_scenario(province: Province, name: str, pool: dict[str, int],
                  trains: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    """A park's scenario with the province's regions, its share of the pooled coaches and its part
    of the shared trains (``trains``: train id → the park's offer, :func:`park_train`)."""
    sc = json.loads(json.dumps(province.parks[name]))
    mine = [t for t in (trains or {}).values() if t["cars"] > 0]
    if mine:
        used = {c["station"] for t in mine for c in t["calls"]}
        have = {st["id"] for st in sc.get("stations", [])}
        sc["stations"] = list(sc.get("stations", [])) + [st for st in province.stations
                                                         if st["id"] in used and st["id"] not in have]
        sc["trains"] = list(sc.get("trains", [])) + [dict(t) for t in mine]
    if province.regions:
        shared = {r["county"] for r in province.regions}
        sc["regions"] = [r for r in sc.get("regions", []) if r["county"] not in shared] + list(province.regions)
    if province.fleet_pool:
        have = {d["id"] for d in sc.get("depots", [])}
        sc["depots"] = list(sc.get("depots", [])) + [d for d in province.depots if d["id"] not in have]
        sc["fleet"] = [v for v in sc.get("fleet", []) if v["id"] not in pool] + [
            {**vt, "count": pool.get(vt["id"], 0)} for vt in province.fleet_pool]
    return sc


def plan_park(name: str, scenario: dict[str, Any], time_limit: float, seed: int,
              roads: Optional[str] = None) -> dict[str, Any]:
    """One park's task (runs on a worker): plan, check, and report progress on the topic
    ``fangang-progress``. Plain data in and out; ``roads`` names the road source (as ``--roads``)."""
    from .check import check  # noqa: PLC0415
    from .network.roads import provider_for  # noqa: PLC0415
    from .optimize import solve  # noqa: PLC0415

    publish: Callable[[Any], None] = lambda _msg: None  # noqa: E731
    try:
        from distributed import get_worker  # noqa: PLC0415

        worker = get_worker()
        publish = lambda msg: worker.log_event(TOPIC, msg)  # noqa: E731
    except (ImportError, ValueError):
        pass
    sc = Scenario.model_validate(scenario)
    plan = solve(sc, time_limit=time_limit, seed=seed, distances=provider_for(roads, sc.policy.road_factor) if roads else None,
                 progress=lambda p: publish((name, p.phase, p.fraction)))
    found = check(sc, plan, roads=roads)
    publish((name, "done", 1.0))
    return {"park": name, "plan": plan.model_dump(mode="json", by_alias=True, exclude_none=True),
            "violations": [str(v) for v in found], "seconds": plan.solver.seconds}


@dataclass
class ProvinceResult:
    plans: dict[str, dict[str, Any]]  # park → plan dict
    scenarios: dict[str, dict[str, Any]]  # park → the scenario it was planned with
    pool: dict[str, dict[str, int]]  # park → pooled coaches by type
    violations: dict[str, list[str]]
    passes: int
    moved: dict[str, dict[str, int]]  # park → pooled coaches it got in the second pass
    short_first: dict[str, int] = field(default_factory=dict)  # park → workers no_vehicle after the first pass
    seats: dict[str, dict[str, int]] = field(default_factory=dict)  # shared train → park → cars
    seats_first: dict[str, dict[str, int]] = field(default_factory=dict)  # the same, first pass
    dropped: dict[str, list[str]] = field(default_factory=dict)  # shared train → parks it was taken from


def _riders(plans: dict[str, dict[str, Any]], tid: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for n, plan in plans.items():
        k = sum(r["count"] for r in plan.get("train_loads", []) if r["train"] == tid)
        if k:
            out[n] = k
    return out


def _cars_used(plan: dict[str, Any], tid: str) -> int:
    return max((r["car"] + 1 for r in plan.get("train_loads", []) if r["train"] == tid), default=0)


def _short(plan: dict[str, Any], reason: str) -> int:
    return sum(u["count"] for u in plan.get("unassigned", []) if u["reason"] == reason)


def plan_province(province: Province, client: Any, *, time_limit: float | dict[str, float] = 30.0, seed: int = 0,
                  progress: Optional[Callable[[str, str, float], None]] = None,
                  first: Optional[dict[str, dict[str, int]]] = None, roads: Optional[str] = None) -> ProvinceResult:
    """Plan every park on ``client``'s cluster (see the module's doc for the split; ``time_limit``:
    seconds per park, or a park → seconds map; ``first``: the first pass's split, default by demand;
    ``roads``: the road source every park and the train split measure with, as ``--roads``)."""
    from distributed import as_completed  # noqa: PLC0415

    pool = json.loads(json.dumps(split_pool(province, first)))
    offers = {t["id"]: t for t in province.trains}
    demand = train_demand(province, roads)
    parts: dict[str, dict[str, dict[str, Any]]] = {n: {} for n in province.parks}
    for tid, by_park in split_seats(province, demand).items():
        for n, k in by_park.items():
            parts[n][tid] = park_train(offers[tid], k)
    seats_first = {tid: {n: parts[n][tid]["cars"] for n in parts if tid in parts[n]} for tid in offers}
    scenarios = {name: park_scenario(province, name, pool[name], parts[name]) for name in province.parks}
    if progress is not None:
        client.subscribe_topic(TOPIC, lambda event: progress(*event[1]))

    rounds = [0]
    token = uuid.uuid4().hex[:6]  # keys of this call only

    def run(names: list[str]) -> dict[str, dict[str, Any]]:
        rounds[0] += 1
        limit = {n: time_limit[n] if isinstance(time_limit, dict) else time_limit for n in names}
        # the largest first: the slowest park sets the wall time, so it should start at once
        order = sorted(names, key=lambda n: -len(scenarios[n].get("orders", [])))
        futures = {client.submit(plan_park, n, scenarios[n], limit[n], seed, roads, key=f"park-{n}-{rounds[0]}-{token}",
                                 retries=RETRIES, pure=False, priority=len(order) - i): n
                   for i, n in enumerate(order)}
        got = {}
        for fut in as_completed(futures):
            r = fut.result()
            got[r["park"]] = r
        return got

    done: dict[str, dict[str, Any]] = {}
    done.update(run(sorted(province.parks)))
    moved: dict[str, dict[str, int]] = {}
    passes = 1
    short_first = {n: _short(r["plan"], "no_vehicle") for n, r in done.items()}
    again: set[str] = set()
    dropped: dict[str, list[str]] = {}
    if province.trains:
        again |= _move_seats(province, offers, demand, parts, {n: r["plan"] for n, r in done.items()}, dropped)
    if province.fleet_pool:
        needy = {n: k for n, k in short_first.items() if k > 0}
        if needy:
            for vt in province.fleet_pool:
                spare = 0
                for n, r in done.items():
                    if n in needy or n in again:  # a park planned again for seats keeps its coaches
                        continue
                    used = max((t["bus"] + 1 for t in r["plan"].get("trips", []) if t["vehicle_type"] == vt["id"]),
                               default=0)
                    spare += pool[n][vt["id"]] - used
                    pool[n][vt["id"]] = used
                for n, k in _largest_remainder(spare, needy).items():
                    pool[n][vt["id"]] += k
                    moved.setdefault(n, {})[vt["id"]] = k
            again |= set(needy)
    if again:
        for n in province.parks:
            scenarios[n] = park_scenario(province, n, pool[n], parts[n])
        done.update(run(sorted(again)))
        passes = 2
        # a shared train a later pass left with too few riders over the parks: off it, and again
        # (each time one train fewer can run; a park without riders on it keeps its plan)
        while passes < 2 + len(offers):
            last = _below_min(province, offers, parts, {n: r["plan"] for n, r in done.items()}, dropped)
            for n in province.parks:
                scenarios[n] = park_scenario(province, n, pool[n], parts[n])
            if not last:
                break
            done.update(run(sorted(last)))
            passes += 1
    if progress is not None:
        client.unsubscribe_topic(TOPIC)
    seats = {tid: {n: parts[n][tid]["cars"] for n in parts if tid in parts[n]} for tid in offers}
    return ProvinceResult({n: r["plan"] for n, r in done.items()}, scenarios, pool,
                          {n: r["violations"] for n, r in done.items()}, passes, moved, short_first,
                          seats, seats_first, dropped)


def _below_min(province: Province, offers: dict[str, dict[str, Any]], parts: dict[str, dict[str, dict[str, Any]]],
               plans: dict[str, dict[str, Any]], dropped: dict[str, list[str]]) -> set[str]:
    """Shared trains with riders, but fewer over all parks than their ``min_riders``: taken from
    every park; the parks that had riders on them are returned, to be planned again."""
    again: set[str] = set()
    for tid, t in offers.items():
        riders = _riders(plans, tid)
        if 0 < sum(riders.values()) < int(t.get("min_riders", 1)):
            for n in parts:
                if parts[n].pop(tid, None) is not None:
                    dropped.setdefault(tid, []).append(n)
            again |= set(riders)
    return again


def _move_seats(province: Province, offers: dict[str, dict[str, Any]], demand: dict[str, dict[str, int]],
                parts: dict[str, dict[str, dict[str, Any]]], plans: dict[str, dict[str, Any]],
                dropped: dict[str, list[str]]) -> set[str]:
    """The second pass's seats: a shared train below its fewest riders is taken off (see
    :func:`_below_min`); of one that runs, a park without workers left ``no_train_seat`` keeps
    the cars up to the last it filled, and the cars freed go to the parks that left workers
    ``no_train_seat`` and could ride it, in proportion to those workers. A park that gets cars of
    a train that runs already pays no more of its fixed cost (the others' shares pay it) and
    needs no fewest riders of its own. Returns the parks to plan again."""
    again = _below_min(province, offers, parts, plans, dropped)
    short = {n: _short(p, "no_train_seat") for n, p in plans.items()}
    for tid, t in offers.items():
        if tid in dropped:
            continue
        wanting = {n: short[n] for n in demand.get(tid, {}) if short.get(n, 0) > 0}
        if not wanting:
            continue
        spare = 0
        for n in parts:
            if tid in parts[n] and n not in wanting:
                used = _cars_used(plans[n], tid)
                spare += parts[n][tid]["cars"] - used
                parts[n][tid]["cars"] = used
                if used == 0:
                    del parts[n][tid]
        for n, k in _largest_remainder(spare, wanting).items():
            if k <= 0:
                continue
            if tid in parts[n]:
                parts[n][tid]["cars"] += k
            else:
                parts[n][tid] = {**t, "cars": k, "fixed_cost": 0.0, "min_riders": 1}
            again.add(n)
    return again


def check_province(province: Province, result: ProvinceResult) -> list[str]:
    """What breaks the province's rules: a park's plan that its checker rejects (on the scenario it
    was planned with), and a pooled coach used by two parks (coach ``b`` of park ``k`` is pool coach
    ``offset + b``) or beyond its pool. Shares no code with the optimiser."""
    from .check import check  # noqa: PLC0415

    found: list[str] = []
    for name, plan in sorted(result.plans.items()):
        for v in check(Scenario.model_validate(result.scenarios[name]), Plan.model_validate(plan)):
            found.append(f"{name}: {v}")
    for vt in province.fleet_pool:
        given = {n: result.pool[n].get(vt["id"], 0) for n in sorted(result.plans)}
        if sum(given.values()) > vt["count"]:
            found.append(f"pool {vt['id']}: {sum(given.values())} coaches handed out, the pool has {vt['count']}")
        offset, users = 0, defaultdict(set)
        for n in sorted(result.plans):
            for t in result.plans[n].get("trips", []):
                if t["vehicle_type"] == vt["id"]:
                    if t["bus"] >= given[n]:
                        found.append(f"{n}: trip {t['id']} runs on pool coach {vt['id']} #{t['bus'] + 1}, "
                                     f"beyond the park's {given[n]}")
                    users[offset + t["bus"]].add(n)
            offset += given[n]
        for bus, parks in sorted(users.items()):
            if len(parks) > 1:
                found.append(f"pool {vt['id']} coach {bus + 1} is used by parks {', '.join(sorted(parks))}")
    found += _check_shared_trains_used(province, result)
    return found


def _check_shared_trains_used(province: Province, result: ProvinceResult) -> list[str]:
    """Shared trains: each park's copy is the province's offer (its calls, seats, fare) with the
    cars handed to it; no more cars handed out than the train has; a park's riders only in its own
    cars (car ``c`` of park ``k`` is car ``offset + c`` of the train), no car in two parks or over
    its seats; and a train that runs has its ``min_riders`` over all parks."""
    found: list[str] = []
    for t in province.trains:
        tid = t["id"]
        given = result.seats.get(tid, {})
        if sum(given.values()) > t["cars"]:
            found.append(f"train {tid}: {sum(given.values())} cars handed out, it has {t['cars']}")
        offset, riders = 0, 0
        users: defaultdict[int, set[str]] = defaultdict(set)
        load: Counter[int] = Counter()
        for n in sorted(result.plans):
            k = given.get(n, 0)
            copy = next((x for x in result.scenarios[n].get("trains", []) if x["id"] == tid), None)
            if copy is not None:
                if copy.get("cars") != k:
                    found.append(f"{n}: train {tid} planned with {copy.get('cars')} cars, it was handed {k}")
                for key in ("calls", "seats_per_car", "cost_per_seat", "board_at", "alight_at"):
                    if copy.get(key) != t.get(key):
                        found.append(f"{n}: train {tid}'s {key} differs from the province's offer")
            for r in result.plans[n].get("train_loads", []):
                if r["train"] != tid:
                    continue
                if copy is None or r["car"] >= k:
                    found.append(f"{n}: {r['count']} rider(s) of {r['order']} in car {r['car'] + 1} of train {tid}, "
                                 f"beyond the park's {k} car(s)")
                users[offset + r["car"]].add(n)
                load[offset + r["car"]] += r["count"]
                riders += r["count"]
            offset += k
        seats = int(t.get("seats_per_car", 118))
        for car in sorted(users):
            if len(users[car]) > 1:
                found.append(f"train {tid} car {car + 1} is used by parks {', '.join(sorted(users[car]))}")
            if load[car] > seats:
                found.append(f"train {tid} car {car + 1} carries {load[car]}, it has {seats} seats")
        if 0 < riders < int(t.get("min_riders", 1)):
            found.append(f"train {tid} runs with {riders} riders over the parks, fewer than its {t['min_riders']}")
    return found


def summary(province: Province, result: ProvinceResult) -> dict[str, Any]:
    """Workers by park and by home province, coaches, trains, cost, unassigned by reason."""
    from .contract import Location  # noqa: PLC0415
    from .network.places import province_of, resolve_all  # noqa: PLC0415

    parks = []
    by_home: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for name in sorted(result.plans):
        plan = result.plans[name]
        s = plan["summary"]
        orders = {o["id"]: o for o in result.scenarios[name]["orders"]}
        ids = list(orders)
        points = resolve_all([Location.model_validate(orders[i]["origin"]) for i in ids])
        home = {i: (province_of(getattr(p, "county", None) or "") or "?") for i, p in zip(ids, points)}
        for t in plan.get("trips", []):
            if t.get("purpose", "direct") == "last_mile":
                continue
            for st in t["stops"]:
                for ld in st.get("board", []):
                    by_home[home.get(ld["order"], "?")] += ld["count"]
        for u in plan.get("unassigned", []):
            reasons[u["reason"]] += u["count"]
        parks.append({"park": name, "requested": s["workers_requested"], "eligible": s["workers_eligible"],
                      "planned": s["workers_planned"], "by_train": (s.get("workers_by_mode") or {}).get("train", 0),
                      "trips": s["trips"], "coaches": s["buses_used"], "trains": s.get("trains_run") or 0,
                      "km": s["km"], "cost": s["cost"] + (s.get("train_cost") or 0.0)})
    total = {k: sum(p[k] for p in parks) for k in ("requested", "eligible", "planned", "by_train", "trips",
                                                    "coaches", "trains", "km", "cost")}
    shared = []
    for t in province.trains:
        tid = t["id"]
        riders = _riders(result.plans, tid)
        runs = sum(riders.values()) > 0
        # each park's plan paid its own share of the fixed cost: the province pays the whole once
        paid = sum(next(x["fixed_cost"] for x in result.scenarios[n]["trains"] if x["id"] == tid) for n in riders)
        fixed = float(t.get("fixed_cost", 0.0)) if runs else 0.0
        total["cost"] += fixed - paid
        shared.append({"train": tid, "name": t.get("name", ""), "cars": t["cars"],
                       "cars_by_park": result.seats.get(tid, {}), "cars_by_park_first": result.seats_first.get(tid, {}),
                       "riders_by_park": riders, "runs": runs, "taken_from": result.dropped.get(tid, []),
                       "cost": fixed + float(t.get("cost_per_seat", 0.0)) * sum(riders.values()),
                       "fixed_cost_in_park_plans": paid})
    total["trains"] = sum(p["trains"] for p in parks) - sum(max(0, len(x["riders_by_park"]) - 1) for x in shared)
    out = {"province": province.name, "parks": parks, "total": total, "by_home_province": dict(by_home),
           "unassigned_by_reason": dict(reasons), "passes": result.passes, "moved": result.moved}
    if shared:
        out["shared_trains"] = shared
    return out
