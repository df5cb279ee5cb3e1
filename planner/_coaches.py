"""The coach steps for one group of workers, from eligible groups to allocated trips.

full coaches (``_full``) → the remainders pooled (``_pool``) → improved (``_improve``) → re-chosen
within the fleet (``_cover``) → orders allocated (``_allocate``), leftovers seated.
:func:`planner.solve` runs it for the workers who go by coach all the way; the train step
(``_chains``) for each train's feeders and last miles.
"""

from __future__ import annotations

from collections.abc import Callable

from ._allocate import allocate, seat_leftovers
from ._cover import cover, fleet_short
from ._full import demand_by_key, full_coaches, largest_type
from ._improve import improve, key_windows
from ._pool import pool_remainders
from ._pricing import pooling_types
from ._trips import AllocatedTrip
from .contract import Reason
from .eligibility import Eligible
from .params import Deadline, SolveParams
from .problem import ProblemData

Tell = Callable[[str, float], None]
#: on plans of at most this many trips the covering pass runs when the fleet is not short too
COVER_TRIPS = 150


def pooled_trips(data: ProblemData, eligible: list[Eligible], vtypes: list[int], params: SolveParams, seed: int,
                 deadline: Deadline, tell: Tell, span: tuple[float, float] = (0.05, 0.8)
                 ) -> tuple[list[AllocatedTrip], list[tuple[int, int, Reason]]]:
    """Full coaches, the remainders pooled and improved, then orders allocated to the trips.

    ``vtypes``: the coach types of this group's fleet; ``span``: the part of the progress bar
    (from, to) this group fills."""
    lo, hi = span
    pooling = [v for v in pooling_types(data) if v in vtypes]
    drafts, left = full_coaches(data, demand_by_key(data, eligible), largest_type(data, vtypes))
    windows = key_windows(data, eligible)
    unplaced: dict = {}
    chosen = None
    if fleet_short(data, drafts, pooling, left):
        # the largest coaches are too few for the full loads alone: the giant tours and the local
        # search, which take any type, would only plan trips the fleet cannot run; the covering
        # pass plans every trip within the fleet instead, from the whole park at once
        tell("improving", lo + (hi - lo) * 0.45)
        chosen = cover(data, drafts, pooling, params.objective, deadline=deadline.at(params.improve_share),
                       seed=seed, windows=windows, extra=left)
    if chosen is not None:
        drafts = chosen
    else:
        pooled = pool_remainders(data, left, deadline=deadline, params=params, vtypes=pooling,
                                 report=lambda f: tell("pooling", lo + (hi - lo) * 0.45 * f))
        unplaced = pooled.unplaced
        tell("improving", lo + (hi - lo) * 0.45)
        # the covering pass gets its share of the time when the pooled trips need more coaches
        # of a type than its fleet runs, else what the local search leaves (its kicks run out)
        scarce = fleet_short(data, drafts + pooled.drafts, pooling, {})
        share = params.improve_share - (params.cover_share if scarce else 0.0)
        drafts += improve(data, pooled.drafts, pooling, params.objective, deadline=deadline.at(share), seed=seed,
                          windows=windows, report=lambda f: tell("improving", lo + (hi - lo) * (0.45 + 0.55 * f)))
        # every trip re-chosen over the search's routes and nearby ones, within what the fleet can
        # run: where the fleet is short, or on a small park with time left (on a large one the
        # search's trips are as good, and the scheduling needs the time)
        if scarce or len(drafts) <= COVER_TRIPS:
            drafts = cover(data, drafts, pooling, params.objective, deadline=deadline.at(params.improve_share),
                           seed=seed, windows=windows) or drafts
    allocation = allocate(data, drafts, eligible, unplaced)
    trips, short = seat_leftovers(data, allocation.trips, allocation.leftovers, vtypes, pooling)
    return trips, allocation.unassigned + short
