"""Reference data (coordinators): the whole scenario without orders, or one piece at a time —
sites, depots, the fleet, risk regions, railway stations and the railway's train offers."""

from __future__ import annotations

from typing import Any, Optional, Union

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from planner.contract import Depot, Policy, Scenario, Site, Station, TrainOffer, VehicleType
from planner.errors import Problem

from .. import models as m
from .. import reference as ref
from .. import regions as regions_svc
from ..deps import Coordinator, CurrentUser, SessionDep
from ..errors import ApiError

router = APIRouter(prefix="/v1/reference", tags=["reference data"])

_SCENARIO_EXAMPLE = {
    "name": "spring-2027",
    "sites": [{"id": "F1", "name": "Factory 1", "location": {"lat": 34.53, "lon": 113.84},
               "receive_from": "07:00", "receive_until": "22:00", "intake_per_day": 300}],
    "depots": [{"id": "D1", "name": "park coach yard", "location": {"lat": 34.56, "lon": 113.81}}],
    "fleet": [{"id": "coach53", "seats": 53, "count": 4, "depot": "D1", "fixed_cost": 1000,
               "cost_per_km": 7, "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00",
               "available_until": "2027-02-21T00:00:00+08:00"}],
    "regions": [{"county": "511903", "risk": "medium", "from": "2027-02-10T00:00:00+08:00"}],
    "policy": {"occupancy_cap": 0.5},
}


def _put_located(session: Any, what: str, problems: list[Problem], row: Any, as_dict: Any) -> dict[str, Any]:
    """Store a site, depot or station whose place was found (else 422, nothing stored)."""
    if problems:
        raise ApiError(422, f"the {what}'s place cannot be found", problems)
    stored = session.merge(row)
    session.commit()
    return as_dict(stored)


_same_id = ref.same_id
_location_problems = ref.location_problems
_keeps_dispatched = ref.keeps_dispatched
_posts_in_use = ref.posts_in_use


@router.get("", summary="The current reference data: a contract-v1 scenario without orders")
def get_reference(session: SessionDep, _: Coordinator) -> dict[str, Any]:
    return ref.reference_dict(session)


@router.put("", summary="Replace all reference data (sites, depots, fleet, regions, stations, trains, policy)")
def put_reference(session: SessionDep, user: Coordinator,
                  scenario: Scenario = Body(openapi_examples={"small": {"value": _SCENARIO_EXAMPLE}})
                  ) -> dict[str, Any]:
    """Takes a contract-v1 scenario without orders; orders come from agencies (``/v1/orders``).

    Orders already stored stay; a plan reports orders whose site no longer exists.
    """
    return ref.replace_reference(session, user, scenario)


# ------------------------------------------------------------------ policy


@router.get("/policy", summary="The policy as set (fields not set take their defaults)")
def get_policy(session: SessionDep, _: Coordinator) -> dict[str, Any]:
    return ref.policy_view(session)


@router.put("/policy", summary="Replace the policy")
def put_policy(session: SessionDep, user: Coordinator,
               policy: Policy = Body(openapi_examples={"cap": {"value": {"occupancy_cap": 0.5, "max_pickup_stops": 3}}})
               ) -> dict[str, Any]:
    return ref.set_policy(session, user, policy)


# ------------------------------------------------------------------ sites, depots, fleet


@router.get("/sites", summary="Sites (factories); agencies may read them to name an order's site")
def list_sites(session: SessionDep, _: CurrentUser) -> list[dict[str, Any]]:
    return [ref.site_dict(r) for r in session.scalars(select(m.Site).order_by(m.Site.id))]


@router.put("/sites/{site_id}", summary="Create or replace one site")
def put_site(site_id: str, site: Site, session: SessionDep, _: Coordinator) -> dict[str, Any]:
    _same_id(site.id, site_id)
    return _put_located(session, "site", _location_problems([site], [], []), ref.site_row(site), ref.site_dict)


@router.delete("/sites/{site_id}", status_code=204, summary="Remove a site no post is at")
def delete_site(site_id: str, session: SessionDep, _: Coordinator) -> Response:
    users = list(session.scalars(select(m.Post.id).where(m.Post.site == site_id).order_by(m.Post.id)))
    if users:
        raise ApiError(409, f"site {site_id!r} has posts {', '.join(users[:20])}: remove or move them first")
    _delete(session, m.Site, site_id, "site")
    return Response(status_code=204)


@router.get("/depots", summary="Depots (coach yards)")
def list_depots(session: SessionDep, _: Coordinator) -> list[dict[str, Any]]:
    return [ref.depot_dict(r) for r in session.scalars(select(m.Depot).order_by(m.Depot.id))]


@router.put("/depots/{depot_id}", summary="Create or replace one depot")
def put_depot(depot_id: str, depot: Depot, session: SessionDep, _: Coordinator) -> dict[str, Any]:
    _same_id(depot.id, depot_id)
    return _put_located(session, "depot", _location_problems([], [depot], []), ref.depot_row(depot), ref.depot_dict)


@router.delete("/depots/{depot_id}", status_code=204, summary="Remove a depot no vehicle type uses")
def delete_depot(depot_id: str, session: SessionDep, _: Coordinator) -> Response:
    users = list(session.scalars(select(m.VehicleType.id).where(m.VehicleType.depot == depot_id)))
    if users:
        raise ApiError(409, f"depot {depot_id!r} is used by vehicle types {', '.join(users)}")
    _delete(session, m.Depot, depot_id, "depot")
    return Response(status_code=204)


@router.get("/fleet", summary="Vehicle types of the fleet")
def list_fleet(session: SessionDep, _: Coordinator) -> list[dict[str, Any]]:
    return [ref.vehicle_dict(r) for r in session.scalars(select(m.VehicleType).order_by(m.VehicleType.id))]


@router.put("/fleet/{vehicle_type_id}", summary="Create or replace one vehicle type (e.g. change its count)")
def put_vehicle_type(vehicle_type_id: str, vehicle_type: VehicleType, session: SessionDep,
                     user: Coordinator) -> dict[str, Any]:
    return ref.set_vehicle_type(session, user, vehicle_type_id, vehicle_type)


@router.delete("/fleet/{vehicle_type_id}", status_code=204, summary="Remove a vehicle type no dispatched trip uses")
def delete_vehicle_type(vehicle_type_id: str, session: SessionDep, user: Coordinator) -> Response:
    _keeps_dispatched(session, vehicle_type_id, 0)
    with ref.tracked(session, user, "fleet", [vehicle_type_id], "delete"):
        _delete(session, m.VehicleType, vehicle_type_id, "vehicle type", commit=False)
    session.commit()
    return Response(status_code=204)


def _delete(session: SessionDep, table: Any, key: str, what: str, commit: bool = True) -> None:
    row = session.get(table, key)
    if row is None:
        raise ApiError(404, f"no {what} {key!r}")
    session.delete(row)
    if commit:
        session.commit()


# ------------------------------------------------------------------ stations and train offers


@router.get("/stations", summary="Railway stations where workers board or leave a train")
def list_stations(session: SessionDep, _: CurrentUser) -> list[dict[str, Any]]:
    return [ref.station_dict(r) for r in session.scalars(select(m.Station).order_by(m.Station.id))]


@router.put("/stations/{station_id}", summary="Create or replace one station")
def put_station(station_id: str, station: Station, session: SessionDep, _: Coordinator) -> dict[str, Any]:
    _same_id(station.id, station_id)
    return _put_located(session, "station", _location_problems([], [], [], [station]), ref.station_row(station), ref.station_dict)


@router.delete("/stations/{station_id}", status_code=204, summary="Remove a station no train offer calls at")
def delete_station(station_id: str, session: SessionDep, _: Coordinator) -> Response:
    users = [t.id for t in session.scalars(select(m.TrainOffer).order_by(m.TrainOffer.id))
             if any(c.get("station") == station_id for c in t.offer.get("calls", []))]
    if users:
        raise ApiError(409, f"station {station_id!r} is called at by train offers {', '.join(users)}")
    _delete(session, m.Station, station_id, "station")
    return Response(status_code=204)


_TRAIN_EXAMPLE = {"id": "T1", "name": "L4001", "kind": "special", "cars": 10, "seats_per_car": 118,
                  "fixed_cost": 30000, "cost_per_seat": 90, "min_riders": 300,
                  "calls": [{"station": "PDS", "depart": "2027-02-12T20:00:00+08:00"},
                            {"station": "ZK", "arrive": "2027-02-12T23:10:00+08:00",
                             "depart": "2027-02-12T23:20:00+08:00"},
                            {"station": "SX", "arrive": "2027-02-13T15:00:00+08:00"}]}


@router.get("/trains", summary="The railway's train offers (special trains and reserved cars)")
def list_trains(session: SessionDep, _: Coordinator) -> list[dict[str, Any]]:
    return [ref.train_dict(r) for r in session.scalars(select(m.TrainOffer).order_by(m.TrainOffer.id))]


@router.get("/trains/{train_id}", summary="One train offer")
def get_train(train_id: str, session: SessionDep, _: Coordinator) -> dict[str, Any]:
    row = session.get(m.TrainOffer, train_id)
    if row is None:
        raise ApiError(404, f"no train offer {train_id!r}")
    return ref.train_dict(row)


@router.put("/trains/{train_id}", summary="Create or replace one train offer (its stations must be known)")
def put_train(train_id: str, session: SessionDep, _: Coordinator,
              offer: TrainOffer = Body(openapi_examples={"special": {"value": _TRAIN_EXAMPLE}})) -> dict[str, Any]:
    _same_id(offer.id, train_id)
    known = set(session.scalars(select(m.Station.id)))
    problems = [Problem(f"body.calls[{i}]", "station", f"unknown station {c.station!r}; add it at "
                        f"/v1/reference/stations/{c.station} first")
                for i, c in enumerate(offer.calls) if c.station not in known]
    if problems:
        raise ApiError(422, f"{len(problems)} unknown station(s); nothing was changed", problems)
    session.merge(ref.train_row(offer))
    session.commit()
    return ref.train_dict(session.get(m.TrainOffer, train_id))  # type: ignore[arg-type]


@router.delete("/trains/{train_id}", status_code=204, summary="Withdraw a train offer")
def delete_train(train_id: str, session: SessionDep, _: Coordinator) -> Response:
    _delete(session, m.TrainOffer, train_id, "train offer")
    return Response(status_code=204)


# ------------------------------------------------------------------ regions (risk levels change often)


class RiskPeriod(BaseModel):
    """A county's risk level from ``from`` (default: always) until ``until`` (default: for ever)."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [
        {"risk": "high", "from": "2027-02-10T00:00:00+08:00", "until": "2027-02-14T00:00:00+08:00"}]})

    risk: str = Field(pattern="^(low|medium|high)$")
    from_: Optional[Any] = Field(default=None, alias="from")
    until: Optional[Any] = None


_REGION_PERIODS = Body(openapi_examples={
    "now": {"summary": "high from now on", "value": {"risk": "high"}},
    "phased": {"summary": "phased release", "value": [
        {"risk": "high", "until": "2027-02-14T00:00:00+08:00"},
        {"risk": "medium", "from": "2027-02-14T00:00:00+08:00"}]},
    "clear": {"summary": "no periods: the county is low again", "value": []}})


@router.get("/regions", summary="Risk levels of counties (each with the county's name, province and city)")
def list_regions(session: SessionDep, _: CurrentUser) -> list[dict[str, Any]]:
    return regions_svc.list_regions(session)


@router.put("/regions", summary="Replace all risk levels")
def put_regions(session: SessionDep, user: Coordinator,
                regions: list[Any] = Body(openapi_examples={"two": {"value": [
                    {"county": "丹寨县", "risk": "high", "until": "2027-02-14T00:00:00+08:00"},
                    {"county": "511903", "risk": "medium", "from": "2027-02-10T00:00:00+08:00"}]}})
                ) -> list[dict[str, Any]]:
    """Each item: ``county`` (a 6-digit code, a former code or a name), ``risk``, ``from``,
    ``until``; all or nothing (every problem named: an unknown or ambiguous county, a period
    ending before it starts, two periods of one county overlapping). ``name``, ``province``,
    ``city`` and ``note`` as this service answers them are ignored, so an answer can be sent back."""
    return regions_svc.replace_regions(session, user, regions)


@router.put("/regions/{county}", summary="Set one county's risk periods (replaces them; [] clears them)")
def put_county_risk(county: str, session: SessionDep, user: Coordinator,
                    response: Response, periods: Union[RiskPeriod, list[RiskPeriod]] = _REGION_PERIODS
                    ) -> list[dict[str, Any]]:
    """``county``: a 6-digit code, a former one (stored under today's; each period's ``note`` and
    the ``Fangang-Note`` header say so), or a name: 丹寨县, 丹寨, 贵州省黔东南州丹寨县. Unknown or
    ambiguous: 422 with the suggestions or candidates. Periods may not overlap (``until`` is
    exclusive); the answer is the county's periods, each with its name, province and city."""
    items = [periods] if isinstance(periods, RiskPeriod) else periods
    found, rows = regions_svc.set_periods(
        session, user, county, [p.model_dump(by_alias=True, exclude_none=True) for p in items])
    if found.note:
        response.headers["Fangang-Note"] = found.note.encode("ascii", "backslashreplace").decode()
        rows = [{**r, "note": found.note} for r in rows]
    return rows


@router.delete("/regions/{county}", status_code=204, summary="Forget a county's risk levels (it is low again)")
def delete_county_risk(county: str, session: SessionDep, user: Coordinator) -> Response:
    regions_svc.delete_schedule(session, user, county)
    return Response(status_code=204)


@router.get("/counties", summary="Counties for a typeahead: by name or code prefix (at most 20)")
def list_counties(_: CurrentUser, q: str = "", limit: int = Query(20, ge=1, le=20)) -> list[dict[str, Any]]:
    """Each with ``code``, ``name``, ``province``, ``city`` and a ``label`` (丹寨县 (522636) 贵州省黔东南苗族侗族自治州);
    a former code or name finds today's county."""
    return regions_svc.search_counties(q, limit)


@router.get("/history", summary="Changes of risk regions, fleet and policy: who, when, before and after")
def list_history(session: SessionDep, _: Coordinator, kind: Optional[str] = Query(None, pattern="^(region|fleet|policy)$"),
                 key: Optional[str] = None, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Latest first. ``kind``: region, fleet or policy; ``key``: a county (code or name, for
    regions), a coach type's id."""
    if key is not None and kind == "region":
        key = regions_svc.find_county(key, "key").code
    return ref.history(session, kind, key, limit)


# ------------------------------------------------------------------ posts (match and move)

_POSTS_EXAMPLE = [
    {"id": "P1", "site": "F1", "firm": "富士康", "trade": "SMT操作工", "min_level": 2, "openings": 40,
     "monthly_wage": 5200, "start_by": "2027-02-14T08:00:00+08:00"},
    {"id": "P2", "site": "F1", "firm": "富士康", "trade": "焊工", "min_level": 3, "openings": 10,
     "monthly_wage": 6500, "start_by": "2027-02-14T08:00:00+08:00", "dorm": True}]


@router.get("/posts", summary="Posts (match and move): openings of a trade at a firm's site")
def list_posts(session: SessionDep, _: CurrentUser) -> list[dict[str, Any]]:
    return ref.posts_list(session)


@router.put("/posts", summary="Replace all posts (a JSON list of contract posts)")
def put_posts(session: SessionDep, _: Coordinator,
              posts: list[Any] = Body(openapi_examples={"two": {"value": _POSTS_EXAMPLE}})) -> list[dict[str, Any]]:
    """All or nothing: each post is checked against the contract (a problem names ``posts[i] (id)``
    and the field), ids are unique and sites known. A post that registered workers chose or signed
    for cannot be removed (409)."""
    return ref.replace_posts(session, posts)


@router.put("/posts/{post_id}", summary="Create or replace one post")
def put_post(post_id: str, session: SessionDep, _: Coordinator, post: Any = Body(...)) -> dict[str, Any]:
    from ..matching import check_posts, post_dict, post_row  # noqa: PLC0415

    if isinstance(post, dict) and "id" in post:
        _same_id(str(post["id"]), post_id)
    got, problems = check_posts([{**post, "id": post_id} if isinstance(post, dict) else post], ref.site_ids(session))
    if problems:
        raise ApiError(422, f"invalid post: {problems[0].field}: {problems[0].message}",
                       [Problem(f"post ({post_id})", p.field, p.message) for p in problems])
    session.merge(post_row(got[0]))
    session.commit()
    return post_dict(session.get(m.Post, post_id))  # type: ignore[arg-type]


@router.delete("/posts/{post_id}", status_code=204, summary="Remove a post no registered worker chose")
def delete_post(post_id: str, session: SessionDep, _: Coordinator) -> Response:
    if session.get(m.Post, post_id) is None:
        raise ApiError(404, f"no post {post_id!r}")
    _posts_in_use(session, set(session.scalars(select(m.Post.id))) - {post_id})
    _delete(session, m.Post, post_id, "post")
    return Response(status_code=204)
