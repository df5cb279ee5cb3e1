"""Fuzz benchmark of the service's HTTP API: schemathesis over the whole OpenAPI document, in process.

1. Builds the app on a fresh SQLite file (``--postgres URL``: also on a fresh schema of that
   PostgreSQL database), creates a coordinator and an agency, puts a small park's reference
   data, has the agency submit an order with a roster and register a worker, solves one plan
   (1 s) and publishes it: so that generated requests can reach real plans, orders and trips.
2. Restarts the app on the same database with the plan runner off (plans posted while fuzzing
   queue but never solve), and for every operation, as the coordinator and as the agency, with
   data that fits the schema and data that does not, sends generated requests (hypothesis,
   derandomised) — half of them with the path's ids replaced by ids that exist.
3. Checks every answer: no 5xx, and the answer conforms to the OpenAPI document (its status is
   documented, its content type too, its body matches the documented schema).

Prints a table per operation with failures (and the totals): requests, statuses by class, 5xx,
schema mismatches; then one example request per distinct failure. The suite's
``tests/api/test_fuzz.py`` runs the same with a small budget. Usage::

    python -m benchmarks.fuzz [--requests 10000] [--seconds 900] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

#: how many characters of a failing request's body the report shows
_SHOWN = 300
#: the checks every answer must pass (schemathesis's names)
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")


@dataclass
class Failure:
    """One distinct failure: the operation, who asked, what went wrong, and an example request."""

    operation: str
    principal: str
    kind: str
    status: int
    request: str
    detail: str


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: int = 0
    mismatches: int = 0


@dataclass
class Report:
    """What a fuzz run saw, per operation label (``GET /v1/plans/{plan_id}``)."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    failures: dict[tuple[str, str, int], Failure] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tallies.values())

    @property
    def server_errors(self) -> int:
        return sum(t.server_errors for t in self.tallies.values())

    @property
    def mismatches(self) -> int:
        return sum(t.mismatches for t in self.tallies.values())

    def statuses(self) -> Counter:
        out: Counter = Counter()
        for t in self.tallies.values():
            out.update(t.statuses)
        return out


# ------------------------------------------------------------------ a small park to fuzz against

_AT = "2027-02-{:02d}T{}:00+08:00"
REFERENCE: dict[str, Any] = {
    "name": "fuzz",
    "sites": [{"id": "F1", "name": "Factory 1", "location": {"lat": 34.53, "lon": 113.84},
               "receive_from": "07:00", "receive_until": "22:00", "intake_per_day": 500}],
    "depots": [{"id": "D1", "name": "park coach yard", "location": {"lat": 34.56, "lon": 113.81}}],
    "fleet": [{"id": "coach53", "seats": 53, "count": 3, "depot": "D1", "fixed_cost": 1000, "cost_per_km": 7,
               "crew_cost": 600, "available_from": _AT.format(11, "00:00"), "available_until": _AT.format(21, "00:00")}],
    "regions": [], "policy": {},
}
#: names, addresses and ids a spreadsheet would take for formulas
FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "=1+2", "+1", "-1", "@SUM(A1)"]


def _order(oid: str, county: str, workers: Optional[list[dict[str, Any]]] = None, headcount: int = 12) -> dict[str, Any]:
    out: dict[str, Any] = {"id": oid, "origin": {"county": county}, "site": "F1",
                           "earliest_departure": _AT.format(11, "08:00"), "arrive_by": _AT.format(12, "20:00")}
    if workers is None:
        out.update(headcount=headcount, cleared=headcount)
    else:
        out["workers"] = workers
    return out


def _worker(i: int, name: str) -> dict[str, Any]:
    return {"name": name, "id_number": f"41052619900101{1000 + i:04d}", "phone": f"1381234{5000 + i:04d}",
            "hometown": FORMULAS[i % len(FORMULAS)], "screening": "cleared",
            "screening_valid_until": _AT.format(14, "00:00")}


def add_key(app: Any, role: str, name: str) -> dict[str, str]:
    """A key holder straight in the database (as ``fangang admin`` does); the request headers for it."""
    from api.models import Principal
    from api.security import hash_api_key, new_api_key

    key = new_api_key()
    with app.state.sessions.begin() as s:
        s.add(Principal(name=name, role=role, key_hash=hash_api_key(key), key_prefix=key[:10]))
    return {"Authorization": f"Bearer {key}"}


def seed(client: Any) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[Any]]]:
    """Keys, reference data, orders (one with a roster whose text looks like formulas), a
    registered worker, one done and published plan. Returns the principals' headers and the
    ids that exist, by (first path segment after /v1, path parameter)."""
    coordinator = add_key(client.app, "coordinator", "park")
    agency = add_key(client.app, "agency", "agency-a")

    def ok(r: Any) -> Any:
        if r.status_code >= 300:
            raise RuntimeError(f"seeding failed: {r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    ok(client.put("/v1/reference", json=REFERENCE, headers=coordinator))
    roster = [_worker(i, name) for i, name in enumerate(["张三", *FORMULAS[:3]])]
    orders = ok(client.post("/v1/orders", json=[_order("=1+2", "410526", roster), _order("B1", "410581")],
                            headers=agency))
    order_ids = [o["id"] for o in orders["orders"]] if isinstance(orders, dict) and "orders" in orders else []
    if not order_ids:
        order_ids = [o["id"] for o in ok(client.get("/v1/orders", headers=agency))["orders"]]
    roster_ids = [w["id"] for w in ok(client.get(f"/v1/orders/{order_ids[0]}", headers=agency)).get("workers", [])]
    plan = ok(client.post("/v1/plans", json={"time_limit": 1}, headers=coordinator))
    deadline = time.monotonic() + 120
    while (status := ok(client.get(f"/v1/plans/{plan['id']}", headers=coordinator))["status"]) not in (
            "done", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the seed plan is still {status} after 120 s")
        time.sleep(0.2)
    if status != "done":
        raise RuntimeError(f"the seed plan is {status}")
    ok(client.post(f"/v1/plans/{plan['id']}/publish", headers=coordinator))
    trips = ok(client.get(f"/v1/plans/{plan['id']}/trips", headers=coordinator))
    trip_ids = [t["id"] for t in (trips.get("trips", []) if isinstance(trips, dict) else trips)]
    known: dict[tuple[str, str], list[Any]] = {
        ("plans", "plan_id"): [plan["id"]], ("plans", "trip_id"): trip_ids[:3] or ["T1"],
        ("plans", "fmt"): ["csv", "xlsx"],
        ("orders", "order_id"): order_ids, ("orders", "worker_id"): roster_ids or [1],
        ("reference", "site_id"): ["F1"], ("reference", "depot_id"): ["D1"],
        ("reference", "vehicle_type_id"): ["coach53"], ("reference", "county"): ["410526", "411525"],
        ("reference", "station_id"): ["S1"], ("reference", "train_id"): ["K1"], ("reference", "post_id"): ["P1"],
    }
    return {"coordinator": coordinator, "agency": agency}, known


# ------------------------------------------------------------------ the fuzzer


def _request_text(kwargs: dict[str, Any]) -> str:
    body = ""
    for key in ("json", "data", "content"):
        if kwargs.get(key) is not None:
            raw = kwargs[key]
            body = json.dumps(raw, ensure_ascii=False) if key == "json" else repr(raw)
    if kwargs.get("files"):
        body = repr(kwargs["files"])
    query = f"?{kwargs['params']}" if kwargs.get("params") else ""
    text = f"{kwargs['method']} {kwargs['url'].replace('http://testserver', '')}{query}"
    return text + (f"  body: {body[:_SHOWN]}{'…' if len(body) > _SHOWN else ''}" if body else "")


def _order_key(op: Any) -> tuple[int, str]:
    """GETs first, then writes, deletions last: the seeded data is read before it is removed."""
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}.get(op.method.upper(), 1)
    return rank, op.label


def fuzz(client: Any, principals: dict[str, dict[str, str]], known: dict[tuple[str, str], list[Any]], *,
         requests: int, seconds: float, log: Optional[Callable[[str], None]] = None) -> Report:
    """Send about ``requests`` generated requests (spread evenly over operations × principals ×
    positive/negative data) through ``client`` (a started TestClient), within ``seconds``."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks as oas

    checks = [not_a_server_error, oas.status_code_conformance, oas.content_type_conformance, oas.response_schema_conformance]
    schema = schemathesis.openapi.from_dict(client.app.openapi())
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order_key)
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    combos = [(op, who, mode) for op in operations for who in principals for mode in modes]
    # operations without inputs have no data outside the schema: aim a little over the target
    per_combo = max(1, -(-requests * 21 // 20) // len(combos))
    report = Report(tallies={op.label: Tally() for op in operations})
    started = time.monotonic()
    deadline = started + seconds

    for n, (op, who, mode) in enumerate(combos):
        if time.monotonic() > deadline:
            break
        segment = op.path.split("/")[2] if op.path.startswith("/v1/") else ""
        swaps = {p.name: known[(segment, p.name)] for p in op.path_parameters if (segment, p.name) in known}
        tally = report.tallies[op.label]
        combo_deadline = time.monotonic() + max(1.0, (deadline - time.monotonic()) / (len(combos) - n))

        _examples(client, principals[who], checks, report, op, who, mode, swaps, tally, combo_deadline, per_combo)
        if log and (n + 1) % 20 == 0:
            log(f"{n + 1}/{len(combos)} operation × principal × mode, {report.requests} requests, "
                f"{time.monotonic() - started:.0f} s")
    report.seconds = time.monotonic() - started
    return report


def _examples(client: Any, headers: dict[str, str], checks: list[Any], report: Report, op: Any, who: str, mode: Any,
              swaps: dict[str, list[Any]], tally: Tally, combo_deadline: float, examples: int) -> None:
    """Up to ``examples`` generated requests to one operation as one principal."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky, Unsatisfiable
    from schemathesis.core.failures import FailureGroup

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(mode), data=st.data())
    def one(case: Any, data: Any) -> None:
        if time.monotonic() > combo_deadline:
            return
        if swaps and data.draw(st.booleans()):
            case.path_parameters = {**(case.path_parameters or {}),
                                    **{k: data.draw(st.sampled_from(v)) for k, v in swaps.items()}}
        try:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **headers}
            response = client.request(**{k: v for k, v in kwargs.items() if k != "cookies"})
        except (UnicodeError, ValueError, TypeError):  # not a request an HTTP client sends
            return
        tally.requests += 1
        tally.statuses[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            try:
                response.request.read()  # a multipart body is a stream until read
            except Exception:  # noqa: BLE001 — a generated file part the client could not replay
                response.request._content = b""
            case.validate_response(response, checks=checks)
        except (FailureGroup, AssertionError) as exc:  # the checks that failed
            found = list(getattr(exc, "exceptions", [exc]))
            if response.status_code < 500:
                tally.mismatches += 1
            for f in found:
                kind = getattr(f, "title", type(f).__name__)
                key = (op.label, kind, response.status_code)
                if key not in report.failures:
                    report.failures[key] = Failure(
                        op.label, who, kind, response.status_code, _request_text(kwargs),
                        (getattr(f, "message", "") or str(f)).strip().replace("\n", " ")[:_SHOWN]
                        + f"  answer: {response.text[:200]}")

    try:
        one()
    except Unsatisfiable:  # no data outside the schema for an operation without inputs
        pass
    except Flaky:  # the time budget ran out part way through an example: what was sent is counted
        pass


def run(database_url: str, data_dir: Path, *, requests: int, seconds: float,
        log: Optional[Callable[[str], None]] = None) -> Report:
    """Seed a fresh database (plan runner on), then fuzz it (plan runner off)."""
    from fastapi.testclient import TestClient

    from api.config import Settings
    from api.main import create_app

    base = dict(database_url=database_url, data_dir=data_dir, secret_key="fuzz-secret", default_time_limit=1,
                heartbeat_seconds=0.3)
    with TestClient(create_app(Settings(**base))) as client:  # type: ignore[arg-type]
        principals, known = seed(client)
    with TestClient(create_app(Settings(**base, run_jobs=False)),  # type: ignore[arg-type]
                    raise_server_exceptions=False) as client:
        return fuzz(client, principals, known, requests=requests, seconds=seconds, log=log)


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database at ``url`` (dropped after): its URL."""
    from urllib.parse import quote

    from sqlalchemy import create_engine, text

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    name = f"fg_fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={name}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


# ------------------------------------------------------------------ the table


def table(report: Report, title: str) -> str:
    """Operations with a failure, then the totals; then one example per distinct failure."""
    lines = [f"## {title}: {report.requests} requests over {len(report.tallies)} operations in {report.seconds:.0f} s",
             "", f"| {'operation':<52} | requests | 2xx | 3xx | 4xx | 5xx | schema mismatches |",
             f"|{'-' * 54}|---------:|----:|----:|----:|----:|------------------:|"]
    failing = {f.operation for f in report.failures.values()}

    def row(name: str, requests: int, statuses: Counter, errors: int, mismatches: int) -> str:
        return (f"| {name:<52} | {requests:>8} | {statuses['2xx']:>3} | {statuses['3xx']:>3} | {statuses['4xx']:>3} "
                f"| {errors:>3} | {mismatches:>17} |")

    for name, t in report.tallies.items():
        if name in failing:
            lines.append(row(name, t.requests, t.statuses, t.server_errors, t.mismatches))
    ok = len(report.tallies) - len(failing)
    lines.append(row(f"({ok} operations without a failure)",
                     sum(t.requests for n, t in report.tallies.items() if n not in failing),
                     sum((t.statuses for n, t in report.tallies.items() if n not in failing), Counter()), 0, 0))
    lines.append(row("**all**", report.requests, report.statuses(), report.server_errors, report.mismatches))
    if report.failures:
        lines += ["", f"{len(report.failures)} distinct failures (operation, kind, status), one example each:", ""]
        for f in report.failures.values():
            lines.append(f"- {f.operation} [{f.principal}] {f.kind} → {f.status}: {f.request}")
            lines.append(f"    {f.detail}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000, help="requests to send per database (about)")
    ap.add_argument("--seconds", type=float, default=900.0, help="time budget per database")
    ap.add_argument("--postgres", nargs="?", const=os.environ.get("FANGANG_TEST_POSTGRES_URL", ""), default=None,
                    metavar="URL", help="also on a fresh schema of this PostgreSQL database "
                                        "(default: $FANGANG_TEST_POSTGRES_URL)")
    args = ap.parse_args(argv)
    import logging

    logging.getLogger("fangang").setLevel(logging.CRITICAL)  # the 500s are counted, not printed

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        report = run(f"sqlite:///{Path(tmp) / 'fuzz.db'}", Path(tmp) / "var", requests=args.requests,
                     seconds=args.seconds, log=log)
        print(table(report, "SQLite"), flush=True)
        failed |= bool(report.failures)
        if args.postgres is not None:
            if not args.postgres:
                ap.error("--postgres needs a URL or FANGANG_TEST_POSTGRES_URL")
            with postgres_schema(args.postgres) as url:
                report = run(url, Path(tmp) / "var-pg", requests=args.requests, seconds=args.seconds, log=log)
            print("\n" + table(report, "PostgreSQL"), flush=True)
            failed |= bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
