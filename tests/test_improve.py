"""Tests of the local search on pooled trips (planner._improve) and of the allocation steps that
follow it: leftovers seated on trips with room, shared trips allocated before a county's own."""

from __future__ import annotations

import itertools
import time
from collections import Counter

from planner._allocate import allocate, fit_in
from planner._improve import improve
from planner._pricing import best_route
from planner._trips import AllocatedTrip as Allocated
from planner._trips import DraftTrip as Draft
from planner.eligibility import Eligible
from planner.problem import compile_scenario


def _setup(tiny, counties, n):
    orders = [tiny.order(f"O{i}", c, n) for i, c in enumerate(counties)]
    data = compile_scenario(tiny.scenario(orders))
    keys = {c: (data.orders[i].place, 0, data.orders[i].site) for i, c in enumerate(counties)}
    return data, keys


def _draft(data, loads):
    places = sorted({k[0] for k, _ in loads})
    sites = sorted({k[2] for k, _ in loads})
    km, p, s = best_route(data, data.vehicles[0].depot, places, sites)
    return Draft(0, p, s, tuple(loads), km)


def _riders(drafts):
    out = Counter()
    for d in drafts:
        for k, n in d.loads:
            out[k] += n
    return out


def _valid(data, drafts):
    for d in drafts:
        assert d.riders <= data.vehicles[d.vehicle].capacity
        assert len(d.pickups) <= data.max_stops
        assert d.km == best_route(data, data.vehicles[0].depot, sorted(d.pickups), sorted(d.sites))[0]


def test_improve_re_pairs_far_and_near_counties(tiny):
    """恩阳区 (far) riding with 新郑 (near) and 西平 with 中牟 is a bad cut: the search must find a
    cut at least as short as the best split of the four counties into two coaches of 50."""
    data, key = _setup(tiny, [tiny.ENYANG, tiny.XINZHENG, tiny.XIPING, tiny.ZHONGMOU], 25)
    bad = [_draft(data, [(key[tiny.ENYANG], 25), (key[tiny.XINZHENG], 25)]),
           _draft(data, [(key[tiny.XIPING], 25), (key[tiny.ZHONGMOU], 25)])]
    got = improve(data, bad, [0], "km", deadline=time.monotonic() + 5)
    _valid(data, got)
    assert _riders(got) == _riders(bad)
    places = sorted(key)
    best = min(sum(_draft(data, [(key[c], 25) for c in group]).km for group in (g1, [c for c in places if c not in g1]))
               for g1 in map(list, itertools.combinations(places, 2)))  # 3 + 1 would seat 75
    assert sum(d.km for d in got) <= best + 1e-6 < sum(d.km for d in bad)
    together = next(d for d in got if key[tiny.ENYANG] in dict(d.loads))
    assert key[tiny.XINZHENG] not in dict(together.loads)


def test_improve_empties_trips_into_one_coach(tiny):
    """Three near counties of 17 riders each on three coaches: one coach carries them all."""
    data, key = _setup(tiny, [tiny.XINZHENG, tiny.ZHONGMOU, tiny.WEISHI], 17)
    apart = [_draft(data, [(k, 17)]) for k in key.values()]
    got = improve(data, apart, [0], "km", deadline=time.monotonic() + 5)
    _valid(data, got)
    assert len(got) == 1 and got[0].riders == 51
    assert got[0].km < sum(d.km for d in apart)


def test_improve_keeps_riders_apart_whose_boarding_windows_do_not_meet(tiny):
    """Two near counties whose boarding windows do not overlap stay on coaches of their own;
    with overlapping windows they share one."""
    data, key = _setup(tiny, [tiny.XINZHENG, tiny.ZHONGMOU], 20)
    apart = [_draft(data, [(k, 20)]) for k in key.values()]
    a, b = key.values()
    closed = improve(data, apart, [0], "km", deadline=time.monotonic() + 5,
                     windows={a: (0, 600), b: (900, 1500)})
    assert len(closed) == 2
    open_ = improve(data, apart, [0], "km", deadline=time.monotonic() + 5,
                    windows={a: (0, 1200), b: (300, 1500)})
    assert len(open_) == 1 and open_[0].riders == 40


def test_leftovers_take_free_seats_only_where_the_windows_meet(tiny):
    """A leftover of 5 from 中牟 boards a 新郑 trip with 30 riders when their windows overlap, and
    goes its own way (nothing seated) when they do not."""
    data, _ = _setup(tiny, [tiny.XINZHENG, tiny.ZHONGMOU], 30)
    x, z = data.orders[0], data.orders[1]
    trip = Allocated(0, (x.place,), (x.site,), 0, {x.place: [(0, 30)]}, 0, 1000)
    jobs = [trip]
    assert fit_in(data, jobs, Eligible(1, 5, 0, 100, 2000), 5, [0]) == 5
    assert set(jobs[0].board) == {x.place, z.place} and jobs[0].riders == 35
    assert (jobs[0].lo, jobs[0].hi) == (100, 1000)
    jobs = [trip]
    assert fit_in(data, jobs, Eligible(1, 5, 0, 1500, 2000), 5, [0]) == 0
    assert jobs == [trip]


def test_shared_trips_are_allocated_before_a_countys_own_coach(tiny):
    """新郑 sends a full coach and 4 riders on a trip with 西平, whose window closes at 950. Its
    order O1 (boards from 0) must take the shared seats: O3 (boards from 900) could not board
    at 新郑 and still leave time to reach 西平 by 950."""
    orders = [tiny.order("O1", tiny.XINZHENG, 29), tiny.order("O2", tiny.XIPING, 40),
              tiny.order("O3", tiny.XINZHENG, 28)]
    data = compile_scenario(tiny.scenario(orders))
    kx = (data.orders[0].place, 0, data.orders[0].site)
    ky = (data.orders[1].place, 0, data.orders[1].site)
    full = _draft(data, [(kx, 53)])
    shared = _draft(data, [(ky, 40), (kx, 4)])
    eligible = [Eligible(0, 29, 0, 0, 1000), Eligible(1, 40, 0, 0, 950), Eligible(2, 28, 0, 900, 2000)]
    allocation = allocate(data, [full, shared], eligible)
    jobs, leftovers = allocation.trips, allocation.leftovers
    assert leftovers == []
    assert sorted(j.riders for j in jobs) == [44, 53]
    pooled = next(j for j in jobs if len(j.pickups) == 2)
    assert pooled.board[data.orders[0].place] == [(0, 4)]
