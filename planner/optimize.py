"""Plan a scenario: the pipeline's optimise step (work in progress)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from .contract import Plan, Scenario, Trip


@dataclass(frozen=True)
class Progress:
    """A progress report: the phase, the fraction of the time budget used, the best cost so far."""

    phase: str
    fraction: float
    best_cost: Optional[float] = None


@dataclass(frozen=True)
class SolveParams:
    """Tuning knobs of :func:`solve`."""

    pooling: bool = True


def solve(scenario: Scenario, *, time_limit: float = 30.0, seed: int = 0,
          progress: Optional[Callable[[Progress], None]] = None,
          fixed: Sequence[Trip] = (), params: SolveParams = SolveParams()) -> Plan:
    """Plan ``scenario``; see the module docstring."""
    raise NotImplementedError("the optimizer is being built")
