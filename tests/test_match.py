"""Match and move, the optimiser's side (planner.match): deferred acceptance is the
worker-optimal stable match (checked against every matching of small instances), the joint
model reproduces it when transport is free, stays stable with B = 0 and costs less as B grows;
signed workers, dorm beds, groups and screening; the joint plan carries the matched workers."""

from __future__ import annotations

import itertools
import random

import pytest

from planner.contract import Scenario
from planner.match import blocking, compile_match, consolidate, deferred_acceptance, match, proxy_cost

COUNTIES = ("410526", "410122", "410223", "411721", "411422", "411323")  # 滑县 中牟 尉氏 西平 睢县 西峡


def _scenario(tiny, posts: list[dict], workers: list[dict], *, fleet=None, policy=None, sites=None) -> Scenario:
    sc = tiny.scenario_dict([], fleet=fleet, policy=policy, sites=sites)
    sc["posts"], sc["workers"] = posts, workers
    return Scenario.model_validate(sc)


def post(tiny, pid: str, openings: int, *, trade: str = "SMT", level: int = 0, wage: float = 5000, site: str = "F1",
         dorm: bool = False, start_day: int = 14) -> dict:
    return {"id": pid, "site": site, "firm": f"firm {pid}", "trade": trade, "min_level": level, "openings": openings,
            "monthly_wage": wage, "start_by": tiny.at(start_day), "dorm": dorm}


def worker(tiny, wid: str, county: str, *, level: int = 1, choices=(), **extra) -> dict:
    return {"id": wid, "agency": "a", "origin": {"county": county}, "trades": {"SMT": level},
            "choices": list(choices), "earliest_departure": tiny.at(11, "06:00"), **extra}


def _random_instance(tiny, rng: random.Random, n_workers: int, n_posts: int) -> Scenario:
    posts = [post(tiny, f"P{k}", rng.randint(1, 2), level=rng.randint(0, 2), wage=4000 + 500 * k)
             for k in range(n_posts)]
    workers = [worker(tiny, f"W{i}", rng.choice(COUNTIES), level=rng.randint(0, 3),
                      choices=rng.sample([p["id"] for p in posts], rng.randint(1, n_posts)))
               for i in range(n_workers)]
    return _scenario(tiny, posts, workers)


def _all_stable(c) -> list[dict[int, int]]:
    """Every stable matching of a small instance, by enumeration."""
    options = [[None] + list(ps) for ps in c.prefs]
    out = []
    for combo in itertools.product(*options):
        assign = {i: k for i, k in enumerate(combo) if k is not None}
        counts: dict[int, int] = {}
        for k in assign.values():
            counts[k] = counts.get(k, 0) + 1
        if any(n > c.posts[k].openings for k, n in counts.items()):
            continue
        if not blocking(c, assign):
            out.append(assign)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_deferred_acceptance_is_the_worker_optimal_stable_match(tiny, seed):
    """On random small instances: the match is stable, and every worker does at least as well as
    in any other stable matching (found by enumerating them all)."""
    sc = _random_instance(tiny, random.Random(seed), 6, 3)
    c = compile_match(sc)
    assign, why = deferred_acceptance(c)
    assert blocking(c, assign) == []
    stable = _all_stable(c)
    assert stable, "a stable matching always exists without groups"

    def rank(a, i):
        return c.prefs[i].index(a[i]) if i in a else len(c.prefs[i])

    for other in stable:
        assert all(rank(assign, i) <= rank(other, i) for i in range(len(c.workers)))
    assert set(why) | set(assign) == set(range(len(c.workers)))


@pytest.mark.parametrize("seed", range(4))
def test_the_joint_model_reproduces_deferred_acceptance_when_transport_is_free(tiny, seed):
    """No fleet (so no coach cost) and B = 0: the joint model's answer is the baseline's."""
    sc = _random_instance(tiny, random.Random(100 + seed), 12, 4)
    sc = sc.model_copy(update={"fleet": []})
    c = compile_match(sc)
    baseline, _ = deferred_acceptance(c)
    joint = match(sc, time_limit=5)
    assert joint.method.startswith("joint (optimal")
    assert joint.assign == baseline


def _two_cities(tiny) -> Scenario:
    """Two sites far apart (the park near 郑州 and one near 西峡), workers from near each, every
    worker accepting both posts but preferring the far site's better wage: the stable match sends
    them across, while a budget of blocking pairs lets a cheaper match keep them near home."""
    sites = [tiny.site("F1"), {**tiny.site("F2", lat=33.30, lon=111.49), "name": "F2"}]
    posts = [post(tiny, "NEAR1", 20, wage=5000, site="F1"), post(tiny, "NEAR2", 20, wage=6000, site="F2")]
    workers = [worker(tiny, f"A{i}", "410122", level=1 + i % 3) for i in range(20)]  # 中牟, by F1
    workers += [worker(tiny, f"B{i}", "411323", level=1 + i % 3) for i in range(20)]  # 西峡, by F2
    return _scenario(tiny, posts, workers, sites=sites)


def test_the_cost_falls_as_the_budget_of_blocking_pairs_grows(tiny):
    sc = _two_cities(tiny)
    base = match(sc, joint=False)
    stable = match(sc, time_limit=5)
    loose = match(sc.model_copy(update={"policy": sc.policy.model_copy(update={"match_blocking_pairs": 100})}),
                  time_limit=5)
    c = stable.compiled

    def coaches(assign):
        per: dict = {}
        for i, k in assign.items():
            key = (c.home[i], c.hub[k])
            per[key] = per.get(key, 0) + 1
        return sum(c.coach_cost[key] * -(-n // c.seats) for key, n in per.items())

    assert len(stable.assign) == len(base.assign) == len(loose.assign) == 40
    assert blocking(c, stable.assign) == []
    assert coaches(stable.assign) <= coaches(base.assign)
    assert coaches(loose.assign) < coaches(stable.assign)
    assert 0 < len(blocking(c, loose.assign)) <= 100


def test_the_greedy_frees_coaches_within_each_budget_and_more_with_a_larger_one(tiny):
    """Free openings at both sites: the stable match sends the best of both counties to the far
    site's better wage; the greedy brings whole coaches home within the budget, never past it,
    keeping every match (and the couple where it is), and a larger budget never costs more."""
    sites = [tiny.site("F1"), {**tiny.site("F2", lat=33.30, lon=111.49), "name": "F2"}]
    posts = [post(tiny, "NEAR1", 30, wage=5000, site="F1"), post(tiny, "NEAR2", 30, wage=6000, site="F2")]
    workers = [worker(tiny, f"A{i}", "410122", level=1 + i % 3) for i in range(20)]  # 中牟, by F1
    workers += [worker(tiny, f"B{i}", "411323", level=1 + i % 3) for i in range(20)]  # 西峡, by F2
    workers[0]["group"] = workers[1]["group"] = "couple"
    sc = _scenario(tiny, posts, workers, sites=sites)
    c = compile_match(sc)
    base, _ = deferred_acceptance(c)
    costs = []
    for budget in (0, 1, 5, 10, 40, None):
        got = consolidate(c, base, budget, deadline=float("inf"))
        assert len(got) == len(base)
        assert budget is None or len(blocking(c, got)) <= budget
        assert all(got[i] == base[i] for i in (0, 1) if i in base)
        costs.append(proxy_cost(c, got))
    assert costs == sorted(costs, reverse=True)
    assert costs[0] == proxy_cost(c, base) > costs[-2]


def test_the_greedy_gives_a_far_workers_post_to_one_on_a_coach_with_room(tiny):
    """One site: the post ranks the far county's worker first, so the stable match brings one
    worker on a coach of their own while a near worker waits; with one blocking pair allowed the
    near worker takes the post on the near county's coach, and as many posts are filled."""
    posts = [post(tiny, "P", 10, site="F1")]
    workers = [worker(tiny, f"A{i}", "410122", level=2) for i in range(9)]  # 中牟, by F1
    workers += [worker(tiny, "FAR", "411323", level=3), worker(tiny, "LAST", "410122", level=1)]  # 西峡
    c = compile_match(_scenario(tiny, posts, workers))
    base, _ = deferred_acceptance(c)
    far, last = (next(i for i, w in enumerate(c.workers) if w.id == wid) for wid in ("FAR", "LAST"))
    assert far in base and last not in base
    assert consolidate(c, base, 0, deadline=float("inf")) == base
    got = consolidate(c, base, 1, deadline=float("inf"))
    assert far not in got and got[last] == base[far] and len(got) == len(base)
    assert blocking(c, got) == [(far, base[far])]
    assert proxy_cost(c, got) < proxy_cost(c, base)


def test_signed_workers_are_kept_and_pending_ones_wait(tiny):
    posts = [post(tiny, "P1", 1, level=0, wage=9000), post(tiny, "P2", 5, wage=4000)]
    workers = [worker(tiny, "S", "410526", level=0, signed="P2"),
               worker(tiny, "HI", "410526", level=5, choices=["P1", "P2"]),
               worker(tiny, "PEND", "410526", level=5, screening="pending")]
    r = match(_scenario(tiny, posts, workers), time_limit=3)
    ids = {r.compiled.workers[i].id: r.compiled.posts[k].id for i, k in r.assign.items()}
    assert ids["S"] == "P2" and ids["HI"] == "P1" and "PEND" not in ids
    assert r.why[2][0] == "screening_pending"


def test_dorm_beds_and_groups(tiny):
    """Three dorm posts' workers for two beds: the third is left out for want of a bed; a couple
    wanting posts at two sites goes to one of them together."""
    sites = [{**tiny.site("F1"), "dorm_beds": 2}, {**tiny.site("F2", lat=34.60, lon=113.70), "name": "F2"}]
    posts = [post(tiny, "D", 5, dorm=True, wage=7000), post(tiny, "X", 1, site="F2", wage=6000),
             post(tiny, "Y", 5, site="F1", wage=5000)]
    workers = [worker(tiny, f"W{i}", "410526", level=3 - i, choices=["D"]) for i in range(3)]
    workers += [worker(tiny, "HUSBAND", "410122", choices=["X", "Y"], group="g1"),
                worker(tiny, "WIFE", "410122", choices=["Y"], group="g1")]
    for joint in (False, True):
        r = match(_scenario(tiny, posts, workers, sites=sites), time_limit=3, joint=joint)
        ids = {r.compiled.workers[i].id: r.compiled.posts[k] for i, k in r.assign.items()}
        assert sum(1 for p in ids.values() if p.id == "D") == 2
        assert r.why[2][0] == "dorm_full"
        assert ids["HUSBAND"].site == ids["WIFE"].site == "F1"


def test_unacceptable_posts_are_explained(tiny):
    posts = [post(tiny, "P1", 3, level=4), post(tiny, "P2", 3, wage=3000)]
    workers = [worker(tiny, "LOW", "410526", level=1, min_monthly_wage=4000)]
    r = match(_scenario(tiny, posts, workers), time_limit=2)
    reason, detail = r.why[0]
    assert reason == "no_acceptable_post"
    assert "trade or level" in detail and "below their minimum" in detail


def test_a_post_that_starts_too_soon_for_a_far_county_is_not_acceptable(tiny):
    """恩阳区 (四川) is a ~16 h ride: a post starting the morning after they can leave is out of
    reach, the same post a week later is not."""
    posts = [post(tiny, "SOON", 5, start_day=11), post(tiny, "LATER", 5, start_day=18)]
    workers = [worker(tiny, "E", tiny.ENYANG, choices=["SOON", "LATER"])]
    r = match(_scenario(tiny, posts, workers), time_limit=2)
    assert [r.compiled.posts[k].id for k in r.assign.values()] == ["LATER"]


def test_the_joint_plan_carries_every_matched_worker(tiny):
    sc = _two_cities(tiny)
    from planner.optimize import solve

    plan = solve(sc, time_limit=10)
    m = plan.summary.matching
    assert m is not None and m.matched == len(plan.matches) == 40 and m.blocking_pairs == 0
    boarded = sum(ld.count for t in plan.trips for s in t.stops for ld in s.board)
    assert boarded + sum(u.count for u in plan.unassigned) == 40
    orders = {mm.order for mm in plan.matches}
    assert {ld.order for t in plan.trips for s in t.stops for ld in s.board} <= orders


def _pool_instance(tiny) -> Scenario:
    """55 workers of 中牟, each accepting a post by 西峡 (F2, 55 openings) or by 郑州 (F1, 2
    openings): the stable match sends all to F2's better wage, two of them over a coach's 53."""
    sites = [tiny.site("F1"), {**tiny.site("F2", lat=33.30, lon=111.49), "name": "F2"}]
    posts = [post(tiny, "NEAR", 2, wage=5000, site="F1"), post(tiny, "FAR", 55, wage=6000, site="F2")]
    workers = [worker(tiny, f"A{i}", "410122", level=1 + i % 3) for i in range(55)]
    return _scenario(tiny, posts, workers, sites=sites, fleet=[tiny.coach(count=6)])


def test_a_pooled_remainder_costs_its_share_of_a_coach_not_a_whole_one(tiny):
    """Counting whole coaches, the two workers beyond F2's full coach cost a coach of their own, so
    the match sends them to F1 on a (cheaper) coach of their own; when a plan pooled such riders
    at a seat's share, the re-solved match keeps them at F2 and costs less at that rate."""
    sc = _pool_instance(tiny)
    whole = match(sc, time_limit=5, ignore_preferences=True)
    c = whole.compiled
    f1 = {k for k, p in enumerate(c.posts) if p.site == "F1"}
    assert sum(1 for k in whole.assign.values() if k in f1) == 2
    far = (c.home[0], c.hub[next(k for k, p in enumerate(c.posts) if p.site == "F2")])
    near = (c.home[0], c.hub[next(iter(f1))])
    assert c.coach_cost[far] > c.coach_cost[near]
    rate = {far: -(-c.coach_cost[far] * 2 // c.seats)}  # a pooled rider: two seats' worth
    assert 2 * rate[far] < c.coach_cost[near]
    pooled = match(sc, time_limit=5, ignore_preferences=True, pool_cost=rate, prefer=whole.assign)
    assert sum(1 for k in pooled.assign.values() if k in f1) == 0 and len(pooled.assign) == 55
    assert proxy_cost(c, pooled.assign, rate) < proxy_cost(c, whole.assign, rate)
    assert proxy_cost(c, whole.assign) < proxy_cost(c, pooled.assign)  # whole coaches: the other way


def test_the_realised_pool_cost_shares_each_pooled_coach_among_its_riders(tiny):
    """Three workers of 中牟 and three of 尉氏 to one site ride one coach: its cost is shared among
    the two places' riders, each between a seat of a full coach and a coach of its own."""
    from planner.match import derive_orders, realised_pool_cost
    from planner.optimize import solve

    posts = [post(tiny, "P", 6, site="F1")]
    workers = [worker(tiny, f"A{i}", "410122") for i in range(3)] + [worker(tiny, f"B{i}", "410223") for i in range(3)]
    sc = _scenario(tiny, posts, workers)
    got = match(sc, joint=False)
    c = got.compiled
    orders, order_of = derive_orders(c, got.assign)
    plan = solve(sc.model_copy(update={"orders": orders, "workers": [], "posts": []}), time_limit=5)
    assert len(plan.trips) == 1 and sum(ld.count for s in plan.trips[0].stops for ld in s.board) == 6
    rates = realised_pool_cost(c, got.assign, plan, order_of)
    keys = {(c.home[i], c.hub[k]) for i, k in got.assign.items()}
    assert set(rates) == keys and len(keys) == 2
    assert abs(sum(3 * r for r in rates.values()) - plan.trips[0].cost) <= 0.5 * 6  # each rate to the yuan
    for key, r in rates.items():
        assert c.coach_cost[key] / c.seats <= r <= c.coach_cost[key]


@pytest.mark.parametrize("dearer", [0, 1])
def test_match_and_move_keeps_the_cheaper_of_its_two_plans(tiny, dearer):
    """A worker the first plan cannot carry is matched no more and the match planned again; as
    many carried either way, the plan that costs less is handed out, with the match it carries."""
    from planner.contract import Unassigned
    from planner.match import match_and_move
    from planner.optimize import solve

    sc = _two_cities(tiny)
    costs: list[float] = []

    def priced(scenario, **kw):
        plan = solve(scenario, **kw)
        if not costs:  # the first plan leaves one worker of its first order behind
            plan.unassigned.append(Unassigned(order=scenario.orders[0].id, count=1, reason="no_vehicle"))
        plan.summary.cost = (plan.summary.cost or 0.0) + (1e6 if len(costs) == dearer else 0.0)
        costs.append(plan.summary.cost)
        return plan

    plan = match_and_move(sc, priced, time_limit=24)
    assert len(costs) == 2 and plan.summary.cost == min(costs) < 1e6
    m = plan.summary.matching
    assert m is not None and m.matched == (39 if dearer == 0 else 40)


def test_the_greedy_spends_the_budget_where_a_change_frees_most_at_the_pooled_cost(tiny):
    """Two far workers (西峡 and 西平) each ride a coach of their own to a post a near worker would
    take; one blocking pair allowed, the greedy frees the dearer coach (西峡's). When a plan pooled
    西峡's rider at a seat's share, freeing it saves little, and the budget goes to 西平's."""
    posts = [post(tiny, "P", 10, site="F1")]
    workers = [worker(tiny, f"A{i}", "410122", level=2) for i in range(8)]  # 中牟, by F1
    workers += [worker(tiny, "XX", "411323", level=3), worker(tiny, "XP", "411721", level=3)]  # 西峡, 西平
    workers += [worker(tiny, "L1", "410122", level=1), worker(tiny, "L2", "410122", level=1)]
    c = compile_match(_scenario(tiny, posts, workers))
    base, _ = deferred_acceptance(c)
    xx, xp = (next(i for i, w in enumerate(c.workers) if w.id == wid) for wid in ("XX", "XP"))
    assert xx in base and xp in base and len(base) == 10
    key = {i: (c.home[i], c.hub[base[i]]) for i in (xx, xp)}
    assert c.coach_cost[key[xx]] > c.coach_cost[key[xp]]
    whole = consolidate(c, base, 1, deadline=float("inf"))
    assert xx not in whole and xp in whole and len(whole) == 10
    rate = {key[xx]: -(-c.coach_cost[key[xx]] // c.seats)}  # 西峡's rider pooled at a seat's share
    pooled = consolidate(c, base, 1, deadline=float("inf"), pool=rate)
    assert xx in pooled and xp not in pooled and len(pooled) == 10
    assert len(blocking(c, pooled)) == 1
    assert proxy_cost(c, pooled, rate) < proxy_cost(c, whole, rate)
