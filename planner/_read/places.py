"""Place problems: the sites orders name exist, and their origins resolve to a county, all in
one batch."""

from __future__ import annotations

from typing import Optional

from ..contract import (
    Location,
    Order,
)
from ..errors import Problem


def _site_problems(orders: list[Order], site_ids: set[str], where: list[str]) -> list[Problem]:
    known = ", ".join(sorted(site_ids)) or "none"
    return [Problem(w, "site", f"unknown site {o.site!r} (known sites: {known})")
            for o, w in zip(orders, where) if o.site not in site_ids]


def _place_problems(entries: list[tuple[str, str, Location]], snap_km: Optional[float] = None) -> list[Problem]:
    """Resolve ``(where, field prefix, location)`` entries in one batch, coordinates snapped
    within ``snap_km`` (the scenario's ``policy.county_snap_km``; default its default); report
    failures."""
    from ..network.places import SNAP_KM, PlaceError, resolve_all  # noqa: PLC0415

    if not entries:
        return []
    results = resolve_all([loc for _, _, loc in entries], SNAP_KM if snap_km is None else snap_km)
    out = []
    for (where, prefix, loc), result in zip(entries, results):
        if isinstance(result, PlaceError):
            kind = "county" if loc.county is not None else "address" if loc.address is not None else ""
            field_name = f"{prefix}.{kind}" if prefix and kind else (prefix or kind)
            out.append(Problem(where, field_name, str(result)))
    return out


def check_orders(orders: list[Order], site_ids: set[str], where: list[str]) -> list[Problem]:
    """Check orders against reference data: known sites and resolvable origins.

    Parameters
    ----------
    orders : list of Order
        Validated orders.
    site_ids : set of str
        The ids of the sites orders may go to.
    where : list of str
        For each order, where it came from (e.g. ``"row 5 (O00004)"``), used in problems.

    Returns
    -------
    list of Problem
        An unknown site (field ``site``), an unknown county code (``origin.county``), or an
        address that names no county (``origin.address``). All origins are resolved in one
        batch.
    """
    if len(where) != len(orders):
        raise ValueError("check_orders: `where` must have one entry per order")
    problems = _site_problems(orders, site_ids, where)
    problems += _place_problems([(w, "origin", o.origin) for o, w in zip(orders, where)])
    return problems
