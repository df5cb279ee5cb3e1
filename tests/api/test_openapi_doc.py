"""The OpenAPI document is the contract: errors in the service's own shape, files as files, no console."""

from __future__ import annotations

from api.config import Settings
from api.main import create_app
from api.openapi_doc import XLSX


def _doc() -> dict:
    return create_app(Settings(database_url="sqlite://", secret_key="x", run_jobs=False)).openapi()


def test_every_error_is_the_problem_list():
    """No operation documents FastAPI's HTTPValidationError; every 4xx answer is ErrorOut
    ({detail, problems[where, row, field, message]}); keyed routes document 401, routes with ids 404."""
    doc = _doc()
    assert "HTTPValidationError" not in repr(doc)
    problem = doc["components"]["schemas"]["ProblemOut"]["properties"]
    assert set(problem) == {"where", "row", "field", "message"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = {int(c) for c in op["responses"] if c.isdigit()}
            for code in codes - set(range(100, 400)):
                assert op["responses"][str(code)]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"}, (method, path, code)
            if path.startswith("/v1/"):
                assert 401 in codes, (method, path)
            if "{" in path:
                assert {404, 422} <= codes, (method, path)
            if "requestBody" in op:
                assert {400, 413, 422} <= codes, (method, path)
    assert "403" in doc["paths"]["/v1/reference"]["put"]["responses"]  # coordinators only
    assert "403" in doc["paths"]["/v1/orders"]["post"]["responses"]  # agencies only
    assert "403" not in doc["paths"]["/v1/me"]["get"]["responses"]


def test_exports_are_documented_as_files():
    """CSV/XLSX exports answer text/csv or the XLSX type, PDFs application/pdf — not JSON."""
    doc = _doc()
    for path in ("/v1/plans/{plan_id}/manifests.{fmt}", "/v1/plans/{plan_id}/boarding.{fmt}",
                 "/v1/plans/{plan_id}/notify.{fmt}"):
        assert set(doc["paths"][path]["get"]["responses"]["200"]["content"]) == {"text/csv", XLSX}, path
    for path in ("/v1/plans/{plan_id}/report.{fmt}", "/v1/plans/{plan_id}/worker-posts.{fmt}"):  # also .json
        assert set(doc["paths"][path]["get"]["responses"]["200"]["content"]) == {"text/csv", XLSX, "application/json"}
    for path in ("/v1/plans/{plan_id}/manifests.pdf", "/v1/plans/{plan_id}/dispatch.pdf"):
        assert set(doc["paths"][path]["get"]["responses"]["200"]["content"]) == {"application/pdf"}, path
    assert set(doc["paths"]["/v1/orders/{order_id}"]["delete"]["responses"]["204"]) == {"description"}


def test_the_console_is_not_in_the_schema():
    """The HTML console's pages and forms are not API operations."""
    assert not [p for p in _doc()["paths"] if p == "/" or p.startswith(("/console", "/sign-"))]
