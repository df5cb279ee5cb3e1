"""Paper: the passenger manifests (乘车名单) and dispatch sheets (调度单) as A4 PDFs with an
embedded Chinese font; page 1 renders (pdftoppm, when the machine has it)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")


def _pdf(resp):
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(resp.content))


def _text(reader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _embedded_fonts(reader) -> set[str]:
    """Base names of the fonts whose program is in the file (FontFile2/3 in a descriptor)."""
    out = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            for desc_font in [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]:
                desc = desc_font.get("/FontDescriptor")
                if desc is not None and any(k in desc.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    out.add(str(desc_font["/BaseFont"]))
    return out


def _renders(content: bytes, tmp_path: Path) -> None:
    """Page 1 renders to a non-empty PNG (skipped without Debian's pdftoppm; the rest of a test is not)."""
    if shutil.which("pdftoppm") is None:
        return
    src = tmp_path / "doc.pdf"
    src.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(src), str(tmp_path / "p1")],
                   check=True, timeout=60)
    png = tmp_path / "p1.png"
    assert png.is_file() and png.stat().st_size > 1000


def test_manifest_pdf_for_coordinators(client, coordinator, done_plan, tmp_path):
    """The coordinator's manifest PDF: A4, 乘车名单 as text, the font embedded, a page per trip,
    the named workers with full ID numbers and the roster-less order with its count."""
    r = client.get(f"/v1/plans/{done_plan}/manifests.pdf", headers=coordinator)
    reader = _pdf(r)
    assert "manifests-plan" in r.headers["content-disposition"]
    text = _text(reader)
    assert "乘车名单" in text and f"方案 plan #{done_plan}" in text and ("版本 version 1" in text or "未发布" in text)
    assert "张三" in text and "李四" in text and "王五" not in text  # 王五 is not cleared
    assert "410526199001011234" in text and "13900001111" in text
    assert "名单未登记" in text and "(B1)" in text
    assert _embedded_fonts(reader), "the Chinese font is embedded"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    trips = client.get(f"/v1/plans/{done_plan}/trips", headers=coordinator).json()
    riding = [t for t in trips if any(s.get("board") for s in t["stops"])]
    assert len(reader.pages) >= len(riding)
    assert all(t["id"] in text for t in riding)
    _renders(r.content, tmp_path)

    one = riding[-1]["id"]
    text_one = _text(_pdf(client.get(f"/v1/plans/{done_plan}/manifests.pdf?trip={one}", headers=coordinator)))
    assert one in text_one and all(t["id"] not in text_one for t in riding if t["id"] != one)
    assert client.get(f"/v1/plans/{done_plan}/manifests.pdf?trip=T9999", headers=coordinator).status_code == 404
    masked = _text(_pdf(client.get(f"/v1/plans/{done_plan}/manifests.pdf?masked=true", headers=coordinator)))
    assert "410526199001011234" not in masked and "4105**********1234" in masked


def test_agency_manifest_pdf_has_only_its_workers(client, agency_a, agency_b, done_plan):
    """An agency's manifest PDF lists its own workers only, masked; no trip of the other agency's."""
    text = _text(_pdf(client.get(f"/v1/plans/{done_plan}/manifests.pdf", headers=agency_a)))
    assert "乘车名单" in text and "张三" in text and "4105**********1234" in text and "139****1111" in text
    assert "410526199001011234" not in text and "(B1)" not in text and "agency-b" not in text and "名单未登记" not in text
    text_b = _text(_pdf(client.get(f"/v1/plans/{done_plan}/manifests.pdf", headers=agency_b)))
    assert "(B1)" in text_b and "张三" not in text_b and "agency-a" not in text_b


def test_dispatch_pdf_per_operator(client, coordinator, agency_a, done_plan, tmp_path):
    """The dispatch sheets: 调度单 per operator (a coach type's operator, else the type), every
    trip listed with its stops; coordinators only."""
    r = client.get(f"/v1/plans/{done_plan}/dispatch.pdf", headers=coordinator)
    reader = _pdf(r)
    text = _text(reader)
    assert "调度单" in text and _embedded_fonts(reader)
    trips = client.get(f"/v1/plans/{done_plan}/trips", headers=coordinator).json()
    assert all(t["id"] in text for t in trips)
    vehicle_types = {t["vehicle_type"] for t in trips}
    if "coach53" in vehicle_types:
        assert "豫运" in text
    if "coach35" in vehicle_types:
        assert "未填运营商" in text
    _renders(r.content, tmp_path)
    assert client.get(f"/v1/plans/{done_plan}/dispatch.pdf", headers=agency_a).status_code == 403
    assert client.get(f"/v1/plans/{done_plan}/dispatch.pdf?operator=nobody", headers=coordinator).status_code == 404


def test_console_links_to_the_pdfs(client, coordinator, done_plan):
    """The console's plan page links the PDFs beside the spreadsheets, and they download."""
    client.post("/sign-in", data={"key": coordinator["Authorization"].split()[1],
                                  "csrf": _csrf(client)}, follow_redirects=True)
    page = client.get(f"/console/plans/{done_plan}").text
    assert f"/console/plans/{done_plan}/files/manifests.pdf" in page
    assert f"/console/plans/{done_plan}/files/dispatch.pdf" in page
    assert "@media print" in page and 'class="trip-sheet"' in page
    r = client.get(f"/console/plans/{done_plan}/files/dispatch.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"


def _csrf(client) -> str:
    import re

    page = client.get("/").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
