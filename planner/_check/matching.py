"""Match and move: the plan's matches of registered workers to factory posts, recomputed on the
checker's own from the scenario's ``posts`` and ``workers`` (it does not use the optimiser's
matching): each match acceptable, openings, dormitory beds and groups respected, every worker
matched or unmatched for a true reason, the blocking pairs within ``policy.match_blocking_pairs``,
the summary's figures, and the derived orders (one per ``Match.order``) consistent, so that the
other families can check the trips carrying them as if they were scenario orders.

A pair (worker, post) is *acceptable* when the worker has the post's trade at ``min_level`` or
above, the wage is at least the worker's minimum, the post is one of the worker's ``choices``
(when they list any), and (with ``policy.time_rules``) the worker can reach the site by the post's
``start_by``: ``earliest_departure`` + ``boarding_minutes`` + the fastest legal coach ride from the
home county seat to the site (two drivers fresh at the best hour of the day, the checker's own
driving arithmetic of :func:`planner._check.journey.fastest_ride`), that ride within
``max_ride_hours``. Arrival is judged with :data:`ARRIVAL_TOL` of tolerance either way: a match is
unacceptable only when it misses by more, and counts that depend on acceptability (blocking
pairs, choice ranks) are checked against the range the margin allows.

Rules ``match_unknown``, ``match_twice``, ``match_openings``, ``match_site``,
``match_unacceptable``, ``match_signed``, ``match_dorm``, ``match_group``, ``match_screening``,
``match_accounting``, ``match_reason``, ``blocking_pairs``, ``match_summary``, ``match_order``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional, get_args

from ..contract import Location, Match, Order, Place, Plan, Policy, Post, Scenario, UnmatchedReason, Worker
from ..network import places
from .common import Facts, Violation, fmt
from .journey import fastest_ride
from .roads import Roads

#: arrival estimates may differ by this much between the optimiser and the checker
ARRIVAL_TOL = timedelta(minutes=10)
#: ratios of the summary are compared to this
RATIO_TOL = 0.001
UNMATCHED_REASONS: tuple[str, ...] = get_args(UnmatchedReason)
#: unmatched for these reasons, a worker cannot take any post: no blocking pair
EXCUSED = ("no_transport", "region_closed", "screening_pending", "screening_failed", "screening_expired")

Add = Callable[[str, str], None]
#: acceptability of a pair: no, only within the arrival tolerance, yes
NO, MAYBE, YES = 0, 1, 2


@dataclass
class Matching:
    """The scenario's workers and posts with everything the rules need, computed once."""

    sc: Scenario
    plan: Plan
    roads: Roads
    workers: dict[str, Worker] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.p: Policy = self.sc.policy
        self.workers = {w.id: w for w in self.sc.workers}
        self.posts = {p.id: p for p in self.sc.posts}
        self.index = {w.id: i for i, w in enumerate(self.sc.workers)}
        self.sites = {s.id: s for s in self.sc.sites}
        locs: list[Location] = [w.origin for w in self.sc.workers] + [s.location for s in self.sc.sites]
        pts = places.resolve_all(locs, self.p.county_snap_km) if locs else []
        nw = len(self.sc.workers)
        self.home: dict[str, Optional[str]] = {}
        self.home_place: dict[str, Optional[Place]] = {}
        seats = places.counties()
        for w, pt in zip(self.sc.workers, pts[:nw]):
            county = None if isinstance(pt, places.PlaceError) else pt.county
            self.home[w.id] = county
            seat = seats.get(county) if county else None
            self.home_place[w.id] = None if seat is None else Place(county=seat.code, name=seat.name,
                                                                    lat=seat.lat, lon=seat.lon)
        self.site_place: dict[str, Optional[Place]] = {}
        for s, pt in zip(self.sc.sites, pts[nw:]):
            self.site_place[s.id] = None if isinstance(pt, places.PlaceError) else \
                Place(id=s.id, name=s.name, lat=pt.lat, lon=pt.lon)
        self._ride: dict[tuple[str, str], float] = {}
        self._drive: dict[tuple[str, str], float] = {}
        self._ok: dict[tuple[str, str], int] = {}
        self._order: dict[str, list[Post]] = {}
        self.matches: dict[str, list[Match]] = defaultdict(list)
        for m in self.plan.matches:
            self.matches[m.worker].append(m)
        self.held: dict[str, str] = {w: ms[0].post for w, ms in self.matches.items() if ms}
        self.unmatched: dict[str, str] = {}
        for u in self.plan.unmatched:
            self.unmatched.setdefault(u.worker, u.reason)

    # ------------------------------------------------------------ roads and arrival

    def drive_minutes(self, w: Worker, p: Post) -> float:
        """Pure driving minutes from the worker's home county seat to the post's site."""
        key = (self.home.get(w.id) or "", p.site)
        if key not in self._drive:
            a, b = self.home_place.get(w.id), self.site_place.get(p.site)
            self._drive[key] = math.inf if a is None or b is None else self.roads.minutes(a, b, self.p.speed_kmh)
        return self._drive[key]

    def ride_minutes(self, w: Worker, p: Post) -> float:
        """The fastest legal coach ride home → site: two drivers fresh at the best hour of the day."""
        key = (self.home.get(w.id) or "", p.site)
        if key not in self._ride:
            drive = self.drive_minutes(w, p)
            if not math.isfinite(drive):
                self._ride[key] = math.inf
            else:
                a, b = self.home_place.get(w.id), self.site_place.get(p.site)
                assert a is not None and b is not None
                km = self.roads.km(a, b)
                self._ride[key] = min(fastest_ride(self.p, h * 60.0, [km], [], 2, True, [drive])[-1]
                                      for h in range(24))
        return self._ride[key]

    def arrival_slack(self, w: Worker, p: Post) -> timedelta:
        """How long before ``start_by`` the worker can arrive at the earliest (negative: late);
        the ride's excess over ``max_ride_hours`` counts as lateness too."""
        ride = self.ride_minutes(w, p)
        if not math.isfinite(ride):
            return timedelta(days=-36500)
        arrive = w.earliest_departure + timedelta(minutes=self.p.boarding_minutes + ride)
        slack = p.start_by - arrive
        over = timedelta(minutes=ride) - timedelta(hours=self.p.max_ride_hours)
        return min(slack, -over)

    # ------------------------------------------------------------ acceptability and preferences

    def why_not(self, w: Worker, p: Post) -> Optional[str]:
        """Why the pair is not acceptable, arrival aside (None: it is, arrival aside)."""
        level = w.trades.get(p.trade)
        if level is None:
            return f"worker {w.id} has no trade {p.trade!r}"
        if level < p.min_level:
            return f"worker {w.id}'s level {level} in {p.trade!r} is below post {p.id}'s {p.min_level}"
        if w.min_monthly_wage is not None and p.monthly_wage < w.min_monthly_wage:
            return f"post {p.id} pays {p.monthly_wage:g} a month, below worker {w.id}'s minimum {w.min_monthly_wage:g}"
        if w.choices and p.id not in w.choices:
            return f"post {p.id} is not among worker {w.id}'s choices ({', '.join(w.choices)})"
        return None

    def acceptable(self, w: Worker, p: Post) -> int:
        """:data:`YES`, :data:`MAYBE` (only within the arrival tolerance) or :data:`NO`."""
        key = (w.id, p.id)
        if key not in self._ok:
            if self.why_not(w, p) is not None:
                self._ok[key] = NO
            elif not self.p.time_rules:
                self._ok[key] = YES
            else:
                s = self.arrival_slack(w, p)
                self._ok[key] = YES if s >= ARRIVAL_TOL else (MAYBE if s >= -ARRIVAL_TOL else NO)
        return self._ok[key]

    def nominal(self, w: Worker, p: Post) -> bool:
        """Acceptable with no tolerance (for the lists shown to people)."""
        ok = self.acceptable(w, p)
        return ok == YES or (ok == MAYBE and self.arrival_slack(w, p) >= timedelta(0))

    def order_of(self, w: Worker) -> list[Post]:
        """The worker's posts in order of preference, acceptable or not: their choices, or (with
        none) every post by wage descending, road minutes home → site, post id."""
        got = self._order.get(w.id)
        if got is None:
            if w.choices:
                got = [self.posts[c] for c in w.choices if c in self.posts]
            else:
                got = sorted(self.posts.values(), key=lambda p: (-p.monthly_wage, self.drive_minutes(w, p), p.id))
            self._order[w.id] = got
        return got

    def position(self, w: Worker) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.order_of(w))}

    def rank(self, w: Worker, post: str) -> tuple[int, int]:
        """The least and greatest rank (1 = first) the post can have in the worker's list of
        acceptable posts, given the arrival tolerance; signed workers' own post is rank 1."""
        if w.signed is not None and post == w.signed:
            return 1, 1
        ahead_sure = ahead_maybe = 0
        for p in self.order_of(w):
            if p.id == post:
                return 1 + ahead_sure, 1 + ahead_sure + ahead_maybe
            ok = self.acceptable(w, p)
            ahead_sure += ok == YES
            ahead_maybe += ok == MAYBE
        n = ahead_sure + ahead_maybe
        return 1 + n, 1 + n  # not in the list: after all of it

    def priority(self, p: Post, w: Worker) -> tuple[int, int]:
        """The post's order of workers (smaller first)."""
        if self.p.match_priority == "level":
            return -(w.trades.get(p.trade) or 0), self.index[w.id]
        return 0, self.index[w.id]


# ------------------------------------------------------------------ dormitory beds


def _dorm_use(m: Matching) -> dict[str, dict[Optional[str], int]]:
    """Per site: workers matched to its dorm posts, by gender (None: not stated)."""
    use: dict[str, dict[Optional[str], int]] = defaultdict(lambda: defaultdict(int))
    for w_id, post in m.held.items():
        p, w = m.posts.get(post), m.workers.get(w_id)
        if p is not None and w is not None and p.dorm:
            use[p.site][w.gender] += 1
    return use


def _bed_free(m: Matching, use: dict[str, dict[Optional[str], int]], site: str, w: Worker) -> bool:
    beds = m.sites[site].dorm_beds if site in m.sites else None
    if beds is None:
        return True
    used = use.get(site, {})
    if isinstance(beds, int):
        return sum(used.values()) < beds
    if w.gender is None:
        return False
    return used.get(w.gender, 0) < beds.get(w.gender, 0)


# ------------------------------------------------------------------ blocking pairs


def _blocking(m: Matching) -> tuple[list[tuple[str, str]], int, int]:
    """The blocking pairs (nominal acceptability), and how many there are at least and at most
    given the arrival tolerance."""
    held_by: dict[str, list[Worker]] = defaultdict(list)
    for w_id, post in m.held.items():
        if w_id in m.workers:
            held_by[post].append(m.workers[w_id])
    # per post, the lowest-ranked worker it could give its place away (signed workers are kept)
    lowest: dict[str, tuple[int, int]] = {}
    for post, holders in held_by.items():
        p = m.posts.get(post)
        free_to_go = [m.priority(p, h) for h in holders if h.signed != post] if p is not None else []
        if free_to_go:
            lowest[post] = max(free_to_go)
    use = _dorm_use(m)
    # a group goes together: a member whose others hold posts at a site may move only within it
    group_at: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for w_id, post in m.held.items():
        gw, gp = m.workers.get(w_id), m.posts.get(post)
        if gw is not None and gp is not None and gw.group is not None:
            group_at[gw.group].append((w_id, gp.site))
    pairs: list[tuple[str, str]] = []
    sure = maybe = 0
    for w in m.sc.workers:
        if w.signed is not None or w.screening != "cleared" or m.unmatched.get(w.id) in EXCUSED:
            continue
        tied = {site for other, site in group_at.get(w.group or "", []) if other != w.id}
        pos = m.position(w)
        cur = m.held.get(w.id)
        cur_post = m.posts.get(cur) if cur is not None else None
        worst = len(pos) + 1
        # a post the worker may not take counts as having none
        cur_pos = pos.get(cur_post.id, worst) if cur_post is not None and m.acceptable(w, cur_post) != NO else worst
        for p in m.order_of(w):
            if pos[p.id] >= cur_pos or p.id == cur:
                continue
            if tied and p.site not in tied:
                continue
            ok = m.acceptable(w, p)
            if ok == NO:
                continue
            holders = held_by.get(p.id, [])
            free = len(holders) < p.openings and (not p.dorm or _bed_free(m, use, p.site, w))
            above = p.id in lowest and m.priority(p, w) < lowest[p.id]
            if not (free or above):
                continue
            sure += ok == YES
            maybe += ok == MAYBE
            if m.nominal(w, p):
                pairs.append((w.id, p.id))
    return pairs, sure, sure + maybe


def blocking_pairs_of(sc: Scenario, plan: Plan, roads: Roads) -> list[tuple[str, str]]:
    """(worker id, post id) of every blocking pair of the plan's match."""
    return _blocking(Matching(sc, plan, roads))[0]


# ------------------------------------------------------------------ derived orders


def derived_orders(sc: Scenario, plan: Plan, out: Optional[list[Violation]] = None) -> list[Order]:
    """One order per ``Match.order`` id, as the other families check it: its workers' home county,
    agency and site, headcount = cleared = its matches, the latest earliest departure, the
    earliest ``start_by``, the earliest screening expiry. Inconsistencies go to ``out``
    (rule ``match_order``)."""
    if not plan.matches:
        return []
    workers = {w.id: w for w in sc.workers}
    posts = {p.id: p for p in sc.posts}
    sites = {s.id for s in sc.sites}
    existing = {o.id for o in sc.orders}
    groups: dict[str, list[tuple[Worker, Post]]] = defaultdict(list)
    for mt in plan.matches:
        w, p = workers.get(mt.worker), posts.get(mt.post)
        if w is not None and p is not None:
            groups[mt.order].append((w, p))
    locs = [w.origin for ws in groups.values() for w, _ in ws]
    pts = iter(places.resolve_all(locs, sc.policy.county_snap_km) if locs else [])

    def add(message: str) -> None:
        if out is not None:
            out.append(Violation("match_order", None, message))

    result: list[Order] = []
    for oid, members in groups.items():
        counties: dict[Optional[str], list[str]] = defaultdict(list)
        for w, _ in members:
            pt = next(pts)
            if isinstance(pt, places.PlaceError):
                add(f"order {oid}: worker {w.id}'s origin cannot be resolved ({pt})")
                counties[None].append(w.id)
            else:
                counties[pt.county].append(w.id)
        if oid in existing:
            add(f"order {oid} of the matches is also a scenario order: a derived order needs its own id")
            continue
        known = [c for c in counties if c is not None]
        if len(known) > 1:
            add(f"order {oid} carries workers of {len(known)} home counties: "
                + "; ".join(f"{c}: {', '.join(ws[:5])}" for c, ws in counties.items() if c is not None))
        agencies = sorted({w.agency for w, _ in members})
        if len(agencies) > 1:
            add(f"order {oid} carries workers of agencies {', '.join(agencies)}: an order is one agency's")
        order_sites = sorted({p.site for _, p in members})
        if len(order_sites) > 1:
            add(f"order {oid} carries workers to sites {', '.join(order_sites)}: an order goes to one site")
        if not known or order_sites[0] not in sites:
            continue
        expiries = [w.screening_valid_until for w, _ in members if w.screening_valid_until is not None]
        earliest: datetime = max(w.earliest_departure for w, _ in members)
        result.append(Order.model_construct(
            id=oid, agency=members[0][0].agency, origin=Location(county=known[0]), site=order_sites[0],
            headcount=len(members), cleared=len(members), failed=0, earliest_departure=earliest,
            arrive_by=min(p.start_by for _, p in members),
            screening_valid_until=min(expiries) if expiries else None, screening_batches=None, note=None))
    return result


# ------------------------------------------------------------------ the rules


def check_match(f: Facts) -> None:
    """The ``matching`` family on the facts' scenario, its derived orders left out."""
    sc = f.sc.model_copy(update={"orders": [o for o in f.sc.orders if o.id not in f.derived]}) if f.derived else f.sc
    f.out.extend(check_matching(sc, f.plan, f.roads, f))


def check_matching(sc: Scenario, plan: Plan, roads: Roads, facts: Optional[Facts] = None) -> list[Violation]:
    """Every match-and-move rule on ``plan``'s matches for ``sc`` (the scenario as given, without
    derived orders). ``facts`` is not needed; accepted so callers holding one can pass it."""
    del facts
    out: list[Violation] = []
    if not sc.workers and not sc.posts and not plan.matches and not plan.unmatched \
            and plan.summary.matching is None:
        return out

    def add(rule: str, message: str) -> None:
        out.append(Violation(rule, None, message))

    m = Matching(sc, plan, roads)
    _matches(m, add)
    _unmatched(m, add)
    _capacity(m, add)
    pairs, lo, hi = _blocking(m)
    budget = sc.policy.match_blocking_pairs
    if lo > budget:
        shown = ", ".join(f"{w}–{p}" for w, p in pairs[:10]) + (f" and {len(pairs) - 10} more" if len(pairs) > 10 else "")
        add("blocking_pairs", f"{lo} blocking pair(s), more than policy.match_blocking_pairs = {budget}: {shown}")
    _summary(m, add, lo, hi)
    derived_orders(sc, plan, out)
    return out


def _matches(m: Matching, add: Add) -> None:
    """Each match: known worker and post, once per worker, at the post's site, acceptable, the
    worker cleared, a signed worker at their post."""
    for mt in m.plan.matches:
        w, p = m.workers.get(mt.worker), m.posts.get(mt.post)
        if w is None:
            add("match_unknown", f"match of unknown worker {mt.worker!r} to post {mt.post!r}")
        if p is None:
            add("match_unknown", f"worker {mt.worker} is matched to unknown post {mt.post!r}")
        if w is None or p is None:
            continue
        if mt.site != p.site:
            add("match_site", f"worker {w.id} is matched to post {p.id} at site {mt.site!r}, but the post is at "
                f"site {p.site!r}")
        if w.screening != "cleared":
            add("match_screening", f"worker {w.id} is matched to post {p.id}, but their screening is {w.screening}")
        if w.signed is not None:
            if p.id != w.signed:
                add("match_signed", f"worker {w.id} signed for post {w.signed}, but is matched to post {p.id}")
            continue  # kept, acceptable or not
        why = m.why_not(w, p)
        if why is None and m.acceptable(w, p) == NO:
            slack = m.arrival_slack(w, p)
            ride = m.ride_minutes(w, p)
            if not math.isfinite(ride):
                why = f"worker {w.id}'s home or site {p.site} cannot be placed, so no ride reaches it"
            elif ride > m.p.max_ride_hours * 60.0 + ARRIVAL_TOL.total_seconds() / 60.0:
                why = (f"the fastest legal ride from worker {w.id}'s home county to site {p.site} takes "
                       f"{ride / 60:.1f} h, more than {m.p.max_ride_hours:g} h")
            else:
                when = p.start_by - slack
                why = (f"worker {w.id} can reach site {p.site} at {fmt(when)} at the earliest (leaving "
                       f"{fmt(w.earliest_departure)}, {ride / 60:.1f} h of fastest legal ride), after post "
                       f"{p.id}'s start {fmt(p.start_by)}")
        if why is not None:
            add("match_unacceptable", f"worker {w.id} to post {p.id}: {why}")
    for w_id, ms in m.matches.items():
        if len(ms) > 1:
            add("match_twice", f"worker {w_id} is matched {len(ms)} times (posts {', '.join(x.post for x in ms)})")
    # signed workers keep their post unless they cannot travel at all
    for w in m.sc.workers:
        if w.signed is not None and w.screening == "cleared" and w.id not in m.held \
                and m.unmatched.get(w.id) not in EXCUSED:
            add("match_signed", f"worker {w.id} signed for post {w.signed}, but is not matched to it")


def _unmatched(m: Matching, add: Add) -> None:
    """Every worker in exactly one of matches / unmatched; reasons known and true."""
    seen: dict[str, int] = defaultdict(int)
    for u in m.plan.unmatched:
        seen[u.worker] += 1
        w = m.workers.get(u.worker)
        if w is None:
            add("match_unknown", f"unmatched lists unknown worker {u.worker!r}")
            continue
        if u.reason not in UNMATCHED_REASONS:
            add("match_reason", f"worker {w.id}: unknown unmatched reason {u.reason!r} "
                f"(known: {', '.join(UNMATCHED_REASONS)})")
        if w.screening != "cleared" and u.reason != f"screening_{w.screening}":
            add("match_reason", f"worker {w.id}'s screening is {w.screening}, but they are unmatched as {u.reason}")
        elif w.screening == "cleared" and u.reason in ("screening_pending", "screening_failed"):
            add("match_reason", f"worker {w.id} cleared screening, but is unmatched as {u.reason}")
        if u.reason == "no_acceptable_post":
            ok = [p.id for p in m.posts.values() if m.acceptable(w, p) == YES]
            if ok:
                add("match_reason", f"worker {w.id} is unmatched as no_acceptable_post, but post(s) "
                    f"{', '.join(ok[:5])} are acceptable to them")
    for w_id, n in seen.items():
        if n > 1 and w_id in m.workers:
            add("match_accounting", f"worker {w_id} is listed {n} times as unmatched")
    for w in m.sc.workers:
        matched, unmatched = w.id in m.matches, w.id in seen
        if matched and unmatched:
            add("match_accounting", f"worker {w.id} is both matched (post {m.held[w.id]}) and unmatched "
                f"({m.unmatched[w.id]})")
        elif not matched and not unmatched:
            add("match_accounting", f"worker {w.id} is neither matched nor unmatched")


def _capacity(m: Matching, add: Add) -> None:
    """Openings per post, dormitory beds per site, groups at one site."""
    per_post: dict[str, int] = defaultdict(int)
    for mt in m.plan.matches:
        per_post[mt.post] += 1
    for post, n in per_post.items():
        p = m.posts.get(post)
        if p is not None and n > p.openings:
            add("match_openings", f"post {p.id} has {n} workers matched, more than its {p.openings} opening(s)")
    for site_id, used in sorted(_dorm_use(m).items()):
        site = m.sites.get(site_id)
        beds = site.dorm_beds if site is not None else None
        if beds is None:
            continue
        if isinstance(beds, int):
            n = sum(used.values())
            if n > beds:
                add("match_dorm", f"site {site_id}: {n} workers matched to its dorm posts, more than its {beds} beds")
            continue
        for g, n in sorted(used.items(), key=lambda x: x[0] or ""):
            if g is None:
                add("match_dorm", f"site {site_id}: {n} worker(s) of no stated gender matched to its dorm posts, "
                    f"whose beds are by gender")
            elif n > beds.get(g, 0):  # type: ignore[call-overload]
                add("match_dorm", f"site {site_id}: {n} {g} workers matched to its dorm posts, more than its "
                    f"{beds.get(g, 0)} {g} beds")  # type: ignore[call-overload]
    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for w_id, post in m.held.items():
        w, p = m.workers.get(w_id), m.posts.get(post)
        if w is not None and p is not None and w.group is not None:
            groups[w.group][p.site].append(w_id)
    for g, at in sorted(groups.items()):
        if len(at) > 1:
            add("match_group", f"group {g} is split over sites: "
                + "; ".join(f"{s}: {', '.join(ws)}" for s, ws in sorted(at.items())))


def _summary(m: Matching, add: Add, lo: int, hi: int) -> None:
    """The summary's matching figures are what the matches give."""
    s = m.plan.summary.matching
    if s is None:
        if m.sc.workers:
            add("match_summary", "the plan matches workers but its summary has no matching figures")
        return
    openings = sum(p.openings for p in m.sc.posts)
    matched = len(m.plan.matches)
    if s.workers != len(m.sc.workers):
        add("match_summary", f"summary matching.workers is {s.workers}, the scenario registers {len(m.sc.workers)}")
    if s.matched != matched:
        add("match_summary", f"summary matching.matched is {s.matched}, the plan has {matched} match(es)")
    fill = matched / openings if openings else 0.0
    if abs(s.fill_rate - fill) > RATIO_TOL:
        add("match_summary", f"summary matching.fill_rate is {s.fill_rate:g}, but {matched} matched / {openings} "
            f"openings = {fill:.4f}")
    if not lo <= s.blocking_pairs <= hi:
        want = str(lo) if lo == hi else f"{lo}–{hi} (arrival at the margin)"
        add("match_summary", f"summary matching.blocking_pairs is {s.blocking_pairs}, the match has {want}")
    ranks = [m.rank(m.workers[mt.worker], mt.post) for mt in m.plan.matches if mt.worker in m.workers]
    if ranks:
        first_hi = sum(1 for a, _ in ranks if a == 1) / len(ranks)
        first_lo = sum(1 for _, b in ranks if b == 1) / len(ranks)
        mean_lo = sum(a for a, _ in ranks) / len(ranks)
        mean_hi = sum(b for _, b in ranks) / len(ranks)
    else:
        first_lo = first_hi = mean_lo = mean_hi = 0.0
    if not first_lo - RATIO_TOL <= s.first_choice_share <= first_hi + RATIO_TOL:
        add("match_summary", f"summary matching.first_choice_share is {s.first_choice_share:g}, the matches give "
            f"{_span(first_lo, first_hi)}")
    if not mean_lo - RATIO_TOL <= s.mean_choice_rank <= mean_hi + RATIO_TOL:
        add("match_summary", f"summary matching.mean_choice_rank is {s.mean_choice_rank:g}, the matches give "
            f"{_span(mean_lo, mean_hi)}")


def _span(lo: float, hi: float) -> str:
    return f"{lo:.4f}" if abs(hi - lo) < 1e-12 else f"{lo:.4f}–{hi:.4f} (arrival at the margin)"
