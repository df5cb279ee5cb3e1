"""A generic capacitated VRP with time windows on OR-Tools routing.

This is fangang's only door into OR-Tools' routing library: the rest of the planner hands it a
:class:`RoutingProblem` of integer NumPy arrays and gets a :class:`RoutingResult` of node
sequences back. Every arc cost, distance and travel time goes in as a registered matrix and every
demand as a registered vector, so the search never calls back into Python.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

_FIRST = routing_enums_pb2.FirstSolutionStrategy
_META = routing_enums_pb2.LocalSearchMetaheuristic
_STATUS = routing_enums_pb2.RoutingSearchStatus

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

    Attributes
    ----------
    first_solution
        Name of an OR-Tools ``FirstSolutionStrategy`` (e.g. ``"PATH_CHEAPEST_ARC"``).
    gls_lambda
        Guided local search's lambda coefficient (penalty weight relative to the mean arc cost).
    """

    first_solution: str = "PATH_CHEAPEST_ARC"
    gls_lambda: float = 0.1


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
        # OR-Tools maps node i > 0 to index i - 1 + ... in general; ask once, vectorised use after.
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

    def parameters(self, time_limit: float, params: RoutingParams,
                   log_search: bool) -> pywrapcp.DefaultRoutingSearchParameters:
        search = pywrapcp.DefaultRoutingSearchParameters()
        search.first_solution_strategy = _FIRST.Value.Value(params.first_solution)
        search.local_search_metaheuristic = _META.GUIDED_LOCAL_SEARCH
        search.guided_local_search_lambda_coefficient = params.gls_lambda
        search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
        search.log_search = log_search
        return search

    def initial(self, routes: Sequence[Sequence[int]]) -> Optional[pywrapcp.Assignment]:
        if len(routes) > self.problem.num_vehicles:
            raise ValueError("more initial routes than vehicles")
        as_indices = [[int(self.index_of[node]) for node in route] for route in routes]
        return self.routing.ReadAssignmentFromRoutes(as_indices, True)

    def result(self, solution: Optional[pywrapcp.Assignment]) -> RoutingResult:
        routing, n = self.routing, self.problem.num_nodes
        status = _STATUS_NAMES.get(routing.status(), "failed")
        if solution is None:
            if status in ("optimal", "feasible"):
                status = "failed"
            return RoutingResult((), (), tuple(range(1, n)), 0, status)
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
    """Solve ``problem`` with OR-Tools routing and guided local search.

    Parameters
    ----------
    problem
        The :class:`RoutingProblem`.
    time_limit
        Seconds for the search, model building excluded.
    seed
        Accepted for symmetry with the planner's other solvers: OR-Tools routing has no random
        choices, so the trajectory of the search depends only on the inputs. Where it stops
        depends on the wall clock.
    initial_routes
        Customer node sequences, one per vehicle in vehicle order (fewer lists than vehicles leave
        the rest unused). Used as the starting solution if feasible; otherwise ignored and the
        first-solution heuristic runs.
    log_search
        Let OR-Tools log its search to stderr.
    params
        :class:`RoutingParams`.

    Returns
    -------
    RoutingResult
        Routes of the used vehicles, dropped customers, objective and status.
    """
    del seed  # see the docstring: nothing random to seed.
    started = _time.monotonic()
    model = _Model(problem)
    remaining = max(0.01, time_limit - (_time.monotonic() - started) * 0.0)
    search = model.parameters(remaining, params, log_search)
    start = model.initial(initial_routes) if initial_routes else None
    if start is not None:
        solution = model.routing.SolveFromAssignmentWithParameters(start, search)
    else:
        solution = model.routing.SolveWithParameters(search)
    return model.result(solution)
