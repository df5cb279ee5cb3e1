"""A plan on a map of China, without the service: ``fangang map PLAN SCENARIO -o plan.html|png``.

:func:`layers` turns a scenario and its plan into plain data — the provinces' outlines (shipped in
``planner/data/china_provinces.json``, see ``benchmarks/map_data.py``), the home counties sized by
headcount, stations, sites and depots, every trip as a line through its stops (direct coach trips
coloured by coach, feeders, last miles) and every train that runs as a line through its calls.
:func:`to_html` draws them as one self-contained page (inline SVG, a few lines of plain script
for the filters by mode, site, agency and day and the hover panel; nothing is fetched, no map
tiles); :func:`to_png` draws the same with matplotlib.

Coordinates are drawn as given (the outlines are GCJ-02, within ~0.5 km of WGS-84: nothing at a
country's scale); the projection is equirectangular with the longitudes shortened by cos 35°.
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import json
import math
import warnings
from collections import defaultdict
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional

from .contract import SHANGHAI, Plan, Scenario

COS = math.cos(math.radians(35.0))
#: the colours of the legs of a train chain and of trains
FEEDER, LAST_MILE, TRAIN = "#e67e22", "#27ae60", "#8e1b1b"


@cache
def provinces() -> list[dict[str, Any]]:
    """The provinces' outlines: ``[{"code", "name", "rings": [[[lon, lat], ...]]}]``."""
    with resources.as_file(resources.files("planner") / "data" / "china_provinces.json") as p:
        return json.loads(Path(p).read_text(encoding="utf-8"))["provinces"]


def _coach_colour(key: str) -> str:
    h = int(hashlib.sha1(key.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hls_to_rgb(0.55 + 0.4 * h if h < 0.5 else 0.55 + 0.4 * (h - 0.5), 0.42, 0.75)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


_PURPOSE = {"direct": "直达", "feeder": "接站", "last_mile": "送厂"}
_KIND = {"depart": "发车", "pickup": "上车", "drop": "下车", "return": "回场"}


def layers(scenario: Scenario, plan: Plan, order_names: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """Everything the map draws, as plain data (see the module's doc). ``order_names`` names the
    orders in the hovers as people know them (an agency's own reference) instead of their ids."""
    from .network import places  # noqa: PLC0415

    names = order_names or {}

    agency = {o.id: o.agency for o in scenario.orders}
    site_of = {o.id: o.site for o in scenario.orders}
    pts = places.resolve_all([o.origin for o in scenario.orders], scenario.policy.county_snap_km)
    counties: dict[str, dict[str, Any]] = {}
    for o, p in zip(scenario.orders, pts):
        if not isinstance(p, places.Point):
            continue
        key = p.county or f"{p.lat:.3f},{p.lon:.3f}"
        c = counties.setdefault(key, {"id": key, "name": p.name, "lat": p.lat, "lon": p.lon, "headcount": 0,
                                      "planned": 0})
        c["headcount"] += o.headcount
    county_of_order = {o.id: (p.county or f"{p.lat:.3f},{p.lon:.3f}") for o, p in zip(scenario.orders, pts)
                       if isinstance(p, places.Point)}
    trips = []
    for t in plan.trips:
        stops = [s for s in t.stops if s.place.lat is not None and s.place.lon is not None]
        orders = sorted({ld.order for s in t.stops for ld in s.board})
        purpose = t.purpose or "direct"
        if purpose != "last_mile":
            for s in t.stops:
                for ld in s.board:
                    home = counties.get(county_of_order.get(ld.order, ""))
                    if home is not None:
                        home["planned"] += ld.count
        first = next((s.depart for s in t.stops if s.kind == "pickup" and s.depart), None)
        lines = [f"{t.id} · {t.vehicle_type} #{t.bus + 1} · {_PURPOSE.get(purpose, purpose)} · {t.km:,.0f} 公里 · "
                 f"¥{t.cost:,.0f}"]
        for s in t.stops:
            when = (s.depart or s.arrive)
            loads = ", ".join(f"{names.get(ld.order, ld.order)} {ld.count} 人" for ld in (s.board or s.alight))
            place = (f"{s.place.name} ({s.place.county})" if s.place.county and s.place.name
                     and s.place.name != s.place.county else s.place.name or s.place.id or s.place.county or "")
            lines.append(f"{_KIND.get(s.kind, s.kind)} {place} "
                         f"{when.astimezone(SHANGHAI).strftime('%m-%d %H:%M') if when else ''} {loads}".strip())
        trips.append({
            "id": t.id, "purpose": purpose, "coach": f"{t.vehicle_type}#{t.bus + 1}",
            "colour": {"feeder": FEEDER, "last_mile": LAST_MILE}.get(purpose) or _coach_colour(f"{t.vehicle_type}#{t.bus}"),
            "points": [(s.place.lat, s.place.lon) for s in stops],
            "day": first.astimezone(SHANGHAI).date().isoformat() if first else "",
            "sites": sorted({site_of.get(o, "") for o in orders}), "agencies": sorted({agency.get(o, "") for o in orders}),
            "riders": sum(ld.count for s in t.stops for ld in s.board), "text": "\n".join(lines)})
    riders: dict[str, int] = defaultdict(int)
    for r in plan.train_loads:
        riders[r.train] += r.count
    where = {s.id: s for s in scenario.stations}
    spts = places.resolve_all([s.location for s in scenario.stations], scenario.policy.county_snap_km)
    station_pt = {s.id: p for s, p in zip(scenario.stations, spts) if isinstance(p, places.Point)}
    trains = []
    for offer in scenario.trains:
        if not riders.get(offer.id):
            continue
        calls = [c for c in offer.calls if c.station in station_pt]
        dep = offer.calls[0].depart
        trains.append({"id": offer.id, "name": offer.name or offer.id, "riders": riders[offer.id],
                       "points": [(station_pt[c.station].lat, station_pt[c.station].lon) for c in calls],
                       "day": dep.astimezone(SHANGHAI).date().isoformat() if dep else "",
                       "text": f"{offer.name or offer.id} ({offer.id}) · {riders[offer.id]:,} 人 · "
                               + " → ".join(where[c.station].name or c.station for c in calls)})

    def located(items: list[Any], kind: str) -> list[dict[str, Any]]:
        got = places.resolve_all([i.location for i in items], scenario.policy.county_snap_km)
        return [{"id": i.id, "name": i.name or i.id, "kind": kind, "lat": p.lat, "lon": p.lon}
                for i, p in zip(items, got) if isinstance(p, places.Point)]

    sm = plan.summary
    return {"title": f"{plan.scenario}: 已安排 {sm.workers_planned:,} / {sm.workers_eligible:,} 人 planned, "
                     f"{sm.trips:,} 车次 trips, {sm.km:,.0f} 车公里 coach-km, ¥{sm.cost + (sm.train_cost or 0):,.0f}",
            "provinces": provinces(), "counties": list(counties.values()), "trips": trips, "trains": trains,
            "sites": located(list(scenario.sites), "site"), "depots": located(list(scenario.depots), "depot"),
            "stations": located(list(scenario.stations), "station")}


def _xy(lat: float, lon: float) -> tuple[float, float]:
    return round(lon * COS * 10, 1), round(-lat * 10, 1)


def _path(points: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{x},{y}" for x, y in (_xy(a, b) for a, b in points))


def _legend(data: dict[str, Any]) -> str:
    """What the map's marks mean: the kinds of trip, sites, depots, stations and the home counties
    sized by headcount (three sizes from the data's range)."""

    def line(colour: str, dash: str = "") -> str:
        return (f'<svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="{colour}" stroke-width="2.5"'
                f'{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}/></svg>')

    def square(colour: str) -> str:
        return f'<svg width="10" height="10"><rect x="1" y="1" width="8" height="8" fill="{colour}"/></svg>'

    items = [(line(_coach_colour("coach#0")), "直达 direct"), (line(FEEDER), "接站 feeder"),
             (line(LAST_MILE), "送厂 last mile"), (line(TRAIN, "6 3"), "专列 train"),
             (square("#c0392b"), "工厂 site"), (square("#2c3e50"), "车场 depot"), (square("#8e44ad"), "车站 station")]
    most = max((c["headcount"] for c in data["counties"]), default=0)
    sizes = sorted({n for n in (10, 100, 1000, 10000) if n <= max(most, 10)})[-3:]
    circles = "".join(f'<svg width="{2 * r + 2:.0f}" height="{2 * r + 2:.0f}"><circle cx="{r + 1:.1f}" cy="{r + 1:.1f}" '
                      f'r="{r:.1f}" fill="#3b6ea5" fill-opacity=".35" stroke="#3b6ea5"/></svg>{n:,} '
                      for n in sizes for r in (min(12.0, 1.5 + 0.35 * math.sqrt(n)),))
    items.append((circles, "人 家乡区县 home counties by headcount"))
    return ('<span class="legend" id="legend"><b>图例 legend</b> '
            + "".join(f"<span>{mark} {label}</span>" for mark, label in items) + "</span>")


def to_html(data: dict[str, Any]) -> str:
    """One self-contained HTML page (inline SVG; nothing is fetched)."""
    e = html.escape
    out: list[str] = []
    for p in data["provinces"]:
        for ring in p["rings"]:
            d = _path([(lat, lon) for lon, lat in ring])
            out.append(f'<path class="province" d="{d}Z"><title>{e(p["name"])}</title></path>')
    for c in data["counties"]:
        x, y = _xy(c["lat"], c["lon"])
        r = round(0.6 + 0.25 * math.sqrt(c["headcount"]), 2)
        out.append(f'<circle class="county" cx="{x}" cy="{y}" r="{r}"><title>{e(c["name"] or c["id"])} ({e(c["id"])}): '
                   f'{c["headcount"]:,} 人，已安排 {c["planned"]:,} 人</title></circle>')
    for t in data["trains"]:
        out.append(f'<path class="trip train" data-mode="train" data-day="{t["day"]}" data-site="" data-agency="" '
                   f'vector-effect="non-scaling-stroke" d="{_path(t["points"])}" data-text="{e(t["text"])}">'
                   f'<title>{e(t["text"])}</title></path>')
    for t in data["trips"]:
        out.append(f'<path class="trip {t["purpose"]}" data-mode="{t["purpose"]}" data-day="{t["day"]}" '
                   f'data-site="{e(" ".join(t["sites"]))}" data-agency="{e(" ".join(t["agencies"]))}" '
                   f'stroke="{t["colour"]}" vector-effect="non-scaling-stroke" d="{_path(t["points"])}" '
                   f'data-text="{e(t["text"])}">'
                   f'<title>{e(t["text"])}</title></path>')
    for kind, items in (("station", data["stations"]), ("depot", data["depots"]), ("site", data["sites"])):
        for i in items:
            x, y = _xy(i["lat"], i["lon"])
            out.append(f'<rect class="{kind}" x="{x - 1.2}" y="{y - 1.2}" width="2.4" height="2.4">'
                       f'<title>{kind} {e(i["name"])} ({e(i["id"])})</title></rect>')
    xs = [x for p in data["provinces"] for ring in p["rings"] for x, _ in (_xy(lat, lon) for lon, lat in ring)]
    ys = [y for p in data["provinces"] for ring in p["rings"] for _, y in (_xy(lat, lon) for lon, lat in ring)]
    box = f"{min(xs) - 5:.0f} {min(ys) - 5:.0f} {max(xs) - min(xs) + 10:.0f} {max(ys) - min(ys) + 10:.0f}"

    def options(values: set[str]) -> str:
        return "".join(f'<option value="{e(v)}">{e(v)}</option>' for v in sorted(v for v in values if v))

    sites = {s for t in data["trips"] for s in t["sites"]}
    agencies = {a for t in data["trips"] for a in t["agencies"]}
    days = {t["day"] for t in data["trips"]} | {t["day"] for t in data["trains"]}
    legend = _legend(data)
    modes = "".join(f'<label><input type="checkbox" class="mode" value="{m}" checked> {label}</label> '
                    for m, label in (("direct", "直达 coach"), ("feeder", "接站 feeder"), ("train", "专列 train"),
                                     ("last_mile", "送厂 last mile")))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(data["title"])}</title>
<style>
body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;display:flex;flex-direction:column;height:100vh}}
header{{padding:6px 10px;background:#f4f4f4;font-size:14px}} header label{{margin-right:8px}}
#map{{flex:1;width:100%;cursor:grab}} .province{{fill:#fbfbf8;stroke:#b9b9b0;stroke-width:.4}}
.county{{fill:#3b6ea5;fill-opacity:.35;stroke:#3b6ea5;stroke-width:.2}}
.trip{{fill:none;stroke-width:1.2px;stroke-opacity:.8}} .trip:hover{{stroke-width:3px;stroke-opacity:1}}
.train{{stroke:{TRAIN};stroke-width:2px;stroke-dasharray:6 3}} .hidden{{display:none}}
.legend{{display:inline-flex;flex-wrap:wrap;gap:2px 10px;align-items:center;font-size:12px;margin-left:6px}}
.legend svg{{vertical-align:middle}} .zoom button{{min-width:2em}}
.site{{fill:#c0392b}} .depot{{fill:#2c3e50}} .station{{fill:#8e44ad}}
#info{{position:fixed;right:8px;bottom:8px;max-width:40em;white-space:pre-wrap;background:#fff;border:1px solid #ccc;
padding:6px;font-size:12px}}
</style></head><body>
<header><b>{e(data["title"])}</b><br>{modes}
<label>工厂 site <select id="site"><option value="">all</option>{options(sites)}</select></label>
<label>中介 agency <select id="agency"><option value="">all</option>{options(agencies)}</select></label>
<label>日期 day <select id="day"><option value="">all</option>{options(days)}</select></label>
<span id="count"></span>
<span class="zoom"><button type="button" id="zoom-in" title="放大 zoom in">+</button>
<button type="button" id="zoom-out" title="缩小 zoom out">−</button>
<button type="button" id="zoom-reset" title="复原 reset">⟲</button></span>
{legend}</header>
<svg id="map" viewBox="{box}" xmlns="http://www.w3.org/2000/svg">{"".join(out)}</svg>
<div id="info">hover a trip for its stops and loads</div>
<script>
function apply(){{
  var modes=[].slice.call(document.querySelectorAll('.mode')).filter(function(c){{return c.checked}})
    .map(function(c){{return c.value}});
  var site=document.getElementById('site').value, agency=document.getElementById('agency').value,
    day=document.getElementById('day').value;
  var shown=0;
  document.querySelectorAll('path.trip, g.tbar').forEach(function(p){{
    var ok=modes.indexOf(p.dataset.mode)>=0 && (!day||p.dataset.day===day)
      && (!site||p.dataset.mode==='train'||p.dataset.site.split(' ').indexOf(site)>=0)
      && (!agency||p.dataset.mode==='train'||p.dataset.agency===undefined
          ||p.dataset.agency.split(' ').indexOf(agency)>=0);
    p.classList.toggle('hidden',!ok); if(ok&&p.tagName.toLowerCase()==='path')shown++;
  }});
  document.getElementById('count').textContent=shown+' shown';
}}
document.querySelectorAll('header input, header select').forEach(function(x){{x.addEventListener('change',apply)}});
document.querySelectorAll('path.trip').forEach(function(p){{p.addEventListener('mouseover',function(){{
  document.getElementById('info').textContent=p.dataset.text}})}});
apply();
(function(){{
  var svg=document.getElementById('map'), home=svg.getAttribute('viewBox').split(' ').map(Number), vb=home.slice();
  function set(){{svg.setAttribute('viewBox',vb.join(' '))}}
  function zoom(f,cx,cy){{
    var w=Math.min(home[2]*2,Math.max(home[2]/200,vb[2]*f)), k=w/vb[2];
    if(cx===undefined){{cx=vb[0]+vb[2]/2;cy=vb[1]+vb[3]/2}}
    vb=[cx-(cx-vb[0])*k,cy-(cy-vb[1])*k,vb[2]*k,vb[3]*k]; set();
  }}
  function at(e){{var r=svg.getBoundingClientRect(), s=Math.max(vb[2]/r.width,vb[3]/r.height);
    return [vb[0]+vb[2]/2+(e.clientX-r.left-r.width/2)*s, vb[1]+vb[3]/2+(e.clientY-r.top-r.height/2)*s, s]}}
  svg.addEventListener('wheel',function(e){{e.preventDefault();var p=at(e);zoom(e.deltaY<0?0.8:1.25,p[0],p[1])}},
    {{passive:false}});
  var drag=null;
  svg.addEventListener('mousedown',function(e){{drag=[e.clientX,e.clientY,at(e)[2]];svg.style.cursor='grabbing'}});
  window.addEventListener('mousemove',function(e){{if(!drag)return;
    vb[0]-=(e.clientX-drag[0])*drag[2];vb[1]-=(e.clientY-drag[1])*drag[2];drag[0]=e.clientX;drag[1]=e.clientY;set()}});
  window.addEventListener('mouseup',function(){{drag=null;svg.style.cursor=''}});
  document.getElementById('zoom-in').addEventListener('click',function(){{zoom(0.5)}});
  document.getElementById('zoom-out').addEventListener('click',function(){{zoom(2)}});
  document.getElementById('zoom-reset').addEventListener('click',function(){{vb=home.slice();set()}});
}})();
</script></body></html>
"""


def to_png(data: dict[str, Any], path: Path, *, dpi: int = 150) -> None:
    """The same map as a picture (matplotlib, no screen needed)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib import font_manager  # noqa: PLC0415

    cjk = [f.name for f in font_manager.fontManager.ttflist
           if any(k in f.name for k in ("CJK", "WenQuanYi", "SimHei", "Hei", "Song", "Ming"))]
    title = data["title"]
    if cjk:
        plt.rcParams["font.family"] = [cjk[0], "DejaVu Sans"]
    else:  # no font with Chinese glyphs here: the title without the scenario's (Chinese) name
        import re  # noqa: PLC0415

        title = re.sub(r"[^\x00-\u2fff]+ ?", "", title.split(": ", 1)[-1])  # and the Chinese words

    fig, ax = plt.subplots(figsize=(10, 8))
    for p in data["provinces"]:
        for ring in p["rings"]:
            ax.fill([lon * COS for lon, _ in ring], [lat for _, lat in ring], facecolor="#fbfbf8", edgecolor="#b9b9b0",
                    linewidth=0.4)
    for c in data["counties"]:
        ax.scatter([c["lon"] * COS], [c["lat"]], s=2 + 0.3 * c["headcount"] ** 0.5 * 10, color="#3b6ea5", alpha=0.35,
                   linewidths=0)
    for t in data["trips"]:
        ax.plot([lon * COS for _, lon in t["points"]], [lat for lat, _ in t["points"]], color=t["colour"],
                linewidth=0.5, alpha=0.7)
    for t in data["trains"]:
        ax.plot([lon * COS for _, lon in t["points"]], [lat for lat, _ in t["points"]], color=TRAIN, linewidth=1.6,
                linestyle="--")
    for kind, colour in (("stations", "#8e44ad"), ("depots", "#2c3e50"), ("sites", "#c0392b")):
        ax.scatter([i["lon"] * COS for i in data[kind]], [i["lat"] for i in data[kind]], marker="s", s=10, color=colour)
    ax.set_aspect("equal")
    ax.set_axis_off()
    with warnings.catch_warnings():  # the default fonts have no Chinese glyphs: the title may show boxes
        warnings.simplefilter("ignore")
        ax.set_title(title, fontsize=8)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
