"""Who may travel, in which cohort and within which boarding window; why the others cannot.

Pipeline step "eligibility": per order part, the cleared workers not already on a dispatched trip,
their cohort (the home county's risk at pickup), and the window their boarding must fall in
(earliest departure, ``now``, screening validity, region closures, the latest pickup that still
arrives by the deadline); the others are unassigned with the reason that stops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from .contract import Reason
from .driving import leg_minutes
from .problem import ProblemData


@dataclass(frozen=True)
class Eligible:
    """Workers of one order that may travel: count, cohort and the window their boarding must fall in.

    ``by_coach`` false: no coach can bring them in time (ride limit, deadline), only a train may —
    their window is then their screening's and cohort's only (set when trains are offered)."""

    order: int
    count: int
    cohort: int  # 0 low, 1 medium
    board_from: int
    board_until: int
    by_coach: bool = True


def eligibility(data: ProblemData, already: Sequence[int] = ()) -> tuple[list[Eligible], list[tuple[int, int, Reason]]]:
    """Split every order's workers into eligible groups and unassigned ``(order, count, reason)``.

    ``already[i]`` workers of order i ride fixed (dispatched) trips and are not planned again.
    """
    eligible: list[Eligible] = []
    unassigned: list[tuple[int, int, Reason]] = []
    for o in data.orders:
        done = already[o.index] if already else 0
        if o.failed:
            unassigned.append((o.index, o.failed, "screening_failed"))
        if o.pending:
            unassigned.append((o.index, o.pending, "screening_pending"))
        n = o.cleared - done
        if n <= 0:
            continue
        lo = max(o.earliest, data.now)
        hi = o.valid_until
        coach_reason: Optional[Reason] = None
        if data.time_rules:
            ride = leg_minutes(int(data.drive[o.place, data.site_place[o.site]]), data.rules, crew=2)
            if ride + data.boarding > data.max_ride:
                coach_reason = "ride_time_exceeded"
            hi = min(hi, o.arrive_by - ride)
        if o.valid_until < lo:
            unassigned.append((o.index, n, "screening_expired"))
            continue
        if coach_reason is None and hi < lo:
            coach_reason = ("screening_expired" if o.valid_until < o.arrive_by and o.valid_until == hi
                            else "deadline_unreachable")
        if coach_reason is not None:
            piece = _first_open_piece(data, o.place, lo, o.valid_until) if data.trains else None
            if piece is None:  # no coach can bring them, and no train is offered (or the county is closed)
                unassigned.append((o.index, n, coach_reason))
            elif isinstance(piece, str):
                unassigned.append((o.index, n, "outside_boarding_hours"))
            else:
                eligible.append(Eligible(o.index, n, piece[2], piece[0], piece[1], by_coach=False))
            continue
        piece = _first_open_piece(data, o.place, lo, hi)
        if piece is None or isinstance(piece, str):
            unassigned.append((o.index, n, "region_closed" if piece is None else "outside_boarding_hours"))
            continue
        a, b, level = piece
        eligible.append(Eligible(o.index, n, level, a, b))
    return eligible, unassigned


def _first_open_piece(data: ProblemData, place: int, lo: int, hi: int
                      ) -> Optional[tuple[int, int, int]] | Literal["outside_boarding_hours"]:
    """The first part of [lo, hi] during which the county's risk is constant and not high, and in
    which a boarding stop fits inside the boarding hours.

    The part must leave room for the boarding time (pickup stops last ``boarding`` minutes and
    must not overlap a high-risk period). ``lo`` and ``hi`` bound the boarding's end (the pickup's
    departure). None: the county is closed all the time; ``"outside_boarding_hours"``: it is open,
    but only at hours the workers may not board.
    """
    periods = data.risk_periods.get(place, ())
    cuts = sorted({lo, hi} | {x for a, b, _ in periods for x in (a, b) if lo < x < hi})
    pieces: list[tuple[int, int, int]] = []
    for a, b in zip(cuts, cuts[1:] + [hi + 1]):
        if a > hi:
            break
        level = data.risk_at(place, a)
        if pieces and pieces[-1][2] == level and pieces[-1][1] >= a - 1:
            pieces[-1] = (pieces[-1][0], min(b, hi), level)
        else:
            pieces.append((a, min(b, hi), level))
    hours = False
    for a, b, level in pieces:
        if level >= 2:
            continue
        # boarding starts `boarding` minutes before departure; it must not touch high risk
        start = a + (data.boarding if data.risk_at(place, a - data.boarding) >= 2 else 0)
        if start > b:
            continue
        board = data.board_open(start - data.boarding) + data.boarding  # within the boarding hours
        if board <= b:
            return board, b, level
        hours = True
    return "outside_boarding_hours" if hours else None
