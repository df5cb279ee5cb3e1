"""Plan a scenario: the one entry point, :func:`solve`, wiring the pipeline's steps.

compile (:mod:`planner.problem`) → dispatched trips booked and eligibility
(:mod:`planner.eligibility`) → full coaches (``_full``) → the remainders pooled (``_pool``) →
improved (``_improve``) → orders allocated (``_allocate``) → trips scheduled on coaches, with
their fallback (``_schedule``) → the contract-v1 plan with its lower bound (:mod:`planner.report`)
→ special trains suggested for whom it leaves behind (:mod:`planner.rail`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from ._allocate import direct, own_coaches
from ._chains import Chains, plan_chains
from ._coaches import pooled_by_yard
from ._explain import details
from ._pricing import usable_types
from ._schedule import Fleet, book_dispatched, schedule_with_fallback
from ._timing import driving_of
from ._trains import choose
from ._trips import TimedTrip
from .check import check
from .contract import Plan, Reason, Scenario, Trip
from .driving import DAY
from .eligibility import Eligible, eligibility
from .network.roads import DistanceProvider
from .params import Deadline, SolveParams, hurry_after
from .problem import ProblemData, check_fixed, compile_scenario
from .rail import suggest
from .report import build_plan, numbered

#: the share of the time limit after which scheduling hurries (:func:`planner.params.hurry`)
HURRY_SHARE = 0.9

Unassigned = list[tuple[int, int, Reason]]  # (order part, count, reason)
#: how many times a plan its own checker rejects is repaired: the broken trips' workers planned
#: again, then (the second time) unassigned ``no_legal_trip``
REPAIR_ROUNDS = 2


@dataclass(frozen=True)
class Progress:
    """A progress report: the phase, the fraction of the work done, the best cost known so far."""

    phase: str
    fraction: float
    best_cost: Optional[float] = None


Tell = Callable[[str, float], None]


def solve(scenario: Scenario, *, time_limit: float = 30.0, seed: int = 0,
          progress: Optional[Callable[[Progress], None]] = None,
          fixed: Sequence[Trip] = (), params: SolveParams = SolveParams(),
          distances: Optional[DistanceProvider] = None, now: Optional[datetime] = None,
          started: Optional[float] = None) -> Plan:
    """Plan ``scenario`` within about ``time_limit`` seconds.

    Parameters
    ----------
    scenario
        The contract-v1 scenario.
    time_limit
        Seconds for the whole solve; the giant tours and the local search get most of it
        (:class:`~planner.params.SolveParams` ``pool_share`` and ``improve_share``).
    seed
        Makes the search deterministic.
    progress
        Called with :class:`Progress` as phases go by.
    fixed
        Trips already dispatched (default: the scenario's ``fixed``): kept as they are, their
        coaches, crews and site intake taken, their workers not planned again.
    params
        :class:`~planner.params.SolveParams`.
    distances
        A road-distance provider (default: geodesic × the policy's road factor); the plan names
        it in ``solver.roads`` so that the checker measures with the same.
    now
        Nothing is planned to leave before this time (default: no limit).
    started
        When the caller's run began (``time.monotonic()``): the time limit then counts from it,
        so that reading the scenario counts too (default: now). The search stops early enough
        for the scheduling, the checks and the writing to end within the limit (about 10 % over
        at most, on the benchmark parks).

    Returns
    -------
    Plan
        Every worker is on one trip or unassigned with a reason.
    """
    if scenario.workers or scenario.posts:
        # match and move: the match, then its derived orders planned by this same function
        from .match import match_and_move  # noqa: PLC0415

        return match_and_move(scenario, solve, time_limit=time_limit, seed=seed, roads=distances,
                              started=started, progress=progress, fixed=fixed, params=params, now=now)
    deadline = Deadline(time_limit, started) if started is not None else Deadline.start(time_limit)

    def tell(phase: str, fraction: float) -> None:
        if progress:
            progress(Progress(phase, min(1.0, fraction)))

    tell("reading", 0.0)
    fixed = list(fixed) or list(scenario.fixed)
    check_fixed(scenario, fixed)
    data = compile_scenario(scenario, distances, now=now)
    already, fleet, intake = book_dispatched(data, fixed)
    eligible, unassigned = eligibility(data, already)
    vtypes = usable_types(data)
    if not vtypes:
        unassigned += [(e.order, e.count, "no_vehicle") for e in eligible]
        eligible = []
    by_train: Optional[Chains] = None
    if data.trains and eligible and params.pooling:
        tell("trains", 0.02)
        modes = choose(data, eligible, vtypes, time_limit=min(10.0, 0.1 * time_limit), seed=seed)
        riding = sum(leg.count for leg in modes.legs) / max(1, sum(e.count for e in eligible))
        by_train = plan_chains(modes, fleet, intake, params, seed, deadline.left(params.pool_share) * riding, tell)
        data, fleet, intake = by_train.data, by_train.fleet, by_train.intake
        unassigned += modes.unassigned + by_train.unassigned
        eligible, vtypes = modes.direct + by_train.back, list(modes.fleets.home)
    tell("pooling", 0.05)
    if eligible and params.pooling:
        trips, more = pooled_by_yard(data, eligible, vtypes, params, seed, deadline, tell)
    else:
        trips, more = own_coaches(data, eligible, vtypes)
    tell("scheduling", 0.8)
    # past 90 % of the time limit the scheduler hurries (plain timings, the needed crew): a park of
    # many long trips would otherwise schedule past the limit
    with hurry_after(deadline.at(HURRY_SHARE)):
        timed, late = schedule_with_fallback(data, trips, fleet, intake, vtypes)
    if by_train is not None:
        timed = by_train.timed + timed
    if progress:
        progress(Progress("reporting", 0.95, sum(t.cost for t in timed)))
    rows = unassigned + more + late
    cars = by_train.cars if by_train is not None else ()
    roads = distances.source if distances is not None else "geodesic"
    notes: dict[tuple[int, str], str] = {}

    def assemble(timed: list[TimedTrip], rows: Unassigned) -> Plan:
        why = details(data, rows, fleet, intake, cars)
        why = [notes.get((o, r), w) for (o, _, r), w in zip(rows, why)]
        return build_plan(data, timed, fixed, rows, seconds=deadline.elapsed(),
                          time_limit=time_limit, status="feasible" if timed or not eligible else "no trips",
                          seed=seed, roads=roads, now=now, cars=cars, details=why)

    plan = assemble(timed, rows)
    if params.repair:
        tell("checking", 0.96)
        windows = {e.order: (e.board_from, e.board_until) for e in eligible}
        plan = _repair(scenario, data, plan, timed, rows, fixed, fleet, intake, vtypes, windows, notes, assemble)
    if params.suggest_trains and params.pooling:
        tell("suggesting trains", 0.97)
        plan.suggestions = suggest(scenario, plan, roads=distances)
    if progress:
        progress(Progress("done", 1.0, plan.summary.cost))
    return plan


def _repair(scenario: Scenario, data: ProblemData, plan: Plan, timed: list[TimedTrip], rows: Unassigned,
            fixed: Sequence[Trip], fleet: Fleet, intake: dict[tuple[int, int], int], vtypes: list[int],
            windows: dict[int, tuple[int, int]], notes: dict[tuple[int, str], str],
            assemble: Callable[[list[TimedTrip], Unassigned], Plan]) -> Plan:
    """The plan, with every direct trip its own checker rejects taken off: the first time its
    workers are planned again on coaches of their own (their coach freed, its crew's driving and
    the site's intake given back), the second time they are unassigned ``no_legal_trip`` with the
    rule the trip broke. A broken feeder or last mile (a whole chain) is left for the checker to
    report. The optimiser has bugs like any program; this keeps one from costing the plan."""
    for attempt in range(REPAIR_ROUNDS):
        found = check(scenario, plan)
        if not found:
            break
        ids = dict(numbered(timed, fixed))
        broken: dict[int, tuple[TimedTrip, str]] = {}
        for v in found:
            t = ids.get(v.trip or "")
            if t is not None and id(t) not in broken and _direct(data, t):
                broken[id(t)] = (t, f"[{v.rule}] {v.message}")
        if not broken:
            break
        retry = []
        for t, message in broken.values():
            timed.remove(t)
            fleet.unblock(t.vehicle, t.bus, t.start, t.end, driving_of(t.stops, t.crew), t.drivers)
            for s in t.stops:
                if s.kind == "drop" and s.site is not None and s.arrive is not None:
                    key = (s.site, s.arrive // DAY)
                    if key in intake:
                        intake[key] -= sum(n for _, n in s.loads)
            for s in t.stops:
                for o, n in (s.loads if s.kind == "pickup" else []):
                    if attempt + 1 < REPAIR_ROUNDS and o in windows:
                        lo, hi = windows[o]
                        retry += direct(data, Eligible(o, n, t.cohort, lo, hi), n, vtypes)
                    else:
                        rows.append((o, n, "no_legal_trip"))
                        notes[(o, "no_legal_trip")] = "the trip planned for them broke a rule: " + message
        if retry:
            more, late = schedule_with_fallback(data, retry, fleet, intake, vtypes)
            timed += more
            rows += late
        plan = assemble(timed, rows)
    return plan


def _direct(data: ProblemData, t: TimedTrip) -> bool:
    """Whether a timed trip carries workers home → site (not a feeder or a last mile)."""
    return all(data.orders[o].leg == "direct" for s in t.stops for o, _ in s.loads)
