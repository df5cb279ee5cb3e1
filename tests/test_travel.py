"""Tests of planner.network.roads: road-distance sources, and that plan and check measure with the same."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from planner.check import check
from planner.network.places import Point
from planner.network.roads import CsvRoadMatrix, GeodesicRoad, provider_for
from planner.optimize import solve

FACTOR = 1.45  # the fake server's roads: great-circle metres × this
SPEED = 75 / 3.6  # ... driven at the policy's 75 km/h (metres per second)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h)) * FACTOR


class _Osrm(BaseHTTPRequestHandler):
    """Just enough of OSRM's ``table`` and ``route`` services, on localhost."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        parts = url.path.split("/")
        coords = [tuple(map(float, c.split(","))) for c in parts[-1].split(";")]
        if parts[1] == "table":
            q = parse_qs(url.query)
            src = [int(i) for i in q["sources"][0].split(";")]
            dst = [int(i) for i in q["destinations"][0].split(";")]
            body = {"code": "Ok", "distances": [[_metres(coords[i], coords[j]) for j in dst] for i in src],
                    "durations": [[_metres(coords[i], coords[j]) / SPEED for j in dst] for i in src]}
        else:
            m = _metres(coords[0], coords[1])
            body = {"code": "Ok", "routes": [{"distance": m, "duration": m / SPEED}]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osrm)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_plan_made_with_osrm_is_checked_with_osrm(tiny, osrm):
    """Planned with an OSRM server's road km (1.45 × great circle), the plan names the server;
    the checker asks the same server and finds the km right, and geodesic × 1.3 finds them wrong."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 30), tiny.order("O2", tiny.ZHONGMOU, 20)])
    plan = solve(sc, time_limit=2, distances=provider_for(osrm, sc.policy.road_factor))
    assert plan.solver.roads == osrm
    assert check(sc, plan) == []
    assert "km" in {v.rule for v in check(sc, plan, roads="geodesic")}


def test_a_road_table_keys_sites_and_depots_by_id_and_counts_both_ways(tmp_path):
    """``from,to,km`` rows name sites and depots by id and origins by county code or ``lat,lon``;
    a pair given one way serves both; pairs missing fall back to geodesic × road factor."""
    path = tmp_path / "roads.csv"
    path.write_text('from,to,km\nD1,410526,200\n"35.58000,114.52000",F1,190\n', encoding="utf-8")
    depot = Point(34.56, 113.81, "yard", "410184", "coords", ref="D1")
    site = Point(34.53, 113.84, "F1", "410184", "coords", ref="F1")
    county = Point(35.575, 114.519, "滑县", "410526", "county")
    coords = Point(35.58, 114.52, "滑县 35.58", "410526", "coords")
    km = CsvRoadMatrix(str(path)).matrix([depot, county, coords], [county, depot, site])
    assert km[0, 0] == 200 and km[1, 1] == 200  # D1 → 410526 and back
    assert km[2, 2] == 190  # coordinates keyed by themselves, not by their county
    geo = GeodesicRoad(1.3).matrix([coords], [county])[0, 0]
    assert km[2, 0] == pytest.approx(geo)


def test_a_bad_road_table_is_refused_naming_the_row(tmp_path):
    """A row without a number of km is an error naming the file and the row."""
    path = tmp_path / "roads.csv"
    path.write_text("from,to,km\nD1,F1,far\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        CsvRoadMatrix(str(path))
