"""The report as a Word document (python-docx): title, issuing unit, date, the conclusion, the
"what was counted" notes, the indicator and coverage tables (the same formatted cells as the HTML
page: shares as percent, counts with separators) and the maps.

A bureau's own letterhead and styles: if the workspace has ``templates/report.docx``, the document
starts from it (its styles, page set-up, headers and footers) and the report is appended.
Text goes in as text runs (python-docx escapes XML); characters XML cannot hold (control
characters) are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mzgis.maps.report import ReportContent, date_zh
from mzgis.maps.summary import Table

__all__ = ["DOCX_TEMPLATE", "write_docx", "xml_text"]

DOCX_TEMPLATE = "report.docx"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
BODY_FONT = "宋体"
HEAD_FONT = "黑体"
_CLASS_COLOUR = {"ok": (0x1A, 0x7F, 0x37), "bad": (0xC6, 0x28, 0x28), "na": (0x77, 0x77, 0x77)}


def xml_text(value: Any) -> str:
    """Text that XML can hold (control characters dropped)."""
    return _XML_BAD.sub("", str(value))


def _east_asian(style_or_run: Any, name: str) -> None:
    from docx.oxml.ns import qn

    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def write_docx(content: ReportContent, path: Path, *, templates: Path | None = None) -> Path:
    """Write the report as ``.docx``."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    base = templates / DOCX_TEMPLATE if templates is not None else None
    if base is not None and base.is_file():
        doc = Document(str(base))
    else:
        doc = Document()
        sec = doc.sections[0]
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.left_margin = sec.right_margin = Mm(20)
        sec.top_margin = sec.bottom_margin = Mm(20)
        normal = doc.styles["Normal"]
        normal.font.size = Pt(10.5)
        _east_asian(normal, BODY_FONT)
        for name in ("Title", "Heading 1", "Heading 2"):
            _east_asian(doc.styles[name], HEAD_FONT)
    core = doc.core_properties
    core.title = xml_text(content.title)[:255]
    core.author = xml_text(content.issuing_unit)[:255]

    h = doc.add_heading(xml_text(content.title), level=0)
    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run(f"发布单位：{xml_text(content.issuing_unit)}　　日期：{date_zh(content.date)}")
    if content.sample:
        r = doc.add_paragraph().add_run("示例数据 sample data：设施、小区与人口为随机生成，仅作演示；路网为 OpenStreetMap 真实数据。")
        r.font.color.rgb = RGBColor(0x8A, 0x4B, 0x00)
    doc.add_heading("结论", level=1)
    doc.add_paragraph(xml_text(content.conclusion))
    for n in content.notes:
        r = doc.add_paragraph().add_run(xml_text(n))
        r.font.size = Pt(8.5)
        r.font.color.rgb = RGBColor(0x55, 0x55, 0x55)

    numerals = "一二三四五六七八九十"
    for i, t in enumerate(content.tables):
        doc.add_heading(f"{numerals[i % 10]}、{xml_text(t.title)}", level=1)
        _add_table(doc, t)
    if content.images:
        doc.add_heading(f"{numerals[len(content.tables) % 10]}、专题图", level=1)
        for img in content.images:
            doc.add_picture(str(img), width=_usable_width(doc))
        if content.pdfs:
            doc.add_paragraph("打印用地图（A4/A3，横版/竖版）：" + "、".join(p.name for p in content.pdfs))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _add_table(doc: Any, t: Table) -> None:
    """One report table: a bold repeated header row, numbers right-aligned, pass/fail coloured."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    table = doc.add_table(rows=1, cols=len(t.columns))
    table.style = "Table Grid" if "Table Grid" in [s.name for s in doc.styles] else table.style
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, head in zip(table.rows[0].cells, t.columns, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(xml_text(head))
        run.bold = True
        run.font.size = Pt(8)
    _repeat_header(table.rows[0])
    for row, classes in zip(t.rows, t.classes, strict=True):
        cells = table.add_row().cells
        for cell, value, cls in zip(cells, row, classes, strict=True):
            para = cell.paragraphs[0]
            run = para.add_run(xml_text(value))
            run.font.size = Pt(8)
            if cls == "num":
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if cls in _CLASS_COLOUR:
                run.font.color.rgb = RGBColor(*_CLASS_COLOUR[cls])
                run.bold = cls != "na"
    _column_widths(table, [t.columns, *t.rows], _usable_width(doc))
    if t.note:
        doc.add_paragraph(xml_text(t.note)).runs[0].font.size = Pt(8.5)
    if t.figure is not None:
        doc.add_picture(str(t.figure), width=min(Mm(120), _usable_width(doc)))


def _usable_width(doc: Any) -> int:
    """The text width of the last section, in EMU."""
    from docx.shared import Mm

    sec = doc.sections[-1]
    return int(sec.page_width or Mm(210)) - int(sec.left_margin or 0) - int(sec.right_margin or 0)


def _column_widths(table: Any, rows: list[list[str]], usable: int) -> None:
    """Widths by content at 8 pt (a Chinese character counts two half-width units): columns of
    short values (numbers, ids, 达标) get the room they need so they do not wrap, and long text
    columns share what is left; the table fills the text width."""
    from mzgis.maps.print_map import text_width

    unit_emu, pad_emu = 66_000, 150_000  # ~5.2 pt per half-width unit at 8 pt (wide fallback fonts); padding
    head, body = rows[0], rows[1:]
    units = [max([min(text_width(str(head[i])), 8), *(min(text_width(str(r[i])), 80) for r in body)], default=4)
             for i in range(len(head))]
    need = [u * unit_emu + pad_emu for u in units]
    fixed: set[int] = set()
    widths = [float(n) for n in need]
    while True:
        flex = [i for i in range(len(need)) if i not in fixed]
        rest = usable - sum(need[i] for i in fixed)
        if not flex:
            break
        scale = rest / sum(need[i] for i in flex)
        small = [i for i in flex if need[i] <= rest / len(flex)]
        if scale >= 1 or not small:
            for i in flex:
                widths[i] = need[i] * scale
            break
        fixed.update(small)
    table.autofit = False
    for i, col in enumerate(table.columns):
        w = int(widths[i])
        col.width = w
        for cell in col.cells:
            cell.width = w


def _repeat_header(row: Any) -> None:
    """Repeat the header row on every page the table spans."""
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    el = trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
    trpr.append(el)
