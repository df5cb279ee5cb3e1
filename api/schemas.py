"""Request and response bodies of the HTTP API (pydantic), separate from the tables.

Contract-v1 models (:mod:`planner.contract`) are reused where a body *is* contract data:
reference data is a scenario without orders, and a plan is a contract plan.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from planner.contract import SHANGHAI, Location

from .bounds import MAX_ADDRESS, MAX_HEADCOUNT, MAX_INT, MAX_NAME

#: times in answers are shown in Asia/Shanghai, as the contract writes them
LocalTime = Annotated[datetime, PlainSerializer(lambda v: v.astimezone(SHANGHAI).isoformat(), return_type=str)]

Screening = Literal["cleared", "pending", "failed"]
PlanStatus = Literal["queued", "running", "done", "failed", "cancelled"]

_ID_NUMBER = re.compile(r"^(\d{15}|\d{17}[\dXx])$")
_PHONE = re.compile(r"^\+?[\d\- ]{5,20}$")


def _check_id_number(v: Optional[str]) -> Optional[str]:
    if v is None or not v.strip():
        return None
    v = v.strip().upper()
    if not _ID_NUMBER.match(v):
        raise ValueError("an ID number has 18 characters (17 digits and a digit or X) or 15 digits")
    return v


def _check_phone(v: Optional[str]) -> Optional[str]:
    if v is None or not v.strip():
        return None
    v = v.strip()
    if not _PHONE.match(v):
        raise ValueError("a phone number has 5 to 20 digits")
    return v


class ProblemOut(BaseModel):
    """One thing wrong with a request: where (``row 5``, ``orders[2]``), which field, why."""

    where: str
    row: Optional[int] = None
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error the API answers: a message, and for invalid input every problem found."""

    detail: str
    problems: Optional[list[ProblemOut]] = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "detail": "the file has 1 bad row; nothing was stored",
        "problems": [{"where": "row 3", "row": 3, "field": "cleared",
                      "message": "cleared (50) exceeds headcount (40)"}]}]})


# ------------------------------------------------------------------ principals


class Me(BaseModel):
    id: int
    name: str
    role: Literal["agency", "coordinator"]


# ------------------------------------------------------------------ workers and orders


class WorkerIn(BaseModel):
    """One worker of an order's roster. ID number and phone are stored encrypted."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "张三", "id_number": "511903199001011234", "phone": "13812345678",
        "hometown": "四川省巴中市恩阳区登科街道", "screening": "cleared",
        "screening_valid_until": "2027-02-13T08:00:00+08:00"}]})

    name: str = Field(min_length=1, max_length=100)
    id_number: Optional[str] = Field(default=None, description="身份证号, 15 or 18 characters")
    phone: Optional[str] = None
    hometown: Optional[str] = Field(default=None, max_length=MAX_ADDRESS)
    screening: Screening = "pending"
    screening_valid_until: Optional[datetime] = None

    _id_number = field_validator("id_number")(_check_id_number)
    _phone = field_validator("phone")(_check_phone)


class WorkerPatch(BaseModel):
    """Change a worker; only the fields given change."""

    name: Optional[str] = Field(default=None, min_length=1, max_length=100)
    id_number: Optional[str] = None
    phone: Optional[str] = None
    hometown: Optional[str] = Field(default=None, max_length=MAX_ADDRESS)
    screening: Optional[Screening] = None
    screening_valid_until: Optional[datetime] = None

    _id_number = field_validator("id_number")(_check_id_number)
    _phone = field_validator("phone")(_check_phone)


class WorkerOut(BaseModel):
    """A worker as agencies and coordinators see it: ID number and phone masked."""

    id: int
    name: str
    id_number: Optional[str] = Field(default=None, description="masked, e.g. 5119**********1234")
    phone: Optional[str] = Field(default=None, description="masked, e.g. 138****5678")
    hometown: Optional[str] = None
    screening: Screening
    screening_valid_until: Optional[LocalTime] = None


class OrderIn(BaseModel):
    """A contract-v1 order; ``agency`` is always the caller's, ``id`` is kept as your reference.

    With a roster (``workers``), ``headcount``, ``cleared`` and ``failed`` follow the roster.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "A-2027-001", "origin": {"county": "511903"}, "site": "F1",
        "headcount": 40, "cleared": 38,
        "earliest_departure": "2027-02-11T08:00:00+08:00",
        "arrive_by": "2027-02-12T20:00:00+08:00"}]})

    id: Optional[str] = Field(default=None, max_length=100)
    agency: Optional[str] = Field(default=None, description="ignored: the caller's agency is used")
    origin: Location
    site: str = Field(max_length=MAX_NAME)
    headcount: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT,
                                     description=f"at most {MAX_HEADCOUNT} workers per order")
    cleared: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    failed: int = Field(default=0, ge=0, le=MAX_HEADCOUNT)
    earliest_departure: datetime
    arrive_by: datetime
    screening_valid_until: Optional[datetime] = None
    workers: Optional[list[WorkerIn]] = None

    @field_validator("id", mode="before")
    @classmethod
    def _text(cls, v: object) -> object:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(int(v)) if float(v).is_integer() else str(v)
        return v


class OrderPatch(BaseModel):
    """Change an order; only the fields given change. Counts of an order with a roster follow the roster."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"headcount": 45, "cleared": 45}]})

    id: Optional[str] = Field(default=None, max_length=100, description="your reference")
    origin: Optional[Location] = None
    site: Optional[str] = Field(default=None, max_length=MAX_NAME)
    headcount: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT,
                                     description=f"at most {MAX_HEADCOUNT} workers per order")
    cleared: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    failed: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    earliest_departure: Optional[datetime] = None
    arrive_by: Optional[datetime] = None
    screening_valid_until: Optional[datetime] = None


class ScreeningUpdate(BaseModel):
    """Screening results for a whole order: counts, or (with a roster) a status for all or listed workers."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"cleared": 40, "failed": 0, "screening_valid_until": "2027-02-13T08:00:00+08:00"},
        {"status": "cleared", "workers": [1, 2], "screening_valid_until": "2027-02-13T08:00:00+08:00"}]})

    cleared: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    failed: Optional[int] = Field(default=None, ge=0, le=MAX_HEADCOUNT)
    status: Optional[Screening] = None
    workers: Optional[list[int]] = None
    screening_valid_until: Optional[datetime] = None


class OrderOut(BaseModel):
    """A stored order. ``id`` is the service's id (used in plans); ``ref`` is the agency's own."""

    id: str
    ref: Optional[str] = None
    agency: str
    origin: dict[str, Any] = Field(description="the origin as given, with ``resolved``: the county it was "
                                               "placed in (code, name, city, province, county seat)")
    site: str
    headcount: int
    cleared: int
    failed: int
    earliest_departure: LocalTime
    arrive_by: LocalTime
    screening_valid_until: Optional[LocalTime] = None
    roster: int = Field(description="how many workers the roster lists (0: no roster)")
    created_at: LocalTime
    updated_at: LocalTime


class OrderDetail(OrderOut):
    workers: list[WorkerOut] = Field(default_factory=list)


class OrdersCreated(BaseModel):
    created: int
    orders: list[OrderOut]


# ------------------------------------------------------------------ plans


class PlanIn(BaseModel):
    """Start a plan of all current orders against the current reference data."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"time_limit": 60}, {"time_limit": 30, "base_plan": 3}]})

    time_limit: Optional[float] = Field(default=None, gt=0, description="seconds; default from settings")
    seed: int = Field(default=0, ge=0, le=MAX_INT, description="the solver's random seed")
    base_plan: Optional[int] = Field(
        default=None, description="keep this plan's dispatched trips; default: the latest done plan")
    keep_dispatched: bool = Field(default=True, description="false: plan everything afresh, ignoring dispatched trips")
    now: Optional[datetime] = Field(
        default=None, description="nothing is planned to leave before this time (default: the time of the request)")


class PlanCreated(BaseModel):
    id: int
    status: PlanStatus


class PlanOut(BaseModel):
    """A plan job: its status, progress and, when done, the summary."""

    id: int
    status: PlanStatus
    phase: Optional[str] = None
    fraction: Optional[float] = None
    best_cost: Optional[float] = None
    error: Optional[str] = None
    time_limit: float
    base_plan: Optional[int] = None
    fixed_trips: int = 0
    created_at: LocalTime
    started_at: Optional[LocalTime] = None
    finished_at: Optional[LocalTime] = None
    summary: Optional[dict[str, Any]] = None
    violations: Optional[list[dict[str, Any]]] = None
    #: the plan in force (the newest publication); ``version``: its latest publication's number
    published: bool = False
    version: Optional[int] = None


class DispatchOut(BaseModel):
    plan: int
    trip: str
    dispatched: bool
    dispatched_at: Optional[LocalTime] = None


# ------------------------------------------------------------------ match and move: registered workers


class MatchWorkerIn(BaseModel):
    """A worker an agency registers to be matched to a post (a contract ``Worker`` with a name, ID
    number and phone, which stay in the service: they never go to the planner). ``id`` is the
    agency's own reference, unique per agency; ``agency`` is always the caller's."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "HN-0001", "name": "张三", "id_number": "410526199001011234", "phone": "13812345678",
        "origin": {"county": "410526"}, "trades": {"SMT操作工": 3, "焊工": 2}, "choices": ["P1", "P3"],
        "min_monthly_wage": 4500, "earliest_departure": "2027-02-11T08:00:00+08:00", "screening": "cleared",
        "gender": "male"}]})

    id: Optional[str] = Field(default=None, max_length=100)
    agency: Optional[str] = Field(default=None, description="ignored: the caller's agency is used")
    name: str = Field(min_length=1, max_length=100)
    id_number: Optional[str] = Field(default=None, description="身份证号, 15 or 18 characters")
    phone: Optional[str] = None
    origin: Location
    trades: dict[str, int] = Field(default_factory=dict)
    choices: list[str] = Field(default_factory=list)
    min_monthly_wage: Optional[float] = None
    earliest_departure: datetime
    screening: Screening = "cleared"
    screening_valid_until: Optional[datetime] = None
    gender: Optional[Literal["male", "female"]] = None
    group: Optional[str] = Field(default=None, max_length=100)
    signed: Optional[str] = Field(default=None, max_length=100)

    _id_number = field_validator("id_number")(_check_id_number)
    _phone = field_validator("phone")(_check_phone)


class MatchWorkerOut(BaseModel):
    """A registered worker; ID number and phone in full for the worker's own agency, masked for
    everyone else."""

    id: str
    ref: Optional[str] = None
    agency: str
    name: str
    id_number: Optional[str] = None
    phone: Optional[str] = None
    origin: dict[str, Any]
    trades: dict[str, int]
    choices: list[str]
    min_monthly_wage: Optional[float] = None
    earliest_departure: LocalTime
    screening: Screening
    screening_valid_until: Optional[LocalTime] = None
    gender: Optional[str] = None
    group: Optional[str] = None
    signed: Optional[str] = None
    created_at: LocalTime


class MatchWorkersCreated(BaseModel):
    created: int
    workers: list[MatchWorkerOut]
