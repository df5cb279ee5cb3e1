"""What people read: the Chinese (and English) words for the contract's codes — reasons, trip
purposes, plan statuses, warnings, summary figures — for the command line, the console and the
exports. The codes themselves stay in the contract; only what is shown is translated."""

from __future__ import annotations

import re
from datetime import datetime

from .contract import SHANGHAI

#: why a worker is not planned / not matched
REASONS: dict[str, tuple[str, str]] = {
    "screening_pending": ("待筛查", "screening pending"),
    "screening_failed": ("筛查未通过", "screening failed"),
    "screening_expired": ("筛查已过期", "screening expired"),
    "region_closed": ("所在地区高风险，暂不能出行", "home region closed (high risk)"),
    "deadline_unreachable": ("赶不上到岗时间", "deadline unreachable"),
    "no_vehicle": ("无可用车辆", "no coach available"),
    "site_intake_full": ("工厂当日接收已满", "site's daily intake full"),
    "ride_time_exceeded": ("车程超过上限", "ride time over the limit"),
    "too_few_riders": ("人数不足开车", "too few riders"),
    "no_driver": ("无可用司机", "no driver available"),
    "no_train_seat": ("列车无座", "no train seat"),
    "connection_missed": ("赶不上列车", "train connection missed"),
    "outside_boarding_hours": ("只能在夜间上车", "could only board outside boarding hours"),
    "no_legal_trip": ("无合规车次", "no legal trip"),
    "no_acceptable_post": ("没有合适岗位", "no acceptable post"),
    "outranked": ("岗位已被更优先的人选满", "outranked"),
    "dorm_full": ("宿舍床位已满", "dorm beds full"),
    "group_unplaceable": ("同行组无法安排在同一工厂", "group cannot be placed together"),
    "no_transport": ("无法送达岗位所在工厂", "no transport to the post's site"),
}
PURPOSES: dict[str, tuple[str, str]] = {
    "direct": ("直达", "direct"), "feeder": ("接站", "feeder"), "last_mile": ("送厂", "last mile"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "queued": ("排队中", "queued"), "running": ("计算中", "running"), "done": ("已完成", "done"),
    "failed": ("失败", "failed"), "cancelled": ("已取消", "cancelled"),
}
#: a running plan's phase (planner.optimize's progress and the service's)
PHASES: dict[str, tuple[str, str]] = {
    "starting": ("启动中", "starting"), "reading": ("读取数据", "reading"), "trains": ("安排列车", "trains"),
    "pooling": ("组合拼车", "pooling"), "improving": ("优化线路", "improving"), "scheduling": ("排班", "scheduling"),
    "checking": ("检查", "checking"), "suggesting trains": ("建议专列", "suggesting trains"), "done": ("完成", "done"),
}
WARNINGS: dict[str, tuple[str, str]] = {
    "far_depot": ("车场离上车点过远", "depot far from its pickups"),
    "far_site": ("工厂离车场过远", "site far from every depot"),
    "county_renamed": ("区县已更名或合并", "county renamed or merged"),
    "no_show": ("未到人数已调整", "no-shows adjusted"),
}
#: the checker's findings (planner.check.RULE_CODES): what each rule code means to a person
RULES: dict[str, tuple[str, str]] = {
    "wrong_origin": ("上车点不是订单所在区县", "pickup is not the order's county"),
    "wrong_site": ("送错工厂", "dropped at the wrong site"),
    "depot": ("车场不符", "wrong depot"),
    "unknown_order": ("未知订单", "unknown order"),
    "worker_count": ("人数不符", "worker count does not add up"),
    "cleared": ("未筛查的工人上车", "uncleared workers board"),
    "unassigned_reason": ("未安排原因不符", "wrong unassigned reason"),
    "alight_mismatch": ("上下车人数不符", "boardings and alightings differ"),
    "screening_expired": ("筛查已过期", "screening expired"),
    "region_closed": ("高风险地区上车", "boarding in a high-risk region"),
    "cohort_mixed": ("客群混乘", "cohorts mixed"),
    "cohort": ("客群不符", "wrong cohort"),
    "vehicle_type": ("车型不存在", "unknown vehicle type"),
    "bus_index": ("车辆编号超出车队", "coach number beyond the fleet"),
    "duplicate_trip": ("车次重复", "duplicate trip"),
    "stop_order": ("站序错误", "stops out of order"),
    "empty_stop": ("空站点", "stop with nobody"),
    "pickup_stops": ("上车点过多", "too many pickups"),
    "seats": ("超员", "more riders than seats"),
    "min_riders": ("人数不足开车", "fewer riders than a trip needs"),
    "availability": ("车辆不在可用时段", "coach outside its available window"),
    "coach_overlap": ("同一辆车时间重叠", "one coach in two trips at once"),
    "boarding_time": ("上车时间不符", "boarding time outside the window"),
    "alight_time": ("下车时间不符", "alighting time wrong"),
    "crew": ("司机人数不足", "crew too small"),
    "km": ("里程不符", "km do not add up"),
    "cost": ("费用不符", "cost does not add up"),
    "earliest_departure": ("早于最早出发时间", "before the earliest departure"),
    "late_arrival": ("晚于到岗时间", "arrives after the deadline"),
    "receiving_hours": ("工厂接收时间外到达", "arrives outside receiving hours"),
    "site_intake": ("超过工厂每日接收量", "over the site's daily intake"),
    "ride_time": ("车程超过上限", "ride longer than allowed"),
    "leg_time": ("路段时间过短", "leg faster than the road allows"),
    "night_rest": ("夜间未停驶休息", "no night rest"),
    "continuous_driving": ("连续驾驶超时", "driving too long without a break"),
    "night_driving": ("夜间驾驶超时", "too much night driving"),
    "daily_driving": ("每日驾驶超时", "too much driving in a day"),
    "turnaround": ("回场休息不足", "too short a turnaround"),
    "drivers": ("司机安排不符", "drivers wrong"),
    "driver_overlap": ("同一司机时间重叠", "one driver on two coaches at once"),
    "before_now": ("安排在当前时间之前", "planned before now"),
    "wrong_station": ("车站不符", "wrong station"),
    "purpose": ("车次用途不符", "wrong trip purpose"),
    "train_load": ("列车载客不符", "train load wrong"),
    "train_seats": ("列车超员", "more train riders than seats"),
    "train_car_cohort": ("车厢客群混乘", "cohorts mixed in a car"),
    "train_min_riders": ("列车人数不足", "too few train riders"),
    "train_chain": ("接站、列车、送厂衔接不符", "feeder, train and last mile do not chain"),
    "connection": ("赶不上列车", "train connection missed"),
    "summary": ("概要数字不符", "summary figures wrong"),
    "lower_bound": ("下界不符", "lower bound wrong"),
    "boarding_hours": ("夜间上车", "boarding outside boarding hours"),
    "journey": ("行程不符", "journey figures wrong"),
    "detour": ("绕行车程过长", "ride too long for the detour"),
    "match_unknown": ("匹配到未知工人或岗位", "match names an unknown worker or post"),
    "match_twice": ("重复匹配", "matched twice"),
    "match_openings": ("超过岗位数", "more matches than openings"),
    "match_site": ("岗位工厂不符", "post at another site"),
    "match_unacceptable": ("工人不接受的岗位", "post the worker does not accept"),
    "match_signed": ("已签约工人被改派", "signed worker moved"),
    "match_dorm": ("宿舍床位不足", "dorm beds short"),
    "match_group": ("同行组被拆开", "group split up"),
    "match_screening": ("未筛查的工人被匹配", "uncleared worker matched"),
    "match_accounting": ("匹配人数不符", "match counts do not add up"),
    "match_reason": ("未匹配原因不符", "wrong unmatched reason"),
    "blocking_pairs": ("阻塞对超过上限", "more blocking pairs than allowed"),
    "match_summary": ("匹配概要不符", "match summary wrong"),
    "match_order": ("匹配订单不符", "derived order wrong"),
}

#: the command line's summary rows
SUMMARY: dict[str, tuple[str, str]] = {
    "title": ("计划概要", "plan for"),
    "workers requested": ("申请人数", "workers requested"),
    "workers eligible": ("可出行人数", "workers eligible"),
    "workers planned": ("已安排人数", "workers planned"),
    "trips": ("车次", "trips"),
    "coaches used": ("用车数", "coaches used"),
    "coach-km": ("车公里", "coach-km"),
    "cost (yuan)": ("费用（元）", "cost (yuan)"),
    "lower bound (km)": ("里程下界（公里）", "lower bound (km)"),
    "km ÷ bound": ("里程 ÷ 下界", "km ÷ bound"),
    "sharp bound (km)": ("整车下界（公里）", "sharp bound (km)"),
    "km ÷ sharp bound": ("里程 ÷ 整车下界", "km ÷ sharp bound"),
    "workers by coach": ("乘汽车人数", "workers by coach"),
    "workers by train": ("乘火车人数", "workers by train"),
    "trains run": ("开行列车", "trains run"),
    "train cost (yuan)": ("列车费用（元）", "train cost (yuan)"),
    "cost ÷ cost bound": ("费用 ÷ 费用下界", "cost ÷ cost bound"),
    "solve seconds": ("计算秒数", "solve seconds"),
    "special trains suggested": ("建议开行专列", "special trains suggested"),
    "hours on board mean / p95": ("在途小时 平均 / p95", "hours on board mean / p95"),
    "night boardings": ("夜间上车人数", "night boardings"),
    "unassigned": ("未安排", "unassigned"),
    "workers registered": ("登记工人", "workers registered"),
    "matched to posts": ("已匹配岗位", "matched to posts"),
    "fill rate": ("满岗率", "fill rate"),
    "first choice": ("第一志愿比例", "first choice"),
    "mean choice rank": ("平均志愿位次", "mean choice rank"),
    "blocking pairs": ("阻塞对", "blocking pairs"),
    "transport per matched (yuan)": ("每人交通费（元）", "transport per matched (yuan)"),
    "match": ("匹配方法", "match"),
    "unmatched": ("未匹配", "unmatched"),
}


def word(table: dict[str, tuple[str, str]], code: str, lang: str = "zh") -> str:
    """``code`` in ``lang`` (``zh`` Chinese, ``en`` English); an unknown code is shown as it is."""
    pair = table.get(code)
    if pair is None:
        return code
    return pair[0] if lang == "zh" else pair[1]


def local(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as people in the park read it: Asia/Shanghai (a naive time is taken as UTC, as the
    service stores it)."""
    if t is None:
        return ""
    if t.tzinfo is None:
        from datetime import timezone  # noqa: PLC0415

        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(SHANGHAI).strftime(fmt)


#: an unassigned row's ``detail`` (planner/_explain.py's sentences) in Chinese: pattern → template
_T = r"(\d\d-\d\d \d\d:\d\d|never|always)"
DETAILS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in (
    (r"^(\d+) of (\d+) not screened yet \(only cleared workers travel\)$",
     r"\2 人中 \1 人尚未筛查（只有筛查通过的工人可以出行）"),
    (r"^(\d+) of (\d+) failed screening$", r"\2 人中 \1 人筛查未通过"),
    (rf"^screening valid until {_T}, before the earliest boarding {_T}$",
     r"筛查有效期至 \1，早于最早上车时间 \2"),
    (rf"^screening valid until {_T}; boarding then, the fastest legal coach \(([\d.]+) h\) arrives {_T}; "
     r"no coach could board them by then$", r"筛查有效期至 \1；最快的合规车程 \2 小时，\3 到达；没有车能在此之前接上他们"),
    (rf"^(.+) is high-risk (.+), over their whole boarding window {_T}–{_T}$",
     r"\1 为高风险地区（\2），覆盖整个可上车时段 \3–\4"),
    (rf"^(.+) is high-risk when a coach could board them \({_T}–{_T}\)$", r"可上车时段（\2–\3）\1 为高风险地区"),
    (rf"^fastest legal coach ride ([\d.]+) h: boarding at {_T} it arrives {_T}, after the deadline {_T}$",
     r"最快的合规车程 \1 小时：\2 上车，\3 到达，晚于到岗时间 \4"),
    (rf"^the fastest legal coach ride \(([\d.]+) h\) from {_T} would arrive {_T}, but no coach could reach them "
     rf"and the site \((.+), receiving (\d\d:\d\d)–(\d\d:\d\d)\) by the deadline {_T}$",
     r"最快的合规车程 \1 小时，\2 出发可于 \3 到达，但没有车能在到岗时间 \7 前接上他们并送到工厂（\4，接收 \5–\6）"),
    (r"^fastest legal coach ride ([\d.]+) h > ([\d.]+) h$", r"最快的合规车程 \1 小时，超过上限 \2 小时"),
    (r"^fastest legal coach ride ([\d.]+) h of the ([\d.]+) h allowed, but no coach schedule kept it within the limit "
     r"\(the crews' rests, the night rest, receiving hours (\d\d:\d\d)–(\d\d:\d\d)\)$",
     r"最快的合规车程 \1 小时（上限 \2 小时），但算上司机休息、夜间停驶和工厂接收时间 \3–\4，没有车次能在上限内送达"),
    (r"^the (\d+) pool driver\(s\) were all busy or resting when a coach could bring them$",
     r"可派车时 \1 名机动司机都在出车或休息"),
    (r"^site (.+) takes (\d+) a day; on the days they could arrive: (.+)$",
     r"工厂 \1 每天接收 \2 人；他们可到达的日子：\3"),
    (rf"^(\d+) worker\(s\), fewer than the (\d+) a trip needs, and no trip with a seat boards in their window "
     rf"{_T}–{_T}$", r"\1 人，少于开车所需的 \2 人，且在他们的时段 \3–\4 内没有有空座的车次"),
    (r"^no coach brings them in time, and the trains that could are full: (.+)$", r"没有汽车能按时送达，能送达的列车已满：\1"),
    (r"^no train is offered$", "没有列车"),
    (rf"^nearest boarding station (.+) \(([\d,]+) km\): (.+) leaves {_T}; a feeder boarding at {_T} arrives {_T} "
     r"\+ (\d+) min, (-?\d+) min too late$",
     r"最近的上车站 \1（\2 公里）：\3 \4 开车；接站车 \5 上车，\6 到站，加 \7 分钟进站，晚 \8 分钟"),
    (rf"^they may board only {_T}–{_T}, outside the boarding hours (\d\d:\d\d)–(\d\d:\d\d)$",
     r"他们只能在 \1–\2 上车，不在上车时段 \3–\4 内"),
    (r"^no coach in the fleet$", "车队中没有车辆"),
)]
_DETAIL_WORDS = ((" available only ", " 仅可用于 "), (" busy ", " 忙碌 "), (" coaches of ", " 辆 "), (" coach of ", " 辆 "),
                 (" seats ", " 座 "), ("never", "无期限"), ("always", "一直"))


def detail(text: str | None, lang: str = "zh") -> str:
    """An unassigned row's ``detail`` in ``lang``: the optimiser's explanation in Chinese where its
    sentence is known (the times and figures kept), else as it is."""
    if not text or lang != "zh":
        return text or ""
    for pattern, template in DETAILS:
        m = pattern.match(text)
        if m:
            return m.expand(template).replace("never", "无期限").replace("always", "一直")
    if " available only " in text or " busy " in text:  # the fleet's: "3 coaches of 53 seats (c53) 80% busy …"
        out = text
        for a, b in _DETAIL_WORDS:
            out = out.replace(a, b)
        return out.replace("; ", "；")
    return text


def rule(code: str, lang: str = "zh") -> str:
    """A checker rule code as a person reads it (the code itself when unknown)."""
    return word(RULES, code, lang)


#: input fields as people name them (orders, workers, reference data)
FIELDS: dict[str, str] = {
    "headcount": "人数", "cleared": "已筛查", "earliest_departure": "最早出发", "arrive_by": "最晚到达",
    "site": "工厂", "origin": "区县或地址", "origin.county": "区县", "origin.address": "地址", "ref": "编号",
    "id": "编号", "name": "姓名", "id_number": "身份证号", "phone": "手机", "hometown": "户籍地址",
    "screening": "筛查结果", "screening_valid_until": "筛查有效期", "county": "区县", "risk": "风险等级",
    "from": "起", "until": "至", "count": "数量", "seats": "座位数", "file": "文件", "policy": "规则",
}

#: an error message's sentence in Chinese: pattern → template (``{field}`` names a field)
PROBLEMS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in (
    (r"^required field is missing$", "缺少必填项"),
    (r"^Field required$", "缺少必填项"),
    (r"^Input should be a valid integer.*?(?:\(got '(.*)'\))?$", "应为整数（填的是 '\\1'）"),
    (r"^Input should be a valid number.*?(?:\(got '(.*)'\))?$", "应为数字（填的是 '\\1'）"),
    (r"^Input should be a finite number.*$", "应为有限的数字（不能是 NaN 或 Infinity）"),
    (r"^Input should be a valid (?:datetime|date).*?(?:\(got '(.*)'\))?$",
     "应为日期和时间，如 2027-02-11 08:00（填的是 '\\1'）"),
    (r"^Input should be a valid string.*$", "应为文字"),
    (r"^Input should be greater than or equal to (\S+?)(?: \(got '(.*)'\))?$", "应不小于 \\1"),
    (r"^Input should be greater than (\S+?)(?: \(got '(.*)'\))?$", "应大于 \\1"),
    (r"^Input should be less than or equal to (\S+?)(?: \(got '(.*)'\))?$", "应不大于 \\1"),
    (r"^Input should be '(.+)'(?: \(got '(.*)'\))?$", "应为以下之一：\\1"),
    (r"^(\w+) must be after (\w+)$", "{1} 应晚于 {2}"),
    (r"^cleared \((\d+)\) exceeds headcount \((\d+)\)$", "已筛查人数（\\1）超过人数（\\2）"),
    (r"^county must be a 6-digit administrative code, got '(.*)'$",
     "区县应为 6 位行政区划代码（填的是 '\\1'；区县名称请填在“地址”列）"),
    (r"^(.+): (\d+) problem\(s\) in (\d+) row\(s\) of (\d+); nothing was stored$",
     "\\1：共 \\4 行，其中 \\3 行有 \\2 处错误；未保存任何内容"),
    (r"^(.+): (\d+) problem\(s\); nothing was changed$", "\\1：有 \\2 处错误；未作任何修改"),
    (r"^(\d+) problem\(s\) in the (orders|workers|posts|regions); nothing was (?:stored|changed)$",
     "有 \\1 处错误（\\2）；未保存任何内容"),
    (r"^the form is stale or forged \(CSRF token mismatch\): reload the page$", "表单已过期，请刷新页面后重试"),
    (r"^no plan (\d+)$", "没有方案 #\\1"),
    (r"^only (?:a park coordinator|an HR agency) .*$", "你的账号没有这项权限"),
    (r"^(?:reference data|posts) (?:is|are) the park coordinator's$", "只有园区调度员可以修改"),
    (r"^the (?:dispatch sheets|operators' schedule) (?:is|are) the park coordinator's$", "只有园区调度员可以下载"),
    (r"^no download (.+)$", "没有这个下载文件：\\1"),
)]


def field(name: str | None, lang: str = "zh") -> str:
    """An input field as people read it: ``人数 headcount`` (the field itself when unknown)."""
    if not name:
        return ""
    if lang != "zh":
        return name
    zh = FIELDS.get(name) or FIELDS.get(name.rsplit(".", 1)[-1].split("[", 1)[0])
    return f"{zh} {name}" if zh else name


def problem(text: str | None, lang: str = "zh") -> str:
    """An error message in ``lang``: a known sentence in Chinese (the values kept), else as it is;
    a message already in Chinese is left alone."""
    if not text or lang != "zh" or re.search(r"[\u4e00-\u9fff]", text.split("(", 1)[0][:12]):
        return text or ""
    for pattern, template in PROBLEMS:
        m = pattern.match(text)
        if m:
            out = m.expand(template) if "\\" in template else template
            if "{1}" in out or "{2}" in out:
                out = out.replace("{1}", field(m.group(1))).replace("{2}", field(m.group(2)))
            return out.replace("（填的是 ''）", "")
    return text
