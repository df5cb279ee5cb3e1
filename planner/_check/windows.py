"""Time windows: boarding not before the earliest departure, arrival by the deadline, drops within
receiving hours, site intake per day, ride time. Checked only with ``policy.time_rules``.

Rules ``earliest_departure``, ``late_arrival``, ``receiving_hours``, ``site_intake``, ``ride_time``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from ..contract import SHANGHAI
from .common import TOL, Facts, clock_within, fmt, hours, stop_label


def check_windows(f: Facts) -> None:
    if not f.p.time_rules:
        return
    p = f.p
    intake: dict[tuple[str, date], int] = defaultdict(int)
    intake_trips: dict[tuple[str, date], list[str]] = defaultdict(list)
    for tf in f.trips:
        trip = tf.trip
        first_board: dict[str, datetime] = {}
        last_alight: dict[str, datetime] = {}
        for i, s in enumerate(trip.stops):
            tm = tf.times[i]
            if s.kind == "pickup" and tm.depart is not None and s.place.station is None:
                dep = tm.depart
                for ld in s.board:
                    o = f.orders.get(ld.order)
                    if o is None:
                        continue
                    first_board[o.id] = min(first_board.get(o.id, dep), dep)
                    if dep < o.earliest_departure - TOL:
                        f.add("earliest_departure", trip.id, f"{stop_label(i, s)}: order {o.id} boards at {fmt(dep)}, "
                              f"before its earliest departure {fmt(o.earliest_departure)}")
            arr = tm.arrive
            if arr is None:
                continue
            site = f.sites.get(s.place.id or "") if s.kind == "drop" else None
            if s.place.station is not None:
                continue  # a feeder's drop at its station: the chain's rules are the trains family's
            for ld in s.alight:
                o = f.orders.get(ld.order)
                if o is None:
                    continue
                last_alight[o.id] = max(last_alight.get(o.id, arr), arr)
                if site is not None:
                    day = arr.astimezone(SHANGHAI).date()
                    intake[(site.id, day)] += ld.count
                    listed = intake_trips[(site.id, day)]
                    if not listed or listed[-1] != trip.id:
                        listed.append(trip.id)
                if arr > o.arrive_by + TOL:
                    f.add("late_arrival", trip.id, f"{stop_label(i, s)}: order {o.id} arrives {fmt(arr)}, after its "
                          f"deadline {fmt(o.arrive_by)}")
            if site is not None:
                for what, t in (("arrives", tm.arrive), ("departs", tm.depart)):
                    if t is not None and not clock_within(t, site.receive_from, site.receive_until):
                        f.add("receiving_hours", trip.id, f"{stop_label(i, s)} {what} {fmt(t)}, outside site "
                              f"{site.id}'s receiving hours {site.receive_from:%H:%M}–{site.receive_until:%H:%M}")
        for order, t0 in first_board.items():
            t1 = last_alight.get(order)
            if t1 is not None and t1 - t0 > timedelta(hours=p.max_ride_hours) + TOL:
                f.add("ride_time", trip.id, f"order {order} rides from {fmt(t0)} to {fmt(t1)} "
                      f"({hours((t1 - t0).total_seconds())}), more than {p.max_ride_hours:g} h")
    for (site_id, day), n in sorted(intake.items()):
        cap = f.sites[site_id].intake_per_day
        if cap is not None and n > cap:
            listed = intake_trips[(site_id, day)]
            shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
            f.add("site_intake", None, f"site {site_id} receives {n} workers on {day}, more than its intake of "
                  f"{cap} (trips {shown})")
