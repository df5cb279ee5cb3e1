"""Road sources that give km and driving minutes: the optimiser's (planner.network.roads: geodesic, a
``from,to,km[,minutes]`` CSV, an OSRM table service in blocks of at most 100 locations) and the
checker's own (planner._check.roads: the same sources, OSRM through the route service), and the
checker timing legs by the road source's minutes."""

from __future__ import annotations

import copy
import json
import math
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from geopy.distance import geodesic

from planner._check.roads import Roads, RoadsError
from planner.check import check, journey
from planner.contract import Place, Plan, Scenario
from planner.network.places import Point
from planner.network.roads import CsvRoadMatrix, GeodesicRoad, OsrmTable, RoadSourceError, provider_for

FIXTURES = Path(__file__).parent / "fixtures" / "check"
SPEED = 50.0  # the fake server drives its roads at 50 km/h
LIMIT = 100  # and refuses tables of more coordinates, as OSRM's default --max-table-size


def fake_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The fake server's road km between two (lon, lat): twice the geodesic."""
    (lon1, lat1), (lon2, lat2) = a, b
    return 2.0 * geodesic((lat1, lon1), (lat2, lon2)).km


def fake_minutes(a: tuple[float, float], b: tuple[float, float]) -> float:
    return fake_km(a, b) / SPEED * 60.0


def _coords(p) -> tuple[float, float]:
    """The (lon, lat) the fake receives for a point (OSRM's six decimals)."""
    return float(f"{p.lon:.6f}"), float(f"{p.lat:.6f}")


class _Osrm(BaseHTTPRequestHandler):
    """Just enough of OSRM's ``table`` and ``route`` services; ``server.mode`` breaks it on purpose."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        srv = self.server
        url = urlsplit(self.path)
        parts = url.path.split("/")
        q = parse_qs(url.query)
        coords = [tuple(map(float, c.split(","))) for c in parts[-1].split(";")]
        srv.requests.append(SimpleNamespace(service=parts[1], coords=len(coords), query=q))  # type: ignore[attr-defined]
        mode = srv.mode  # type: ignore[attr-defined]
        if mode == "html":
            return self._send(200, b"<html>gateway</html>", "text/html")
        if mode == "invalid":
            return self._json(400, {"code": "InvalidQuery", "message": "Query string malformed close to position 42"})
        if parts[1] == "table":
            if len(coords) > LIMIT:
                return self._json(400, {"code": "TooBig", "message": "Too many table coordinates"})
            src = [int(i) for i in q["sources"][0].split(";")]
            dst = [int(i) for i in q["destinations"][0].split(";")]
            ann = q.get("annotations", ["duration"])[0].split(",")
            body: dict = {"code": "Ok"}
            if "distance" in ann:
                body["distances"] = [[fake_km(coords[i], coords[j]) * 1000 for j in dst] for i in src]
            if "duration" in ann:
                body["durations"] = [[fake_minutes(coords[i], coords[j]) * 60 for j in dst] for i in src]
            if mode == "null" and len(src) > 1 and len(dst) > 1:
                body["distances"][1][0] = None
                body["durations"][1][0] = None
        else:
            a, b = coords[0], coords[1]
            body = {"code": "Ok", "routes": [{"distance": fake_km(a, b) * 1000, "duration": fake_minutes(a, b) * 60}]}
        self._json(200, body)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm():
    """A fake OSRM server on localhost: ``.url``, ``.requests`` (service, coordinates, query), ``.mode``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osrm)
    server.requests = []  # type: ignore[attr-defined]
    server.mode = "ok"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", server=server,
                          requests=server.requests)  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def grid(n: int) -> list[Point]:
    """``n`` distinct points around Zhengzhou."""
    return [Point(34.0 + 0.05 * (i % 13), 113.0 + 0.07 * (i // 13), f"p{i}", ref=f"P{i}") for i in range(n)]


def expected(origins: list[Point], destinations: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    km = np.array([[fake_km(_coords(a), _coords(b)) for b in destinations] for a in origins])
    return km, km / SPEED * 60.0


# ------------------------------------------------------------------ geodesic


def test_geodesic_minutes_are_its_km_at_the_speed():
    pts = grid(4)
    km, mins = GeodesicRoad(1.3).table(pts, pts[:2], 75.0)
    assert km.shape == mins.shape == (4, 2)
    assert np.allclose(km, GeodesicRoad(1.3).matrix(pts, pts[:2]))
    assert np.allclose(mins, km / 75.0 * 60.0)
    assert mins[1, 0] != round(mins[1, 0])  # not rounded


# ------------------------------------------------------------------ OSRM table


def test_osrm_table_gives_the_servers_km_and_minutes_in_one_request(osrm):
    origins, destinations = grid(3), grid(7)[3:]
    src = OsrmTable(osrm.url)
    km, mins = src.table(origins, destinations, 75.0)
    want_km, want_min = expected(origins, destinations)
    assert np.allclose(km, want_km) and np.allclose(mins, want_min)
    assert not np.allclose(km, GeodesicRoad(1.3).matrix(origins, destinations))
    assert np.allclose(src.matrix(origins, destinations), want_km)  # cached: no second request
    assert len(osrm.requests) == 1
    assert osrm.requests[0].query["annotations"] == ["distance,duration"]
    assert provider_for(osrm.url, 1.3).source == osrm.url


def test_osrm_table_of_130_places_goes_in_blocks_of_at_most_100_coordinates(osrm):
    pts = grid(130)
    km, mins = OsrmTable(osrm.url).table(pts, pts, 75.0)
    want_km, want_min = expected(pts, pts)
    assert np.allclose(km, want_km) and np.allclose(mins, want_min)
    assert len(osrm.requests) > 1
    assert max(r.coords for r in osrm.requests) <= LIMIT
    # lopsided: many origins, few destinations
    osrm.requests.clear()
    few = grid(133)[130:]
    km, _ = OsrmTable(osrm.url).table(pts, few, 75.0)
    assert np.allclose(km, expected(pts, few)[0])
    assert max(r.coords for r in osrm.requests) <= LIMIT and len(osrm.requests) == 2


def test_osrm_table_asks_each_place_once_and_keeps_duplicates_in_place(osrm):
    a, b = grid(2)
    km, _ = OsrmTable(osrm.url).table([a, b, a], [b, a], 60.0)
    assert km[0, 1] == 0.0 and km[2, 1] == 0.0 and km[0, 0] == pytest.approx(km[2, 0])
    assert osrm.requests[0].coords == 2


def test_an_unreachable_osrm_server_is_an_error_naming_it():
    url = closed_port_url()
    with pytest.raises(RoadSourceError, match=f"{url}.*cannot be reached"):
        OsrmTable(url, timeout=5).table(grid(2), grid(2), 75.0)


def test_an_osrm_refusal_is_an_error_with_its_code_and_message(osrm):
    osrm.server.mode = "invalid"
    with pytest.raises(RoadSourceError, match="InvalidQuery: Query string malformed") as e:
        OsrmTable(osrm.url).table(grid(2), grid(2), 75.0)
    assert osrm.url in str(e.value)


def test_an_osrm_answer_that_is_not_json_is_an_error(osrm):
    osrm.server.mode = "html"
    with pytest.raises(RoadSourceError, match="did not answer JSON"):
        OsrmTable(osrm.url).table(grid(2), grid(2), 75.0)


def test_unreachable_pairs_are_an_error_counting_them_with_an_example(osrm):
    osrm.server.mode = "null"
    pts = grid(3)
    with pytest.raises(RoadSourceError, match=r"no road for 1 of 9 pair\(s\), e\.g\. from p1 .* to p0") as e:
        OsrmTable(osrm.url).table(pts, pts, 75.0)
    assert osrm.url in str(e.value)


# ------------------------------------------------------------------ CSV


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "roads.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_without_minutes_times_its_km_at_the_speed(tmp_path):
    path = _csv(tmp_path, "from,to,km\nP0,P1,120\n")
    p0, p1, p2 = grid(3)
    km, mins = CsvRoadMatrix(path).table([p0, p1], [p1, p0, p2], 60.0)
    assert km[0, 0] == 120 and km[1, 1] == 120  # one way counts both ways
    assert mins[0, 0] == pytest.approx(120.0) and mins[1, 1] == pytest.approx(120.0)
    geo = GeodesicRoad(1.3).matrix([p0], [p2])[0, 0]
    assert km[0, 2] == pytest.approx(geo) and mins[0, 2] == pytest.approx(geo)  # missing: geodesic at 60 km/h


def test_a_csv_with_minutes_on_some_rows(tmp_path):
    path = _csv(tmp_path, "from,to,km,minutes\nP0,P1,120,150\nP1,P0,125,\nP0,P2,80,100.5\n")
    p0, p1, p2, p3 = grid(4)
    src = CsvRoadMatrix(path, GeodesicRoad(1.2))
    km, mins = src.table([p0, p1, p2], [p0, p1, p2, p3], 75.0)
    assert (km[0, 1], mins[0, 1]) == (120, 150)
    assert km[1, 0] == 125 and mins[1, 0] == pytest.approx(100.0)  # its own direction, empty minutes: km at 75
    assert (km[2, 0], mins[2, 0]) == (80, 100.5)  # given one way only
    geo = GeodesicRoad(1.2).matrix([p2], [p3])[0, 0]
    assert km[2, 3] == pytest.approx(geo) and mins[2, 3] == pytest.approx(geo / 75 * 60)
    assert np.allclose(src.matrix([p0, p1, p2], [p0, p1, p2, p3]), km)
    assert provider_for(path, 1.3).source == path


@pytest.mark.parametrize("cell", ["slow", "-5", "nan", "inf"])
def test_bad_minutes_are_refused_naming_the_file_and_row(tmp_path, cell):
    path = _csv(tmp_path, f"from,to,km,minutes\nP0,P1,120,150\nP0,P2,80,{cell}\n")
    with pytest.raises(RoadSourceError, match=r"roads\.csv: row 3: minutes must be a number ≥ 0"):
        CsvRoadMatrix(path)


def test_a_road_table_that_cannot_be_opened_is_an_error_naming_it(tmp_path):
    missing = str(tmp_path / "nowhere.csv")
    with pytest.raises(RoadSourceError, match="nowhere.csv"):
        provider_for(missing, 1.3)


# ------------------------------------------------------------------ the checker's own roads


def _place(p: Point, county: str | None = None) -> Place:
    return Place(id=p.ref, county=county, name=p.name, lat=p.lat, lon=p.lon)


def test_checker_minutes_from_a_csv(tmp_path):
    path = _csv(tmp_path, "from,to,km,minutes\nP0,P1,120,150\nP1,P2,90,\n")
    p0, p1, p2, p3 = (_place(p) for p in grid(4))
    roads = Roads.open(path, 1.3)
    assert roads.minutes(p0, p1, 75.0) == 150 and roads.minutes(p1, p0, 75.0) == 150
    assert roads.timing(p0, p1, 75.0) == (150, True)
    assert roads.minutes(p2, p1, 60.0) == pytest.approx(90.0)
    assert roads.timing(p2, p1, 60.0)[1] is False
    geo = Roads.open(None, 1.3)
    assert roads.minutes(p0, p3, 75.0) == pytest.approx(geo.km(p0, p3) / 75 * 60)
    assert geo.minutes(p0, p3, 75.0) == pytest.approx(geo.km(p0, p3) / 75 * 60)


def test_checker_refuses_bad_minutes(tmp_path):
    path = _csv(tmp_path, "from,to,km,minutes\nP0,P1,120,soon\n")
    with pytest.raises(RoadsError, match="row 2: minutes"):
        Roads.open(path, 1.3)


def test_checker_minutes_from_the_osrm_route_service(osrm):
    a, b = (_place(p) for p in grid(2))
    roads = Roads.open(osrm.url, 1.3)
    want = fake_km(_coords(a), _coords(b))
    assert roads.km(a, b) == pytest.approx(want)
    assert roads.minutes(a, b, 75.0) == pytest.approx(want / SPEED * 60)
    assert roads.timing(a, b, 75.0)[1] is True
    assert [r.service for r in osrm.requests] == ["route"]  # km and minutes asked once
    assert roads.minutes(a, a, 75.0) == 0.0


def test_checker_errors_from_osrm(osrm):
    a, b = (_place(p) for p in grid(2))
    osrm.server.mode = "invalid"
    with pytest.raises(RoadsError, match="InvalidQuery"):
        Roads.open(osrm.url, 1.3).minutes(a, b, 75.0)
    url = closed_port_url()
    with pytest.raises(RoadsError, match=url):
        Roads.open(url, 1.3).km(a, b)


# ------------------------------------------------------------------ the checker times legs by the road source


def _tiny() -> tuple[Scenario, dict]:
    sc = Scenario.model_validate_json((FIXTURES / "scenario-tiny.json").read_text(encoding="utf-8"))
    pl = json.loads((FIXTURES / "plan-tiny.json").read_text(encoding="utf-8"))
    return sc, pl


def _legs_csv(tmp_path: Path, sc: Scenario, plan: Plan, slow: float) -> str:
    """The plan's legs at the checker's geodesic km, with minutes ``slow`` × those km at the policy's speed."""
    geo = Roads.open(None, sc.policy.road_factor)
    rows = {}
    for t in plan.trips:
        for a, b in zip(t.stops, t.stops[1:]):
            km = geo.km(a.place, b.place)
            rows[(a.place.id or a.place.county, b.place.id or b.place.county)] = (km, km / sc.policy.speed_kmh * 60 * slow)
    return _csv(tmp_path, "from,to,km,minutes\n" + "".join(f"{a},{b},{k!r},{m!r}\n" for (a, b), (k, m) in rows.items()))


def test_a_plan_timed_at_the_policy_speed_is_too_fast_for_slower_road_minutes(tmp_path):
    """The tiny plan passes with geodesic timing and with a table of the same minutes; a table of
    the same km but 1.5 × the minutes makes its legs too fast (drive lists or not)."""
    sc, pl = _tiny()
    plan = Plan.model_validate(pl)
    assert check(sc, plan) == []
    assert check(sc, plan, roads=_legs_csv(tmp_path, sc, plan, 1.0)) == []
    slow = _legs_csv(tmp_path, sc, plan, 1.5)
    found = check(sc, plan, roads=slow)
    legs = [v for v in found if v.rule == "leg_time"]
    assert legs and all("by the road source" in v.message and slow in v.message for v in legs)
    # with the leg's driving written out at the policy's speed
    geo = Roads.open(None, sc.policy.road_factor)
    pl2 = copy.deepcopy(pl)
    stops = pl2["trips"][0]["stops"]
    a, b = plan.trips[0].stops[0], plan.trips[0].stops[1]
    need = math.ceil(geo.km(a.place, b.place) / sc.policy.speed_kmh * 60 - 1e-9)
    start = a.depart
    stops[1]["drive"] = [[start.isoformat(), (start + timedelta(minutes=need)).isoformat()]]
    plan2 = Plan.model_validate(pl2)
    assert check(sc, plan2) == []
    msgs = [v.message for v in check(sc, plan2, roads=slow) if "of driving for" in v.message]
    assert len(msgs) == 1 and f"{need} min of driving" in msgs[0] and "by the road source" in msgs[0]


def test_the_fastest_ride_follows_the_road_minutes(tmp_path):
    """With road minutes half the policy speed's, the fastest run is quicker, so the loaded coach
    of the tiny plan stands longer beyond it."""
    sc, pl = _tiny()
    plan = Plan.model_validate(pl)
    base = journey(sc, plan).loaded_wait["T1"]
    fast = journey(sc, plan, roads=_legs_csv(tmp_path, sc, plan, 0.5)).loaded_wait["T1"]
    loaded = next(i for i, s in enumerate(plan.trips[0].stops) if s.kind == "drop")
    geo = Roads.open(None, sc.policy.road_factor)
    st = plan.trips[0].stops
    leg_min = geo.km(st[loaded - 1].place, st[loaded].place) / sc.policy.speed_kmh * 60
    assert fast - base == pytest.approx((math.ceil(leg_min) - math.ceil(leg_min / 2)) / 60, abs=0.02)


# ------------------------------------------------------------------ the optimiser on a road server


def test_a_plan_on_an_osrm_server_follows_its_minutes_and_the_checker_agrees(osrm, tiny):
    """The fake server's roads are twice the geodesic km at 50 km/h (2.3 × the estimate's time):
    the trip takes the server's minutes, its km are the server's, and the checker (asking the
    same server's route service) finds nothing wrong; checked by the estimate instead, the same
    plan is far slower than it needs to be, never too fast."""
    from planner.optimize import solve

    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 45)], fleet=[tiny.coach(count=1)])
    est = solve(sc, time_limit=2)
    road = solve(sc, time_limit=2, distances=OsrmTable(osrm.url))
    assert road.solver.roads == osrm.url
    assert any(r.service == "table" for r in osrm.requests)

    def loaded(plan) -> float:
        (trip,) = plan.trips
        pick = next(s for s in trip.stops if s.kind == "pickup")
        drop = next(s for s in trip.stops if s.kind == "drop")
        return (drop.arrive - pick.depart).total_seconds() / 60

    assert loaded(road) > 2.0 * loaded(est)
    assert road.summary.km == pytest.approx(2 * est.summary.km / sc.policy.road_factor, rel=0.02)
    assert check(sc, road) == []  # the plan names its source: the checker asks the same server
    assert any(r.service == "route" for r in osrm.requests)
    assert [v for v in check(sc, est, roads=osrm.url) if v.rule == "leg_time"]


def test_fangang_plan_says_when_the_road_server_cannot_be_reached(tiny, tiny_json, tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    sc = tiny_json(tiny.scenario_dict([tiny.order("O1", tiny.HUAXIAN, 45)]))
    url = closed_port_url()
    res = CliRunner().invoke(app, ["plan", str(sc), "-o", str(tmp_path / "p.json"), "--roads", url,
                                   "--time-limit", "2"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert res.exit_code == 2, res.output
    assert url in res.output and "cannot be reached" in res.output
    assert not (tmp_path / "p.json").exists()
