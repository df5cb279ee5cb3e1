"""A solver entry point that, for the seed :data:`HOG_SEED`, takes memory until it has none left
(a plan past its memory ceiling); any other seed is the real solver. Spawned processes import it
by name."""

from __future__ import annotations

from typing import Any

from api import _solve

HOG_SEED = 4242


def run(snapshot: dict[str, Any], time_limit: float, seed: int, queue: Any) -> None:
    if seed != HOG_SEED:
        _solve.run(snapshot, time_limit, seed, queue)
        return

    def grow(*_: Any, **__: Any) -> Any:
        held = []
        for _ in range(48):  # 64 MB at a time, each touched so that it is really used; at most 3 GB,
            held.append(bytearray(64 * 1024 * 1024))  # so that without a ceiling it cannot eat the machine
        raise MemoryError("3 GB taken and no ceiling met")

    import planner

    planner.solve = grow  # the real entry point, with a solve that only grows
    _solve.run(snapshot, time_limit, seed, queue)
