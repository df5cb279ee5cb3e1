"""Match and move, measured: today's practice (deferred acceptance, then plan the coaches) against
the joint match (CP-SAT over coach cost) with budgets of blocking pairs, and against a match that
ignores preferences (transport cost only).

Generated instances (deterministic per seed): workers from real labour-exporting counties
(``planner.network.places``, 150–1,300 km from the park), posts of five trades at 3 sites —
``cluster``: all near 郑州航空港; ``apart``: one each near 郑州, 昆山 and 重庆 (each with its coach
yard) — with openings so that workers ÷ openings is ``--ratio``; every worker has one or two
trades (levels 0–5) and lists ``--choices`` posts, the better paid more likely, or (one in ten)
none (any acceptable post); earliest departure on 02-11..02-13, posts start 02-16..02-18; a few
couples (groups) and dorm posts.

Each method matches, derives the orders and plans them with the routing pipeline
(``planner.match.match_and_move``) within ``--time-limit``; the table gives fill (matched ÷
openings), blocking pairs, mean choice rank, the workers the plan carries, coach-km, transport cost
(coaches and trains) and seconds. Budgets are shares of the acceptable pairs.

    python -m benchmarks.match                       # 400 and 2,000 workers, both geographies, ratio 1.0, choices 3 and 6
    python -m benchmarks.match --sizes 10000 --methods da,b0 --time-limit 110
    python -m benchmarks.match --sizes 400 --ratios 0.8,1.0,1.3 --choices 3,6 --geos cluster,apart
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from planner.contract import SHANGHAI, Scenario
from planner.match import blocking, compile_match, match_and_move
from planner.network.places import counties
from planner.optimize import solve

TRADES = ("SMT操作工", "焊工", "装配工", "质检员", "叉车工")
SITES = {
    "cluster": [("F1", "智能终端一厂", 34.53, 113.84), ("F2", "电子组装二厂", 34.49, 113.80),
                ("F3", "精密模组厂", 34.58, 113.90)],
    "apart": [("F1", "郑州智能终端厂", 34.53, 113.84), ("F2", "昆山电子厂", 31.35, 120.98), ("F3", "重庆笔电厂", 29.72, 106.63)],
}
DEPOTS = {
    "cluster": [("D1", "园区车队", 34.56, 113.81)],
    "apart": [("D1", "郑州车队", 34.56, 113.81), ("D2", "昆山车队", 31.38, 120.95), ("D3", "重庆车队", 29.70, 106.60)],
}
PROVINCES = ("41", "34", "51", "52", "50", "43", "42", "36", "53", "45", "61", "62", "13", "37")
METHODS = {"da": "deferred acceptance, then plan", "b0": "joint, B = 0", "b0.5": "joint, B = 0.5 %",
           "b1": "joint, B = 1 %", "b5": "joint, B = 5 %", "cost": "transport cost only"}


def _geo(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def instance(workers: int, *, geo: str = "cluster", ratio: float = 1.0, choices: int = 3, seed: int = 1) -> dict[str, Any]:
    """A scenario dict with posts and workers (see the module's doc)."""
    rng = np.random.default_rng(seed)
    sites = SITES[geo]
    lat0, lon0 = 34.53, 113.84
    pool = sorted((c for c in counties().values()
                  if c.code[:2] in PROVINCES and 150 <= _geo(lat0, lon0, c.lat, c.lon) <= 1300), key=lambda c: c.code)
    homes = [pool[i] for i in rng.choice(len(pool), size=min(len(pool), max(20, workers // 25)), replace=False)]
    weight = rng.lognormal(0, 1, len(homes))
    weight /= weight.sum()
    day = datetime(2027, 2, 11, tzinfo=SHANGHAI)
    openings_total = max(1, round(workers / ratio))
    n_posts = max(6, min(60, workers // 40))
    raw = rng.dirichlet(np.ones(n_posts) * 2) * openings_total
    openings = np.maximum(1, np.floor(raw)).astype(int)
    openings[0] += openings_total - int(openings.sum())
    openings = np.maximum(openings, 1)
    posts = []
    for k in range(n_posts):
        sid = sites[k % len(sites)][0]
        posts.append({"id": f"P{k + 1:03d}", "site": sid, "firm": f"{sites[k % len(sites)][1]}·{'甲乙丙丁'[k % 4]}",
                      "trade": TRADES[k % len(TRADES)], "min_level": int(rng.integers(0, 3)),
                      "openings": int(openings[k]), "monthly_wage": float(4500 + 100 * int(rng.integers(0, 36))),
                      "start_by": (day + timedelta(days=5 + int(rng.integers(0, 3)), hours=8)).isoformat(),
                      "dorm": bool(rng.random() < 0.3)})
    wage = np.array([p["monthly_wage"] for p in posts])
    ws = []
    couples = 0
    for i in range(workers):
        home = homes[int(rng.choice(len(homes), p=weight))]
        own = list(rng.choice(len(TRADES), size=int(rng.integers(1, 3)), replace=False))
        trades = {TRADES[t]: int(rng.integers(0, 6)) for t in own}
        fit = [k for k, p in enumerate(posts) if p["trade"] in trades]
        picks: list[str] = []
        if fit and rng.random() > 0.1:
            pr = wage[fit] - wage[fit].min() + 500
            pr = pr / pr.sum()
            picks = [posts[fit[j]]["id"] for j in rng.choice(len(fit), size=min(choices, len(fit)), replace=False, p=pr)]
        w = {"id": f"W{i + 1:05d}", "agency": f"agency-{i % 7 + 1}", "origin": {"county": home.code},
             "trades": trades, "choices": picks, "earliest_departure": (day + timedelta(days=int(rng.integers(0, 3)),
                                                                                       hours=6)).isoformat(),
             "screening": "cleared" if rng.random() < 0.97 else "pending",
             "gender": "male" if rng.random() < 0.6 else "female"}
        if ws and couples < workers // 50 and rng.random() < 0.03 and ws[-1]["origin"] == w["origin"]:
            couples += 1
            w["group"] = ws[-1]["group"] = f"G{couples}"
        ws.append(w)
    depots = [{"id": d, "name": n, "location": {"lat": la, "lon": lo}} for d, n, la, lo in DEPOTS[geo]]
    # coaches: one per 45 workers near the park; sites far apart (long trips) need about seven times as many
    per = max(4, workers // 20 if geo == "apart" else workers // (45 * len(depots)))
    fleet = [{"id": f"c53-{d['id']}", "seats": 53, "count": per, "depot": d["id"], "fixed_cost": 1200,
              "cost_per_km": 7.5, "crew_cost": 600, "available_from": (day - timedelta(days=1)).isoformat(),
              "available_until": (day + timedelta(days=10)).isoformat()} for d in depots]
    fleet += [{"id": f"c35-{d['id']}", "seats": 35, "count": max(2, per // 3), "depot": d["id"], "fixed_cost": 900,
               "cost_per_km": 6.0, "crew_cost": 600, "available_from": (day - timedelta(days=1)).isoformat(),
               "available_until": (day + timedelta(days=10)).isoformat()} for d in depots]
    return {"name": f"match-{workers}-{geo}-r{ratio:g}-c{choices}",
            "sites": [{"id": s, "name": n, "location": {"lat": la, "lon": lo}, "receive_from": "07:00",
                       "receive_until": "22:00", "dorm_beds": max(10, workers // 8)} for s, n, la, lo in sites],
            "depots": depots, "fleet": fleet, "orders": [], "posts": posts, "workers": ws}


def run(sc: Scenario, method: str, time_limit: float, seed: int) -> dict[str, Any]:
    c = compile_match(sc)
    acceptable = sum(len(p) for p in c.prefs)
    kw: dict[str, Any] = {}
    if method == "da":
        kw = {"joint": False}
    elif method == "cost":
        kw = {"ignore_preferences": True}
    elif method.startswith("b"):
        kw = {"budget": int(round(float(method[1:]) / 100 * acceptable))}
    t0 = time.monotonic()
    plan = match_and_move(sc, solve, time_limit=time_limit, seed=seed, **kw)
    seconds = time.monotonic() - t0
    m = plan.summary.matching
    assert m is not None
    index = {w.id: i for i, w in enumerate(sc.workers)}
    pindex = {p.id: k for k, p in enumerate(sc.posts)}
    assign = {index[x.worker]: pindex[x.post] for x in plan.matches}
    carried = sum(ld.count for t in plan.trips for s in t.stops for ld in s.board if t.purpose != "last_mile")
    return {"method": method, "budget": kw.get("budget", 0 if method == "b0" else ""), "matched": m.matched,
            "openings": m.openings, "fill": m.fill_rate, "blocking": len(blocking(c, assign)), "acceptable": acceptable,
            "mean_rank": m.mean_choice_rank, "first": m.first_choice_share, "carried": carried,
            "km": plan.summary.km, "cost": plan.summary.cost + (plan.summary.train_cost or 0.0),
            "per_matched": m.transport_cost_per_matched, "seconds": round(seconds, 1), "how": m.method}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="400,2000")
    ap.add_argument("--geos", default="cluster,apart")
    ap.add_argument("--ratios", default="1.0")
    ap.add_argument("--choices", default="3,6")
    ap.add_argument("--methods", default="da,b0,b0.5,b1,b5,cost")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per run (default: 20 / 40 / 110 by size)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rows = []
    out = Console(width=200)
    for size in (int(x) for x in args.sizes.split(",")):
        limit = args.time_limit or (20.0 if size <= 500 else 40.0 if size <= 3000 else 110.0)
        for geo in args.geos.split(","):
            for ratio in (float(x) for x in args.ratios.split(",")):
                for ch in (int(x) for x in args.choices.split(",")):
                    sc = Scenario.model_validate(instance(size, geo=geo, ratio=ratio, choices=ch, seed=args.seed))
                    for method in args.methods.split(","):
                        out.print(f"{sc.name}: {METHODS[method]} …")
                        r = run(sc, method, limit, args.seed)
                        rows.append({"instance": sc.name, "workers": size, "geo": geo, "ratio": ratio, "choices": ch,
                                     "time_limit": limit, **r})
    t = Table(title="match and move: practice vs joint")
    cols = ["instance", "method", "budget", "fill", "blocking", "mean_rank", "carried", "km", "cost", "per_matched",
            "seconds"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("instance", "method") else "right")
    for r in rows:
        t.add_row(r["instance"], METHODS[r["method"]], str(r["budget"]), f"{r['fill']:.3f}", f"{r['blocking']:,}",
                  f"{r['mean_rank']:.2f}", f"{r['carried']:,}", f"{r['km']:,.0f}", f"{r['cost']:,.0f}",
                  f"{r['per_matched']:,.0f}", f"{r['seconds']:.1f}")
    out.print(t)
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    path = os.path.join(os.path.dirname(__file__), "out", "match.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out.print(f"results: {path}")


if __name__ == "__main__":
    main()
