"""Trains: every train load in a car of an offered train, cars not overfull and one cohort each,
trains run only with their fewest riders, every worker's chain whole (feeder drop = boarding,
alighting = last-mile pickup, per order and station), connections kept at both stations, the
door-to-door ride within the limit, and the summary's train figures.

Rules ``train_load``, ``train_seats``, ``train_car_cohort``, ``train_min_riders``, ``train_chain``,
``connection``, ``cohort`` (a car's cohort against its feeders'), ``ride_time`` (door to door),
``summary``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from ..contract import as_shanghai
from .common import TOL, Facts, fmt, hours


def check_trains(f: Facts) -> None:
    p = f.p
    riders: dict[str, int] = defaultdict(int)
    car_load: dict[tuple[str, int], int] = defaultdict(int)
    car_cohorts: dict[tuple[str, int], set[str]] = defaultdict(set)
    boards: dict[tuple[str, str], int] = defaultdict(int)  # (order, station) → workers boarding a train there
    alights: dict[tuple[str, str], int] = defaultdict(int)
    rides: dict[tuple[str, str], set[str]] = defaultdict(set)  # (order, station) → trains boarded or left there
    row_cohort: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in f.plan.train_loads:
        t = f.trains.get(row.train)
        if t is None:
            f.add("train_load", None, f"train load of order {row.order} on unknown train {row.train!r}")
            continue
        if row.order not in f.orders:
            f.add("train_load", None, f"train {t.id} carries {row.count} of unknown order {row.order!r}")
        if row.car >= t.cars:
            f.add("train_load", None, f"train {t.id} car {row.car}: the train has {t.cars} car(s), numbered 0..{t.cars - 1}")
        if row.board_at not in t.boarding():
            f.add("train_load", None, f"train {t.id}: order {row.order} boards at {row.board_at!r}, not one of its "
                  f"boarding stations ({', '.join(t.boarding())})")
        if row.alight_at not in t.alighting():
            f.add("train_load", None, f"train {t.id}: order {row.order} alights at {row.alight_at!r}, not one of its "
                  f"alighting stations ({', '.join(t.alighting())})")
        riders[t.id] += row.count
        car_load[(t.id, row.car)] += row.count
        car_cohorts[(t.id, row.car)].add(row.cohort)
        boards[(row.order, row.board_at)] += row.count
        alights[(row.order, row.alight_at)] += row.count
        rides[(row.order, row.board_at)].add(t.id)
        rides[(row.order, row.alight_at)].add(t.id)
        row_cohort[(row.order, row.board_at)].add(row.cohort)
    for (tid, car), n in sorted(car_load.items()):
        t = f.trains[tid]
        if n > t.seats_per_car:
            f.add("train_seats", None, f"train {tid} car {car} carries {n} workers, more than its {t.seats_per_car} seats")
        if len(car_cohorts[(tid, car)]) > 1:
            f.add("train_car_cohort", None, f"train {tid} car {car} carries cohorts "
                  f"{', '.join(sorted(car_cohorts[(tid, car)]))}: a car carries one cohort")
    for tid, n in sorted(riders.items()):
        t = f.trains[tid]
        if 0 < n < t.min_riders:
            f.add("train_min_riders", None, f"train {tid} runs with {n} riders, fewer than its {t.min_riders}")
    _chains(f, boards, alights, rides, row_cohort)
    _summary(f, riders)
    del p


def _chains(f: Facts, boards: dict[tuple[str, str], int], alights: dict[tuple[str, str], int],
            rides: dict[tuple[str, str], set[str]], row_cohort: dict[tuple[str, str], set[str]]) -> None:
    """Per order and station the counts match; connections; door-to-door ride.

    Workers of one order are alike, so connections and rides are judged by the best pairing: at a
    boarding station, for every train, the workers on it and on trains leaving before it must have
    been dropped ``station_minutes`` before it leaves; at an alighting station, the workers picked
    up by every time must have arrived on trains ``station_minutes`` before; door to door, the
    i-th earliest feeder boarding of an order pairs with its i-th earliest last-mile drop."""
    wait = timedelta(minutes=f.p.station_minutes)
    dropped: dict[tuple[str, str], list[tuple[datetime, int, str]]] = defaultdict(list)
    picked: dict[tuple[str, str], list[tuple[datetime, int, str]]] = defaultdict(list)
    boarded_at: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    dropped_at: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    by_train: set[str] = {o for o, _ in boards}
    for tf in f.trips:
        trip = tf.trip
        for i, s in enumerate(trip.stops):
            tm = tf.times[i]
            station = s.place.station
            if station is None:
                if s.kind == "pickup" and tm.depart is not None and trip.purpose == "feeder":
                    boarded_at.update({ld.order: boarded_at[ld.order] + [(tm.depart, ld.count)] for ld in s.board})
                if s.kind == "drop" and tm.arrive is not None and trip.purpose == "last_mile":
                    dropped_at.update({ld.order: dropped_at[ld.order] + [(tm.arrive, ld.count)] for ld in s.alight})
                continue
            for ld in s.alight:
                if tm.arrive is not None:
                    dropped[(ld.order, station)].append((tm.arrive, ld.count, trip.id))
                if trip.cohort not in row_cohort.get((ld.order, station), {trip.cohort}):
                    f.add("cohort", trip.id, f"feeds order {ld.order} at {station} as cohort {trip.cohort}, but its "
                          f"train seats are {', '.join(sorted(row_cohort[(ld.order, station)]))}")
            for ld in s.board:
                if tm.depart is not None:
                    picked[(ld.order, station)].append((tm.depart, ld.count, trip.id))
    seats = _seats_by(f)
    for key in sorted(set(boards) | set(dropped)):
        n = sum(c for _, c, _ in dropped.get(key, []))
        if boards.get(key, 0) != n:
            f.add("train_chain", None, f"order {key[0]} at {key[1]}: feeders drop {n}, trains board {boards.get(key, 0)}")
        # every train's riders, with those of the trains leaving before it, were dropped in time
        order, station = key
        leaving = sorted((as_shanghai(f.trains[t].call(station).depart), seats[(t, order, station, "board")], t)  # type: ignore[arg-type]
                         for t in rides.get(key, ()) if station in f.trains[t].boarding())
        need = 0
        for dep, m, tid in leaving:
            need += m
            ready = sum(c for a, c, _ in dropped.get(key, []) if a <= dep - wait + TOL)
            if ready < need:
                late = max((x for x in dropped.get(key, []) if x[0] > dep - wait + TOL), default=None)
                f.add("connection", late[2] if late else None, f"order {order} at {station}: {need} worker(s) ride "
                      f"trains leaving by {fmt(dep)} (train {tid}), but only {ready} were dropped "
                      f"{f.p.station_minutes:g} min before")
                break
    for key in sorted(set(alights) | set(picked)):
        n = sum(c for _, c, _ in picked.get(key, []))
        if alights.get(key, 0) != n:
            f.add("train_chain", None, f"order {key[0]} at {key[1]}: trains let {alights.get(key, 0)} alight, last "
                  f"miles pick up {n}")
        order, station = key
        arriving = sorted((as_shanghai(f.trains[t].call(station).arrive), seats[(t, order, station, "alight")])  # type: ignore[arg-type]
                          for t in rides.get(key, ()) if station in f.trains[t].alighting())
        taken = 0
        for dep, c, tid in sorted(picked.get(key, [])):
            taken += c
            came = sum(m for arr, m in arriving if arr <= dep - wait + TOL)
            if came < taken:
                f.add("connection", tid, f"leaves {station} {fmt(dep)} with order {order}: {taken} worker(s) picked up "
                      f"by then, but only {came} arrived on trains {f.p.station_minutes:g} min before")
                break
    if f.p.time_rules:
        limit = timedelta(hours=f.p.max_ride_hours)
        for order in sorted(by_train):
            starts = sorted(t for t, c in boarded_at.get(order, []) for _ in range(c))
            ends = sorted(t for t, c in dropped_at.get(order, []) for _ in range(c))
            worst = max((b - a for a, b in zip(starts, ends)), default=timedelta(0))
            if worst > limit + TOL:
                f.add("ride_time", None, f"order {order} travels by train: paired earliest first, a worker boards "
                      f"the feeder and leaves the last mile {hours(worst.total_seconds())} apart, more than "
                      f"{f.p.max_ride_hours:g} h door to door")


def _seats_by(f: Facts) -> dict[tuple[str, str, str, str], int]:
    """Workers per (train, order, station, board|alight) in the plan's train loads."""
    out: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for row in f.plan.train_loads:
        out[(row.train, row.order, row.board_at, "board")] += row.count
        out[(row.train, row.order, row.alight_at, "alight")] += row.count
    return out


def _summary(f: Facts, riders: dict[str, int]) -> None:
    s = f.plan.summary
    by_coach = sum(ld.count for t in f.plan.trips if t.purpose == "direct"
                   for st in t.stops if st.place.station is None for ld in st.board)
    want = {"coach": by_coach, "train": sum(riders.values())}
    if s.workers_by_mode is not None and dict(s.workers_by_mode) != want:
        f.add("summary", None, f"summary workers_by_mode is {dict(s.workers_by_mode)}, the plan gives {want}")
    run = [tid for tid, n in riders.items() if n > 0]
    if s.trains_run != len(run):
        f.add("summary", None, f"summary trains_run is {s.trains_run}, the plan runs {len(run)}")
    cost = sum(f.trains[tid].fixed_cost + f.trains[tid].cost_per_seat * riders[tid] for tid in run)
    if abs(s.train_cost - cost) > 0.005 * cost + 1:
        f.add("summary", None, f"summary train_cost is {s.train_cost:g}, its trains cost {cost:.2f}")
    total = s.cost + s.train_cost
    if s.cost_lower_bound < 0 or s.cost_lower_bound > total + 1:
        f.add("lower_bound", None, f"cost_lower_bound {s.cost_lower_bound:g} is not a bound of the plan's cost "
              f"{total:.2f} (coaches and trains)")
