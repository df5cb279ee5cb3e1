"""A solver entry point that takes its whole time limit (reporting progress) before solving,
so that tests can catch a plan while it runs. Spawned processes import it by name."""

from __future__ import annotations

import time
from typing import Any

from api import _solve


def run(snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any) -> None:
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < time_limit:
        queue.put(("progress", "waiting", elapsed / time_limit, None))
        time.sleep(0.2)
    _solve.run(snapshot, 1.0, seed, queue)


def broken(snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any) -> None:
    """The real solver, but every trip's km is doubled before the checker sees the plan."""
    import planner

    real = planner.solve

    def solve(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        for trip in plan.trips:
            trip.km = trip.km * 2
        return plan

    planner.solve = solve
    _solve.run(snapshot, time_limit, seed, queue)
