"""Paper for the people who run the coaches: a passenger manifest (乘车名单) per coach trip and
a dispatch sheet (调度单) per bus operator, as A4 PDFs with a Chinese font embedded (subset).

The manifest's rows are :func:`api.exports.manifest_rows` (the CSV's rows: the same seats, the
same masking and the same agency scope), grouped by trip and pickup stop. The dispatch sheet
lists an operator's coaches' trips in time order (an operator: a coach type's ``operator``,
else the coach type itself).

The font: the first TrueType (``glyf``) font found of ``FANGANG_PDF_FONT`` (a .ttf/.ttc path),
WenQuanYi Micro Hei from the PyPI package ``paperang-p2-fonts-cjk`` (a dependency), Debian's
``fonts-wqy-zenhei`` / ``fonts-wqy-microhei``. With none, the PDF falls back to reportlab's
``STSong-Light`` CID font, which is *referenced*, not embedded (a reader then needs its own
Chinese font), and a warning is logged.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence
from xml.sax.saxutils import escape

from planner.contract import SHANGHAI, Trip

from . import exports as ex
from .stored import EARLIEST, StoredPlan, alighted, boarded

log = logging.getLogger("fangang.api.printouts")

FONT = "FangangCJK"
_lock = threading.Lock()
_font: Optional[tuple[str, Optional[str]]] = None  # (reportlab font name, file embedded or None)


def _candidates() -> list[Path]:
    out = []
    env = os.environ.get("FANGANG_PDF_FONT")
    if env:
        out.append(Path(env))
    try:
        import paperang_p2_fonts_cjk  # noqa: PLC0415

        out.append(Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc")
    except ImportError:
        pass
    out += [Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")]
    return out


def font() -> tuple[str, Optional[str]]:
    """Registers (once) and returns the font to write Chinese with: (its reportlab name, the file
    it is embedded from, or None for the non-embedded CID fallback)."""
    global _font
    with _lock:
        if _font is not None:
            return _font
        from reportlab.lib.fonts import addMapping  # noqa: PLC0415
        from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
        from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415

        for path in _candidates():
            if not path.is_file():
                continue
            try:
                pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            except Exception as exc:  # noqa: BLE001  (a CFF-outline or broken font: try the next)
                log.warning("PDF font %s not usable: %s", path, exc)
                continue
            for bold in (0, 1):
                for italic in (0, 1):
                    addMapping(FONT, bold, italic, FONT)
            _font = (FONT, str(path))
            return _font
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415

        log.warning("no TrueType font with Chinese glyphs found (pip install paperang-p2-fonts-cjk, or "
                    "apt-get install fonts-wqy-zenhei, or set FANGANG_PDF_FONT): PDFs reference STSong-Light "
                    "without embedding it")
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        _font = ("STSong-Light", None)
        return _font


# ------------------------------------------------------------------ layout helpers


class _Doc:
    """Styles and the page template shared by both documents."""

    def __init__(self, title: str, subject: str, header: str) -> None:
        from reportlab.lib.pagesizes import A4  # noqa: PLC0415
        from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415
        from reportlab.lib.units import mm  # noqa: PLC0415
        from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate  # noqa: PLC0415

        name, _ = font()
        self.mm = mm
        self.width = A4[0] - 30 * mm
        self.buf = io.BytesIO()
        self.header = header
        self.printed = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        self.doc = BaseDocTemplate(self.buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=18 * mm,
                                   bottomMargin=16 * mm, title=title, subject=subject, author="fangang 返岗",
                                   creator="fangang", initialFontName=name, initialFontSize=9)
        frame = Frame(self.doc.leftMargin, self.doc.bottomMargin, self.doc.width, self.doc.height, id="body")
        self.doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=self._furniture)])
        base = dict(fontName=name, wordWrap="CJK")
        self.title = ParagraphStyle("title", fontSize=16, leading=21, spaceAfter=4, **base)
        self.h2 = ParagraphStyle("h2", fontSize=11, leading=15, spaceBefore=4, spaceAfter=3, **base)
        self.text = ParagraphStyle("text", fontSize=9, leading=12, **base)
        self.cell = ParagraphStyle("cell", fontSize=8.5, leading=11, **base)
        self.head = ParagraphStyle("head", fontSize=8.5, leading=11, textColor="#ffffff", **base)
        self.small = ParagraphStyle("small", fontSize=7.5, leading=9.5, **base)

    def _furniture(self, canvas: Any, doc: Any) -> None:
        """Running head (the document and the trip or operator on this page) and page number."""
        name, _ = font()
        canvas.saveState()
        canvas.setFont(name, 8)
        canvas.setFillColor("#555555")
        top = doc.pagesize[1] - 11 * self.mm
        label = getattr(canvas, "_fangang_label", "")
        canvas.drawString(doc.leftMargin, top, self.header)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, top, label)
        canvas.setStrokeColor("#999999")
        canvas.line(doc.leftMargin, top - 2, doc.pagesize[0] - doc.rightMargin, top - 2)
        canvas.drawString(doc.leftMargin, 9 * self.mm, f"打印 printed {self.printed} (Asia/Shanghai)")
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 9 * self.mm, f"第 {canvas.getPageNumber()} 页 page")
        canvas.restoreState()

    def p(self, text: str, style: Any = None) -> Any:
        from reportlab.platypus import Paragraph  # noqa: PLC0415

        return Paragraph(text, style or self.cell)

    def fit(self, text: str, width: float) -> Any:
        """A cell: plain text when it fits the column (fast: most cells), else a wrapping paragraph."""
        from reportlab.pdfbase.pdfmetrics import stringWidth  # noqa: PLC0415

        if stringWidth(text, self.cell.fontName, self.cell.fontSize) <= width - 7:
            return text
        return self.p(_e(text))

    def build(self, story: list[Any]) -> bytes:
        self.doc.build(story)
        return self.buf.getvalue()


def _label(text: str) -> Any:
    """A zero-size flowable naming what the following pages are about (for the running head)."""
    from reportlab.platypus import Flowable  # noqa: PLC0415

    class Label(Flowable):
        def wrap(self, *_: Any) -> tuple[float, float]:
            return (0, 0)

        def draw(self) -> None:
            self.canv._fangang_label = text

    return Label()


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _short(text: str) -> str:
    """'2027-02-11 08:00' → '02-11 08:00'."""
    return text[5:] if len(text) == 16 else text


def _drivers(trip: Trip) -> str:
    if trip.drivers:
        return "、".join(trip.drivers)
    return f"随车司机 {trip.crew} 名 (coach crew of {trip.crew})"


def _table(rows: list[list[Any]], widths: Sequence[float], spans: Sequence[int] = (), total: bool = False,
           zebra: bool = True) -> Any:
    """A table whose first row is a header repeated on every page; ``spans``: rows that span all
    columns (a pickup stop's heading); ``total``: the last row is a total."""
    from reportlab.platypus import Table, TableStyle  # noqa: PLC0415

    name, _ = font()
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), name), ("FONTSIZE", (0, 0), (-1, -1), 8.5), ("LEADING", (0, 0), (-1, -1), 11),
        ("BACKGROUND", (0, 0), (-1, 0), "#1f3a5f"),
        ("GRID", (0, 0), (-1, -1), 0.4, "#8a8a8a"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if zebra:
        style.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), ["#ffffff", "#f3f5f8"]))
    for r in spans:
        style += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), "#dde6f0")]
    if total:
        style += [("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)), ("BACKGROUND", (0, -1), (-1, -1), "#eeeeee")]
    t = Table(rows, colWidths=list(widths), repeatRows=1, splitByRow=1)
    t.setStyle(TableStyle(style))
    return t


def _info(d: _Doc, pairs: list[tuple[str, str]]) -> Any:
    from reportlab.platypus import Table, TableStyle  # noqa: PLC0415

    rows = [[d.p(_e(k)), d.p(v)] for k, v in pairs]
    t = Table(rows, colWidths=[34 * d.mm, d.width - 34 * d.mm])
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#cccccc"),
                           ("LEFTPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 1),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return t


def _fleet(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in snapshot["scenario"].get("fleet", [])}


def _order(oid: str, stored: StoredPlan) -> str:
    """An order's id with the agency's own reference, if any: '2 (B1)'."""
    ref = stored.ref_of(oid)
    return f"{oid} ({ref})" if ref and ref != oid else oid


def _coach_text(trip: Trip, fleet: dict[str, dict[str, Any]]) -> str:
    seats = fleet.get(trip.vehicle_type, {}).get("seats")
    kind = f"{trip.vehicle_type} ({seats} 座 seats)" if seats else trip.vehicle_type
    return f"车型 {kind} · {trip.bus + 1} 号车 coach #{trip.bus + 1}"


# ------------------------------------------------------------------ 乘车名单


MANIFEST_TITLE = "乘车名单"
DISPATCH_TITLE = "调度单"


def manifest_pdf(stored: StoredPlan, rows: list[ex.Row], *, plan_label: str,
                 trips: Optional[set[str]] = None, scoped: bool = False) -> bytes:
    """One page group per coach trip that has rows (or per trip in ``trips``): the trip's coach,
    drivers, depot departure, each pickup stop with the workers boarding there (or the order and
    count where no roster), seats per stop and in total, and the drops. ``rows`` are
    :func:`api.exports.manifest_rows` as the viewer may see them; ``scoped``: they are one
    agency's, so the drops and totals count only theirs."""
    from reportlab.platypus import PageBreak, Spacer  # noqa: PLC0415

    d = _Doc(f"{MANIFEST_TITLE} passenger manifests — {plan_label}", "乘车名单 passenger manifests",
             f"fangang 返岗 · {MANIFEST_TITLE} passenger manifest · {plan_label}")
    fleet = _fleet(stored.snapshot)
    by_trip: dict[str, list[ex.Row]] = defaultdict(list)
    for r in rows:
        by_trip[r["车次 trip"]].append(r)
    shown = [t for t in stored.ordered_trips() if t.id in by_trip and (trips is None or t.id in trips)]
    mm = d.mm
    widths = [10 * mm, 24 * mm, 38 * mm, 25 * mm, 22 * mm, 0.0, 17 * mm]
    widths[5] = d.width - sum(widths)
    header = [d.p(_e(h), d.head) for h in ("序号 no.", "姓名 name", "身份证号 ID number", "电话 phone", "订单 order",
                                            "中介 agency", "人数 seats")]
    story: list[Any] = []
    for n, trip in enumerate(shown):
        if n:
            story.append(PageBreak())
        story.append(_label(f"车次 trip {trip.id} · {ex.coach(trip)}"))
        story.append(d.p(f"{MANIFEST_TITLE} · 车次 {_e(trip.id)}", d.title))
        visible = {r["订单 order"] for r in by_trip[trip.id]}
        depart = trip.stops[0] if trip.stops else None
        drops = []
        for s in trip.stops:
            if s.kind != "drop":
                continue
            n_off = sum(ld.count for ld in s.alight if not scoped or ld.order in visible)
            if n_off:
                drops.append(f"{_e(ex._place(s.place))} · 到达 {_e(ex._t(s.arrive))} · 下车 {n_off} 人")
        info = [("方案 plan", _e(plan_label)),
                ("车辆 coach", _e(_coach_text(trip, fleet))
                 + (f" · 运营商 operator {_e(fleet[trip.vehicle_type]['operator'])}"
                    if fleet.get(trip.vehicle_type, {}).get("operator") else "")),
                ("司机 driver(s)", _e(_drivers(trip))),
                ("用途 purpose", _e(ex._PURPOSE.get(trip.purpose, "")) + (" · 已发车 dispatched"
                                                                       if trip.dispatched else "")),
                ("出场 leaves depot", f"{_e(trip.depot)} · {_e(ex._t(depart.depart if depart else None))}"),
                ("下车 drop(s)", "<br/>".join(drops) or "—")]
        story += [_info(d, info), Spacer(1, 4 * mm)]
        table: list[list[Any]] = [header]
        spans: list[int] = []
        total = 0
        stops: dict[tuple[str, str], list[ex.Row]] = {}
        for r in by_trip[trip.id]:
            stops.setdefault((r["上车点 pickup"], r["上车时间 boarding"]), []).append(r)
        for k, ((place, boarding), rs) in enumerate(stops.items(), start=1):
            seats = sum(int(r["人数 count"]) for r in rs)
            total += seats
            departs = rs[0]["发车 departs"]
            spans.append(len(table))
            table.append([d.fit(f"上车点 {k} pickup: {place} · 上车 boarding {boarding}"
                                f" · 发车 departs {_short(departs)} · 本站 {seats} 人 seats", d.width)] + [""] * 6)
            for r in rs:
                cells = [r["序号 no."], r["姓名 name"], r["身份证号 ID number"], r["电话 phone"],
                         _order(r["订单 order"], stored), r["中介 agency"], r["人数 count"]]
                table.append([d.fit("" if c is None else str(c), w) for c, w in zip(cells, widths)])
        seats_of = fleet.get(trip.vehicle_type, {}).get("seats")
        table.append([d.p(f"<b>合计 total: {total} 人 seats</b>" + (f" / {seats_of} 座 on the coach" if seats_of else ""))]
                     + [""] * 6)
        story.append(_table(table, widths, spans, total=True, zebra=False))
        story.append(Spacer(1, 6 * mm))
        story.append(d.p("司机签字 driver's signature: ____________________　　带队签字 escort: ____________________",
                         d.text))
    if not shown:
        story.append(d.p(f"{MANIFEST_TITLE} passenger manifest", d.title))
        story.append(d.p("没有车次 no coach trips to list.", d.text))
    return d.build(story)


# ------------------------------------------------------------------ 调度单


def operator_of(trip: Trip, fleet: dict[str, dict[str, Any]]) -> str:
    """The bus operator a trip's coach belongs to, else its coach type."""
    op = fleet.get(trip.vehicle_type, {}).get("operator")
    return op or f"车型 {trip.vehicle_type} (未填运营商 no operator)"


def dispatch_pdf(stored: StoredPlan, *, plan_label: str,
                 operator: Optional[str] = None) -> bytes:
    """One page group per bus operator (or coach type without one): its coaches' trips in time
    order with the trip, coach, drivers, depot departure, each stop (place, time, boarding and
    alighting), the return to the depot and the km."""
    from reportlab.platypus import PageBreak, Spacer  # noqa: PLC0415

    d = _Doc(f"{DISPATCH_TITLE} dispatch sheets — {plan_label}", "调度单 dispatch sheets",
             f"fangang 返岗 · {DISPATCH_TITLE} dispatch sheet · {plan_label}")
    fleet = _fleet(stored.snapshot)
    groups: dict[str, list[Trip]] = defaultdict(list)
    for trip in stored.trips:
        groups[operator_of(trip, fleet)].append(trip)
    if operator is not None:
        groups = {k: v for k, v in groups.items() if k == operator}
    mm = d.mm
    widths = [17 * mm, 22 * mm, 24 * mm, 21 * mm, 0.0, 19 * mm, 15 * mm]
    widths[4] = d.width - sum(widths)
    header = [d.p(_e(h), d.head) for h in ("车次 trip", "车辆 coach", "司机 drivers", "出场 leaves depot",
                                            "站点 stops (place · time · on/off)", "回场 back", "公里 km")]
    kinds = {"pickup": "上", "drop": "下"}
    story: list[Any] = []
    for n, (name, trips) in enumerate(sorted(groups.items())):
        if n:
            story.append(PageBreak())
        trips.sort(key=lambda t: ((t.stops[0].depart or EARLIEST) if t.stops else EARLIEST, t.id))
        story.append(_label(f"运营商 operator {name}"))
        story.append(d.p(f"{DISPATCH_TITLE} · {_e(name)}", d.title))
        types = sorted({t.vehicle_type for t in trips})
        coaches = len({(t.vehicle_type, t.bus) for t in trips})
        km = sum(float(t.km or 0) for t in trips)
        story += [_info(d, [("方案 plan", _e(plan_label)),
                            ("车型 coach types", _e("、".join(
                                f"{v} ({fleet.get(v, {}).get('seats', '?')} 座)" for v in types))),
                            ("合计 totals", f"{len(trips)} 车次 trips · {coaches} 辆车 coaches · {km:,.0f} 公里 km")]),
                  Spacer(1, 4 * mm)]
        table: list[list[Any]] = [header]
        for t in trips:
            stops = [s for s in t.stops if s.kind in kinds]
            lines = []
            for s in stops:
                when = _short(ex._t(s.arrive))
                count = f"↑{boarded(s)}" if s.kind == "pickup" else f"↓{alighted(s)}"
                lines.append(f"{kinds[s.kind]} {_e(ex._place(s.place))} · {_e(when)} · {count}")
            first, last = (t.stops[0], t.stops[-1]) if t.stops else (None, None)
            back = last.arrive if last is not None and last.kind == "return" else None
            trip_cell = _e(t.id) + "<br/>" + _e(ex._PURPOSE.get(t.purpose, ""))
            if t.dispatched:
                trip_cell += "<br/>已发车 dispatched"
            table.append([d.p(trip_cell, d.small), d.p(_e(ex.coach(t))), d.p(_e(_drivers(t)), d.small),
                          d.p(_e(t.depot) + "<br/>" + _e(_short(ex._t(first.depart if first else None)))),
                          d.p("<br/>".join(lines), d.small), d.p(_e(_short(ex._t(back))) or "—"),
                          d.p(f"{float(t.km or 0):,.0f}")])
        story.append(_table(table, widths))
    if not groups:
        story.append(d.p(f"{DISPATCH_TITLE} dispatch sheet", d.title))
        story.append(d.p("没有车次 no coach trips to list.", d.text))
    return d.build(story)


# ------------------------------------------------------------------ the console's print view


def trip_sheets(stored: StoredPlan) -> list[dict[str, Any]]:
    """Each trip's stops with Shanghai times, for the plan page's print view (one trip a page)."""
    out = []
    for t in stored.ordered_trips():
        out.append({"id": t.id, "coach": ex.coach(t), "drivers": _drivers(t), "km": t.km,
                    "stops": [{"kind": ex._KIND.get(s.kind, s.kind), "place": ex._place(s.place),
                               "arrive": ex._t(s.arrive), "depart": ex._t(s.depart),
                               "board": boarded(s) or "", "alight": alighted(s) or ""}
                              for s in t.stops]})
    return out
