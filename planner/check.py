"""Check any plan against the rules of docs/RULES.md and report every violation found.

This is the validate step of the pipeline, written independently of the optimiser: it and its
rule families (``planner._check``) import only the contract models and place resolution, never
``planner.network.roads``, ``planner.problem``, ``planner.optimize`` or the optimiser's private
modules, so a shared bug cannot hide itself. Legs are measured with the plan's own road source
(``solver.roads``: geodesic × ``road_factor``, a road table or an OSRM server), read here on its
own, after checking that each stop is where it claims to be.

Every time comparison allows one minute of tolerance (plans are written to the minute); km allow
0.5 % + 0.5 km and costs 0.5 % + 1, as RULES.md says.

Rule codes (``Violation.rule``) by family, one module each in ``planner/_check/``:

- ``places``: ``wrong_origin``, ``wrong_site``, ``depot``, ``unknown_order``
- ``workers``: ``worker_count``, ``cleared``, ``unassigned_reason``, ``alight_mismatch``,
  ``screening_expired``
- ``regions``: ``region_closed``, ``cohort_mixed``, ``cohort``
- ``trips``: ``vehicle_type``, ``bus_index``, ``duplicate_trip``, ``stop_order``, ``empty_stop``,
  ``pickup_stops``, ``seats``, ``min_riders``, ``availability``, ``coach_overlap``,
  ``turnaround``, ``boarding_time``, ``alight_time``, ``crew``, ``km``, ``cost``, ``before_now``
- ``windows``: ``earliest_departure``, ``late_arrival``, ``receiving_hours``, ``site_intake``,
  ``ride_time``
- ``driving``: ``leg_time``, ``night_rest``, ``continuous_driving``, ``night_driving``,
  ``daily_driving``
- ``crews`` (across trips): ``drivers``, ``driver_overlap``, and ``daily_driving``,
  ``continuous_driving``, ``night_driving`` for a driver across trips
- ``trains``: ``train_load``, ``train_seats``, ``train_car_cohort``, ``train_min_riders``,
  ``train_chain``, ``connection`` (and ``ride_time`` door to door, ``cohort`` of a car's feeders);
  ``places`` adds ``wrong_station``, ``trips`` adds ``purpose``
- ``summary``: ``summary``, ``lower_bound``
- ``journey``: ``boarding_hours`` (workers board at home within ``policy.boarding_hours``) and
  ``journey`` (a trip's or the summary's hours on board, loaded wait or night boardings are not
  what the stops give); :func:`journey` returns the figures themselves
- ``detour``: ``detour`` (a worker rides longer than the policy allows over the fastest direct
  coach ride from their boarding place to their site: ``max_detour_hours``, ``max_detour_share``)
- ``matching`` (match and move: scenario ``posts`` and ``workers``): ``match_unknown``,
  ``match_twice``, ``match_openings``, ``match_site``, ``match_unacceptable``, ``match_signed``,
  ``match_dorm``, ``match_group``, ``match_screening``, ``match_accounting``, ``match_reason``,
  ``blocking_pairs``, ``match_summary``, ``match_order``; each ``Match.order`` becomes a derived
  order (:func:`planner._check.matching.derived_orders`) that every other family checks like a
  scenario order; :func:`blocking_pairs` lists the match's blocking pairs
"""

from __future__ import annotations

from typing import Optional

from ._check.common import Facts, Violation
from ._check.crews import check_crews
from ._check.detour import check_detour
from ._check.driving import check_driving
from ._check.journey import Journey, check_journey, journey_of
from ._check.matching import blocking_pairs_of, check_match, derived_orders
from ._check.places import check_places
from ._check.regions import check_regions
from ._check.roads import Roads, RoadsError
from ._check.summary import check_summary
from ._check.trains import check_trains
from ._check.trips import check_coaches, check_now, check_trips
from ._check.windows import check_windows
from ._check.workers import check_accounting, check_loads, check_screening
from .contract import Plan, Scenario

__all__ = ["Violation", "check", "journey", "Journey", "RULE_CODES", "RoadsError", "blocking_pairs"]

#: Every rule code :func:`check` may report.
RULE_CODES = (
    "wrong_origin", "wrong_site", "depot", "unknown_order",
    "worker_count", "cleared", "unassigned_reason", "alight_mismatch", "screening_expired",
    "region_closed", "cohort_mixed", "cohort",
    "vehicle_type", "bus_index", "duplicate_trip", "stop_order", "empty_stop", "pickup_stops",
    "seats", "min_riders", "availability", "coach_overlap", "boarding_time", "alight_time",
    "crew", "km", "cost",
    "earliest_departure", "late_arrival", "receiving_hours", "site_intake", "ride_time",
    "leg_time", "night_rest", "continuous_driving", "night_driving", "daily_driving",
    "turnaround", "drivers", "driver_overlap", "before_now",
    "wrong_station", "purpose", "train_load", "train_seats", "train_car_cohort", "train_min_riders", "train_chain",
    "connection",
    "summary", "lower_bound",
    "boarding_hours", "journey", "detour",
    "match_unknown", "match_twice", "match_openings", "match_site", "match_unacceptable", "match_signed",
    "match_dorm", "match_group", "match_screening", "match_accounting", "match_reason", "blocking_pairs",
    "match_summary", "match_order",
)

#: The rule families, in the order their violations are listed within a trip.
FAMILIES = (check_trips, check_places, check_loads, check_regions, check_screening, check_windows,
            check_driving, check_coaches, check_crews, check_now, check_trains, check_accounting, check_summary,
            check_journey, check_detour, check_match)


def with_derived(scenario: Scenario, plan: Plan) -> tuple[Scenario, set[str]]:
    """``scenario`` with the orders derived from the plan's matches added (and their ids)."""
    derived = derived_orders(scenario, plan)
    if not derived:
        return scenario, set()
    return scenario.model_copy(update={"orders": list(scenario.orders) + derived}), {o.id for o in derived}


def _facts(scenario: Scenario, plan: Plan, roads: Optional[str]) -> Facts:
    spec = roads if roads is not None else plan.solver.roads
    sc, derived = with_derived(scenario, plan)
    return Facts(sc, plan, Roads.open(spec, scenario.policy.road_factor), derived=derived)


def check(scenario: Scenario, plan: Plan, roads: Optional[str] = None) -> list[Violation]:
    """Check ``plan`` against every rule of docs/RULES.md for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The planning problem the plan claims to solve.
    plan : Plan
        The plan to check: the optimiser's, or one made by hand.
    roads : str, optional
        The road-distance source to measure legs with: ``geodesic`` (× the policy's road
        factor), a ``from,to,km`` CSV path or an OSRM base URL. Default: the plan's own
        ``solver.roads`` (geodesic when it names none).

    Returns
    -------
    list of Violation
        Every violation found, trip by trip in plan order, then plan-wide ones (site intake,
        worker accounting, summary). Empty when the plan obeys every rule.

    Raises
    ------
    RoadsError
        When the road-distance source cannot be read.
    """
    facts = _facts(scenario, plan, roads)
    for family in FAMILIES:
        family(facts)
    last = len(plan.trips)
    return sorted(facts.out, key=lambda v: facts.index.get(v.trip, last) if v.trip is not None else last)


def journey(scenario: Scenario, plan: Plan, roads: Optional[str] = None) -> Journey:
    """The plan's journey figures as the checker computes them from its stops: every trip's hours
    on board and loaded wait, every planned worker's hours door to door and avoidable loaded
    wait, and the workers boarding at home outside the boarding hours (see
    :mod:`planner._check.journey`). ``roads`` as for :func:`check`."""
    return journey_of(_facts(scenario, plan, roads))


def blocking_pairs(scenario: Scenario, plan: Plan, roads: Optional[str] = None) -> list[tuple[str, str]]:
    """(worker id, post id) of every blocking pair of the plan's match, as :func:`check` counts
    them (acceptability without the arrival tolerance): an acceptable post the worker prefers to
    what they have, with a free opening (and bed) or holding a worker it ranks below them.
    ``roads`` as for :func:`check`."""
    spec = roads if roads is not None else plan.solver.roads
    return blocking_pairs_of(scenario, plan, Roads.open(spec, scenario.policy.road_factor))
