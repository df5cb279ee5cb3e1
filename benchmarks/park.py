"""Plan generated parks of several sizes; compare with the naive plan and (optionally) PyVRP.

Run ``python -m benchmarks.park [--sizes small,20k,20k-norules,100k] [--time-limit S] [--seed N]
[--pyvrp]``. For each size a scenario is generated (:func:`benchmarks.generate.generate`, saved
under ``benchmarks/out/``) and planned by

- **fangang**: :func:`planner.solve` at the size's time limit;
- **naive**: :func:`planner.solve` with ``SolveParams(pooling=False)``: every order on coaches of
  its own;
- **PyVRP** (``--pyvrp``): :func:`benchmarks._pyvrp.solve_pyvrp`, a relaxed CVRP at the same
  time limit, measured with fangang's km (see that module for what is relaxed).

Plans are saved beside their scenario (``benchmarks/out/plan-<size>-seed<N>-<planner>.json``).
Every run happens in a fresh process (multiprocessing ``spawn``) so that its peak memory
(``ru_maxrss`` of that process plus twice that of its largest child, read before the checker
runs) is its own. fangang's and the naive
plans are checked with ``planner.check`` when it is available. Results go to the console, one
table per size, and to ``benchmarks/out/park.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Size:
    """A benchmark size: the generator's arguments and the default time limit."""

    name: str
    workers: int
    counties: int
    sites: int
    time_limit: float
    rules: bool = True
    far_km: float = 1300.0  # farthest home county (geodesic km from the park)
    park: str = "zhengzhou"
    trains: int = 0  # special trains offered
    reserved: int = 0  # reserved-car offers
    suggest: bool = False  # also plan with the trains fangang suggests added as offers


SIZES = {
    "small": Size("small", 2_000, 60, 2, 20.0),
    "20k": Size("20k", 20_000, 300, 3, 60.0),
    "20k-norules": Size("20k-norules", 20_000, 300, 3, 60.0, rules=False),
    "100k": Size("100k", 100_000, 1_500, 10, 240.0),
    # far counties kept in (Yunnan, Guangxi, Gansu …): beyond a coach's reach until trains exist
    "20k-far": Size("20k-far", 20_000, 300, 3, 60.0, far_km=3000.0),
    "100k-far": Size("100k-far", 100_000, 1_500, 10, 240.0, far_km=3000.0),
    # a park near Kunshan (Jiangsu) recruiting from far inland: trains with feeders and last miles
    "kunshan-20k": Size("kunshan-20k", 20_000, 300, 3, 80.0, far_km=3000.0, park="kunshan", trains=6, reserved=2),
    "kunshan-20k-notrains": Size("kunshan-20k-notrains", 20_000, 300, 3, 80.0, far_km=3000.0, park="kunshan",
                                 suggest=True),
    "kunshan-100k": Size("kunshan-100k", 100_000, 1_500, 10, 240.0, far_km=3000.0, park="kunshan", trains=16,
                         reserved=4),
}
PLANNERS = ("fangang", "naive", "pyvrp")


def coach_only(scenario: dict) -> dict:
    """``scenario`` without its trains, stations and the local coach yards of its boarding stations."""
    out = {k: v for k, v in scenario.items() if k not in ("trains", "stations")}
    out["depots"] = [d for d in scenario["depots"] if not d["id"].startswith("Y")]
    keep = {d["id"] for d in out["depots"]}
    out["fleet"] = [f for f in scenario["fleet"] if f["depot"] in keep]
    return out


def _peak_mb() -> float:
    """Peak resident memory in MB (Linux reports ru_maxrss in KB): this process plus twice its
    largest child — the local search forks two at once, and counting each child's shared pages
    in full makes this an upper bound."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + 2 * child) / 1024.0


def _run(path: str, planner: str, time_limit: float, seed: int) -> dict:
    """One run in a fresh process: load the scenario, plan, measure, check."""
    from planner.contract import Scenario  # noqa: PLC0415

    with open(path, encoding="utf-8") as fh:
        scenario = Scenario.model_validate(json.load(fh))
    if planner == "pyvrp":
        from benchmarks._pyvrp import solve_pyvrp  # noqa: PLC0415

        started = time.monotonic()
        r = solve_pyvrp(scenario, time_limit=time_limit, seed=seed)
        seconds = time.monotonic() - started
        return {"seconds": seconds, "peak_mb": _peak_mb(), "planned": r.workers_planned, "trips": r.trips,
                "km": r.km, "cost": r.cost, "bound": r.lower_bound_km, "ratio": r.km_over_bound,
                "unassigned": dict(r.unassigned), "violations": None, "violation_rules": {},
                "note": f"{r.clients} clients, up to {r.max_pickup_stops} pickups/trip"
                        + ("" if r.feasible else ", PyVRP found NO feasible solution")}
    from planner.optimize import SolveParams, solve  # noqa: PLC0415

    params = SolveParams(pooling=planner != "naive")
    started = time.monotonic()
    plan = solve(scenario, time_limit=time_limit, seed=seed, params=params)
    seconds = time.monotonic() - started
    peak = _peak_mb()
    Path(path).with_name(Path(path).stem.replace("park-", "plan-") + f"-{planner}.json").write_text(
        plan.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    unassigned: Counter = Counter()
    for u in plan.unassigned:
        unassigned[u.reason] += u.count
    violations, rules, note = None, {}, ""
    trip: dict = {}
    try:
        from planner.check import check, journey  # noqa: PLC0415
    except ImportError:
        note = "checker not available"
    else:
        try:
            found = check(scenario, plan)
            violations = len(found)
            rules = dict(Counter(v.rule for v in found))
            if found:
                note = "; ".join(str(v) for v in found[:3])
            trip = _journey(journey(scenario, plan))
        except Exception as e:  # noqa: BLE001  (report the checker's failure, keep benchmarking)
            note = f"checker failed: {type(e).__name__}: {e}"
    s = plan.summary
    by_mode = s.workers_by_mode or {"coach": s.workers_planned, "train": 0}
    total = s.cost + (s.train_cost or 0.0)
    return {"seconds": seconds, "peak_mb": peak, "planned": s.workers_planned, "trips": s.trips,
            "km": s.km, "cost": s.cost, "bound": s.lower_bound_km, "ratio": s.km_over_bound,
            "unassigned": dict(unassigned), "violations": violations, "violation_rules": rules,
            "note": note, "status": plan.solver.status, "eligible": s.workers_eligible,
            "by_coach": by_mode.get("coach", 0), "by_train": by_mode.get("train", 0), "trains_run": s.trains_run or 0,
            "train_cost": s.train_cost or 0.0, "total_cost": total, "cost_bound": s.cost_lower_bound,
            "cost_ratio": total / s.cost_lower_bound if s.cost_lower_bound else None,
            "suggested": len(plan.suggestions), **trip}


def _journey(j) -> dict:
    """The workers' journey as the checker measures it (``planner.check.journey``): hours door to
    door, the share of riders whose loaded coach stands more than 2 h beyond the rests a crew
    fresh at boarding needs, and the workers boarding at night (outside 06:00–22:00)."""
    hours = j.hours_summary() or {"mean": 0.0, "p95": 0.0, "max": 0.0}
    riders = len(j.worker_wait)
    return {"hours_mean": hours["mean"], "hours_p95": hours["p95"],
            "wait_2h_share": j.waiting_over(2.0) / riders if riders else 0.0,
            "loaded_wait_h": sum(j.loaded_wait.values()), "night_boardings": j.night_boardings}


def _journey_cells(r: dict) -> list[str]:
    if "hours_mean" not in r:
        return ["—"] * 4
    return [f"{r['hours_mean']:.1f}", f"{r['hours_p95']:.1f}", f"{100 * r['wait_2h_share']:.1f}",
            f"{r['night_boardings']:,}"]


JOURNEY_COLUMNS = ("hours mean", "hours p95", "% wait > 2 h", "night boardings")


def run_one(path: Path, planner: str, time_limit: float, seed: int) -> dict:
    """Run :func:`_run` in a fresh spawned process; an exception comes back as an ``error``."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        fut = pool.submit(_run, str(path), planner, time_limit, seed)
        try:
            return fut.result(timeout=time_limit * 4 + 900)
        except Exception as e:  # noqa: BLE001
            return {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}


def _fmt_unassigned(u: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(u.items(), key=lambda kv: -kv[1])) or "—"


def _table(size: Size, seed: int, time_limit: float, rows: list[tuple[str, dict]], scenario: dict):
    from rich.table import Table  # noqa: PLC0415

    from benchmarks._pyvrp import RELAXED  # noqa: PLC0415

    eligible = sum(o["cleared"] for o in scenario["orders"])
    rules = "all rules" if size.rules else "driving/time rules off, ≤50 pickups"
    if size.far_km > 1300:
        rules += f", counties up to {size.far_km:,.0f} km"
    title = (f"{size.name}: {size.workers:,} workers ({eligible:,} cleared), {size.counties:,} counties, "
             f"{size.sites} sites, seed {seed}, {rules}, time limit {time_limit:g} s")
    caption = ("naive = every order on coaches of its own (SolveParams(pooling=False)). "
               "lower bound = fangang's bound over each row's planned workers; "
               "violations = planner.check on the plan.")
    if any(p == "pyvrp" for p, _ in rows):
        caption += "\n" + RELAXED + "; not a valid plan, a relaxed reference."
    t = Table(title=title, caption=caption, caption_justify="left")
    for col in ("plan", "workers", "counties", "sites", "plan s", "peak MB", "planned", "trips", "km",
                "cost ¥", "lower bound km", "km ÷ bound", *JOURNEY_COLUMNS, "unassigned by reason", "violations"):
        t.add_column(col, justify="left" if col in ("plan", "unassigned by reason") else "right")
    for planner, r in rows:
        if "error" in r:
            t.add_row(planner, f"{size.workers:,}", f"{size.counties:,}", str(size.sites),
                      *["—"] * 13, "ERROR: " + r["error"][:80])
            continue
        t.add_row(
            planner, f"{size.workers:,}", f"{size.counties:,}", str(size.sites), f"{r['seconds']:.1f}",
            f"{r['peak_mb']:,.0f}", f"{r['planned']:,}", f"{r['trips']:,}", f"{r['km']:,.0f}",
            f"{r['cost']:,.0f}", f"{r['bound']:,.0f}",
            f"{r['ratio']:.3f}" if r["ratio"] else "—", *_journey_cells(r), _fmt_unassigned(r["unassigned"]),
            "n/a" if r["violations"] is None else str(r["violations"]))
    return t


def _train_table(size: Size, seed: int, time_limit: float, rows: list[tuple[str, dict]], scenario: dict):
    """The table of a size with trains: workers by mode, cost against the cost lower bound."""
    from rich.table import Table  # noqa: PLC0415

    eligible = sum(o["cleared"] for o in scenario["orders"])
    offers = scenario.get("trains", [])
    title = (f"{size.name}: {size.workers:,} workers ({eligible:,} cleared), {size.counties:,} counties, "
             f"{size.sites} sites, park {size.park}, counties up to {size.far_km:,.0f} km, "
             f"{sum(t['kind'] == 'special' for t in offers)} special trains + "
             f"{sum(t['kind'] == 'cars' for t in offers)} reserved-car offers, seed {seed}, all rules, "
             f"time limit {time_limit:g} s")
    caption = ("coach-only = the same scenario without trains, stations and the stations' local coaches; "
               "suggested = the scenario with the trains fangang suggested for the first plan added as offers "
               "(planner.rail.apply). planned % = of the workers allowed to travel (eligible). "
               "cost = coaches + trains; cost bound = each worker's cheapest share over the modes "
               "(summary.cost_lower_bound).")
    t = Table(title=title, caption=caption, caption_justify="left")
    for col in ("plan", "plan s", "peak MB", "eligible", "planned", "planned %", "by coach", "by train",
                "trains run", "coach-km", "cost ¥", "cost bound ¥", "cost ÷ bound", *JOURNEY_COLUMNS,
                "unassigned by reason", "suggested", "violations"):
        t.add_column(col, justify="left" if col in ("plan", "unassigned by reason") else "right")
    for planner, r in rows:
        if "error" in r:
            t.add_row(planner, *["—"] * 18, "ERROR: " + r["error"][:80])
            continue
        t.add_row(planner, f"{r['seconds']:.1f}", f"{r['peak_mb']:,.0f}", f"{r['eligible']:,}", f"{r['planned']:,}",
                  f"{100 * r['planned'] / max(1, r['eligible']):.2f}", f"{r['by_coach']:,}", f"{r['by_train']:,}",
                  str(r["trains_run"]), f"{r['km']:,.0f}", f"{r['total_cost']:,.0f}",
                  f"{r['cost_bound']:,.0f}" if r["cost_bound"] else "—",
                  f"{r['cost_ratio']:.3f}" if r["cost_ratio"] else "—", *_journey_cells(r),
                  _fmt_unassigned(r["unassigned"]), str(r["suggested"]),
                  "n/a" if r["violations"] is None else str(r["violations"]))
    return t


def _with_suggestions(path: Path, plan_path: Path) -> Path:
    """The scenario at ``path`` with the trains suggested in the plan at ``plan_path`` as offers."""
    from planner.contract import Plan  # noqa: PLC0415
    from planner.rail import apply  # noqa: PLC0415

    scenario = json.loads(path.read_text(encoding="utf-8"))
    plan = Plan.model_validate(json.loads(plan_path.read_text(encoding="utf-8")))
    out = path.with_name(path.stem + "-suggested.json")
    out.write_text(json.dumps(apply(scenario, plan.suggestions), ensure_ascii=False), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console  # noqa: PLC0415

    from benchmarks.generate import generate  # noqa: PLC0415

    ap = argparse.ArgumentParser(prog="python -m benchmarks.park", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="small,20k,20k-norules,100k",
                    help=f"comma-separated, of {', '.join(SIZES)}")
    ap.add_argument("--time-limit", type=float, help="seconds per plan (default: per size, 20/60/60/240)")
    ap.add_argument("--seed", type=int, default=1, help="generator and solver seed")
    ap.add_argument("--pyvrp", action="store_true", help="also solve the relaxed problem with PyVRP")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive plan")
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        ap.error(f"unknown size(s) {', '.join(unknown)}; known: {', '.join(SIZES)}")
    planners = ["fangang"] + ([] if args.no_naive else ["naive"]) + (["pyvrp"] if args.pyvrp else [])

    console = Console()
    if console.width < 200:  # wide tables: don't squeeze them into a pipe's 80 columns
        console = Console(width=200)
    OUT.mkdir(parents=True, exist_ok=True)
    records = []
    for name in names:
        size = SIZES[name]
        tl = args.time_limit if args.time_limit is not None else size.time_limit
        scenario = generate(size.workers, size.counties, size.sites, seed=args.seed, rules=size.rules,
                            far_km=size.far_km, park=size.park, trains=size.trains, reserved=size.reserved)
        path = OUT / f"park-{name}-seed{args.seed}.json"
        path.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
        trains = size.park != "zhengzhou" or size.trains or size.suggest
        rows = []
        runs: list[tuple[str, Path, str]] = [("fangang", path, "fangang")]
        if trains and size.trains:
            alone = path.with_name(path.stem + "-coach-only.json")
            alone.write_text(json.dumps(coach_only(scenario), ensure_ascii=False), encoding="utf-8")
            runs.append(("coach-only", alone, "fangang"))
        elif not trains:
            runs += [(p, path, p) for p in planners[1:]]
        if size.suggest:
            runs.append(("suggested", path, "fangang"))
        for label, where, planner in runs:
            if label == "suggested":
                where = _with_suggestions(path, path.with_name(path.stem.replace("park-", "plan-") + "-fangang.json"))
            console.print(f"[dim]{name}: {label} (time limit {tl:g} s) …[/dim]")
            r = run_one(where, planner, tl, args.seed)
            if "error" in r:
                console.print(f"[red]{name} {planner}: {r['error']}[/red]\n{r.get('trace', '')}")
            elif r.get("note"):
                console.print(f"[dim]  {r['note']}[/dim]")
            rows.append((label, r))
            records.append({"size": name, "planner": label, "workers": size.workers,
                            "counties": size.counties, "sites": size.sites, "rules": size.rules,
                            "seed": args.seed, "time_limit": tl, **{k: v for k, v in r.items() if k != "trace"}})
        console.print(_train_table(size, args.seed, tl, rows, scenario) if trains
                      else _table(size, args.seed, tl, rows, scenario))
    fields = ["size", "planner", "workers", "counties", "sites", "rules", "seed", "time_limit", "seconds",
              "peak_mb", "planned", "trips", "km", "cost", "bound", "ratio", "unassigned", "violations",
              "violation_rules", "status", "eligible", "by_coach", "by_train", "trains_run", "train_cost",
              "total_cost", "cost_bound", "cost_ratio", "suggested", "hours_mean", "hours_p95", "wait_2h_share",
              "loaded_wait_h", "night_boardings", "note", "error"]
    with open(OUT / "park.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for rec in records:
            rec = dict(rec)
            for k in ("unassigned", "violation_rules"):
                if isinstance(rec.get(k), dict):
                    rec[k] = ";".join(f"{a}={b}" for a, b in sorted(rec[k].items()))
            for k in ("seconds", "peak_mb", "km", "cost", "bound", "ratio", "train_cost", "total_cost", "cost_bound",
                      "cost_ratio", "hours_mean", "hours_p95", "wait_2h_share", "loaded_wait_h"):
                if isinstance(rec.get(k), float):
                    rec[k] = round(rec[k], 4 if k.endswith(("ratio", "share")) else 1)
            w.writerow(rec)
    console.print(f"[dim]results: {OUT / 'park.csv'}[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
