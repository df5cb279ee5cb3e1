"""The OpenAPI document says what the service answers, not what FastAPI assumes.

FastAPI documents a 422 with its own ``HTTPValidationError`` shape and every route's file as
JSON; the service answers every error as ``{"detail", "problems"}`` (:mod:`api.errors`) and its
exports as CSV, XLSX or PDF. :func:`install` post-processes the generated document once, from
what each route is:

* every error answer uses :class:`~api.schemas.ErrorOut`, FastAPI's 422 shape is gone;
* 401 on every route that needs a key; 403 where a role is required (``Coordinator`` or
  ``Agency`` among its dependencies) or the route says so; 404 on routes with path ids (and
  where declared); 409 on writes (a stored state, an ``Idempotency-Key`` or a concurrent
  submission can conflict) and where declared; 400 (not JSON, not a form) and 413 where a body
  is read; 422 wherever a
  parameter or a body is read (and where declared);
* ``….{fmt}`` exports answer ``text/csv`` or the XLSX type, ``….pdf`` ``application/pdf``.

Routes keep their own ``responses=`` descriptions; this only adds what they leave out.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute

from .deps import require_agency, require_coordinator
from .schemas import ErrorOut

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES = {".{fmt}": {"text/csv": "a CSV table (UTF-8 with BOM)", XLSX: "an Excel workbook"},
         ".pdf": {"application/pdf": "an A4 PDF"}}

ERRORS = {
    400: "the body cannot be read as JSON or as a form",
    401: "no valid API key (send `Authorization: Bearer KEY`)",
    403: "not allowed for this role",
    404: "no such resource, or not one the caller may see",
    409: "conflicts with what is stored (the detail says what)",
    413: "the request is too large (body size or number of rows)",
    422: "invalid input; every problem is listed",
}
_REF = {"$ref": "#/components/schemas/ErrorOut"}
_WRITES = {"post", "put", "patch", "delete"}


def _api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, also inside routers FastAPI includes lazily."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path_format, r
        elif getattr(r, "original_router", None) is not None:  # FastAPI ≥ 0.16x: an included router
            context = getattr(r, "include_context", None)
            yield from _api_routes(r.original_router.routes, prefix + (getattr(context, "prefix", "") or ""))


def _needs_role(route: APIRoute) -> bool:
    roles: set[Callable[..., Any]] = {require_coordinator, require_agency}
    todo = list(route.dependant.dependencies)
    while todo:
        dep = todo.pop()
        if dep.call in roles:
            return True
        todo.extend(dep.dependencies)
    return False


def _errors_of(op: dict[str, Any], path: str, method: str, role: bool) -> set[int]:
    declared = {int(code) for code in op.get("responses", {}) if str(code).isdigit() and int(code) >= 400}
    params = op.get("parameters", [])
    out = set(declared)
    if op.get("security"):
        out.add(401)
    if role:
        out.add(403)
    if any(p.get("in") == "path" for p in params):
        out.add(404)
    if method in _WRITES and path.startswith("/v1/"):
        out.add(409)
    if "requestBody" in op:
        out |= {400, 413, 422}
    if params:
        out.add(422)
    return out


def _fmt_values(op: dict[str, Any]) -> set[str]:
    """The values the ``fmt`` path parameter may take (its enum)."""
    for p in op.get("parameters", []):
        if p.get("name") == "fmt":
            schema = p.get("schema", {})
            options = [schema, *schema.get("anyOf", [])]
            return {str(v) for o in options for v in o.get("enum", [o["const"]] if "const" in o else [])}
    return set()


def annotate(doc: dict[str, Any], app: FastAPI) -> None:
    """Rewrite ``doc`` (the generated OpenAPI document of ``app``) in place."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault("ErrorOut", {k: v for k, v in ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}").items() if k != "$defs"})
    roles = {(path, m.lower()): _needs_role(r) for path, r in _api_routes(app.routes) for m in r.methods or ()}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            for code in sorted(_errors_of(op, path, method, roles.get((path, method), False))):
                entry = responses.setdefault(str(code), {"description": ERRORS.get(code, "error")})
                entry["content"] = {"application/json": {"schema": dict(_REF)}}
            for suffix, types in FILES.items():
                if path.endswith(suffix) and method == "get":
                    ok = responses.setdefault("200", {})
                    ok["description"] = " or ".join(types.values())
                    ok["content"] = {t: {"schema": {"type": "string", "format": "binary"}} for t in types}
                    if "json" in _fmt_values(op):  # report.json, worker-posts.json: the same as JSON
                        ok["content"]["application/json"] = {"schema": {"type": "object"}}
                        ok["description"] += " or JSON"
    text = repr(doc.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the annotated document (built once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate()
            annotate(doc, app)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
