"""Hostile input against the service's bounds (issue 21): an XLSX bomb, a huge headcount, and ten
identical uploads at once.

Run ``python -m benchmarks.hostile [--rows 1000000] [--postgres URL] [--before]``. Printed:

* the bomb (a workbook of one sheet of ``--rows`` rows): its size packed and unpacked; the time and
  the peak Python memory (tracemalloc) of its refusal by :func:`api.bounds.check_table_size`, and
  of a whole upload answered by the service; with ``--before``, of reading it whole with
  :func:`planner.read.read_table` as the service did before (slow: tens of seconds);
* an order of headcount 10⁹ (JSON and CSV): the answer;
* ten identical uploads at once on SQLite and, with ``--postgres`` (default:
  ``FANGANG_TEST_POSTGRES_URL``), on PostgreSQL: the answers by status — a CSV with ids, and one
  JSON body with one ``Idempotency-Key`` (``201r``: the first answer replayed).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import tempfile
import threading
import time
import tracemalloc
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

HEADERS = ["编号", "区县", "地址", "人数", "已筛查", "最早出发", "最晚到达", "工厂"]
SITE = {"id": "F1", "name": "Factory 1", "location": {"lat": 34.53, "lon": 113.84},
        "receive_from": "07:00", "receive_until": "22:00", "intake_per_day": 500}
REFERENCE = {"name": "tiny", "sites": [SITE],
             "depots": [{"id": "D1", "location": {"lat": 34.56, "lon": 113.81}}],
             "fleet": [{"id": "coach53", "seats": 53, "count": 3, "depot": "D1", "fixed_cost": 1000,
                        "cost_per_km": 7, "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00",
                        "available_until": "2027-02-21T00:00:00+08:00"}], "regions": [], "policy": {}}
ORDER = {"id": "O1", "origin": {"county": "410526"}, "site": "F1", "headcount": 40, "cleared": 38,
         "earliest_departure": "2027-02-11T08:00:00+08:00", "arrive_by": "2027-02-12T00:00:00+08:00"}


def bomb(rows: int) -> tuple[bytes, int]:
    """A workbook whose first sheet has ``rows`` rows of one cell; (its bytes, its unpacked size)."""
    from openpyxl import Workbook  # noqa: PLC0415

    wb = Workbook()
    wb.active.append(HEADERS)
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    unpacked = 0
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"<sheetData>")
                head = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:H%d"' % (rows + 1), head)
                data = head + b"<sheetData>" + b"<row><c><v>1</v></c></row>" * rows + b"</sheetData>" + \
                    rest.split(b"</sheetData>")[-1]
            unpacked += len(data)
            dst.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue(), unpacked


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(seconds, peak MB of Python allocations, what ``fn`` returned or raised): timed on its own,
    then run again under tracemalloc (which slows every allocation) for the peak."""

    def call() -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            return exc

    t0 = time.perf_counter()
    got = call()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, got


def _databases(pg: str | None, tmp: Path) -> Iterator[tuple[str, str, Callable[[], None]]]:
    yield "sqlite", f"sqlite:///{tmp / 'hostile.db'}", lambda: None
    if not pg:
        return
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    pg = pg.replace("postgresql://", "postgresql+psycopg://", 1) if pg.startswith("postgresql://") else pg
    schema = f"fg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in pg else "?"
    yield "postgresql", f"{pg}{sep}options={quote(f'-csearch_path={schema}')}", drop


def _at_once(n: int, call: Callable[[], Any]) -> Counter[str]:
    barrier = threading.Barrier(n)
    answers: list[str] = []

    def one() -> None:
        barrier.wait()
        r = call()
        answers.append(f"{r.status_code}{'r' if r.headers.get('Idempotent-Replayed') else ''}")

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(answers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--postgres", default=os.environ.get("FANGANG_TEST_POSTGRES_URL"))
    ap.add_argument("--before", action="store_true", help="also read the bomb whole, as before (slow)")
    args = ap.parse_args()

    from api.bounds import check_table_size  # noqa: PLC0415

    data, unpacked = bomb(args.rows)
    print(f"XLSX bomb: {args.rows:,} rows, {len(data) / 1024:.0f} KiB packed, {unpacked / 2**20:.0f} MiB unpacked")
    print(f"{'reading':<44} {'seconds':>8} {'peak MB':>8}  outcome")
    s, mb, got = measured(lambda: check_table_size(data, "bomb.xlsx", 20_000, 64 * 2**20))
    print(f"{'api.bounds.check_table_size (refusal)':<44} {s:8.3f} {mb:8.1f}  {got}")
    if args.before:
        from planner.read import read_table  # noqa: PLC0415

        s, mb, got = measured(lambda: read_table(data, "bomb.xlsx"))  # twice: slow
        print(f"{'planner.read.read_table (whole, as before)':<44} {s:8.3f} {mb:8.1f}  "
              f"{len(got) if isinstance(got, list) else got} rows read")

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for db, url, drop in _databases(args.postgres, tmp):
            try:
                _service(db, url, tmp, data)
            finally:
                drop()


def _key(client: Any, role: str, name: str) -> dict[str, str]:
    from api.models import Principal  # noqa: PLC0415
    from api.security import hash_api_key, new_api_key  # noqa: PLC0415

    k = new_api_key()
    with client.app.state.sessions.begin() as ses:
        ses.add(Principal(name=name, role=role, key_hash=hash_api_key(k), key_prefix=k[:10]))
    return {"Authorization": f"Bearer {k}"}


def _service(db: str, url: str, tmp: Path, data: bytes) -> None:
    """The bomb and the huge headcount through the service (on SQLite), and the identical uploads."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from api.config import Settings  # noqa: PLC0415
    from api.main import create_app  # noqa: PLC0415

    settings = Settings(database_url=url, data_dir=tmp / "var", secret_key="bench", run_jobs=False)
    with TestClient(create_app(settings)) as client:
        coord, agency = _key(client, "coordinator", "park"), _key(client, "agency", "agency-a")
        client.put("/v1/reference", json=REFERENCE, headers=coord)
        if db == "sqlite":
            s, mb, r = measured(lambda: client.post(
                "/v1/orders/upload", files={"file": ("bomb.xlsx", data, "application/octet-stream")}, headers=agency))
            print(f"{'POST /v1/orders/upload of the bomb':<44} {s:8.3f} {mb:8.1f}  "
                  f"{r.status_code} {r.json()['detail'][:90]}")
            print("\nheadcount 10^9:")
            r = client.post("/v1/orders", json=[{**ORDER, "headcount": 10**9}], headers=agency)
            print(f"  JSON {r.status_code}: {r.json()['problems']}")
            csv = ",".join(HEADERS) + "\nA1,410526,,1000000000,1,2027-02-11 08:00,2027-02-12 20:00,F1\n"
            r = client.post("/v1/orders/upload", files={"file": ("o.csv", csv.encode(), "text/csv")}, headers=agency)
            print(f"  CSV  {r.status_code}: {r.json()['problems']}")
            print("\nten identical submissions at once, answers by status (201r: the first answer replayed):")
        rows = "\n".join(f"R{i},410526,,10,8,2027-02-11 08:00,2027-02-12 20:00,F1" for i in range(20))
        csv_ids = (",".join(HEADERS) + "\n" + rows + "\n").encode()
        up = _at_once(10, lambda: client.post(
            "/v1/orders/upload", files={"file": ("o.csv", csv_ids, "text/csv")}, headers=agency))
        body = [{**ORDER, "id": f"K{i}"} for i in range(5)]
        keyed = _at_once(10, lambda: client.post("/v1/orders", json=body, headers={**agency, "Idempotency-Key": "b-1"}))
        stored = len(client.get("/v1/orders", headers=agency).json())
        print(f"  {db:<11} CSV with ids: {dict(sorted(up.items()))}; one Idempotency-Key: "
              f"{dict(sorted(keyed.items()))}; orders stored {stored} (20 + 5 expected)")

if __name__ == "__main__":
    main()
