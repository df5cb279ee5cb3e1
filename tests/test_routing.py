"""Tests of planner._routing on instances small enough to check by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner._routing import RoutingParams, RoutingProblem, RoutingResult, solve_routing

LIMIT = 1.0
C101 = Path("/work/shared/benchmarks/solomon/C101.txt")


def line(xs: list[int]) -> np.ndarray:
    """Distances between points on a line; ``xs[0]`` is the depot."""
    x = np.array(xs, dtype=np.int64)
    return np.abs(x[:, None] - x[None, :])


def served(result: RoutingResult) -> list[int]:
    return sorted(c for route in result.routes for c in route)


def start_times(route, time: np.ndarray, windows: np.ndarray) -> list[int]:
    """Service start at each stop of ``route``, waiting allowed."""
    t, prev, starts = int(windows[0, 0]), 0, []
    for c in route:
        t = max(t + int(time[prev, c]), int(windows[c, 0]))
        starts.append(t)
        prev = c
    return starts


def test_capacity_respected():
    """No route carries more than its vehicle's capacity, and every customer is served."""
    dist = line([0, 1, 2, 3, 4, 5, 6])
    demand = np.array([0, 3, 3, 3, 3, 3, 3], dtype=np.int64)
    result = solve_routing(RoutingProblem(dist, demand, (6, 6, 6, 6)), time_limit=LIMIT)
    assert result.solved
    assert served(result) == [1, 2, 3, 4, 5, 6]
    for route in result.routes:
        assert demand[list(route)].sum() <= 6
    # Three trips out to 2, 4 and 6 are the cheapest: 2*(2+4+6).
    assert result.objective == 24


def test_time_windows_respected():
    """Windows force the far customer first although the near one is on the way."""
    dist = line([0, 1, 2])
    windows = np.array([[0, 100], [10, 20], [0, 3]], dtype=np.int64)
    problem = RoutingProblem(dist, np.zeros(3, dtype=np.int64), (10,), time=dist,
                             windows=windows)
    result = solve_routing(problem, time_limit=LIMIT)
    assert result.routes == ((2, 1),)
    starts = start_times(result.routes[0], dist, windows)
    assert all(windows[c, 0] <= s <= windows[c, 1] for c, s in zip(result.routes[0], starts))


def test_service_time_and_depot_horizon():
    """Service time in the time matrix plus the depot horizon split two customers."""
    dist = line([0, 5, 5])
    time = dist + np.array([[0], [10], [10]])  # 10 of service at each customer
    windows = np.array([[0, 25], [0, 100], [0, 100]], dtype=np.int64)
    problem = RoutingProblem(dist, np.zeros(3, dtype=np.int64), (10, 10), time=time,
                             windows=windows)
    result = solve_routing(problem, time_limit=LIMIT)
    # One coach would need 5 + 10 + 0 + 10 + 5 = 30 > 25: two coaches are needed.
    assert sorted(result.routes) == [(1,), (2,)]


def test_max_stops_respected():
    """No route makes more than max_stops customer visits."""
    dist = line([0, 1, 2, 3, 4, 5, 6])
    demand = np.array([0, 1, 1, 1, 1, 1, 1], dtype=np.int64)
    problem = RoutingProblem(dist, demand, (100,) * 4, max_stops=2)
    result = solve_routing(problem, time_limit=LIMIT)
    assert served(result) == [1, 2, 3, 4, 5, 6]
    assert all(len(route) <= 2 for route in result.routes)


def test_optional_customers_dropped_when_infeasible():
    """A customer out of reach in time and one too big for any vehicle are dropped."""
    dist = line([0, 1, 2, 50, 3])
    demand = np.array([0, 1, 1, 1, 99], dtype=np.int64)
    windows = np.array([[0, 200], [0, 100], [0, 100], [0, 10], [0, 100]], dtype=np.int64)
    problem = RoutingProblem(dist, demand, (10, 10), time=dist, windows=windows,
                             optional_penalty=1000)
    result = solve_routing(problem, time_limit=LIMIT)
    assert result.solved
    assert result.dropped == (3, 4)
    assert served(result) == [1, 2]
    assert result.objective == 4 + 2 * 1000


def test_empty_window_is_dropped():
    """A customer whose window closes before it opens is dropped, not an error, if optional."""
    dist = line([0, 1, 2])
    windows = np.array([[0, 100], [0, 100], [50, 40]], dtype=np.int64)
    problem = RoutingProblem(dist, np.zeros(3, dtype=np.int64), (10,), time=dist,
                             windows=windows, optional_penalty=100)
    result = solve_routing(problem, time_limit=LIMIT)
    assert result.routes == ((1,),) and result.dropped == (2,)


def test_fixed_cost_picks_cheaper_vehicle():
    """Of two equal vehicles, the one with the lower fixed cost is used."""
    dist = line([0, 1, 2])
    problem = RoutingProblem(dist, np.array([0, 1, 1]), (10, 10),
                             vehicle_fixed_cost=(100, 10))
    result = solve_routing(problem, time_limit=LIMIT)
    assert result.vehicles == (1,)
    assert result.objective == 4 + 10


def test_cost_factor_picks_cheaper_vehicle():
    """Of two equal vehicles, the one with the lower cost per km is used."""
    dist = line([0, 1, 2])
    problem = RoutingProblem(dist, np.array([0, 1, 1]), (10, 10, 10),
                             vehicle_cost_factor=(3, 1, 3))
    result = solve_routing(problem, time_limit=LIMIT)
    assert result.vehicles == (1,)
    assert result.objective == 4


def test_capacity_overrides_cost():
    """The cheap vehicle is too small, so the expensive big one carries the load."""
    dist = line([0, 1, 2])
    problem = RoutingProblem(dist, np.array([0, 4, 4]), (5, 20), vehicle_fixed_cost=(0, 10))
    result = solve_routing(problem, time_limit=LIMIT)
    # Vehicle 0 fits one customer only: 4 + (10 + 2) = 16 with both vehicles, 10 + 4 = 14 with
    # vehicle 1 alone, 4 with vehicle 0 alone if capacity were ignored.
    assert result.vehicles == (1,)
    assert result.objective == 14


def test_initial_routes_are_used():
    """A feasible starting solution is accepted and the result is no worse."""
    dist = line([0, 1, 2, 3, 4])
    demand = np.array([0, 1, 1, 1, 1], dtype=np.int64)
    problem = RoutingProblem(dist, demand, (2, 2, 2))
    result = solve_routing(problem, time_limit=LIMIT, initial_routes=[[1, 4], [3, 2]])
    assert served(result) == [1, 2, 3, 4]
    assert result.objective <= 2 * 4 + 2 * 3
    assert result.objective == 2 * 4 + 2 * 2


def test_guided_search_alone():
    """With no iterated phase, guided local search alone still solves to the optimum."""
    dist = line([0, 1, 2, 3, 4, 5, 6])
    demand = np.array([0, 3, 3, 3, 3, 3, 3], dtype=np.int64)
    result = solve_routing(RoutingProblem(dist, demand, (6, 6, 6, 6)), time_limit=0.5,
                           params=RoutingParams(ils_share=0.0))
    assert served(result) == [1, 2, 3, 4, 5, 6] and result.objective == 24


def test_objective_matches_routes():
    """The objective reported is the routes' cost: arcs times factor, fixed costs, penalties."""
    rng = np.random.default_rng(3)
    xy = rng.integers(0, 100, (12, 2))
    dist = np.rint(np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1))).astype(np.int64)
    demand = np.r_[0, rng.integers(1, 6, 11)].astype(np.int64)
    demand[5] = 50  # fits no vehicle: dropped at the penalty
    problem = RoutingProblem(dist, demand, (10, 15, 20), vehicle_fixed_cost=(30, 40, 50),
                             vehicle_cost_factor=(2, 3, 4), optional_penalty=10_000)
    result = solve_routing(problem, time_limit=LIMIT)
    cost = 0
    for route, k in zip(result.routes, result.vehicles):
        path = [0, *route, 0]
        cost += sum(dist[a, b] for a, b in zip(path, path[1:])) * (2, 3, 4)[k]
        cost += (30, 40, 50)[k]
        assert demand[list(route)].sum() <= (10, 15, 20)[k]
    assert result.dropped == (5,)
    assert result.objective == cost + 10_000


def test_bad_input_rejected():
    """Malformed problems raise ValueError before any search."""
    dist = line([0, 1])
    with pytest.raises(ValueError):
        solve_routing(RoutingProblem(dist, np.array([1, 1]), (5,)), time_limit=LIMIT)
    with pytest.raises(ValueError):
        solve_routing(RoutingProblem(dist, np.array([0, 1]), (5,),
                                     windows=np.array([[0, 9], [0, 9]])), time_limit=LIMIT)
    with pytest.raises(ValueError):
        solve_routing(RoutingProblem(dist, np.array([0, 1]), (5, 5),
                                     vehicle_fixed_cost=(1,)), time_limit=LIMIT)


@pytest.mark.skipif(not C101.exists(), reason="Solomon files not available")
def test_solomon_c101_first_ten_feasible():
    """The depot and first 10 customers of C101 are solved feasibly in double precision."""
    from benchmarks.solomon import Instance, evaluate, read_instance, to_problem

    full = read_instance(C101)
    keep = slice(0, 11)
    inst = Instance("C101-10", full.vehicles, full.capacity, full.xy[keep], full.demand[keep],
                    full.windows[keep], full.service[keep])
    result = solve_routing(to_problem(inst, 1000), time_limit=2.0)
    distance, problems = evaluate(inst, result.routes)
    assert result.solved and problems == []
    # The 10 customers sit in one cluster 15-20 from the depot (capacity 200, demand 150): one
    # coach out, about 25 around the cluster, back; the solver finds 58.3.
    assert len(result.routes) == 1
    assert 50 < distance < 65
