"""The solver process: runs :func:`planner.solve` and the checker on a plan's snapshot.

This module is the entry point of a spawned child process. It imports only the planner (no
database, no web framework) and talks to the parent through a queue of tuples:
``("progress", phase, fraction, best_cost)``, then ``("done", plan_json, violations)`` or
``("failed", message)``.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Any


def _exit_with_parent() -> None:
    """End this process when the service that started it is gone (killed, not stopped)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run(snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any) -> None:
    """Solve ``snapshot["scenario"]`` keeping ``snapshot["fixed"]`` trips; report on ``queue``."""
    _exit_with_parent()
    try:
        from planner import InputError, Scenario, solve  # noqa: PLC0415
        from planner.check import check  # noqa: PLC0415
        from planner.contract import Trip  # noqa: PLC0415

        queue.put(("progress", "starting", 0.0, None))
        scenario = Scenario.model_validate(snapshot["scenario"])
        fixed = [Trip.model_validate(t) for t in snapshot.get("fixed", [])]

        def progress(p: Any) -> None:
            queue.put(("progress", p.phase, p.fraction, p.best_cost))

        from datetime import datetime  # noqa: PLC0415

        from planner.contract import PlanWarning  # noqa: PLC0415
        from planner.travel import provider_for  # noqa: PLC0415

        roads = snapshot.get("roads")
        now = datetime.fromisoformat(snapshot["now"]) if snapshot.get("now") else None
        try:
            distances = provider_for(roads, scenario.policy.road_factor) if roads else None
            plan = solve(scenario, time_limit=time_limit, seed=seed, progress=progress, fixed=fixed,
                         distances=distances, now=now)
        except InputError as exc:
            queue.put(("failed", f"invalid input: {exc}"))
            return
        plan.warnings += [PlanWarning(code="no_show", message=m) for m in snapshot.get("adjusted", [])]
        queue.put(("progress", "checking", 1.0, plan.summary.cost))
        violations = [{"rule": v.rule, "trip": v.trip, "message": v.message} for v in check(scenario, plan)]
        queue.put(("done", plan.model_dump(mode="json", by_alias=True), violations))
    except Exception as exc:  # noqa: BLE001  (everything goes back to the parent)
        queue.put(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
