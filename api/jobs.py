"""Plan jobs: a runner thread that hands queued plans to solver processes.

A plan is solved in its own spawned process (:mod:`api._solve`), never in the event loop nor
in a server thread, so the API stays responsive and a cancel can simply terminate the process.
The runner thread claims queued plans from the database (an atomic ``queued → running``
update, so several service processes can share one database), relays progress to the plan's
row, writes a heartbeat, and stores the result.

With ``dask_scheduler`` set, a plan is a task on that Dask cluster instead (:func:`api._solve.run_on_dask`):
its progress arrives on the cluster's event topic ``fangang-plan-<id>``, its outcome as the task's
result; a cancel sets the task's Dask ``Event`` ``<task key>-cancel`` and releases the task
(the plan is cancelled at once; a task already computing stops at its next progress report, within
a few seconds, and logs ``fangang-plan-<id>-stopped``). A task whose service is gone (killed: its
client dropped, so no one holds the result) stops the same way.

Restarts: a plan that was *running* when its service process stopped is marked ``failed``
("interrupted by a restart") -- at start-up for plans of this host's previous runs whose
heartbeat has gone quiet, and at any time for any plan whose heartbeat is older than
``job_stale_seconds``. Plans still *queued* simply wait for the next runner. We fail rather
than re-queue so that a plan that crashes the service cannot crash it again and again.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue as queue_mod
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from . import _solve
from .db import rowcount
from .models import Dispatch, PlanJob

log = logging.getLogger("fangang.jobs")

INTERRUPTED = "interrupted: the service stopped or restarted while this plan was running; start a new plan"
FINAL = ("done", "failed", "cancelled")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _Running:
    plan_id: int
    process: Any
    queue: Any
    phase: Optional[str] = None
    fraction: Optional[float] = None
    best_cost: Optional[float] = None
    dirty: bool = True
    last_write: float = 0.0
    outcome: Optional[tuple[Any, ...]] = None
    started: float = field(default_factory=time.monotonic)


class Runner:
    """Runs queued plans, at most ``workers`` at a time, each in a spawned process."""

    def __init__(self, sessions: sessionmaker[Session], *, workers: int = 1,
                 heartbeat_seconds: float = 2.0, stale_seconds: float = 20.0, poll_seconds: float = 0.2,
                 target: Callable[..., None] = _solve.run, dask_scheduler: Optional[str] = None,
                 memory_mb: int = 0):
        self.sessions = sessions
        self.target = target
        #: each local solver process's memory ceiling (MB; 0: none); a Dask worker has its own
        self.memory_mb = memory_mb
        self.workers = workers
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_seconds = stale_seconds
        self.poll_seconds = poll_seconds
        self.runner_id = uuid.uuid4().hex
        self._ctx = multiprocessing.get_context("spawn")
        self._running: dict[int, _Running] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._last_sweep = 0.0
        self.dask_scheduler = dask_scheduler
        self._dask: Any = None

    # -------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Fail plans cut off by a previous run, then start the runner thread."""
        self.sweep(startup=True)
        if self.dask_scheduler:
            from distributed import Client  # noqa: PLC0415

            self._dask = Client(self.dask_scheduler, set_as_default=False)
        self._thread = threading.Thread(target=self._loop, name="fangang-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; plans running in this process are terminated and marked failed."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for run in list(self._running.values()):
            self._terminate(run)
            self._finish(run.plan_id, "failed", error=INTERRUPTED)
        self._running.clear()
        if self._dask is not None:
            self._dask.close()
            self._dask = None

    def wake(self) -> None:
        """Look for work now (a plan was queued or a cancel requested)."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def running(self) -> list[int]:
        return sorted(self._running)

    # -------------------------------------------------------------- the loop

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # noqa: BLE001  (the runner must survive a database hiccup)
                log.exception("plan runner tick failed")
                time.sleep(1.0)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _tick(self) -> None:
        for run in list(self._running.values()):
            self._drain(run)
        now = time.monotonic()
        heartbeat_due = [r for r in self._running.values() if now - r.last_write >= self.heartbeat_seconds]
        if heartbeat_due:
            self._write_progress(heartbeat_due)
        dirty = [r for r in self._running.values() if r.dirty and now - r.last_write >= 0.5]
        if dirty:
            self._write_progress(dirty)
        for run in list(self._running.values()):
            if run.outcome is not None or run.process.exitcode is not None:
                self._complete(run)
        if self._running:
            self._check_cancels()
        while len(self._running) < self.workers and not self._stop.is_set():
            if not self._claim():
                break
        if now - self._last_sweep > max(1.0, self.stale_seconds / 4):
            self.sweep()

    def _drain(self, run: _Running) -> None:
        while True:
            try:
                msg = run.queue.get_nowait()
            except (queue_mod.Empty, EOFError, OSError):
                return
            if msg[0] == "progress":
                _, run.phase, run.fraction, cost = msg
                if cost is not None:
                    run.best_cost = cost
                run.dirty = True
            else:
                run.outcome = msg

    def _write_progress(self, runs: list[_Running]) -> None:
        now = _now()
        with self.sessions.begin() as s:
            for run in runs:
                s.execute(update(PlanJob).where(PlanJob.id == run.plan_id, PlanJob.status == "running")
                          .values(phase=run.phase, fraction=run.fraction, best_cost=run.best_cost,
                                  heartbeat_at=now))
                run.dirty = False
                run.last_write = time.monotonic()

    def _check_cancels(self) -> None:
        with self.sessions.begin() as s:
            wanted = set(s.scalars(select(PlanJob.id).where(
                PlanJob.id.in_(list(self._running)), PlanJob.cancel_requested.is_(True))))
        for plan_id in wanted:
            run = self._running.pop(plan_id, None)
            if run is not None:
                self._terminate(run)
                self._finish(plan_id, "cancelled", error="cancelled on request")

    def _claim(self) -> bool:
        """Take the oldest queued plan and start its process; False when there is none."""
        with self.sessions.begin() as s:
            plan_id = s.scalar(select(PlanJob.id).where(PlanJob.status == "queued").order_by(PlanJob.id).limit(1))
            if plan_id is None:
                return False
            now = _now()
            claimed = rowcount(s.execute(update(PlanJob).where(PlanJob.id == plan_id, PlanJob.status == "queued").values(
                status="running", runner_id=self.runner_id, started_at=now, heartbeat_at=now,
                phase="starting", fraction=0.0)))
            if claimed != 1:
                return True  # someone else took it: look again
            job = s.get(PlanJob, plan_id)
            assert job is not None
            snapshot, time_limit, seed = job.snapshot, job.time_limit, job.seed
        if self._dask is not None:
            q, process = _on_dask(self._dask, plan_id, snapshot, time_limit, seed)
        else:
            q = self._ctx.Queue()
            process = self._ctx.Process(target=_solve.bounded,
                                        args=(self.target, self.memory_mb, snapshot, time_limit, seed, q),
                                        name=f"fangang-plan-{plan_id}", daemon=True)
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001
            self._finish(plan_id, "failed", error=f"could not start the solver process: {exc}")
            return True
        self._running[plan_id] = _Running(plan_id, process, q, phase="starting", fraction=0.0,
                                          last_write=time.monotonic())
        log.info("plan %s started (pid %s)", plan_id, process.pid)
        return True

    def _complete(self, run: _Running) -> None:
        if run.outcome is None:  # the process ended: give its last message a moment to arrive
            deadline = time.monotonic() + 2.0
            while run.outcome is None and time.monotonic() < deadline:
                try:
                    msg = run.queue.get(timeout=0.1)
                except (queue_mod.Empty, EOFError, OSError):
                    continue
                if msg[0] != "progress":
                    run.outcome = msg
        self._running.pop(run.plan_id, None)
        outcome = run.outcome
        if outcome is None:
            code = run.process.exitcode
            error = f"the solver process ended unexpectedly (exit code {code})"
            if self.memory_mb and self._dask is None and code is not None and code < 0:
                # killed by a signal: an allocation refused in native code aborts the process
                error = f"{_solve.out_of_memory(self.memory_mb)} ({error}; perhaps past the ceiling)"
            self._finish(run.plan_id, "failed", error=error)
        elif outcome[0] == "done":
            _, plan, violations = outcome
            if violations:
                n = len(violations)
                first = violations[0]
                self._finish(run.plan_id, "failed", result=plan, violations=violations,
                             error=f"the plan failed the checker ({n} violation{'s' if n != 1 else ''}; "
                                   f"first: [{first['rule']}] {first['message']}); it is not served")
            else:
                self._finish(run.plan_id, "done", result=plan, violations=[], best_cost=plan["summary"]["cost"])
        else:
            if len(outcome) > 2:
                log.error("plan %s failed:\n%s", run.plan_id, outcome[2])
            self._finish(run.plan_id, "failed", error=outcome[1])
        run.process.join(timeout=1.0)
        _close(run.queue)

    def _terminate(self, run: _Running) -> None:
        if run.process.is_alive():
            run.process.terminate()
            run.process.join(timeout=3.0)
            if run.process.is_alive():
                run.process.kill()
                run.process.join(timeout=2.0)
        _close(run.queue)

    def _finish(self, plan_id: int, status: str, *, error: Optional[str] = None,
                result: Optional[dict[str, Any]] = None, violations: Optional[list[Any]] = None,
                best_cost: Optional[float] = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": _now(), "error": error}
        if result is not None:
            values["result"] = result
        if violations is not None:
            values["violations"] = violations
        if status == "done":
            values.update(phase="done", fraction=1.0, best_cost=best_cost)
        with self.sessions.begin() as s:
            done = rowcount(s.execute(update(PlanJob).where(PlanJob.id == plan_id, PlanJob.status.in_(("running", "queued")))
                                      .values(**values)))
            if done and status == "done" and result is not None:
                _carry_dispatches(s, plan_id, result)
        log.info("plan %s %s%s", plan_id, status, f": {error}" if error else "")

    # -------------------------------------------------------------- restarts

    def sweep(self, startup: bool = False) -> int:
        """Fail running plans whose runner is gone; returns how many.

        A plan is cut off when its heartbeat is older than ``stale_seconds``. At start-up, a
        plan marked running by another runner is cut off too once its heartbeat is older than
        one heartbeat interval plus a margin, unless another live runner still owns it.
        """
        self._last_sweep = time.monotonic()
        cutoff = _now() - timedelta(seconds=self.stale_seconds)
        with self.sessions.begin() as s:
            stale = rowcount(s.execute(update(PlanJob).where(
                PlanJob.status == "running",
                (PlanJob.runner_id != self.runner_id) | PlanJob.runner_id.is_(None),
                (PlanJob.heartbeat_at < cutoff) | PlanJob.heartbeat_at.is_(None),
            ).values(status="failed", error=INTERRUPTED, finished_at=_now())))
        if stale:
            log.warning("%d plan(s) were cut off by a restart and marked failed", stale)
        return stale


class _DaskTask:
    """A plan's Dask task seen as the runner sees a solver process (start, exitcode, terminate)."""

    def __init__(self, client: Any, plan_id: int, args: tuple[Any, ...], inbox: "queue_mod.Queue[Any]"):
        self.client, self.plan_id, self.args, self.inbox = client, plan_id, args, inbox
        self.future: Any = None
        self.stop = ""
        self.pid = f"dask:{plan_id}"

    def start(self) -> None:
        key = f"fangang-plan-{self.plan_id}-{uuid.uuid4().hex[:8]}"
        self.stop = _solve.cancel_event(key)
        self.future = self.client.submit(_solve.run_on_dask, *self.args, self.stop, key=key, pure=False, retries=1)
        self.future.add_done_callback(self._done)

    def _done(self, fut: Any) -> None:
        try:
            out = fut.result()
        except Exception as exc:  # noqa: BLE001  (the task's failure is the plan's)
            out = ("failed", f"the solver task failed on the cluster: {type(exc).__name__}: {exc}")
        self.inbox.put(tuple(out) if out is not None else ("failed", "the solver task returned nothing"))

    @property
    def exitcode(self) -> Optional[int]:
        return None if self.future is None or not self.future.done() else 0

    def is_alive(self) -> bool:
        return self.future is not None and not self.future.done()

    def terminate(self) -> None:
        if self.future is not None:
            from distributed import Event  # noqa: PLC0415

            try:  # stop it computing (at its next progress report), then release it
                Event(self.stop, client=self.client).set()
            except Exception:  # noqa: BLE001  (the cluster may be gone; the plan is cancelled anyway)
                log.warning("could not signal plan %s's task to stop", self.plan_id)
            self.future.cancel()

    kill = terminate

    def join(self, timeout: Optional[float] = None) -> None:
        return None


class _Inbox:
    """The runner's queue for a Dask task: progress from the event topic, then the outcome."""

    def __init__(self, client: Any, topic: str):
        self.client, self.topic = client, topic
        self.q: "queue_mod.Queue[Any]" = queue_mod.Queue()
        client.subscribe_topic(topic, lambda event: self.q.put(tuple(event[1])))

    def get_nowait(self) -> Any:
        return self.q.get_nowait()

    def get(self, timeout: Optional[float] = None) -> Any:
        return self.q.get(timeout=timeout)

    def put(self, msg: Any) -> None:
        self.q.put(msg)

    def close(self) -> None:
        try:
            self.client.unsubscribe_topic(self.topic)
        except Exception:  # noqa: BLE001
            pass

    def cancel_join_thread(self) -> None:
        return None


def _on_dask(client: Any, plan_id: int, snapshot: dict[str, Any], time_limit: float, seed: int) -> tuple[Any, Any]:
    topic = f"fangang-plan-{plan_id}"
    inbox = _Inbox(client, topic)
    return inbox, _DaskTask(client, plan_id, (snapshot, time_limit, seed, topic), inbox.q)


def _carry_dispatches(session: Session, plan_id: int, result: dict[str, Any]) -> None:
    """Trips the solver kept fixed stay dispatched in the new plan."""
    job = session.get(PlanJob, plan_id)
    if job is None or not job.snapshot.get("fixed"):
        return
    fixed_ids = {t["id"] for t in job.snapshot["fixed"]}
    kept = {t["id"] for t in result.get("trips", []) if t["id"] in fixed_ids}
    by = job.created_by
    for trip_id in sorted(kept):
        session.add(Dispatch(plan_id=plan_id, trip_id=trip_id, dispatched_by=by))


def _close(q: Any) -> None:
    try:
        q.close()
        q.cancel_join_thread()
    except Exception:  # noqa: BLE001
        pass
