"""Why each unassigned worker could not be planned, in numbers: the nearest miss.

Pipeline step "explain", after scheduling: every unassigned row's reason gets a ``detail`` that
says by how much the workers missed, from the compiled problem and the final state of the coaches,
the sites' intake and the trains' seats — e.g. "fastest legal coach ride 38.2 h > 36 h",
"2 coaches of 53 seats (c53) away after 02-12 00:00". The text states the numbers that make the
reason true; it never picks another reason.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Optional, Sequence

from ._chains import CarLoad
from ._pricing import direct_ride as fastest_ride
from ._schedule import Fleet
from .driving import DAY, leg_minutes
from .problem import NO_LIMIT, ProblemData


def _clock(data: ProblemData, minute: int) -> str:
    if minute >= NO_LIMIT // 2:
        return "never"
    if minute <= -NO_LIMIT // 2:
        return "always"
    return data.when(minute).strftime("%m-%d %H:%M")


def _hhmm(minute: int) -> str:
    return f"{(minute % DAY) // 60:02d}:{minute % 60:02d}"


class Explainer:
    """Details for the unassigned rows of one plan (see the module's doc)."""

    def __init__(self, data: ProblemData, fleet: Optional[Fleet], intake: dict[tuple[int, int], int],
                 cars: Sequence[CarLoad] = ()):
        self.data, self.fleet, self.intake = data, fleet, intake
        self.riders: dict[tuple[int, int], int] = defaultdict(int)  # (train, car) → riders
        for c in cars:
            self.riders[(c.train, c.car)] += c.count

    def window(self, part: int) -> tuple[int, int, int]:
        """The boarding window of an order part by coach: (earliest, latest to arrive by the
        deadline at the fastest, screening's end) in minutes."""
        d, o = self.data, self.data.orders[part]
        lo = max(o.earliest, d.now)
        ride = fastest_ride(d, o.place, o.site)
        return lo, o.arrive_by - ride, o.valid_until

    def first_board(self, lo: int) -> int:
        """The earliest boarding (the pickup's departure) at or after ``lo`` within the boarding hours."""
        d = self.data
        return d.board_open(lo - d.boarding) + d.boarding

    def detail(self, part: int, count: int, reason: str) -> str:
        try:
            method = getattr(self, "_" + reason)
        except AttributeError:
            return ""
        text = method(part, count)
        return text if isinstance(text, str) else ""

    # -------------------------------------------------------------- one method per reason

    def _screening_pending(self, part: int, count: int) -> str:
        o = self.data.orders[part]
        return f"{count} of {o.headcount} not screened yet (only cleared workers travel)"

    def _screening_failed(self, part: int, count: int) -> str:
        o = self.data.orders[part]
        return f"{count} of {o.headcount} failed screening"

    def _screening_expired(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        lo, by_deadline, valid = self.window(part)
        first = self.first_board(lo)
        if valid < first:
            return (f"screening valid until {_clock(d, valid)}, before the earliest boarding "
                    f"{_clock(d, first)}")
        ride = fastest_ride(d, o.place, o.site)
        return (f"screening valid until {_clock(d, valid)}; boarding then, the fastest legal coach "
                f"({ride / 60:.1f} h) arrives {_clock(d, valid + ride)}; no coach could board them by then")

    def _region_closed(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        lo, by_deadline, valid = self.window(part)
        hi = min(by_deadline, valid)
        name = d.places[o.place].name
        closed = [(a, b) for a, b, r in d.risk_periods.get(o.place, ()) if r >= 2 and a < hi and b > lo]
        if closed:
            spans = "; ".join(f"{_clock(d, max(a, lo - DAY))}–{_clock(d, b)}" for a, b in closed[:3])
            return f"{name} is high-risk {spans}, over their whole boarding window {_clock(d, lo)}–{_clock(d, hi)}"
        return f"{name} is high-risk when a coach could board them ({_clock(d, lo)}–{_clock(d, hi)})"

    def _deadline_unreachable(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        lo, _, _ = self.window(part)
        first = self.first_board(lo)
        ride = fastest_ride(d, o.place, o.site)
        if first + ride > o.arrive_by:
            return (f"fastest legal coach ride {ride / 60:.1f} h: boarding at {_clock(d, first)} it arrives "
                    f"{_clock(d, first + ride)}, after the deadline {_clock(d, o.arrive_by)}")
        return (f"the fastest legal coach ride ({ride / 60:.1f} h) from {_clock(d, first)} would arrive "
                f"{_clock(d, first + ride)}, but no coach could reach them and the site "
                f"({d.site_ids[o.site]}, receiving {_hhmm(d.site_hours[o.site][0])}–{_hhmm(d.site_hours[o.site][1])}) "
                f"by the deadline {_clock(d, o.arrive_by)}")

    def _ride_time_exceeded(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        ride = fastest_ride(d, o.place, o.site)
        if ride > d.max_ride:
            return f"fastest legal coach ride {ride / 60:.1f} h > {d.max_ride / 60:g} h"
        return (f"fastest legal coach ride {ride / 60:.1f} h of the {d.max_ride / 60:g} h allowed, but no coach "
                f"schedule kept it within the limit (the crews' rests, the night rest, receiving hours "
                f"{_hhmm(d.site_hours[o.site][0])}–{_hhmm(d.site_hours[o.site][1])})")

    def _no_vehicle(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        lo, by_deadline, valid = self.window(part)
        hi = max(lo, min(by_deadline, valid))
        ride = fastest_ride(d, o.place, o.site)
        span_lo, span_hi = lo - ride, hi + ride  # when a coach bringing them would be on the road
        parts = []
        for v, vt in enumerate(d.vehicles):
            if vt.count == 0 or vt.capacity <= 0:
                continue
            label = f"{vt.count} coach{'es' if vt.count > 1 else ''} of {vt.seats} seats ({vt.id})"
            if vt.available_until <= span_lo or vt.available_from >= span_hi:
                parts.append(f"{label} available only {_clock(d, vt.available_from)}–{_clock(d, vt.available_until)}")
                continue
            busy = 0.0
            if self.fleet is not None:
                for ivs in self.fleet.busy[v]:
                    busy += sum(max(0, min(b, span_hi) - max(a, span_lo)) for a, b in ivs)
            share = busy / max(1, (span_hi - span_lo) * vt.count)
            parts.append(f"{label} {share:.0%} busy {_clock(d, span_lo)}–{_clock(d, span_hi)}")
        return "; ".join(parts) or "no coach in the fleet"

    def _no_driver(self, part: int, count: int) -> str:
        d = self.data
        pools = sorted({dr for pool in d.pools for dr in pool})
        return f"the {len(pools)} pool driver(s) were all busy or resting when a coach could bring them"

    def _site_intake_full(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        cap = d.site_intake[o.site]
        lo, _, valid = self.window(part)
        ride = fastest_ride(d, o.place, o.site)
        first = (lo + ride) // DAY
        last = min(o.arrive_by, valid + ride + DAY) // DAY
        days = [(day, self.intake.get((o.site, day), 0)) for day in range(first, max(first, last) + 1)][:7]
        shown = ", ".join(f"{d.when(day * DAY):%m-%d} {n}/{cap}" for day, n in days)
        return f"site {d.site_ids[o.site]} takes {cap} a day; on the days they could arrive: {shown}"

    def _too_few_riders(self, part: int, count: int) -> str:
        d = self.data
        lo, by_deadline, valid = self.window(part)
        return (f"{count} worker(s), fewer than the {d.min_riders} a trip needs, and no trip with a seat "
                f"boards in their window {_clock(d, lo)}–{_clock(d, min(by_deadline, valid))}")

    def _no_train_seat(self, part: int, count: int) -> str:
        d = self.data
        trains = []
        for t in d.trains:
            seats = t.seats
            taken = sum(n for (tr, _), n in self.riders.items() if tr == t.index)
            trains.append(f"{t.name or t.id} {taken}/{seats}")
        return "no coach brings them in time, and the trains that could are full: " + ", ".join(trains[:5])

    def _connection_missed(self, part: int, count: int) -> str:
        d, o = self.data, self.data.orders[part]
        lo, _, valid = self.window(part)
        first = self.first_board(lo)
        near = sorted(((float(d.km[o.place, d.station_place[b]]), t.index, b, int(d.drive[o.place, d.station_place[b]]))
                       for t in d.trains for b in t.board))
        if not near:
            return "no train is offered"
        km, ti, b, driving = near[0]
        t = d.trains[ti]
        reach = first + leg_minutes(driving, d.rules, crew=2) + d.alighting
        name, station, leaves = t.name or t.id, d.station_ids[b], t.departs(b)
        if reach + d.station_minutes > leaves:
            return (f"nearest boarding station {station} ({km:,.0f} km): {name} leaves {_clock(d, leaves)}; a feeder "
                    f"boarding at {_clock(d, first)} arrives {_clock(d, reach)} + {d.station_minutes} min, "
                    f"{reach + d.station_minutes - leaves} min too late")
        return (f"nearest boarding station {station} ({km:,.0f} km): {name} leaves {_clock(d, leaves)}, a feeder "
                f"boarding at {_clock(d, first)} would be there by {_clock(d, reach)}, but no feeder could be "
                f"timed to make it (boarding hours, screening until {_clock(d, valid)}, the ride door to door, "
                f"the station's coaches)")

    def _outside_boarding_hours(self, part: int, count: int) -> str:
        d = self.data
        lo, by_deadline, valid = self.window(part)
        hi = min(by_deadline, valid)
        hours = d.board_hours or (0, DAY)
        first = self.first_board(lo)
        if first > hi:
            return (f"they may board only {_clock(d, lo)}–{_clock(d, hi)}, outside the "
                    f"boarding hours {_hhmm(hours[0])}–{_hhmm(hours[1])}")
        return (f"no coach could board them within the boarding hours {_hhmm(hours[0])}–{_hhmm(hours[1])} "
                f"and keep every rule (the coach or train that could take them needed a boarding at night; "
                f"their window {_clock(d, lo)}–{_clock(d, hi)})")


def details(data: ProblemData, rows: Sequence[tuple[int, int, str]], fleet: Optional[Fleet],
            intake: dict[tuple[int, int], int], cars: Sequence[CarLoad] = ()) -> list[str]:
    """A detail for every unassigned row ``(order part, count, reason)``, in order."""
    ex = Explainer(data, fleet, intake, cars)
    return [ex.detail(o, n, r) for o, n, r in rows]
