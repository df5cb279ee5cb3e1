"""Time to first render of the console's plan view, in headless Chromium, for large plans.

Run ``python -m benchmarks.console [--plans benchmarks/out/plan-kunshan-20k-seed1-fangang.json,...]``.
For each plan file (made by ``python -m benchmarks.park``; its scenario beside it), a done plan
job is stored straight into a fresh SQLite service (its snapshot: the scenario, every order owned
by one agency), the service runs on 127.0.0.1, and Chromium (Debian's, driven by Playwright)
signs in as the coordinator and opens ``/console/plans/{id}``. Printed per plan: trips, the
server's time to answer the page, the browser's time to first contentful paint and to the load
event (from the navigation's start), and the page's size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DEFAULT = ("plan-kunshan-20k-seed1-fangang.json", "plan-kunshan-100k-seed1-fangang.json")


def _serve(tmp: Path):
    import uvicorn  # noqa: PLC0415

    from api.config import Settings  # noqa: PLC0415
    from api.main import create_app  # noqa: PLC0415

    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp / "var",
                              secret_key="bench", run_jobs=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    return app, srv, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from api import models as m  # noqa: PLC0415
    from api.security import hash_api_key, new_api_key  # noqa: PLC0415

    ap = argparse.ArgumentParser(prog="python -m benchmarks.console", description=__doc__.split("\n")[0])
    ap.add_argument("--plans", default=",".join(str(OUT / p) for p in DEFAULT))
    args = ap.parse_args(argv)
    paths = [Path(p) for p in args.plans.split(",") if p]
    tmp = Path(tempfile.mkdtemp())
    app, srv, base = _serve(tmp)
    key = new_api_key()
    with app.state.sessions.begin() as session:
        session.add(m.Principal(name="park", role="coordinator", key_hash=hash_api_key(key), key_prefix=key[:10]))
    table = Table(title="console plan view, headless Chromium, 127.0.0.1")
    for col in ("plan", "trips", "server s", "first paint s", "load s", "page MB"):
        table.add_column(col, justify="left" if col == "plan" else "right")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/")
        page.fill("input[name=key]", key)
        page.click("#sign-in")
        page.wait_for_url(base + "/console")
        for path in paths:
            plan = json.loads(path.read_text(encoding="utf-8"))
            scenario = json.loads(path.with_name(path.name.replace("plan-", "park-").replace("-fangang", ""))
                                  .read_text(encoding="utf-8"))
            snapshot = {"scenario": scenario, "orders": {o["id"]: {"agency": o["agency"], "agency_id": 0}
                                                         for o in scenario["orders"]},
                        "rosters": {}, "fixed": [], "base_plan": None}
            with app.state.sessions.begin() as session:
                job = m.PlanJob(status="done", created_by=1, time_limit=1, seed=0, snapshot=snapshot, result=plan,
                                phase="done", fraction=1.0)
                session.add(job)
                session.flush()
                plan_id = job.id
            started = time.monotonic()
            page.goto(f"{base}/console/plans/{plan_id}", wait_until="load", timeout=120_000)
            wall = time.monotonic() - started
            timing = page.evaluate("""() => {
                const n = performance.getEntriesByType('navigation')[0];
                const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                return {server: n.responseEnd - n.requestStart, load: n.loadEventEnd, fcp: fcp ? fcp.startTime : null,
                        size: n.transferSize || n.encodedBodySize};
            }""")
            table.add_row(path.name, f"{len(plan['trips']):,}", f"{timing['server'] / 1000:.2f}",
                          f"{(timing['fcp'] or 0) / 1000:.2f}", f"{timing['load'] / 1000:.2f} ({wall:.2f} wall)",
                          f"{(timing['size'] or 0) / 1e6:.1f}")
        browser.close()
    srv.should_exit = True
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
