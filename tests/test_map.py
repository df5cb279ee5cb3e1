"""``fangang map``: a plan drawn on a map of China, as a self-contained page or a picture."""

from __future__ import annotations

import json
import re

from test_trains import train_scenario
from typer.testing import CliRunner

from planner.cli import app
from planner.contract import Scenario
from planner.optimize import solve
from planner.plan_map import layers, provinces, to_html


def _plan(tiny):
    d = train_scenario(tiny, orders=(tiny.order("N1", "410102", 40),))
    sc = Scenario.model_validate(d)
    return d, sc, solve(sc, time_limit=3)


def test_the_page_draws_every_trip_and_train_and_fetches_nothing(tiny):
    _, sc, plan = _plan(tiny)
    page = to_html(layers(sc, plan))
    runs = {r.train for r in plan.train_loads}
    assert page.count('<path class="trip') == len(plan.trips) + len(runs)
    for purpose in ("direct", "feeder", "last_mile", "train"):
        assert f'data-mode="{purpose}"' in page
    assert page.count('class="province"') >= len(provinces()) and "河南省" in page
    # nothing is fetched: no src/href attributes, no url(), the only "http" is the SVG namespace
    assert not re.search(r"\b(src|href)\s*=", page) and "url(" not in page
    assert re.findall(r"https?://[^\"' )]+", page) == ["http://www.w3.org/2000/svg"]


def test_counties_are_sized_by_headcount_and_say_how_many_were_planned(tiny):
    _, sc, plan = _plan(tiny)
    data = layers(sc, plan)
    by_name = {c["name"]: c for c in data["counties"]}
    assert sum(c["headcount"] for c in data["counties"]) == sum(o.headcount for o in sc.orders)
    assert sum(c["planned"] for c in data["counties"]) == plan.summary.workers_planned  # once each, not per leg
    assert len(by_name) == 2


def test_map_command_writes_html_and_png_and_refuses_other_kinds(tiny, tiny_json, tmp_path):
    d, _, plan = _plan(tiny)
    scen = tiny_json(d)
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    for name in ("plan.html", "plan.png"):
        r = CliRunner().invoke(app, ["map", str(plan_path), str(scen), "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "plan.png").stat().st_size > 20_000
    assert "<svg" in (tmp_path / "plan.html").read_text(encoding="utf-8")
    r = CliRunner().invoke(app, ["map", str(plan_path), str(scen), "-o", str(tmp_path / "plan.pdf")])
    assert r.exit_code == 2 and ".png" in r.output
    assert json.loads(plan_path.read_text(encoding="utf-8"))["trips"]


def test_the_map_has_a_legend_zoom_and_feeders_drawn_as_lines(tiny):
    _, sc, plan = _plan(tiny)
    page = to_html(layers(sc, plan))
    legend = page[page.index('id="legend"'):page.index("</header>")]
    for words in ("直达", "接站", "送厂", "专列", "工厂", "车场", "车站", "家乡区县"):
        assert words in legend
    assert legend.count("<circle") >= 1  # home counties sized by headcount
    for button in ("zoom-in", "zoom-out", "zoom-reset"):
        assert f'id="{button}"' in page
    assert "addEventListener('wheel'" in page and "mousedown" in page
    feeders = re.findall(r'<path class="trip feeder"[^>]*d="(M[^"]+)"', page)
    assert feeders and all(" L" in d and "non-scaling-stroke" in page for d in feeders)
