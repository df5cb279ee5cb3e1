"""Workers: each accounted for exactly once; only cleared workers board, before their screening
expires; whoever boards alights.

Rules ``worker_count``, ``cleared``, ``unassigned_reason``, ``unknown_order`` (unassigned rows),
``alight_mismatch``, ``screening_expired``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from ..contract import REASONS
from .common import TOL, Facts, fmt, stop_label


def check_loads(f: Facts) -> None:
    """Nobody alights who is not on board; everyone who boards alights."""
    for tf in f.trips:
        trip = tf.trip
        on_board: dict[str, int] = defaultdict(int)
        for i, s in enumerate(trip.stops):
            for ld in s.board:
                on_board[ld.order] += ld.count
            for ld in s.alight:
                if on_board[ld.order] < ld.count:
                    f.add("alight_mismatch", trip.id, f"{stop_label(i, s)}: {ld.count} of order {ld.order} alight "
                          f"but only {on_board[ld.order]} are on board")
                # only those on board can leave: the rest are reported once, as never boarded
                on_board[ld.order] -= min(ld.count, on_board[ld.order])
        for order, n in on_board.items():
            if n > 0:
                f.add("alight_mismatch", trip.id, f"{n} worker(s) of order {order} board but never alight")


def check_screening(f: Facts) -> None:
    """A worker boards before their screening expires: per load against ``screening_valid_until``,
    or, for an order with ``screening_batches``, by matching its boardings to workers still valid
    then (for every time t, no more board at or after t than are valid at t)."""
    boardings: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for tf in f.trips:
        for i, s in enumerate(tf.trip.stops):
            dep = tf.times[i].depart
            if s.kind != "pickup" or dep is None or s.place.station is not None:
                continue
            for ld in s.board:
                o = f.orders.get(ld.order)
                if o is None:
                    continue
                boardings[o.id].append((dep, ld.count, tf.trip.id))
                if not o.screening_batches and o.screening_valid_until is not None \
                        and dep > o.screening_valid_until + TOL:
                    f.add("screening_expired", tf.trip.id, f"{stop_label(i, s)}: order {o.id} boards at {fmt(dep)}, "
                          f"after its screening expires {fmt(o.screening_valid_until)}")
    for o in f.sc.orders:
        if not o.screening_batches or o.id not in boardings:
            continue
        valid = o.expiries()
        late = 0
        for when, n, tid in sorted(boardings[o.id], key=lambda e: e[0], reverse=True):
            late += n
            can = sum(k for k, until in valid if until is None or until + TOL >= when)
            if late > can:
                f.add("screening_expired", tid, f"order {o.id}: {late} worker(s) board at or after {fmt(when)}, "
                      f"but the screening of only {can} of its cleared workers is valid then")
                break


def check_accounting(f: Facts) -> None:
    """Every worker accounted for exactly once, per order."""
    unassigned: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u in f.plan.unassigned:
        if u.order not in f.orders:
            f.add("unknown_order", None, f"unassigned lists {u.count} of unknown order {u.order!r}")
            continue
        if u.reason not in REASONS:
            f.add("unassigned_reason", None, f"order {u.order}: unknown reason {u.reason!r} (known: {', '.join(REASONS)})")
        unassigned[u.order][u.reason] += u.count
    for o in f.sc.orders:
        b = f.boarded.get(o.id, 0)
        reasons = unassigned.get(o.id, {})
        n = sum(reasons.values())
        if b + n != o.headcount:
            what = "workers lost" if b + n < o.headcount else "workers counted twice"
            f.add("worker_count", None, f"order {o.id}: {b} boarded + {n} unassigned = {b + n}, "
                  f"headcount {o.headcount} ({what})")
        if b > o.cleared:
            f.add("cleared", None, f"order {o.id}: {b} boarded, but only {o.cleared} cleared screening")
        pending = o.headcount - o.cleared - o.failed
        for reason, want in (("screening_pending", pending), ("screening_failed", o.failed)):
            got = reasons.get(reason, 0)
            if got != want:
                f.add("unassigned_reason", None, f"order {o.id}: {got} unassigned as {reason}, "
                      f"but {want} worker(s) are {reason.split('_')[1]}")
