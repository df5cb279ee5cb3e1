"""Tests of planner.network.places: every origin form ends in a county, or is refused with why."""

from __future__ import annotations

import pytest

from planner.contract import Location
from planner.errors import InputError
from planner.network.places import PlaceError, Point, resolve, resolve_all
from planner.optimize import solve


def test_coordinates_are_placed_in_the_county_of_the_nearest_seat():
    """A point 1 km from 滑县's seat lies in 滑县 (410526) and stays where it was given."""
    p = resolve(Location(lat=35.58, lon=114.52))
    assert isinstance(p, Point)
    assert (p.county, p.kind, p.lat, p.lon) == ("410526", "coords", 35.58, 114.52)
    assert p.key == "35.58000,114.52000"  # road tables name it by its coordinates, not its county


def test_coordinates_far_from_every_county_seat_are_refused():
    """A point in the Sea of Japan (a mistyped longitude) is 800 km from any county seat: refused,
    saying how far and which seat is nearest; a tighter policy distance refuses nearer points."""
    with pytest.raises(PlaceError, match=r"808 km from the nearest county seat .*长白朝鲜族自治县"):
        resolve(Location(lat=34.5, lon=131.0))
    assert isinstance(resolve_all([Location(lat=35.63, lon=114.52)], snap_km=5)[0], PlaceError)
    assert isinstance(resolve_all([Location(lat=35.63, lon=114.52)], snap_km=10)[0], Point)


@pytest.mark.parametrize("text, candidates", [
    ("朝阳区建国路88号", ["110105", "220104"]),
    ("鼓楼区中山路1号", ["320106", "320302", "350102", "410204"]),
])
def test_an_address_several_counties_share_is_refused_with_the_candidates(text, candidates):
    """朝阳区 is in Beijing and in Changchun; 鼓楼区 in four cities: the address is refused and
    every candidate is listed, rather than one chosen without a word."""
    (got,) = resolve_all([Location(address=text)])
    assert isinstance(got, PlaceError)
    assert "ambiguous" in str(got)
    for code in candidates:
        assert code in str(got)


def test_the_city_or_province_settles_an_ambiguous_name():
    """北京市朝阳区 is Beijing's; 长春市朝阳区 Changchun's; 四川省内江市市中区 the 内江 one of two 市中区 in Sichuan."""
    got = resolve_all([Location(address=a) for a in ("北京市朝阳区建国路88号", "长春市朝阳区", "四川省内江市市中区幸福街235号")])
    assert [p.county for p in got] == ["110105", "220104", "511002"]  # type: ignore[union-attr]


@pytest.mark.parametrize("address, county", [
    ("安徽省巢湖市庐江县城关镇", "340124"),  # 巢湖 (prefecture) was split in 2011: 庐江 is 合肥's now, not the city 巢湖市
    ("安徽省巢湖市含山县", "340522"),  # … and 含山 马鞍山's
    ("山东省莱芜市钢城区", "370117"),  # 莱芜 (prefecture) joined 济南 in 2019
    ("山东省莱芜市莱城区车站路198号", "370116"),  # and its 莱城区 is 莱芜区
    ("贵州省毕节地区威宁彝族回族苗族自治县", "520526"),  # 毕节地区 is 毕节市 since 2011
    ("新疆吐鲁番地区鄯善县", "650421"),
    ("西藏自治区那曲地区那曲县", "540602"),  # and 那曲县 is 色尼区
    ("安徽省巢湖市", "340181"),  # alone, 巢湖市 is today's county-level city
])
def test_an_address_under_a_former_prefecture_finds_its_county(address, county):
    """Addresses as workers still write them, under prefectures gone or renamed since."""
    (got,) = resolve_all([Location(address=address)])
    assert isinstance(got, Point) and got.county == county, got


def test_an_address_read_as_a_county_it_does_not_name_is_refused():
    """An address that names a province holding no such county is not quietly moved elsewhere."""
    (got,) = resolve_all([Location(address="河南省朝阳区")])
    assert isinstance(got, PlaceError)


def test_coordinates_in_a_high_risk_county_are_not_picked_up(tiny):
    """Workers given by coordinates inside 滑县 while 滑县 is high risk are region_closed, and
    coordinates inside a medium county never ride with low workers."""
    near_huaxian = {"lat": 35.58, "lon": 114.52}
    orders = [dict(tiny.order("C", tiny.HUAXIAN, 20), origin=near_huaxian)]
    sc = tiny.scenario(orders, regions=[tiny.region(tiny.HUAXIAN, "high")])
    plan = tiny.solve_checked(sc, time_limit=2)
    assert tiny.reasons(plan, "C") == {"region_closed": 20}
    orders.append(tiny.order("L", "410621", 15))  # 浚县, next door, low risk
    sc = tiny.scenario(orders, regions=[tiny.region(tiny.HUAXIAN, "medium")])
    plan = tiny.solve_checked(sc, time_limit=2)
    assert plan.summary.workers_planned == 35
    for t in plan.trips:
        orders_on = {ld.order for s in t.stops for ld in s.board}
        assert orders_on in ({"C"}, {"L"})
        assert t.cohort == ("medium" if orders_on == {"C"} else "low")
    pickup = next(s for t in plan.trips for s in t.stops if s.kind == "pickup" and s.board[0].order == "C")
    assert pickup.place.county == "410526" and (pickup.place.lat, pickup.place.lon) == (35.58, 114.52)


def test_a_mistyped_site_coordinate_is_refused_not_ride_time_exceeded(tiny):
    """A site at (3.453, 113.84) — a dropped digit — lies in the South China Sea: the scenario is
    refused naming the site, rather than every worker coming back ride_time_exceeded."""
    sc = tiny.scenario([tiny.order("O1", tiny.HUAXIAN, 20)], sites=[tiny.site(lat=3.453)])
    with pytest.raises(InputError) as e:
        solve(sc, time_limit=1)
    (p,) = e.value.problems
    assert p.where.startswith("sites[0]") and "county seat" in p.message
