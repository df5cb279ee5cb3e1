"""Match and move: registered workers matched to factory posts, and brought back, in one plan.

A pair (worker, post) is *acceptable* when the worker has the post's trade at its level, the wage
meets the worker's minimum, the post is among the worker's choices (when they made any) and the
worker can arrive by the post's ``start_by`` (earliest departure + boarding + the fastest legal
coach ride home → site, two drivers at the best hour of the day, within ``max_ride_hours``).
Workers rank their acceptable posts in the order of their choices, or — with no choices — by
wage, then the road time; posts rank workers by their level in the trade, then registration
order (``policy.match_priority``).

1. :func:`deferred_acceptance` — worker-proposing deferred acceptance with openings, dorm beds
   and signed workers kept: the worker-optimal stable match (the baseline, today's practice).
   Groups (couples, 同乡) must share one site: a split group keeps the site most of it got and
   the others are held to that site's posts, and the match is run again.
2. :func:`match` — the joint match: a CP-SAT model (:func:`planner._routing.match_min_cost`)
   seeded with the baseline, filling at least as many posts, with at most
   ``policy.match_blocking_pairs`` blocking pairs, at the least cost of whole coaches per home
   county and site (the choice ranks break ties: with B = 0 and no cost it is the baseline).
3. :func:`match_and_move` — orders derived from the match (one per home place, site, agency,
   departure, start date and screening expiry), planned by the routing pipeline; the match is
   solved once more without the workers the plan could not carry (``no_transport``), their
   posts open to the others, and with the realised costs: a remainder that rode a pooled coach
   costs what its riders' share of that coach cost, not a coach of its own. A second match that
   differs is planned too, and the plan that carries more, then costs less, is kept.
"""

from __future__ import annotations

import time as _time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Optional

from ._routing import MatchProblem, match_min_cost
from .contract import Location, Match, MatchingSummary, Order, Plan, Post, Scenario, Unmatched, Worker
from .driving import DrivingRules, fastest_leg
from .network import Network
from .network.places import PlaceError, Point, resolve_all
from .network.roads import DistanceProvider

#: the share of the time limit the match itself may take (the rest plans the coaches)
MATCH_SHARE = 0.2
#: the share of the routing time the first plan takes (the rest plans the match solved again
#: without the workers it could not carry and with its pooled costs, when that match differs)
FIRST_ROUTE_SHARE = 0.75
#: the share of the match's time the greedy may take before the joint model (see :func:`consolidate`)
GREEDY_SHARE = 0.3
#: the unmatched workers of a post (its favourites first) the greedy tries in a worker's place
SWAP_CANDIDATES = 20
#: sites this close (road km) are one hub: a coach drops at each of them on one trip
HUB_KM = 60.0


@dataclass
class Compiled:
    """A scenario's workers and posts, with what the match needs."""

    scenario: Scenario
    workers: list[Worker]
    posts: list[Post]
    #: per worker: the acceptable posts, best first (the signed post first when there is one)
    prefs: list[list[int]]
    #: per post: the workers who find it acceptable, the post's favourite first
    prio: list[list[int]]
    #: per worker: its place's key and index (road tables), per post its site's index
    home: list[int]
    home_key: list[str]
    site_of: list[int]
    #: per (home place, site): the fastest legal coach ride in minutes (None: no ride)
    ride: dict[tuple[int, int], Optional[int]]
    #: per (home place, hub): a coach's cost from its depot to the home, on to the hub's first
    #: site and back (a hub: sites within :data:`HUB_KM` of each other, served by one coach)
    coach_cost: dict[tuple[int, int], int]
    seats: int
    hub: list[int] = field(default_factory=list)
    #: workers out of the match from the start: index → (reason, detail)
    out: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: per worker: why its list is empty or short (for the reasons)
    why_not: dict[int, str] = field(default_factory=dict)


def _level(w: Worker, p: Post) -> Optional[int]:
    return w.trades.get(p.trade)


def compile_match(scenario: Scenario, roads: Optional[DistanceProvider] = None,
                  dropped: Optional[dict[int, str]] = None) -> Compiled:
    """Resolve the workers' homes and the sites, price a coach per home and site, and list the
    acceptable pairs. ``dropped``: workers a plan could not carry to their post's site (left out
    ``no_transport``, with what stopped them)."""
    pol = scenario.policy
    workers, posts = list(scenario.workers), list(scenario.posts)
    sites = {s.id: i for i, s in enumerate(scenario.sites)}
    points = resolve_all([w.origin for w in workers] + [s.location for s in scenario.sites]
                         + [d.location for d in scenario.depots], pol.county_snap_km)
    bad = [(w.id, p) for w, p in zip(workers, points) if isinstance(p, PlaceError)]
    if bad:
        from .errors import InputError, Problem  # noqa: PLC0415

        raise InputError([Problem(f"workers ({wid})", "origin", str(p)) for wid, p in bad])
    pts = [p for p in points if isinstance(p, Point)]
    places: list[Point] = []
    index: dict[str, int] = {}
    home: list[int] = []
    home_key: list[str] = []
    for p in pts[:len(workers)]:
        if p.key not in index:
            index[p.key] = len(places)
            places.append(p)
        home.append(index[p.key])
        home_key.append(p.key)
    site_at = [len(places) + i for i in range(len(scenario.sites))]
    places += [Point(p.lat, p.lon, s.name or s.id, p.county, p.kind, ref=s.id)
               for p, s in zip(pts[len(workers):len(workers) + len(scenario.sites)], scenario.sites)]
    depot_at = {d.id: len(places) + i for i, d in enumerate(scenario.depots)}
    places += [Point(p.lat, p.lon, d.name or d.id, p.county, p.kind, ref=d.id)
               for p, d in zip(pts[len(workers) + len(scenario.sites):], scenario.depots)]
    net = Network.build(places, roads, pol.speed_kmh, pol.road_factor)
    drive = net.drive_minutes()
    rules = DrivingRules.from_policy(pol)
    boarding = int(-(-pol.boarding_minutes // 1))
    ride: dict[tuple[int, int], Optional[int]] = {}
    big = max(scenario.fleet, key=lambda v: (v.seats, -v.cost_per_km), default=None)
    coach_cost: dict[tuple[int, int], int] = {}
    hub = list(range(len(scenario.sites)))  # sites near each other share one coach's trip
    for s in range(len(scenario.sites)):
        for t in range(s):
            if float(net.km[site_at[s], site_at[t]]) <= HUB_KM:
                hub[s] = hub[t]
                break
    for h in sorted(set(home)):
        for s in range(len(scenario.sites)):
            minutes = fastest_leg(int(drive[h, site_at[s]]), rules)
            ride[(h, s)] = minutes if minutes + boarding <= pol.max_ride_hours * 60 or not pol.time_rules else None
            if big is not None and hub[s] == s:
                # the coach type nearest this hub: its depot → home → the hub's site → depot
                vt = min(scenario.fleet, key=lambda v: (float(net.km[depot_at[v.depot], site_at[s]]), -v.seats))
                d = depot_at[vt.depot]
                km = float(net.km[d, h] + net.km[h, site_at[s]] + net.km[site_at[s], d])
                crew = vt.crew_cost if float(net.km[h, site_at[s]]) > pol.two_driver_km else 0.0
                coach_cost[(h, s)] = int(round(vt.fixed_cost + vt.cost_per_km * km + crew))
    seats = max(1, int(big.seats * pol.occupancy_cap + 1e-9)) if big is not None else 1
    post_at = {p.id: k for k, p in enumerate(posts)}
    site_of = [sites[p.site] for p in posts]
    c = Compiled(scenario, workers, posts, [], [[] for _ in posts], home, home_key, site_of, ride, coach_cost, seats,
                 hub=[hub[s] for s in site_of])
    for i, w in enumerate(workers):
        if dropped and i in dropped:
            c.out[i] = ("no_transport", dropped[i])
            c.prefs.append([])
            continue
        if w.screening != "cleared":
            c.out[i] = (f"screening_{w.screening}", f"screening {w.screening}")
            c.prefs.append([])
            continue
        if w.screening_valid_until is not None and w.screening_valid_until < w.earliest_departure:
            c.out[i] = ("screening_expired", f"screening valid until {w.screening_valid_until:%m-%d %H:%M}, "
                                             f"before the earliest departure {w.earliest_departure:%m-%d %H:%M}")
            c.prefs.append([])
            continue
        ok: list[int] = []
        misses: Counter[str] = Counter()
        for k in ([post_at[x] for x in w.choices] if w.choices else range(len(posts))):
            pk = posts[k]
            lv = _level(w, pk)
            why = None
            if lv is None or lv < pk.min_level:
                why = "trade"
            elif w.min_monthly_wage is not None and pk.monthly_wage < w.min_monthly_wage:
                why = "wage"
            elif pol.time_rules:
                r = ride[(home[i], site_of[k])]
                if r is None or w.earliest_departure + timedelta(minutes=boarding + r) > pk.start_by:
                    why = "arrival"
            if why is None:
                ok.append(k)
            else:
                misses[why] += 1
        if not w.choices:
            ok.sort(key=lambda k: (-posts[k].monthly_wage, ride[(home[i], site_of[k])] or 0, posts[k].id))
        if w.signed is not None:
            s = post_at[w.signed]
            ok = [s] + [k for k in ok if k != s]
        c.prefs.append(ok)
        if misses:
            c.why_not[i] = ", ".join(f"{n} post(s) {_MISS[m]}" for m, n in misses.most_common())
    for i, ps in enumerate(c.prefs):
        for k in ps:
            c.prio[k].append(i)
    for k, pk in enumerate(posts):
        if scenario.policy.match_priority == "level":
            c.prio[k].sort(key=lambda i, pk=pk: (-(_level(workers[i], pk) or 0), i))  # type: ignore[misc]
        else:
            c.prio[k].sort()
    return c


_MISS = {"trade": "want a trade or level they do not have", "wage": "pay below their minimum",
         "arrival": "cannot be reached by their start date"}


def _bed_key(c: Compiled, i: int, k: int) -> Optional[tuple[int, str]]:
    """The bed pool worker ``i`` takes at post ``k``'s site (None: the post has no dorm or the
    site sets no limit)."""
    p = c.posts[k]
    if not p.dorm:
        return None
    beds = c.scenario.sites[c.site_of[k]].dorm_beds
    if beds is None:
        return None
    if isinstance(beds, int):
        return (c.site_of[k], "total")
    return (c.site_of[k], c.workers[i].gender or "none")


def _beds(c: Compiled, key: tuple[int, str]) -> int:
    beds = c.scenario.sites[key[0]].dorm_beds
    if isinstance(beds, int):
        return beds
    if isinstance(beds, dict) and key[1] in beds:
        return int(beds[key[1]])
    return 0


def deferred_acceptance(c: Compiled) -> tuple[dict[int, int], dict[int, tuple[str, str]]]:
    """Worker-proposing deferred acceptance (the baseline): ``worker → post`` and, for every
    cleared worker left out, ``(reason, detail)``."""
    allowed: dict[int, set[int]] = {}  # group members held to one site
    for _ in range(10):
        assign, rejected = _da(c, allowed)
        split = False
        groups: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(c.workers):
            if w.group and i not in c.out:
                groups[w.group].append(i)
        for members in groups.values():
            sites = Counter(c.site_of[assign[i]] for i in members if i in assign)
            if len(sites) > 1:
                split = True
                # the site where every member has a post to want, then the one most of them got
                keep = max(sites, key=lambda s: (all(any(c.site_of[k] == s for k in c.prefs[i]) for i in members),
                                                 sites[s], -min(c.prefs[i].index(assign[i]) for i in members
                                                                if i in assign and c.site_of[assign[i]] == s), -s))
                for i in members:
                    allowed[i] = {k for k in c.prefs[i] if c.site_of[k] == keep}
        if not split:
            break
    why: dict[int, tuple[str, str]] = dict(c.out)
    for i in range(len(c.workers)):
        if i in assign or i in why:
            continue
        why[i] = _reason(c, i, allowed, rejected.get(i, set()))
    return assign, why


def _da(c: Compiled, allowed: dict[int, set[int]]) -> tuple[dict[int, int], dict[int, set[str]]]:
    n = len(c.workers)
    rank = [{i: r for r, i in enumerate(ws)} for ws in c.prio]
    held: list[list[int]] = [[] for _ in c.posts]
    beds_used: Counter[tuple[int, str]] = Counter()
    assign: dict[int, int] = {}
    rejected: dict[int, set[str]] = defaultdict(set)
    nxt = [0] * n
    # signed workers first: kept where they signed
    for i, w in enumerate(c.workers):
        if w.signed is not None and i not in c.out and c.prefs[i]:
            k = c.prefs[i][0]
            held[k].append(i)
            assign[i] = k
            key = _bed_key(c, i, k)
            if key is not None:
                beds_used[key] += 1
    free = [i for i in range(n) if i not in assign and i not in c.out]
    openings = [p.openings for p in c.posts]
    while free:
        i = free.pop()
        prefs = c.prefs[i]
        while nxt[i] < len(prefs):
            k = prefs[nxt[i]]
            nxt[i] += 1
            if i in allowed and k not in allowed[i]:
                continue
            key = _bed_key(c, i, k)
            signed_here = sum(1 for j in held[k] if c.workers[j].signed is not None)
            if len(held[k]) < openings[k]:
                if key is not None and beds_used[key] >= _beds(c, key):
                    # no bed: take the place of a worker of the same bed pool it ranks lower
                    worse = [j for j in held[k] if c.workers[j].signed is None and _bed_key(c, j, k) == key
                             and rank[k][j] > rank[k][i]]
                    if not worse:
                        rejected[i].add("dorm")
                        continue
                    out = max(worse, key=lambda j: rank[k][j])
                    held[k].remove(out)
                    del assign[out]
                    rejected[out].add("dorm")  # the post had room: the bed was what it lacked
                    free.append(out)
                    beds_used[key] -= 1
                held[k].append(i)
                assign[i] = k
                if key is not None:
                    beds_used[key] += 1
                break
            candidates = [j for j in held[k] if c.workers[j].signed is None]
            if len(held[k]) - signed_here <= 0 or not candidates:
                rejected[i].add("outranked")
                continue
            worst = max(candidates, key=lambda j: rank[k][j])
            if rank[k][worst] < rank[k][i]:
                rejected[i].add("outranked")
                continue
            wkey = _bed_key(c, worst, k)
            if key is not None and key != wkey and beds_used[key] >= _beds(c, key):
                rejected[i].add("dorm")
                continue
            held[k].remove(worst)
            del assign[worst]
            rejected[worst].add("outranked")
            free.append(worst)
            if wkey is not None:
                beds_used[wkey] -= 1
            held[k].append(i)
            assign[i] = k
            if key is not None:
                beds_used[key] += 1
            break
    return assign, rejected


def _reason(c: Compiled, i: int, allowed: dict[int, set[int]], rejected: set[str]) -> tuple[str, str]:
    w = c.workers[i]
    if not c.prefs[i]:
        asked = f"of their {len(w.choices)} choice(s)" if w.choices else f"of the {len(c.posts)} post(s)"
        return "no_acceptable_post", f"none {asked} accepts them: {c.why_not.get(i, 'no posts')}"
    if i in allowed and not allowed[i]:
        return "group_unplaceable", f"group {w.group} went to a site none of whose posts accepts them"
    if i in allowed:
        return "group_unplaceable", f"group {w.group} is held to one site, whose posts were taken"
    if "dorm" in rejected:  # with a bed free they would have had a post
        return "dorm_full", "a post they want had room, but its site's dorm beds went to workers it ranks higher"
    first = c.posts[c.prefs[i][0]]
    return "outranked", (f"each of their {len(c.prefs[i])} acceptable post(s) filled with workers it ranks "
                         f"higher (first choice {first.id} {first.trade}, {first.openings} opening(s))")


@dataclass
class MatchResult:
    compiled: Compiled
    assign: dict[int, int]
    why: dict[int, tuple[str, str]]
    method: str
    baseline_fill: int
    seconds: float


def _coaches(n: int, seats: int) -> int:
    return -(-n // max(1, seats))


def proxy_cost(c: Compiled, assign: dict[int, int], pool: Optional[dict[tuple[int, int], int]] = None) -> int:
    """Whole coaches per home place and hub at their cost: what the joint match minimises. With
    ``pool`` (yuan a pooled rider, per home place and hub), the riders beyond the full coaches
    pay that instead, unless a coach of their own costs less."""
    hub = c.hub or c.site_of
    riders = Counter((c.home[i], hub[k]) for i, k in assign.items())
    return sum(_riders_cost(c, key, n, pool) for key, n in riders.items())


def _riders_cost(c: Compiled, key: tuple[int, int], n: int, pool: Optional[dict[tuple[int, int], int]]) -> int:
    """What ``n`` riders from a home place to a hub cost in :func:`proxy_cost`."""
    coach, rate = c.coach_cost.get(key, 0), (pool or {}).get(key)
    whole = coach * _coaches(n, c.seats)
    if rate is not None:
        full, extra = divmod(n, max(1, c.seats))
        whole = min(whole, coach * full + rate * extra)
    return whole


def realised_pool_cost(c: Compiled, assign: dict[int, int], plan: Plan,
                       order_of: dict[int, str]) -> dict[tuple[int, int], int]:
    """What a rider pooled with other places' riders cost in ``plan``, per home place and hub.

    Each direct trip's cost is shared among its riders in proportion to what a seat of their own
    coach would cost (the coach's cost ÷ seats; riders of the scenario's own orders weigh the
    trip's mean). The riders of a (home, hub) on trips that also carry other places or hubs give
    its rate: their shares' mean, between a seat of a full coach and a coach of their own."""
    hub = c.hub or c.site_of
    key_of: dict[str, tuple[int, int]] = {}
    for i, k in assign.items():
        if i in order_of:
            key_of[order_of[i]] = (c.home[i], hub[k])
    seats = max(1, c.seats)
    paid: dict[tuple[int, int], float] = defaultdict(float)
    riders: Counter[tuple[int, int]] = Counter()
    for trip in plan.trips:
        if trip.purpose != "direct":
            continue
        on: Counter[Optional[tuple[int, int]]] = Counter()
        for stop in trip.stops:
            for ld in stop.board:
                on[key_of.get(ld.order)] += ld.count
        known = {key: n for key, n in on.items() if key is not None}
        if not known or (len(on) == 1 and len(known) == 1):
            continue  # a coach of one place to one hub: not pooled
        weight = {key: c.coach_cost.get(key, 0) / seats for key in known}
        mean = sum(weight[key] * n for key, n in known.items()) / max(1, sum(known.values()))
        total = sum(weight[key] * n for key, n in known.items()) + mean * on.get(None, 0)
        if total <= 0:
            continue
        for key, n in known.items():
            paid[key] += trip.cost * weight[key] * n / total
            riders[key] += n
    out: dict[tuple[int, int], int] = {}
    for key, n in riders.items():
        coach = c.coach_cost.get(key, 0)
        out[key] = int(round(min(coach, max(coach / seats, paid[key] / n))))
    return out


def _one_more(c: Compiled, riders: dict[tuple[int, int], list[int]], add: Counter[tuple[int, int]],
              to: tuple[int, int], pool: Optional[dict[tuple[int, int], int]] = None) -> int:
    """What one more rider from a home place to a hub adds (in whole coaches, or at ``pool``)."""
    n = len(riders.get(to, ())) + add[to]
    return _riders_cost(c, to, n + 1, pool) - _riders_cost(c, to, n, pool)


def consolidate(c: Compiled, assign: dict[int, int], budget: Optional[int], deadline: float,
                pool: Optional[dict[tuple[int, int], int]] = None) -> dict[int, int]:
    """Whole coaches freed within the budget of blocking pairs. The workers on a home place's last
    coach to a hub each either move to an acceptable post with a free opening (and bed) at another
    hub, or give their post to an unmatched worker who accepts it and comes from a place whose coach
    to that hub costs less to add to; the change that saves most first, kept while the blocking
    pairs stay within ``budget`` (None: not counted). As many posts stay filled. Greedy, so a larger
    budget only adds changes: the joint model starts from here. Group members and signed workers
    stay where they are, and unmatched group members are not brought in alone. With ``pool`` (a
    pooled rider's cost, :func:`realised_pool_cost`) a change saves what :func:`proxy_cost` says
    at those rates: a last coach whose riders pooled cheaply frees little, and the budget goes
    where a change frees more."""
    hub = c.hub or c.site_of
    assign = dict(assign)
    tried: set[tuple[int, int]] = set()

    def free(i: int) -> bool:
        return not c.workers[i].group and c.workers[i].signed is None and i not in c.out

    while _time.monotonic() < deadline:
        riders: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, k in assign.items():
            riders[(c.home[i], hub[k])].append(i)
        held = Counter(assign.values())
        used: Counter[tuple[int, str]] = Counter()
        for i, k in assign.items():
            key = _bed_key(c, i, k)
            if key is not None:
                used[key] += 1
        waiting = {k: [j for j in ws if j not in assign and free(j)][:SWAP_CANDIDATES] for k, ws in enumerate(c.prio)}
        best: Optional[tuple[int, tuple[int, int], dict[int, Optional[int]]]] = None
        for g, ws in riders.items():
            if g in tried:
                continue
            last = len(ws) - c.seats * (_coaches(len(ws), c.seats) - 1)
            movers = sorted(ws, key=lambda i: (-c.prefs[i].index(assign[i]), -i))[:last]
            if not all(free(i) for i in movers):
                continue
            moves: dict[int, Optional[int]] = {}  # worker → new post (None: no longer matched)
            add: Counter[tuple[int, int]] = Counter()
            taken: Counter[int] = Counter()
            beds_taken: Counter[tuple[int, str]] = Counter()

            for i in movers:
                k0 = assign[i]
                options: list[tuple[int, int, int, int]] = []  # (added coach cost, order, worker, post)
                for k in c.prefs[i]:
                    if hub[k] == g[1] or held[k] + taken[k] >= c.posts[k].openings:
                        continue
                    key = _bed_key(c, i, k)
                    if key is not None and used[key] + beds_taken[key] >= _beds(c, key):
                        continue
                    options.append((_one_more(c, riders, add, (g[0], hub[k]), pool), c.prefs[i].index(k), i, k))
                for n, j in enumerate(waiting[k0]):
                    key = _bed_key(c, j, k0)
                    if j in moves or (c.home[j], hub[k0]) == g or (
                            key is not None and key != _bed_key(c, i, k0)
                            and used[key] + beds_taken[key] >= _beds(c, key)):
                        continue
                    options.append((_one_more(c, riders, add, (c.home[j], hub[k0]), pool), len(c.prefs[i]) + n, j, k0))
                if not options:
                    break
                _, _, who, k = min(options)
                if who != i:
                    moves[i] = None
                taken[k] += who == i
                moves[who] = k
                add[(c.home[who], hub[k])] += 1
                key = _bed_key(c, who, k)
                if key is not None:
                    beds_taken[key] += 1
            if sum(1 for i in movers if i in moves) < len(movers):
                continue
            net = _riders_cost(c, g, len(ws), pool) - _riders_cost(c, g, len(ws) - last, pool) - sum(
                _riders_cost(c, to, len(riders.get(to, ())) + a, pool) - _riders_cost(c, to, len(riders.get(to, ())), pool)
                for to, a in add.items())
            if net > 0 and (best is None or net > best[0]):
                best = (net, g, moves)
        if best is None:
            break
        _, g, moves = best
        tried.add(g)
        trial = dict(assign)
        for i, to_post in moves.items():
            if to_post is None:
                del trial[i]
            else:
                trial[i] = to_post
        if budget is None or len(blocking(c, trial)) <= budget:
            assign = trial
    return assign


def match(scenario: Scenario, roads: Optional[DistanceProvider] = None, *, time_limit: float = 10.0, seed: int = 0,
          joint: bool = True, budget: Optional[int] = None, dropped: Optional[dict[int, str]] = None,
          ignore_preferences: bool = False, pool_cost: Optional[dict[tuple[int, int], int]] = None,
          prefer: Optional[dict[int, int]] = None) -> MatchResult:
    """The match: deferred acceptance, then (``joint``) the CP-SAT model of least transport cost
    within ``budget`` blocking pairs (default ``policy.match_blocking_pairs``; with
    ``ignore_preferences`` none are counted) that fills as many posts. ``pool_cost``: a pooled
    rider's cost per home place and hub (see :func:`realised_pool_cost`); ``prefer``: a match of
    the same workers within the budget (e.g. the one planned before) to start from when it costs
    less than the greedy's."""
    start = _time.monotonic()
    c = compile_match(scenario, roads, dropped)
    assign, why = deferred_acceptance(c)
    method = "deferred_acceptance"
    baseline_fill = len(assign)
    if joint and c.posts and c.workers:
        b = scenario.policy.match_blocking_pairs if budget is None else budget
        groups: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(c.workers):
            if w.group and i not in c.out:
                groups[w.group].append(i)
        beds: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i in range(len(c.workers)):
            for k in c.prefs[i]:
                key = _bed_key(c, i, k)
                if key is not None and i not in beds[key]:
                    beds[key].append(i)
        # the greedy first (a share of the time): whole coaches freed within the budget
        start_from = assign if not b and not ignore_preferences else consolidate(
            c, assign, None if ignore_preferences else b, start + GREEDY_SHARE * time_limit, pool_cost)
        if prefer and not c.out.keys() & prefer.keys() and len(prefer) >= len(assign) \
                and proxy_cost(c, prefer, pool_cost) < proxy_cost(c, start_from, pool_cost):
            start_from = dict(prefer)
        problem = MatchProblem(
            prefs=tuple(tuple(ps) for ps in c.prefs), prio=tuple(tuple(ws) for ws in c.prio),
            openings=tuple(p.openings for p in c.posts), site=tuple(c.site_of), dorm=tuple(p.dorm for p in c.posts),
            beds=tuple((key[0], tuple(ws), _beds(c, key)) for key, ws in beds.items()),
            groups=tuple(tuple(ws) for ws in groups.values() if len(ws) > 1),
            signed=tuple((i, c.prefs[i][0]) for i, w in enumerate(c.workers) if w.signed is not None and c.prefs[i]),
            home=tuple(c.home), seats=c.seats, coach_cost=c.coach_cost,
            budget=None if ignore_preferences else b, min_fill=len(assign), hint=start_from, hub=tuple(c.hub),
            pool_cost=dict(pool_cost or {}))
        left = max(0.5, time_limit - (_time.monotonic() - start))
        chosen = match_min_cost(problem, time_limit=left, seed=seed)
        label = f"budget {'none' if ignore_preferences else b}"
        if chosen.status != "hint" and proxy_cost(c, chosen.assign, pool_cost) <= proxy_cost(c, start_from, pool_cost):
            assign = chosen.assign
            method = f"joint ({chosen.status}, {label})"
        elif start_from != assign:
            assign = start_from
            method = f"joint (greedy, {label})"
        if method != "deferred_acceptance":
            why = {i: r for i, r in why.items() if i not in assign}
            for i in range(len(c.workers)):
                if i not in assign and i not in why:
                    why[i] = _reason(c, i, {}, {"outranked"})
    return MatchResult(c, assign, why, method, baseline_fill, _time.monotonic() - start)


def blocking(c: Compiled, assign: dict[int, int]) -> list[tuple[int, int]]:
    """The blocking pairs of ``assign`` (see the module's doc; a dorm post's free opening counts
    only with a bed free for the worker; a signed worker's place is not for the taking; a member
    of a group whose others hold posts at a site blocks only with posts at that site)."""
    held: dict[int, list[int]] = defaultdict(list)
    for i, k in assign.items():
        held[k].append(i)
    used: Counter[tuple[int, str]] = Counter()
    for i, k in assign.items():
        key = _bed_key(c, i, k)
        if key is not None:
            used[key] += 1
    rank = [{i: r for r, i in enumerate(ws)} for ws in c.prio]
    # a group's members go together: one whose others hold posts at a site moves only within it
    group_sites: dict[str, Counter[int]] = defaultdict(Counter)
    for i, k in assign.items():
        if c.workers[i].group:
            group_sites[c.workers[i].group][c.site_of[k]] += 1  # type: ignore[index]
    out = []
    for i, prefs in enumerate(c.prefs):
        if i in c.out or c.workers[i].signed is not None:
            continue
        mine = assign.get(i)
        g = c.workers[i].group
        others = Counter(group_sites[g]) if g else Counter()
        if mine is not None and g:
            others[c.site_of[mine]] -= 1
        held_at = {s for s, n in others.items() if n > 0}
        for k in prefs:
            if k == mine:
                break
            if held_at and c.site_of[k] not in held_at:
                continue
            key = _bed_key(c, i, k)
            free = len(held[k]) < c.posts[k].openings and (key is None or used[key] < _beds(c, key))
            # a signed worker's place is kept: nobody displaces them
            if free or any(rank[k][j] > rank[k][i] for j in held[k] if j in rank[k] and c.workers[j].signed is None):
                out.append((i, k))
    return out


def derive_orders(c: Compiled, assign: dict[int, int]) -> tuple[list[Order], dict[int, str]]:
    """One order per home place, site, agency, departure, start date and screening expiry."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, k in sorted(assign.items()):
        w, p = c.workers[i], c.posts[k]
        groups[(c.home_key[i], p.site, w.agency, w.earliest_departure, p.start_by, w.screening_valid_until)].append(i)
    orders: list[Order] = []
    order_of: dict[int, str] = {}
    for n, (key, members) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2], kv[1][0]))):
        _, site, agency, earliest, start_by, until = key
        oid = f"M{n + 1:04d}"
        w0 = c.workers[members[0]]
        origin: Location = w0.origin
        arrive_by = max(start_by, earliest + timedelta(minutes=1))
        orders.append(Order(id=oid, agency=agency, origin=origin, site=site, headcount=len(members),
                            cleared=len(members), earliest_departure=earliest, arrive_by=arrive_by,
                            screening_valid_until=until,
                            note="match: " + ", ".join(c.workers[i].id for i in members[:20])
                            + (" …" if len(members) > 20 else "")))
        for i in members:
            order_of[i] = oid
    return orders, order_of


def summarise(c: Compiled, assign: dict[int, int], plan: Optional[Plan], method: str,
              carried: Optional[int] = None) -> MatchingSummary:
    openings = sum(p.openings for p in c.posts)
    ranks = [c.prefs[i].index(k) + 1 for i, k in assign.items()]
    cost = 0.0
    if plan is not None and assign:
        total = (plan.summary.cost or 0.0) + (plan.summary.train_cost or 0.0)
        planned = plan.summary.workers_planned or 0
        share = (carried or 0) / planned if planned else 0.0
        cost = total * share / max(1, carried or 0) if carried else 0.0
    return MatchingSummary(
        workers=len(c.workers), matched=len(assign), openings=openings,
        fill_rate=round(len(assign) / openings, 4) if openings else 0.0,
        first_choice_share=round(sum(1 for r in ranks if r == 1) / len(ranks), 4) if ranks else 0.0,
        mean_choice_rank=round(sum(ranks) / len(ranks), 4) if ranks else 0.0,
        blocking_pairs=len(blocking(c, assign)), transport_cost_per_matched=round(cost, 2),
        blocking_budget=c.scenario.policy.match_blocking_pairs, method=method)


def match_and_move(scenario: Scenario, solve: Callable[..., Plan], *, time_limit: float, seed: int = 0,
                   roads: Optional[DistanceProvider] = None, started: Optional[float] = None,
                   joint: bool = True, budget: Optional[int] = None, ignore_preferences: bool = False,
                   **kw: Any) -> Plan:
    """Match, derive orders, plan them (with the scenario's own orders) by ``solve``; then, when
    time allows, match once more — without the pairs the plan could not carry, and at the cost a
    pooled rider had in the plan (:func:`realised_pool_cost`) — and when that match differs, plan
    it and keep the plan that carries more, then costs less. The time limit is for all.
    ``joint``, ``budget``, ``ignore_preferences``: as :func:`match` (the benchmark compares them)."""
    start = started if started is not None else _time.monotonic()

    def left() -> float:
        return time_limit - (_time.monotonic() - start)

    share = max(1.0, MATCH_SHARE * time_limit)
    result = match(scenario, roads, time_limit=share, seed=seed, joint=joint,
                   budget=budget, ignore_preferences=ignore_preferences)
    # the coaches get the same time however fast the match was (the baseline's plan is no better
    # for a quicker match: compared at equal routing time)
    rest = min(left(), time_limit - share)
    plan, order_of = _plan(scenario, result, solve, seed, roads,
                           max(1.0, FIRST_ROUTE_SHARE * rest) if rest > 8 else max(1.0, rest), **kw)
    missed = _not_carried(result, plan, order_of)
    if left() > 5 and (missed or joint):
        # once more: without the workers the plan could not carry (their posts go to others), and
        # with what a pooled rider cost in the plan in place of a whole coach for each remainder
        dropped = {i: "the plan could not bring them to the site of their post: "
                      + _transport_reason(plan, order_of.get(i)) for i in missed} if missed else None
        pool = realised_pool_cost(result.compiled, result.assign, plan, order_of) if joint else None
        again = match(scenario, roads, time_limit=max(1.0, 0.2 * left()), seed=seed, dropped=dropped, joint=joint,
                      budget=budget, ignore_preferences=ignore_preferences, pool_cost=pool,
                      prefer=None if missed else result.assign)
        if again.assign != result.assign:  # a new match is planned, and the better plan kept
            plan2, order_of2 = _plan(scenario, again, solve, seed, roads, max(1.0, left() - 1), **kw)
            carried = len(result.assign) - len(missed)
            carried2 = len(again.assign) - len(_not_carried(again, plan2, order_of2))
            if carried2 > carried or (carried2 == carried and _cost(plan2) < _cost(plan)):
                result, plan, order_of = again, plan2, order_of2
    return _with_match(result, plan, order_of)


def _cost(plan: Plan) -> float:
    return (plan.summary.cost or 0.0) + (plan.summary.train_cost or 0.0)


def _plan(scenario: Scenario, result: MatchResult, solve: Callable[..., Plan], seed: int,
          roads: Optional[DistanceProvider], time_limit: float, **kw: Any) -> tuple[Plan, dict[int, str]]:
    orders, order_of = derive_orders(result.compiled, result.assign)
    routed = scenario.model_copy(update={"orders": list(scenario.orders) + orders, "workers": [], "posts": []})
    plan = solve(routed, time_limit=time_limit, seed=seed, distances=roads, **kw)
    return plan, order_of


def _not_carried(result: MatchResult, plan: Plan, order_of: dict[int, str]) -> list[int]:
    """Matched workers the plan leaves unassigned (the last registered of each order first)."""
    short: Counter[str] = Counter()
    for u in plan.unassigned:
        short[u.order] += u.count
    out = []
    by_order: dict[str, list[int]] = defaultdict(list)
    for i, oid in order_of.items():
        by_order[oid].append(i)
    for oid, members in by_order.items():
        n = short.get(oid, 0)
        out += sorted(members)[len(members) - n:] if n else []
    return out


def _transport_reason(plan: Plan, oid: Optional[str]) -> str:
    rows = [u for u in plan.unassigned if u.order == oid]
    return "; ".join(f"{u.reason}" + (f" ({u.detail})" if u.detail else "") for u in rows) or "no trip"


def _with_match(result: MatchResult, plan: Plan, order_of: dict[int, str]) -> Plan:
    c = result.compiled
    matches = [Match(worker=c.workers[i].id, post=c.posts[k].id, site=c.posts[k].site, order=order_of[i])
               for i, k in sorted(result.assign.items())]
    unmatched = [Unmatched(worker=c.workers[i].id, reason=r, detail=d) for i, (r, d) in sorted(result.why.items())]
    carried = len(result.assign) - len(_not_carried(result, plan, order_of))
    plan.matches, plan.unmatched = matches, unmatched
    plan.summary.matching = summarise(c, result.assign, plan, result.method, carried)
    return plan
