"""The web console in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
sign in, start a plan, watch it finish, the map with every trip drawn, the unassigned table, and
an agency kept out of another agency's plan. No request leaves 127.0.0.1. Screenshots go to
``FANGANG_SCREENSHOTS`` (default: a temporary folder, printed)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from api.config import Settings  # noqa: E402
from api.main import create_app  # noqa: E402
from api.models import Principal  # noqa: E402
from api.security import hash_api_key, new_api_key  # noqa: E402

SITE = {"id": "F1", "name": "Factory 1", "location": {"lat": 34.53, "lon": 113.84},
        "receive_from": "07:00", "receive_until": "22:00"}
REFERENCE = {"name": "browser", "sites": [SITE],
             "depots": [{"id": "D1", "name": "yard", "location": {"lat": 34.56, "lon": 113.81}}],
             "fleet": [{"id": "coach53", "seats": 53, "count": 4, "depot": "D1", "fixed_cost": 1000,
                        "cost_per_km": 7, "crew_cost": 600, "available_from": "2027-02-11T00:00:00+08:00",
                        "available_until": "2027-02-21T00:00:00+08:00"}], "regions": [], "policy": {}}


def _order(oid: str, county: str, n: int, cleared: int) -> dict:
    return {"id": oid, "origin": {"county": county}, "site": "F1", "headcount": n, "cleared": cleared,
            "earliest_departure": "2027-02-11T08:00:00+08:00", "arrive_by": "2027-02-13T00:00:00+08:00"}


@pytest.fixture(scope="module")
def server():
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{tmp / 'console.db'}", data_dir=tmp / "var", secret_key="browser",
                        default_time_limit=2, heartbeat_seconds=0.3)
    import uvicorn

    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    keys = {}
    with app.state.sessions.begin() as session:
        for role, name in (("coordinator", "park"), ("agency", "agency-a"), ("agency", "agency-b")):
            keys[name] = new_api_key()
            session.add(Principal(name=name, role=role, key_hash=hash_api_key(keys[name]), key_prefix=keys[name][:10]))
    yield f"http://127.0.0.1:{port}", keys
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def shots() -> Path:
    where = Path(os.environ.get("FANGANG_SCREENSHOTS") or tempfile.mkdtemp(prefix="fangang-screens-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {where}")
    return where


def _sign_in(page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=key]", key)
    page.click("#sign-in")
    page.wait_for_url(base + "/console")


def test_a_coordinator_plans_and_reads_the_plan_and_an_agency_is_kept_out(server, shots):
    base, keys = server
    api = httpx.Client(base_url=base, timeout=30)
    co = {"Authorization": f"Bearer {keys['park']}"}
    assert api.put("/v1/reference", json=REFERENCE, headers=co).status_code == 200
    r = api.post("/v1/orders", json=[_order("A1", "410526", 40, 38), _order("A2", "410581", 30, 30)],
                 headers={"Authorization": f"Bearer {keys['agency-a']}"})
    assert r.status_code == 201, r.text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        _sign_in(page, base, keys["park"])
        page.screenshot(path=str(shots / "1-console.png"), full_page=True)
        page.fill("input[name=time_limit]", "2")
        page.click("#start button")
        page.wait_for_url(f"{base}/console/plans/*")
        plan_id = int(page.url.rsplit("/", 1)[1])
        page.wait_for_selector("#summary", timeout=90_000)  # the page polls, then reloads when done
        doc = api.get(f"/v1/plans/{plan_id}/plan.json", headers=co).json()
        assert page.locator("path.trip").count() == len(doc["trips"]) > 0
        assert page.inner_text("#planned") == str(doc["summary"]["workers_planned"])
        page.hover("path.trip >> nth=0")
        assert doc["trips"][0]["id"] in page.inner_text("#info")
        page.fill("#unassigned-filter", "screening_pending")
        assert page.locator("#unassigned-table tr:visible").count() == 2  # the header and A1's two
        page.screenshot(path=str(shots / "2-plan-view.png"), full_page=True)
        # the map zooms (+ narrows the view box) and the day filter hides the timeline's bars too
        assert page.locator("#legend").is_visible()
        box = page.get_attribute("#map", "viewBox")
        page.click("#zoom-in")
        assert float(page.get_attribute("#map", "viewBox").split()[2]) < float(box.split()[2])
        page.click("#zoom-reset")
        assert page.get_attribute("#map", "viewBox") == box
        page.select_option("#day", "2027-02-11")
        page.select_option("#day", "")
        assert page.locator("g.tbar.hidden").count() == 0
        page.locator("#timeline").screenshot(path=str(shots / "2b-timeline-and-trips.png"))
        with page.expect_download() as dl:
            page.click("text=manifests.xlsx")
        assert dl.value.suggested_filename.endswith(".xlsx")
        page.click("#publish button")  # 发布 publish: agencies read the plan in force only
        page.wait_for_selector("h1 .in-force")
        other = browser.new_context().new_page()
        _sign_in(other, base, keys["agency-b"])
        resp = other.goto(f"{base}/console/plans/{plan_id}")
        assert resp is not None and resp.status == 404
        other.screenshot(path=str(shots / "3-agency-kept-out.png"))
        mine = browser.new_context().new_page()
        mine.on("request", lambda req: requests.append(req.url))
        _sign_in(mine, base, keys["agency-a"])
        mine.goto(f"{base}/console/plans/{plan_id}")
        assert "A1" in mine.inner_text("#boarding")
        mine.screenshot(path=str(shots / "4-agency-boarding.png"), full_page=True)
        # an upload with a bad row: the row is named, nothing is stored; then a good one
        tmp = Path(tempfile.mkdtemp())
        (tmp / "bad.csv").write_text("编号,区县,人数,已筛查,最早出发,最晚到达,工厂\n"
                                     "B1,410526,20,20,2027-02-11 08:00,2027-02-13 00:00,F1\n"
                                     "B2,410526,twenty,20,2027-02-11 08:00,2027-02-13 00:00,F1\n", encoding="utf-8")
        (tmp / "good.csv").write_text("编号,区县,人数,已筛查,最早出发,最晚到达,工厂\n"
                                      "B1,410526,20,20,2027-02-11 08:00,2027-02-13 00:00,F1\n", encoding="utf-8")
        mine.goto(f"{base}/console/orders")
        mine.set_input_files("input[type=file]", str(tmp / "bad.csv"))
        mine.click("#upload button")
        mine.wait_for_selector("#problems")
        assert "3" in mine.inner_text("#problems tr:nth-child(2) td:nth-child(1)")
        assert "headcount" in mine.inner_text("#problems")
        mine.screenshot(path=str(shots / "5-agency-bad-upload.png"), full_page=True)
        assert "B2" not in mine.inner_text("#orders")
        mine.set_input_files("input[type=file]", str(tmp / "good.csv"))
        mine.click("#upload button")
        mine.wait_for_selector("#stored")
        assert "B1" in mine.inner_text("#orders")
        # the coordinator dispatches a trip and re-plans keeping it
        page.click("#trips button.dispatch >> nth=0")
        page.wait_for_selector("#trips button.undispatch")
        page.fill("#replan input[name=time_limit]", "2")
        page.click("#replan button")
        page.wait_for_url(f"{base}/console/plans/*")
        new_id = int(page.url.split("#")[0].rsplit("/", 1)[1])
        assert new_id != plan_id
        page.wait_for_selector("#summary", timeout=90_000)
        assert api.get(f"/v1/plans/{new_id}", headers=co).json()["fixed_trips"] == 1
        page.screenshot(path=str(shots / "6-replanned.png"), full_page=True)
        # on a phone: nothing wider than the screen but the timeline and wide tables, which scroll in their box
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        phone.on("request", lambda req: requests.append(req.url))
        _sign_in(phone, base, keys["park"])
        phone.goto(f"{base}/console/plans/{new_id}")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 2")
        # the figures' headers read across (wide tables scroll in their box), not a character a line
        tallest, cell = phone.evaluate("""() => {
            const h = el => el.getBoundingClientRect().height;
            return [Math.max(...[...document.querySelectorAll('#summary-table th')].map(h)),
                    h(document.querySelector('#summary-table td'))];
        }""")
        assert tallest <= 2.5 * cell, (tallest, cell)
        phone.screenshot(path=str(shots / "7-phone-plan-view.png"), full_page=True)
        browser.close()
    assert requests and all(u.startswith(base) for u in requests), [u for u in requests if not u.startswith(base)]


# ------------------------------------------------------------------ a coordinator's and an agency's day


def _plan_done(api: httpx.Client, co: dict, **body) -> int:
    r = api.post("/v1/plans", json={"time_limit": 2, **body}, headers=co)
    assert r.status_code == 202, r.text
    plan_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while (s := api.get(f"/v1/plans/{plan_id}", headers=co).json())["status"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, "the plan did not finish"
        time.sleep(0.3)
    assert s["status"] == "done", s
    return plan_id


@pytest.fixture(scope="module")
def replanned(server):
    """A published plan with a rostered order (张三, 李四 of W1), then the order leaving a day later
    and a re-plan: (published plan, re-plan, the order's id)."""
    base, keys = server
    api = httpx.Client(base_url=base, timeout=30)
    co = {"Authorization": f"Bearer {keys['park']}"}
    ag = {"Authorization": f"Bearer {keys['agency-a']}"}
    assert api.put("/v1/reference", json=REFERENCE, headers=co).status_code == 200
    roster = [{"name": n, "id_number": idn, "phone": ph, "screening": "cleared",
               "screening_valid_until": "2027-02-20T00:00:00+08:00"}
              for n, idn, ph in (("张三", "410526199001011234", "13812345678"),
                                 ("李四", "410526199202021111", "13900001111"))]
    r = api.post("/v1/orders", json=[dict(_order("W1", "410526", 0, 0), headcount=None, cleared=None,
                                          workers=roster)], headers=ag)
    assert r.status_code == 201, r.text
    (order,) = [o["id"] for o in r.json()["orders"]]
    first = _plan_done(api, co)
    assert api.post(f"/v1/plans/{first}/publish", headers=co).status_code == 201
    r = api.patch(f"/v1/orders/{order}", json={"earliest_departure": "2027-02-12T08:00:00+08:00",
                                               "arrive_by": "2027-02-14T00:00:00+08:00"}, headers=ag)
    assert r.status_code == 200, r.text
    second = _plan_done(api, co)
    return first, second, order


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _page_for(browser, base: str, key: str, **context):
    """A signed-in page in a browser whose own clock is UTC (what is shown must not depend on it)."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC", accept_downloads=True,
                               **context).new_page()
    _sign_in(page, base, key)
    return page


def test_a_county_found_by_name_gets_dated_periods_and_lowering_one_keeps_the_other(server, shots, browser):
    base, keys = server
    page = _page_for(browser, base, keys["park"])
    page.goto(f"{base}/console/regions")
    page.type("#county", "丹寨", delay=50)  # the typeahead offers the county by name
    option = page.wait_for_selector('#county-list option[value="522636"]', state="attached")
    assert "丹寨县" in (option.get_attribute("label") or option.inner_text())
    page.fill("#county", option.get_attribute("value") or "")
    page.select_option("#risk select[name=risk]", "high")
    page.fill("#risk input[name=from]", "2027-02-08T00:00")
    page.fill("#risk input[name=until]", "2027-02-12T00:00")
    page.click("#risk button[type=submit]")
    page.wait_for_selector("#regions tr.period")
    page.fill("#county", "丹寨县")  # by name, typed in full: a second period, medium after the high one
    page.select_option("#risk select[name=risk]", "medium")
    page.fill("#risk input[name=from]", "2027-02-12T00:00")
    page.fill("#risk input[name=until]", "2027-02-16T00:00")
    page.click("#risk button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#regions tr.period').length == 2")
    assert "丹寨县" in page.inner_text("#regions") and "522636" in page.inner_text("#regions")
    froms = page.eval_on_selector_all("#regions tr.period input[name=from]", "els => els.map(e => e.value)")
    assert froms == ["2027-02-08T00:00", "2027-02-12T00:00"]
    page.screenshot(path=str(shots / "8-regions-two-periods.png"), full_page=True)
    # → low on the first (high) period: that period is low now, the medium one is kept as it was
    page.click("#regions tr.period >> nth=0 >> button[value=low]")
    page.wait_for_load_state()
    rows = page.locator("#regions tr.period")
    assert rows.count() == 2
    risks = page.eval_on_selector_all("#regions tr.period select[name=risk]", "els => els.map(e => e.value)")
    assert risks == ["low", "medium"]
    assert page.eval_on_selector_all("#regions tr.period input[name=until]", "els => els.map(e => e.value)") == [
        "2027-02-12T00:00", "2027-02-16T00:00"]
    assert "丹寨县" in page.inner_text("#history")
    page.screenshot(path=str(shots / "9-regions-lowered-one.png"), full_page=True)
    page.context.close()
    # the regions would keep 丹寨 out of later plans' counties: nothing here plans from Guizhou
    httpx.delete(f"{base}/v1/reference/regions/522636", headers={"Authorization": f"Bearer {keys['park']}"})


def test_a_replans_difference_names_the_changed_workers_and_the_notify_file_has_them(server, shots, browser,
                                                                                    replanned):
    base, keys = server
    first, second, order = replanned
    page = _page_for(browser, base, keys["park"])
    page.goto(f"{base}/console/plans/{second}")
    assert page.inner_text("#difference")  # the plan view's difference section links the page
    page.click("#difference a[href$='/diff']")
    page.wait_for_selector("#changes")
    changes = page.inner_text("#changes")
    assert "张三" in changes and "李四" in changes and "W1" in changes
    assert "2027-02-11" in changes and "2027-02-12" in changes  # old and new boarding, in Asia/Shanghai
    page.screenshot(path=str(shots / "10-difference.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("a[href$='notify.csv'] >> nth=0")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "张三" in text and "李四" in text and "W1" in text
    page.context.close()


def test_an_agency_sees_only_the_published_plan_marked_with_local_times(server, shots, browser, replanned):
    base, keys = server
    first, second, order = replanned
    api = httpx.Client(base_url=base, timeout=30)
    co = {"Authorization": f"Bearer {keys['park']}"}
    page = _page_for(browser, base, keys["agency-a"])
    listed = [int(x) for x in page.eval_on_selector_all("#plans tr[data-plan]", "els => els.map(e => e.dataset.plan)")]
    assert listed == [first]  # the re-plan is not published: the agency does not see it
    assert "现行" in page.inner_text(f"#plans tr[data-plan='{first}']")
    created = api.get(f"/v1/plans/{first}", headers=co).json()["created_at"]
    shanghai = datetime.fromisoformat(created).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert shanghai in page.inner_text(f"#plans tr[data-plan='{first}']")
    resp = page.goto(f"{base}/console/plans/{second}")
    assert resp is not None and resp.status == 404
    page.goto(f"{base}/console/plans/{first}")
    assert "现行" in page.inner_text("h1")
    doc = api.get(f"/v1/plans/{first}/plan.json", headers=co).json()
    boards = [s for t in doc["trips"] for s in t["stops"] for ld in s.get("board", []) if ld["order"] == order]
    assert boards
    when = datetime.fromisoformat(boards[0]["arrive"]).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert when in page.inner_text("#boarding")  # the browser's clock is UTC; the page says Shanghai time
    page.screenshot(path=str(shots / "11-agency-published-plan.png"), full_page=True)
    page.context.close()


def test_the_printed_manifests_open_and_carry_the_chinese_title(server, shots, browser, replanned, tmp_path):
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils (pdftoppm, pdftotext) are not installed")
    import subprocess

    base, keys = server
    first, _, _ = replanned
    page = _page_for(browser, base, keys["agency-a"])
    page.goto(f"{base}/console/plans/{first}")
    with page.expect_download() as dl:
        page.click("text=manifests.pdf")
    pdf = tmp_path / "manifests.pdf"
    dl.value.save_as(str(pdf))
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-png", "-r", "60", str(pdf), str(shots / "12-manifest-pdf")],
                   check=True, timeout=60)
    assert list(shots.glob("12-manifest-pdf*.png"))
    first_page = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], check=True, capture_output=True,
                                timeout=60).stdout.decode()
    assert "乘车名单" in first_page  # the Chinese title, as text (the font embedded), not boxes
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "张三" in text and "李四" in text
    page.context.close()
