"""Tests of the 2023 county table (planner/data/divisions.csv) and of address reading over it.

``python tests/test_divisions.py`` prints the report over the address set: correct / refused / wrong.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from planner.contract import Location
from planner.network.places import PlaceError, Point, changes, counties, nearest_counties, province_of, resolve, resolve_all

#: Addresses of labour-exporting counties as agencies write them, and the county each names
#: (codes checked against divisions.csv by name, not by this resolver).
ADDRESSES: list[tuple[str, str]] = [
    # 省 + 自治州 (short) + county: cpca read these as the prefecture's seat city
    ("湖北省恩施州巴东县溪丘湾乡", "422823"),
    ("湖北省恩施州利川市汪营镇", "422802"),
    ("湖北省恩施州建始县业州镇", "422822"),
    ("湖北省恩施州咸丰县高乐山镇", "422826"),
    ("湖北省恩施土家族苗族自治州巴东县信陵镇", "422823"),
    ("云南省大理州宾川县金牛镇", "532924"),
    ("云南省楚雄州禄丰县金山镇", "532302"),  # 禄丰县 → 禄丰市 (2021)
    ("云南省文山州丘北县锦屏镇", "532626"),
    ("甘肃省临夏州东乡县锁南镇", "622926"),  # 东乡族自治县
    ("新疆昌吉州玛纳斯县玛纳斯镇", "652324"),
    ("四川省凉山彝族自治州昭觉县新城镇", "513431"),
    ("四川凉山州盐源县盐井镇", "513423"),
    ("贵州省黔东南州从江县丙妹镇", "522633"),
    ("湖南湘西州凤凰县沱江镇", "433123"),
    ("甘肃省甘南州夏河县拉卜楞镇", "623027"),
    ("云南省红河州元阳县南沙镇", "532528"),
    # 盟, 地区
    ("内蒙古锡林郭勒盟正蓝旗上都镇", "152530"),
    ("新疆喀什地区疏附县托克扎克镇", "653121"),
    # autonomous counties by their short names
    ("贵州省毕节市威宁县草海镇", "520526"),
    ("威宁县", "520526"),
    ("湖南省怀化市麻阳县高村乡", "431226"),
    ("重庆市酉阳县桃花源街道", "500242"),
    ("广西百色市隆林县新州镇", "451031"),
    ("贵州省铜仁市沿河县和平街道", "520627"),
    ("广西河池市都安县安阳镇", "451228"),
    ("青海省海东市化隆县巴燕镇", "630224"),
    # former names: today's county (with a note)
    ("河南省周口市淮阳县城关回族镇", "411603"),
    ("河南周口淮阳", "411603"),
    ("四川省凉山州会理县城关镇", "513402"),
    ("湖南省邵阳市邵东县两市镇", "430582"),
    ("陕西省汉中市南郑县大河坎镇", "610703"),
    ("广西壮族自治区南宁市横县横州镇", "450181"),
    # plain 省 + 市 + 县, short forms, a county-level city with 市, a county alone
    ("河南省驻马店市上蔡县蔡都街道", "411722"),
    ("安徽省阜阳市临泉县城关街道", "341221"),
    ("河南省信阳市固始县番城街道", "411525"),
    ("四川省巴中市恩阳区登科街道", "511903"),
    ("江西省赣州市于都县贡江镇", "360731"),
    ("甘肃定西通渭县平襄镇", "621121"),
    ("重庆市云阳县青龙街道", "500235"),
    ("湖北省黄冈市蕲春县漕河镇", "421126"),
    ("安徽六安霍邱县城关镇", "341522"),
    ("山东省菏泽市曹县倪集街道", "371721"),
    ("河北省保定市阜平县阜平镇", "130624"),
    ("云南省昭通市镇雄县乌峰街道", "530627"),
    ("河南省商丘市虞城县城关镇", "411425"),
    ("四川省广安市邻水县鼎屏镇", "511623"),
    ("湖北省利川市", "422802"),
    ("湖北省恩施市", "422801"),
    ("巴东县", "422823"),
    # counties created or renamed since cpca's table
    ("淮阳区", "411603"),
    ("山东省济南市莱芜区", "370116"),
    ("邵东市", "430582"),
    ("南郑区", "610703"),
    ("浙江省杭州市临平区", "330113"),
    ("田阳区", "451003"),
    ("会理市", "513402"),
]


def report(pairs: list[tuple[str, str]] = ADDRESSES) -> tuple[list[str], list[str], list[str]]:
    """Resolve the addresses; return (correct, refused, wrong) lines."""
    correct: list[str] = []
    refused: list[str] = []
    wrong: list[str] = []
    got = resolve_all([Location(address=text) for text, _ in pairs])
    for (text, want), r in zip(pairs, got):
        if isinstance(r, PlaceError):
            refused.append(f"{text}: {r}")
        elif r.county == want:
            correct.append(f"{text} → {r.county}{'  (' + r.note + ')' if r.note else ''}")
        else:
            wrong.append(f"{text} → {r.county}, not {want}")
    return correct, refused, wrong


def test_the_address_set_reads_every_county_right():
    correct, refused, wrong = report()
    print(f"\n{len(correct)} correct, {len(refused)} refused, {len(wrong)} wrong of {len(ADDRESSES)}")
    assert (refused, wrong) == ([], [])


#: A second set, written apart from the first (autonomous prefectures in full and short, 盟/地区,
#: county-level cities under a province, former names, ambiguous district names with their city).
MORE: list[tuple[str, str]] = [
    ("贵州省黔东南苗族侗族自治州凯里市", "522601"), ("黔东南州丹寨县", "522636"), ("四川省凉山彝族自治州昭觉县", "513431"),
    ("凉山州布拖县", "513429"), ("广西百色市隆林各族自治县", "451031"), ("重庆市酉阳县", "500242"),
    ("内蒙古赤峰市敖汉旗", "150430"), ("新疆喀什地区莎车县", "653125"), ("西藏日喀则市拉孜县", "540225"),
    ("甘肃省定西市通渭县", "621121"), ("湖南省怀化市麻阳县", "431226"), ("安徽阜阳临泉县", "341221"),
    ("河南省信阳市固始县", "411525"), ("江西省赣州市于都县", "360731"), ("云南省文山壮族苗族自治州丘北县", "532626"),
    ("海南省儋州市", "460400"), ("广东省东莞市长安镇", "441900"), ("吉林省延边朝鲜族自治州和龙市", "222406"),
    ("湖北省恩施土家族苗族自治州来凤县", "422827"), ("青海省海东市互助县", "630223"), ("河北省张家口市崇礼区", "130709"),
    ("山东省菏泽市曹县", "371721"), ("四川省巴中市恩阳区", "511903"), ("陕西省安康市旬阳市", "610981"),
    ("北京市朝阳区", "110105"), ("辽宁省朝阳市朝阳县", "211321"), ("吉林省长春市朝阳区", "220104"),
    ("湖北省仙桃市", "429004"), ("河南省济源市", "419001"), ("河南省周口市淮阳县城关镇", "411603"),
    ("湖南省邵阳市邵东县", "430582"), ("贵州黔南州荔波县", "522722"), ("四川甘孜州康定市", "513301"),
    ("云南省红河州元阳县", "532528"), ("广西河池市都安县", "451228"), ("陕西汉中市南郑县", "610703"),
    ("河南省洛阳市偃师市", "410307"), ("新疆伊犁州霍城县", "654023"), ("甘肃甘南州夏河县", "623027"),
    ("湖南湘西州凤凰县", "433123"), ("河南省驻马店市上蔡县蔡都街道123号", "411722"), ("重庆市石柱县", "500240"),
    ("重庆市秀山县", "500241"), ("云南省怒江州泸水市", "533301"), ("四川省阿坝州马尔康市", "513201"),
    ("贵州省六盘水市盘县", "520281"), ("湖北省宜昌市长阳县", "420528"),
]


@pytest.mark.parametrize("text, code", MORE)
def test_a_second_address_set(text, code):
    got = resolve_all([Location(address=text)])[0]
    assert not isinstance(got, PlaceError), str(got)
    assert got.county == code, (text, got.county, got.name)


def test_the_expected_codes_are_counties_of_the_table():
    """The set's codes are today's counties, and each one's name is what the set expects."""
    table = counties()
    for _, code in ADDRESSES:
        assert code in table
    assert table["622926"].name == "东乡族自治县" and table["532302"].name == "禄丰市"


@pytest.mark.parametrize("code, name", [
    ("411603", "淮阳区"), ("370116", "莱芜区"), ("430582", "邵东市"), ("610703", "南郑区"),
    ("330113", "临平区"), ("451003", "田阳区"), ("513402", "会理市"),
    # prefecture-level cities without counties are county-level places
    ("441900", "东莞市"), ("442000", "中山市"), ("460400", "儋州市"), ("620201", "嘉峪关市"),
])
def test_counties_of_today_resolve_by_code(code, name):
    p = resolve(Location(county=code))
    assert (p.county, p.name, p.note) == (code, name, "")


def test_a_former_code_resolves_to_todays_county_with_a_note():
    p = resolve(Location(county="411626"))
    assert p.county == "411603" and p.key == "411603"
    assert p.note == "淮阳县 (411626) is now 淮阳区 (411603)"
    same = resolve(Location(county="411603"))
    assert (p.lat, p.lon) == (same.lat, same.lon)
    assert province_of("411626") == "河南省"


def test_a_former_name_resolves_with_a_note():
    p = resolve(Location(address="河南省周口市淮阳县城关回族镇"))
    assert p.county == "411603" and p.note == "淮阳县 (411626) is now 淮阳区 (411603)"
    p = resolve(Location(address="河北省邢台市桥东区"))  # renamed in place (2020)
    assert p.county == "130502" and p.note == "桥东区 is now 襄都区 (130502)"


def test_merged_counties_go_to_the_county_that_took_them():
    """伊春's 15 districts became 4 districts and 4 counties (2019); 那曲县 is 色尼区; 下城区 joined 拱墅区."""
    moved = {"230708": "230717", "230706": "230718", "230716": "230719", "230710": "230724",
             "542421": "540602", "330103": "330105", "330104": "330102", "320611": "320613"}
    for old, new in moved.items():
        assert resolve(Location(county=old)).county == new
    assert all(ch.new_code in counties() for ch in changes().values())


def test_a_misspelt_county_gets_the_nearest_names():
    with pytest.raises(PlaceError, match=r"unknown county 上菜县 — did you mean 上蔡县 \(河南省驻马店市, 411722\)"):
        resolve(Location(address="河南省驻马店市上菜县蔡都街道"))


def test_an_ambiguous_name_lists_the_candidates():
    with pytest.raises(PlaceError, match="ambiguous") as e:
        resolve(Location(address="鼓楼区中山路1号"))
    for code in ("320106", "320302", "350102", "410204"):
        assert code in str(e.value)
    assert resolve(Location(address="河南省开封市鼓楼区")).county == "410204"
    with pytest.raises(PlaceError, match="ambiguous"):  # 甘肃's 东乡族自治县 or 江西's 东乡区 (formerly 东乡县)
        resolve(Location(address="东乡县"))


@pytest.mark.parametrize("text", ["河南省", "河南省驻马店市", "湖北省恩施州", "河南省郑州市人民路12号", "辽宁省阜新市"])
def test_an_address_naming_no_county_is_refused(text):
    with pytest.raises(PlaceError, match="does not name a county"):
        resolve(Location(address=text))


def test_an_address_whose_province_does_not_hold_the_county_is_refused():
    with pytest.raises(PlaceError, match="names 河南省, which holds no county called 巴东县"):
        resolve(Location(address="河南省巴东县"))


def test_statistical_zones_are_refused_by_code_and_absent_from_the_table():
    """Development zones (codes ending 71–79) are no county an agency writes as home."""
    with pytest.raises(PlaceError, match="郑州经济技术开发区, a statistical zone"):
        resolve(Location(county="410171"))
    assert not any(71 <= int(c[4:]) <= 79 for c in counties())


def test_coordinates_snap_to_todays_counties():
    """A point by 淮阳's seat lies in 淮阳区 (411603), no longer in 淮阳县 (411626)."""
    seat = counties()["411603"]
    codes, km = nearest_counties([seat.lat + 0.01], [seat.lon])  # type: ignore[arg-type]
    assert codes == ["411603"] and km[0] < 2


def test_the_table_covers_2023():
    table = counties()
    assert 2800 < len(table) < 2900
    assert all(len(c) == 6 and c[:2] != "71" for c in table)
    assert not any(c.lat != c.lat for c in table.values())  # every county has a seat


def test_counties_and_addresses_need_no_cpca():
    code = ("import sys; from planner.network.places import counties, resolve; from planner.contract import Location; "
            "counties(); resolve(Location(address='湖北省恩施州巴东县')); assert 'cpca' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_county_the_generator_draws_resolves():
    """The generator draws from cpca's old table (frozen, so seeds keep their parks): each of its
    codes is a county of today or a former code mapped to one."""
    from benchmarks.generate import legacy_counties

    got = resolve_all([Location(county=c) for c in legacy_counties()])
    assert all(isinstance(p, Point) for p in got)


def test_the_generators_addresses_resolve_to_the_county_they_name():
    """Generated addresses (written with cpca's old names) read as the county they name, or its successor."""
    from benchmarks.generate import generate

    sc = generate(6000, 300, 2, seed=1)
    texts = [o["origin"]["address"] for o in sc["orders"] if "address" in o["origin"]]
    assert len(texts) > 30
    for text, p in zip(texts, resolve_all([Location(address=t) for t in texts])):
        assert isinstance(p, Point), text
        assert counties()[p.county].name in text or p.note.split(" ")[0] in text  # type: ignore[index]


if __name__ == "__main__":
    ok, no, bad = report()
    for line in ok:
        print("correct ", line)
    for line in no:
        print("REFUSED ", line)
    for line in bad:
        print("WRONG   ", line)
    print(f"{len(ok)} correct, {len(no)} refused, {len(bad)} wrong of {len(ADDRESSES)}")
