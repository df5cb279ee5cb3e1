"""Database tables as SQLAlchemy 2 typed ORM classes.

These are storage, not API schemas (those are in :mod:`api.schemas`). Times are stored in UTC
and come back timezone-aware; ID numbers and phones of workers are stored encrypted, beside a
masked copy for display.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; SQLite keeps no offset, so we put it back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Principal(Base):
    """Someone holding an API key: an HR agency or a park coordinator."""

    __tablename__ = "principals"
    __table_args__ = (UniqueConstraint("role", "name", name="uq_principals_role_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # "agency" | "coordinator"
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _LocationColumns:
    """A contract Location flattened: exactly one of county, address or lat+lon is set."""

    county: Mapped[Optional[str]] = mapped_column(String(12))
    address: Mapped[Optional[str]] = mapped_column(Text)
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)
    place_name: Mapped[Optional[str]] = mapped_column(String(200))


class Site(_LocationColumns, Base):
    """A factory that receives workers."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    receive_from: Mapped[str] = mapped_column(String(8))
    receive_until: Mapped[str] = mapped_column(String(8))
    intake_per_day: Mapped[Optional[int]]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Depot(_LocationColumns, Base):
    """A coach yard."""

    __tablename__ = "depots"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class VehicleType(Base):
    """A type of coach in the fleet."""

    __tablename__ = "vehicle_types"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seats: Mapped[int]
    count: Mapped[int]
    depot: Mapped[str] = mapped_column(String(100))
    fixed_cost: Mapped[float] = mapped_column(default=0.0)
    cost_per_km: Mapped[float] = mapped_column(default=0.0)
    crew_cost: Mapped[float] = mapped_column(default=0.0)
    available_from: Mapped[datetime]
    available_until: Mapped[datetime]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Region(Base):
    """A county's risk level over a period."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    county: Mapped[str] = mapped_column(String(12), index=True)
    risk: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[Optional[datetime]]
    valid_until: Mapped[Optional[datetime]]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Station(_LocationColumns, Base):
    """A railway station where workers board or leave a train."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TrainOffer(Base):
    """A train the railway offers (a special train or reserved cars), as the contract gives it."""

    __tablename__ = "train_offers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(10))
    offer: Mapped[dict[str, Any]] = mapped_column()  # the contract's TrainOffer, as JSON


class ReferenceSettings(Base):
    """The single row of scenario-wide reference data: its name and the policy."""

    __tablename__ = "reference_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="scenario")
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Order(_LocationColumns, Base):
    """An agency's headcount: workers of one home place bound for one site."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("agency_id", "ref", name="uq_orders_agency_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    ref: Mapped[Optional[str]] = mapped_column(String(100))
    #: the county the origin was placed in when the order was stored (shown as ``origin.resolved``)
    resolved_county: Mapped[Optional[str]] = mapped_column(String(6))
    site: Mapped[str] = mapped_column(String(100))
    headcount: Mapped[int]
    cleared: Mapped[int]
    failed: Mapped[int] = mapped_column(default=0)
    earliest_departure: Mapped[datetime]
    arrive_by: Mapped[datetime]
    screening_valid_until: Mapped[Optional[datetime]]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    agency: Mapped[Principal] = relationship(lazy="joined")
    workers: Mapped[list["Worker"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Worker.id")


class Worker(Base):
    """One worker of an order's roster; ID number and phone are encrypted, with masked copies."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number_enc: Mapped[Optional[str]] = mapped_column(Text)
    id_number_masked: Mapped[Optional[str]] = mapped_column(String(40))
    phone_enc: Mapped[Optional[str]] = mapped_column(Text)
    phone_masked: Mapped[Optional[str]] = mapped_column(String(40))
    hometown: Mapped[Optional[str]] = mapped_column(Text)
    screening: Mapped[str] = mapped_column(String(10), default="pending")
    screening_valid_until: Mapped[Optional[datetime]]

    order: Mapped[Order] = relationship(back_populates="workers")


class OrderUpload(Base):
    """A file of orders an agency uploaded: the same file twice is answered with the first upload."""

    __tablename__ = "order_uploads"
    __table_args__ = (UniqueConstraint("agency_id", "sha256", name="uq_order_uploads_agency_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    orders: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotentRequest(Base):
    """A submission made with an ``Idempotency-Key``, and the answer it got."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("principal_id", "key", name="uq_idempotent_principal_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanJob(Base):
    """A plan: the job that makes it, its input snapshot, its progress and its result."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    time_limit: Mapped[float]
    seed: Mapped[int] = mapped_column(default=0)
    base_plan_id: Mapped[Optional[int]] = mapped_column(ForeignKey("plans.id"))
    phase: Mapped[Optional[str]] = mapped_column(String(40))
    fraction: Mapped[Optional[float]]
    best_cost: Mapped[Optional[float]]
    error: Mapped[Optional[str]] = mapped_column(Text)
    violations: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    runner_id: Mapped[Optional[str]] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    heartbeat_at: Mapped[Optional[datetime]]


class Dispatch(Base):
    """A trip of a plan that a coordinator marked dispatched: re-plans keep it as it is."""

    __tablename__ = "dispatches"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    trip_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    dispatched_by: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Post(Base):
    """Openings of one trade at a firm's site (match and move), kept by coordinators."""

    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    site: Mapped[str] = mapped_column(String(100), index=True)
    firm: Mapped[str] = mapped_column(String(200), default="")
    trade: Mapped[str] = mapped_column(String(100))
    min_level: Mapped[int] = mapped_column(default=0)
    openings: Mapped[int]
    monthly_wage: Mapped[float]
    start_by: Mapped[datetime]
    dorm: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MatchWorker(_LocationColumns, Base):
    """A worker an agency registered to be matched to a post (match and move); ID number and phone
    are encrypted, with masked copies. ``ref`` is the agency's own id, unique per agency."""

    __tablename__ = "match_workers"
    __table_args__ = (UniqueConstraint("agency_id", "ref", name="uq_match_workers_agency_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    ref: Mapped[Optional[str]] = mapped_column(String(100))
    resolved_county: Mapped[Optional[str]] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(100), default="")
    id_number_enc: Mapped[Optional[str]] = mapped_column(Text)
    id_number_masked: Mapped[Optional[str]] = mapped_column(String(40))
    phone_enc: Mapped[Optional[str]] = mapped_column(Text)
    phone_masked: Mapped[Optional[str]] = mapped_column(String(40))
    trades: Mapped[dict[str, Any]] = mapped_column(default=dict)
    choices: Mapped[list[Any]] = mapped_column(default=list)
    min_monthly_wage: Mapped[Optional[float]]
    earliest_departure: Mapped[datetime]
    screening: Mapped[str] = mapped_column(String(10), default="cleared")
    screening_valid_until: Mapped[Optional[datetime]]
    gender: Mapped[Optional[str]] = mapped_column(String(10))
    group_name: Mapped[Optional[str]] = mapped_column(String(100))
    signed: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Principal] = relationship(lazy="joined")


class Publication(Base):
    """A plan published as the plan in force: the newest publication is in force; ``version``
    counts publications (1, 2, …), so agencies can tell which plan they read."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(unique=True, index=True)
    published_by: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[Optional[str]] = mapped_column(Text)


class ChangeRecord(Base):
    """Who changed which reference data, when, from what to what (risk regions, fleet, policy)."""

    __tablename__ = "change_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # "region", "fleet", "policy"
    key: Mapped[Optional[str]] = mapped_column(String(100))  # the county code, coach type id, …
    action: Mapped[str] = mapped_column(String(20))  # "set", "delete", "replace"
    before: Mapped[Optional[Any]] = mapped_column(JSON)
    after: Mapped[Optional[Any]] = mapped_column(JSON)
    changed_by: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
