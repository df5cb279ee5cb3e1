"""What people read: the Chinese (and English) words for the contract's codes — reasons, trip
purposes, plan statuses, warnings, summary figures — for the command line, the console and the
exports. The codes themselves stay in the contract; only what is shown is translated."""

from __future__ import annotations

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
WARNINGS: dict[str, tuple[str, str]] = {
    "far_depot": ("车场离上车点过远", "depot far from its pickups"),
    "far_site": ("工厂离车场过远", "site far from every depot"),
    "county_renamed": ("区县已更名或合并", "county renamed or merged"),
    "no_show": ("未到人数已调整", "no-shows adjusted"),
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
