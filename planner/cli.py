"""The planner's commands: ``fangang plan``, ``fangang check`` and ``fangang suggest-trains``.

Exit codes: 0 success; 1 the plan breaks a rule (``check``); 2 bad input (the message names the
item and the field).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .contract import Plan
from .errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="fangang: plan the coaches that bring workers back to the park.")
err = Console(stderr=True)


def _fail_input(e: InputError) -> None:
    err.print(f"[bold red]invalid input[/] ({len(e.problems)} problem{'s' if len(e.problems) != 1 else ''}):")
    for p in e.problems:
        err.print(f"  {p}", markup=False, highlight=False)
    raise typer.Exit(code=InputError.exit_code)


def _load(path: Path):
    from .read import load_scenario

    try:
        return load_scenario(path)
    except InputError as e:
        _fail_input(e)


def summary_table(plan: Plan, lang: str = "zh") -> Table:
    """The plan's headline figures as a rich table, in Chinese (``lang="en"``: English)."""
    from .labels import REASONS, SUMMARY, word

    s = plan.summary
    t = Table(title=f"{word(SUMMARY, 'title', lang)} {plan.scenario}", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    rows = [
        ("workers requested", f"{s.workers_requested:,}"),
        ("workers eligible", f"{s.workers_eligible:,}"),
        ("workers planned", f"{s.workers_planned:,}"),
        ("trips", f"{s.trips:,}"),
        ("coaches used", f"{s.buses_used:,}"),
        ("coach-km", f"{s.km:,.1f}"),
        ("cost (yuan)", f"{s.cost:,.2f}"),
        ("lower bound (km)", f"{s.lower_bound_km:,.1f}"),
        ("km ÷ bound", f"{s.km / s.lower_bound_km:.3f}" if s.lower_bound_km else "–"),
    ]
    if s.lower_bound_km_sharp:
        rows += [("sharp bound (km)", f"{s.lower_bound_km_sharp:,.1f}"),
                 ("km ÷ sharp bound", f"{s.km / s.lower_bound_km_sharp:.3f}")]
    if s.workers_by_mode is not None:
        rows += [("workers by coach", f"{s.workers_by_mode.get('coach', 0):,}"),
                 ("workers by train", f"{s.workers_by_mode.get('train', 0):,}"),
                 ("trains run", f"{s.trains_run or 0:,}"),
                 ("train cost (yuan)", f"{s.train_cost or 0:,.2f}")]
        if s.cost_lower_bound:
            rows.append(("cost ÷ cost bound", f"{(s.cost + (s.train_cost or 0)) / s.cost_lower_bound:.3f}"))
    if s.worker_hours:
        rows.append(("hours on board mean / p95", f"{s.worker_hours.get('mean', 0):.1f} / {s.worker_hours.get('p95', 0):.1f}"))
    if s.night_boardings is not None:
        rows.append(("night boardings", f"{s.night_boardings:,}"))
    rows.append(("solve seconds", f"{plan.solver.seconds:.1f}"))
    rows = [(word(SUMMARY, k, lang), v) for k, v in rows]
    rows += _matching_rows(plan, lang)
    if plan.suggestions:
        rows.append((word(SUMMARY, "special trains suggested", lang), f"{len(plan.suggestions)} (fangang suggest-trains)"))
    reasons: Counter[str] = Counter()
    for u in plan.unassigned:
        reasons[u.reason] += u.count
    for reason, n in sorted(reasons.items()):
        label = word(REASONS, reason, lang)
        rows.append((f"{word(SUMMARY, 'unassigned', lang)}: {label}" + (f" ({reason})" if lang == "zh" else ""), f"{n:,}"))
    for k, v in rows:
        t.add_row(k, v)
    return t


def warning_line(code: str, message: str, lang: str = "zh") -> str:
    from .labels import WARNINGS, word

    head = "提醒" if lang == "zh" else "warning"
    return f"[bold yellow]{head}[/] {word(WARNINGS, code, lang)} ({code}): {message}"


LANG_HELP = "Language of the summary: zh (中文, default) or en."


@app.command()
def plan(
    scenario: Path = typer.Argument(..., help="Scenario file: contract-v1 JSON or an .xlsx workbook."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the plan (JSON)."),
    time_limit: float = typer.Option(30.0, "--time-limit",
                                     help="Seconds for the whole run: reading, solving, checking and writing."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same seed gives the same plan."),
    roads: Optional[str] = typer.Option(None, "--roads",
                                        help="Road km source: a from,to,km CSV or an OSRM base URL "
                                             "(the plan records it; `fangang check` measures with it)."),
    now: Optional[datetime] = typer.Option(None, "--now", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                                                                     "%Y-%m-%dT%H:%M", "%Y-%m-%d"],
                                           help="Plan nothing to leave before this time (Asia/Shanghai "
                                                "unless an offset is given); default: no limit."),
    check: bool = typer.Option(True, "--check/--no-check", help="Run the independent checker on the plan."),
    force: bool = typer.Option(False, "--force",
                               help="When the checker rejects the plan, still write it, as *.rejected.json."),
    lang: str = typer.Option("zh", "--lang", help=LANG_HELP),
) -> None:
    """Plan the coach runs for SCENARIO and write the plan to -o (only if the checker accepts it)."""
    started = time.monotonic()  # the time limit counts from here: reading, solving, checking, writing
    from .contract import as_shanghai
    from .network.roads import RoadSourceError, provider_for
    from .optimize import solve

    scen = _load(scenario)
    out = Console()
    try:
        provider = provider_for(roads, scen.policy.road_factor) if roads else None
    except (OSError, ValueError) as e:
        err.print(f"[bold red]invalid road-distance source[/] {roads}: {e}", highlight=False)
        raise typer.Exit(code=InputError.exit_code) from None
    with Progress(TextColumn("[bold]{task.fields[phase]:<11}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[cost]}"), TimeElapsedColumn(), console=out, transient=False) as bar:
        task = bar.add_task("solve", total=1.0, phase="reading", cost="")

        def progress(p) -> None:
            bar.update(task, completed=p.fraction, phase=p.phase,
                       cost="" if p.best_cost is None else f"cost {p.best_cost:,.0f}")

        try:
            result = solve(scen, time_limit=time_limit, seed=seed, progress=progress, distances=provider,
                           now=as_shanghai(now) if now is not None else None, started=started)
        except InputError as e:
            bar.stop()
            _fail_input(e)
        except RoadSourceError as e:  # an OSRM server gone or refusing mid-run, a road table unreadable
            bar.stop()
            err.print(f"[bold red]road source failed[/] {roads}: {e}", highlight=False)
            raise typer.Exit(code=InputError.exit_code) from None
    out.print(summary_table(result, lang))
    for w in result.warnings:
        err.print(warning_line(w.code, w.message, lang), highlight=False)
    text = result.model_dump_json(indent=1, by_alias=True, exclude_none=True)
    if check:
        from .check import check as run_check

        violations = run_check(scen, result)
        if violations:
            err.print(f"[bold red]the checker found {len(violations)} violation(s)[/]:")
            for v in violations[:50]:
                err.print(f"  {v}", markup=False)
            if force:
                rejected = output.with_name(output.stem + ".rejected.json")
                rejected.parent.mkdir(parents=True, exist_ok=True)
                rejected.write_text(text, encoding="utf-8")
                err.print(f"the rejected plan was written to {rejected} (--force); {output} was not written")
            else:
                err.print(f"no plan was written to {output} (use --force to keep a rejected plan)")
            raise typer.Exit(code=1)
        out.print("checker: the plan obeys every rule")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    out.print(f"plan written to {output}")


@app.command()
def check(
    scenario: Path = typer.Argument(..., help="Scenario file (JSON or .xlsx)."),
    plan_file: Path = typer.Argument(..., metavar="PLAN", help="Plan file (JSON, contract v1)."),
    roads: Optional[str] = typer.Option(None, "--roads",
                                        help="Measure legs with this road km source (a from,to,km CSV or an "
                                             "OSRM base URL); default: the one the plan names (solver.roads)."),
) -> None:
    """Check PLAN against SCENARIO with the independent validator; exit 1 on any violation."""
    from pydantic import ValidationError

    from .check import RoadsError
    from .check import check as run_check

    scen = _load(scenario)
    try:
        plan_obj = Plan.model_validate(json.loads(plan_file.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as e:
        err.print(f"[bold red]invalid plan file[/] {plan_file}: {e}", markup=True)
        raise typer.Exit(code=2) from None
    try:
        violations = run_check(scen, plan_obj, roads=roads)
    except RoadsError as e:
        err.print(f"[bold red]invalid road-distance source[/]: {e}", highlight=False)
        raise typer.Exit(code=2) from None
    out = Console()
    if not violations:
        out.print(f"{plan_file}: no violations ({len(plan_obj.trips)} trips)")
        return
    t = Table(title=f"{len(violations)} violation(s)")
    for col in ("rule", "trip", "what"):
        t.add_column(col)
    for v in violations:
        t.add_row(v.rule, v.trip or "", v.message)
    out.print(t)
    raise typer.Exit(code=1)


def suggestions_table(suggestions) -> Table:
    """Suggested special trains as a rich table."""
    t = Table(title=f"{len(suggestions)} special train(s) to request from the railway")
    for col in ("offer", "from", "to", "day", "leaves", "arrives", "riders", "est. cost", "saves", "brings back"):
        t.add_column(col, justify="right" if col in ("riders", "est. cost", "saves", "brings back") else "left")
    for sg in suggestions:
        offer = (sg.model_extra or {}).get("offer", {})
        names = {st["id"]: st["name"] for st in (sg.model_extra or {}).get("stations", [])}
        calls = offer.get("calls", [])
        t.add_row(offer.get("id", ""), " + ".join(names.get(b, b) for b in sg.from_), names.get(sg.to, sg.to), sg.day,
                  str(calls[0].get("depart", ""))[11:16] if calls else "",
                  str(calls[-1].get("arrive", ""))[:16].replace("T", " ") if calls else "",
                  f"{sg.riders:,}", f"{sg.est_cost:,.0f}", f"{sg.saves:,.0f}", f"{sg.brings_back:,}")
    return t


def _matching_rows(plan: Plan, lang: str = "zh") -> list[tuple[str, str]]:
    from .labels import REASONS, SUMMARY, word

    m = plan.summary.matching
    if m is None:
        return []
    rows = [("workers registered", f"{m.workers:,}"), ("matched to posts", f"{m.matched:,} / {m.openings:,}"),
            ("fill rate", f"{m.fill_rate:.1%}"), ("first choice", f"{m.first_choice_share:.1%}"),
            ("mean choice rank", f"{m.mean_choice_rank:.2f}"),
            ("blocking pairs", f"{m.blocking_pairs:,} (≤ {m.blocking_budget:,})"),
            ("transport per matched (yuan)", f"{m.transport_cost_per_matched:,.2f}"), ("match", m.method)]
    out = [(word(SUMMARY, k, lang), v) for k, v in rows]
    reasons: Counter[str] = Counter(u.reason for u in plan.unmatched)
    out += [(f"{word(SUMMARY, 'unmatched', lang)}: {word(REASONS, r, lang)}", f"{n:,}") for r, n in sorted(reasons.items())]
    return out


@app.command("match")
def match_cmd(
    scenario: Path = typer.Argument(..., help="A scenario with workers and posts (JSON or .xlsx)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the match (JSON)."),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds for the match."),
    seed: int = typer.Option(0, "--seed"),
    roads: Optional[str] = typer.Option(None, "--roads", help="Road source: a from,to,km[,minutes] CSV or an OSRM URL."),
    baseline: bool = typer.Option(False, "--baseline", help="Deferred acceptance alone (stable, transport ignored)."),
    lang: str = typer.Option("zh", "--lang", help=LANG_HELP),
) -> None:
    """Match the scenario's workers to its posts (no coaches planned): the matches, who is left
    out and why, and the match's figures (fill, choice ranks, blocking pairs)."""
    from .match import match, summarise
    from .network.roads import RoadSourceError, provider_for

    scen = _load(scenario)
    if not scen.workers or not scen.posts:
        err.print("[bold red]nothing to match[/]: the scenario has no workers or no posts", highlight=False)
        raise typer.Exit(code=InputError.exit_code)
    try:
        provider = provider_for(roads, scen.policy.road_factor) if roads else None
        result = match(scen, provider, time_limit=time_limit, seed=seed, joint=not baseline)
    except InputError as e:
        _fail_input(e)
    except RoadSourceError as e:
        err.print(f"[bold red]road source failed[/] {roads}: {e}", highlight=False)
        raise typer.Exit(code=InputError.exit_code) from None
    c = result.compiled
    summary = summarise(c, result.assign, None, result.method)
    doc = {"scenario": scen.name, "summary": summary.model_dump(mode="json"),
           "matches": [{"worker": c.workers[i].id, "post": c.posts[k].id, "site": c.posts[k].site,
                        "firm": c.posts[k].firm, "trade": c.posts[k].trade,
                        "choice_rank": c.prefs[i].index(k) + 1} for i, k in sorted(result.assign.items())],
           "unmatched": [{"worker": c.workers[i].id, "reason": r, "detail": d} for i, (r, d) in sorted(result.why.items())]}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    t = Table(title=f"match for {scen.name}", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    fake = Plan.model_validate({"scenario": scen.name, "solver": {"seconds": result.seconds, "status": "matched"},
                                "summary": {"workers_requested": 0, "workers_eligible": 0, "workers_planned": 0,
                                            "trips": 0, "buses_used": 0, "km": 0, "cost": 0, "lower_bound_km": 0,
                                            "matching": summary.model_dump()},
                                "unmatched": doc["unmatched"]})
    for k, v in _matching_rows(fake, lang):
        t.add_row(k, v)
    Console().print(t)
    Console().print(f"match written to {output}")


@app.command("suggest-trains")
def suggest_trains(
    scenario: Path = typer.Argument(..., help="Scenario file (JSON or .xlsx)."),
    plan_file: Optional[Path] = typer.Option(None, "--plan", help="Suggest for this plan (default: plan first)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the suggestions here (JSON)."),
    apply_to: Optional[Path] = typer.Option(None, "--apply",
                                            help="Write the scenario with the suggested trains added as offers "
                                                 "(their stations, and local coaches where a boarding station "
                                                 "has no coach yard within 150 km) to this JSON file."),
    stations: Optional[Path] = typer.Option(None, "--stations", help="Your own station table (id,name,lat,lon CSV)."),
    links: Optional[Path] = typer.Option(None, "--links", help="Your own rail links (from,to,km CSV)."),
    time_limit: float = typer.Option(30.0, "--time-limit", help="Seconds for the solve when no --plan is given."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Propose special trains (返岗专列) for the workers a plan leaves behind or brings from very far."""
    from pydantic import ValidationError

    from .optimize import solve
    from .params import SolveParams
    from .rail import FAR_KM, RailNetwork, apply, suggest

    scen = _load(scenario)
    if (stations is None) != (links is None):
        err.print("[bold red]invalid input[/]: --stations and --links go together")
        raise typer.Exit(code=2)
    try:
        network = RailNetwork.from_csv(stations, links) if stations and links else RailNetwork.default()
    except (OSError, ValueError) as e:
        err.print(f"[bold red]invalid rail network[/]: {e}", highlight=False)
        raise typer.Exit(code=2) from None
    if plan_file is not None:
        try:
            base = Plan.model_validate(json.loads(plan_file.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValidationError) as e:
            err.print(f"[bold red]invalid plan file[/] {plan_file}: {e}")
            raise typer.Exit(code=2) from None
    else:
        try:
            base = solve(scen, time_limit=time_limit, seed=seed, params=SolveParams(suggest_trains=False))
        except InputError as e:
            _fail_input(e)
    found = suggest(scen, base, network)
    out = Console()
    if not found:
        out.print("no special train suggested: every worker a train could help is planned, and none rides "
                  f"a coach for {int(FAR_KM):,} km or more")
    else:
        out.print(suggestions_table(found))
    if output is not None:
        output.write_text(json.dumps([sg.model_dump(mode="json", by_alias=True) for sg in found], ensure_ascii=False,
                                     indent=1), encoding="utf-8")
        out.print(f"suggestions written to {output}")
    if apply_to is not None:
        applied = apply(scen.model_dump(mode="json", by_alias=True, exclude_none=True), found)
        apply_to.write_text(json.dumps(applied, ensure_ascii=False, indent=1), encoding="utf-8")
        out.print(f"scenario with {len(found)} suggested train(s) written to {apply_to}")


@app.command("map")
def draw_map(
    plan_file: Path = typer.Argument(..., metavar="PLAN", help="Plan file (JSON, contract v1)."),
    scenario: Path = typer.Argument(..., help="Scenario file (JSON or .xlsx) the plan was made from."),
    output: Path = typer.Option(..., "-o", "--output", help="plan.html (a self-contained page) or plan.png."),
) -> None:
    """Draw PLAN on a map of China: home counties by headcount, stations, sites, depots, every trip
    and train; the HTML page filters by mode, site, agency and day and needs no network."""
    from pydantic import ValidationError

    from .plan_map import layers, to_html, to_png

    scen = _load(scenario)
    try:
        plan_obj = Plan.model_validate(json.loads(plan_file.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as e:
        err.print(f"[bold red]invalid plan file[/] {plan_file}: {e}")
        raise typer.Exit(code=2) from None
    suffix = output.suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        err.print(f"[bold red]invalid output[/] {output}: give a .html or a .png file")
        raise typer.Exit(code=2)
    data = layers(scen, plan_obj)
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        to_png(data, output)
    else:
        output.write_text(to_html(data), encoding="utf-8")
    Console().print(f"map of {len(data['trips'])} trips and {len(data['trains'])} trains written to {output}")


@app.command("plan-province")
def plan_province_cmd(
    province_path: Path = typer.Argument(..., metavar="DIR", help="A folder of park scenarios (+ province.json), "
                                                                    "or one province JSON file."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for one plan per park and province.json."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="A Dask scheduler, e.g. tcp://HOST:8786 "
                                                                      "(default: a LocalCluster here)."),
    workers: int = typer.Option(2, "--workers", help="LocalCluster worker processes (without --scheduler)."),
    time_limit: float = typer.Option(30.0, "--time-limit", help="Seconds per park."),
    seed: int = typer.Option(0, "--seed"),
    roads: Optional[str] = typer.Option(None, "--roads",
                                        help="Road source for every park and the train split: a from,to,km[,minutes] "
                                             "CSV or an OSRM base URL (default: geodesic × road factor)."),
) -> None:
    """Plan every park of a province as a Dask task, a progress bar each; write each plan, the
    province summary, and run the checkers (every park's, and the shared fleet's)."""
    from distributed import Client

    from .province import check_province, load_province, local_cluster, plan_province, summary

    try:
        province = load_province(province_path)
    except (OSError, ValueError) as e:
        err.print(f"[bold red]invalid province[/] {province_path}: {e}", highlight=False)
        raise typer.Exit(code=2) from None
    out = Console()
    cluster = None if scheduler else local_cluster(workers)
    client = Client(scheduler) if scheduler else Client(cluster)
    try:
        with Progress(TextColumn("[bold]{task.fields[park]:<14}"), TextColumn("{task.fields[phase]:<11}"),
                      BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=out) as bar:
            tasks = {name: bar.add_task(name, total=1.0, park=name, phase="queued") for name in province.parks}

            def progress(park: str, phase: str, fraction: float) -> None:
                if park in tasks:
                    bar.update(tasks[park], completed=fraction, phase=phase)

            result = plan_province(province, client, time_limit=time_limit, seed=seed, progress=progress,
                                   roads=roads)
            for task in tasks.values():
                bar.update(task, completed=1.0, phase="done")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    output.mkdir(parents=True, exist_ok=True)
    for name, plan in result.plans.items():
        (output / f"plan-{name}.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        (output / f"scenario-{name}.json").write_text(json.dumps(result.scenarios[name], ensure_ascii=False),
                                                      encoding="utf-8")
    found = check_province(province, result)
    doc = summary(province, result) | {"violations": found}
    (output / "province.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    t = Table(title=f"province {province.name}: {len(result.plans)} parks, {result.passes} pass(es)")
    for col in ("park", "requested", "eligible", "planned", "by train", "trips", "coaches", "km", "cost"):
        t.add_column(col, justify="left" if col == "park" else "right")
    for p in doc["parks"] + [{"park": "total", **doc["total"]}]:
        t.add_row(p["park"], f"{p['requested']:,}", f"{p['eligible']:,}", f"{p['planned']:,}", f"{p['by_train']:,}",
                  f"{p['trips']:,}", f"{p['coaches']:,}", f"{p['km']:,.0f}", f"{p['cost']:,.0f}")
    out.print(t)
    if doc["unassigned_by_reason"]:
        out.print("unassigned: " + ", ".join(f"{k} {v:,}" for k, v in sorted(doc["unassigned_by_reason"].items())))
    for st in doc.get("shared_trains", []):
        cars = ", ".join(f"{n} {k}" for n, k in sorted(st["cars_by_park"].items())) or "none"
        riders = ", ".join(f"{n} {k:,}" for n, k in sorted(st["riders_by_park"].items())) or "none"
        out.print(f"shared train {st['train']} {st['name']}: cars {cars} (of {st['cars']}); riders {riders}; "
                  + (f"runs, ¥{st['cost']:,.0f}" if st["runs"] else "does not run")
                  + (f"; taken off {', '.join(st['taken_from'])} (too few riders)" if st["taken_from"] else ""),
                  highlight=False)
    if found:
        err.print(f"[bold red]the province checker found {len(found)} violation(s)[/]:")
        for v in found[:50]:
            err.print(f"  {v}", markup=False)
        raise typer.Exit(code=1)
    out.print(f"checker: every plan obeys every rule; no pooled coach and no shared train car in two parks. "
              f"Written to {output}")


def main() -> None:  # pragma: no cover - console entry when the service layer is absent
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
