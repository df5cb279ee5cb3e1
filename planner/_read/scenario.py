"""A scenario as contract-v1 JSON, and the checks every scenario file gets once its items are
read: policy and name, unknown top-level keys, duplicate ids, known depots and sites, driver
pools, every place resolved in one batch; then one InputError with every problem, or the
validated scenario."""

from __future__ import annotations

import json
from typing import Optional

from pydantic import ValidationError

from ..contract import (
    Depot,
    Location,
    Order,
    Policy,
    Post,
    Region,
    Scenario,
    Station,
    TrainOffer,
    Trip,
    VehicleType,
    Worker,
    driver_pool_problems,
    train_problems,
    unknown_field_message,
)
from ..errors import InputError, Problem
from .places import _place_problems, _site_problems
from .problems import (
    _ID_SECTIONS,
    _MODELS,
    _TOP_LEVEL,
    _Item,
    _Problems,
    _short,
    _tag,
    _validate,
    _where,
    validation_problems,
)


def _load_json(data: bytes, filename: str) -> Scenario:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(filename, "file", f"not UTF-8 text (byte {exc.start})")]
                         ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(
            filename, "json", f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
        ) from None
    if not isinstance(doc, dict):
        raise InputError([Problem(filename, "json",
                                  f"a scenario is a JSON object, got {type(doc).__name__}")])
    problems = _Problems()
    items: dict[str, list[_Item]] = {}
    for section in _MODELS:
        raw = doc.get(section, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.add(section, -1, Problem(section, section,
                                              f"expected a list, got {type(raw).__name__}"))
            raw = []
        items[section] = [_Item(section, i, _where(f"{section}[{i}]", r, section), r)
                          for i, r in enumerate(raw)]
        for item in items[section]:
            _validate(item, problems)
    policy = doc.get("policy", {})
    if policy is None:
        policy = {}
    rest = {k: v for k, v in doc.items() if k not in _MODELS and k != "policy"}
    return _finish(items, policy, "policy", rest, "scenario", problems)


def _finish(items: dict[str, list[_Item]], policy_raw: object, policy_where: str,
            rest: dict, scenario_where: str, problems: _Problems) -> Scenario:
    """Validate policy and name, cross-check ids and references, resolve places, build."""
    policy: Optional[Policy] = None
    if not isinstance(policy_raw, dict):
        problems.add("policy", 0, Problem(policy_where, "policy",
                                          f"expected an object, got {type(policy_raw).__name__}"))
    else:
        try:
            policy = Policy.model_validate(policy_raw)
        except ValidationError as exc:
            problems.extend("policy", 0, validation_problems(exc, policy_where, model=Policy))
    for key in rest:
        if key not in _TOP_LEVEL:
            problems.add("scenario", 0, Problem(scenario_where, key, unknown_field_message(Scenario, (key,))))
    fixed = rest.get("fixed")
    if fixed is not None:
        if not isinstance(fixed, list):
            problems.add("scenario", 0, Problem(scenario_where, "fixed", "expected a list of trips"))
        else:
            for i, trip in enumerate(fixed):
                try:
                    Trip.model_validate(trip)
                except ValidationError as exc:
                    problems.extend("scenario", 0, validation_problems(exc, f"fixed[{i}]"))
    if "name" in rest and not isinstance(rest["name"], str):
        problems.add("scenario", 0, Problem(scenario_where, "name",
                                            f"expected text, got {_short(rest['name'])}"))

    # duplicate ids (on raw ids, so an item with another mistake still counts)
    ids: dict[str, set[str]] = {}
    for section in _ID_SECTIONS:
        first: dict[str, str] = {}
        for item in items.get(section, []):
            raw_id = item.raw.get("id") if isinstance(item.raw, dict) else None
            if raw_id is None or isinstance(raw_id, (dict, list, bool)):
                continue
            key = _tag(raw_id)
            if key in first:
                problems.add(section, item.row, Problem(
                    item.where, "id", f"duplicate id {key!r} (first at {first[key]})"))
            else:
                first[key] = item.where
        ids[section] = set(first)

    pools = [it.obj for it in items.get("depots", []) if isinstance(it.obj, Depot)]
    types = [it.obj for it in items.get("fleet", []) if isinstance(it.obj, VehicleType)]
    for text in driver_pool_problems(pools, types):
        where, fld, message = text.split(": ", 2)
        section = "depots" if where.startswith("depots") else "fleet"
        problems.add(section, 0, Problem(where, fld, message))

    stations = [it.obj for it in items.get("stations", []) if isinstance(it.obj, Station)]
    trains = [it.obj for it in items.get("trains", []) if isinstance(it.obj, TrainOffer)]
    for text in train_problems(stations, trains):
        where, fld, message = text.split(": ", 2)
        if "duplicate id" in message:
            continue  # reported above on the raw ids
        problems.add("trains", 0, Problem(where, fld, message))

    known_depots = ", ".join(sorted(ids["depots"])) or "none"
    for item in items.get("fleet", []):
        vt = item.obj
        if isinstance(vt, VehicleType) and vt.depot not in ids["depots"]:
            problems.add("fleet", item.row, Problem(
                item.where, "depot", f"unknown depot {vt.depot!r} (known depots: {known_depots})"))

    order_items = [it for it in items.get("orders", []) if isinstance(it.obj, Order)]
    by_where = {it.where: it for it in order_items}
    for p in _site_problems([it.obj for it in order_items], ids["sites"],  # type: ignore[misc]
                            [it.where for it in order_items]):
        problems.add("orders", by_where[p.where].row, p)

    known_sites = ", ".join(sorted(ids["sites"])) or "none"
    for item in items.get("posts", []):
        post = item.obj
        if isinstance(post, Post) and post.site not in ids["sites"]:
            problems.add("posts", item.row, Problem(item.where, "site",
                                                    f"unknown site {post.site!r} (known sites: {known_sites})"))
    for item in items.get("workers", []):
        w = item.obj
        if not isinstance(w, Worker):
            continue
        for c in w.choices:
            if c not in ids["posts"]:
                problems.add("workers", item.row, Problem(item.where, "choices", f"unknown post {c!r}"))
        if w.signed is not None and w.signed not in ids["posts"]:
            problems.add("workers", item.row, Problem(item.where, "signed", f"unknown post {w.signed!r}"))

    # every place in one batch
    entries: list[tuple[str, str, Location]] = []
    owners: list[_Item] = []
    for section, prefix in (("sites", "location"), ("depots", "location"), ("stations", "location")):
        for it in items.get(section, []):
            if it.obj is not None:
                entries.append((it.where, prefix, it.obj.location))  # type: ignore[attr-defined]
                owners.append(it)
    for it in items.get("regions", []):
        region = it.obj
        if isinstance(region, Region):
            try:
                loc = Location(county=region.county)
            except ValidationError as exc:
                problems.extend("regions", it.row, [
                    Problem(it.where, "county", p.message) for p in validation_problems(exc, it.where)])
                continue
            entries.append((it.where, "", loc))
            owners.append(it)
    for it in order_items:
        entries.append((it.where, "origin", it.obj.origin))  # type: ignore[union-attr]
        owners.append(it)
    for it in items.get("workers", []):
        if isinstance(it.obj, Worker):
            entries.append((it.where, "origin", it.obj.origin))
            owners.append(it)
    rows_by_where = {it.where: it for it in owners}
    snap = policy.county_snap_km if policy is not None else None
    for p in _place_problems(entries, snap):
        it = rows_by_where[p.where]
        problems.add(it.section, it.row, p)

    if problems:
        raise InputError(problems.sorted())
    try:
        return Scenario.model_validate({
            **rest,
            **{section: [it.obj for it in items.get(section, [])] for section in _MODELS},
            "policy": policy,
        })
    except ValidationError as exc:  # pragma: no cover - every rule is checked above
        raise InputError(validation_problems(exc, scenario_where)) from None
