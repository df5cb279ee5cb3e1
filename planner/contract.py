"""The scenario and plan files, contract v1 (see MISSION.md), as pydantic models.

These models are the edge of the planner: they parse and validate what people and
other tools hand us and what we hand back. Field names are fixed by the contract;
fields may be added, never removed or renamed. Times are timezone-aware; a time
without an offset is read as Asia/Shanghai.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

#: Asia/Shanghai has had no daylight saving time since 1991: a fixed offset is exact.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

Risk = Literal["low", "medium", "high"]
REASONS = (
    "screening_pending",
    "screening_failed",
    "screening_expired",
    "region_closed",
    "deadline_unreachable",
    "no_vehicle",
    "site_intake_full",
    "ride_time_exceeded",
    "too_few_riders",
)


def as_shanghai(value: datetime) -> datetime:
    """Return ``value`` with an offset: naive times are read as Asia/Shanghai."""
    if value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, datetime):
        return value.time()
    text = str(value).strip()
    try:
        hh, mm = text.split(":")[:2]
        h, m = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"expected a clock time like '07:00', got {text!r}") from None
    if h == 24 and m == 0:
        return time(23, 59, 59)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"expected a clock time like '07:00', got {text!r}")
    return time(h, m)


class Location(_Model):
    """A place: a 6-digit county code, a Chinese address, or coordinates."""

    county: Optional[str] = None
    address: Optional[str] = None
    lat: Optional[float] = Field(default=None, ge=-90, le=90)
    lon: Optional[float] = Field(default=None, ge=-180, le=180)
    name: Optional[str] = None

    @field_validator("county", mode="before")
    @classmethod
    def _county_text(cls, v: object) -> object:
        if v is None:
            return v
        text = str(v).strip()
        if text.endswith(".0"):  # spreadsheets turn codes into floats
            text = text[:-2]
        return text

    @model_validator(mode="after")
    def _one_kind(self) -> "Location":
        kinds = [self.county is not None, self.address is not None,
                 self.lat is not None or self.lon is not None]
        if sum(kinds) != 1:
            raise ValueError("a location is exactly one of county, address, or lat+lon")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("coordinates need both lat and lon")
        if self.county is not None and not (len(self.county) in (6, 12) and self.county.isdigit()):
            raise ValueError(f"county must be a 6-digit administrative code, got {self.county!r}")
        if self.address is not None and not self.address.strip():
            raise ValueError("address is empty")
        return self


class Site(_Model):
    """A factory that receives workers."""

    id: str
    name: str = ""
    location: Location
    receive_from: time = time(0, 0)
    receive_until: time = time(23, 59, 59)
    intake_per_day: Optional[int] = Field(default=None, ge=0)

    @field_validator("receive_from", "receive_until", mode="before")
    @classmethod
    def _clock_fields(cls, v: object) -> time:
        return _clock(v)


class Depot(_Model):
    """A coach yard; trips start and end at their coach type's depot."""

    id: str
    name: str = ""
    location: Location


class VehicleType(_Model):
    """A type of coach in the fleet: ``count`` coaches of ``seats`` seats."""

    id: str
    seats: int = Field(gt=0)
    count: int = Field(ge=0)
    depot: str
    fixed_cost: float = Field(default=0.0, ge=0)
    cost_per_km: float = Field(default=0.0, ge=0)
    crew_cost: float = Field(default=0.0, ge=0)
    available_from: datetime
    available_until: datetime

    @field_validator("available_from", "available_until")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        return as_shanghai(v)

    @model_validator(mode="after")
    def _window(self) -> "VehicleType":
        if self.available_until <= self.available_from:
            raise ValueError("available_until must be after available_from")
        return self


class Region(_Model):
    """A county's risk level over a period (``until`` open-ended when absent)."""

    county: str
    risk: Risk
    from_: Optional[datetime] = Field(default=None, alias="from")
    until: Optional[datetime] = None

    @field_validator("county", mode="before")
    @classmethod
    def _county_text(cls, v: object) -> object:
        return Location._county_text(v)

    @field_validator("from_", "until")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)

    @model_validator(mode="after")
    def _period(self) -> "Region":
        if self.from_ and self.until and self.until <= self.from_:
            raise ValueError("until must be after from")
        return self


class Order(_Model):
    """An HR agency's headcount: workers of one home place bound for one site."""

    id: str
    agency: str
    origin: Location
    site: str
    headcount: int = Field(ge=0)
    cleared: int = Field(ge=0)
    failed: int = Field(default=0, ge=0)
    earliest_departure: datetime
    arrive_by: datetime
    screening_valid_until: Optional[datetime] = None

    @field_validator("id", "agency", "site", mode="before")
    @classmethod
    def _text(cls, v: object) -> object:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(int(v)) if float(v).is_integer() else str(v)
        return v

    @field_validator("earliest_departure", "arrive_by", "screening_valid_until")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)

    @model_validator(mode="after")
    def _counts(self) -> "Order":
        if self.cleared > self.headcount:
            raise ValueError(f"cleared ({self.cleared}) exceeds headcount ({self.headcount})")
        if self.cleared + self.failed > self.headcount:
            raise ValueError("cleared + failed exceeds headcount")
        if self.arrive_by <= self.earliest_departure:
            raise ValueError("arrive_by must be after earliest_departure")
        return self


class Policy(_Model):
    """Rules and estimation parameters; every field has a default."""

    occupancy_cap: float = Field(default=1.0, gt=0, le=1)
    max_pickup_stops: int = Field(default=3, ge=1)
    max_ride_hours: float = Field(default=36.0, gt=0)
    boarding_minutes: float = Field(default=30.0, ge=0)
    alight_minutes: float = Field(default=20.0, ge=0)
    road_factor: float = Field(default=1.3, ge=1)
    speed_kmh: float = Field(default=75.0, gt=0)
    max_continuous_driving_hours: float = Field(default=4.0, gt=0)
    night_continuous_driving_hours: float = Field(default=2.0, gt=0)
    night: Optional[tuple[time, time]] = (time(22, 0), time(6, 0))
    break_minutes: float = Field(default=20.0, ge=0)
    max_daily_driving_hours: float = Field(default=8.0, gt=0)
    night_rest: Optional[tuple[time, time]] = (time(2, 0), time(5, 0))
    two_driver_km: float = Field(default=400.0, gt=0)
    min_riders_per_trip: int = Field(default=1, ge=1)
    driving_rules: bool = True
    time_rules: bool = True

    @field_validator("night", "night_rest", mode="before")
    @classmethod
    def _clock_pair(cls, v: object) -> object:
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError('expected two clock times, e.g. ["02:00", "05:00"], or null')
        return (_clock(v[0]), _clock(v[1]))


class Scenario(_Model):
    """A planning problem: reference data (sites, depots, fleet, regions, policy) and orders."""

    name: str = "scenario"
    sites: list[Site] = Field(default_factory=list)
    depots: list[Depot] = Field(default_factory=list)
    fleet: list[VehicleType] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _references(self) -> "Scenario":
        for kind, items in (("sites", self.sites), ("depots", self.depots),
                            ("fleet", self.fleet), ("orders", self.orders)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    raise ValueError(f"{kind}[{i}] ({item.id}): id: duplicate id {item.id!r}")
                seen.add(item.id)
        depots = {d.id for d in self.depots}
        for i, vt in enumerate(self.fleet):
            if vt.depot not in depots:
                raise ValueError(f"fleet[{i}] ({vt.id}): depot: unknown depot {vt.depot!r}")
        sites = {s.id for s in self.sites}
        for i, o in enumerate(self.orders):
            if o.site not in sites:
                raise ValueError(f"orders[{i}] ({o.id}): site: unknown site {o.site!r}")
        return self


# ---------------------------------------------------------------- the plan


class Place(_Model):
    """Where a stop is: a site or depot ``id``, or a ``county``, with its name and coordinates."""

    id: Optional[str] = None
    county: Optional[str] = None
    name: str = ""
    lat: float
    lon: float


class Load(_Model):
    order: str
    count: int = Field(gt=0)


class Stop(_Model):
    """A stop of a trip. ``drive`` lists the driving intervals of the leg that ends here."""

    kind: Literal["depart", "pickup", "drop", "return"]
    place: Place
    arrive: Optional[datetime] = None
    depart: Optional[datetime] = None
    board: list[Load] = Field(default_factory=list)
    alight: list[Load] = Field(default_factory=list)
    drive: list[tuple[datetime, datetime]] = Field(default_factory=list)

    @field_validator("arrive", "depart")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)

    @field_validator("drive")
    @classmethod
    def _tz_drive(cls, v: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
        return [(as_shanghai(a), as_shanghai(b)) for a, b in v]


class Trip(_Model):
    id: str
    vehicle_type: str
    bus: int = Field(ge=0)
    depot: str
    crew: int = Field(ge=1)
    cohort: Risk
    km: float
    cost: float
    stops: list[Stop]
    dispatched: bool = False


class Unassigned(_Model):
    order: str
    count: int = Field(gt=0)
    reason: str


class Summary(_Model):
    workers_requested: int
    workers_eligible: int
    workers_planned: int
    trips: int
    buses_used: int
    km: float
    cost: float
    lower_bound_km: float
    km_over_bound: Optional[float] = None


class SolverInfo(_Model):
    seconds: float
    time_limit: Optional[float] = None
    status: str
    seed: Optional[int] = None


class Plan(_Model):
    """A plan for a scenario: trips, what could not be planned and why, and a summary."""

    scenario: str
    solver: SolverInfo
    trips: list[Trip] = Field(default_factory=list)
    unassigned: list[Unassigned] = Field(default_factory=list)
    summary: Summary
