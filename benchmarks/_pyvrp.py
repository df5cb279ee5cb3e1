"""PyVRP on the park's coach problem, as far as a capacitated VRP can express it.

What PyVRP gets
---------------
- The same eligible workers as fangang (``planner.eligibility``: screening, region closures and,
  when time rules are on, unreachable deadlines), grouped by (home county, cohort, site).
- Each group split into chunks of at most the largest coach's capacity (PyVRP cannot split a
  client's demand over routes); a chunk is a client whose ``pickup`` is its headcount. Chunks of
  one (county, site) share a PyVRP location.
- One depot, the park coach yard; one vehicle type per coach size with its capacity (seats ×
  occupancy cap), fixed cost per trip and cost per km (integer units: 100 m and 0.01 yuan; the
  load penalty's ceiling raised to 1e8 so that PyVRP's search reaches capacity-feasible routes).
- The road km matrix fangang uses (``compile_scenario(...).km``), in metres, with one relaxation:
  the arc client → depot costs d(client, its site) + d(site, depot), so a route pays the run to
  its last client's site, but not for visiting other sites of its other clients.

What PyVRP does not get (relaxed)
---------------------------------
- driving rules (breaks, daily limits, night rest), crew, time windows of every kind (earliest
  departure, arrival deadline, receiving hours, ride time, screening expiry), site intake per day;
- the limit on pickup stops per trip;
- the fleet's coach counts and several trips per coach (each route is one trip; routes are
  unlimited);
- cohorts are kept apart by solving the ``medium`` and the ``low`` clients as two separate
  problems, the time budget shared by their number of clients.

PyVRP's best solution is then measured with OUR km: each route runs depot → its clients in
PyVRP's order → each distinct site of its clients, nearest first → depot, on the same km matrix.
Its cost is fixed + per-km cost + crew cost by the same rule as fangang (a second driver when
the outbound run or the loaded run exceeds ``policy.two_driver_km``). The lower bound is
fangang's (``planner.report.lower_bound_km``) over the same eligible workers.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from planner.contract import Scenario
from planner.eligibility import eligibility
from planner.problem import ProblemData, compile_scenario
from planner.report import lower_bound_km

#: One-line statement of the relaxation, for table captions.
RELAXED = ("PyVRP (relaxed CVRP): no driving/time rules, intake, stop limit, coach counts or reuse; "
           "cohorts solved apart; arc client→depot = d(client, site) + d(site, depot); "
           "its routes measured with fangang's km (all sites of a route visited, nearest first)")

COST_SCALE = 100  # PyVRP cost units per yuan
UNITS_PER_KM = 10  # PyVRP distance units per km


@dataclass
class PyVRPResult:
    """PyVRP's best solution measured like a fangang plan."""

    seconds: float
    trips: int
    km: float
    cost: float
    lower_bound_km: float
    workers_planned: int
    unassigned: Counter = field(default_factory=Counter)
    clients: int = 0
    max_pickup_stops: int = 0
    feasible: bool = True

    @property
    def km_over_bound(self) -> float | None:
        return self.km / self.lower_bound_km if self.lower_bound_km > 0 else None


def _route_km(data: ProblemData, depot: int, pickups: list[int], sites: set[int]) -> tuple[float, float, float]:
    """Km of depot → pickups → sites (nearest first) → depot, its outbound run and its loaded run.

    The outbound run is depot → last pickup; the loaded run is first pickup → last drop (RULES.md).
    """
    km = data.km
    outbound = km[depot, pickups[0]]
    between = sum(km[a, b] for a, b in zip(pickups, pickups[1:]))
    here, to_sites = pickups[-1], 0.0
    left = set(sites)
    while left:
        s = min(left, key=lambda x: (km[here, x], x))
        to_sites += km[here, s]
        here = s
        left.remove(s)
    return outbound + between + to_sites + km[here, depot], outbound + between, between + to_sites


def solve_pyvrp(scenario: Scenario, *, time_limit: float, seed: int = 0) -> PyVRPResult:
    """Solve the relaxed coach problem with PyVRP in ``time_limit`` seconds and measure it.

    Parameters
    ----------
    scenario
        The contract-v1 scenario.
    time_limit
        PyVRP's search time (``MaxRuntime``) over all cohorts together.
    seed
        PyVRP's seed.
    """
    import pyvrp  # noqa: PLC0415
    from pyvrp import PenaltyParams, SolveParams  # noqa: PLC0415
    from pyvrp.stop import MaxRuntime  # noqa: PLC0415

    started = time.monotonic()
    data = compile_scenario(scenario)
    eligible, unassigned = eligibility(data)
    reasons: Counter = Counter()
    for _, n, reason in unassigned:
        reasons[reason] += n
    vtypes = [v for v, vt in enumerate(data.vehicles) if vt.count > 0 and vt.capacity > 0]
    depots = {data.vehicles[v].depot for v in vtypes}
    if not vtypes or not eligible:
        for e in eligible:
            reasons["no_vehicle"] += e.count
        return PyVRPResult(time.monotonic() - started, 0, 0.0, 0.0, 0.0, 0, reasons)
    if len(depots) > 1:
        raise ValueError("the PyVRP comparison handles one depot only")
    depot = depots.pop()
    cap = max(data.vehicles[v].capacity for v in vtypes)

    demand: dict[tuple[int, int, int], int] = defaultdict(int)  # (cohort, place, site) → workers
    planned: dict[int, int] = defaultdict(int)
    for e in eligible:
        o = data.orders[e.order]
        demand[(e.cohort, o.place, o.site)] += e.count
        planned[e.order] += e.count

    problems = []
    for cohort in sorted({c for c, _, _ in demand}):
        keys = sorted(k for k in demand if k[0] == cohort)
        chunks: list[tuple[int, int]] = []  # (location index, workers)
        for li, key in enumerate(keys, start=1):
            n = demand[key]
            while n > 0:
                chunks.append((li, min(cap, n)))
                n -= min(cap, n)
        problems.append((keys, chunks))
    total_clients = sum(len(ch) for _, ch in problems)

    trips = 0
    km_total = cost_total = 0.0
    max_stops = 0
    feasible = True
    for keys, chunks in problems:
        site_of = [None] + [data.site_place[s] for _, _, s in keys]
        place_of = [depot] + [p for _, p, _ in keys]
        idx = np.array(place_of)
        dist = data.km[np.ix_(idx, idx)].copy()
        back = np.array([0.0] + [data.km[p, s] + data.km[s, depot]
                                 for p, s in zip(place_of[1:], site_of[1:])])
        dist[:, 0] = back
        dist[0, 0] = 0.0
        dist_u = np.rint(dist * UNITS_PER_KM).astype(np.int64)
        np.fill_diagonal(dist_u, 0)
        locations = [pyvrp.Location(x=float(data.places[p].lon), y=float(data.places[p].lat)) for p in place_of]
        clients = [pyvrp.Client(location=li, pickup=[n]) for li, n in chunks]
        vehicle_types = [
            pyvrp.VehicleType(num_available=len(chunks), capacity=[data.vehicles[v].capacity],
                              fixed_cost=int(round(data.vehicles[v].fixed_cost * COST_SCALE)),
                              unit_distance_cost=int(round(data.vehicles[v].cost_per_km * COST_SCALE / UNITS_PER_KM)),
                              name=data.vehicles[v].id)
            for v in vtypes]
        problem = pyvrp.ProblemData(locations, clients, [pyvrp.Depot(0)], vehicle_types,
                                    [dist_u], [np.zeros_like(dist_u)])
        share = max(0.5, time_limit * len(chunks) / total_clients)
        params = SolveParams(penalty=PenaltyParams(max_penalty=1e8))
        result = pyvrp.solve(problem, MaxRuntime(share), seed=seed, display=False, params=params)
        feasible &= result.is_feasible()
        for route in result.best.routes():
            vt = data.vehicles[vtypes[route.vehicle_type()]]
            visits = [a.idx for a in route if a.is_client()]
            pickups: list[int] = []
            sites: set[int] = set()
            for c in visits:
                li = chunks[c][0]
                if not pickups or pickups[-1] != place_of[li]:
                    pickups.append(place_of[li])
                sites.add(site_of[li])
            km, outbound, loaded = _route_km(data, depot, pickups, sites)
            crew = 2 if max(outbound, loaded) > data.two_driver_km else 1
            trips += 1
            km_total += float(km)
            cost_total += vt.fixed_cost + vt.cost_per_km * km + vt.crew_cost * (crew - 1)
            max_stops = max(max_stops, len(pickups))
    bound = lower_bound_km(data, planned)
    return PyVRPResult(
        seconds=time.monotonic() - started, trips=trips, km=km_total, cost=float(cost_total),
        lower_bound_km=float(bound), workers_planned=sum(planned.values()), unassigned=reasons,
        clients=total_clients, max_pickup_stops=max_stops, feasible=feasible)
