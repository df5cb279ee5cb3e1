"""``Idempotency-Key``: a retried submission gets the first answer back instead of storing twice.

The key is remembered per caller together with a hash of the request and the answer, in the
same transaction as what the request stored, so either both are stored or neither is. A key
reused with a different request is refused (422).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ApiError
from .models import IdempotentRequest, Principal

MAX_KEY = 200


def request_hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8") if isinstance(p, str) else p)
        h.update(b"\x00")
    return h.hexdigest()


def check_key(key: Optional[str]) -> Optional[str]:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise ApiError(422, f"Idempotency-Key must be 1 to {MAX_KEY} characters")
    return key


@dataclass(frozen=True)
class Answer:
    """A service's answer to a request that may be replayed: its status and JSON body (``replayed``:
    the stored answer to an earlier request with the same key)."""

    status: int
    body: Any
    replayed: bool = False

    def response(self, headers: Optional[dict[str, str]] = None) -> JSONResponse:
        extra = {"Idempotent-Replayed": "true"} if self.replayed else {}
        return JSONResponse(self.body, status_code=self.status, headers={**extra, **(headers or {})} or None)


def replayed_answer(session: Session, principal: Principal, key: Optional[str], digest: str) -> Optional[Answer]:
    """The stored answer to an earlier request with this key, or None if there was none."""
    if key is None:
        return None
    row = session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.principal_id == principal.id, IdempotentRequest.key == key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise ApiError(422, "this Idempotency-Key was already used for a different request; use a new key")
    return Answer(row.status_code, row.body, replayed=True)


def replay(session: Session, principal: Principal, key: Optional[str], digest: str) -> Optional[JSONResponse]:
    """The stored answer to an earlier request with this key (as a response), or None."""
    answer = replayed_answer(session, principal, key, digest)
    return answer.response() if answer is not None else None


def remember(session: Session, principal: Principal, key: Optional[str], digest: str,
             status_code: int, body: Any) -> None:
    if key is not None:
        session.add(IdempotentRequest(principal_id=principal.id, key=key, request_hash=digest,
                                      status_code=status_code, body=body))
