"""The scenario and plan files, contract v1 (see MISSION.md), as pydantic models.

These models are the edge of the planner: they parse and validate what people and
other tools hand us and what we hand back. Field names are fixed by the contract;
fields may be added, never removed or renamed. Times are timezone-aware; a time
without an offset is read as Asia/Shanghai.
"""

from __future__ import annotations

import difflib
from datetime import datetime, time, timedelta, timezone
from typing import Any, Literal, Optional, Sequence, Union, get_args

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
Gender = Literal["male", "female"]
#: why a worker is not planned (an unassigned row's ``reason``)
Reason = Literal[
    "screening_pending",
    "screening_failed",
    "screening_expired",
    "region_closed",
    "deadline_unreachable",
    "no_vehicle",
    "site_intake_full",
    "ride_time_exceeded",
    "too_few_riders",
    "no_driver",
    "no_train_seat",
    "connection_missed",
    "outside_boarding_hours",
    "no_legal_trip",
]
REASONS: tuple[str, ...] = get_args(Reason)


def as_shanghai(value: datetime) -> datetime:
    """Return ``value`` with an offset: naive times are read as Asia/Shanghai."""
    if value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class _Model(BaseModel):
    """Plan-side models: extra fields are kept (a plan may carry more than we write)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Input(BaseModel):
    """Scenario-side models: every field is known or refused, never silently ignored; a number is
    finite (NaN or Infinity is refused as such, not as out of range)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _model_of(annotation: Any) -> Optional[type[BaseModel]]:
    """The pydantic model inside an annotation such as ``Optional[list[Site]]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def known_fields(model: type[BaseModel]) -> list[str]:
    """The names a JSON object of ``model`` may use (aliases where a field has one)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def unknown_field_message(model: Optional[type[BaseModel]], loc: Sequence[Any]) -> str:
    """Why the field at ``loc`` (relative to ``model``) is refused, with the nearest known name.

    ``model`` is walked along ``loc`` (``("origin", "lng")`` from :class:`Order` ends in
    :class:`Location`); without a model every input model's names are candidates.
    """
    name = str(loc[-1]) if loc else "?"
    current = model
    for part in loc[:-1]:
        if current is None:
            break
        if isinstance(part, int):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        current = _model_of(field.annotation) if field is not None else None
    candidates = known_fields(current) if current is not None else sorted(
        {n for m in INPUT_MODELS for n in known_fields(m)})
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f"unknown field {name!r} (did you mean {close[0]!r}?)"
    if current is not None:
        return f"unknown field {name!r} (known fields: {', '.join(candidates)})"
    return f"unknown field {name!r}"


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


def _minutes_between(a: time, b: time) -> int:
    """Minutes of the daily window from ``a`` to ``b`` (wrapping midnight when ``b`` ≤ ``a``)."""
    m = (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
    return m if m > 0 else m + 1440


def _check_drivers(v: Optional[list[str]]) -> Optional[list[str]]:
    if v is None:
        return v
    clean = [str(d).strip() for d in v]
    if any(not d for d in clean):
        raise ValueError("a driver id is empty")
    dup = sorted({d for d in clean if clean.count(d) > 1})
    if dup:
        raise ValueError(f"driver id(s) listed twice: {', '.join(dup)}")
    return clean


class Location(_Input):
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


class Site(_Input):
    """A factory that receives workers.

    Receiving hours may wrap midnight (``"22:00"``–``"06:00"``: an overnight window)."""

    id: str
    name: str = ""
    location: Location
    receive_from: time = time(0, 0)
    receive_until: time = time(23, 59, 59)
    intake_per_day: Optional[int] = Field(default=None, ge=0)
    #: dormitory beds for workers matched to its ``dorm`` posts: a total, or by gender
    #: (``{"male": 120, "female": 80}``: a worker of no stated gender then gets no bed)
    dorm_beds: Optional[Union[int, dict[Gender, int]]] = None

    @field_validator("receive_from", "receive_until", mode="before")
    @classmethod
    def _clock_fields(cls, v: object) -> time:
        return _clock(v)

    @field_validator("dorm_beds")
    @classmethod
    def _beds(cls, v: object) -> object:
        if isinstance(v, int) and v < 0 or isinstance(v, dict) and any(n < 0 for n in v.values()):
            raise ValueError("dorm_beds must be ≥ 0")
        return v

    @model_validator(mode="after")
    def _hours(self) -> "Site":
        if (self.receive_from.hour, self.receive_from.minute) == (self.receive_until.hour, self.receive_until.minute):
            raise ValueError(f"receive_until equals receive_from ({self.receive_from:%H:%M}): the site would "
                             f"receive nobody; for all day give '00:00' and '24:00'")
        return self


class Depot(_Input):
    """A coach yard; trips start and end at their coach type's depot.

    ``drivers`` (optional) is the yard's driver pool, shared by every coach type based here."""

    id: str
    name: str = ""
    location: Location
    drivers: Optional[list[str]] = None

    _drivers = field_validator("drivers")(_check_drivers)


class VehicleType(_Input):
    """A type of coach in the fleet: ``count`` coaches of ``seats`` seats.

    ``drivers`` (optional) is a driver pool of this type only (besides its depot's pool);
    ``operator`` (optional) the bus company that runs these coaches (shown on its schedules)."""

    id: str
    seats: int = Field(gt=0, le=100)
    count: int = Field(ge=0)
    depot: str
    fixed_cost: float = Field(default=0.0, ge=0)
    cost_per_km: float = Field(default=0.0, ge=0)
    crew_cost: float = Field(default=0.0, ge=0)
    available_from: datetime
    available_until: datetime
    drivers: Optional[list[str]] = None
    operator: Optional[str] = None

    _drivers = field_validator("drivers")(_check_drivers)

    @field_validator("available_from", "available_until")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        return as_shanghai(v)

    @model_validator(mode="after")
    def _window(self) -> "VehicleType":
        if self.available_until <= self.available_from:
            raise ValueError("available_until must be after available_from")
        return self


class Region(_Input):
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


class ScreeningBatch(_Input):
    """Cleared workers of an order whose screening expires at one time (``until``; null: never)."""

    count: int = Field(gt=0)
    until: Optional[datetime] = None

    @field_validator("until")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)


class Order(_Input):
    """An HR agency's headcount: workers of one home place bound for one site.

    Besides the contract's fields an order may carry ``failed`` (how many failed screening),
    ``screening_batches`` (cleared workers by screening expiry, e.g. from a roster: each batch
    must board before its own ``until``; cleared workers in no batch expire at
    ``screening_valid_until``) and ``note`` (free text, kept as it is)."""

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
    screening_batches: Optional[list[ScreeningBatch]] = None
    note: Optional[str] = None

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
        if self.screening_batches and sum(b.count for b in self.screening_batches) > self.cleared:
            raise ValueError(f"screening_batches count {sum(b.count for b in self.screening_batches)} "
                             f"workers, more than the {self.cleared} cleared")
        return self

    def expiries(self) -> list[tuple[int, Optional[datetime]]]:
        """The cleared workers as (count, screening expiry or None), latest expiry first."""
        out: dict[Optional[datetime], int] = {}
        listed = 0
        for b in self.screening_batches or ():
            out[b.until] = out.get(b.until, 0) + b.count
            listed += b.count
        if self.cleared > listed:
            out[self.screening_valid_until] = out.get(self.screening_valid_until, 0) + self.cleared - listed
        far = datetime.max.replace(tzinfo=SHANGHAI)
        return sorted(((n, t) for t, n in out.items() if n), key=lambda x: x[1] or far, reverse=True)


class Policy(_Input):
    """Rules and estimation parameters; every field has a default (the law's, where there is one)."""

    occupancy_cap: float = Field(default=1.0, gt=0, le=1)
    max_pickup_stops: int = Field(default=3, ge=1, le=50)
    max_ride_hours: float = Field(default=36.0, gt=0, le=96)
    #: a worker whose coach stops elsewhere on their way rides (their boarding stop's departure →
    #: their drop's arrival) at most the longer of the direct ride + ``max_detour_hours`` and the
    #: direct ride × (1 + ``max_detour_share``), the direct ride being the fastest legal coach ride
    #: from their boarding place to their site; a null term is left out, both null: no limit
    max_detour_hours: Optional[float] = Field(default=4.0, ge=0, le=96)
    max_detour_share: Optional[float] = Field(default=1.0, ge=0, le=10)
    boarding_minutes: float = Field(default=30.0, ge=0, le=240)
    alight_minutes: float = Field(default=20.0, ge=0, le=240)
    road_factor: float = Field(default=1.3, ge=1, le=3)
    speed_kmh: float = Field(default=75.0, gt=0, le=120)
    max_continuous_driving_hours: float = Field(default=4.0, gt=0, le=24)
    night_continuous_driving_hours: float = Field(default=2.0, gt=0, le=24)
    night: Optional[tuple[time, time]] = (time(22, 0), time(6, 0))
    break_minutes: float = Field(default=20.0, ge=0, le=720)
    max_daily_driving_hours: float = Field(default=8.0, gt=0, le=24)
    night_rest: Optional[tuple[time, time]] = (time(2, 0), time(5, 0))
    two_driver_km: float = Field(default=400.0, gt=0, le=5000)
    min_riders_per_trip: int = Field(default=1, ge=1, le=100)
    #: a coach's time at its depot between two trips (cleaning, fuel, the crew's handover)
    turnaround_minutes: float = Field(default=60.0, ge=0, le=1440)
    #: coordinates are placed in the county whose seat is nearest, when it is within this distance
    county_snap_km: float = Field(default=100.0, gt=0, le=500)
    #: a warning when a depot is farther than this (road km) from every pickup it serves
    depot_warning_km: float = Field(default=300.0, gt=0, le=5000)
    #: a feeder coach arrives at least this long before its train leaves; a last-mile coach leaves
    #: at least this long after its train arrives
    station_minutes: float = Field(default=60.0, ge=0, le=720)
    #: a feeder or last-mile trip whose one-way distance is at most this is exempt from the night rest
    feeder_night_exempt_km: float = Field(default=100.0, ge=0, le=1000)
    #: workers board at home only within these clock hours (``null``: at any hour); a last mile's
    #: pickup at a station is not a boarding from home
    boarding_hours: Optional[tuple[time, time]] = (time(6, 0), time(22, 0))
    #: yuan per worker-hour on board: what the scheduler weighs against coach cost (a second
    #: driver, a coach's rest before boarding); default ≈ a migrant worker's hourly earnings
    worker_hour_cost: float = Field(default=25.0, ge=0, le=1000)
    #: match and move: how many blocking pairs the coordinator allows for cheaper transport (0: a
    #: stable match)
    match_blocking_pairs: int = Field(default=0, ge=0)
    #: how a post ranks the workers who want it: ``level`` (their level in its trade, higher first,
    #: then registration order: the order of ``workers``) or ``registration`` (that order alone)
    match_priority: Literal["level", "registration"] = "level"
    #: yuan paid per delivered worker (to the agency that brought them): one figure, or one per
    #: agency; the agency report shows it
    subsidy_per_worker: Optional[Union[float, dict[str, float]]] = None
    driving_rules: bool = True
    time_rules: bool = True

    @field_validator("boarding_hours", mode="before")
    @classmethod
    def _boarding_pair(cls, v: object) -> object:
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError('expected two clock times, e.g. ["06:00", "22:00"], or null for any hour')
        a, b = _clock(v[0]), _clock(v[1])
        if (a.hour, a.minute) == (b.hour, b.minute):
            raise ValueError(f"from and until are both {a:%H:%M}: an empty window (use null for any hour)")
        if _minutes_between(a, b) < 60:
            raise ValueError(f"[{a:%H:%M}, {b:%H:%M}] leaves less than an hour a day to board")
        return (a, b)

    @field_validator("night", "night_rest", mode="before")
    @classmethod
    def _clock_pair(cls, v: object) -> object:
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError('expected two clock times, e.g. ["02:00", "05:00"], or null')
        return (_clock(v[0]), _clock(v[1]))

    @field_validator("night", "night_rest")
    @classmethod
    def _window_length(cls, v: Optional[tuple[time, time]], info: Any) -> Optional[tuple[time, time]]:
        if v is None:
            return v
        a, b = v
        if (a.hour, a.minute) == (b.hour, b.minute):
            raise ValueError(f"from and until are both {a:%H:%M}: an empty window (use null for none)")
        length = _minutes_between(a, b)
        if length > 12 * 60:
            hint = "02:00, 05:00" if info.field_name == "night_rest" else "22:00, 06:00"
            raise ValueError(f"[{a:%H:%M}, {b:%H:%M}] lasts {length / 60:g} h a day; give it as "
                             f"[from, until] in clock order, e.g. [{hint}]")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        if self.night_continuous_driving_hours > self.max_continuous_driving_hours:
            raise ValueError(f"night_continuous_driving_hours ({self.night_continuous_driving_hours:g}) exceeds "
                             f"max_continuous_driving_hours ({self.max_continuous_driving_hours:g})")
        return self


class Station(_Input):
    """A railway station where workers board or leave a train."""

    id: str
    name: str = ""
    location: Location


class TrainCall(_Input):
    """A train's call at a station: ``arrive`` (none at the first call), ``depart`` (none at the last)."""

    station: str
    arrive: Optional[datetime] = None
    depart: Optional[datetime] = None

    @field_validator("arrive", "depart")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)


class TrainOffer(_Input):
    """A train the railway offers: a whole ``special`` train or reserved ``cars`` on a scheduled one.

    Workers board at ``board_at`` (default: every call but the last) and alight at ``alight_at``
    (default: the last call); every boarding station comes before every alighting one. It runs
    (and its ``fixed_cost`` is paid) only with at least ``min_riders`` aboard; each rider costs
    ``cost_per_seat``."""

    id: str
    name: str = ""
    kind: Literal["special", "cars"] = "special"
    calls: list[TrainCall] = Field(min_length=2)
    board_at: Optional[list[str]] = None
    alight_at: Optional[list[str]] = None
    cars: int = Field(gt=0, le=40)
    seats_per_car: int = Field(default=118, gt=0, le=200)
    fixed_cost: float = Field(default=0.0, ge=0)
    cost_per_seat: float = Field(default=0.0, ge=0)
    min_riders: int = Field(default=1, ge=1)

    @field_validator("board_at", "alight_at", mode="before")
    @classmethod
    def _station_list(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _calls(self) -> "TrainOffer":
        stations = [c.station for c in self.calls]
        if len(set(stations)) != len(stations):
            raise ValueError("calls: a train calls at each station once")
        if self.calls[0].depart is None:
            raise ValueError("calls: the first call needs its depart time")
        if self.calls[-1].arrive is None:
            raise ValueError("calls: the last call needs its arrive time")
        for i, c in enumerate(self.calls[1:-1], start=1):
            if c.arrive is None or c.depart is None:
                raise ValueError(f"calls[{i}] ({c.station}): a call between the first and the last needs arrive and depart")
        times = [t for c in self.calls for t in (c.arrive, c.depart) if t is not None]
        if any(b < a for a, b in zip(times, times[1:])):
            raise ValueError("calls: times go backwards")
        position = {s: i for i, s in enumerate(stations)}
        board, alight = self.boarding(), self.alighting()
        for s in board + alight:
            if s not in position:
                raise ValueError(f"board_at/alight_at: the train does not call at {s!r}")
        if max(position[s] for s in board) >= min(position[s] for s in alight):
            raise ValueError("board_at/alight_at: every boarding station must come before every alighting one")
        if self.calls[-1].station in board:
            raise ValueError("board_at: nobody boards at the last call")
        return self

    def boarding(self) -> list[str]:
        """The stations where workers may board."""
        return list(self.board_at) if self.board_at else [c.station for c in self.calls[:-1]]

    def alighting(self) -> list[str]:
        """The stations where workers may alight."""
        return list(self.alight_at) if self.alight_at else [self.calls[-1].station]

    def call(self, station: str) -> TrainCall:
        return next(c for c in self.calls if c.station == station)

    @property
    def seats(self) -> int:
        return self.cars * self.seats_per_car


class Post(_Input):
    """Openings of one trade (工种) at a firm's site, to be matched with workers (match and move)."""

    id: str
    site: str
    firm: str = ""
    trade: str
    min_level: int = Field(default=0, ge=0, le=5)
    openings: int = Field(ge=0)
    monthly_wage: float = Field(ge=0)
    #: a worker matched here must arrive by then
    start_by: datetime
    #: the post comes with a bed in the site's dormitory (``sites[].dorm_beds``)
    dorm: bool = False

    @field_validator("start_by")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        return as_shanghai(v)


class Worker(_Input):
    """A registered worker to be matched to a post and brought back (match and move)."""

    id: str
    agency: str
    origin: Location
    #: trades and levels (0–5), e.g. ``{"SMT操作工": 3}``
    trades: dict[str, int] = Field(default_factory=dict)
    #: post ids in order of preference (志愿), at most 6; empty: any acceptable post, the best paid
    #: first, then the nearest
    choices: list[str] = Field(default_factory=list, max_length=6)
    min_monthly_wage: Optional[float] = Field(default=None, ge=0)
    earliest_departure: datetime
    screening: Literal["cleared", "pending", "failed"] = "cleared"
    screening_valid_until: Optional[datetime] = None
    gender: Optional[Gender] = None
    #: workers of one group (a couple, 同乡) go to the same site, or none of them
    group: Optional[str] = None
    #: a post this worker is already hired for: kept
    signed: Optional[str] = None

    @field_validator("earliest_departure", "screening_valid_until")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)

    @field_validator("trades")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        for trade, level in v.items():
            if not 0 <= level <= 5:
                raise ValueError(f"level of {trade!r} must be 0–5, got {level}")
        return v

    @model_validator(mode="after")
    def _choices(self) -> "Worker":
        if len(set(self.choices)) != len(self.choices):
            raise ValueError("choices lists a post twice")
        if self.signed is not None and self.choices and self.signed not in self.choices:
            self.choices = [self.signed] + self.choices[:5]
        return self


class Scenario(_Input):
    """A planning problem: reference data (sites, depots, fleet, regions, policy) and orders.

    ``fixed`` (optional) lists trips already dispatched: a plan keeps them as they are."""

    name: str = "scenario"
    sites: list[Site] = Field(default_factory=list)
    depots: list[Depot] = Field(default_factory=list)
    fleet: list[VehicleType] = Field(default_factory=list)
    regions: list[Region] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    stations: list[Station] = Field(default_factory=list)
    trains: list[TrainOffer] = Field(default_factory=list)
    fixed: list["Trip"] = Field(default_factory=list)
    #: match and move: factory posts and the registered workers to match with them
    posts: list[Post] = Field(default_factory=list)
    workers: list[Worker] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "Scenario":
        sections: tuple[tuple[str, Sequence[Any]], ...] = (
            ("sites", self.sites), ("depots", self.depots), ("fleet", self.fleet), ("orders", self.orders),
            ("posts", self.posts), ("workers", self.workers))
        for kind, items in sections:
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
        posts = {p.id: p for p in self.posts}
        for i, p in enumerate(self.posts):
            if p.site not in sites:
                raise ValueError(f"posts[{i}] ({p.id}): site: unknown site {p.site!r}")
        for i, w in enumerate(self.workers):
            for c in w.choices:
                if c not in posts:
                    raise ValueError(f"workers[{i}] ({w.id}): choices: unknown post {c!r}")
            if w.signed is not None and w.signed not in posts:
                raise ValueError(f"workers[{i}] ({w.id}): signed: unknown post {w.signed!r}")
        for problem in train_problems(self.stations, self.trains):
            raise ValueError(problem)
        for problem in driver_pool_problems(self.depots, self.fleet):
            raise ValueError(problem)
        return self

    def driver_pool(self, vehicle_type: str) -> list[str]:
        """The drivers who may drive coaches of ``vehicle_type``: its own pool, then its depot's."""
        vt = next(v for v in self.fleet if v.id == vehicle_type)
        depot = next((d for d in self.depots if d.id == vt.depot), None)
        return list(vt.drivers or []) + list((depot.drivers if depot else None) or [])


def train_problems(stations: Sequence[Station], trains: Sequence[TrainOffer]) -> list[str]:
    """Station ids unique; train ids unique; every train calls at known stations."""
    out = []
    known: set[str] = set()
    for i, s in enumerate(stations):
        if s.id in known:
            out.append(f"stations[{i}] ({s.id}): id: duplicate id {s.id!r}")
        known.add(s.id)
    seen: set[str] = set()
    for i, t in enumerate(trains):
        if t.id in seen:
            out.append(f"trains[{i}] ({t.id}): id: duplicate id {t.id!r}")
        seen.add(t.id)
        for c in t.calls:
            if c.station not in known:
                out.append(f"trains[{i}] ({t.id}): calls: unknown station {c.station!r} "
                           f"(known stations: {', '.join(sorted(known)) or 'none'})")
    return out


def driver_pool_problems(depots: Sequence[Depot], fleet: Sequence[VehicleType]) -> list[str]:
    """A driver belongs to one pool only (one depot's, or one coach type's)."""
    owner: dict[str, str] = {}
    out = []
    pools = [(f"depots[{i}] ({d.id})", d.drivers) for i, d in enumerate(depots)]
    pools += [(f"fleet[{i}] ({v.id})", v.drivers) for i, v in enumerate(fleet)]
    for where, drivers in pools:
        for d in drivers or ():
            if d in owner:
                out.append(f"{where}: drivers: driver {d!r} is already in the pool of {owner[d]}")
            else:
                owner[d] = where
    return out


# ---------------------------------------------------------------- the plan


class Place(_Model):
    """Where a stop is: a site or depot ``id``, a ``station``, or a ``county``, with its name and
    coordinates."""

    id: Optional[str] = None
    station: Optional[str] = None
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
    #: who drives: ids from the driver pools (``depots[].drivers``, ``fleet[].drivers``); absent, the
    #: coach's own crew drives, the same drivers on all its trips
    drivers: Optional[list[str]] = None
    #: ``direct`` to the sites; ``feeder``: to a train's boarding station; ``last_mile``: from its
    #: alighting station to the sites
    purpose: Literal["direct", "feeder", "last_mile"] = "direct"
    #: hours from the first boarding (pickup ``depart``) to the last alighting (drop ``arrive``)
    onboard_hours: Optional[float] = None
    #: hours the loaded coach stands still beyond the stops and the breaks and rests the driving
    #: rules force on its crew fresh at the first boarding
    loaded_wait_hours: Optional[float] = None


class Unassigned(_Model):
    order: str
    count: int = Field(gt=0)
    reason: str
    #: the nearest miss, in numbers (e.g. "fastest legal coach ride 38.2 h > 36 h")
    detail: Optional[str] = None


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
    #: a closer bound: whole coaches within the pickup limit, each paying its farthest rider's tour
    #: (README, "The lower bounds"); between ``lower_bound_km`` and ``km``
    lower_bound_km_sharp: Optional[float] = None
    #: workers planned by coach all the way, and by train (with a feeder and a last-mile coach)
    workers_by_mode: Optional[dict[str, int]] = None
    trains_run: int = 0
    #: the trains' cost (fixed costs of those that run, and seats); ``cost`` is the coaches'
    train_cost: float = 0.0
    #: no plan for these workers costs less: each planned worker's cheapest share over the modes
    cost_lower_bound: float = 0.0
    #: the planned workers' hours door to door (first boarding → alighting at the site, trains
    #: and stations included): ``mean``, ``p95``, ``max``
    worker_hours: Optional[dict[str, float]] = None
    #: hours loaded coaches stand still beyond the breaks and rests forced on a crew fresh at boarding
    loaded_wait_hours: Optional[float] = None
    #: workers boarding at home outside the boarding hours (default 06:00–22:00 when none are set)
    night_boardings: Optional[int] = None
    #: match and move: the match's figures
    matching: Optional[MatchingSummary] = None


class SolverInfo(_Model):
    seconds: float
    time_limit: Optional[float] = None
    status: str
    seed: Optional[int] = None
    #: the road-distance source the plan was made with: ``geodesic`` (× the policy's road factor),
    #: a ``from,to,km`` CSV path or an OSRM base URL; the checker measures with the same
    roads: Optional[str] = None
    #: nothing was planned to leave before this time (dispatched trips excepted)
    now: Optional[datetime] = None

    @field_validator("now")
    @classmethod
    def _tz(cls, v: Optional[datetime]) -> Optional[datetime]:
        return None if v is None else as_shanghai(v)


class TrainLoad(_Model):
    """Workers of one order in one car of a train: where they board and where they alight."""

    train: str
    car: int = Field(ge=0)
    cohort: Risk
    order: str
    count: int = Field(gt=0)
    board_at: str
    alight_at: str


class Suggestion(_Model):
    """A special train fangang proposes the coordinator request from the railway.

    ``saves``: yuan saved against the plan without it (coach cost of the workers it carries, minus
    its estimated cost); ``brings_back``: workers it carries who no coach could bring."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: list[str] = Field(alias="from")
    to: str
    day: str
    riders: int
    est_cost: float
    saves: float
    brings_back: int


class Match(_Model):
    """A worker matched to a post; ``order`` is the derived order whose trip or train carries them."""

    worker: str
    post: str
    site: str
    order: str


#: why a registered worker has no post
UnmatchedReason = Literal["no_acceptable_post", "outranked", "dorm_full", "group_unplaceable",
                          "screening_pending", "screening_failed", "screening_expired", "region_closed",
                          "no_transport"]


class Unmatched(_Model):
    worker: str
    reason: str
    detail: Optional[str] = None


class MatchingSummary(_Model):
    workers: int
    matched: int
    #: matched ÷ openings
    fill_rate: float
    #: of the matched, the share who got their first choice
    first_choice_share: float
    #: mean rank (1 = first) of the matched workers' posts in their own lists
    mean_choice_rank: float
    blocking_pairs: int
    #: the plan's transport cost (coaches and trains) per matched worker carried
    transport_cost_per_matched: float
    openings: int = 0
    blocking_budget: int = 0
    #: how the match was made: ``deferred_acceptance`` (stable, worker-proposing) or ``joint``
    #: (CP-SAT over transport cost within the budget), with the model's status
    method: str = ""


class PlanWarning(_Model):
    """Something a coordinator should look at before handing the plan out; not a broken rule."""

    code: str
    message: str


class Plan(_Model):
    """A plan for a scenario: trips, what could not be planned and why, and a summary."""

    scenario: str
    solver: SolverInfo
    trips: list[Trip] = Field(default_factory=list)
    unassigned: list[Unassigned] = Field(default_factory=list)
    summary: Summary
    warnings: list[PlanWarning] = Field(default_factory=list)
    train_loads: list[TrainLoad] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    #: match and move: who goes to which post, and who does not and why
    matches: list[Match] = Field(default_factory=list)
    unmatched: list[Unmatched] = Field(default_factory=list)


Scenario.model_rebuild()
Summary.model_rebuild()
Plan.model_rebuild()

#: the scenario-side models: unknown fields in them are refused
INPUT_MODELS: tuple[type[BaseModel], ...] = (Scenario, Site, Depot, VehicleType, Region, Order, Policy,
                                             Location, ScreeningBatch, Station, TrainOffer, TrainCall, Post, Worker)
