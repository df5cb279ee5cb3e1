"""Region risk: no pickup in a county while it is high risk; one cohort (medium or low) a trip.

Rules ``region_closed``, ``cohort_mixed``, ``cohort``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Optional

from .common import RISK_RANK, Facts, fmt, stop_label


def risk_at(f: Facts, county: Optional[str], t: datetime) -> str:
    """Highest risk among the county's rows holding at ``t`` (``low`` without rows)."""
    best = "low"
    for r in f.regions.get((county or "")[:6], ()):
        if (r.from_ is None or r.from_ <= t) and (r.until is None or t < r.until):
            if RISK_RANK[r.risk] > RISK_RANK[best]:
                best = r.risk
    return best


def high_overlap(f: Facts, county: Optional[str], a: datetime, b: datetime) -> Any:
    """The first ``high`` row whose period overlaps the stop [a, b], or None."""
    for r in f.regions.get((county or "")[:6], ()):
        if r.risk != "high":
            continue
        starts_before_end = r.from_ is None or r.from_ < b or r.from_ <= a
        ends_after_start = r.until is None or a < r.until
        if starts_before_end and ends_after_start:
            return r
    return None


def check_regions(f: Facts) -> None:
    for tf in f.trips:
        trip = tf.trip
        cohorts: dict[str, list[str]] = defaultdict(list)
        for i, s in enumerate(trip.stops):
            tm = tf.times[i]
            if s.kind != "pickup" or tm.depart is None or s.place.station is not None:
                continue
            dep = tm.depart
            for ld in s.board:
                o = f.orders.get(ld.order)
                if o is None:
                    continue
                county = f.origin_county.get(o.id)
                r = high_overlap(f, county, tm.arrive or dep, dep)
                risk = risk_at(f, county, dep)
                if r is not None or risk == "high":
                    when = f"from {fmt(r.from_)} until {fmt(r.until)}" if r is not None else f"at {fmt(dep)}"
                    f.add("region_closed", trip.id, f"{stop_label(i, s)}: order {o.id} is picked up in county "
                          f"{county}, high risk {when}")
                else:
                    cohorts[risk].append(o.id)
        if cohorts:
            if len(cohorts) > 1:
                detail = "; ".join(f"{c}: {', '.join(sorted(set(os)))}" for c, os in sorted(cohorts.items()))
                f.add("cohort_mixed", trip.id, f"carries workers of cohorts {detail}")
            elif trip.cohort not in cohorts:
                f.add("cohort", trip.id, f"trip says cohort {trip.cohort!r} but its workers are {next(iter(cohorts))!r}")
        if trip.cohort == "high":
            f.add("cohort", trip.id, "cohort 'high' is not a cohort: high-risk counties are closed")
