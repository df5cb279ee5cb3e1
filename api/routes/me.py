"""``GET /v1/me``: who the API key belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import CurrentUser
from ..schemas import Me

router = APIRouter(prefix="/v1", tags=["keys"])


@router.get("/me", response_model=Me, summary="The caller: agency or coordinator")
def me(user: CurrentUser) -> Me:
    return Me(id=user.id, name=user.name, role=user.role)  # type: ignore[arg-type]
