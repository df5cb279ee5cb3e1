"""API keys and roles: 401 without a valid key, 403 for the wrong role, keys from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app as cli_app

import api_factories as f

#: (method, path, who may: "agency", "coordinator" or both)
MATRIX = [
    ("GET", "/v1/me", {"agency", "coordinator"}),
    ("GET", "/v1/reference", {"coordinator"}),
    ("PUT", "/v1/reference", {"coordinator"}),
    ("GET", "/v1/reference/policy", {"coordinator"}),
    ("PUT", "/v1/reference/policy", {"coordinator"}),
    ("GET", "/v1/reference/sites", {"agency", "coordinator"}),
    ("PUT", "/v1/reference/sites/F2", {"coordinator"}),
    ("DELETE", "/v1/reference/sites/F2", {"coordinator"}),
    ("GET", "/v1/reference/depots", {"coordinator"}),
    ("PUT", "/v1/reference/depots/D2", {"coordinator"}),
    ("GET", "/v1/reference/fleet", {"coordinator"}),
    ("PUT", "/v1/reference/fleet/coach19", {"coordinator"}),
    ("DELETE", "/v1/reference/fleet/coach19", {"coordinator"}),
    ("GET", "/v1/reference/regions", {"agency", "coordinator"}),
    ("PUT", "/v1/reference/regions", {"coordinator"}),
    ("PUT", "/v1/reference/regions/410526", {"coordinator"}),
    ("DELETE", "/v1/reference/regions/410526", {"coordinator"}),
    ("POST", "/v1/orders", {"agency"}),
    ("POST", "/v1/orders/upload", {"agency"}),
    ("GET", "/v1/orders", {"agency", "coordinator"}),
    ("GET", "/v1/orders/1", {"agency", "coordinator"}),
    ("PATCH", "/v1/orders/1", {"agency", "coordinator"}),
    ("DELETE", "/v1/orders/1", {"agency", "coordinator"}),
    ("GET", "/v1/orders/1/workers", {"agency", "coordinator"}),
    ("PUT", "/v1/orders/1/workers", {"agency", "coordinator"}),
    ("PUT", "/v1/orders/1/workers/upload", {"agency", "coordinator"}),
    ("PATCH", "/v1/orders/1/workers/1", {"agency", "coordinator"}),
    ("POST", "/v1/orders/1/screening", {"agency", "coordinator"}),
    ("POST", "/v1/plans", {"coordinator"}),
    ("GET", "/v1/plans", {"agency", "coordinator"}),
    ("GET", "/v1/plans/1", {"agency", "coordinator"}),
    ("DELETE", "/v1/plans/1", {"coordinator"}),
    ("GET", "/v1/plans/1/plan.json", {"agency", "coordinator"}),
    ("GET", "/v1/plans/1/input.json", {"coordinator"}),
    ("GET", "/v1/plans/1/trips", {"agency", "coordinator"}),
    ("POST", "/v1/plans/1/trips/T1/dispatch", {"coordinator"}),
    ("DELETE", "/v1/plans/1/trips/T1/dispatch", {"coordinator"}),
    ("GET", "/v1/plans/1/manifests.csv", {"agency", "coordinator"}),
    ("GET", "/v1/plans/1/schedule.csv", {"coordinator"}),
    ("GET", "/v1/plans/1/boarding.csv", {"agency", "coordinator"}),
    ("GET", "/v1/plans/1/report.json", {"agency", "coordinator"}),
]


def test_role_matrix(client, agency_a, coordinator):
    """Every endpoint answers 401 without a key and 403 to a role that may not use it; the others pass the gate."""
    roles = {"agency": agency_a, "coordinator": coordinator}
    for method, path, allowed in MATRIX:
        for headers in ({}, {"Authorization": "Bearer fg_not-a-key"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["detail"] and r.headers["WWW-Authenticate"] == "Bearer"
        for role, headers in roles.items():
            r = client.request(method, path, headers=headers)
            if role in allowed:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.status_code)
                assert "detail" in r.json()


def test_malformed_authorization_header(client):
    """A non-Bearer Authorization header is refused with 401 and a JSON message."""
    r = client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and "API key" in r.json()["detail"]


def test_me(client, agency_a, coordinator):
    """GET /v1/me tells who the key belongs to."""
    assert client.get("/v1/me", headers=agency_a).json()["role"] == "agency"
    assert client.get("/v1/me", headers=coordinator).json()["name"] == "park"


def test_cli_creates_keys_that_work(client, settings, monkeypatch):
    """`fangang admin create-agency/-coordinator` print a key as the last word; it is stored hashed and works."""
    monkeypatch.setenv("FANGANG_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    out = runner.invoke(cli_app, ["admin", "create-agency", "豫才人力"])
    assert out.exit_code == 0, out.output
    key = out.output.split()[-1]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me == {"id": me["id"], "name": "豫才人力", "role": "agency"}
    out = runner.invoke(cli_app, ["admin", "create-coordinator", "park office"])
    assert out.exit_code == 0
    coord_key = out.output.split()[-1]
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {coord_key}"}).json()["role"] == "coordinator"
    again = runner.invoke(cli_app, ["admin", "create-agency", "豫才人力"])
    assert again.exit_code == 1 and "already" in again.output
    from sqlalchemy import select

    from api.models import Principal
    with client.app.state.sessions() as s:
        stored = s.scalars(select(Principal.key_hash)).all()
    assert key not in stored and all(len(h) == 64 for h in stored)


@pytest.mark.parametrize("path", ["/v1/orders/{oid}", "/v1/orders/{oid}/workers"])
def test_cross_agency_answers_like_missing(client, agency_a, agency_b, with_reference, path):
    """Another agency's order and a missing one give the same 404, so existence is not revealed."""
    oid = client.post("/v1/orders", json=[f.order(workers=[f.worker()], headcount=None, cleared=None)],
                      headers=agency_a).json()["orders"][0]["id"]
    theirs = client.get(path.format(oid=oid), headers=agency_b)
    missing = client.get(path.format(oid=int(oid) + 1000), headers=agency_b)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(oid, "N") == missing.json()["detail"].replace(str(int(oid) + 1000), "N")
