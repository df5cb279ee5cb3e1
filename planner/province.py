"""A province at once: many parks planned as tasks on a Dask cluster (``distributed``; a
``LocalCluster`` on this machine unless a scheduler address is given).

A province is a folder of park scenarios (``*.json``, contract v1, one park each) with an optional
``province.json`` of what the parks share — ``name``; ``regions`` (risk levels: they replace a
park's own for the same counties); ``depots`` and ``fleet_pool`` (coach types whose coaches any
park may use) — or one JSON file with the same keys and ``parks`` (a name → scenario map).

How a shared fleet is split (:func:`split_pool`): first every pooled type's coaches go to the parks
in proportion to their cleared workers (largest remainder); each park is planned with its share
(a task each: plain dicts in, a plan dict and its checker's findings out — the OR-Tools models are
built on the worker). Then a second pass: a park that left workers ``no_vehicle`` takes the coaches
other parks did not use (a park keeps the coaches up to the highest it used; the others are idle)
and is planned again. Coach ``b`` of type ``t`` in park ``k`` is coach ``offset[k][t] + b`` of the
pool, so no pooled coach can be in two parks; :func:`check_province` verifies it on the plans, and
that every park's plan passes the checker on its own scenario.

Tasks carry ``retries``: a worker that dies mid-run (killed, out of memory) costs its park a
restart on another worker, never a second plan.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

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
    unknown = set(shared) - {"name", "regions", "depots", "fleet_pool", "parks"}
    if unknown:
        raise ValueError(f"{path}: unknown province field(s) {', '.join(sorted(unknown))} "
                         "(known: name, regions, depots, fleet_pool, parks)")
    if not parks:
        raise ValueError(f"{path}: no park scenario found")
    return Province(shared.get("name", path.stem), parks, list(shared.get("regions", [])),
                    list(shared.get("depots", [])), list(shared.get("fleet_pool", [])))


def _demand(scenario: dict[str, Any]) -> int:
    return sum(int(o.get("cleared", o.get("headcount", 0))) for o in scenario.get("orders", []))


def split_pool(province: Province, counts: Optional[dict[str, dict[str, int]]] = None
               ) -> dict[str, dict[str, int]]:
    """Pooled coaches per park and type: ``counts`` if given, else in proportion to each park's
    cleared workers (largest remainder; every type's total is its pool's count)."""
    if counts is not None:
        return counts
    demand = {name: _demand(sc) for name, sc in province.parks.items()}
    total = sum(demand.values()) or 1
    out: dict[str, dict[str, int]] = {name: {} for name in province.parks}
    for vt in province.fleet_pool:
        share = {name: vt["count"] * d / total for name, d in demand.items()}
        base = {name: math.floor(s) for name, s in share.items()}
        rest = vt["count"] - sum(base.values())
        for name in sorted(share, key=lambda n: (-(share[n] - base[n]), n))[:rest]:
            base[name] += 1
        for name, n in base.items():
            out[name][vt["id"]] = n
    return out


def park_scenario(province: Province, name: str, pool: dict[str, int]) -> dict[str, Any]:
    """A park's scenario with the province's regions and its share of the pooled coaches."""
    sc = json.loads(json.dumps(province.parks[name]))
    if province.regions:
        shared = {r["county"] for r in province.regions}
        sc["regions"] = [r for r in sc.get("regions", []) if r["county"] not in shared] + list(province.regions)
    if province.fleet_pool:
        have = {d["id"] for d in sc.get("depots", [])}
        sc["depots"] = list(sc.get("depots", [])) + [d for d in province.depots if d["id"] not in have]
        sc["fleet"] = [v for v in sc.get("fleet", []) if v["id"] not in pool] + [
            {**vt, "count": pool.get(vt["id"], 0)} for vt in province.fleet_pool]
    return sc


def plan_park(name: str, scenario: dict[str, Any], time_limit: float, seed: int) -> dict[str, Any]:
    """One park's task (runs on a worker): plan, check, and report progress on the topic
    ``fangang-progress``. Plain data in and out."""
    from .check import check  # noqa: PLC0415
    from .optimize import solve  # noqa: PLC0415

    publish: Callable[[Any], None] = lambda _msg: None  # noqa: E731
    try:
        from distributed import get_worker  # noqa: PLC0415

        worker = get_worker()
        publish = lambda msg: worker.log_event(TOPIC, msg)  # noqa: E731
    except (ImportError, ValueError):
        pass
    sc = Scenario.model_validate(scenario)
    plan = solve(sc, time_limit=time_limit, seed=seed,
                 progress=lambda p: publish((name, p.phase, p.fraction)))
    found = check(sc, plan)
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


def plan_province(province: Province, client: Any, *, time_limit: float | dict[str, float] = 30.0, seed: int = 0,
                  progress: Optional[Callable[[str, str, float], None]] = None,
                  first: Optional[dict[str, dict[str, int]]] = None) -> ProvinceResult:
    """Plan every park on ``client``'s cluster (see the module's doc for the split; ``time_limit``:
    seconds per park, or a park → seconds map; ``first``: the first pass's split, default by demand)."""
    from distributed import as_completed  # noqa: PLC0415

    pool = json.loads(json.dumps(split_pool(province, first)))
    scenarios = {name: park_scenario(province, name, pool[name]) for name in province.parks}
    if progress is not None:
        client.subscribe_topic(TOPIC, lambda event: progress(*event[1]))

    def run(names: list[str]) -> dict[str, dict[str, Any]]:
        limit = {n: time_limit[n] if isinstance(time_limit, dict) else time_limit for n in names}
        # the largest first: the slowest park sets the wall time, so it should start at once
        order = sorted(names, key=lambda n: -len(scenarios[n].get("orders", [])))
        futures = {client.submit(plan_park, n, scenarios[n], limit[n], seed, key=f"park-{n}-{len(done)}",
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
    short_first = {n: sum(u["count"] for u in r["plan"].get("unassigned", []) if u["reason"] == "no_vehicle")
                   for n, r in done.items()}
    if province.fleet_pool:
        needy = {n: k for n, k in short_first.items() if k > 0}
        if needy:
            for vt in province.fleet_pool:
                spare = 0
                for n, r in done.items():
                    if n in needy:
                        continue
                    used = max((t["bus"] + 1 for t in r["plan"].get("trips", []) if t["vehicle_type"] == vt["id"]),
                               default=0)
                    spare += pool[n][vt["id"]] - used
                    pool[n][vt["id"]] = used
                total = sum(needy.values())
                given = 0
                for i, n in enumerate(sorted(needy)):
                    k = spare - given if i == len(needy) - 1 else spare * needy[n] // total
                    given += k
                    pool[n][vt["id"]] += k
                    moved.setdefault(n, {})[vt["id"]] = k
            for n in province.parks:
                scenarios[n] = park_scenario(province, n, pool[n])
            done.update(run(sorted(needy)))
            passes = 2
    if progress is not None:
        client.unsubscribe_topic(TOPIC)
    return ProvinceResult({n: r["plan"] for n, r in done.items()}, scenarios, pool,
                          {n: r["violations"] for n, r in done.items()}, passes, moved, short_first)


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
    return found


def summary(province: Province, result: ProvinceResult) -> dict[str, Any]:
    """Workers by park and by home province, coaches, trains, cost, unassigned by reason."""
    from .contract import Location  # noqa: PLC0415
    from .places import province_of, resolve_all  # noqa: PLC0415

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
    return {"province": province.name, "parks": parks, "total": total, "by_home_province": dict(by_home),
            "unassigned_by_reason": dict(reasons), "passes": result.passes, "moved": result.moved}
