"""Tests of the checker's match-and-move family (planner/_check/matching.py): a correct stable
match passes, and each broken variant is caught by its own rule. Plans are made by hand (no
optimiser): matches, unmatched and the summary, with the derived orders' workers unassigned
(``no_vehicle``) so the worker accounting holds, or carried by a hand-made trip."""

from __future__ import annotations

from collections import Counter
from typing import Optional

import pytest

from planner.check import RULE_CODES, blocking_pairs, check
from planner.contract import Plan, Scenario
from planner.network import places

# ------------------------------------------------------------------ factories


def worker(wid: str, county: str, trades: dict[str, int], choices: Optional[list[str]] = None, **extra) -> dict:
    return {"id": wid, "agency": extra.pop("agency", "a"), "origin": {"county": county}, "trades": trades,
            "choices": choices or [], "earliest_departure": "2027-02-11T06:00:00+08:00", **extra}


def post(pid: str, trade: str = "SMT", openings: int = 1, *, site: str = "F1", min_level: int = 0,
         wage: float = 5000, start_by: str = "2027-02-14T00:00:00+08:00", dorm: bool = False) -> dict:
    return {"id": pid, "site": site, "firm": "f", "trade": trade, "min_level": min_level, "openings": openings,
            "monthly_wage": wage, "start_by": start_by, "dorm": dorm}


def scenario(tiny, posts: list[dict], workers: list[dict], *, sites: Optional[list[dict]] = None,
             policy: Optional[dict] = None) -> Scenario:
    d = tiny.scenario_dict([], sites=sites, policy=policy)
    d["posts"], d["workers"] = posts, workers
    return Scenario.model_validate(d)


def plan(sc: Scenario, matches: list[tuple[str, str, str]], unmatched: list[tuple[str, str]], *,
         blocking: int = 0, trips: Optional[list[dict]] = None, carried: frozenset[str] = frozenset(),
         **matching) -> dict:
    """A plan dict for ``sc``: ``matches`` are (worker, post, order); the workers of each order not
    in ``carried`` are unassigned ``no_vehicle``. The summary is filled in from the matches (each
    match's rank: its post's place in the worker's choices), unless given in ``matching``."""
    posts = {p.id: p for p in sc.posts}
    workers = {w.id: w for w in sc.workers}
    per_order = Counter(o for _, _, o in matches)
    ranks = [_rank(workers[w], p, posts) for w, p, _ in matches]
    openings = sum(p.openings for p in sc.posts)
    summary_matching = {
        "workers": len(sc.workers), "matched": len(matches),
        "fill_rate": len(matches) / openings if openings else 0.0,
        "first_choice_share": sum(r == 1 for r in ranks) / len(ranks) if ranks else 0.0,
        "mean_choice_rank": sum(ranks) / len(ranks) if ranks else 0.0,
        "blocking_pairs": blocking, "transport_cost_per_matched": 0.0,
        "openings": openings, "blocking_budget": sc.policy.match_blocking_pairs, "method": "hand",
    }
    summary_matching.update(matching)
    n = sum(per_order.values())
    planned = sum(c for o, c in per_order.items() if o in carried)
    trips = trips or []
    return {
        "scenario": sc.name,
        "solver": {"seconds": 0.0, "status": "hand"},
        "trips": trips,
        "unassigned": [{"order": o, "count": c, "reason": "no_vehicle"} for o, c in per_order.items()
                       if o not in carried],
        "summary": {"workers_requested": n, "workers_eligible": n, "workers_planned": planned,
                    "trips": len(trips), "buses_used": len({(t["vehicle_type"], t["bus"]) for t in trips}),
                    "km": sum(t["km"] for t in trips), "cost": sum(t["cost"] for t in trips),
                    "lower_bound_km": 0.0, "matching": summary_matching},
        "matches": [{"worker": w, "post": p, "site": posts[p].site if p in posts else "F1", "order": o}
                    for w, p, o in matches],
        "unmatched": [{"worker": w, "reason": r} for w, r in unmatched],
    }


def _rank(w, pid: str, posts: dict) -> int:
    """The post's place among the worker's choices they qualify for (level and wage; the tests'
    posts are all reachable in time); 1 without choices."""
    if not w.choices or pid not in w.choices:
        return 1
    ok = [c for c in w.choices if w.trades.get(posts[c].trade, -1) >= posts[c].min_level
          and posts[c].monthly_wage >= (w.min_monthly_wage or 0)]
    return ok.index(pid) + 1 if pid in ok else len(ok) + 1


def rules(sc: Scenario, pl: dict) -> set[str]:
    return {v.rule for v in check(sc, Plan.model_validate(pl))}


def violations(sc: Scenario, pl: dict) -> list[str]:
    return [str(v) for v in check(sc, Plan.model_validate(pl))]


@pytest.fixture
def base(tiny):
    """Two posts at F1, three workers of 滑县 and one of 中牟县; the stable match: w1 → P1, w2 → P2,
    w3 → P2 (second choice), w4 (pending) unmatched."""
    sc = scenario(tiny, [post("P1", min_level=2, wage=6000), post("P2", openings=2, wage=5000)], [
        worker("w1", tiny.HUAXIAN, {"SMT": 4}, ["P1", "P2"]),
        worker("w2", tiny.HUAXIAN, {"SMT": 3}, ["P2", "P1"]),
        worker("w3", tiny.ZHONGMOU, {"SMT": 1}, ["P1", "P2"]),
        worker("w4", tiny.ZHONGMOU, {"SMT": 5}, ["P1"], screening="pending"),
    ])
    matches = [("w1", "P1", "M-HX"), ("w2", "P2", "M-HX2"), ("w3", "P2", "M-ZM")]
    unmatched = [("w4", "screening_pending")]
    return sc, matches, unmatched


# ------------------------------------------------------------------ the correct match


def test_rule_codes_listed():
    for code in ("match_unknown", "match_twice", "match_openings", "match_site", "match_unacceptable",
                 "match_signed", "match_dorm", "match_group", "match_screening", "match_accounting",
                 "match_reason", "blocking_pairs", "match_summary", "match_order"):
        assert code in RULE_CODES


def test_stable_match_passes(base):
    sc, matches, unmatched = base
    assert violations(sc, plan(sc, matches, unmatched)) == []
    assert blocking_pairs(sc, Plan.model_validate(plan(sc, matches, unmatched))) == []


def test_scenario_without_workers_is_unchanged(tiny):
    """No posts, no workers, no matches: the family says nothing and no order is derived."""
    sc = Scenario.model_validate(tiny.scenario_dict([tiny.order("o1", tiny.HUAXIAN, 3)]))
    pl = {"scenario": "tiny", "solver": {"seconds": 0, "status": "hand"},
          "unassigned": [{"order": "o1", "count": 3, "reason": "no_vehicle"}],
          "summary": {"workers_requested": 3, "workers_eligible": 3, "workers_planned": 0, "trips": 0,
                      "buses_used": 0, "km": 0, "cost": 0, "lower_bound_km": 0}}
    assert violations(sc, pl) == []


# ------------------------------------------------------------------ matches


def test_over_openings(base):
    sc, matches, unmatched = base
    # P1 has one opening: w3 added there too (its first choice; its level 1 is below 2 anyway → use w2)
    m = [("w1", "P1", "M-HX"), ("w2", "P1", "M-HX"), ("w3", "P2", "M-ZM")]
    got = rules(sc, plan(sc, m, unmatched))
    assert "match_openings" in got


def test_worker_matched_twice(base):
    sc, matches, unmatched = base
    m = matches + [("w2", "P1", "M-HX")]
    got = rules(sc, plan(sc, m, unmatched, fill_rate=1.0))
    assert "match_twice" in got


def test_level_too_low(base):
    sc, matches, unmatched = base
    # w3 (level 1) at P1 (min level 2), w1 at P2
    m = [("w1", "P2", "M-HX"), ("w2", "P2", "M-HX2"), ("w3", "P1", "M-ZM")]
    got = violations(sc, plan(sc, m, unmatched))
    assert any("[match_unacceptable]" in v and "w3" in v and "level 1" in v for v in got), got


def test_wage_below_minimum(tiny):
    sc = scenario(tiny, [post("P1", wage=4000)], [worker("w1", tiny.HUAXIAN, {"SMT": 2}, min_monthly_wage=4500)])
    got = rules(sc, plan(sc, [("w1", "P1", "M1")], []))
    assert "match_unacceptable" in got
    # and at the minimum it is fine
    sc = scenario(tiny, [post("P1", wage=4500)], [worker("w1", tiny.HUAXIAN, {"SMT": 2}, min_monthly_wage=4500)])
    assert violations(sc, plan(sc, [("w1", "P1", "M1")], [])) == []


def test_post_not_among_choices(tiny):
    sc = scenario(tiny, [post("P1"), post("P2")], [worker("w1", tiny.HUAXIAN, {"SMT": 2}, ["P1"])])
    got = violations(sc, plan(sc, [("w1", "P2", "M1")], [], first_choice_share=0.0, mean_choice_rank=2.0,
                              blocking=1))
    assert any("[match_unacceptable]" in v and "choices" in v for v in got), got


def test_worker_without_the_trade(tiny):
    sc = scenario(tiny, [post("P1", trade="weld")], [worker("w1", tiny.HUAXIAN, {"SMT": 5})])
    assert "match_unacceptable" in rules(sc, plan(sc, [("w1", "P1", "M1")], []))


def test_late_arrival_unacceptable(tiny):
    """滑县 is some 3 h by road: a post starting one hour after the earliest departure cannot be reached;
    without time rules the arrival is not judged."""
    start = "2027-02-11T07:00:00+08:00"
    sc = scenario(tiny, [post("P1", start_by=start)], [worker("w1", tiny.HUAXIAN, {"SMT": 2})])
    got = violations(sc, plan(sc, [("w1", "P1", "M1")], []))
    assert any("[match_unacceptable]" in v and "earliest" in v for v in got), got
    sc = scenario(tiny, [post("P1", start_by=start)], [worker("w1", tiny.HUAXIAN, {"SMT": 2})],
                  policy={"time_rules": False})
    assert "match_unacceptable" not in rules(sc, plan(sc, [("w1", "P1", "M1")], []))


def test_wrong_site(tiny):
    sc = scenario(tiny, [post("P1")], [worker("w1", tiny.HUAXIAN, {"SMT": 2})],
                  sites=[tiny.site("F1"), tiny.site("F2", lat=34.6, lon=113.9)])
    pl = plan(sc, [("w1", "P1", "M1")], [])
    pl["matches"][0]["site"] = "F2"
    assert "match_site" in rules(sc, pl)


def test_unknown_ids(base):
    sc, matches, unmatched = base
    pl = plan(sc, matches, unmatched)
    pl["matches"].append({"worker": "ghost", "post": "P2", "site": "F1", "order": "M-HX"})
    pl["unmatched"].append({"worker": "nobody", "reason": "outranked"})
    msgs = [v for v in violations(sc, pl) if "[match_unknown]" in v]
    assert any("ghost" in v for v in msgs) and any("nobody" in v for v in msgs), msgs
    pl = plan(sc, matches, unmatched)
    pl["matches"][0]["post"] = "P9"
    assert "match_unknown" in rules(sc, pl)


def test_signed_worker_moved(tiny):
    """w1 signed for P1 and must keep it, even though P2 pays more; kept, it passes."""
    sc = scenario(tiny, [post("P1", wage=4000), post("P2", wage=6000)],
                  [worker("w1", tiny.HUAXIAN, {"SMT": 2}, signed="P1")])
    got = violations(sc, plan(sc, [("w1", "P2", "M1")], []))
    assert any("[match_signed]" in v for v in got), got
    assert violations(sc, plan(sc, [("w1", "P1", "M1")], [])) == []
    # left out altogether (not for a travel reason)
    got = rules(sc, plan(sc, [], [("w1", "outranked")]))
    assert "match_signed" in got


def test_signed_worker_kept_even_if_unacceptable(tiny):
    sc = scenario(tiny, [post("P1", min_level=5)], [worker("w1", tiny.HUAXIAN, {"SMT": 1}, signed="P1")])
    assert violations(sc, plan(sc, [("w1", "P1", "M1")], [])) == []


def test_dorm_beds(tiny):
    site = {**tiny.site("F1"), "dorm_beds": 1}
    ws = [worker("w1", tiny.HUAXIAN, {"SMT": 2}), worker("w2", tiny.HUAXIAN, {"SMT": 2})]
    sc = scenario(tiny, [post("P1", openings=2, dorm=True)], ws, sites=[site])
    got = violations(sc, plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M1")], []))
    assert any("[match_dorm]" in v and "1 beds" in v for v in got), got
    # one bed: one matched, the other left out for a full dormitory: stable
    assert violations(sc, plan(sc, [("w1", "P1", "M1")], [("w2", "dorm_full")])) == []


def test_dorm_beds_by_gender(tiny):
    site = {**tiny.site("F1"), "dorm_beds": {"male": 1, "female": 1}}
    ws = [worker("w1", tiny.HUAXIAN, {"SMT": 2}, gender="male"), worker("w2", tiny.HUAXIAN, {"SMT": 2}, gender="male"),
          worker("w3", tiny.HUAXIAN, {"SMT": 2})]
    sc = scenario(tiny, [post("P1", openings=3, dorm=True)], ws, sites=[site])
    got = violations(sc, plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M1"), ("w3", "P1", "M1")], []))
    assert any("[match_dorm]" in v and "male" in v for v in got), got
    assert any("[match_dorm]" in v and "no stated gender" in v for v in got), got
    assert violations(sc, plan(sc, [("w1", "P1", "M1")], [("w2", "dorm_full"), ("w3", "dorm_full")])) == []


def test_group_split(tiny):
    sites = [tiny.site("F1"), tiny.site("F2", lat=34.55, lon=113.86)]
    ws = [worker("w1", tiny.HUAXIAN, {"SMT": 2}, ["P1"], group="g"),
          worker("w2", tiny.HUAXIAN, {"SMT": 2}, ["P2"], group="g")]
    sc = scenario(tiny, [post("P1"), post("P2", site="F2")], ws, sites=sites)
    got = violations(sc, plan(sc, [("w1", "P1", "M1"), ("w2", "P2", "M2")], []))
    assert any("[match_group]" in v for v in got), got
    assert "match_group" not in rules(sc, plan(sc, [], [("w1", "group_unplaceable"), ("w2", "group_unplaceable")],
                                               blocking=2))


def test_pending_worker_matched(base):
    sc, matches, unmatched = base
    m = [("w4", "P1", "M-ZM2"), ("w2", "P2", "M-HX2"), ("w3", "P2", "M-ZM")]
    got = rules(sc, plan(sc, m, [("w1", "outranked")]))
    assert "match_screening" in got


def test_pending_worker_wrong_reason(base):
    sc, matches, _ = base
    got = violations(sc, plan(sc, matches, [("w4", "outranked")]))
    assert any("[match_reason]" in v and "w4" in v for v in got), got


def test_worker_in_neither_list(base):
    sc, matches, unmatched = base
    got = violations(sc, plan(sc, matches[:2], unmatched, blocking=1))
    assert any("[match_accounting]" in v and "w3" in v for v in got), got


def test_worker_in_both_lists(base):
    sc, matches, unmatched = base
    got = rules(sc, plan(sc, matches, unmatched + [("w3", "outranked")]))
    assert "match_accounting" in got


def test_unknown_unmatched_reason(base):
    sc, matches, _ = base
    assert "match_reason" in rules(sc, plan(sc, matches, [("w4", "bad_luck")]))


def test_wrong_no_acceptable_post(base):
    sc, matches, unmatched = base
    # w3 (level 1, acceptable at P2) claimed to have no acceptable post
    got = violations(sc, plan(sc, matches[:2], unmatched + [("w3", "no_acceptable_post")], blocking=1))
    assert any("[match_reason]" in v and "w3" in v and "P2" in v for v in got), got


def test_true_no_acceptable_post(tiny):
    sc = scenario(tiny, [post("P1", min_level=3)], [worker("w1", tiny.HUAXIAN, {"SMT": 2})])
    assert violations(sc, plan(sc, [], [("w1", "no_acceptable_post")])) == []


# ------------------------------------------------------------------ blocking pairs


def _rivals(tiny, budget: int) -> Scenario:
    """One post, one opening; w_hi (level 4) and w_lo (level 2) both want it."""
    return scenario(tiny, [post("P1")], [worker("w_lo", tiny.HUAXIAN, {"SMT": 2}, ["P1"]),
                                         worker("w_hi", tiny.HUAXIAN, {"SMT": 4}, ["P1"])],
                    policy={"match_blocking_pairs": budget})


def test_blocking_pair_over_budget(tiny):
    sc = _rivals(tiny, 0)
    pl = plan(sc, [("w_lo", "P1", "M1")], [("w_hi", "outranked")], blocking=1)
    got = violations(sc, pl)
    assert any("[blocking_pairs]" in v and "w_hi–P1" in v for v in got), got
    assert blocking_pairs(sc, Plan.model_validate(pl)) == [("w_hi", "P1")]
    # the stable one passes
    assert violations(sc, plan(sc, [("w_hi", "P1", "M1")], [("w_lo", "outranked")])) == []


def test_blocking_pair_within_budget(tiny):
    sc = _rivals(tiny, 1)
    assert violations(sc, plan(sc, [("w_lo", "P1", "M1")], [("w_hi", "outranked")], blocking=1)) == []


def test_registration_priority(tiny):
    """With match_priority "registration" the earlier registered w_lo outranks w_hi."""
    sc = _rivals(tiny, 0)
    sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"match_priority": "registration"})})
    assert violations(sc, plan(sc, [("w_lo", "P1", "M1")], [("w_hi", "outranked")])) == []
    assert "blocking_pairs" in rules(sc, plan(sc, [("w_hi", "P1", "M1")], [("w_lo", "outranked")], blocking=1))


def test_free_opening_blocks(tiny):
    """A post with a free opening and a worker who wants it, left unmatched: a blocking pair; an
    unmatched worker with a travel reason is excused."""
    sc = scenario(tiny, [post("P1", openings=2)], [worker("w1", tiny.HUAXIAN, {"SMT": 2})])
    assert blocking_pairs(sc, Plan.model_validate(plan(sc, [], [("w1", "outranked")]))) == [("w1", "P1")]
    assert violations(sc, plan(sc, [], [("w1", "no_transport")])) == []


def test_signed_holder_is_not_displaced(tiny):
    """A post held by a signed worker cannot give the place to a higher-level one: no blocking pair."""
    sc = scenario(tiny, [post("P1")], [worker("w_lo", tiny.HUAXIAN, {"SMT": 1}, signed="P1"),
                                       worker("w_hi", tiny.HUAXIAN, {"SMT": 5}, ["P1"])])
    assert violations(sc, plan(sc, [("w_lo", "P1", "M1")], [("w_hi", "outranked")])) == []


# ------------------------------------------------------------------ summary


@pytest.mark.parametrize("field, value", [
    ("workers", 3), ("matched", 2), ("fill_rate", 0.5), ("first_choice_share", 0.5),
    ("mean_choice_rank", 2.0), ("blocking_pairs", 1)])
def test_wrong_summary_figure(base, field, value):
    sc, matches, unmatched = base
    got = violations(sc, plan(sc, matches, unmatched, **{field: value}))
    assert any("[match_summary]" in v and field in v for v in got), got


def test_summary_figures_by_hand(base):
    """3 matched of 3 openings; ranks 1, 1, 1 (w3's first choice P1 needs level 2: not in its list)."""
    sc, matches, unmatched = base
    pl = plan(sc, matches, unmatched)
    assert pl["summary"]["matching"]["fill_rate"] == 1.0
    assert pl["summary"]["matching"]["mean_choice_rank"] == 1.0
    assert violations(sc, plan(sc, matches, unmatched, fill_rate=0.9995, first_choice_share=1.0,
                               mean_choice_rank=1.0)) == []
    # counting w3's unacceptable first choice would make it rank 2
    got = rules(sc, plan(sc, matches, unmatched, first_choice_share=0.6667, mean_choice_rank=1.3333))
    assert got == {"match_summary"}


# ------------------------------------------------------------------ derived orders


def test_order_across_two_counties(base):
    sc, matches, unmatched = base
    m = [("w1", "P1", "M-HX"), ("w2", "P2", "M-HX2"), ("w3", "P2", "M-HX2")]
    got = violations(sc, plan(sc, m, unmatched))
    assert any("[match_order]" in v and "M-HX2" in v and "2 home counties" in v for v in got), got


def test_order_across_two_agencies(tiny):
    ws = [worker("w1", tiny.HUAXIAN, {"SMT": 2}), worker("w2", tiny.HUAXIAN, {"SMT": 2}, agency="b")]
    sc = scenario(tiny, [post("P1", openings=2)], ws)
    assert "match_order" in rules(sc, plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M1")], []))
    assert violations(sc, plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M2")], [])) == []


def test_order_id_of_a_scenario_order(tiny):
    d = tiny.scenario_dict([tiny.order("o1", tiny.HUAXIAN, 2)])
    d["posts"], d["workers"] = [post("P1")], [worker("w1", tiny.HUAXIAN, {"SMT": 2})]
    sc = Scenario.model_validate(d)
    pl = plan(sc, [("w1", "P1", "o1")], [])
    assert "match_order" in rules(sc, pl)


def test_matched_worker_neither_carried_nor_unassigned(base):
    sc, matches, unmatched = base
    pl = plan(sc, matches, unmatched)
    pl["unassigned"] = [u for u in pl["unassigned"] if u["order"] != "M-ZM"]
    pl["summary"]["workers_requested"] = pl["summary"]["workers_eligible"] = 3
    got = violations(sc, pl)
    assert any("[worker_count]" in v and "M-ZM" in v for v in got), got


def _direct_trip(tiny, county: str, order: str, count: int, day: int = 11) -> dict:
    """A rule-abiding coach trip D1 → county → F1 → D1 on Feb ``day`` (legs at 75 km/h)."""
    from datetime import timedelta

    from planner._check.roads import geo_km

    c = places.counties()[county]
    depot = {"id": "D1", "name": "yard", **tiny.DEPOT}
    home = {"county": county, "name": c.name, "lat": c.lat, "lon": c.lon}
    site = {"id": "F1", "name": "F1", **tiny.PARK}
    seq = [("depart", depot), ("pickup", home), ("drop", site), ("return", depot)]
    t = tiny.dt(day, "07:00")
    stops, km = [], 0.0
    for i, (kind, pl) in enumerate(seq):
        if i:
            prev = seq[i - 1][1]
            leg = geo_km(prev["lat"], prev["lon"], pl["lat"], pl["lon"]) * 1.3
            km += leg
            t += timedelta(minutes=int(leg / 75 * 60) + 1)
        arrive = t
        t += timedelta(minutes=30 if kind == "pickup" else 20 if kind == "drop" else 0)
        s: dict = {"kind": kind, "place": pl, "arrive": arrive.isoformat(), "depart": t.isoformat()}
        if kind == "pickup":
            s["board"] = [{"order": order, "count": count}]
        if kind == "drop":
            s["alight"] = [{"order": order, "count": count}]
        stops.append(s)
    stops[0].pop("arrive")
    stops[-1].pop("depart")
    return {"id": "T1", "vehicle_type": "c53", "bus": 0, "depot": "D1", "crew": 1, "cohort": "low",
            "km": round(km, 1), "cost": round(1000 + 7 * km, 2), "stops": stops}


def test_derived_order_carried_by_a_trip(tiny):
    """Two 滑县 workers matched under one order and carried by one coach: every rule family sees the
    derived order and finds nothing; the same trip arriving after the post's start is late."""
    ws = [worker("w1", tiny.HUAXIAN, {"SMT": 2}), worker("w2", tiny.HUAXIAN, {"SMT": 3})]
    sc = scenario(tiny, [post("P1", openings=2)], ws)
    trip = _direct_trip(tiny, tiny.HUAXIAN, "M1", 2)
    pl = plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M1")], [], trips=[trip], carried=frozenset({"M1"}))
    assert violations(sc, pl) == []
    late = _direct_trip(tiny, tiny.HUAXIAN, "M1", 2, day=14)
    pl = plan(sc, [("w1", "P1", "M1"), ("w2", "P1", "M1")], [], trips=[late], carried=frozenset({"M1"}))
    assert "late_arrival" in rules(sc, pl)
    # boarding more workers than were matched is caught by the accounting
    pl = plan(sc, [("w1", "P1", "M1")], [("w2", "outranked")], trips=[trip], carried=frozenset({"M1"}), blocking=1)
    assert "worker_count" in rules(sc, pl)


def test_a_group_member_held_at_the_groups_site_does_not_block_elsewhere(tiny):
    """A couple at F1: the husband would rather have a free post at F2, but cannot go alone —
    no blocking pair; once the wife is unmatched, he can, and it blocks."""
    from planner.check import blocking_pairs
    from planner.contract import Plan, Scenario

    sc = tiny.scenario_dict([], sites=[tiny.site("F1"), {**tiny.site("F2", lat=34.60, lon=113.70), "name": "F2"}])
    sc["posts"] = [{"id": "X", "site": "F2", "trade": "SMT", "openings": 1, "monthly_wage": 6000,
                    "start_by": tiny.at(14)},
                   {"id": "Y", "site": "F1", "trade": "SMT", "openings": 2, "monthly_wage": 5000,
                    "start_by": tiny.at(14)}]
    sc["workers"] = [{"id": w, "agency": "a", "origin": {"county": tiny.ZHONGMOU}, "trades": {"SMT": 1},
                      "choices": c, "earliest_departure": tiny.at(11, "06:00"), "group": "g"}
                     for w, c in (("H", ["X", "Y"]), ("W", ["Y"]))]
    scen = Scenario.model_validate(sc)

    def plan(matches):
        return Plan.model_validate({
            "scenario": "tiny", "solver": {"seconds": 0, "status": "feasible"},
            "summary": {"workers_requested": 0, "workers_eligible": 0, "workers_planned": 0, "trips": 0,
                        "buses_used": 0, "km": 0, "cost": 0, "lower_bound_km": 0},
            "matches": [{"worker": w, "post": "Y", "site": "F1", "order": "M1"} for w in matches],
            "unmatched": [{"worker": w, "reason": "outranked"} for w in ("H", "W") if w not in matches]})

    assert blocking_pairs(scen, plan(["H", "W"])) == []
    assert ("H", "X") in blocking_pairs(scen, plan(["H"]))
