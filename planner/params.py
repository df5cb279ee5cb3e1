"""How :func:`planner.solve` searches: one frozen parameter object and the time it may take."""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Literal, Optional

Objective = Literal["km", "cost"]


@dataclass(frozen=True)
class SolveParams:
    """Tuning knobs of :func:`planner.solve`.

    Attributes
    ----------
    pooling
        False plans every order on coaches of its own (the naive plan benchmarks compare against).
    objective
        ``"km"`` (fewest coach-km, then lowest cost: the default) or ``"cost"``.
    radial
        The giant tours tried per cohort, by how much a county's distance from the depot counts
        against its neighbour's; the best split is kept.
    pool_share, improve_share
        The shares of the time limit by which the giant tours and the local search (with its
        set-covering pass) are done.
    cover_share
        The share of the time limit, out of ``improve_share``'s, kept from the local search for
        the set-covering pass over the search's routes and nearby ones (``planner._cover``) when
        the pooled trips need more coaches of a type than its fleet can run; otherwise the pass
        gets what the local search leaves.
    suggest_trains
        Fill the plan's ``suggestions`` with special trains for the workers it leaves behind or
        brings from very far (:func:`planner.rail.suggest`, on the rail network fangang ships).
    repair
        Check the plan with the independent checker and repair the trips it rejects (their
        workers planned again, else unassigned ``no_legal_trip``).
    """

    pooling: bool = True
    objective: Objective = "km"
    radial: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    pool_share: float = 0.7
    improve_share: float = 0.85
    cover_share: float = 0.1
    suggest_trains: bool = True
    #: run the independent checker on the plan and repair what it rejects (:func:`planner.optimize._repair`)
    repair: bool = True


@dataclass(frozen=True)
class Deadline:
    """A solve's clock: the time limit and when it started (``time.monotonic``)."""

    time_limit: float
    started: float

    @classmethod
    def start(cls, time_limit: float) -> "Deadline":
        return cls(time_limit, time.monotonic())

    def at(self, share: float) -> float:
        """The monotonic time by which ``share`` of the time limit has passed."""
        return self.started + self.time_limit * share

    def left(self, share: float, floor: float = 0.5) -> float:
        """Seconds until :meth:`at` ``share``, but at least ``floor``."""
        return max(floor, self.at(share) - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started


#: the monotonic time after which the scheduler hurries (None: never): past it, a trip is timed
#: as soon as its workers are ready (no search for a humane boarding), its crew is the one it
#: needs (no second driver weighed) and a long ride is tried at fewer boarding hours — legal
#: plans still, found faster, so that the time limit holds when scheduling alone would exceed it
_HURRY_AT: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar("fangang_hurry_at", default=None)


def hurry() -> bool:
    """Whether the scheduler is past its time and must hurry."""
    at = _HURRY_AT.get()
    return at is not None and time.monotonic() >= at


@contextmanager
def hurry_after(at: Optional[float]) -> Iterator[None]:
    """Within the block, :func:`hurry` turns true at monotonic time ``at``."""
    token = _HURRY_AT.set(at)
    try:
        yield
    finally:
        _HURRY_AT.reset(token)
