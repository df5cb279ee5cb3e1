"""Typed dependencies of the routes: a DB session per request, the caller, their role.

Transactions are kept short on purpose (SQLite takes its write lock at ``BEGIN``): routes
commit as soon as they have read what they need, and do CPU work (parsing, resolving
addresses) outside a transaction.
"""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from .config import Settings
from .errors import ApiError
from .jobs import Runner
from .models import Principal
from .security import Protector, hash_api_key

_bearer = HTTPBearer(auto_error=False, description="an API key from `fangang admin create-agency|create-coordinator`")


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_protector(request: Request) -> Protector:
    return request.app.state.protector


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProtectorDep = Annotated[Protector, Depends(get_protector)]
RunnerDep = Annotated[Runner, Depends(get_runner)]


def current_principal(session: SessionDep,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                      ) -> Principal:
    """The caller, from ``Authorization: Bearer KEY``; 401 without a valid key."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer KEY'", headers=challenge)
    principal = session.scalar(
        select(Principal).where(Principal.key_hash == hash_api_key(credentials.credentials.strip())))
    session.commit()  # end the read transaction: the route opens its own
    if principal is None:
        raise ApiError(401, "invalid API key", headers=challenge)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_coordinator(user: CurrentUser) -> Principal:
    if user.role != "coordinator":
        raise ApiError(403, "only a park coordinator may do this")
    return user


Coordinator = Annotated[Principal, Depends(require_coordinator)]


def require_agency(user: CurrentUser) -> Principal:
    if user.role != "agency":
        raise ApiError(403, "only an HR agency submits orders; coordinators see and plan them")
    return user


Agency = Annotated[Principal, Depends(require_agency)]
