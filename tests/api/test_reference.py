"""Reference data: the whole scenario without orders, and its finer pieces."""

from __future__ import annotations

import api_factories as f


def test_put_and_get_reference(client, coordinator):
    """PUT /v1/reference stores sites, depots, fleet, regions and policy; GET gives them back as contract v1."""
    ref = f.reference(regions=[{"county": "410526", "risk": "medium", "from": "2027-02-10T00:00:00+08:00"}],
                      policy={"occupancy_cap": 0.5})
    r = client.put("/v1/reference", json=ref, headers=coordinator)
    assert r.status_code == 200, r.text
    got = client.get("/v1/reference", headers=coordinator).json()
    assert got["name"] == "tiny" and got["orders"] == []
    assert got["sites"][0]["receive_from"] == "07:00" and got["sites"][0]["location"] == {"lat": 34.53, "lon": 113.84}
    assert {v["id"] for v in got["fleet"]} == {"coach53", "coach35"}
    assert got["fleet"][1]["operator"] == "豫运"  # extra fields are kept
    assert got["fleet"][1]["available_from"] == "2027-02-11T00:00:00+08:00"
    assert got["regions"] == [{"county": "410526", "risk": "medium", "from": "2027-02-10T00:00:00+08:00"}]
    assert got["policy"] == {"occupancy_cap": 0.5}


def test_put_reference_bad_inputs(client, coordinator):
    """Orders in reference data, an unknown depot, or an unknown county are refused and change nothing."""
    r = client.put("/v1/reference", json=f.reference(orders=[dict(f.order(), agency="x")]), headers=coordinator)
    assert r.status_code == 422 and "orders" in r.json()["detail"]
    r = client.put("/v1/reference", json=f.reference(fleet=[dict(f.FLEET[0], depot="D9")]), headers=coordinator)
    assert r.status_code == 422 and "D9" in r.json()["detail"]
    r = client.put("/v1/reference", json=f.reference(regions=[{"county": "999999", "risk": "high"}]),
                   headers=coordinator)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "county"
    assert client.get("/v1/reference", headers=coordinator).json()["sites"] == []


def test_county_risk_changes(client, coordinator, with_reference):
    """A county's risk level can be set, phased, and cleared on its own."""
    r = client.put("/v1/reference/regions/410526", json={"risk": "high"}, headers=coordinator)
    assert r.status_code == 200 and r.json() == [{"county": "410526", "name": "滑县", "province": "河南省",
                                                  "city": "安阳市", "risk": "high"}]
    phased = [{"risk": "high", "until": "2027-02-14T00:00:00+08:00"},
              {"risk": "medium", "from": "2027-02-14T00:00:00+08:00"}]
    r = client.put("/v1/reference/regions/410526", json=phased, headers=coordinator)
    assert [p["risk"] for p in r.json()] == ["high", "medium"]
    assert len(client.get("/v1/reference/regions", headers=coordinator).json()) == 2
    assert client.put("/v1/reference/regions/410526", json={"risk": "purple"}, headers=coordinator).status_code == 422
    assert client.put("/v1/reference/regions/999999", json={"risk": "high"}, headers=coordinator).status_code == 422
    assert client.delete("/v1/reference/regions/410526", headers=coordinator).status_code == 204
    assert client.delete("/v1/reference/regions/410526", headers=coordinator).status_code == 404


def test_sites_depots_fleet_one_at_a_time(client, coordinator, agency_a, with_reference):
    """Sites, depots and vehicle types can be created, replaced and removed one by one."""
    site = dict(f.SITE, id="F2", name="Factory 2", location={"address": "河南省郑州市新郑市"})
    assert client.put("/v1/reference/sites/F2", json=site, headers=coordinator).status_code == 200
    assert {s["id"] for s in client.get("/v1/reference/sites", headers=agency_a).json()} == {"F1", "F2"}
    assert client.put("/v1/reference/sites/F3", json=site, headers=coordinator).status_code == 422
    bus = dict(f.FLEET[0], count=7)
    r = client.put("/v1/reference/fleet/coach53", json=bus, headers=coordinator)
    assert r.status_code == 200 and r.json()["count"] == 7
    assert client.put("/v1/reference/fleet/coach19", json=dict(bus, id="coach19", depot="D9"),
                      headers=coordinator).status_code == 422
    assert client.delete("/v1/reference/depots/D1", headers=coordinator).status_code == 409
    depot = dict(f.DEPOT, id="D2")
    assert client.put("/v1/reference/depots/D2", json=depot, headers=coordinator).status_code == 200
    assert client.delete("/v1/reference/depots/D2", headers=coordinator).status_code == 204
    assert client.delete("/v1/reference/sites/F2", headers=coordinator).status_code == 204
    assert client.delete("/v1/reference/sites/F2", headers=coordinator).status_code == 404


def test_policy(client, coordinator, with_reference):
    """The policy keeps what was set and shows the effective values with defaults."""
    r = client.put("/v1/reference/policy", json={"occupancy_cap": 0.5, "night_rest": None}, headers=coordinator)
    assert r.status_code == 200
    body = client.get("/v1/reference/policy", headers=coordinator).json()
    assert body["set"] == {"occupancy_cap": 0.5, "night_rest": None}
    assert body["effective"]["two_driver_km"] == 400
    assert client.put("/v1/reference/policy", json={"occupancy_cap": 2}, headers=coordinator).status_code == 422


def test_orders_left_without_a_site_block_planning(client, coordinator, agency_a, with_reference):
    """Removing a site that orders use makes the next plan refuse with the orders named (409)."""
    client.post("/v1/orders", json=[f.order()], headers=agency_a)
    client.delete("/v1/reference/sites/F1", headers=coordinator)
    r = client.post("/v1/plans", json={}, headers=coordinator)
    assert r.status_code == 409 and any(p["field"] == "scenario" or "site" in p["message"] for p in r.json()["problems"])


def test_a_misspelt_policy_key_is_refused_and_the_policy_kept(client, coordinator, with_reference):
    """PUT /v1/reference/policy with ``ocupancy_cap`` answers 422 suggesting ``occupancy_cap``; the
    stored policy is unchanged (it used to be replaced, the cap falling back to its default)."""
    assert client.put("/v1/reference/policy", json={"occupancy_cap": 0.5}, headers=coordinator).status_code == 200
    r = client.put("/v1/reference/policy", json={"ocupancy_cap": 0.6}, headers=coordinator)
    assert r.status_code == 422
    assert "did you mean 'occupancy_cap'" in r.json()["problems"][0]["message"]
    assert client.get("/v1/reference/policy", headers=coordinator).json()["effective"]["occupancy_cap"] == 0.5


def test_a_risk_period_ending_before_it_starts_lists_its_problem(client, coordinator, with_reference):
    """A county's risk from 14 Feb until 10 Feb: 422 with the documented problems list."""
    r = client.put("/v1/reference/regions/410526", json={"risk": "high", "from": "2027-02-14T00:00:00+08:00",
                                                          "until": "2027-02-10T00:00:00+08:00"}, headers=coordinator)
    assert r.status_code == 422
    (p,) = r.json()["problems"]
    assert p["field"] == "until" and "after" in p["message"]


def test_every_422_lists_its_problems(client, coordinator, agency_a, with_reference):
    """Each refusal the service answers with 422 carries the problems list."""
    answers = [
        client.post("/v1/plans", json={"time_limit": 10**6}, headers=coordinator),
        client.put("/v1/reference/sites/F2", json=f.SITE, headers=coordinator),
        client.post("/v1/orders", json=[f.order(site="F9")], headers=agency_a),
        client.post("/v1/orders", json=[{"origin": {"county": "410526"}}], headers=agency_a),
        client.post("/v1/orders/upload", files={"file": ("o.csv", b"")}, headers=agency_a),
        client.post("/v1/orders", json=[f.order()], headers={**agency_a, "Idempotency-Key": "x" * 300}),
    ]
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.json()["problems"], r.text
