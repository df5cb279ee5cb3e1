"""Resolve contract locations (county code, Chinese address, coordinates) to points in a county.

Counties come from ``data/divisions.csv``: the county-level divisions of 国家统计局's 2023
statistical division codes (cutoff 2023-06-30), each at its county seat (coordinates from
``cpca``'s older table, or a predecessor's; see ``tools/build_divisions.py``). Codes and names that
have gone since (淮阳县 411626, now 淮阳区 411603) come from ``data/division_changes.csv`` and
resolve to today's county with a :attr:`Point.note` saying so. Every origin ends up in a county, so
region risk, cohorts and every county rule apply whatever form it came in:

- a county code is looked up (today's or a former one; unknown codes are refused, and so are the
  statistical-only zones, 郑州经济技术开发区 410171 …, which are no county);
- an address is read from its start as province, prefecture, county, each optional and in full or
  short (河南省/河南, 恩施土家族苗族自治州/恩施州/恩施, 锡林郭勒盟, 喀什地区, 威宁彝族回族苗族自治县/
  威宁县/威宁, a former name such as 淮阳县); what follows the county (towns, streets) is ignored.
  A county name that several counties share (朝阳区, 鼓楼区) is refused with the candidates listed
  unless the address also names the province or city; an address naming a province or city that
  does not hold the county is refused too, and so is one naming no county (a misspelt one gets the
  nearest names as suggestions);
- coordinates are placed in the county whose seat is nearest, when that seat is within
  ``snap_km`` (``policy.county_snap_km``, default 100 km); farther, the coordinates are refused
  (outside China, or mistyped). Near a county border the nearest seat can be the neighbour's:
  the table has no county outlines, and the plan shows the county chosen (``place.county``).
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Optional

import numpy as np

from ..contract import Location

#: default of ``policy.county_snap_km``
SNAP_KM = 100.0

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


class PlaceError(ValueError):
    """A location that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class Point:
    """A resolved place: coordinates, a display name and its 6-digit county.

    ``kind`` says how it was given: ``county`` and ``address`` points stand at the county seat,
    ``coords`` points where they were given (``county`` is then the county they were placed in).
    ``ref`` is the id of a site or depot, for road-distance tables keyed by id. ``note`` is set when
    the location named a county by a former code or name ("淮阳县 (411626) is now 淮阳区 (411603)"),
    for the caller to pass on as a warning.
    """

    lat: float
    lon: float
    name: str
    county: Optional[str] = None
    kind: Literal["county", "address", "coords"] = "county"
    ref: Optional[str] = None
    note: str = ""

    @property
    def key(self) -> str:
        """How road-distance tables name this place: a site/depot id, a county code, or ``lat,lon``."""
        if self.ref:
            return self.ref
        if self.kind != "coords" and self.county:
            return self.county
        return f"{self.lat:.5f},{self.lon:.5f}"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    lat: float
    lon: float
    province: str
    city: str = ""

    @property
    def label(self) -> str:
        return f"{self.province}{self.city if self.city != self.province else ''}{self.name} ({self.code})"

    @property
    def where(self) -> str:
        """Province and prefecture: 河南省驻马店市 (the province alone for municipalities)."""
        return f"{self.province}{self.city if self.city != self.province else ''}"


@dataclass(frozen=True)
class Change:
    """A county code or name of the past and the county of today it belongs to."""

    old_code: str
    old_name: str
    new_code: str

    def note(self, table: dict[str, County]) -> str:
        new = table[self.new_code]
        if self.old_code == self.new_code:
            return f"{self.old_name} is now {new.name} ({new.code})"
        return f"{self.old_name} ({self.old_code}) is now {new.name} ({new.code})"


def _rows(name: str) -> list[dict[str, str]]:
    with open(os.path.join(_DATA, name), encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _divisions() -> tuple[dict[str, County], dict[str, County]]:
    """Counties and statistical-only zones of ``data/divisions.csv``, by 6-digit code."""
    counties: dict[str, County] = {}
    zones: dict[str, County] = {}
    for row in _rows("divisions.csv"):
        lat = float(row["lat"]) if row["lat"] else math.nan
        lon = float(row["lon"]) if row["lon"] else math.nan
        c = County(row["code"], row["name"], lat, lon, row["province"], row["city"])
        (counties if row["kind"] == "county" else zones)[c.code] = c
    return counties, zones


def counties() -> dict[str, County]:
    """All county-level divisions of 2023 (no statistical-only zones), by 6-digit code."""
    return _divisions()[0]


@lru_cache(maxsize=1)
def changes() -> dict[str, Change]:
    """Former county codes (and codes renamed in place) and today's county of each, by former code."""
    return {r["old_code"]: Change(r["old_code"], r["old_name"], r["new_code"]) for r in _rows("division_changes.csv")}


# ---- names and their short forms

#: The 55 minorities' names as autonomous units write them (蒙古, 哈萨克, 柯尔克孜, 锡伯 often
#: without 族), and 各 (隆林各族自治县).
_ETHNIC = sorted("""蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山
    拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒
    乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各""".split(), key=len, reverse=True)
_PEOPLES = "(?:" + "|".join(_ETHNIC) + ")族?"
_AUTONOMOUS = re.compile(rf"^(.{{2,}}?)(?:{_PEOPLES})+自治(州|县|旗|区)$")
_PEOPLE_ONLY = re.compile(rf"^({'|'.join(_ETHNIC)})族?自治(县|旗)$")  # 东乡族自治县, 鄂伦春自治旗
_KIND = re.compile(r"(自治县|自治旗|行政委员会|县|区|市|旗)$")


def _short_forms(name: str) -> list[str]:
    """Shorter ways of writing a county: 威宁彝族回族苗族自治县 → 威宁县, 威宁; 巴东县 → 巴东;
    东乡族自治县 → 东乡县. Bare stems (no 县/区/市) come last; one-character ones are left out."""
    out: list[str] = []
    m = _AUTONOMOUS.match(name)
    if m:
        stem, kind = m.group(1), m.group(2)
        out += [stem + kind, stem]
    elif (m := _PEOPLE_ONLY.match(name)) is not None:
        out.append(m.group(1) + m.group(2))
    else:
        stem = _KIND.sub("", name)
        if stem != name and len(stem) >= 2:
            out.append(stem)
    return out


def _prefecture_forms(name: str) -> list[str]:
    """恩施土家族苗族自治州 → 恩施州, 恩施; 驻马店市 → 驻马店; 喀什地区 → 喀什; 锡林郭勒盟 → 锡林郭勒."""
    m = _AUTONOMOUS.match(name)
    if m:
        return [name, m.group(1) + "州", m.group(1)]
    stem = re.sub(r"(市|地区|盟)$", "", name)
    return [name] + ([stem] if stem != name and len(stem) >= 2 else [])


def _province_forms(name: str) -> list[str]:
    """河南省 → 河南; 广西壮族自治区 → 广西; 内蒙古自治区 → 内蒙古, 内蒙; 北京市 → 北京."""
    m = _AUTONOMOUS.match(name)
    stem = m.group(1) if m else re.sub(r"(省|市|自治区)$", "", name)
    return [name, stem] + (["内蒙"] if stem == "内蒙古" else [])


#: a bare stem (威宁, 巴东) followed by one of these is a city, a road or a province, not the county
_NOT_AFTER_STEM = set("省市州盟地区县旗路街道巷弄号")


#: what tables write in place of a prefecture (重庆市市辖区渝北区, 重庆市县酉阳土家族苗族自治县)
_NO_CITY = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


@dataclass(frozen=True)
class _Name:
    """One way of writing a county: today's ``code``; ``old`` the former code when written by a
    former name; ``bare`` when it is a stem without 县/区/市 (威宁, 巴东)."""

    code: str
    old: str = ""
    bare: bool = False


@dataclass(frozen=True)
class _Index:
    provinces: dict[str, str]  # name or short form → 2-digit code
    prefectures: dict[str, str]  # name or short form → 4-digit code (a former prefecture's old one)
    names: dict[str, list[_Name]]  # county name, short form or former name → counties
    longest: int
    #: a former prefecture's old code → the prefectures of today that hold its counties
    successors: dict[str, tuple[str, ...]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def former_prefectures() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Prefectures gone or renamed (莱芜市 3712, 巢湖市 3414, 毕节地区 5224 …): old code → (name,
    today's prefectures holding its counties); from ``data/former_prefectures.csv``."""
    return {r["code"]: (r["name"], tuple(r["successors"].split())) for r in _rows("former_prefectures.csv")}


@lru_cache(maxsize=1)
def _index() -> _Index:
    table = counties()
    provinces: dict[str, str] = {}
    prefectures: dict[str, str] = {}
    names: dict[str, list[_Name]] = {}

    def add(text: str, entry: _Name) -> None:
        got = names.setdefault(text, [])
        if entry not in got:
            got.append(entry)

    for c in table.values():
        for form in _province_forms(c.province):
            provinces.setdefault(form, c.code[:2])
        if c.city != c.province:
            for form in _prefecture_forms(c.city):
                prefectures.setdefault(form, c.code[:4])
        add(c.name, _Name(c.code))
    for c in table.values():  # short forms after full names: a full name is never shadowed
        for form in _short_forms(c.name):
            add(form, _Name(c.code, bare=not _KIND.search(form)))
    for ch in changes().values():
        if ch.new_code not in table:
            continue
        add(ch.old_name, _Name(ch.new_code, ch.old_code))
        for form in _short_forms(ch.old_name):
            add(form, _Name(ch.new_code, ch.old_code, bare=not _KIND.search(form)))
    successors: dict[str, tuple[str, ...]] = {}
    for code, (name, now) in former_prefectures().items():
        # as addresses still write them (山东省莱芜市钢城区): after today's names, never over them
        for form in _prefecture_forms(name):
            if form not in prefectures:
                prefectures[form] = code
        successors[code] = now
    longest = max(len(k) for k in (*provinces, *prefectures, *names))
    return _Index(provinces, prefectures, names, longest, successors)


@lru_cache(maxsize=1)
def _seats() -> tuple[list[str], np.ndarray, np.ndarray]:
    table = counties()
    codes = sorted(table)
    return codes, np.radians([table[c].lat for c in codes]), np.radians([table[c].lon for c in codes])


def nearest_counties(lats: np.ndarray, lons: np.ndarray) -> tuple[list[str], np.ndarray]:
    """For each coordinate, the county whose seat is nearest and that seat's great-circle km."""
    codes, la, lo = _seats()
    out_codes: list[str] = []
    out_km = np.zeros(len(lats))
    for start in range(0, len(lats), 2000):  # chunks keep the distance matrix small
        a = np.radians(np.asarray(lats[start:start + 2000], dtype=float))[:, None]
        b = np.radians(np.asarray(lons[start:start + 2000], dtype=float))[:, None]
        h = np.sin((la[None, :] - a) / 2) ** 2 + np.cos(a) * np.cos(la[None, :]) * np.sin((lo[None, :] - b) / 2) ** 2
        d = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        j = np.argmin(d, axis=1)
        out_codes += [codes[k] for k in j]
        out_km[start:start + len(j)] = d[np.arange(len(j)), j]
    return out_codes, out_km


def province_of(code: str) -> str:
    """The province name of a 6-digit county code, today's or a former one ("" when unknown)."""
    c = counties().get(code[:6])
    if c is None and code[:6] in changes():
        c = counties().get(changes()[code[:6]].new_code)
    return c.province if c else ""


def resolve(location: Location, snap_km: float = SNAP_KM) -> Point:
    """Resolve one location; raise :class:`PlaceError` when it cannot be."""
    result = resolve_all([location], snap_km)[0]
    if isinstance(result, PlaceError):
        raise result
    return result


def _county_code(code: str, display: Optional[str]) -> Point | PlaceError:
    table, zones = _divisions()
    c = table.get(code[:6])
    if c is not None:
        return Point(c.lat, c.lon, display or c.name, c.code, "county")
    ch = changes().get(code[:6])
    if ch is not None and ch.new_code in table:
        c = table[ch.new_code]
        return Point(c.lat, c.lon, display or c.name, c.code, "county", note=ch.note(table))
    z = zones.get(code[:6])
    if z is not None:
        return PlaceError(f"county code {code!r} is {z.where}{z.name}, a statistical zone and not a county: "
                          f"give the county it lies in, or an address")
    return PlaceError(f"unknown county code {code!r}")


_PUNCT = re.compile(r"[\s,，、;；:：()（）\[\]【】<>《》\"'“”‘’·\-—_/]+")


def _matches(index: dict[str, str] | dict[str, list[_Name]], text: str, at: int, longest: int) -> list[int]:
    """The lengths of the names of ``index`` that ``text`` has at ``at``."""
    return [n for n in range(1, min(longest, len(text) - at) + 1) if text[at:at + n] in index]


@dataclass(frozen=True)
class _Hit:
    end: int  # where the county name ends in the text
    start: int
    name: _Name
    province: Optional[str]  # the province and prefecture the address named before it
    city: Optional[str]

    def fits(self) -> bool:
        codes = (self.name.code, self.name.old) if self.name.old else (self.name.code,)
        # a former prefecture holds its old codes and what its successors hold of today's
        cities = (self.city, *_index().successors.get(self.city, ())) if self.city else ()
        return ((self.province is None or any(c[:2] == self.province for c in codes))
                and (self.city is None or any(c[:4] in cities for c in codes)))


def _read(text: str) -> tuple[list[_Hit], tuple[int, Optional[str], Optional[str]]]:
    """Every way ``text`` reads as [province][prefecture]county from its start, and the longest
    province-and-prefecture reading (end, province, prefecture) for messages."""
    ix = _index()
    table = counties()
    hits: list[_Hit] = []
    head: tuple[int, Optional[str], Optional[str]] = (0, None, None)
    provinces: list[tuple[int, Optional[str]]] = [(0, None)]
    provinces += [(n, ix.provinces[text[:n]]) for n in _matches(ix.provinces, text, 0, ix.longest)]
    for p_end, prov in provinces:
        cities: list[tuple[int, Optional[str]]] = [(p_end, None)]
        cities += [(p_end + len(w), None) for w in _NO_CITY if text.startswith(w, p_end)]
        for n in _matches(ix.prefectures, text, p_end, ix.longest):
            code = ix.prefectures[text[p_end:p_end + n]]
            if prov is None or code[:2] == prov:
                cities.append((p_end + n, code))
        for c_end, city in cities:
            if c_end > head[0]:
                head = (c_end, prov if prov else (city[:2] if city else None), city)
            for n in _matches(ix.names, text, c_end, ix.longest):
                form = text[c_end:c_end + n]
                # a bare stem is no county where it is a province or a prefecture the address could
                # still be naming (阜新: the city, not 阜新县; 河南: the province, not 青海's 河南县)
                bare_ok = ((c_end + n == len(text) or text[c_end + n] not in _NOT_AFTER_STEM)
                           and not (prov is None and city is None and form in ix.provinces)
                           and not (city is None and form in ix.prefectures
                                    and (prov is None or ix.prefectures[form][:2] == prov)))
                for name in ix.names[form]:
                    if name.code in table and (bare_ok or not name.bare):
                        hits.append(_Hit(c_end + n, c_end, name, prov, city))
    return hits, head


def _label(c: County, old: Optional[Change]) -> str:
    return c.label if old is None else f"{c.label[:-1]}, formerly {old.old_name})"


def _address(text: str, display: Optional[str]) -> Point | PlaceError:
    table = counties()
    clean = _PUNCT.sub("", text)
    if clean.startswith("中国"):
        clean = clean[2:]
    hits, (head_end, head_prov, head_city) = _read(clean)
    fitting = [h for h in hits if h.fits()]
    if fitting:
        end = max(h.end for h in fitting)
        best: dict[str, _Hit] = {}  # today's code → its reading (today's name before a former one)
        for h in sorted((h for h in fitting if h.end == end), key=lambda h: (bool(h.name.old), h.name.bare)):
            best.setdefault(h.name.code, h)
        if len(best) > 1:
            first = next(iter(best.values()))
            written = clean[first.start:first.end]
            listed = "; ".join(_label(table[code], changes().get(h.name.old) if h.name.old else None)
                               for code, h in sorted(best.items()))
            return PlaceError(f"address {text!r} is ambiguous: {len(best)} counties are called {written} "
                              f"({listed}); add the province and city, or give the county code")
        ((code, h),) = best.items()
        c = table[code]
        note = changes()[h.name.old].note(table) if h.name.old else ""
        return Point(c.lat, c.lon, display or c.name, c.code, "address", note=note)
    # a county named in full that the named province or city does not hold
    named = [h for h in hits if not h.name.bare]
    if named:
        end = max(h.end for h in named)
        h = max((h for h in named if h.end == end), key=lambda h: h.start)
        written = clean[h.start:h.end]
        where = _named_where(h.province, h.city)
        found = sorted({x.name.code for x in named if x.end == end})
        listed = "; ".join(table[c].label for c in found)
        return PlaceError(f"address {text!r} names {where}, which holds no county called {written} "
                          f"({listed}); give the province, city and county, or the county code")
    # no county: a misspelt one gets the nearest names
    m = re.match(r"^(.{1,8}?(?:自治县|自治旗|县|区|市|旗))", clean[head_end:])
    if m and not re.search(r"[0-9路街道号村镇乡]", m.group(1)):
        written = m.group(1)
        guesses = _suggest(written, head_prov, head_city)
        if guesses:
            listed = " or ".join(f"{c.name} ({c.where}, {c.code})" for c in guesses)
            return PlaceError(f"address {text!r}: unknown county {written} — did you mean {listed}?")
    return PlaceError(f"address {text!r} does not name a county (区/县) that can be found")


def _named_where(province: Optional[str], city: Optional[str]) -> str:
    """The province and prefecture an address named, as names (河南省, 湖北省恩施土家族苗族自治州)."""
    table = counties()
    prov = next((c.province for c in table.values() if province and c.code[:2] == province), "")
    town = next((c.city for c in table.values() if city and c.code[:4] == city), "")
    return prov + town if town != prov else prov


def _suggest(written: str, province: Optional[str], city: Optional[str]) -> list[County]:
    """Up to three counties whose name (or short form) is closest to ``written``, within the
    province or prefecture the address named when it named one."""
    table = counties()
    pool = [c for c in table.values()
            if (province is None or c.code[:2] == province) and (city is None or c.code[:4] == city)]
    forms: dict[str, list[County]] = {}
    for c in pool:
        for form in [c.name, *_short_forms(c.name)]:
            if _KIND.search(form):
                forms.setdefault(form, []).append(c)
    out: list[County] = []
    for form in difflib.get_close_matches(written, list(forms), n=3, cutoff=0.6):
        out += [c for c in forms[form] if c not in out]
    return out[:3]


def resolve_all(locations: list[Location], snap_km: float = SNAP_KM) -> list[Point | PlaceError]:
    """Resolve many locations; failures come back as errors in place."""
    out: list[Point | PlaceError] = [PlaceError("unresolved")] * len(locations)
    table = counties()
    coords: list[int] = []
    for i, loc in enumerate(locations):
        if loc.lat is not None and loc.lon is not None:
            coords.append(i)
        elif loc.county is not None:
            out[i] = _county_code(loc.county, loc.name)
        elif loc.address is not None:
            out[i] = _address(loc.address, loc.name)
    if coords:
        lats = np.array([locations[i].lat for i in coords], dtype=float)
        lons = np.array([locations[i].lon for i in coords], dtype=float)
        codes, km = nearest_counties(lats, lons)
        for i, code, d in zip(coords, codes, km):
            loc = locations[i]
            c = table[code]
            if d > snap_km:
                out[i] = PlaceError(
                    f"coordinates ({loc.lat:g}, {loc.lon:g}) are {d:,.0f} km from the nearest county seat "
                    f"({c.label}), more than {snap_km:g} km: outside China, or mistyped (lat and lon swapped?)")
            else:
                out[i] = Point(float(loc.lat), float(loc.lon),  # type: ignore[arg-type]
                               loc.name or f"{c.name} {loc.lat:.4f},{loc.lon:.4f}", c.code, "coords")
    return out


def km_between(a: Point, b: Point) -> float:
    """Great-circle km between two points (for messages and warnings, not for planning)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))
