"""The service as a whole: health, JSON errors everywhere, request size limits, OpenAPI, migrations."""

from __future__ import annotations

import ast
import pathlib

from fastapi.testclient import TestClient

from api.main import create_app

import api_factories as f
from api_helpers import add_principal

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_health_needs_no_key(client):
    """GET /health answers without a key and reports the plan runner alive."""
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["runner"]["alive"] is True


def test_errors_are_json(client, agency_a):
    """Unknown routes, wrong methods and invalid bodies all answer JSON with a clear detail."""
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and "no such resource" in r.json()["detail"]
    r = client.put("/health")
    assert r.status_code == 405 and "not allowed" in r.json()["detail"]
    r = client.post("/v1/orders", json={"not": "a list"}, headers=agency_a)
    assert r.status_code == 422 and r.json()["detail"].startswith("invalid request")
    r = client.get("/v1/orders/abc", headers=agency_a)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "order_id"


def test_request_size_limit(make_settings):
    """A body over the size limit is refused with 413 before it is read, as JSON."""
    with TestClient(create_app(make_settings(max_request_bytes=2000))) as client:
        agency = add_principal(client, "agency", "a")
        data = f.csv_bytes(f.CHINESE_HEADERS, f.order_rows(100))
        r = client.post("/v1/orders/upload", files={"file": ("o.csv", data)}, headers=agency)
        assert r.status_code == 413 and "too large" in r.json()["detail"]

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b"x" * 500
        r = client.post("/v1/orders", content=chunks(), headers={**agency, "Content-Type": "application/json"})
        assert r.status_code == 413


def test_order_count_limit(make_settings):
    """More orders in one request than allowed is refused with 413."""
    with TestClient(create_app(make_settings(max_orders_per_request=3))) as client:
        agency = add_principal(client, "agency", "a")
        r = client.post("/v1/orders", json=[f.order(id=str(i)) for i in range(4)], headers=agency)
        assert r.status_code == 413


def test_openapi_has_examples_and_error_shape(client):
    """The OpenAPI document lists every route, with request examples and the JSON error shape."""
    spec = client.get("/openapi.json").json()
    assert "/v1/orders/upload" in spec["paths"] and "/v1/plans/{plan_id}/manifests.{fmt}" in spec["paths"]
    body = spec["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]
    assert "ErrorOut" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_migrations_match_the_models(settings):
    """The Alembic migrations build exactly the schema the ORM models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db import make_engine, upgrade
    from api.models import Base

    engine = make_engine(settings.sqlalchemy_url())
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_planner_does_not_import_the_service():
    """planner/ never imports api, FastAPI, SQLAlchemy or Alembic (the dependency goes one way)."""
    banned = {"api", "fastapi", "sqlalchemy", "alembic", "starlette", "uvicorn"}
    for path in (ROOT / "planner").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.relative_to(ROOT)} imports {name}"


def test_fangang_serve_starts_and_migrates(database_url, tmp_path):
    """`fangang serve` upgrades an empty database, answers /health, and stops cleanly on SIGTERM."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FANGANG_DATABASE_URL=database_url, FANGANG_DATA_DIR=str(tmp_path / "var"))
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "fangang serve exited"
                assert time.monotonic() < deadline, "fangang serve did not answer in 60 s"
                time.sleep(0.2)
        assert r.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/me", timeout=5).status_code == 401  # tables exist
    finally:
        proc.terminate()
        assert proc.wait(30) in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
