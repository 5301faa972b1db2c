"""Reports for leaders: one self-contained HTML file (conclusion, indicators, coverage, uncovered
communities, the maps), built from Jinja2 templates a bureau can edit, and static PNG maps.

The page is rendered from ``report.html.j2`` — the workspace's own ``templates/report.html.j2``
when there is one, else the one shipped in ``mzgis/maps/templates``. User text is data, never
template source: names, values and config text reach the template only as variables. The
environment autoescapes, is sandboxed, refuses undefined names (``StrictUndefined``), and every
value printed goes through :func:`~mzgis.maps.safe_html.esc` (which also turns ``{`` ``}`` into
entities, so no later template engine could see a delimiter in a name). Images are embedded as
``data:`` URIs and the interactive map as the ``srcdoc`` of an iframe, so the file can be sent
alone (WeChat, e-mail) and still shows everything; nothing is loaded from anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from mzgis.errors import ConfigError
from mzgis.maps.print_map import SheetInfo, cjk_font, render_map
from mzgis.maps.safe_html import esc
from mzgis.maps.summary import Table
from mzgis.maps.webmap import MapData

__all__ = ["ReportContent", "check_template", "cjk_font", "date_zh", "png_data_uri", "report_html", "static_map",
           "template_environment"]

log = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"


def date_zh(d: dt.date) -> str:
    """``2026年11月25日``."""
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass
class ReportContent:
    """Everything the report says, the same for the HTML page and the Word document."""

    title: str
    issuing_unit: str
    date: dt.date
    conclusion: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    map_html: str | None = None
    sample: bool = False
    pdfs: list[Path] = field(default_factory=list)


def static_map(data: MapData, path: Path, *, dpi: int = 150, info: SheetInfo | None = None) -> Path:
    """A PNG of the coverage map on an A4 landscape sheet (title, legend, scale bar, north arrow,
    制图单位, date, sources), as in the PDF maps."""
    title = data.title + ("（示例数据）" if data.sample else "")
    return render_map(data, path, info or SheetInfo(title=title), paper="A4", orientation="landscape", dpi=dpi)


def png_data_uri(path: Path) -> str:
    """A PNG as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _finalize(value: Any) -> Any:
    """Every printed value: escaped for HTML with template delimiters as entities (ready markup,
    such as a filter's output, passes)."""
    if isinstance(value, Markup):
        return value
    return Markup(esc(value))


def template_environment(overrides: Path | None = None) -> Any:
    """The Jinja2 environment: templates from ``overrides`` (a workspace's ``templates/``) first,
    then the shipped ones; autoescaping, sandboxed, strict about undefined names."""
    from jinja2 import (
        ChoiceLoader,
        FileSystemLoader,
        PackageLoader,
        StrictUndefined,
        select_autoescape,
    )
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    loaders: list[Any] = []
    if overrides is not None and overrides.is_dir():
        loaders.append(FileSystemLoader(str(overrides)))
    loaders.append(PackageLoader("mzgis.maps", "templates"))
    return ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined, finalize=_finalize, trim_blocks=True, lstrip_blocks=True)


def check_template(templates: Path | None = None) -> None:
    """Compile the report template (the workspace's own, if any) so that a syntax error is reported
    before any work is done."""
    from jinja2 import TemplateError

    try:
        template_environment(templates).get_template(TEMPLATE)
    except TemplateError as exc:
        raise _template_error(exc, templates) from None


def _template_error(exc: Exception, templates: Path | None) -> ConfigError:
    own = templates / TEMPLATE if templates is not None and (templates / TEMPLATE).is_file() else None
    where = own or f"mzgis/maps/templates/{TEMPLATE}"
    line = getattr(exc, "lineno", None)
    msg = (f"{where}{f' 第 {line} 行 line {line}' if line else ''}: 报告模板错误 report template error: {exc}. "
           "可用变量 variables: title, issuing_unit, date, date_iso, conclusion, notes, tables, figures, images, "
           "map_html, sample, pdfs; 删除或改正该文件 fix or remove the file to use the shipped template")
    return ConfigError(msg)


def report_html(content: ReportContent, *, templates: Path | None = None) -> str:
    """The report as one self-contained HTML page.

    A template that does not compile, names a variable the report does not have, or tries what
    the sandbox forbids is reported as a :class:`~mzgis.errors.ConfigError` naming the file."""
    from jinja2 import TemplateError

    env = template_environment(templates)
    try:
        tmpl = env.get_template(TEMPLATE)
        return str(tmpl.render(
            title=content.title, issuing_unit=content.issuing_unit, date=date_zh(content.date),
            date_iso=content.date.isoformat(), conclusion=content.conclusion, tables=content.tables,
            figures={t.key: png_data_uri(t.figure) for t in content.tables if t.figure is not None},
            notes=list(content.notes), images=[png_data_uri(p) for p in content.images],
            map_html=content.map_html, sample=content.sample, pdfs=[p.name for p in content.pdfs]))
    except TemplateError as exc:
        raise _template_error(exc, templates) from None
