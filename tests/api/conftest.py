"""Fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
``FANGANG_TEST_POSTGRES_URL`` is set (each test in a schema of its own, dropped after)."""

from __future__ import annotations

import os
import uuid
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.main import create_app

import api_factories as factories
from api_helpers import add_principal, publish, wait_for

PG_ENV = "FANGANG_TEST_POSTGRES_URL"


def _pg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database URL for an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fangang.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; "
                    ".ci/run sets it); not set here")
    from sqlalchemy import create_engine, text

    base = _pg_url(base)
    schema = f"fg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_settings(database_url: str, tmp_path: Any) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        values: dict[str, Any] = dict(database_url=database_url, data_dir=tmp_path / "var", secret_key="test-secret",
                                      heartbeat_seconds=0.3, job_stale_seconds=30, default_time_limit=3)
        values.update(changes)
        return Settings(**values)
    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def coordinator(client: TestClient) -> dict[str, str]:
    return add_principal(client, "coordinator", "park")


@pytest.fixture
def agency_a(client: TestClient) -> dict[str, str]:
    return add_principal(client, "agency", "agency-a")


@pytest.fixture
def agency_b(client: TestClient) -> dict[str, str]:
    return add_principal(client, "agency", "agency-b")


@pytest.fixture
def with_reference(client: TestClient, coordinator: dict[str, str]) -> dict[str, Any]:
    r = client.put("/v1/reference", json=factories.reference(), headers=coordinator)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def done_plan(client, coordinator, agency_a, agency_b, with_reference):
    """A done plan: agency-a has a roster of 3 (2 cleared) from 滑县, agency-b 30 workers from 林州."""
    roster = [factories.worker("张三"), factories.worker("李四", id_number="410526199202021111", phone="13900001111"),
              factories.worker("王五", screening="pending", id_number="410526199303033333", phone="13700003333")]
    r = client.post("/v1/orders", json=[factories.order(headcount=None, cleared=None, workers=roster)], headers=agency_a)
    assert r.status_code == 201, r.text
    r = client.post("/v1/orders", json=[factories.order(id="B1", origin={"county": "410581"}, headcount=30, cleared=30)],
                    headers=agency_b)
    assert r.status_code == 201, r.text
    plan_id = client.post("/v1/plans", json={"time_limit": 2}, headers=coordinator).json()["id"]
    assert wait_for(client, plan_id, coordinator)["status"] == "done"
    publish(client, plan_id, coordinator)  # agencies read the plan in force only
    return plan_id
