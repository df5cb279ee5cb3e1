"""Tests of planner.read: scenario files (JSON, XLSX), order tables (CSV, XLSX), problem reports."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import datetime, time
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

from planner.contract import SHANGHAI, Order, Scenario
from planner.errors import InputError, Problem
from planner.read import check_orders, load_scenario, parse_order_rows, read_table

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"
if not EXAMPLES.is_dir():  # pragma: no cover - layout fallback
    EXAMPLES = Path("/work/shared/examples")
SMALL = EXAMPLES / "scenario-small.json"


def small() -> dict:
    return json.loads(SMALL.read_text(encoding="utf-8"))


def write_json(tmp_path: Path, doc: dict, name: str = "scenario.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def naive(text: str | None) -> datetime | None:
    """An ISO text with offset -> a naive Asia/Shanghai datetime, as Excel would hold it."""
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(SHANGHAI).replace(tzinfo=None)


def location_columns(loc: dict, prefix: str) -> dict:
    return {f"{prefix}{k}": v for k, v in loc.items()}


def write_workbook(doc: dict, path: Path, *, dotted: bool = False, policy_layout: str = "kv",
                   skip: tuple[str, ...] = ()) -> Path:
    """Write a contract-v1 scenario dict as a workbook, one sheet per section."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)

    def sheet(name: str, rows: list[dict]) -> None:
        if name in skip:
            return
        ws = wb.create_sheet(name)
        headers: list[str] = []
        for r in rows:
            for k in r:
                if k not in headers:
                    headers.append(k)
        ws.append(headers)
        for r in rows:
            ws.append([r.get(h) for h in headers])

    ws = wb.create_sheet("scenario")
    ws.append(["name", doc["name"]])
    place_prefix = "location." if dotted else ""
    sheet("sites", [{**{k: v for k, v in s.items() if k != "location"},
                     **location_columns(s["location"], place_prefix)} for s in doc["sites"]])
    sheet("depots", [{**{k: v for k, v in d.items() if k != "location"},
                      **location_columns(d["location"], place_prefix)} for d in doc["depots"]])
    # fleet times as text, regions and orders as (naive) datetimes, as Excel stores them
    sheet("fleet", doc["fleet"])
    sheet("regions", [{**r, "from": naive(r.get("from")), "until": naive(r.get("until"))}
                      for r in doc["regions"]])
    origin_prefix = "origin." if dotted else ""
    orders = []
    for o in doc["orders"]:
        origin = dict(o["origin"])
        if "county" in origin:
            origin["county"] = float(origin["county"])  # a county code typed as a number
        row = {k: v for k, v in o.items() if k != "origin"}
        row.update(location_columns(origin, origin_prefix))
        for k in ("earliest_departure", "arrive_by", "screening_valid_until"):
            row[k] = naive(o.get(k))
        orders.append(row)
    sheet("orders", orders)
    if doc.get("stations"):
        sheet("stations", [{**{k: v for k, v in st.items() if k != "location"},
                            **location_columns(st["location"], place_prefix)} for st in doc["stations"]])
    if doc.get("trains"):
        sheet("trains", [{k: ",".join(v) if isinstance(v, list) else v for k, v in t.items() if k != "calls"}
                         for t in doc["trains"]])
        sheet("train_calls", [{"train": t["id"], "station": c["station"], "arrive": naive(c.get("arrive")),
                               "depart": naive(c.get("depart"))} for t in doc["trains"] for c in t["calls"]])
    policy = dict(doc.get("policy", {}))
    if policy.get("night_rest"):
        policy["night_rest"] = "-".join(policy["night_rest"])
    ws = wb.create_sheet("policy")
    if policy_layout == "kv":
        ws.append(["key", "value"])
        for k, v in policy.items():
            ws.append([k, v])
    else:
        ws.append(list(policy))
        ws.append(list(policy.values()))
    wb.save(path)
    return path


def raises_input_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value


def has_problem(err: InputError, where_part: str, field: str) -> bool:
    return any(where_part in p.where and p.field == field for p in err.problems)


# ------------------------------------------------------------------ good files


@pytest.mark.parametrize("name", ["scenario-tiny.json", "scenario-small.json"])
def test_json_examples_load(name: str) -> None:
    """The contract's example scenario files load into a Scenario."""
    scenario = load_scenario(EXAMPLES / name)
    doc = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(scenario, Scenario)
    assert scenario.name == doc["name"]
    assert [o.id for o in scenario.orders] == [o["id"] for o in doc["orders"]]


@pytest.mark.parametrize("dotted,policy_layout", [(False, "kv"), (True, "header")])
def test_xlsx_twin_equals_json(tmp_path: Path, dotted: bool, policy_layout: str) -> None:
    """A workbook with all sheets loads into the same Scenario as its JSON twin."""
    from_json = load_scenario(SMALL)
    path = write_workbook(small(), tmp_path / "small.xlsx", dotted=dotted,
                          policy_layout=policy_layout)
    from_xlsx = load_scenario(path)
    assert from_xlsx.model_dump() == from_json.model_dump()


def test_xlsx_policy_empty_night_rest_is_null(tmp_path: Path) -> None:
    """An empty night_rest cell in the policy sheet means null (no night rest)."""
    doc = small()
    path = write_workbook(doc, tmp_path / "s.xlsx", policy_layout="header")
    wb = openpyxl.load_workbook(path)
    ws = wb["policy"]
    col = [c.value for c in ws[1]].index("night_rest") + 1
    ws.cell(row=2, column=col).value = None
    wb.save(path)
    assert load_scenario(path).policy.night_rest is None
    assert load_scenario(SMALL).policy.night_rest == (time(2, 0), time(5, 0))


def test_xlsx_empty_rows_skipped(tmp_path: Path) -> None:
    """Empty rows inside a sheet are skipped and later rows keep their Excel row numbers."""
    path = write_workbook(small(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["orders"]
    ws.insert_rows(3)  # row 3 empty; O00002 moves to row 4
    headers = [c.value for c in ws[1]]
    ws.cell(row=4, column=headers.index("headcount") + 1).value = -1
    wb.save(path)
    err = raises_input_error(path)
    assert [(p.where, p.field) for p in err.problems] == [("orders row 4 (O00002)", "headcount")]


# ------------------------------------------------------------------ bad scenarios

def _set_order(i: int, **changes: object) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        doc["orders"][i].update(changes)
    return mutate


def _dup_order(doc: dict) -> None:
    doc["orders"][5]["id"] = doc["orders"][2]["id"]


def _bad_depot(doc: dict) -> None:
    doc["fleet"][1]["depot"] = "D9"


BAD_CASES = [
    ("unknown county", _set_order(3, origin={"county": "999999"}), "O00004", "origin.county"),
    ("county not 6 digits", _set_order(3, origin={"county": "5119"}), "O00004", "origin.county"),
    ("negative headcount", _set_order(3, headcount=-5, cleared=0), "O00004", "headcount"),
    ("cleared > headcount", _set_order(3, headcount=10, cleared=12), "O00004", "cleared"),
    ("unknown site", _set_order(3, site="F9"), "O00004", "site"),
    ("arrive_by before departure",
     _set_order(3, arrive_by="2027-02-10T00:00:00+08:00"), "O00004", "arrive_by"),
    ("unresolvable address", _set_order(3, origin={"address": "火星基地一号"}), "O00004",
     "origin.address"),
    ("headcount not a number", _set_order(3, headcount="many"), "O00004", "headcount"),
    ("bad date", _set_order(3, earliest_departure="next tuesday"), "O00004", "earliest_departure"),
    ("missing agency", lambda d: d["orders"][3].pop("agency"), "O00004", "agency"),
    ("duplicate order id", _dup_order, "O00003", "id"),
    ("unknown depot", _bad_depot, "coach45", "depot"),
]


@pytest.mark.parametrize("case,mutate,item_id,field", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_json_names_item_and_field(tmp_path: Path, case: str, mutate: Callable,
                                       item_id: str, field: str) -> None:
    """Each kind of bad input gives an InputError naming the item id and the field."""
    doc = small()
    mutate(doc)
    err = raises_input_error(write_json(tmp_path, doc))
    assert has_problem(err, f"({item_id})", field), err.problems
    assert item_id in str(err) and field in str(err)


def test_json_where_format(tmp_path: Path) -> None:
    """JSON problems are located as section[index] (id), index from 0."""
    doc = small()
    doc["orders"][3]["headcount"] = -5
    err = raises_input_error(write_json(tmp_path, doc))
    assert err.problems[0].where == "orders[3] (O00004)"
    assert err.problems[0].field == "headcount"
    assert "-5" in err.problems[0].message


@pytest.mark.parametrize("case,mutate,item_id,field", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_xlsx_names_item_and_field(tmp_path: Path, case: str, mutate: Callable,
                                       item_id: str, field: str) -> None:
    """The same bad inputs in a workbook name the row, the item id and the field."""
    doc = small()
    mutate(doc)
    if case == "bad date":  # a text cell the sheet cannot read as a date
        doc["orders"][3]["earliest_departure"] = None
        path = write_workbook(doc, tmp_path / "s.xlsx")
        wb = openpyxl.load_workbook(path)
        ws = wb["orders"]
        col = [c.value for c in ws[1]].index("earliest_departure") + 1
        ws.cell(row=5, column=col).value = "next tuesday"
        wb.save(path)
    else:
        path = write_workbook(doc, tmp_path / "s.xlsx")
    err = raises_input_error(path)
    assert has_problem(err, f"({item_id})", field), err.problems
    if item_id == "O00004":
        assert has_problem(err, "orders row 5 (O00004)", field)


def test_all_bad_orders_reported_at_once(tmp_path: Path) -> None:
    """Several bad orders (and several faults in one order) are all reported in one error."""
    doc = small()
    doc["orders"][0]["origin"] = {"county": "999999"}
    doc["orders"][2]["headcount"] = -1
    doc["orders"][4]["site"] = "F9"
    doc["orders"][6]["origin"] = {"address": "火星基地一号"}
    doc["orders"][8].update(cleared=500, arrive_by="2027-02-01T00:00:00+08:00")
    doc["orders"][9]["origin"] = {"county": "12"}
    doc["orders"][9]["cleared"] = 1000
    doc["fleet"][0]["depot"] = "nowhere"
    err = raises_input_error(write_json(tmp_path, doc))
    got = {(p.where, p.field) for p in err.problems}
    assert got == {
        ("orders[0] (O00001)", "origin.county"),
        ("orders[2] (O00003)", "headcount"),
        ("orders[4] (O00005)", "site"),
        ("orders[6] (O00007)", "origin.address"),
        ("orders[8] (O00009)", "cleared"),
        ("orders[8] (O00009)", "arrive_by"),
        ("orders[9] (O00010)", "origin.county"),
        ("orders[9] (O00010)", "cleared"),
        ("fleet[0] (coach53)", "depot"),
    }
    wheres = [p.where for p in err.problems]
    assert wheres.index("fleet[0] (coach53)") < wheres.index("orders[0] (O00001)")


def test_all_bad_rows_reported_at_once_xlsx(tmp_path: Path) -> None:
    """In a workbook every bad row is reported with its Excel row number."""
    doc = small()
    doc["orders"][0]["origin"] = {"county": "999999"}
    doc["orders"][2]["headcount"] = -1
    doc["orders"][4]["site"] = "F9"
    doc["sites"].append(dict(doc["sites"][0]))  # duplicate site F1 at row 4 of sites
    err = raises_input_error(write_workbook(doc, tmp_path / "s.xlsx"))
    got = {(p.where, p.field) for p in err.problems}
    assert got == {
        ("sites row 4 (F1)", "id"),
        ("orders row 2 (O00001)", "origin.county"),
        ("orders row 4 (O00003)", "headcount"),
        ("orders row 6 (O00005)", "site"),
    }


def test_bad_site_region_policy(tmp_path: Path) -> None:
    """Problems in sites, regions and policy are located and named too."""
    doc = small()
    doc["sites"][1]["location"] = {"address": "不存在的地方"}
    doc["regions"][0]["county"] = "000001"
    doc["regions"][1]["risk"] = "extreme"
    doc["policy"]["occupancy_cap"] = 1.5
    err = raises_input_error(write_json(tmp_path, doc))
    got = {(p.where, p.field) for p in err.problems}
    assert got == {
        ("sites[1] (F2)", "location.address"),
        ("regions[0] (000001)", "county"),
        ("regions[1] (341721)", "risk"),
        ("policy", "occupancy_cap"),
    }


def test_malformed_json(tmp_path: Path) -> None:
    """Malformed JSON is reported with the file name, line and column."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "orders": [,]\n}\n', encoding="utf-8")
    err = raises_input_error(path)
    (problem,) = err.problems
    assert problem.where == "broken.json"
    assert "line 3" in problem.message and "column 14" in problem.message


def test_not_a_workbook(tmp_path: Path) -> None:
    """An .xlsx file that is not a zip workbook gives a clear InputError."""
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"id,agency\nO1,a\n")
    err = raises_input_error(path)
    (problem,) = err.problems
    assert problem.where == "fake.xlsx" and "not an Excel" in problem.message


@pytest.mark.parametrize("sheet", ["orders", "sites", "fleet", "depots"])
def test_workbook_missing_sheet(tmp_path: Path, sheet: str) -> None:
    """A workbook without a required sheet names the missing sheet."""
    path = write_workbook(small(), tmp_path / "s.xlsx", skip=(sheet,))
    err = raises_input_error(path)
    assert [p.field for p in err.problems] == ["sheet"]
    assert repr(sheet) in err.problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is an InputError, not a traceback."""
    err = raises_input_error(tmp_path / "nope.json")
    assert err.problems[0].where == "nope.json"


# ------------------------------------------------------------------ order tables

CHINESE_ROWS = [
    {" 编号 ": "A1", "中介": "恒信人力", "区县代码": 511903.0, "人数": "40", "已筛查": "38",
     "未通过": "1", "最早出发": "2027/2/11 8:00", "最晚到达": "2027-02-13 00:00",
     "工厂": "F1", "筛查有效至": "2027年2月12日 12:00"},
    {" 编号 ": "A2", "中介": "众成劳务", "家庭住址": "四川省巴中市恩阳区", "人数": 12,
     "已筛查": 12, "最早出发": datetime(2027, 2, 12, 6), "最晚到达": datetime(2027, 2, 14),
     "工厂": "F2"},
    {" 编号 ": None, "中介": None, "区县代码": None, "人数": None},  # empty row
    {" 编号 ": 1003, "机构": "x", "纬度": "31.79", "经度": "106.65", "人数": 5, "已通过": 5,
     "最早出发": "2027-02-12", "最晚到达": "2027-02-14", "厂区": "F1"},
]


def test_parse_order_rows_chinese_headers() -> None:
    """Chinese headers (with stray spaces) map to contract fields; dates and numbers are read."""
    orders, problems = parse_order_rows(CHINESE_ROWS)
    assert problems == []
    parsed = [Order.model_validate(o) for o in orders]
    a1, a2, a3 = parsed
    assert a1.id == "A1" and a1.agency == "恒信人力" and a1.origin.county == "511903"
    assert (a1.headcount, a1.cleared, a1.failed, a1.site) == (40, 38, 1, "F1")
    assert a1.earliest_departure == datetime(2027, 2, 11, 8, tzinfo=SHANGHAI)
    assert a1.screening_valid_until == datetime(2027, 2, 12, 12, tzinfo=SHANGHAI)
    assert a2.origin.address == "四川省巴中市恩阳区" and a2.site == "F2"
    assert a3.id == "1003" and (a3.origin.lat, a3.origin.lon) == (31.79, 106.65)


def test_parse_order_rows_english_headers() -> None:
    """English headers, flat or dotted, are accepted case-insensitively."""
    rows = [{"ID": "E1", "Agency": "a", "origin.county": "410526", "headcount": 3,
             "cleared": 3, "Earliest Departure": "2027-02-11T08:00:00+08:00",
             "arrive_by": "2027-02-12T00:00", "site": "F1"}]
    orders, problems = parse_order_rows(rows)
    assert problems == []
    assert orders[0]["origin"] == {"county": "410526"}
    assert Order.model_validate(orders[0]).earliest_departure.utcoffset().total_seconds() == 8 * 3600


def test_parse_order_rows_reports_every_row() -> None:
    """Bad rows are all reported with row number, id, field and reason; good rows still parse."""
    rows = copy.deepcopy(CHINESE_ROWS)
    rows[0]["人数"] = "四十"              # row 2: not a number
    rows[1]["最早出发"] = "下周二"        # row 3: bad date
    rows[3]["已通过"] = 50               # row 5: cleared > headcount
    rows.append(dict(CHINESE_ROWS[0], **{" 编号 ": "A9"}))  # row 6: fine
    orders, problems = parse_order_rows(rows)
    assert [o["id"] for o in orders] == ["A9"]
    got = [(p.where, p.field) for p in problems]
    assert got == [("row 2 (A1)", "headcount"), ("row 3 (A2)", "earliest_departure"),
                   ("row 5 (1003)", "cleared")]
    assert "四十" in problems[0].message


def test_parse_order_rows_missing_column() -> None:
    """A missing required column is reported once on the header row, not on every row."""
    rows = [{k: v for k, v in r.items() if k != "人数"} for r in CHINESE_ROWS]
    orders, problems = parse_order_rows(rows, first_row=5)
    assert orders == []
    assert [(p.where, p.field) for p in problems] == [("row 4 (header)", "headcount")]
    assert "人数" in problems[0].message


def test_check_orders_sites_and_places() -> None:
    """check_orders reports unknown sites and unresolvable origins per order."""
    orders, problems = parse_order_rows(CHINESE_ROWS)
    assert problems == []
    parsed = [Order.model_validate(o) for o in orders]
    parsed[0] = parsed[0].model_copy(update={"origin": parsed[0].origin.model_copy(
        update={"county": "999999"})})
    parsed[1] = parsed[1].model_copy(update={"origin": parsed[1].origin.model_copy(
        update={"address": "火星基地一号"})})
    where = ["row 2 (A1)", "row 3 (A2)", "row 5 (1003)"]
    got = {(p.where, p.field) for p in check_orders(parsed, {"F1"}, where)}
    assert got == {("row 2 (A1)", "origin.county"), ("row 3 (A2)", "origin.address"),
                   ("row 3 (A2)", "site")}
    assert check_orders(parsed[2:], {"F1"}, where[2:]) == []


def _csv_bytes(rows: list[list[object]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


CSV_ROWS = [
    ["订单号", "人力资源公司", "县", "人数", "筛查通过", "最早出发", "最晚到达", "目的地"],
    ["C1", "中原职介", "410526", "40", "38", "2027-02-11 08:00", "2027-02-13 00:00", "F1"],
    ["", "", "", "", "", "", "", ""],
    ["C2", "恒信人力", "511903", "20", "20", "2027-02-11 08:00", "2027-02-13 00:00", "F1"],
]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_read_table_csv_encodings(encoding: str) -> None:
    """CSV in GBK, UTF-8 with BOM and plain UTF-8 reads into rows with Chinese headers."""
    rows = read_table(_csv_bytes(CSV_ROWS, encoding), "orders.csv")
    assert list(rows[0]) == CSV_ROWS[0]
    assert rows[0]["人力资源公司"] == "中原职介"
    assert all(v is None for v in rows[1].values())  # kept so row numbers stay right
    orders, problems = parse_order_rows(rows)
    assert problems == []
    assert [o["id"] for o in orders] == ["C1", "C2"]


def test_read_table_csv_semicolon_and_row_numbers() -> None:
    """A semicolon CSV is sniffed; problem rows count the blank line like a spreadsheet."""
    text = "\n".join(";".join(r) for r in CSV_ROWS).replace("C2;恒信人力;511903;20", "C2;恒信人力;511903;x")
    rows = read_table(text.encode("utf-8"), "orders.csv")
    _, problems = parse_order_rows(rows)
    assert [(p.where, p.field) for p in problems] == [("row 4 (C2)", "headcount")]


def test_read_table_xlsx_first_sheet(tmp_path: Path) -> None:
    """An XLSX table is read from its first sheet, numbers and dates as Excel gives them."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([" 编号", "中介", "区县", "人数", "已筛查", "最早出发", "最晚到达", "工厂"])
    ws.append(["X1", "a", 410526, 30, 30, datetime(2027, 2, 11, 8), datetime(2027, 2, 13), "F1"])
    wb.create_sheet("other").append(["ignored"])
    buf = io.BytesIO()
    wb.save(buf)
    rows = read_table(buf.getvalue(), "upload.xlsx")
    assert rows == [{"编号": "X1", "中介": "a", "区县": 410526, "人数": 30, "已筛查": 30,
                     "最早出发": datetime(2027, 2, 11, 8), "最晚到达": datetime(2027, 2, 13),
                     "工厂": "F1"}]
    orders, problems = parse_order_rows(rows)
    assert problems == [] and orders[0]["origin"] == {"county": "410526"}


def test_read_table_rejects_garbage() -> None:
    """A file that is neither CSV text nor a workbook raises InputError naming the file."""
    with pytest.raises(InputError) as info:
        read_table(b"PK\x03\x04not really a zip", "upload.xlsx")
    assert info.value.problems[0] == Problem("upload.xlsx", "file", info.value.problems[0].message)


# ------------------------------------------------------------------ every input understood or refused


def _problem(err: InputError, field: str) -> Problem:
    return next(p for p in err.problems if p.field == field)


@pytest.mark.parametrize("section, index, wrong, right", [
    ("policy", None, "ocupancy_cap", "occupancy_cap"),
    ("orders", 3, "screening_valid_untill", "screening_valid_until"),
    ("fleet", 0, "seat", "seats"),
    ("sites", 0, "recieve_from", "receive_from"),
    ("depots", 0, "nmae", "name"),
    ("regions", 0, "untill", "until"),
])
def test_a_misspelt_field_is_refused_with_the_nearest_name(tmp_path: Path, section, index, wrong, right) -> None:
    """A field the contract does not know is an error naming it and suggesting the known one,
    never silently ignored (a misspelt cap would plan at 100 % occupancy; a misspelt screening
    expiry would carry workers whose screening had expired)."""
    doc = small()
    target = doc[section] if index is None else doc[section][index]
    target[wrong] = target.pop(right, "07:00" if right == "receive_from" else 0.5)
    err = raises_input_error(write_json(tmp_path, doc))
    p = _problem(err, wrong)
    assert f"did you mean {right!r}" in p.message


def test_an_unknown_order_field_lists_what_an_order_may_carry(tmp_path: Path) -> None:
    """An order field nothing resembles is refused, listing the fields an order may have."""
    doc = small()
    doc["orders"][0]["bus_preference"] = "big"
    p = _problem(raises_input_error(write_json(tmp_path, doc)), "bus_preference")
    assert "known fields" in p.message and "screening_batches" in p.message and "note" in p.message


def test_an_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    """A misspelt section (``polcy``) would drop the whole policy: refused."""
    doc = small()
    doc["polcy"] = doc.pop("policy")
    p = _problem(raises_input_error(write_json(tmp_path, doc)), "polcy")
    assert "did you mean 'policy'" in p.message


@pytest.mark.parametrize("pair, ok", [
    (["02:00", "05:00"], True), (["23:00", "05:00"], True),
    (["05:00", "02:00"], False), (["02:00", "02:00"], False),
])
def test_night_rest_is_read_in_clock_order(tmp_path: Path, pair, ok) -> None:
    """A reversed night rest (05:00–02:00 would forbid driving 21 h a day) is refused; a window
    across midnight of a plausible length is fine."""
    doc = small()
    doc["policy"]["night_rest"] = pair
    if ok:
        assert load_scenario(write_json(tmp_path, doc)).policy.night_rest is not None
    else:
        assert "night_rest" in {p.field for p in raises_input_error(write_json(tmp_path, doc)).problems}


@pytest.mark.parametrize("key, value", [("speed_kmh", 700), ("road_factor", 0.5), ("max_ride_hours", 500),
                                        ("max_pickup_stops", 0), ("turnaround_minutes", -5)])
def test_policy_values_are_range_checked(tmp_path: Path, key, value) -> None:
    """Values no coordinator can mean are refused, naming the field."""
    doc = small()
    doc["policy"][key] = value
    assert key in {p.field for p in raises_input_error(write_json(tmp_path, doc)).problems}


def test_receiving_hours_may_run_overnight_but_not_be_empty(tmp_path: Path) -> None:
    """22:00–06:00 is an overnight window; 07:00–07:00 receives nobody and is refused."""
    doc = small()
    doc["sites"][0].update(receive_from="22:00", receive_until="06:00")
    assert load_scenario(write_json(tmp_path, doc)).sites[0].receive_from == time(22)
    doc["sites"][0].update(receive_from="07:00", receive_until="07:00")
    err = raises_input_error(write_json(tmp_path, doc))
    assert any("receive" in p.field or "receive" in p.message for p in err.problems)


def test_an_unknown_column_of_an_order_table_is_refused() -> None:
    """A table column that is no order field is one problem on the header row, with the nearest
    accepted header; no row of the table is taken while a column is not understood."""
    rows = [{"编号": "A1", "区县": "410526", "人数": "40", "已筛查": "38", "工厂": "F1", "中介": "x",
             "最早出发": "2027-02-11 08:00", "最晚到达": "2027-02-12 00:00", "headcont": "40"}]
    orders, problems = parse_order_rows(rows)
    assert orders == []
    (p,) = problems
    assert p.where == "row 1 (header)" and p.field == "headcont" and "did you mean 'headcount'" in p.message


def test_remarks_are_kept_as_the_orders_note() -> None:
    """A 备注 (remarks) column is read as the order's ``note``."""
    rows = [{"编号": "A1", "区县": "410526", "人数": "40", "已筛查": "38", "工厂": "F1", "中介": "x",
             "最早出发": "2027-02-11 08:00", "最晚到达": "2027-02-12 00:00", "备注": "夜班"}]
    orders, problems = parse_order_rows(rows)
    assert problems == [] and orders[0]["note"] == "夜班"


def test_an_ambiguous_address_is_refused_with_its_candidates(tmp_path: Path) -> None:
    """An origin 朝阳区建国路88号 is refused naming both 朝阳区, not resolved to one of them."""
    doc = small()
    doc["orders"][0]["origin"] = {"address": "朝阳区建国路88号"}
    p = _problem(raises_input_error(write_json(tmp_path, doc)), "origin.address")
    assert "110105" in p.message and "220104" in p.message


# ------------------------------------------------------------------ trains in a workbook


def _train_doc(tiny) -> dict:
    from test_trains import train_scenario

    d = train_scenario(tiny, trains=2)
    d["trains"][1]["kind"] = "cars"
    d["trains"][1]["board_at"] = ["QJZ"]
    return d


def test_xlsx_stations_trains_and_calls_equal_json(tiny, tmp_path: Path) -> None:
    """Stations, train offers (board_at as a comma list) and their calls (sheet train_calls, in
    order) read from a workbook give the scenario the JSON gives."""
    doc = _train_doc(tiny)
    jpath = tmp_path / "t.json"
    jpath.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    from_xlsx = load_scenario(write_workbook(doc, tmp_path / "t.xlsx"))
    assert from_xlsx.model_dump() == load_scenario(jpath).model_dump()
    assert [c.station for c in from_xlsx.trains[0].calls] == ["QJZ", "ZZZ"]


def test_xlsx_unknown_sheet_is_refused_not_ignored(tiny, tmp_path: Path) -> None:
    path = write_workbook(_train_doc(tiny), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("trian_calls").append(["train", "station"])
    wb.save(path)
    err = raises_input_error(path)
    assert [p.field for p in err.problems] == ["sheet"] and "'trian_calls'" in err.problems[0].message


def test_xlsx_a_call_of_an_unknown_train_names_its_row(tiny, tmp_path: Path) -> None:
    path = write_workbook(_train_doc(tiny), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["train_calls"].append(["K9", "QJZ", None, "2027-02-11 20:00"])
    wb.save(path)
    err = raises_input_error(path)
    assert any(p.where == "train_calls row 6" and p.field == "train" and "'K9'" in p.message for p in err.problems)
