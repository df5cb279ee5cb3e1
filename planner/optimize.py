"""Plan a scenario: the one entry point, :func:`solve`.

The pipeline: compile the scenario (places, road km, integer times) → eligibility and cohorts →
full coaches straight from each county → remainders pooled along a giant tour (OR-Tools
routing) cut optimally into trips → those trips improved by local search (``_improve``) → orders
allocated to trips (leftovers seated where they fit) → trips timed under the driving rules and
placed on coaches → a pooled trip that could not run is retried county by county, then order by
order, and what still cannot run is unassigned with the reason that stopped it → the contract-v1
plan with its lower bound.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional, Sequence

from ._improve import improve
from ._pool import Key, PoolParams, full_coaches, pool_remainders, pool_types
from ._schedule import Allocated, Fleet, allocate, by_pickup, direct, fit_in, schedule
from .contract import Plan, Scenario, Trip
from .driving import DAY
from .eligibility import ProblemData, compile_scenario, eligibility
from .errors import InputError, Problem
from .report import build_plan
from .travel import DistanceProvider


@dataclass(frozen=True)
class Progress:
    """A progress report: the phase, the fraction of the work done, the best cost known so far."""

    phase: str
    fraction: float
    best_cost: Optional[float] = None


@dataclass(frozen=True)
class SolveParams:
    """Tuning knobs of :func:`solve`.

    ``pooling`` false plans every order on coaches of its own (the naive plan benchmarks compare
    against).
    ``objective`` is ``"km"`` (fewest coach-km, then lowest cost: the default) or ``"cost"``.
    """

    pooling: bool = True
    objective: str = "km"


def solve(scenario: Scenario, *, time_limit: float = 30.0, seed: int = 0,
          progress: Optional[Callable[[Progress], None]] = None,
          fixed: Sequence[Trip] = (), params: SolveParams = SolveParams(),
          distances: Optional[DistanceProvider] = None, now: Optional[datetime] = None) -> Plan:
    """Plan ``scenario`` within about ``time_limit`` seconds.

    Parameters
    ----------
    scenario
        The contract-v1 scenario.
    time_limit
        Seconds for the whole solve; the giant tours of the pooling step get most of it.
    seed
        Makes the search deterministic.
    progress
        Called with :class:`Progress` as phases go by.
    fixed
        Trips already dispatched: kept as they are, their coaches and site intake taken, their
        workers not planned again.
    params
        :class:`SolveParams`.
    distances
        A road-distance provider (default: geodesic × the policy's road factor); the plan names
        it in ``solver.roads`` so that the checker measures with the same.
    now
        Nothing is planned to leave before this time (default: no limit). Dispatched trips
        (``fixed``, and the scenario's own ``fixed``) stay as they are.

    Returns
    -------
    Plan
        Every worker is on one trip or unassigned with a reason.
    """
    started = time.monotonic()

    def tell(phase: str, fraction: float, cost: Optional[float] = None) -> None:
        if progress:
            progress(Progress(phase, min(1.0, fraction), cost))

    tell("reading", 0.0)
    fixed = list(fixed) or list(scenario.fixed)
    _check_fixed(scenario, fixed)
    data = compile_scenario(scenario, distances, now=now)
    already, fleet, intake = _take_fixed(data, fixed)
    eligible, unassigned = eligibility(data, already)
    vtypes = [v for v, vt in enumerate(data.vehicles) if vt.count > 0 and vt.capacity > 0]
    if not vtypes:
        unassigned += [(e.order, e.count, "no_vehicle") for e in eligible]
        eligible = []
    tell("pooling", 0.05)

    jobs: list[Allocated] = []
    if eligible and params.pooling:
        demand: dict[Key, int] = defaultdict(int)
        for e in eligible:
            o = data.orders[e.order]
            demand[(o.place, e.cohort, o.site)] += e.count
        big = max(vtypes, key=lambda v: (data.vehicles[v].capacity, -data.vehicles[v].cost_per_km, -v))
        drafts, left = full_coaches(data, dict(demand), big)
        budget = max(0.5, time_limit * 0.7 - (time.monotonic() - started))
        pooled = pool_remainders(
            data, left, time_limit=budget,
            params=PoolParams(seed=seed, objective=params.objective),
            report=lambda f: tell("pooling", 0.05 + 0.35 * f))
        too_few = [d for d in pooled if d.vehicle < 0]
        tell("improving", 0.4)
        windows: dict[Key, tuple[int, int]] = {}
        for e in eligible:
            o = data.orders[e.order]
            k = (o.place, e.cohort, o.site)
            lo, hi = windows.get(k, (e.board_from, e.board_until))
            windows[k] = (min(lo, e.board_from), max(hi, e.board_until))
        drafts += improve(data, [d for d in pooled if d.vehicle >= 0], pool_types(data), params.objective,
                          deadline=started + time_limit * 0.9, seed=seed, windows=windows,
                          report=lambda f: tell("improving", 0.4 + 0.4 * f))
        jobs, leftovers = allocate(data, drafts + too_few, eligible)
        short = {id(j) for j in jobs if j.vehicle < 0}
        for job in [j for j in jobs if id(j) in short]:
            for loads in job.board.values():
                unassigned += [(o, n, "too_few_riders") for o, n in loads]
        jobs = [j for j in jobs if id(j) not in short]
        for e, n in leftovers:
            n -= fit_in(data, jobs, e, n, pool_types(data))
            if not n:
                continue
            if n < data.min_riders:
                unassigned.append((e.order, n, "too_few_riders"))
            else:
                jobs += direct(data, e, n, vtypes)
    else:
        for e in eligible:
            if e.count < data.min_riders:
                unassigned.append((e.order, e.count, "too_few_riders"))
            else:
                jobs += direct(data, e, e.count, vtypes)

    tell("scheduling", 0.8)
    timed, failed = schedule(data, jobs, fleet, intake, vtypes)
    # a pooled trip that could not run as drafted: its counties on coaches of their own, then
    # whatever still fails order by order
    regroup: list[Allocated] = []
    still: list[tuple[Allocated, str]] = []
    for job, reason in failed:
        parts = by_pickup(data, job, vtypes) if len(job.pickups) > 1 else []
        if parts:
            regroup += parts
        else:
            still.append((job, reason))
    if regroup:
        timed2, failed2 = schedule(data, regroup, fleet, intake, vtypes)
        timed += timed2
        failed = still + failed2
    retry: list[Allocated] = []
    for job, reason in failed:
        for loads in job.board.values():
            for o, n in loads:
                if n < data.min_riders:
                    unassigned.append((o, n, reason))
                else:
                    retry += direct(data, _as_eligible(job, o, n, data), n, vtypes)
    timed2, failed2 = schedule(data, retry, fleet, intake, vtypes)
    timed += timed2
    for job, reason in failed2:
        for loads in job.board.values():
            for o, n in loads:
                unassigned.append((o, n, reason))
    cost = sum(t.cost for t in timed)
    tell("reporting", 0.95, cost)
    plan = build_plan(data, timed, fixed, unassigned, seconds=time.monotonic() - started,
                      time_limit=time_limit, status="feasible" if timed or not eligible else "no trips",
                      seed=seed, roads=(distances.source if distances is not None else "geodesic"), now=now)
    tell("done", 1.0, plan.summary.cost)
    return plan


def _as_eligible(job: Allocated, order: int, n: int, data: ProblemData):
    from .eligibility import Eligible

    o = data.orders[order]
    lo = max(o.earliest, job.lo)
    return Eligible(order, n, job.cohort, lo, max(lo, job.hi))


def _check_fixed(scenario: Scenario, fixed: Sequence[Trip]) -> None:
    """Dispatched trips must name a coach of the fleet: refuse them clearly otherwise."""
    types = {v.id: v for v in scenario.fleet}
    problems = []
    for i, trip in enumerate(fixed):
        where = f"fixed[{i}] ({trip.id})"
        vt = types.get(trip.vehicle_type)
        if vt is None:
            problems.append(Problem(where, "vehicle_type", (
                f"the dispatched trip runs on coach type {trip.vehicle_type!r}, which the fleet no longer "
                f"has: put the type back (its coach is on the road) or un-dispatch the trip")))
        elif trip.bus >= vt.count:
            problems.append(Problem(where, "bus", (
                f"the dispatched trip runs on coach {trip.bus} of {vt.id}, which now has {vt.count} "
                f"coach(es): raise its count or un-dispatch the trip")))
    if problems:
        raise InputError(problems)


def _take_fixed(data: ProblemData, fixed: Sequence[Trip]) -> tuple[list[int], Fleet, dict[tuple[int, int], int]]:
    """Book dispatched trips: their coaches' time and their crews' driving, their site intake, and
    their riders (each load counted against the order's part whose screening it can have used:
    the one expiring first that was still valid when it boarded)."""
    already = [0] * len(data.orders)
    fleet = Fleet(data)
    intake: dict[tuple[int, int], int] = {}
    parts: dict[str, list[int]] = defaultdict(list)
    for o in data.orders:
        parts[o.id].append(o.index)
    for ps in parts.values():
        ps.sort(key=lambda i: (data.orders[i].valid_until, i))
    type_index = {v.id: i for i, v in enumerate(data.vehicles)}
    site_index = {s: i for i, s in enumerate(data.site_ids)}
    for trip in sorted(fixed, key=lambda t: min((s.depart or s.arrive) for s in t.stops if (s.depart or s.arrive))):
        v = type_index.get(trip.vehicle_type)
        times = [data.minute(t) for s in trip.stops for t in (s.arrive, s.depart) if t is not None]
        if v is not None and trip.bus < data.vehicles[v].count and times:
            w = 1.0 / max(1, trip.crew)
            driving = sorted((data.minute(a), data.minute(b), w) for s in trip.stops for a, b in s.drive)
            pool = set(data.pools[v])
            drivers = [d for d in (trip.drivers or []) if d in pool]
            fleet.block(v, trip.bus, min(times), max(times), driving, drivers)
        for s in trip.stops:
            when = data.minute(s.depart) if s.depart is not None else 0
            for ld in s.board:
                n = ld.count
                ps = parts.get(ld.order, [])
                for i in ps:
                    if n and data.orders[i].valid_until >= when:
                        k = min(n, data.orders[i].cleared - already[i])
                        if k > 0:
                            already[i] += k
                            n -= k
                if n and ps:
                    already[ps[-1]] += n  # more than were cleared: counted, and the checker says so
            if s.kind == "drop" and s.place.id in site_index and s.arrive is not None:
                key = (site_index[s.place.id], data.minute(s.arrive) // DAY)
                intake[key] = intake.get(key, 0) + sum(ld.count for ld in s.alight)
    return already, fleet, intake
