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


#: this process's memory ceiling in MB (0: none), set by :func:`bounded`
_MEMORY_MB = 0


def out_of_memory(memory_mb: int) -> str:
    """What a plan past its memory ceiling says, Chinese first."""
    return (f"超出内存上限：求解本方案需要超过 {memory_mb} MB 内存（FANGANG_PLAN_MEMORY_MB），请检查订单人数或拆分方案。"
            f"The plan needed more than its memory ceiling of {memory_mb} MB (FANGANG_PLAN_MEMORY_MB): check the "
            f"orders' headcounts, or plan fewer orders at once")


def bounded(target: Any, memory_mb: int, snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any) -> None:
    """Run ``target`` (:func:`run`, or a test's stand-in) in this process with its address space
    limited to ``memory_mb`` MB: past it an allocation fails (``MemoryError``), the plan fails with
    :func:`out_of_memory`'s message, and the service, in another process, goes on."""
    global _MEMORY_MB
    if memory_mb > 0:
        import resource  # noqa: PLC0415

        limit = memory_mb * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        _MEMORY_MB = memory_mb
    try:
        target(snapshot, time_limit, seed, queue)
    except MemoryError:
        queue.put(("failed", out_of_memory(memory_mb)))


class Cancelled(Exception):
    """The plan was cancelled while its task was computing (raised from a progress report)."""


def cancel_event(key: str) -> str:
    """The name of the Dask ``Event`` that asks the task ``key`` to stop."""
    return f"{key}-cancel"


class _EventQueue:
    """On a Dask worker: progress goes to the cluster's event topic ``topic``; the last message
    (done or failed) is kept to be the task's result. Each progress report (at most once every
    :data:`CANCEL_POLL` seconds) also looks at the plan's cancel event, and stops the solve
    when it is set, or when the scheduler no longer wants the result (no client holds it: the
    service that submitted it is gone): a Dask cancel alone releases the task but cannot stop it
    computing."""

    def __init__(self, topic: str, stop: str):
        self.topic, self.stop = topic, stop
        self.last: Any = None
        self.looked = 0.0

    def put(self, msg: Any) -> None:
        if msg[0] == "progress":
            from distributed import Event, get_worker  # noqa: PLC0415

            worker = get_worker()
            worker.log_event(self.topic, list(msg))
            if time.monotonic() - self.looked >= CANCEL_POLL:
                self.looked = time.monotonic()
                if Event(self.stop).is_set() or not _still_wanted(worker):
                    raise Cancelled()
        else:
            self.last = msg


#: seconds between two looks at a task's cancel event
CANCEL_POLL = 0.5


def _still_wanted(worker: Any) -> bool:
    """Whether the scheduler still wants this task's result: it does not once no client holds it
    (the service that submitted it was killed, or released the plan)."""
    ts = worker.state.tasks.get(worker.get_current_task())
    return ts is not None and ts.state not in ("cancelled", "released", "forgotten")


def run_on_dask(snapshot: dict[str, Any], time_limit: float, seed: int, topic: str, stop: str) -> Any:
    """:func:`run` as a Dask task: progress on the event topic, the outcome as the result; when
    the plan is cancelled (the Dask ``Event`` named ``stop`` is set) it stops at its next progress
    report and says so on ``<topic>-stopped``."""
    q = _EventQueue(topic, stop)
    started = time.monotonic()
    try:
        run(snapshot, time_limit, seed, q, watch_parent=False)
    except Cancelled:
        from distributed import get_worker  # noqa: PLC0415

        get_worker().log_event(f"{topic}-stopped", {"after_seconds": round(time.monotonic() - started, 2)})
        return ("failed", "cancelled on request")
    return q.last


def run(snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any, watch_parent: bool = True) -> None:
    """Solve ``snapshot["scenario"]`` keeping ``snapshot["fixed"]`` trips; report on ``queue``.
    The time limit counts from here (the imports, reading, solving and the check)."""
    started = time.monotonic()
    if watch_parent:
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
        from planner.network.roads import RoadSourceError, provider_for  # noqa: PLC0415

        roads = snapshot.get("roads")
        now = datetime.fromisoformat(snapshot["now"]) if snapshot.get("now") else None
        try:
            distances = provider_for(roads, scenario.policy.road_factor) if roads else None
            plan = solve(scenario, time_limit=time_limit, seed=seed, progress=progress, fixed=fixed,
                         distances=distances, now=now, started=started)
        except InputError as exc:
            queue.put(("failed", f"invalid input: {exc}"))
            return
        except RoadSourceError as exc:  # the road server gone or refusing, a road table unreadable
            queue.put(("failed", f"the road source failed: {exc}"))
            return
        plan.warnings += [PlanWarning(code="no_show", message=m) for m in snapshot.get("adjusted", [])]
        queue.put(("progress", "checking", 1.0, plan.summary.cost))
        violations = [{"rule": v.rule, "trip": v.trip, "message": v.message} for v in check(scenario, plan)]
        queue.put(("done", plan.model_dump(mode="json", by_alias=True), violations))
    except Cancelled:
        raise
    except MemoryError:
        queue.put(("failed", out_of_memory(_MEMORY_MB) if _MEMORY_MB else "MemoryError: the solver ran out of memory"))
    except Exception as exc:  # noqa: BLE001  (everything goes back to the parent)
        queue.put(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
