"""Reference data (sites, depots, fleet, regions, stations, train offers, policy) between contract
models and tables."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time
from typing import Any, Iterator, Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from planner.contract import (
    SHANGHAI,
    Depot,
    Location,
    Policy,
    Region,
    Scenario,
    Site,
    Station,
    TrainOffer,
    VehicleType,
)
from planner.errors import Problem

from . import models as m
from .errors import ApiError

_LOC_FIELDS = ("county", "address", "lat", "lon", "name")


def set_location(row: Any, loc: Location) -> None:
    """Copy a contract location onto a row's location columns."""
    row.county, row.address, row.lat, row.lon = loc.county, loc.address, loc.lat, loc.lon
    row.place_name = loc.name


def get_location(row: Any) -> Location:
    data: dict[str, Any] = {}
    if row.county is not None:
        data["county"] = row.county
    elif row.address is not None:
        data["address"] = row.address
    else:
        data["lat"], data["lon"] = row.lat, row.lon
    if row.place_name:
        data["name"] = row.place_name
    return Location.model_validate(data)


#: contract fields that have columns of their own; the others are kept in the row's ``extra``
_COLUMNS = {
    "Site": {"id", "name", "location", "receive_from", "receive_until", "intake_per_day"},
    "Depot": {"id", "name", "location"},
    "Station": {"id", "name", "location"},
    "VehicleType": {"id", "seats", "count", "depot", "fixed_cost", "cost_per_km", "crew_cost",
                    "available_from", "available_until"},
    "Region": {"county", "risk", "from_", "until"},
    "Order": {"id", "agency", "origin", "site", "headcount", "cleared", "failed", "earliest_departure",
              "arrive_by", "screening_valid_until"},
}


def _extra(model: Any) -> dict[str, Any]:
    """The contract fields of ``model`` that no column holds (e.g. a coach type's ``operator``
    and ``drivers``), as JSON, so that they come back as they were given."""
    rest = set(type(model).model_fields) - _COLUMNS[type(model).__name__]
    return model.model_dump(mode="json", include=rest, exclude_none=True, by_alias=True)


def _clock(t: time) -> str:
    return "24:00" if t == time(23, 59, 59) else t.strftime("%H:%M")


# ------------------------------------------------------------------ model → row


def site_row(site: Site) -> m.Site:
    row = m.Site(id=site.id, name=site.name, receive_from=_clock(site.receive_from),
                 receive_until=_clock(site.receive_until), intake_per_day=site.intake_per_day,
                 extra=_extra(site))
    set_location(row, site.location)
    return row


def depot_row(depot: Depot) -> m.Depot:
    row = m.Depot(id=depot.id, name=depot.name, extra=_extra(depot))
    set_location(row, depot.location)
    return row


def station_row(station: Station) -> m.Station:
    row = m.Station(id=station.id, name=station.name, extra=_extra(station))
    set_location(row, station.location)
    return row


def train_row(offer: TrainOffer) -> m.TrainOffer:
    return m.TrainOffer(id=offer.id, name=offer.name, kind=offer.kind,
                        offer=offer.model_dump(mode="json", exclude_none=True, by_alias=True))


def vehicle_row(vt: VehicleType) -> m.VehicleType:
    return m.VehicleType(id=vt.id, seats=vt.seats, count=vt.count, depot=vt.depot,
                         fixed_cost=vt.fixed_cost, cost_per_km=vt.cost_per_km, crew_cost=vt.crew_cost,
                         available_from=vt.available_from, available_until=vt.available_until,
                         extra=_extra(vt))


def region_row(region: Region) -> m.Region:
    return m.Region(county=region.county, risk=region.risk, valid_from=region.from_,
                    valid_until=region.until, extra=_extra(region))


# ------------------------------------------------------------------ row → contract dict


def _local(t: Optional[datetime]) -> Optional[datetime]:
    return t.astimezone(SHANGHAI) if t is not None else None


def site_dict(row: m.Site) -> dict[str, Any]:
    out = Site.model_validate({
        **row.extra, "id": row.id, "name": row.name, "location": get_location(row),
        "receive_from": row.receive_from, "receive_until": row.receive_until,
        "intake_per_day": row.intake_per_day}).model_dump(mode="json", exclude_none=True)
    out["receive_from"], out["receive_until"] = row.receive_from, row.receive_until  # as written: "07:00"
    return out


def depot_dict(row: m.Depot) -> dict[str, Any]:
    return Depot.model_validate({**row.extra, "id": row.id, "name": row.name,
                                 "location": get_location(row)}).model_dump(mode="json", exclude_none=True)


def station_dict(row: m.Station) -> dict[str, Any]:
    return Station.model_validate({**row.extra, "id": row.id, "name": row.name,
                                   "location": get_location(row)}).model_dump(mode="json", exclude_none=True)


def train_dict(row: m.TrainOffer) -> dict[str, Any]:
    return TrainOffer.model_validate(row.offer).model_dump(mode="json", exclude_none=True, by_alias=True)


def vehicle_dict(row: m.VehicleType) -> dict[str, Any]:
    return VehicleType.model_validate({
        **row.extra, "id": row.id, "seats": row.seats, "count": row.count, "depot": row.depot,
        "fixed_cost": row.fixed_cost, "cost_per_km": row.cost_per_km, "crew_cost": row.crew_cost,
        "available_from": _local(row.available_from), "available_until": _local(row.available_until),
    }).model_dump(mode="json")


def region_dict(row: m.Region) -> dict[str, Any]:
    out: dict[str, Any] = {**row.extra, "county": row.county, "risk": row.risk}
    region = Region.model_validate({**out, "from": _local(row.valid_from), "until": _local(row.valid_until)})
    return region.model_dump(mode="json", by_alias=True, exclude_none=True)


def policy_dict(session: Session) -> dict[str, Any]:
    row = session.get(m.ReferenceSettings, 1)
    return dict(row.policy) if row else {}


def scenario_name(session: Session) -> str:
    row = session.get(m.ReferenceSettings, 1)
    return row.name if row else "scenario"


def reference_dict(session: Session) -> dict[str, Any]:
    """The current reference data as a contract-v1 scenario without orders."""
    return {
        "name": scenario_name(session),
        "sites": [site_dict(r) for r in session.scalars(select(m.Site).order_by(m.Site.id))],
        "depots": [depot_dict(r) for r in session.scalars(select(m.Depot).order_by(m.Depot.id))],
        "fleet": [vehicle_dict(r) for r in session.scalars(select(m.VehicleType).order_by(m.VehicleType.id))],
        "regions": [region_dict(r) for r in session.scalars(select(m.Region).order_by(m.Region.county, m.Region.id))],
        "stations": [station_dict(r) for r in session.scalars(select(m.Station).order_by(m.Station.id))],
        "trains": [train_dict(r) for r in session.scalars(select(m.TrainOffer).order_by(m.TrainOffer.id))],
        "orders": [],
        "policy": policy_dict(session),
        "posts": posts_list(session),
    }


def posts_list(session: Session) -> list[dict[str, Any]]:
    """The posts (match and move), by site and id."""
    from .matching import post_dict  # noqa: PLC0415

    return [post_dict(r) for r in session.scalars(select(m.Post).order_by(m.Post.site, m.Post.id))]


def site_ids(session: Session) -> set[str]:
    return set(session.scalars(select(m.Site.id)))


# ------------------------------------------------------------------ writes


def replace_all(session: Session, scenario: Scenario, policy_raw: Optional[dict[str, Any]] = None,
                who: Optional[m.Principal] = None) -> None:
    """Replace every piece of reference data with ``scenario``'s (orders and registered workers are
    not touched; posts only when the scenario gives ``posts``); with ``who``, the changes of risk
    regions, fleet and policy go to the history."""
    if who is not None:
        with tracked(session, who, "region", None, "replace"), tracked(session, who, "fleet", None, "replace"), \
                tracked(session, who, "policy", None, "replace"):
            replace_all(session, scenario, policy_raw)
        return
    for table in (m.TrainOffer, m.Station, m.VehicleType, m.Region, m.Site, m.Depot):
        session.execute(delete(table))
    session.add_all([depot_row(d) for d in scenario.depots])
    session.add_all([station_row(s) for s in scenario.stations])
    session.flush()
    session.add_all([train_row(t) for t in scenario.trains])
    session.add_all([site_row(s) for s in scenario.sites])
    session.add_all([vehicle_row(v) for v in scenario.fleet])
    session.add_all([region_row(r) for r in scenario.regions])
    if "posts" in scenario.model_fields_set:
        from .matching import post_row  # noqa: PLC0415

        session.execute(delete(m.Post))
        session.add_all([post_row(p) for p in scenario.posts])
    set_settings(session, name=scenario.name,
                 policy=policy_raw if policy_raw is not None else policy_json(scenario.policy))


def policy_json(policy: Policy) -> dict[str, Any]:
    """The policy fields that were set explicitly, as JSON (defaults stay defaults)."""
    return policy.model_dump(mode="json", exclude_unset=True)


def set_settings(session: Session, *, name: Optional[str] = None,
                 policy: Optional[dict[str, Any]] = None) -> m.ReferenceSettings:
    row = session.get(m.ReferenceSettings, 1)
    if row is None:
        row = m.ReferenceSettings(id=1, name=name or "scenario", policy=policy or {})
        session.add(row)
    else:
        if name is not None:
            row.name = name
        if policy is not None:
            row.policy = policy
    return row


# ------------------------------------------------------------------ history of changes (risk regions, fleet, policy)

HISTORY_KINDS = ("region", "fleet", "policy")


def _snapshot(session: Session, kind: str, keys: Optional[list[str]]) -> dict[str, Any]:
    """What ``kind`` holds now, by key: a county's periods, a coach type, the policy."""
    session.flush()
    if kind == "region":
        q = select(m.Region)
        if keys is not None:
            q = q.where(m.Region.county.in_(keys))
        out: dict[str, Any] = {}
        always = datetime.min.replace(tzinfo=SHANGHAI)  # an open start first, on every database
        for r in sorted(session.scalars(q), key=lambda r: (r.county, r.valid_from or always, r.id)):
            out.setdefault(r.county, []).append({k: v for k, v in region_dict(r).items() if k != "county"})
        return out
    if kind == "fleet":
        q2 = select(m.VehicleType).order_by(m.VehicleType.id)
        if keys is not None:
            q2 = q2.where(m.VehicleType.id.in_(keys))
        return {r.id: vehicle_dict(r) for r in session.scalars(q2)}
    if kind == "policy":
        return {"policy": policy_dict(session)}
    raise ValueError(f"unknown kind of change {kind!r}")


@contextmanager
def tracked(session: Session, who: m.Principal, kind: str, keys: Optional[list[str]], action: str) -> Iterator[None]:
    """Record in ``change_history`` what the block changes of ``kind`` (for ``keys``, or all):
    one record per key whose value differs, before and after, by ``who`` (in the same transaction;
    the caller commits). A key that is gone afterwards is recorded as ``delete``."""
    before = _snapshot(session, kind, keys)
    yield
    after = _snapshot(session, kind, keys)
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        session.add(m.ChangeRecord(kind=kind, key=key, action="delete" if new is None and action != "replace"
                                   else action, before=old, after=new, changed_by=who.id))


def history(session: Session, kind: Optional[str] = None, key: Optional[str] = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Changes, latest first: kind, key, action, before, after, who (name, role) and when (Asia/Shanghai)."""
    q = select(m.ChangeRecord, m.Principal).join(m.Principal, m.Principal.id == m.ChangeRecord.changed_by)
    if kind is not None:
        q = q.where(m.ChangeRecord.kind == kind)
    if key is not None:
        q = q.where(m.ChangeRecord.key == key)
    q = q.order_by(m.ChangeRecord.id.desc()).limit(limit)
    return [{"id": c.id, "kind": c.kind, "key": c.key, "action": c.action, "before": c.before, "after": c.after,
             "who": p.name, "role": p.role, "when": c.changed_at.astimezone(SHANGHAI).isoformat()}
            for c, p in session.execute(q)]


# ------------------------------------------------------------------ the reference service (the JSON routes and the console)


def same_id(body_id: str, path_id: str) -> None:
    """A PUT's body names the item of its path."""
    if body_id != path_id:
        raise ApiError(422, f"the body's id {body_id!r} differs from the path's {path_id!r}",
                       [Problem("body", "id", f"{body_id!r} differs from the path's {path_id!r}")])


def _places(entries: list[tuple[str, str, Location]]) -> list[Problem]:
    """Resolve every place once; a county or address that cannot be found is a problem."""
    from planner.network.places import PlaceError, resolve_all  # noqa: PLC0415

    if not entries:
        return []
    out = []
    for (where, field, _), res in zip(entries, resolve_all([loc for _, _, loc in entries])):
        if isinstance(res, PlaceError):
            out.append(Problem(where, field, str(res)))
    return out


def location_problems(sites: list[Site], depots: list[Depot], regions: list[Region],
                      stations: Optional[list[Station]] = None) -> list[Problem]:
    """Every place that cannot be found and every county that is not one (by name or code)."""
    from . import regions as regions_svc  # noqa: PLC0415  (api.regions reads this module)

    entries = [(f"sites ({s.id})", "location", s.location) for s in sites]
    entries += [(f"depots ({d.id})", "location", d.location) for d in depots]
    entries += [(f"stations ({s.id})", "location", s.location) for s in stations or []]
    problems = _places(entries)
    for r in regions:  # a county by name or a 5-digit code is a problem, not a crash
        try:
            regions_svc.find_county(r.county, f"regions ({r.county})")
        except ApiError as exc:
            problems += exc.problems or []
    return problems


def keeps_dispatched(session: Session, vehicle_type: str, count: int) -> None:
    """A coach on a dispatched trip stays in the fleet: refuse removing its type or its number."""
    from .plans import dispatched_trips_using  # noqa: PLC0415

    using = [(p, t, b) for p, t, b in dispatched_trips_using(session, vehicle_type) if b >= count]
    if using:
        listed = ", ".join(f"plan {p} trip {t} (#{b + 1})" for p, t, b in using[:10])
        more = f" and {len(using) - 10} more" if len(using) > 10 else ""
        what = "removed" if count == 0 else f"cut to {count} coach(es)"
        raise ApiError(409, f"vehicle type {vehicle_type!r} cannot be {what}: dispatched trips run on its coaches "
                            f"({listed}{more}); un-dispatch them first")


def posts_in_use(session: Session, keep: set[str]) -> None:
    """Posts that registered workers chose or signed for stay (409 naming the workers)."""
    problems = []
    for w in session.scalars(select(m.MatchWorker).order_by(m.MatchWorker.id)):
        gone = [c for c in [*w.choices, *([w.signed] if w.signed else [])] if c not in keep]
        if gone:
            problems.append(Problem(f"worker {w.id} ({w.agency.name}{', ' + w.ref if w.ref else ''})", "choices",
                                    f"chose or signed for post(s) {', '.join(sorted(set(gone)))}"))
    if problems:
        raise ApiError(409, f"{len(problems)} registered worker(s) chose or signed for posts that would be removed; "
                            f"nothing was changed (their agencies delete and register them anew)", problems)


def replace_reference(session: Session, user: m.Principal, scenario: Scenario) -> dict[str, Any]:
    """Replace all reference data with a contract-v1 scenario without orders (422 listing every
    problem, 409 when a dispatched trip's coach would go; nothing changed then)."""
    from . import regions as regions_svc  # noqa: PLC0415

    if scenario.orders:
        raise ApiError(422, "reference data carries no orders: agencies submit them to /v1/orders",
                       [Problem("body", "orders", "reference data carries no orders")])
    if scenario.workers:
        raise ApiError(422, "reference data carries no workers: agencies register them at /v1/workers",
                       [Problem("body", "workers", "reference data carries no workers")])
    if "posts" in scenario.model_fields_set:
        posts_in_use(session, {p.id for p in scenario.posts})
    else:
        sites = {s.id for s in scenario.sites}
        orphans = [Problem(f"posts ({p.id})", "site", f"unknown site {p.site!r}: give posts too, or keep the site")
                   for p in session.scalars(select(m.Post).order_by(m.Post.id)) if p.site not in sites]
        if orphans:
            raise ApiError(422, f"{len(orphans)} stored post(s) would lose their site; nothing was changed", orphans)
    problems = location_problems(scenario.sites, scenario.depots, scenario.regions, scenario.stations)
    if problems:
        raise ApiError(422, f"{len(problems)} place(s) cannot be found; nothing was changed", problems)
    # regions named by a former code or a name are stored under today's code
    scenario = scenario.model_copy(update={"regions": [
        r.model_copy(update={"county": regions_svc.find_county(r.county).code}) for r in scenario.regions]})
    counts = {v.id: v.count for v in scenario.fleet}
    for vt in session.scalars(select(m.VehicleType.id)):
        keeps_dispatched(session, vt, counts.get(vt, 0))
    replace_all(session, scenario, policy_json(scenario.policy), who=user)
    session.commit()
    return reference_dict(session)


def policy_view(session: Session) -> dict[str, Any]:
    """The policy as set and as it takes effect (fields not set take their defaults)."""
    return {"set": policy_dict(session),
            "effective": Policy.model_validate(policy_dict(session)).model_dump(mode="json")}


def set_policy(session: Session, user: m.Principal, policy: Policy) -> dict[str, Any]:
    """Replace the policy (kept in the history)."""
    with tracked(session, user, "policy", None, "set"):
        set_settings(session, policy=policy_json(policy))
    session.commit()
    return policy_view(session)


def set_vehicle_type(session: Session, user: m.Principal, vehicle_type_id: str, vehicle_type: VehicleType
                     ) -> dict[str, Any]:
    """Create or replace one vehicle type (its depot known; a dispatched trip's coach stays: 409)."""
    same_id(vehicle_type.id, vehicle_type_id)
    if session.get(m.Depot, vehicle_type.depot) is None:
        raise ApiError(422, f"unknown depot {vehicle_type.depot!r}",
                       [Problem(f"fleet ({vehicle_type.id})", "depot", f"unknown depot {vehicle_type.depot!r}")])
    keeps_dispatched(session, vehicle_type.id, vehicle_type.count)
    with tracked(session, user, "fleet", [vehicle_type.id], "set"):
        session.merge(vehicle_row(vehicle_type))
    session.commit()
    return vehicle_dict(session.get(m.VehicleType, vehicle_type_id))  # type: ignore[arg-type]


def replace_posts(session: Session, items: list[Any]) -> list[dict[str, Any]]:
    """Replace all posts with ``items`` (JSON objects), all or nothing: every bad one named."""
    from .matching import check_posts, post_row  # noqa: PLC0415

    posts, problems = check_posts(items, site_ids(session))
    if problems:
        raise ApiError(422, f"{len(problems)} problem(s) in the posts; nothing was changed", problems)
    posts_in_use(session, {p.id for p in posts})
    session.execute(delete(m.Post))
    session.add_all([post_row(p) for p in posts])
    session.commit()
    return posts_list(session)
