"""``GET /health``: is the service up? Never touches the solver or the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the service answers and its plan runner is alive")
async def health(request: Request) -> dict[str, Any]:
    runner = getattr(request.app.state, "runner", None)
    return {"status": "ok",
            "runner": None if runner is None else {"alive": runner.alive, "running": len(runner.running())}}
