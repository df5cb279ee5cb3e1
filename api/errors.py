"""One error shape for the whole API: ``{"detail": message, "problems": [...]}``.

Every failure is mapped here once: our own :class:`ApiError`, HTTP errors raised by the
framework (unknown route, wrong method), invalid request bodies, the planner's
:class:`~planner.errors.InputError`, and anything unexpected (500, no internals shown).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planner.errors import InputError, Problem

log = logging.getLogger("fangang.api")

_ROW = re.compile(r"\brow (\d+)")


class ApiError(Exception):
    """An error answer: HTTP status, a clear message, and optionally every problem found."""

    def __init__(self, status: int, detail: str, problems: Optional[Iterable[Problem]] = None,
                 headers: Optional[dict[str, str]] = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = list(problems) if problems is not None else None
        self.headers = headers


def problem_json(p: Problem) -> dict[str, Any]:
    m = _ROW.search(p.where)
    return {"where": p.where, "row": int(m.group(1)) if m else None, "field": p.field,
            "message": p.message}


def error_body(detail: str, problems: Optional[Iterable[Problem]] = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail}
    if problems is not None:
        body["problems"] = [problem_json(p) for p in problems]
    return body


def _loc_text(loc: Iterable[Any]) -> tuple[str, str]:
    """A pydantic error location → (where, field): ``("body", 0, "site")`` → ``("orders[0]", "site")``."""
    parts = [p for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = parts.pop(0)
    else:
        kind = "body"
    where = kind
    if parts and isinstance(parts[0], int):
        where = f"{kind}[{parts.pop(0)}]"
    field = ""
    for p in parts:
        field += f"[{p}]" if isinstance(p, int) else (("." if field else "") + str(p))
    return where, field or kind


def validation_problems(errors: Iterable[dict[str, Any]]) -> list[Problem]:
    out = []
    for err in errors:
        where, field = _loc_text(err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err.get("type") == "missing":
            msg = "required field is missing"
        elif err.get("type") == "extra_forbidden":
            from planner.contract import unknown_field_message  # noqa: PLC0415

            msg = unknown_field_message(None, [p for p in err.get("loc", ()) if p != "body"])
        out.append(Problem(where, field, msg))
    return out


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        problems = exc.problems
        if exc.status == 422 and not problems:  # every 422 lists its problems, as documented
            problems = [Problem("request", "", exc.detail)]
        return JSONResponse(error_body(exc.detail, problems), status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(InputError)
    async def _input_error(_: Request, exc: InputError) -> JSONResponse:
        n = len(exc.problems)
        return JSONResponse(error_body(f"invalid input: {n} problem{'s' if n != 1 else ''}",
                                       exc.problems), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        first = f"{problems[0].where}: {problems[0].field}: {problems[0].message}" if problems else ""
        detail = "invalid request" + (f": {first}" if first else "")
        if len(problems) > 1:
            detail += f" (and {len(problems) - 1} more)"
        return JSONResponse(error_body(detail, problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        return JSONResponse(error_body(detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal error; the service log has the details"),
                            status_code=500)


class BodySizeLimit:
    """Reject request bodies over ``limit`` bytes with 413: by ``Content-Length``, or by counting
    the stream as the route reads it (chunked uploads)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body too large: the limit is {self.limit} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                response = JSONResponse(error_body(message), status_code=413)
                await response(scope, receive, send)
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, message)
            return msg

        await self.app(scope, counting_receive, send)
