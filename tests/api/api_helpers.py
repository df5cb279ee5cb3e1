"""Helpers of the service tests: API keys straight into the database, waiting for a plan."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from api.models import Principal
from api.security import hash_api_key, new_api_key


def add_principal(client: TestClient, role: str, name: str) -> dict[str, str]:
    """Create a key holder straight in the database; returns the request headers for it."""
    key = new_api_key()
    with client.app.state.sessions.begin() as s:  # type: ignore[attr-defined]
        s.add(Principal(name=name, role=role, key_hash=hash_api_key(key), key_prefix=key[:10]))
    return {"Authorization": f"Bearer {key}"}


def publish(client: TestClient, plan_id: int, headers: dict[str, str]) -> dict[str, Any]:
    """Make a done plan the plan in force (agencies read only that one)."""
    r = client.post(f"/v1/plans/{plan_id}/publish", headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def wait_for(client: TestClient, plan_id: int, headers: dict[str, str], statuses: tuple[str, ...] = (
        "done", "failed", "cancelled"), timeout: float = 60.0) -> dict[str, Any]:
    """Poll a plan until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/plans/{plan_id}", headers=headers).json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"plan {plan_id} still {body['status']} after {timeout} s: {body}")
        time.sleep(0.1)
