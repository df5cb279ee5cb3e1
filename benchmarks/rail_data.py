"""Build fangang's rail reference data (``planner/data/stations.csv``, ``rail_links.csv``).

The station table holds the main station of each prefecture-level city (and a few county-level
cities with a notable station) on China's conventional trunk lines through the labour-exporting
and receiving provinces, at the city's seat as ``cpca``'s ``adcodes.csv`` gives it. Links join
consecutive cities along each line; their km are the great-circle distance × :data:`RAIL_FACTOR`
(rail km on trunk lines run 1.2–1.3 × geodesic: ``../shared/research/trains.md``), not surveyed
figures. Run ``python -m benchmarks.rail_data`` to write the files again.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

RAIL_FACTOR = 1.25
OUT = Path(__file__).resolve().parents[1] / "planner" / "data"

#: Trunk lines, each an ordered list of the cities it links (cpca names; county-level cities too).
LINES: dict[str, list[str]] = {
    "京广": ["北京市", "保定市", "石家庄市", "邢台市", "邯郸市", "安阳市", "鹤壁市", "新乡市", "郑州市", "许昌市",
           "漯河市", "驻马店市", "信阳市", "孝感市", "武汉市", "咸宁市", "岳阳市", "长沙市", "株洲市", "衡阳市",
           "郴州市", "韶关市", "清远市", "广州市"],
    "广深": ["广州市", "东莞市", "深圳市"],
    "京沪": ["北京市", "天津市", "沧州市", "德州市", "济南市", "泰安市", "济宁市", "枣庄市", "徐州市", "宿州市",
           "蚌埠市", "滁州市", "南京市", "镇江市", "常州市", "无锡市", "苏州市", "昆山市", "上海市"],
    "陇海": ["连云港市", "徐州市", "商丘市", "开封市", "郑州市", "洛阳市", "三门峡市", "渭南市", "西安市", "咸阳市",
           "宝鸡市", "天水市", "定西市", "兰州市"],
    "京九": ["北京市", "衡水市", "聊城市", "菏泽市", "商丘市", "亳州市", "阜阳市", "麻城市", "九江市", "南昌市",
           "吉安市", "赣州市", "河源市", "惠州市", "深圳市"],
    "沪昆": ["上海市", "嘉兴市", "杭州市", "金华市", "衢州市", "上饶市", "鹰潭市", "南昌市", "新余市", "宜春市",
           "萍乡市", "株洲市", "湘潭市", "娄底市", "怀化市", "凯里市", "贵阳市", "安顺市", "六盘水市", "曲靖市",
           "昆明市"],
    "萧甬": ["杭州市", "绍兴市", "宁波市"],
    "甬台温福厦深": ["宁波市", "台州市", "温州市", "福州市", "莆田市", "泉州市", "厦门市", "漳州市", "汕头市", "深圳市"],
    "宝成": ["宝鸡市", "汉中市", "广元市", "绵阳市", "德阳市", "成都市"],
    "成渝": ["成都市", "资阳市", "内江市", "重庆市"],
    "达成": ["成都市", "遂宁市", "南充市", "达州市"],
    "襄渝": ["襄阳市", "十堰市", "安康市", "达州市", "重庆市"],
    "川黔": ["重庆市", "遵义市", "贵阳市"],
    "成昆": ["成都市", "眉山市", "乐山市", "西昌市", "攀枝花市", "楚雄市", "昆明市"],
    "焦柳": ["焦作市", "洛阳市", "平顶山市", "南阳市", "襄阳市", "荆门市", "宜昌市", "张家界市", "吉首市", "怀化市",
           "柳州市"],
    "湘桂": ["衡阳市", "永州市", "桂林市", "柳州市", "南宁市"],
    "黔桂": ["贵阳市", "都匀市", "河池市", "柳州市"],
    "南昆": ["南宁市", "百色市", "兴义市", "昆明市"],
    "宁西": ["南京市", "合肥市", "六安市", "信阳市", "南阳市", "商洛市", "西安市"],
    "合九": ["合肥市", "安庆市", "九江市"],
    "皖赣": ["芜湖市", "宣城市", "黄山市", "景德镇市", "鹰潭市"],
    "漯阜淮": ["漯河市", "周口市", "阜阳市", "淮南市", "合肥市"],
    "汉十": ["武汉市", "随州市", "襄阳市"],
    "汉宜": ["武汉市", "荆州市", "宜昌市"],
    "宜万": ["宜昌市", "恩施市", "利川市", "重庆市"],
    "石长": ["长沙市", "益阳市", "常德市", "张家界市"],
    "兰渝": ["兰州市", "陇南市", "广元市", "南充市", "重庆市"],
    "太焦": ["太原市", "长治市", "晋城市", "焦作市", "新乡市"],
    "石太": ["石家庄市", "阳泉市", "太原市"],
    "同蒲": ["太原市", "晋中市", "临汾市", "运城市", "渭南市"],
    "鹰厦": ["鹰潭市", "南平市", "三明市", "厦门市"],
    "武九": ["武汉市", "黄石市", "九江市"],
    "胶济": ["济南市", "淄博市", "潍坊市", "青岛市"],
    "新菏兖日": ["新乡市", "菏泽市", "济宁市", "日照市"],
    "宁启": ["南京市", "扬州市", "泰州市", "南通市"],
    "宁芜": ["南京市", "马鞍山市", "芜湖市"],
    "水蚌": ["淮南市", "蚌埠市"],
    "内六": ["内江市", "宜宾市", "昭通市", "六盘水市"],
    "渝怀": ["重庆市", "铜仁市", "怀化市"],
    "洛湛": ["怀化市", "邵阳市", "永州市"],
    "京通": ["北京市", "承德市"],
    "京哈": ["北京市", "唐山市", "秦皇岛市"],
}


def _geo_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _cities() -> dict[str, tuple[str, float, float]]:
    """Prefecture-level cities and county-level cities by name: (6-digit code, lat, lon)."""
    import cpca  # noqa: PLC0415

    path = os.path.join(os.path.dirname(cpca.__file__), "resources", "adcodes.csv")
    out: dict[str, tuple[str, float, float]] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code12, name = row["adcode"], row["name"]
            if not code12.endswith("000000") or not row["latitude"]:
                continue
            code = code12[:6]
            prefecture = code.endswith("00") and not code.endswith("0000")
            municipality = code.endswith("0000") and name in ("北京市", "天津市", "上海市", "重庆市")
            county_city = not code.endswith("00") and name.endswith("市")
            if prefecture or municipality or (county_city and name not in out):
                if name not in out or prefecture or municipality:
                    out[name] = (code, float(row["latitude"]), float(row["longitude"]))
    return out


def build() -> tuple[list[dict], list[dict]]:
    cities = _cities()
    used: dict[str, dict] = {}
    links: dict[tuple[str, str], dict] = {}
    for line, names in LINES.items():
        for name in names:
            if name not in cities:
                raise KeyError(f"{line}: {name} is not a city cpca knows")
            code, lat, lon = cities[name]
            used.setdefault(name, {"id": f"S{code}", "name": name.removesuffix("市") + "站", "city": name,
                                   "county": code, "lat": round(lat, 5), "lon": round(lon, 5)})
        for a, b in zip(names, names[1:]):
            sa, sb = used[a], used[b]
            key = tuple(sorted((sa["id"], sb["id"])))
            km = _geo_km(sa["lat"], sa["lon"], sb["lat"], sb["lon"]) * RAIL_FACTOR
            links.setdefault(key, {"from": key[0], "to": key[1], "km": round(km, 1), "line": line})  # type: ignore[arg-type]
    return sorted(used.values(), key=lambda s: s["id"]), sorted(links.values(), key=lambda x: (x["from"], x["to"]))


def main() -> int:
    stations, links = build()
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "stations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "name", "city", "county", "lat", "lon"])
        w.writeheader()
        w.writerows(stations)
    with open(OUT / "rail_links.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["from", "to", "km", "line"])
        w.writeheader()
        w.writerows(links)
    print(f"{len(stations)} stations, {len(links)} links written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
