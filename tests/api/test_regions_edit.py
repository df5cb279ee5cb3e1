"""Risk regions edited as what they are: counties by code, former code or name, dated periods that
do not overlap, a typeahead, the history of changes, and the console's risk regions page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api_factories as f

HIGH_THEN_MEDIUM = [{"risk": "high", "until": "2027-02-14T00:00:00+08:00"},
                    {"risk": "medium", "from": "2027-02-14T00:00:00+08:00"}]


# ------------------------------------------------------------------ the JSON API


@pytest.mark.parametrize("county", ["丹寨县", "丹寨", "贵州省黔东南州丹寨县", "522636"])
def test_a_county_by_name_short_name_address_or_code(client, coordinator, with_reference, county):
    r = client.put(f"/v1/reference/regions/{county}", json={"risk": "high"}, headers=coordinator)
    assert r.status_code == 200, r.text
    (got,) = r.json()
    assert got["county"] == "522636" and got["name"] == "丹寨县" and got["province"] == "贵州省"
    assert got["city"].startswith("黔东南") and got["risk"] == "high" and "note" not in got


def test_a_former_code_is_stored_under_todays_and_said_so(client, coordinator, with_reference):
    r = client.put("/v1/reference/regions/411626", json={"risk": "medium"}, headers=coordinator)
    assert r.status_code == 200, r.text
    (got,) = r.json()
    assert got["county"] == "411603" and got["name"] == "淮阳区"
    assert "411626" in got["note"] and "411603" in got["note"]
    assert "Fangang-Note" in r.headers
    listed = client.get("/v1/reference/regions", headers=coordinator).json()
    assert [(x["county"], x["name"], x["province"]) for x in listed] == [("411603", "淮阳区", "河南省")]
    r = client.put("/v1/reference/regions", json=[{"county": "淮阳县", "risk": "high"}], headers=coordinator)
    assert r.status_code == 200 and r.json()[0]["county"] == "411603"


@pytest.mark.parametrize("county, words", [("41142", "6"), ("abc", "county"), ("火星县", "unknown county"),
                                           ("丹塞县", "did you mean"), ("999999", "unknown county code")])
def test_an_unknown_county_is_a_422_naming_it(client, coordinator, with_reference, county, words):
    r = client.put(f"/v1/reference/regions/{county}", json={"risk": "high"}, headers=coordinator)
    assert r.status_code == 422, r.text
    body = r.json()
    assert words in body["detail"] and body["problems"][0]["field"] == "county"
    r = client.put("/v1/reference/regions", json=[{"county": county, "risk": "high"}], headers=coordinator)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["where"] == "body[0]"
    r = client.put("/v1/reference", json=f.reference(regions=[{"county": county, "risk": "high"}]),
                   headers=coordinator)
    assert r.status_code == 422, r.text


def test_suggestions_and_candidates(client, coordinator, with_reference):
    """A 5-digit code gets the codes it starts; an ambiguous name the counties it may be."""
    r = client.put("/v1/reference/regions/41142", json={"risk": "high"}, headers=coordinator)
    assert "411421" in r.json()["detail"]
    r = client.put("/v1/reference/regions/朝阳区", json={"risk": "high"}, headers=coordinator)
    assert r.status_code == 422 and "ambiguous" in r.json()["detail"] and "北京" in r.json()["detail"]


def test_an_empty_list_clears_the_county(client, coordinator, with_reference):
    assert client.put("/v1/reference/regions/丹寨县", json=HIGH_THEN_MEDIUM, headers=coordinator).status_code == 200
    r = client.put("/v1/reference/regions/丹寨县", json=[], headers=coordinator)
    assert r.status_code == 200 and r.json() == []
    assert client.get("/v1/reference/regions", headers=coordinator).json() == []


def test_overlapping_periods_are_refused(client, coordinator, with_reference):
    both = [{"risk": "high", "until": "2027-02-15T00:00:00+08:00"},
            {"risk": "medium", "from": "2027-02-14T00:00:00+08:00"}]
    r = client.put("/v1/reference/regions/522636", json=both, headers=coordinator)
    assert r.status_code == 422, r.text
    (p,) = r.json()["problems"]
    assert p["where"] == "body[1]" and "period 2" in p["message"] and "overlaps period 1" in p["message"]
    r = client.put("/v1/reference/regions", json=[{"county": "522636", **both[0]}, {"county": "丹寨", **both[1]}],
                   headers=coordinator)
    assert r.status_code == 422 and "overlaps" in r.json()["problems"][0]["message"]
    # touching periods (until is exclusive) are fine, and so is an answer sent back as it came
    assert client.put("/v1/reference/regions/522636", json=HIGH_THEN_MEDIUM, headers=coordinator).status_code == 200
    answer = client.get("/v1/reference/regions", headers=coordinator).json()
    assert client.put("/v1/reference/regions", json=answer, headers=coordinator).json() == answer


def test_the_typeahead(client, agency_a):
    r = client.get("/v1/reference/counties", params={"q": "丹寨"}, headers=agency_a)
    assert r.status_code == 200
    got = r.json()
    assert got[0] == {"code": "522636", "name": "丹寨县", "province": "贵州省", "city": got[0]["city"],
                      "label": got[0]["label"]}
    assert got[0]["label"].startswith("丹寨县 (522636) 贵州省")
    by_code = client.get("/v1/reference/counties", params={"q": "4105"}, headers=agency_a).json()
    assert 0 < len(by_code) <= 20 and all(c["code"].startswith("4105") for c in by_code)
    assert len(client.get("/v1/reference/counties", params={"q": "区"}, headers=agency_a).json()) == 20
    assert client.get("/v1/reference/counties", params={"q": "411626"}, headers=agency_a).json()[0]["code"] == "411603"
    assert client.get("/v1/reference/counties", params={"q": "zzz"}, headers=agency_a).json() == []


def _history(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get("/v1/reference/history", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_history_of_regions_fleet_and_policy(client, coordinator, agency_a, with_reference):
    client.put("/v1/reference/regions/丹寨县", json=HIGH_THEN_MEDIUM, headers=coordinator)
    client.put("/v1/reference/regions/522636", json=[HIGH_THEN_MEDIUM[0]], headers=coordinator)
    client.delete("/v1/reference/regions/丹寨", headers=coordinator)
    got = _history(client, coordinator, kind="region", key="522636")
    assert [h["action"] for h in got] == ["delete", "set", "set"]  # latest first
    assert all(h["who"] == "park" and h["kind"] == "region" and h["key"] == "522636" for h in got)
    assert got[2]["before"] is None and [p["risk"] for p in got[2]["after"]] == ["high", "medium"]
    assert [p["risk"] for p in got[1]["after"]] == ["high"] and got[0]["after"] is None
    assert got[0]["when"].endswith("+08:00")
    assert _history(client, coordinator, kind="region", key="丹寨县") == got

    assert client.put("/v1/reference/fleet/coach53", json=dict(f.FLEET[0], count=7),
                      headers=coordinator).status_code == 200
    assert client.delete("/v1/reference/fleet/coach35", headers=coordinator).status_code == 204
    fleet = _history(client, coordinator, kind="fleet")
    assert [(h["key"], h["action"], h["who"]) for h in fleet[:2]] == [("coach35", "delete", "park"),
                                                                     ("coach53", "set", "park")]
    assert fleet[1]["before"]["count"] == 3 and fleet[1]["after"]["count"] == 7

    assert client.put("/v1/reference/policy", json={"occupancy_cap": 0.5}, headers=coordinator).status_code == 200
    (policy,) = _history(client, coordinator, kind="policy")
    assert policy["before"] == {} and policy["after"] == {"occupancy_cap": 0.5} and policy["who"] == "park"

    # a whole replace records what it changed, kind by kind
    assert client.put("/v1/reference", json=f.reference(regions=[{"county": "丹寨县", "risk": "high"}]),
                      headers=coordinator).status_code == 200
    assert _history(client, coordinator, kind="region", key="522636")[0]["action"] == "replace"
    assert _history(client, coordinator, kind="fleet", key="coach35")[0]["action"] == "replace"
    assert _history(client, coordinator, kind="policy")[0]["after"] == {}
    assert client.get("/v1/reference/history", headers=agency_a).status_code == 403


# ------------------------------------------------------------------ the console page


def _sign_in(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    key = headers["Authorization"].split()[1]
    assert client.post("/sign-in", data={"key": key, "csrf": csrf}, follow_redirects=False).status_code == 303
    return _csrf(client)


def _csrf(client: TestClient) -> str:
    page = client.get("/console/regions").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _period_ids(page: str) -> list[str]:
    return re.findall(r'name="period" value="(\d+)"', page)


def test_console_adds_a_dated_period_by_county_name(client, coordinator, with_reference):
    csrf = _sign_in(client, coordinator)
    r = client.post("/console/regions", data={"csrf": csrf, "county": "丹寨县", "risk": "high",
                                               "from": "2027-02-10T08:00", "until": "2027-02-14T00:00"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    (got,) = client.get("/v1/reference/regions", headers=coordinator).json()
    assert got["county"] == "522636" and got["from"] == "2027-02-10T08:00:00+08:00"
    assert got["until"] == "2027-02-14T00:00:00+08:00"
    page = client.get("/console/regions").text
    assert "丹寨县 (522636) 贵州省黔东南" in page
    assert 'value="2027-02-10T08:00"' in page and 'type="datetime-local"' in page
    assert "<datalist" in page
    assert "park" in page.split('id="history"')[1]  # the history table names who
    assert "高 high 2027-02-10 08:00 – 2027-02-14 00:00" in page.split('id="history"')[1]  # and what, in Chinese
    typeahead = client.get("/console/counties.json", params={"q": "丹寨"}).json()
    assert typeahead[0]["code"] == "522636"


def test_console_changes_one_period_and_keeps_the_other(client, coordinator, with_reference):
    client.put("/v1/reference/regions/522636", json=HIGH_THEN_MEDIUM, headers=coordinator)
    csrf = _sign_in(client, coordinator)
    first, second = _period_ids(client.get("/console/regions").text)
    r = client.post("/console/regions/522636/periods", data={
        "csrf": csrf, "period": second, "risk": "low", "from": "2027-02-14T00:00", "until": ""},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    got = client.get("/v1/reference/regions", headers=coordinator).json()
    assert [(x["risk"], x.get("from"), x.get("until")) for x in got] == [
        ("high", None, "2027-02-14T00:00:00+08:00"), ("low", "2027-02-14T00:00:00+08:00", None)]
    # an overlapping change is refused on the page, nothing changed
    first, second = _period_ids(client.get("/console/regions").text)
    r = client.post("/console/regions/522636/periods", data={
        "csrf": csrf, "period": first, "risk": "high", "from": "", "until": "2027-02-15T00:00"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "风险时段重叠" in r.text and "overlap" in r.text
    assert len(client.get("/v1/reference/regions", headers=coordinator).json()) == 2


def test_console_deleting_a_schedule_asks_first(client, coordinator, with_reference):
    client.put("/v1/reference/regions/522636", json=HIGH_THEN_MEDIUM, headers=coordinator)
    csrf = _sign_in(client, coordinator)
    r = client.post("/console/regions/522636/delete", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 200 and 'name="confirm"' in r.text and "丹寨县" in r.text
    assert len(client.get("/v1/reference/regions", headers=coordinator).json()) == 2  # not yet
    r = client.post("/console/regions/522636/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/v1/reference/regions", headers=coordinator).json() == []
    # removing the last period of a county is deleting its schedule: asked too
    client.put("/v1/reference/regions/522636", json={"risk": "high"}, headers=coordinator)
    (only,) = _period_ids(client.get("/console/regions").text)
    r = client.post("/console/regions/522636/periods", data={"csrf": csrf, "period": only, "remove": "1"},
                    follow_redirects=False)
    assert r.status_code == 200 and 'name="confirm"' in r.text
    assert len(client.get("/v1/reference/regions", headers=coordinator).json()) == 1


@pytest.mark.parametrize("county", ["41142", "abc", "丹塞县"])
def test_console_a_bad_county_shows_a_chinese_error(client, coordinator, with_reference, county):
    csrf = _sign_in(client, coordinator)
    r = client.post("/console/regions", data={"csrf": csrf, "county": county, "risk": "high"})
    assert r.status_code in (200, 422) and r.headers["content-type"].startswith("text/html")
    error = re.search(r'id="risk-error">(.*?)</p>', r.text, re.S).group(1)  # type: ignore[union-attr]
    assert re.search(r"[\u4e00-\u9fff]", error) and ("county" in error or "6" in error)
    assert client.get("/v1/reference/regions", headers=coordinator).json() == []


def test_console_a_former_code_is_stored_under_todays_and_said_so(client, coordinator, with_reference):
    csrf = _sign_in(client, coordinator)
    r = client.post("/console/regions", data={"csrf": csrf, "county": "411626", "risk": "medium"})
    assert r.status_code == 200 and "淮阳县 (411626) is now 淮阳区 (411603)" in r.text
    assert "淮阳区 (411603) 河南省周口市" in r.text
