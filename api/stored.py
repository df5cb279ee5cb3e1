"""A stored plan as one typed object: the pages and the exports read a plan through
:class:`StoredPlan` instead of the raw JSON dictionaries kept in the database.

A :class:`StoredPlan` holds the contract's typed :class:`~planner.contract.Plan` (trips, stops,
unassigned rows, summary, train loads; each trip's ``dispatched`` flag as it is now and its stable
``ref`` once published), the orders it was planned for with who owns them (:class:`OrderOwner`:
agency and the agency's own order reference), and the names of sites and counties — what people
read instead of internal ids. :meth:`StoredPlan.for_agency` is the same plan cut to what one agency
may see (its trips, loads and unassigned rows only) with :class:`AgencySummary` in place of the
park's summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from planner.contract import SHANGHAI, Plan, Stop, Summary, TrainLoad, Trip, Unassigned
from planner.labels import REASONS, detail, word

from . import models as m
from .plans import agency_orders, plan_document, seen


@dataclass(frozen=True)
class OrderOwner:
    """Who an order (internal id) belongs to, as people name it."""

    id: str
    agency: str = ""
    agency_id: Optional[int] = None
    ref: Optional[str] = None
    site: str = ""
    county: str = ""
    county_name: str = ""
    headcount: int = 0
    cleared: int = 0
    #: an order a plan's match derived for registered workers (:func:`api.matching.with_matches`)
    derived: bool = False

    def label(self, with_agency: bool = True) -> str:
        """``A-101 · agency-a`` (the agency's own reference); ``订单 7`` when the order has none."""
        name = self.ref or f"订单 {self.id}"
        return f"{name} · {self.agency}" if with_agency and self.agency else name

    @property
    def home(self) -> str:
        """The order's home county: 名称 (code)."""
        return county_label(self.county_name, self.county)


def county_label(name: Optional[str], code: Optional[str]) -> str:
    """A county as people read it: ``滑县 (410526)``; the name or the code alone when that is all."""
    if name and code and name != code:
        return f"{name} ({code})"
    return name or code or ""


@dataclass(frozen=True)
class AgencySummary:
    """What holds for one agency in a plan: its workers requested, cleared, planned, unassigned,
    the trips carrying them and its share of the cost (each trip's cost shared among its riders)."""

    workers_requested: int
    workers_cleared: int
    workers_planned: int
    workers_unassigned: int
    trips: int
    cost_share: float


@dataclass(frozen=True)
class UnassignedRow:
    """An unassigned row as a page shows it."""

    order: str
    label: str
    count: int
    reason: str
    reason_text: str
    detail: str


@dataclass
class StoredPlan:
    """A done plan read once, typed (see the module's doc)."""

    plan_id: int
    plan: Plan
    owners: dict[str, OrderOwner]
    orders: list[dict[str, Any]]
    site_names: dict[str, str] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    agency_summary: Optional[AgencySummary] = None

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_job(cls, job: m.PlanJob, dispatched_trips: dict[str, Any]) -> "StoredPlan":
        """The plan of a done ``job`` with its trips' ``dispatched`` flags as they are now."""
        return cls.from_document(job.id, plan_document(job, dispatched_trips), seen(job))

    @classmethod
    def from_document(cls, plan_id: int, doc: dict[str, Any], snapshot: dict[str, Any]) -> "StoredPlan":
        from planner.network.places import counties  # noqa: PLC0415

        table = counties()
        scenario = snapshot.get("scenario", {})
        owners: dict[str, OrderOwner] = {}
        for o in scenario.get("orders", []):
            own = snapshot.get("orders", {}).get(o["id"], {})
            code = (o.get("origin") or {}).get("county") or ""
            owners[o["id"]] = OrderOwner(id=o["id"], agency=own.get("agency", "") or "", agency_id=own.get("agency_id"),
                                         ref=own.get("ref"), site=o.get("site", ""), county=code,
                                         county_name=table[code].name if code in table else "",
                                         headcount=int(o.get("headcount", 0)), cleared=int(o.get("cleared", 0)),
                                         derived=bool(own.get("derived")))
        return cls(plan_id=plan_id, plan=Plan.model_validate(doc), owners=owners, orders=scenario.get("orders", []),
                   site_names={s["id"]: s.get("name") or s["id"] for s in scenario.get("sites", [])},
                   snapshot=snapshot)

    def for_agency(self, agency_id: int) -> "StoredPlan":
        """Only what agency ``agency_id`` may see: trips carrying its workers (its own loads and
        stops), its unassigned rows, and :class:`AgencySummary`."""
        own = agency_orders(self.snapshot, agency_id)
        trips: list[Trip] = []
        share = 0.0
        for trip in self.plan.trips:
            riders = sum(ld.count for s in trip.stops for ld in s.board)
            mine = sum(ld.count for s in trip.stops for ld in s.board if ld.order in own)
            if not mine:
                continue
            share += trip.cost * mine / riders
            stops = []
            for s in trip.stops:
                cut = s.model_copy(update={"board": [ld for ld in s.board if ld.order in own],
                                           "alight": [ld for ld in s.alight if ld.order in own]})
                if s.kind in ("depart", "return") or cut.board or cut.alight:
                    stops.append(cut)
            trips.append(trip.model_copy(update={"stops": stops}))
        unassigned = [u for u in self.plan.unassigned if u.order in own]
        mine_orders = [o for o in self.owners.values() if o.id in own]
        planned = sum(ld.count for t in trips if (t.purpose or "direct") != "last_mile"
                      for s in t.stops for ld in s.board)
        summary = AgencySummary(workers_requested=sum(o.headcount for o in mine_orders),
                                workers_cleared=sum(o.cleared for o in mine_orders), workers_planned=planned,
                                workers_unassigned=sum(u.count for u in unassigned), trips=len(trips),
                                cost_share=round(share, 2))
        plan = self.plan.model_copy(update={"trips": trips, "unassigned": unassigned, "train_loads": [
            r for r in self.plan.train_loads if r.order in own], "warnings": [], "suggestions": []})
        return StoredPlan(plan_id=self.plan_id, plan=plan, owners={k: v for k, v in self.owners.items() if k in own},
                          orders=[o for o in self.orders if o["id"] in own], site_names=self.site_names,
                          snapshot=self.snapshot, agency_summary=summary)

    # ------------------------------------------------------------------ trips, typed

    @property
    def trips(self) -> list[Trip]:
        return self.plan.trips

    @property
    def scenario(self) -> dict[str, Any]:
        """The scenario the plan was made for, as stored (reference data and orders)."""
        return self.snapshot.get("scenario", {})

    def ordered_trips(self) -> list[Trip]:
        """The trips by first boarding (a trip without pickups first), then id: the order in which
        workers are seated (:func:`api.exports.assign_workers`) and the print-outs list trips."""
        return ordered(self.plan.trips)

    @staticmethod
    def ref(trip: Trip) -> Optional[str]:
        """The trip's stable reference once the plan was published (:mod:`api.publish`): a field the
        stored document carries beyond the contract (:func:`api.plans.plan_document` adds it)."""
        ref = (trip.model_extra or {}).get("ref")
        return str(ref) if ref else None

    def site_of(self) -> dict[str, str]:
        """Order id → the site it goes to (derived orders of a match included)."""
        return {oid: o.site for oid, o in self.owners.items()}

    def trains(self) -> dict[str, dict[str, Any]]:
        """The scenario's train offers by id (as stored: the plan holds their loads only)."""
        return {t["id"]: t for t in self.scenario.get("trains", [])}

    # ------------------------------------------------------------------ what people read

    @property
    def summary(self) -> Summary:
        return self.plan.summary

    def order_label(self, order: str, with_agency: bool = True) -> str:
        owner = self.owners.get(order)
        return owner.label(with_agency) if owner is not None else f"订单 {order}"

    def agency_of(self, order: str) -> str:
        """The name of the agency an order belongs to ("" when unknown)."""
        owner = self.owners.get(order)
        return owner.agency if owner is not None else ""

    def ref_of(self, order: str) -> str:
        """The agency's own reference of an order ("" when it has none)."""
        owner = self.owners.get(order)
        return (owner.ref or "") if owner is not None else ""

    def order_labels(self, with_agency: bool = True) -> dict[str, str]:
        """Internal order id → how people name it (for the map's hovers)."""
        return {oid: o.label(with_agency) for oid, o in self.owners.items()}

    def unassigned_rows(self, lang: str = "zh", with_agency: bool = True) -> list[UnassignedRow]:
        return [self._unassigned_row(u, lang, with_agency) for u in self.plan.unassigned]

    def _unassigned_row(self, u: Unassigned, lang: str, with_agency: bool) -> UnassignedRow:
        return UnassignedRow(order=u.order, label=self.order_label(u.order, with_agency), count=u.count,
                             reason=u.reason, reason_text=word(REASONS, u.reason, lang),
                             detail=detail(u.detail, lang))

    def reasons(self) -> list[tuple[str, int]]:
        """Unassigned workers by reason, most first."""
        out: dict[str, int] = {}
        for u in self.plan.unassigned:
            out[u.reason] = out.get(u.reason, 0) + u.count
        return sorted(out.items(), key=lambda kv: -kv[1])

    @staticmethod
    def place_label(place: Any) -> str:
        """A stop's place: a county as 名称 (code), a site, depot or station by name."""
        if place.county:
            return county_label(place.name, place.county)
        return place.name or place.id or place.station or ""

    @staticmethod
    def local(t: Optional[datetime], fmt: str = "%m-%d %H:%M") -> str:
        return t.astimezone(SHANGHAI).strftime(fmt) if t is not None else ""


#: before any time: where a trip without a pickup sorts
EARLIEST = datetime.min.replace(tzinfo=SHANGHAI)


def first_boarding(trip: Trip) -> datetime:
    """When the first worker boards ``trip`` (a pickup's departure, else its arrival)."""
    times = [s.depart or s.arrive or EARLIEST for s in trip.stops if s.kind == "pickup"]
    return min(times) if times else EARLIEST


def ordered(trips: list[Trip]) -> list[Trip]:
    """``trips`` by first boarding, then id."""
    return sorted(trips, key=lambda t: (first_boarding(t), t.id))


def boarded(stop: Stop) -> int:
    return sum(ld.count for ld in stop.board)


def alighted(stop: Stop) -> int:
    return sum(ld.count for ld in stop.alight)


#: what a partial plan document (a hand-written one, a tool's) may leave out of a trip or a train
#: load that the contract requires, as blanks: the readers that accept such documents
#: (:func:`api.console.timeline`) do not read these fields (nor a place's coordinates)
_BLANK_TRIP: dict[str, Any] = {"depot": "", "crew": 1, "cohort": "low", "km": 0.0, "cost": 0.0, "bus": 0,
                               "vehicle_type": ""}
_BLANK_LOAD: dict[str, Any] = {"car": 0, "cohort": "low", "order": "", "board_at": "", "alight_at": ""}


def partial_trips(doc: dict[str, Any]) -> tuple[list[Trip], list[TrainLoad]]:
    """The trips and train loads of a partial plan document, typed (missing required fields blank)."""
    trips = [Trip.model_validate({**_BLANK_TRIP, **t, "stops": [
        {**st, "place": {"lat": 0.0, "lon": 0.0, **st.get("place", {})}} for st in t.get("stops", [])]})
        for t in doc.get("trips", [])]
    loads = [TrainLoad.model_validate({**_BLANK_LOAD, **r}) for r in doc.get("train_loads", [])]
    return trips, loads
