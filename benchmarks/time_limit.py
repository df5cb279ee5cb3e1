"""Is the time limit a limit? ``fangang plan --time-limit T`` timed from outside, whole runs.

For each size (as in :mod:`benchmarks.park`: generated, saved under ``benchmarks/out/``) and each
time limit, runs ``fangang plan SCENARIO -o PLAN --time-limit T`` as a fresh process and measures
its wall time: starting Python, reading, solving, checking and writing. The rule (issue 17): the
run ends within T × 1.1 + 5 s. Prints one table; exit 1 if any run broke the rule or failed.

Run ``python -m benchmarks.time_limit [--sizes 20k,20k-far,kunshan-20k] [--limits 10,30]``.
The service's plan jobs count their limit the same way (from the start of the solver process);
``python -m benchmarks.service_load --time-limit 30`` measures one from the outside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.park import OUT, SIZES


def _scenario(name: str, seed: int) -> Path:
    from benchmarks.generate import generate

    size = SIZES[name]
    path = OUT / f"park-{name}-seed{seed}.json"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        scenario = generate(size.workers, size.counties, size.sites, seed=seed, rules=size.rules,
                            far_km=size.far_km, park=size.park, trains=size.trains, reserved=size.reserved)
        path.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(prog="python -m benchmarks.time_limit", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20k,20k-far,kunshan-20k")
    ap.add_argument("--limits", default="10,30", help="comma-separated time limits (s)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.sizes.split(",") if s.strip()]
    limits = [float(x) for x in args.limits.split(",") if x.strip()]
    table = Table(title="fangang plan --time-limit T, wall time of the whole run (2 cores)")
    for col in ("size", "T s", "wall s", "allowed s (T × 1.1 + 5)", "wall ÷ T", "solver s", "exit", "ok"):
        table.add_column(col, justify="left" if col in ("size", "ok") else "right")
    bad = 0
    for name in names:
        path = _scenario(name, args.seed)
        for limit in limits:
            out = OUT / f"plan-{name}-seed{args.seed}-limit{limit:g}.json"
            started = time.monotonic()
            proc = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "plan", str(path),
                                   "-o", str(out), "--time-limit", f"{limit:g}", "--seed", str(args.seed)],
                                  capture_output=True, text=True)
            wall = time.monotonic() - started
            allowed = limit * 1.1 + 5
            solver = ""
            if out.exists() and proc.returncode == 0:
                solver = f"{json.loads(out.read_text(encoding='utf-8'))['solver']['seconds']:.1f}"
            ok = proc.returncode == 0 and wall <= allowed
            bad += not ok
            table.add_row(name, f"{limit:g}", f"{wall:.1f}", f"{allowed:.1f}", f"{wall / limit:.2f}", solver,
                          str(proc.returncode), "yes" if ok else "NO")
    Console(width=160).print(table)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
