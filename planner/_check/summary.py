"""The summary adds up, and the lower bounds are ones (the sharp one between the per-worker one and the km).

Rules ``summary``, ``lower_bound``.
"""

from __future__ import annotations

from .common import Facts


def check_summary(f: Facts) -> None:
    s, trips = f.plan.summary, f.plan.trips
    ints = {
        "workers_requested": sum(o.headcount for o in f.sc.orders),
        "workers_eligible": sum(o.cleared for o in f.sc.orders),
        "workers_planned": sum(f.boarded.values()),
        "trips": len(trips),
        "buses_used": len({(t.vehicle_type, t.bus) for t in trips}),
    }
    for name, want in ints.items():
        got = getattr(s, name)
        if got != want:
            f.add("summary", None, f"summary {name} is {got}, the plan gives {want}")
    km = sum(t.km for t in trips)
    cost = sum(t.cost for t in trips)
    if abs(s.km - km) > 0.005 * km + 0.5:
        f.add("summary", None, f"summary km is {s.km:g}, its trips add up to {km:.1f}")
    if abs(s.cost - cost) > 0.005 * cost + 1:
        f.add("summary", None, f"summary cost is {s.cost:g}, its trips add up to {cost:.2f}")
    if s.lower_bound_km < 0:
        f.add("lower_bound", None, f"lower_bound_km {s.lower_bound_km:g} is negative")
    if s.km_over_bound is not None and s.lower_bound_km > 0:
        ratio = s.km / s.lower_bound_km
        if abs(s.km_over_bound - ratio) > 0.005 * ratio + 0.001:
            f.add("summary", None, f"summary km_over_bound is {s.km_over_bound:g}, but km / lower_bound_km = "
                  f"{s.km:g} / {s.lower_bound_km:g} = {ratio:.4f}")
    if s.lower_bound_km > km + 0.5:
        f.add("lower_bound", None, f"lower_bound_km {s.lower_bound_km:g} exceeds the plan's {km:.1f} km, "
              f"so it is not a lower bound")
    sharp = s.lower_bound_km_sharp
    if sharp is not None:
        if sharp > km + 0.5:
            f.add("lower_bound", None, f"lower_bound_km_sharp {sharp:g} exceeds the plan's {km:.1f} km, "
                  f"so it is not a lower bound")
        if sharp < s.lower_bound_km - 0.05:
            f.add("lower_bound", None, f"lower_bound_km_sharp {sharp:g} is below lower_bound_km "
                  f"{s.lower_bound_km:g}: the sharper bound is never the weaker")
