"""The planner's one door into OR-Tools: every OR-Tools model is built here.

Two search modes: :func:`solve_routing`, a capacitated VRP with time windows (iterated, then
guided local search; the Solomon benchmark measures it), and :func:`open_path`, the giant tour's
open path by greedy descent. Besides them, CP-SAT for the train mode choice and the match, and
the covering pass's set-covering model (:func:`cover_routes`: GLOP and SCIP). The routing
search's callers hand in integer NumPy arrays and get node sequences back; every arc cost,
distance and travel time goes in as a registered matrix and every demand as a registered
vector, so the search never calls back into Python.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time as _time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_FALSE

_FIRST = routing_enums_pb2.FirstSolutionStrategy
_META = routing_enums_pb2.LocalSearchMetaheuristic
_STATUS = routing_enums_pb2.RoutingSearchStatus

_HEURISTIC_LNS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
)

# Upper bound for a cumul with no window: big enough for any plan, far from int64 overflow.
_NO_HORIZON = 1 << 50


@dataclass(frozen=True)
class RoutingProblem:
    """A capacitated VRP with optional time windows; integers throughout.

    Attributes
    ----------
    distance
        ``(n, n)`` int64; node 0 is the depot. The basis of arc costs.
    demand
        ``(n,)`` int64 with ``demand[0] == 0``.
    capacities
        One capacity per vehicle; the fleet size is ``len(capacities)``.
    time
        ``(n, n)`` int64 travel time including service at the *from* node (Solomon
        convention), or None for no time dimension.
    windows
        ``(n, 2)`` int64 ``[ready, due]`` for the start of service; ``windows[0]`` is the depot's
        horizon (leave no earlier than ready, return no later than due). Needs ``time``.
    max_stops
        At most this many customer visits per route.
    vehicle_fixed_cost
        Per vehicle, paid if the vehicle is used.
    vehicle_cost_factor
        Per vehicle multiplier on ``distance`` for its arc cost (a cost per km). Vehicles that
        share a factor share one registered matrix.
    optional_penalty
        If set, any customer may be dropped at this penalty; otherwise all must be visited.
    """

    distance: np.ndarray
    demand: np.ndarray
    capacities: tuple[int, ...]
    time: Optional[np.ndarray] = None
    windows: Optional[np.ndarray] = None
    max_stops: Optional[int] = None
    vehicle_fixed_cost: Optional[tuple[int, ...]] = None
    vehicle_cost_factor: Optional[tuple[int, ...]] = None
    optional_penalty: Optional[int] = None

    @property
    def num_nodes(self) -> int:
        """Nodes including the depot."""
        return int(self.distance.shape[0])

    @property
    def num_vehicles(self) -> int:
        """Fleet size."""
        return len(self.capacities)


@dataclass(frozen=True)
class RoutingResult:
    """What :func:`solve_routing` found.

    Attributes
    ----------
    routes
        Customer node sequences (depot excluded), one per *used* vehicle.
    vehicles
        The vehicle index of each route.
    dropped
        Customers left out (only possible with ``optional_penalty``; all customers when no
        solution was found).
    objective
        OR-Tools' objective: arc costs + fixed costs + drop penalties; 0 when no solution.
    status
        ``"optimal"``, ``"feasible"``, ``"infeasible"``, ``"timeout"`` (no solution in time),
        ``"invalid"`` or ``"failed"``.
    """

    routes: tuple[tuple[int, ...], ...]
    vehicles: tuple[int, ...]
    dropped: tuple[int, ...]
    objective: int
    status: str

    @property
    def solved(self) -> bool:
        """Whether the result holds a solution."""
        return self.status in ("optimal", "feasible")


@dataclass(frozen=True)
class RoutingParams:
    """Search knobs of :func:`solve_routing`; the defaults were tuned on Solomon's VRPTW set.

    The search runs in two phases on one model. First, OR-Tools' iterated local search: ruin
    (SISR: remove strings of nearby stops) and recreate (cheapest insertion), each result
    descended to a local optimum and accepted by simulated annealing. Then guided local search
    starts from the best solution known (the first phase's or the caller's initial routes) and
    polishes it. On Solomon at 10 s the first phase is what brings the mean gap to the best known
    distances from about 2 % (guided local search alone) to under 1 %.

    Attributes
    ----------
    first_solution
        Name of an OR-Tools ``FirstSolutionStrategy``, used to seed both phases.
    ils_share
        Fraction of the time limit for iterated local search; 0 runs guided local search alone.
    gls_lambda
        Guided local search's lambda coefficient (penalty weight relative to the mean arc cost).
    ruin_visits
        Average number of stops one SISR ruin removes.
    ruin_string
        Longest string of consecutive stops one SISR ruin removes from a route.
    heuristic_lns
        Keep OR-Tools' insertion-heuristic LNS operators in the local search. Off by default:
        each call may run for ``lns_time_limit``, which on VRPTW roughly halves the moves per
        second for little gain.
    metaheuristic
        The second phase's ``LocalSearchMetaheuristic``: guided local search by default;
        ``GREEDY_DESCENT`` stops at the first local optimum (the giant tour's :data:`DESCENT`).
    """

    first_solution: str = "SAVINGS"
    ils_share: float = 0.8
    gls_lambda: float = 0.3
    ruin_visits: int = 30
    ruin_string: int = 20
    heuristic_lns: bool = False
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"

    def __post_init__(self) -> None:
        if self.first_solution not in _FIRST.Value.keys():
            raise ValueError(f"unknown first-solution strategy {self.first_solution!r}")
        if not 0.0 <= self.ils_share <= 1.0:
            raise ValueError("ils_share must lie in [0, 1]")
        if self.metaheuristic not in _META.Value.keys():
            raise ValueError(f"unknown metaheuristic {self.metaheuristic!r}")


_STATUS_NAMES = {
    _STATUS.ROUTING_OPTIMAL: "optimal",
    _STATUS.ROUTING_SUCCESS: "feasible",
    _STATUS.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: "feasible",
    _STATUS.ROUTING_INFEASIBLE: "infeasible",
    _STATUS.ROUTING_FAIL_TIMEOUT: "timeout",
    _STATUS.ROUTING_INVALID: "invalid",
    _STATUS.ROUTING_FAIL: "failed",
    _STATUS.ROUTING_NOT_SOLVED: "failed",
}


def _check(problem: RoutingProblem) -> None:
    n, v = problem.num_nodes, problem.num_vehicles
    if problem.distance.shape != (n, n):
        raise ValueError(f"distance must be square, got {problem.distance.shape}")
    if problem.demand.shape != (n,):
        raise ValueError(f"demand must have shape ({n},), got {problem.demand.shape}")
    if problem.demand[0] != 0:
        raise ValueError("the depot's demand must be 0")
    if v == 0:
        raise ValueError("at least one vehicle is needed")
    if problem.time is not None and problem.time.shape != (n, n):
        raise ValueError(f"time must have shape ({n}, {n}), got {problem.time.shape}")
    if problem.windows is not None:
        if problem.time is None:
            raise ValueError("windows need a time matrix")
        if problem.windows.shape != (n, 2):
            raise ValueError(f"windows must have shape ({n}, 2), got {problem.windows.shape}")
        if problem.windows[0, 0] > problem.windows[0, 1]:
            raise ValueError("the depot window is empty")
    for name in ("vehicle_fixed_cost", "vehicle_cost_factor"):
        values = getattr(problem, name)
        if values is not None and len(values) != v:
            raise ValueError(f"{name} needs one value per vehicle ({v}), got {len(values)}")


class _Model:
    """The OR-Tools model of one problem; built once, solvable from several starts."""

    def __init__(self, problem: RoutingProblem) -> None:
        _check(problem)
        self.problem = problem
        n, v = problem.num_nodes, problem.num_vehicles
        self.manager = pywrapcp.RoutingIndexManager(n, v, 0)
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        # OR-Tools' indices are not node numbers (the depot gets a start and an end per vehicle).
        self.index_of = np.array([-1] + [self.manager.NodeToIndex(i) for i in range(1, n)])
        self.node_of = {int(ix): i for i, ix in enumerate(self.index_of) if i > 0}

        self._arc_costs(problem)
        if problem.vehicle_fixed_cost is not None:
            fixed = problem.vehicle_fixed_cost
            if len(set(fixed)) == 1:
                routing.SetFixedCostOfAllVehicles(int(fixed[0]))
            else:
                for k, cost in enumerate(fixed):
                    routing.SetFixedCostOfVehicle(int(cost), k)

        demand = routing.RegisterUnaryTransitVector([int(d) for d in problem.demand])
        routing.AddDimensionWithVehicleCapacity(
            demand, 0, [int(c) for c in problem.capacities], True, "Capacity")

        if problem.max_stops is not None:
            stops = routing.RegisterUnaryTransitVector([0] + [1] * (n - 1))
            routing.AddDimension(stops, 0, int(problem.max_stops), True, "Stops")

        if problem.time is not None:
            self._time_dimension(problem)

        if problem.optional_penalty is not None:
            penalty = int(problem.optional_penalty)
            for i in range(1, n):
                routing.AddDisjunction([int(self.index_of[i])], penalty)

    def _arc_costs(self, problem: RoutingProblem) -> None:
        routing, v = self.routing, self.problem.num_vehicles
        factors = problem.vehicle_cost_factor or (1,) * v
        evaluators: dict[int, int] = {}
        for f in sorted(set(factors)):
            evaluators[f] = routing.RegisterTransitMatrix((problem.distance * int(f)).tolist())
        if len(evaluators) == 1:
            routing.SetArcCostEvaluatorOfAllVehicles(evaluators[factors[0]])
        else:
            # Only an int per vehicle here: the matrices themselves are shared.
            for k, f in enumerate(factors):
                routing.SetArcCostEvaluatorOfVehicle(evaluators[f], k)

    def _time_dimension(self, problem: RoutingProblem) -> None:
        routing, n, v = self.routing, problem.num_nodes, problem.num_vehicles
        assert problem.time is not None
        travel = routing.RegisterTransitMatrix(problem.time.tolist())
        windows = problem.windows
        horizon = int(windows[0, 1]) if windows is not None else _NO_HORIZON
        # Slack up to the horizon: a coach may wait for a window to open.
        routing.AddDimension(travel, horizon, horizon, False, "Time")
        if windows is None:
            return
        time = routing.GetDimensionOrDie("Time")
        ready0, due0 = int(windows[0, 0]), int(windows[0, 1])
        for i in range(1, n):
            ready, due = int(windows[i, 0]), min(int(windows[i, 1]), due0)
            index = int(self.index_of[i])
            if ready > due:
                if problem.optional_penalty is None:
                    raise ValueError(f"customer {i} has an empty time window and is not optional")
                routing.ActiveVar(index).SetValue(0)
                continue
            time.CumulVar(index).SetRange(ready, due)
        for k in range(v):
            time.CumulVar(routing.Start(k)).SetRange(ready0, due0)
            time.CumulVar(routing.End(k)).SetRange(ready0, due0)

    def parameters(self, time_limit: float, params: RoutingParams, log_search: bool,
                   iterated: bool) -> pywrapcp.DefaultRoutingSearchParameters:
        search = pywrapcp.DefaultRoutingSearchParameters()
        search.first_solution_strategy = _FIRST.Value.Value(params.first_solution)
        # Savings over every pair of stops is quadratic in time and memory (2.4 GB and 15 s at
        # 2,000 stops); merging each stop with its nearest ~100 only cuts that to 0.8 GB and 5 s.
        customers = max(1, self.problem.num_nodes - 1)
        search.savings_parameters.neighbors_ratio = min(1.0, 100 / customers)
        if not params.heuristic_lns:
            ops = search.local_search_operators
            for name in _HEURISTIC_LNS:
                setattr(ops, name, BOOL_FALSE)
        if iterated:
            # Each perturbation is descended to a local optimum; the ruin does the escaping.
            search.local_search_metaheuristic = _META.GREEDY_DESCENT
            search.use_iterated_local_search = True
            ils = search.iterated_local_search_parameters
            ruin = ils.ruin_recreate_parameters.ruin_strategies.add().sisr
            ruin.avg_num_removed_visits = params.ruin_visits
            ruin.max_removed_sequence_size = params.ruin_string
            ruin.bypass_factor = 0.01
            ils.reference_solution_acceptance_strategy.simulated_annealing \
                .automatic_temperatures = True
        else:
            search.local_search_metaheuristic = _META.Value.Value(params.metaheuristic)
            search.guided_local_search_lambda_coefficient = params.gls_lambda
        search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
        search.log_search = log_search
        return search

    def assignment(self, routes: Sequence[Sequence[int]]) -> Optional[pywrapcp.Assignment]:
        """The routes (one per vehicle, in vehicle order) as an assignment; None if infeasible."""
        if len(routes) > self.problem.num_vehicles:
            raise ValueError("more routes than vehicles")
        as_indices = [[int(self.index_of[node]) for node in route] for route in routes]
        return self.routing.ReadAssignmentFromRoutes(as_indices, True)

    def cost(self, routes: Sequence[Sequence[int]]) -> int:
        """The objective of per-vehicle ``routes``, computed here from the problem's arrays."""
        p = self.problem
        factors = p.vehicle_cost_factor or (1,) * p.num_vehicles
        total, seen = 0, 0
        for k, route in enumerate(routes):
            if not route:
                continue
            path = np.array([0, *route, 0])
            total += int(p.distance[path[:-1], path[1:]].sum()) * int(factors[k])
            total += int(p.vehicle_fixed_cost[k]) if p.vehicle_fixed_cost is not None else 0
            seen += len(route)
        if p.optional_penalty is not None:
            total += (p.num_nodes - 1 - seen) * int(p.optional_penalty)
        return total

    def per_vehicle(self, result: RoutingResult) -> list[list[int]]:
        """A result's routes laid out one per vehicle, empty where unused."""
        routes: list[list[int]] = [[] for _ in range(self.problem.num_vehicles)]
        for k, route in zip(result.vehicles, result.routes):
            routes[k] = list(route)
        return routes

    def result_of(self, routes: list[list[int]], cost: int) -> RoutingResult:
        """A result made of per-vehicle routes found outside the last search."""
        used = [k for k, r in enumerate(routes) if r]
        seen = {c for r in routes for c in r}
        return RoutingResult(tuple(tuple(routes[k]) for k in used), tuple(used),
                             tuple(i for i in range(1, self.problem.num_nodes) if i not in seen),
                             cost, "feasible")

    def result(self, solution: Optional[pywrapcp.Assignment]) -> RoutingResult:
        routing, n = self.routing, self.problem.num_nodes
        status = _STATUS_NAMES.get(routing.status(), "failed")
        if solution is None:
            if status in ("optimal", "feasible"):
                status = "failed"
            return RoutingResult((), (), tuple(range(1, n)), 0, status)
        if status != "optimal":
            # A solution in hand is feasible whatever the status (iterated search sets none).
            status = "feasible"
        routes, vehicles, seen = [], [], set()
        for k in range(self.problem.num_vehicles):
            index = solution.Value(routing.NextVar(routing.Start(k)))
            route = []
            while not routing.IsEnd(index):
                route.append(self.node_of[index])
                index = solution.Value(routing.NextVar(index))
            if route:
                routes.append(tuple(route))
                vehicles.append(k)
                seen.update(route)
        dropped = tuple(i for i in range(1, n) if i not in seen)
        return RoutingResult(tuple(routes), tuple(vehicles), dropped,
                             int(solution.ObjectiveValue()), status)


def solve_routing(problem: RoutingProblem, *, time_limit: float, seed: int = 0,
                  initial_routes: Optional[list[list[int]]] = None,
                  log_search: bool = False,
                  params: RoutingParams = RoutingParams()) -> RoutingResult:
    """Solve ``problem`` with OR-Tools routing: iterated, then guided local search.

    See :class:`RoutingParams` for the two phases. The search stays in C++: costs, travel times
    and demands are registered as matrices and vectors, never as Python callbacks.

    Parameters
    ----------
    problem
        The :class:`RoutingProblem`.
    time_limit
        Seconds for the whole call, model building included.
    seed
        Accepted for symmetry with the planner's other solvers. OR-Tools exposes no seed for
        routing: its random choices (the ruins) come from a fixed internal seed, so the search
        follows the same trajectory for the same inputs; where it stops depends on the clock.
    initial_routes
        Customer node sequences, one per vehicle in vehicle order (fewer lists than vehicles leave
        the rest unused). If feasible, they compete with the iterated search's result as the
        start of guided local search, and are returned unchanged if nothing beats them; if not
        feasible they are ignored.
    log_search
        Let OR-Tools log its search to stderr.
    params
        :class:`RoutingParams`.

    Returns
    -------
    RoutingResult
        Routes of the used vehicles, dropped customers, objective and status.
    """
    del seed  # see the docstring: nothing to seed.
    started = _time.monotonic()
    model = _Model(problem)
    routing = model.routing

    def left(floor: float) -> float:
        return max(time_limit - (_time.monotonic() - started), floor * time_limit)

    # Candidates are kept as plain routes: OR-Tools reuses its assignment objects between solves.
    best_routes: Optional[list[list[int]]] = None
    best_cost: Optional[int] = None
    if initial_routes and model.assignment(initial_routes) is not None:
        best_routes = [list(r) for r in initial_routes]
        best_cost = model.cost(best_routes)
    best: Optional[RoutingResult] = None
    if params.ils_share > 0.0:
        search = model.parameters(left(0.1) * params.ils_share, params, log_search, iterated=True)
        found = model.result(routing.SolveWithIteratedLocalSearch(search))
        if found.solved and (best_cost is None or found.objective <= best_cost):
            best, best_routes, best_cost = found, model.per_vehicle(found), found.objective
    search = model.parameters(left(0.05), params, log_search, iterated=False)
    start = model.assignment(best_routes) if best_routes is not None else None
    if start is not None:
        found = model.result(routing.SolveFromAssignmentWithParameters(start, search))
    else:
        found = model.result(routing.SolveWithParameters(search))
    if found.solved and (best_cost is None or found.objective <= best_cost):
        return found
    if best is None and best_routes is not None and best_cost is not None:
        # Nothing beat the caller's routes: hand them back as they came.
        best = model.result_of(best_routes, best_cost)
    return best if best is not None else found


#: The giant tour's search: a first path by cheapest arc, then greedy descent to a local optimum.
DESCENT = RoutingParams(first_solution="PATH_CHEAPEST_ARC", ils_share=0.0, metaheuristic="GREEDY_DESCENT",
                        heuristic_lns=True)


def open_path(arc: np.ndarray, *, time_limit: float) -> list[int]:
    """An open path through every node of ``arc`` (an ``(n, n)`` int64 cost matrix), short.

    A free dummy depot closes the path into a tour of one vehicle; :data:`DESCENT` stops at a
    local optimum on its own, so the path does not depend on the machine's speed
    (``time_limit`` is a safety net). Returns the nodes in path order; with no solution,
    ``0 … n-1``.
    """
    n = int(arc.shape[0])
    if n <= 2:
        return list(range(n))
    mat = np.zeros((n + 1, n + 1), dtype=np.int64)
    mat[1:, 1:] = arc
    problem = RoutingProblem(distance=mat, demand=np.zeros(n + 1, dtype=np.int64), capacities=(1,))
    found = solve_routing(problem, time_limit=time_limit, params=DESCENT)
    if not found.solved:
        return list(range(n))
    return [node - 1 for node in found.routes[0]]


@dataclass(frozen=True)
class ModeProblem:
    """Which groups of workers ride which train, and which trains run (a small MIP, CP-SAT).

    Attributes
    ----------
    size
        Workers per group.
    cohort
        Per group: 0 (low) or 1 (medium); a car carries one cohort.
    direct
        Per group: the cost of one worker by coach, or None when no coach can take them.
    options
        ``(group, train, cost per worker)``: a group may ride a train at that cost.
    trains
        Per train: ``(seats per car, cars, fixed cost if it runs, fewest riders to run)``.
    unplanned
        The cost of leaving one worker unplanned (larger than any mode).
    pool, coaches
        Per group, its coach pool (or -1); per pool, a coach's seats and trip cost. A group in a
        pool pays ``direct`` per worker on top (a surcharge, e.g. near the ride limit), and the
        pool pays for as many whole coaches as its coach riders fill.
    """

    size: tuple[int, ...]
    cohort: tuple[int, ...]
    direct: tuple[Optional[int], ...]
    options: tuple[tuple[int, int, int], ...]
    trains: tuple[tuple[int, int, int, int], ...]
    unplanned: int
    #: per group: the coach pool it rides in when it goes by coach (-1: priced per worker only);
    #: per pool ``(seats, trip cost)``: its coach riders pay whole coaches, not a full coach's
    #: share each — a far county's remainder costs a coach of its own
    pool: tuple[int, ...] = ()
    coaches: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ModeChoice:
    """Per group the workers by coach and unplanned, per option the workers on it, per train
    whether it runs; ``optimal`` when CP-SAT proved it."""

    direct: tuple[int, ...]
    riders: tuple[int, ...]
    unplanned: tuple[int, ...]
    runs: tuple[bool, ...]
    optimal: bool


def choose_modes(problem: ModeProblem, *, time_limit: float, seed: int = 0) -> ModeChoice:
    """Minimise the coach shares, the seats, the fixed costs of the trains that run and the
    unplanned workers, subject to each train's cars (one cohort a car, none if it does not run)
    and its fewest riders."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    g_count = len(problem.size)
    direct = [m.new_int_var(0, problem.size[g] if problem.direct[g] is not None else 0, f"d{g}") for g in range(g_count)]
    unplanned = [m.new_int_var(0, problem.size[g], f"u{g}") for g in range(g_count)]
    ride = [m.new_int_var(0, problem.size[g], f"x{i}") for i, (g, _, _) in enumerate(problem.options)]
    by_group: dict[int, list[int]] = {}
    for i, (g, _, _) in enumerate(problem.options):
        by_group.setdefault(g, []).append(i)
    for g in range(g_count):
        m.add(direct[g] + unplanned[g] + sum(ride[i] for i in by_group.get(g, [])) == problem.size[g])
    runs = []
    for t, (per_car, cars, _, fewest) in enumerate(problem.trains):
        on = [i for i, (_, tt, _) in enumerate(problem.options) if tt == t]
        y = m.new_bool_var(f"run{t}")
        runs.append(y)
        if not on:
            m.add(y == 0)
            continue
        used = []
        for cohort in (0, 1):
            mine = [i for i in on if problem.cohort[problem.options[i][0]] == cohort]
            c = m.new_int_var(0, cars if mine else 0, f"cars{t}_{cohort}")
            used.append(c)
            if mine:
                m.add(sum(ride[i] for i in mine) <= per_car * c)
        m.add(sum(used) <= cars * y)
        m.add(sum(ride[i] for i in on) >= fewest * y)
    cost = [problem.unplanned * unplanned[g] for g in range(g_count)]
    cost += [c * direct[g] for g, c in enumerate(problem.direct) if c is not None]
    for k, (seats, price) in enumerate(problem.coaches):
        mine = [g for g, kk in enumerate(problem.pool) if kk == k]
        if not mine or seats <= 0:
            continue
        most = -(-sum(problem.size[g] for g in mine) // seats)
        n = m.new_int_var(0, most, f"coaches{k}")
        m.add(seats * n >= sum(direct[g] for g in mine))
        cost.append(price * n)
    cost += [c * ride[i] for i, (_, _, c) in enumerate(problem.options)]
    cost += [problem.trains[t][2] * runs[t] for t in range(len(problem.trains))]
    m.minimize(sum(cost))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, time_limit)
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # no solution in time: everyone by coach who can go, the rest unplanned
        return ModeChoice(tuple(n if problem.direct[g] is not None else 0 for g, n in enumerate(problem.size)),
                          tuple(0 for _ in problem.options),
                          tuple(0 if problem.direct[g] is not None else n for g, n in enumerate(problem.size)),
                          tuple(False for _ in problem.trains), False)
    return ModeChoice(tuple(int(solver.value(v)) for v in direct), tuple(int(solver.value(v)) for v in ride),
                      tuple(int(solver.value(v)) for v in unplanned), tuple(bool(solver.value(y)) for y in runs),
                      status == cp_model.OPTIMAL)


@dataclass(frozen=True)
class MatchProblem:
    """Workers matched to posts at least cost of bringing them back (match and move).

    ``prefs[w]``: the posts worker ``w`` accepts, best first; ``prio[p]``: the workers who accept
    post ``p``, the post's favourite first. ``openings[p]``; ``site[p]`` an index into the sites.
    ``beds``: ``(site, workers, capacity)`` — at most ``capacity`` of those workers matched to
    the site's dorm posts (``dorm[p]``); ``groups``: the workers that must share one site.
    ``signed``: ``(w, p)`` kept. Transport: worker ``w`` comes from place ``home[w]``; a
    ``(home, site)`` pair pays whole coaches of ``seats`` at ``coach_cost[(home, site)]`` yuan.
    ``budget``: blocking pairs allowed (``None``: preferences ignored); ``min_fill``: matched at
    least; ``hint``: a match to start from (``w → p``).
    """

    prefs: tuple[tuple[int, ...], ...]
    prio: tuple[tuple[int, ...], ...]
    openings: tuple[int, ...]
    site: tuple[int, ...]
    dorm: tuple[bool, ...]
    beds: tuple[tuple[int, tuple[int, ...], int], ...]
    groups: tuple[tuple[int, ...], ...]
    signed: tuple[tuple[int, int], ...]
    home: tuple[int, ...]
    seats: int
    coach_cost: dict[tuple[int, int], int]
    budget: Optional[int]
    min_fill: int
    hint: dict[int, int]
    #: per post: the group of nearby sites a coach serves in one trip (default: its own site);
    #: ``coach_cost`` is then keyed by ``(home, hub)``
    hub: tuple[int, ...] = ()
    #: per ``(home, hub)``: what one rider beyond the full coaches costs when pooled with other
    #: places' riders (yuan, e.g. as a plan realised it); without it a remainder pays a whole coach
    pool_cost: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchChoice:
    assign: dict[int, int]
    status: str  # "optimal", "feasible" or "hint" (no better match found in time)
    cost: int


def match_min_cost(problem: MatchProblem, *, time_limit: float, seed: int = 0) -> MatchChoice:
    """The match of least transport cost (whole coaches per home place and site) among those that
    fill at least ``min_fill`` posts and leave at most ``budget`` blocking pairs, the choice ranks
    as a tie-break (so with no cost and no budget it is the worker-optimal stable match).

    Stability is linear (Rothblum; Baïou–Balinski): for each acceptable pair (w, p), with
    ``W`` the worker's matches at p or better and ``P`` the post's matches among workers it ranks
    above w, ``openings_p · W + P + openings_p · b_wp ≥ openings_p`` — a dorm post whose site's beds
    for w are full is excused — and Σ b ≤ budget. Prefix sums keep the model linear in size."""
    started = _time.monotonic()
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    hints: list[tuple[Any, int]] = []  # every variable's value in the hinted match: a complete, feasible start

    def xv(w: int, p: int) -> int:
        return 1 if problem.hint.get(w) == p else 0

    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for w, ps in enumerate(problem.prefs):
        for p in ps:
            x[(w, p)] = m.new_bool_var(f"x{w}_{p}")
    for w, p in problem.signed:
        if (w, p) not in x:
            x[(w, p)] = m.new_bool_var(f"x{w}_{p}")
        m.add(x[(w, p)] == 1)
    by_worker: dict[int, list[int]] = {}
    by_post: dict[int, list[int]] = {}
    for (w, p) in x:
        by_worker.setdefault(w, []).append(p)
        by_post.setdefault(p, []).append(w)
    for w, plist in by_worker.items():
        m.add_at_most_one(x[(w, p)] for p in plist)
    for p, wlist in by_post.items():
        m.add(sum(x[(w, p)] for w in wlist) <= problem.openings[p])
    full_bed: dict[tuple[int, int], cp_model.IntVar] = {}  # (site, worker) → that worker's beds are full
    full_of: dict[tuple[int, int], int] = {}  # the same → its index in ``problem.beds``
    full_v: dict[int, int] = {}
    for k, (s, bedded, cap) in enumerate(problem.beds):
        inside = [x[(w, p)] for w in bedded for p in by_worker.get(w, []) if problem.dorm[p] and problem.site[p] == s]
        m.add(sum(inside) <= cap)
        f = m.new_bool_var(f"full{k}")
        m.add(sum(inside) >= cap).only_enforce_if(f)
        used = sum(xv(w, p) for w in bedded for p in by_worker.get(w, []) if problem.dorm[p] and problem.site[p] == s)
        hints.append((f, 1 if used >= cap else 0))
        full_v[k] = 1 if used >= cap else 0
        for w in bedded:
            full_bed[(s, w)] = f
            full_of[(s, w)] = k
    group_of: dict[int, tuple[int, ...]] = {}
    for g, members in enumerate(problem.groups):
        sites = sorted({problem.site[p] for w in members for p in by_worker.get(w, [])})
        z = {s: m.new_bool_var(f"g{g}_{s}") for s in sites}
        m.add_at_most_one(z.values())
        hinted = {problem.site[problem.hint[w]] for w in members if w in problem.hint}
        hints += [(v, 1 if s in hinted else 0) for s, v in z.items()]
        for w in members:
            group_of[w] = members
            for p in by_worker.get(w, []):
                m.add_implication(x[(w, p)], z[problem.site[p]])
    m.add(sum(x.values()) >= problem.min_fill)
    if problem.budget is not None:
        # worker prefix: W[w][k] = matched to one of the first k+1 posts of the list
        rank = {}
        wpre: dict[int, list[cp_model.LinearExpr]] = {}
        for w, ps in enumerate(problem.prefs):
            acc: list = []
            run: list = []
            for k, p in enumerate(ps):
                rank[(w, p)] = k
                run = run + [x[(w, p)]]
                acc.append(sum(run))
            wpre[w] = acc
        blocks = []
        signed = {w for w, _ in problem.signed}
        kept = Counter(p for _, p in problem.signed)
        for p, ranked in enumerate(problem.prio):
            # signed workers keep their places: the others compete for the rest
            cap = problem.openings[p] - kept[p]
            if cap <= 0:
                continue
            held: Any = 0
            held_v = sum(xv(v, p) for v in by_post.get(p, []) if v not in signed)
            if problem.dorm[p]:  # one variable: the pairs' constraints below all use it
                held = m.new_int_var(0, cap, f"held{p}")
                m.add(held == sum(x[(v, p)] for v in by_post.get(p, []) if v not in signed))
                hints.append((held, held_v))
            above: Any = 0  # the post's matches among the workers it ranks above this one (a running sum)
            above_v = 0
            for j, w in enumerate(ranked):
                if (w, p) in rank and w not in signed:
                    b = m.new_bool_var(f"b{w}_{p}")
                    blocks.append(b)
                    terms = [cap * wpre[w][rank[(w, p)]], above, cap * b]
                    better_v = sum(xv(w, q) for q in problem.prefs[w][:rank[(w, p)] + 1])
                    # a group member whose others hold posts at another site cannot come alone
                    away_pairs = [(v, q) for v in group_of.get(w, ()) if v != w for q in by_worker.get(v, [])
                                  if problem.site[q] != problem.site[p]]
                    away = [x[vq] for vq in away_pairs]
                    away_v = sum(xv(*vq) for vq in away_pairs)
                    if away:
                        terms.append(cap * sum(away))
                    excuse = full_bed.get((problem.site[p], w)) if problem.dorm[p] else None
                    excuse_v = full_v[full_of[(problem.site[p], w)]] if excuse is not None else 0
                    blocks_v = cap * better_v + above_v + cap * away_v + cap * excuse_v < cap
                    if excuse is not None:
                        terms.append(cap * excuse)
                        # no bed excuses only a free opening: a worker it ranks below w still blocks
                        m.add(held - above <= cap * wpre[w][rank[(w, p)]] + cap * b + cap * sum(away))
                        blocks_v = blocks_v or held_v - above_v > cap * better_v + cap * away_v
                    m.add(sum(terms) >= cap)
                    hints.append((b, int(blocks_v)))
                if (w, p) in x and w not in signed:
                    nxt = m.new_int_var(0, cap, f"s{p}_{j}")
                    m.add(nxt == above + x[(w, p)])
                    above = nxt
                    above_v += xv(w, p)
                    hints.append((nxt, above_v))
        m.add(sum(blocks) <= problem.budget)
    # whole coaches per (home, hub)
    trips: dict[tuple[int, int], list] = {}
    hub = problem.hub or problem.site
    for (w, p), v in x.items():
        trips.setdefault((problem.home[w], hub[p]), []).append(v)
    cost = []
    riding: Counter[tuple[int, int]] = Counter((problem.home[w], hub[p]) for w, p in problem.hint.items())
    seats = max(1, problem.seats)
    for key, vs in trips.items():
        n = m.new_int_var(0, -(-len(vs) // seats), f"c{key[0]}_{key[1]}")
        coach, rate = problem.coach_cost.get(key, 0), problem.pool_cost.get(key)
        if rate is None or rate >= coach or seats == 1:
            m.add(seats * n >= sum(vs))
            hints.append((n, -(-riding[key] // seats)))
            cost.append(coach * n)
            continue
        # full coaches, and the rest pooled at ``rate`` a rider (or one more coach, if cheaper)
        rest = m.new_int_var(0, seats - 1, f"r{key[0]}_{key[1]}")
        m.add(seats * n + rest >= sum(vs))
        full, extra = divmod(riding[key], seats)
        if extra * rate > coach:
            full, extra = full + 1, 0
        hints += [(n, full), (rest, extra)]
        cost.append(coach * n + rate * rest)
    ranks = [k * x[(w, p)] for w, ps in enumerate(problem.prefs) for k, p in enumerate(ps)]
    scale = 1 + len(problem.prefs) * max((len(ps) for ps in problem.prefs), default=1)
    m.minimize(scale * sum(cost) + sum(ranks))
    for (w, p), v in x.items():
        m.add_hint(v, xv(w, p))
    for v, val in hints:
        m.add_hint(v, val)
    solver = cp_model.CpSolver()
    # building the model counts: the search gets what is left of the limit
    solver.parameters.max_time_in_seconds = max(0.5, time_limit - (_time.monotonic() - started))
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    if len(x) > 5000:
        # a park's match: presolve's probing alone would take the time limit (10,000 workers:
        # 20 s and no solution); one light pass, then search from the hinted match
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.max_presolve_iterations = 1
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return MatchChoice(dict(problem.hint), "hint", -1)
    assign = {w: p for (w, p), v in x.items() if solver.value(v)}
    total = int(round(sum(solver.value(c) for c in cost))) if cost else 0
    return MatchChoice(assign, "optimal" if status == cp_model.OPTIMAL else "feasible", total)


@dataclass(frozen=True)
class CoverProblem:
    """Coaches on candidate routes carrying workers by key: a set-covering model with integer
    coaches per route and type and integer workers per key and route.

    ``demand[k]``: the workers of key ``k``; ``routes[r]``: the keys route ``r`` may carry;
    ``options[r]``: ``(type, seats a coach has on the route, weight of a coach on it, minutes
    a coach spends on it)``; ``types[t]``: ``(most coaches on routes, most coach-minutes)`` of
    type ``t``, -1 where unlimited (a coach type's trips in its availability). Every coach
    carries ``min_riders`` at least. ``short``: the weight of leaving one worker behind (more
    than any plan's coaches, so that carrying comes first). ``hint``: ``(coaches per route and
    option, workers per route and key)`` to start from (e.g. the local search's trips).
    ``seeds``: see below.
    """

    demand: tuple[int, ...]
    routes: tuple[tuple[int, ...], ...]
    options: tuple[tuple[tuple[int, int, int, int], ...], ...]
    types: tuple[tuple[int, int], ...]
    min_riders: int
    short: int
    hint: Optional[tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]] = None
    #: the routes whose options start with one key alone (default: all); the others' patterns
    #: come from the pricing
    seeds: tuple[int, ...] = ()
    #: after the LP: at most this many more patterns, those within ``slack`` × the LP's value of
    #: a negative reduced cost
    extra_patterns: int = 2000
    slack: float = 0.002


@dataclass(frozen=True)
class CoverChoice:
    """Coaches per ``(route, option)`` and workers per ``(route, key)``, both where > 0; the
    workers left behind per key; ``status``: ``optimal``, ``feasible`` or ``none``."""

    coaches: dict[tuple[int, int], int]
    riders: dict[tuple[int, int], int]
    left: tuple[int, ...]
    objective: int
    status: str


def _fleet_limits(mip: Any, types: Sequence[tuple[int, int]], by_type: Mapping[int, Sequence[tuple[Any, float]]]) -> None:
    """Each coach type's trips at most its ``count`` and their minutes at most its ``most`` (−1: no
    limit); ``by_type``: the type's trip variables with each trip's minutes."""
    for t, (count, most) in enumerate(types):
        used = by_type.get(t, [])
        if count >= 0 and used:
            mip.Add(sum(v for v, _ in used) <= count)
        if most >= 0 and used:
            mip.Add(sum(mm * v for v, mm in used) <= most)


def cover_routes(problem: CoverProblem, *, time_limit: float, seed: int = 0) -> CoverChoice:
    """Carry the most workers, then at least weight, on whole coaches of the candidate routes
    within each type's limits.

    A coach's *pattern* is its route, its type and its workers per key. The LP over every pattern
    is solved by column generation (GLOP; the pricing is exact: a coach of each route and type
    filled with the keys of highest dual price first), for at most a third of the time; then SCIP
    chooses whole coaches among the patterns generated and the hint's (its start), for half of
    what is left. Workers a plan carries beyond a key's demand are taken off again (a coach keeps
    its fewest riders). The rest of the time goes to a large-neighbourhood search over the
    compact model (:func:`_neighbourhoods`), where a coach's workers are free again."""
    from ortools.linear_solver import pywraplp

    started = _time.monotonic()
    demand = np.array(list(problem.demand) + [0], dtype=np.int64)
    nk = len(problem.demand)
    width = max((len(k) for k in problem.routes), default=1) or 1
    # per (route, option): its keys padded with a key of no workers
    ro = [(r, o) for r, opts in enumerate(problem.options) for o in range(len(opts))]
    if not ro or not nk:
        return CoverChoice({}, {}, problem.demand, 0, "none")
    keys = np.full((len(ro), width), nk, dtype=np.int64)
    for i, (r, _) in enumerate(ro):
        keys[i, :len(problem.routes[r])] = problem.routes[r]
    cap = np.array([problem.options[r][o][1] for r, o in ro], dtype=np.int64)
    weight = np.array([problem.options[r][o][2] for r, o in ro], dtype=np.float64)
    kind = np.array([problem.options[r][o][0] for r, o in ro], dtype=np.int64)
    minutes = np.array([problem.options[r][o][3] for r, o in ro], dtype=np.float64)
    columns: dict[tuple[int, tuple[int, ...]], int] = {}  # (route-option, loads) → column
    col_list: list[tuple[int, tuple[int, ...]]] = []

    def fill(duals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every route-option's best coach: loads (route-options × width) and their dual value."""
        pi = duals[keys]
        order = np.argsort(-pi, axis=1, kind="stable")
        idx = np.take_along_axis(keys, order, axis=1)
        sorted_pi = np.take_along_axis(pi, order, axis=1)
        loads = np.zeros_like(idx)
        room = cap.copy()
        for j in range(width):
            take = np.minimum(demand[idx[:, j]], room)
            take[sorted_pi[:, j] <= 0] = 0
            loads[:, j] = take
            room -= take
        out = np.zeros_like(loads)
        np.put_along_axis(out, order, loads, axis=1)
        return out, (sorted_pi * loads).sum(axis=1)

    lp = pywraplp.Solver.CreateSolver("GLOP")
    short = [lp.NumVar(0, lp.infinity(), f"s{k}") for k in range(nk)]
    cover = [lp.Add(short[k] >= int(problem.demand[k])) for k in range(nk)]
    counts = [lp.Add(lp.Sum([]) <= (c if c >= 0 else lp.infinity())) for c, _ in problem.types]
    times = [lp.Add(lp.Sum([]) <= (mm if mm >= 0 else lp.infinity())) for _, mm in problem.types]
    objective = lp.Objective()
    for v in short:
        objective.SetCoefficient(v, float(problem.short))
    objective.SetMinimization()

    def add(i: int, loads: Sequence[int]) -> bool:
        pattern = tuple(int(n) for n in loads)
        if (i, pattern) in columns or sum(pattern) < problem.min_riders or not sum(pattern):
            return False
        z = lp.NumVar(0, lp.infinity(), "")
        columns[(i, pattern)] = len(col_list)
        col_list.append((i, pattern))
        objective.SetCoefficient(z, float(weight[i]))
        for j, n in enumerate(pattern):
            if n:
                cover[int(keys[i, j])].SetCoefficient(z, float(n))
        counts[int(kind[i])].SetCoefficient(z, 1.0)
        times[int(kind[i])].SetCoefficient(z, float(minutes[i]))
        return True

    at = {ri: i for i, ri in enumerate(ro)}
    hinted: dict[int, int] = {}
    if problem.hint is not None:
        hx, hy = problem.hint
        # the hint's coaches as patterns: each route's riders cut evenly among its coaches
        per_route: dict[int, list[tuple[int, int]]] = {}
        for (r, o), n in hx.items():
            per_route.setdefault(r, []).extend([(r, o)] * n)
        for r, buses in per_route.items():
            mine = {k: n for (rr, k), n in hy.items() if rr == r}
            for b, (rr, o) in enumerate(buses):
                i = at[(rr, o)]
                row = [0] * width
                for j, k in enumerate(keys[i]):
                    if int(k) < nk:
                        n = mine.get(int(k), 0)
                        row[j] = n // len(buses) + (1 if b < n % len(buses) else 0)
                add(i, row)
                c = columns.get((i, tuple(row)))
                if c is not None:
                    hinted[c] = hinted.get(c, 0) + 1
    seeds = set(problem.seeds) if problem.seeds else set(range(len(problem.routes)))
    for i in range(len(ro)):  # one key alone on each seed route's options, as much as a coach takes
        if ro[i][0] not in seeds:
            continue
        for j in range(width):
            k = int(keys[i, j])
            if k < nk:
                row = [0] * width
                row[j] = int(min(demand[k], cap[i]))
                add(i, row)
    budget = started + time_limit / 3
    status = "feasible"
    while _time.monotonic() < budget:
        if lp.Solve() != pywraplp.Solver.OPTIMAL:
            return CoverChoice({}, {}, problem.demand, 0, "none")
        duals = np.array([c.dual_value() for c in cover] + [0.0])
        mu = np.array([c.dual_value() for c in counts])
        nu = np.array([c.dual_value() for c in times])
        loads, value = fill(duals)
        reduced = weight - value - mu[kind] - nu[kind] * minutes
        added = 0
        for i in np.argsort(reduced, kind="stable")[:500]:
            if reduced[i] < -1e-6 and add(int(i), loads[i]):
                added += 1
        if not added:
            status = "optimal"  # the LP over all patterns is solved
            break
    lp_value = lp.Objective().Value() if col_list else 0.0
    if status == "optimal":
        # the integer plan needs patterns the LP did not: every route-option's best coach within
        # a slack of the LP's prices, and each route's remainders (a key's workers beyond its
        # whole coaches) together
        loads, value = fill(duals)
        reduced = weight - value - mu[kind] - nu[kind] * minutes
        slack = problem.slack * lp_value
        for i in np.argsort(reduced, kind="stable")[:problem.extra_patterns]:
            if reduced[i] <= slack:
                add(int(i), loads[i])
        for i in range(len(ro)):
            row = [int(demand[k] % cap[i]) if k < nk else 0 for k in keys[i]]
            if sum(row) <= cap[i] and sum(1 for n in row if n) > 1:
                add(i, row)
    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:
        return CoverChoice({}, {}, problem.demand, 0, "none")
    mip.SetNumThreads(1)
    z = []
    for i, _ in col_list:
        t = int(kind[i])
        most = problem.types[t][0]
        z.append(mip.IntVar(0, most if most >= 0 else mip.infinity(), ""))
    left = [mip.IntVar(0, int(n), "") for n in problem.demand]
    rows: list[list[tuple[Any, int]]] = [[] for _ in range(nk)]
    by_type: dict[int, list[tuple[Any, float]]] = {}
    for c, (i, pattern) in enumerate(col_list):
        for j, n in enumerate(pattern):
            if n:
                rows[int(keys[i, j])].append((z[c], n))
        by_type.setdefault(int(kind[i]), []).append((z[c], float(minutes[i])))
    for k in range(nk):
        mip.Add(sum(n * v for v, n in rows[k]) + left[k] >= int(problem.demand[k]))
    _fleet_limits(mip, problem.types, by_type)
    mip.Minimize(float(problem.short) * sum(left) + sum(float(weight[i]) * z[c] for c, (i, _) in enumerate(col_list)))
    if hinted:
        mip.SetHint(z + left, [float(hinted.get(c, 0)) for c in range(len(z))]
                    + [float(max(0, int(problem.demand[k]) - sum(n * hinted.get(c, 0) for c, (i, p) in enumerate(col_list)
                                                                  for j, n in enumerate(p) if int(keys[i, j]) == k)))
                       for k in range(nk)])
    # building the model took time too: SCIP gets half of what is left of the limit, the
    # neighbourhoods after it the rest
    built = _time.monotonic()
    mip.SetTimeLimit(max(100, int((started + time_limit - built) * 500)))
    got = mip.Solve()
    if got not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return CoverChoice({}, {}, problem.demand, 0, "none")
    coaches: dict[tuple[int, int], int] = {}
    riders: dict[tuple[int, int], int] = {}
    for c, (i, pattern) in enumerate(col_list):
        n = int(round(z[c].solution_value()))
        if n <= 0:
            continue
        coaches[ro[i]] = coaches.get(ro[i], 0) + n
        r = ro[i][0]
        for j, m in enumerate(pattern):
            if m:
                rk = (r, int(keys[i, j]))
                riders[rk] = riders.get(rk, 0) + n * m
    # workers carried twice over: taken off where their route keeps its coaches' fewest riders
    on_route: dict[int, int] = {}
    per_coach: dict[int, int] = {}
    for (r, _), n in coaches.items():
        per_coach[r] = per_coach.get(r, 0) + n
    for (r, _), n in riders.items():
        on_route[r] = on_route.get(r, 0) + n
    for k in range(nk):
        extra = sum(n for (r, kk), n in riders.items() if kk == k) - int(problem.demand[k])
        for rk in sorted((rk for rk in riders if rk[1] == k), key=lambda rk: -riders[rk]):
            if extra <= 0:
                break
            r = rk[0]
            off = min(extra, riders[rk], on_route[r] - problem.min_riders * per_coach[r])
            if off > 0:
                riders[rk] -= off
                on_route[r] -= off
                extra -= off
        if extra > 0:
            return CoverChoice({}, {}, problem.demand, 0, "none")
    riders = {rk: n for rk, n in riders.items() if n}
    best = _choice(problem, coaches, riders,
                   "optimal" if status == "optimal" and got == pywraplp.Solver.OPTIMAL else "feasible")
    if _time.monotonic() + 0.2 > started + time_limit:
        return best
    # the patterns fix each coach's workers: a few neighbouring keys at a time, all their coaches
    # are chosen again by the compact model, the others kept
    return _parallel_neighbourhoods(problem, best, started + time_limit, seed)


def _related(problem: CoverProblem) -> list[list[int]]:
    """Per key, the other keys it shares a two-key route with, the smallest detour first (the
    route's lightest coach less the heavier of the two keys' own)."""
    alone: dict[int, float] = {}
    pair: dict[tuple[int, int], float] = {}
    for r, ks in enumerate(problem.routes):
        w = float(min(o[2] for o in problem.options[r]))
        if len(ks) == 1:
            alone[ks[0]] = min(alone.get(ks[0], np.inf), w)
        elif len(ks) == 2:
            a, b = sorted(ks)
            pair[(a, b)] = min(pair.get((a, b), np.inf), w)
    near: list[list[tuple[float, int]]] = [[] for _ in problem.demand]
    for (a, b), w in pair.items():
        detour = w - max(alone.get(a, 0.0), alone.get(b, 0.0))
        near[a].append((detour, b))
        near[b].append((detour, a))
    return [[k for _, k in sorted(x)] for x in near]


#: the keys whose coaches one neighbourhood chooses again (at random between the two)
NEIGHBOURHOOD = (4, 7)
#: the longest one neighbourhood's compact model may take (seconds)
NEIGHBOURHOOD_SECONDS = 1.0
#: the search stops after this many neighbourhoods in a row (or twice the keys, if more) found
#: nothing better; one it has tried since the last improvement counts without being solved again
NEIGHBOURHOOD_TRIES = 20


def _neighbourhoods(problem: CoverProblem, start: CoverChoice, until: float, seed: int = 0) -> CoverChoice:
    """A large-neighbourhood search from ``start`` until ``until`` (``time.monotonic()``): a key
    at random, the keys sharing its coaches and those nearest it (:func:`_related`); every coach on
    a route of only those keys is chosen again by the compact model (:func:`_compact`, SCIP, from
    the coaches it replaces), for their workers that no other coach carries and within what the
    other coaches leave of each type's limits. A better choice is kept. It stops at ``until`` or
    when :data:`NEIGHBOURHOOD_TRIES` in a row found nothing. Returns the best plan."""
    rng = random.Random(seed)
    near = _related(problem)
    route_keys = [frozenset(ks) for ks in problem.routes]
    current = start
    tried: set[frozenset[int]] = set()  # since the last improvement
    fails = 0
    while _time.monotonic() + 0.05 < until and fails < max(NEIGHBOURHOOD_TRIES, 2 * len(problem.demand)):
        k = rng.randrange(len(problem.demand))
        size = rng.randint(*NEIGHBOURHOOD)
        sharing = [j for (r, j), _ in current.riders.items() if k in route_keys[r] and j != k]
        chosen = {k}
        for j in dict.fromkeys(sharing + near[k]):
            if len(chosen) >= size:
                break
            if rng.random() < 0.8:
                chosen.add(j)
        fails += 1
        if frozenset(chosen) in tried:
            continue
        tried.add(frozenset(chosen))
        free = [r for r, ks in enumerate(route_keys) if ks <= chosen]
        inside = set(free)
        keys = sorted(chosen)
        at_key = {j: i for i, j in enumerate(keys)}
        need = [problem.demand[j] for j in keys]
        trips: dict[int, int] = {}
        minutes: dict[int, int] = {}
        for (r, o), n in current.coaches.items():
            if r not in inside:
                t, _, _, mm = problem.options[r][o]
                trips[t] = trips.get(t, 0) + n
                minutes[t] = minutes.get(t, 0) + n * mm
        for (r, j), n in current.riders.items():
            if r not in inside and j in at_key:
                need[at_key[j]] -= n
        types = tuple((max(0, c - trips.get(t, 0)) if c >= 0 else -1, max(0, m - minutes.get(t, 0)) if m >= 0 else -1)
                      for t, (c, m) in enumerate(problem.types))
        sub = CoverProblem(demand=tuple(need), routes=tuple(tuple(at_key[j] for j in problem.routes[r]) for r in free),
                           options=tuple(problem.options[r] for r in free), types=types,
                           min_riders=problem.min_riders, short=problem.short)
        at_route = {r: i for i, r in enumerate(free)}
        before = _choice(sub, {(at_route[r], o): n for (r, o), n in current.coaches.items() if r in inside},
                         {(at_route[r], at_key[j]): n for (r, j), n in current.riders.items() if r in inside},
                         "feasible")
        got = _compact(sub, range(len(free)), before, min(until, _time.monotonic() + NEIGHBOURHOOD_SECONDS))
        if got is None or got.objective >= before.objective:
            if len(chosen) == len(problem.demand):
                break  # the whole problem at once, and nothing better
            continue
        fails = 0
        tried.clear()
        coaches = {ro: n for ro, n in current.coaches.items() if ro[0] not in inside}
        riders = {rk: n for rk, n in current.riders.items() if rk[0] not in inside}
        coaches.update({(free[i], o): n for (i, o), n in got.coaches.items()})
        riders.update({(free[i], keys[j]): n for (i, j), n in got.riders.items()})
        current = _choice(problem, coaches, riders, "feasible")
    return current


#: seconds of one round of the neighbourhood search on two cores, after which both take the better plan
NEIGHBOURHOOD_ROUND = 0.75


def fork_context() -> Optional[Any]:
    """A ``fork`` multiprocessing context when a second core may search beside this process (two
    cores or more, fork available, and this process allowed children — not a daemonic Dask
    worker); else None."""
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or multiprocessing.current_process().daemon:
        return None
    return ctx


def _searched(conn: Any, problem: CoverProblem, start: CoverChoice, until: float, seed: int) -> None:
    try:
        conn.send(_neighbourhoods(problem, start, until, seed))
    finally:
        conn.close()


def _parallel_neighbourhoods(problem: CoverProblem, start: CoverChoice, until: float, seed: int = 0) -> CoverChoice:
    """:func:`_neighbourhoods` on two cores: in rounds of :data:`NEIGHBOURHOOD_ROUND` seconds,
    this process and a forked one search from the best plan so far with different seeds, and the
    lighter of their two plans starts the next round. It ends at ``until`` or when a round finds
    nothing lighter and both searches stopped early (every neighbourhood tried). On one core, or
    where a process may not fork, the search runs here alone."""
    ctx = fork_context()
    if ctx is None:
        return _neighbourhoods(problem, start, until, seed)
    best, turn = start, 0
    while _time.monotonic() + 0.2 < until:
        end = min(until, _time.monotonic() + NEIGHBOURHOOD_ROUND)
        if until - end < NEIGHBOURHOOD_ROUND / 2:
            end = until
        mine, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_searched, args=(theirs, problem, best, end, seed + 2 * turn + 1), daemon=True)
        proc.start()
        theirs.close()
        here = _neighbourhoods(problem, best, end, seed + 2 * turn)
        here_early = _time.monotonic() + 0.1 < end  # every neighbourhood tried before the round's end
        there: Optional[CoverChoice] = None
        try:
            if mine.poll(max(0.0, end - _time.monotonic()) + 1.0):
                there = mine.recv()
        except (EOFError, OSError):  # the child died: its round is lost, not the plan
            there = None
        proc.join(timeout=1.0)
        if proc.is_alive():
            proc.kill()
            proc.join()
        # the forked search's answer came before the round's end too: both ran out of neighbourhoods
        both_early = here_early and there is not None and _time.monotonic() + 0.1 < end
        got = min((c for c in (here, there) if c is not None), key=lambda c: c.objective)
        turn += 1
        if got.objective < best.objective:
            best = got
        elif both_early:
            break
    return best


def _choice(problem: CoverProblem, coaches: dict[tuple[int, int], int], riders: dict[tuple[int, int], int],
            status: str) -> CoverChoice:
    carried = [0] * len(problem.demand)
    for (_, k), n in riders.items():
        carried[k] += n
    left_out = tuple(int(n) - carried[k] for k, n in enumerate(problem.demand))
    total = problem.short * sum(left_out) + sum(problem.options[r][o][2] * n for (r, o), n in coaches.items())
    return CoverChoice(coaches, riders, left_out, int(total), status)


def _compact(problem: CoverProblem, routes: Sequence[int], start: CoverChoice, until: float) -> Optional[CoverChoice]:
    """The compact model (coaches per route and option, workers per route and key; SCIP) over
    ``routes``, from ``start``; None when it finds no plan in time."""
    from ortools.linear_solver import pywraplp

    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:
        return None
    mip.SetNumThreads(1)
    demand = problem.demand
    x: dict[tuple[int, int], Any] = {}
    y: dict[tuple[int, int], Any] = {}
    by_key: dict[int, list[Any]] = {}
    by_type: dict[int, list[tuple[Any, int]]] = {}
    for r in routes:
        keys = [k for k in problem.routes[r] if demand[k] > 0]
        load = sum(demand[k] for k in keys)
        buses, seats = [], []
        for o, (t, cap, _, mm) in enumerate(problem.options[r]):
            most = -(-load // max(1, cap))
            if problem.types[t][0] >= 0:
                most = min(most, problem.types[t][0])
            v = x[(r, o)] = mip.IntVar(0, most, "")
            buses.append(v)
            seats.append(cap * v)
            by_type.setdefault(t, []).append((v, mm))
        ys = []
        for k in keys:
            v = y[(r, k)] = mip.IntVar(0, demand[k], "")
            ys.append(v)
            by_key.setdefault(k, []).append(v)
            # a county's workers ride only coaches that stop there
            mip.Add(v <= min(demand[k], max(c for _, c, _, _ in problem.options[r])) * sum(buses))
        mip.Add(sum(ys) <= sum(seats))
        mip.Add(sum(ys) >= problem.min_riders * sum(buses))
    left = [mip.IntVar(0, n, "") for n in demand]
    for k, n in enumerate(demand):
        mip.Add(sum(by_key.get(k, [])) + left[k] == n)
    _fleet_limits(mip, problem.types, by_type)
    mip.Minimize(float(problem.short) * sum(left)
                 + sum(float(problem.options[r][o][2]) * v for (r, o), v in x.items()))
    hint_vars = list(x.values()) + list(y.values()) + left
    hint_vals = ([float(start.coaches.get(ro, 0)) for ro in x] + [float(start.riders.get(rk, 0)) for rk in y]
                 + [float(n) for n in start.left])
    mip.SetHint(hint_vars, hint_vals)
    mip.SetTimeLimit(max(100, int((until - _time.monotonic()) * 1000)))
    got = mip.Solve()
    if got not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return None
    coaches = {ro: int(round(v.solution_value())) for ro, v in x.items() if round(v.solution_value()) > 0}
    riders = {rk: int(round(v.solution_value())) for rk, v in y.items() if round(v.solution_value()) > 0}
    return _choice(problem, coaches, riders, "feasible")


def route_cover_bound(cost: np.ndarray, stops: np.ndarray, need: np.ndarray,
                      types: Sequence[tuple[int, float]], *, time_limit: float) -> float:
    """A lower bound on the coach-km of carrying ``need[p]`` riders from each place ``p``, each coach
    on one route: route ``r`` stops at the places ``stops[r]`` (padded with ``len(need)``) and
    costs ``cost[r]`` km whatever it carries; ``types``: ``(seats, most coach-trips)`` of each coach
    type (``inf``: no limit).

    Column generation over the LP of coach *patterns* (a route, a type and how many riders it
    takes from each of its places, the type's seats at most), GLOP on the restricted master.
    Pricing is exact and vectorised over every route: a coach takes first the riders of highest
    dual price. The bound holds at every iteration whatever the LP's precision: from the master's
    cover duals ``π ≥ 0`` — scaled down by ``θ``, the largest ratio of a pattern's dual value to
    its cost over the unlimited types' patterns, when above 1 — the least fleet duals that make
    every pattern's reduced cost non-negative (``λ_t = max(0, max π·a − c)`` over type ``t``'s
    patterns) give a feasible point of the full LP's dual, so ``π · need − Σ λ_t · limit_t`` is a
    bound (Farley's, with fleet limits); at the LP's optimum it is the LP's value. Its rounded
    capacity cuts count whole coach-trips — the fewest of the fleet seating the riders, the
    largest seats first and each type at most its trips — for each place, for the places of each
    tour and beyond, and for the pairs of places the LP breaks (round by round, after the column
    generation settles: :func:`_pair_cuts`); their duals join a route's price. ``time_limit``:
    seconds, after which the best bound so far is returned. Rows of ``stops`` with one place
    each seed the master."""
    from ortools.linear_solver import pywraplp

    started = _time.monotonic()
    n, (m, k_max) = len(need), stops.shape
    types = [(int(seats), float(limit)) for seats, limit in types if seats > 0 and limit > 0]
    if n == 0 or m == 0 or not types:
        return 0.0
    if float(cost.min()) <= 1e-9:
        return 0.0  # a route of no km: the bound would be nothing
    if all(np.isfinite(limit) for _, limit in types) and sum(s * lim for s, lim in types) < need.sum():
        return 0.0  # the fleet cannot carry them all: no plan of every rider to bound
    need_p = np.append(need.astype(np.int64), 0)

    def price(pi: np.ndarray, seats: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each route's best pattern: its places by price, the riders taken from each, the value."""
        val = np.append(pi, 0.0)[stops]
        order = np.argsort(-val, axis=1, kind="stable")
        ids = np.take_along_axis(stops, order, axis=1)
        v_sorted = np.take_along_axis(val, order, axis=1)
        room = np.full(m, seats, dtype=np.int64)
        loads = np.zeros((m, k_max), dtype=np.int64)
        value = np.zeros(m)
        for k in range(k_max):
            take = np.minimum(need_p[ids[:, k]], room)  # riders of no price ride free
            loads[:, k] = take
            room -= take
            value += take * v_sorted[:, k]
        return ids, loads, value

    # whole coaches: a place of q riders is visited by ⌈q / C⌉ coaches at least, and the places
    # whose own tour (depot → place → site → depot) is at least each tour t, by ⌈their riders / C⌉
    # (rounded capacity cuts; C the largest coach); a route counts for a cut by the places it
    # stops at, and its dearest place's tour
    def fewest(riders: int) -> int:
        """The fewest coach-trips seating ``riders``: the largest seats first, each type at most its
        trips (any k trips of a plan seat at most that many)."""
        out, left = 0, int(riders)
        for seats, limit in sorted(types, reverse=True):
            if left <= 0:
                break
            take = -(-left // seats) if not np.isfinite(limit) else min(int(limit), -(-left // seats))
            out += take
            left -= take * seats
        return out

    single = {int(stops[r, 0]): r for r in range(m) if int((stops[r] < n).sum()) == 1}
    if len(single) < n:
        return 0.0  # every place needs its route of its own
    tour = np.array([cost[single[p]] for p in range(n)] + [0.0])
    levels = np.unique(tour[:n])
    level_of = np.searchsorted(levels, tour[stops].max(axis=1))  # each route's dearest place's level
    visits = np.array([fewest(int(q)) for q in need], dtype=np.int64)
    # the places of tour ≥ t: their riders' fewest coaches, and their visits, k_max a coach at most
    beyond = np.array([max(fewest(int(need[tour[:n] >= lv].sum())), int(-(-visits[tour[:n] >= lv].sum() // k_max)))
                       for lv in levels])

    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:
        return 0.0
    cover = [lp.Constraint(float(need[p]), lp.infinity()) for p in range(n)]
    visit = [lp.Constraint(float(visits[p]), lp.infinity()) for p in range(n)]
    layer = [lp.Constraint(float(beyond[i]), lp.infinity()) for i in range(len(levels))]
    fleet = [lp.Constraint(0.0, limit if np.isfinite(limit) else lp.infinity()) for _, limit in types]
    objective = lp.Objective()
    objective.SetMinimization()
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    # pairs of places whose riders need more coaches than their own visits say (the pairs the LP
    # breaks, found round by round): the coaches stopping at either are at least the fewest
    # seating both; per pair its places, its row and its right-hand side
    pairs: list[tuple[int, int, Any, int]] = []
    columns: list[tuple[Any, int]] = []  # every pattern's variable and its route
    touches = np.zeros((m, n + 1), dtype=bool)
    touches[np.arange(m)[:, None], stops] = True

    def add(r: int, t: int, ids: np.ndarray, loads: np.ndarray) -> bool:
        key = (r, t, tuple(int(a) for _, a in sorted(zip(ids.tolist(), loads.tolist()))))
        if key in seen or not loads.any():
            return False
        seen.add(key)
        z = lp.NumVar(0.0, lp.infinity(), "")
        objective.SetCoefficient(z, float(cost[r]))
        fleet[t].SetCoefficient(z, 1.0)
        for p, a in zip(ids, loads):
            if p < n:
                visit[int(p)].SetCoefficient(z, 1.0)
                if a > 0:
                    cover[int(p)].SetCoefficient(z, float(a))
        for i in range(int(level_of[r]) + 1):
            layer[i].SetCoefficient(z, 1.0)
        for a, b, row, _ in pairs:
            if touches[r, a] or touches[r, b]:
                row.SetCoefficient(z, 1.0)
        columns.append((z, r))
        return True

    for r in range(m):  # a coach of each type at each place on its own
        places = [int(p) for p in stops[r] if p < n]
        if len(places) == 1:
            for t, (seats, _) in enumerate(types):
                add(r, t, np.array(places), np.array([min(int(need[places[0]]), seats)]))
    # riders no coach can take (the fleet's limits): a dear slack keeps the master feasible
    big = float(cost.max()) * 10.0
    for p in range(n):
        slack = lp.NumVar(0.0, lp.infinity(), "")
        cover[p].SetCoefficient(slack, 1.0)
        objective.SetCoefficient(slack, big)
    best = 0.0
    rounds = 0
    while True:
        if lp.Solve() != pywraplp.Solver.OPTIMAL:
            break
        pi = np.maximum(0.0, np.array([c.dual_value() for c in cover]))
        sv = np.maximum(0.0, np.array([c.dual_value() for c in visit] + [0.0]))
        lay = np.maximum(0.0, np.array([c.dual_value() for c in layer]))
        sp = np.array([max(0.0, row.dual_value()) for _, _, row, _ in pairs])
        sl = np.cumsum(lay)  # a route crossing layers 0 … i earns their sum
        mu = [min(0.0, c.dual_value()) for c in fleet]
        extra = sv[stops].sum(axis=1) + sl[level_of]  # what a coach on each route earns from the cuts
        for (a, b, _, _), price_ab in zip(pairs, sp):
            if price_ab > 0:
                extra = extra + price_ab * (touches[:, a] | touches[:, b])
        priced = [(ids, loads, value + extra) for ids, loads, value in (price(pi, seats) for seats, _ in types)]
        theta = max([float((v / cost).max()) for (_, lim), (_, _, v) in zip(types, priced) if not np.isfinite(lim)],
                    default=0.0)
        scale = max(1.0, theta)
        bound = float(pi @ need + sv[:n] @ visits + lay @ beyond
                      + sum(price_ab * rhs for (_, _, _, rhs), price_ab in zip(pairs, sp))) / scale
        for (_, limit), (_, _, value) in zip(types, priced):
            if np.isfinite(limit):
                bound -= limit * max(0.0, float((value / scale - cost).max()))
        best = max(best, bound)
        if _time.monotonic() - started > time_limit:
            break
        added = 0
        for t, (ids, loads, value) in enumerate(priced):
            reduced = cost - value - mu[t]
            for r in np.argsort(reduced)[:200]:
                if reduced[r] < -1e-6 * cost[r]:
                    added += add(int(r), t, ids[r], loads[r])
        if not added:
            if rounds >= PAIR_ROUNDS:
                break
            rounds += 1
            if not _pair_cuts(lp, columns, touches, need, fewest, pairs):
                break
    return best


#: rounds of pair cuts in :func:`route_cover_bound`, each after the column generation settles
PAIR_ROUNDS = 10


def _pair_cuts(lp: Any, columns: list[tuple[Any, int]], touches: np.ndarray, need: np.ndarray,
               fewest: Any, pairs: list[tuple[int, int, Any, int]]) -> int:
    """Add to ``lp`` the pair cuts its solution breaks most (at most as many as places): the coaches
    stopping at a or b are at least ``fewest(need[a] + need[b])``. Returns how many were added."""
    n = len(need)
    if not columns:
        return 0
    z = np.array([v.solution_value() for v, _ in columns])
    on = touches[[r for _, r in columns], :n].astype(np.float64)
    at = z @ on
    both = (on * z[:, None]).T @ on
    have = {(a, b) for a, b, _, _ in pairs}
    found = []
    for a in range(n):
        for b in range(a + 1, n):
            if (a, b) in have:
                continue
            rhs = fewest(int(need[a] + need[b]))
            lack = rhs - (at[a] + at[b] - both[a, b])
            if lack > 1e-4:
                found.append((lack, a, b, rhs))
    found.sort(reverse=True)
    for _, a, b, rhs in found[:n]:
        row = lp.Constraint(float(rhs), lp.infinity())
        for v, r in columns:
            if touches[r, a] or touches[r, b]:
                row.SetCoefficient(v, 1.0)
        pairs.append((a, b, row, rhs))
    return min(len(found), n)
