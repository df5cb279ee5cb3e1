"""One error shape for the whole API: ``{"detail": message, "problems": [...]}``.

Every failure is mapped here once: our own :class:`ApiError`, HTTP errors raised by the
framework (unknown route, wrong method), invalid request bodies, the planner's
:class:`~planner.errors.InputError`, and anything unexpected (500, no internals shown).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, Iterable, Optional

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
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

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # a value the database cannot store that no check before caught (too long for its column,
        # out of range): the caller's input, so a 422, not a 500; logged without the value
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, _kind(exc))
        msg = "数据库无法保存某个值（过长或超出范围） a value is too long or out of range for the database"
        return JSONResponse(error_body(msg, [Problem("request", "", msg)]), status_code=422)

    from .bounds import check_request  # noqa: PLC0415  (bounds uses ApiError from here)

    # every route: ids and numbers beyond the database's integers, NUL characters, too long text
    app.router.dependencies.append(Depends(check_request))
    app.add_middleware(CatchAll)


#: the answer to anything unexpected (no internals shown)
INTERNAL = "internal error; the service log has the details"


def _kind(exc: BaseException) -> str:
    """An exception's kind and its causes' kinds, never its text (which may hold a statement's
    parameters: workers' names, addresses, ID numbers)."""
    kinds = []
    seen: set[int] = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        kinds.append(f"{type(e).__module__}.{type(e).__qualname__}")
        e = e.__cause__ or e.__context__
    return " <- ".join(kinds)


def log_unexpected(method: str, path: str, exc: BaseException) -> None:
    """Log an unexpected error once: where it happened (the traceback's frames) and what kind it
    was, without the exception's text."""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    log.error("unexpected error on %s %s: %s\n%s", method, path, _kind(exc), frames.rstrip())


class CatchAll:
    """Anything a route raises that no handler answers becomes a 500 here, logged once by
    :func:`log_unexpected` — and not raised on to the server, which would log it (with its text)
    a second time."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:  # noqa: BLE001
            log_unexpected(scope.get("method", ""), scope.get("path", ""), exc)
            if not started:
                await JSONResponse(error_body(INTERNAL), status_code=500)(scope, receive, send)


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
