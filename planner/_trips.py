"""The optimiser's trips as they pass its steps, in plain dataclasses of integers.

- :class:`DraftTrip`: who rides with whom, by key (home place, cohort, site), on which coach type
  and route: made by the full-coach, pooling and improving steps;
- :class:`AllocatedTrip`: the same with concrete orders and their boarding window: made by
  allocation;
- :class:`TimedTrip` of :class:`TimedStop`: with times, a coach and its crew: made by scheduling.

Places are indices into :attr:`planner.problem.ProblemData.places`, sites into its sites, times
integer minutes from its ``t0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Optional

from ._pricing import Key

StopKind = Literal["depart", "pickup", "drop", "return"]


@dataclass(frozen=True)
class DraftTrip:
    """A trip before it has orders, a time or a coach: coach type, pickup order, site order,
    riders per key, route km."""

    vehicle: int
    pickups: tuple[int, ...]
    sites: tuple[int, ...]
    loads: tuple[tuple[Key, int], ...]
    km: float

    @property
    def riders(self) -> int:
        return sum(n for _, n in self.loads)


@dataclass
class AllocatedTrip:
    """A draft with its orders: per pickup place which orders board and how many, and the
    window the first boarding must fall in (``lo`` … ``hi``)."""

    vehicle: int
    pickups: tuple[int, ...]
    sites: tuple[int, ...]
    cohort: int
    board: dict[int, list[tuple[int, int]]]  # place → [(order part, count)]
    lo: int
    hi: int
    #: each order part's own boarding window (the trip's is their intersection): a part taken off
    #: the trip to run on another keeps its own, not the one its fellow riders narrowed
    own: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def riders(self) -> int:
        return sum(n for loads in self.board.values() for _, n in loads)

    def window(self, orders: Iterable[int]) -> tuple[int, int]:
        """The boarding window of these order parts alone (the trip's where a part has none)."""
        spans = [self.own.get(o, (self.lo, self.hi)) for o in orders]
        return max(a for a, _ in spans), min(b for _, b in spans)

    def part(self, board: dict[int, list[tuple[int, int]]], vehicle: Optional[int] = None,
             pickups: Optional[tuple[int, ...]] = None, sites: Optional[tuple[int, ...]] = None) -> "AllocatedTrip":
        """Some of this trip's riders (``board``) as a trip of their own, with their own window."""
        orders = [o for loads in board.values() for o, _ in loads]
        lo, hi = self.window(orders)
        return AllocatedTrip(self.vehicle if vehicle is None else vehicle,
                             pickups if pickups is not None else tuple(p for p in self.pickups if p in board),
                             sites if sites is not None else self.sites, self.cohort, board, lo, hi,
                             {o: self.own[o] for o in orders if o in self.own})


@dataclass
class TimedStop:
    """A stop with its times; ``drive`` lists the driving intervals of the leg ending here."""

    kind: StopKind
    place: int
    site: Optional[int]
    arrive: Optional[int]  # None at the depot departure
    depart: Optional[int]  # None at the return
    loads: list[tuple[int, int]] = field(default_factory=list)  # (order part, count)
    drive: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class TimedTrip:
    """A trip as it runs: coach type and coach, crew (and named drivers), cohort, km, cost, stops."""

    vehicle: int
    bus: int
    crew: int
    cohort: int
    km: float
    cost: float
    stops: list[TimedStop]
    drivers: tuple[str, ...] = ()  # named pool drivers; empty: the coach's own crew

    @property
    def start(self) -> int:
        """When the coach leaves its depot."""
        t = self.stops[0].depart
        assert t is not None
        return t

    @property
    def end(self) -> int:
        """When the coach is back at its depot."""
        t = self.stops[-1].arrive
        assert t is not None
        return t
