"""``mzgis qgis WS``: a QGIS project (``.qgz``: a zip holding one ``.qgs`` XML) of the workspace,
grouped as the web map groups its layers — 设施 facilities (one layer per kind), 建议新址 proposed,
界桩 boundary markers, 需求 demand, 服务圈 service areas, 覆盖率 coverage (``out/coverage_*.gpkg``),
行政区划 boundaries, 其他 other — each store layer opened through its ``<layer>_current`` view (retired
features hidden), in its default style (the ``layer_styles`` row QGIS itself would load: the
user's own default if they saved one, else mzgis's in the web map's palette), with paths relative
to the project file so the workspace folder can be moved or zipped whole. A PostGIS store's
layers are opened from the database (QGIS's ``postgres`` provider: the URL's database, host, port
and user, never its password — QGIS asks, or reads ``~/.pgpass``); ``out/`` stays relative.

The XML is built with :mod:`xml.etree.ElementTree`: layer names, the project's name and kinds are
user text, escaped by the serializer.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mzgis.errors import WorkspaceError
from mzgis.gis.workspace import Workspace
from mzgis.layers.kinds import LEVEL_NAMES_ZH
from mzgis.layers.store.styles import StyleTarget, gpkg_ensure_style, gpkg_put_style
from mzgis.layers.store.views import current_view
from mzgis.maps.qgis_style import QGIS_VERSION, geometry_kind, kind_label, layer_qml

__all__ = [
    "GROUPS",
    "ProjectLayer",
    "default_project_path",
    "pg_source",
    "project_layers",
    "project_xml",
    "style_export",
    "write_qgis_project",
]

#: Groups top to bottom (the top is drawn last, over the others), and the layer types in each.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("设施 facilities", ("facilities",)),
    ("建议新址 proposed", ("sites", "candidates")),
    ("界桩 boundary markers", ("boundary_markers",)),
    ("需求 demand", ("gaps", "demand")),
    ("服务圈 service areas", ("service_areas",)),
    ("覆盖率 coverage", ("coverage",)),
    ("行政区划 boundaries", ("boundary_lines", "admin_units")),
    ("其他 other", ()),
]
_TYPE_LABEL = {"demand": "需求点", "gaps": "未覆盖需求", "sites": "建议新址", "candidates": "候选址",
               "service_areas": "服务圈", "boundary_markers": "界桩", "boundary_lines": "界线", "admin_units": "行政区划"}
_QGIS_GEOM = {"marker": ("Point", "Point"), "line": ("Line", "LineString"), "fill": ("Polygon", "Polygon")}


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of the project: its group, label, GeoPackage and table, geometry and QML (or "")."""

    group: str
    label: str
    gpkg: Path
    table: str
    geometry: str
    qml: str
    visible: bool = True
    pg_source: str = ""  # a PostGIS store's layer: QGIS's postgres data source (no password in it)


def default_project_path(ws: Workspace) -> Path:
    """``WS/<folder name>.qgz``, next to ``project.gpkg``."""
    return ws.root / f"{ws.root.resolve().name or 'mzgis'}.qgz"


def _default_qml(con: sqlite3.Connection, table: str) -> str:
    """The style QGIS would load for ``table``: the default row, the newest first ("" when none)."""
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone() is None:
        return ""
    row = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = ? ORDER BY useAsDefault DESC, "
                      "update_time DESC, id DESC LIMIT 1", (table,)).fetchone()
    return str(row[0]) if row and row[0] else ""


def _geometry(con: sqlite3.Connection, table: str) -> str | None:
    row = con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
    return str(row[0]) if row else None


def _label(layer_type: str, name: str, kind: str | None, level: str | None) -> str:
    if layer_type == "facilities":
        return f"{kind_label(kind) or '设施'}（{name}）"
    if layer_type in ("admin_units", "boundary_lines") and level:
        return f"{LEVEL_NAMES_ZH.get(level, level)}{_TYPE_LABEL[layer_type]}（{name}）"
    return f"{_TYPE_LABEL[layer_type]}（{name}）" if layer_type in _TYPE_LABEL else name


def _group(layer_type: str) -> str:
    return next((g for g, types in GROUPS if layer_type in types), GROUPS[-1][0])


def _store_layers(ws: Workspace) -> list[ProjectLayer]:
    reg = ws.store.layers()
    out: list[ProjectLayer] = []
    con = sqlite3.connect(ws.store_path)
    try:
        with con:  # a store written before styles existed gets them now (mzgis's own rows only)
            for name in reg["name"]:
                gpkg_ensure_style(con, str(name))
        for r in reg.itertuples():
            if not int(str(r.features)):
                continue
            view = current_view(str(r.name))
            is_view = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?", (view,)).fetchone()
            table = view if is_view else str(r.name)
            geom = _geometry(con, table)
            if geom is None:
                continue
            kind = r.kind if isinstance(r.kind, str) else None
            level = r.level if isinstance(r.level, str) else None
            out.append(ProjectLayer(_group(str(r.layer_type)), _label(str(r.layer_type), str(r.name), kind, level),
                                    ws.store_path, table, geom, _default_qml(con, table)))
    finally:
        con.close()
    return out


def _output_layers(ws: Workspace) -> list[ProjectLayer]:
    """The layers of ``out/*.gpkg`` (coverage polygons first, the community level shown)."""
    out: list[ProjectLayer] = []
    files = sorted(ws.out_dir.glob("*.gpkg"), key=lambda p: (not p.name.startswith("coverage_"), p.name))
    for f in files:
        if f.name.startswith("."):  # a temporary file being written
            continue
        con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        try:
            rank = {lv: i for i, lv in enumerate(("community", "subdistrict", "district"))}
            tables = sorted(con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'").fetchall(),
                            key=lambda t: (rank.get(t[0], len(rank)), t[0]))
            for (table,) in tables:
                geom = _geometry(con, table)
                if geom is None:
                    continue
                coverage = f.name.startswith("coverage_")
                stem = f.stem.removeprefix("coverage_")
                label = (f"{LEVEL_NAMES_ZH.get(table, table)}覆盖率（{kind_label(stem)}）" if coverage
                         else f"{f.stem}: {table}")
                out.append(ProjectLayer("覆盖率 coverage" if coverage else GROUPS[-1][0], label, f, table, geom,
                                        _default_qml(con, table), visible=not coverage or table == "community"))
        except sqlite3.Error:
            continue  # not a GeoPackage mzgis can read: left out of the project
        finally:
            con.close()
    return out


def project_layers(ws: Workspace) -> list[ProjectLayer]:
    """Every layer the project shows, in group order."""
    layers = (_pg_layers(ws) if ws.store_url else _store_layers(ws)) + _output_layers(ws)
    order = {g: i for i, (g, _) in enumerate(GROUPS)}
    return sorted(layers, key=lambda lay: order[lay.group])  # stable: the store's order within a group


_PG_TYPES = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
             "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_source(url: str, schema: str, table: str, geometry: str) -> str:
    """QGIS's postgres data source of ``schema.table``: the URL's database, host, port and user —
    never its password (QGIS asks, or reads ~/.pgpass / PGPASSWORD / a service file)."""
    from psycopg.conninfo import conninfo_to_dict

    d = conninfo_to_dict(url)
    parts = [f"{k}={_quote(str(d[k]))}" for k in ("service", "dbname", "host", "port", "user", "sslmode") if d.get(k)]
    parts += ["key='fid'", "srid=4326", "checkPrimaryKeyUnicity='0'"]
    if geometry.upper() in _PG_TYPES:
        parts.append(f"type={_PG_TYPES[geometry.upper()]}")
    q = '"{}"'.format
    parts.append(f"table={q(schema.replace(chr(34), chr(34) * 2))}.{q(table)} (geom)")
    return " ".join(parts)


def _pg_layers(ws: Workspace) -> list[ProjectLayer]:
    import psycopg

    from mzgis.maps.qgis_style import layer_qml

    reg = ws.store.layers()
    fac = [str(k) for k in reg.loc[reg["layer_type"] == "facilities", "kind"] if isinstance(k, str)]
    kinds = list(dict.fromkeys(fac))
    out: list[ProjectLayer] = []
    with psycopg.connect(ws.store_url) as con:
        schema = str(con.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]
        styles = con.execute("SELECT has_table_privilege('public.layer_styles', 'SELECT') "
                             "FROM (SELECT to_regclass('public.layer_styles') AS t) s WHERE t IS NOT NULL").fetchone()
        for r in reg.itertuples():
            if not int(str(r.features)):
                continue
            view = current_view(str(r.name))
            has_view = con.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{view}"',)).fetchone()
            table = view if has_view and has_view[0] else str(r.name)
            row = con.execute("SELECT type FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s",
                              (schema, table)).fetchone()
            geom = str(row[0]).upper() if row else "GEOMETRY"
            kind = r.kind if isinstance(r.kind, str) else None
            level = r.level if isinstance(r.level, str) else None
            qml = ""
            if styles and styles[0]:
                got = con.execute("SELECT styleqml::text FROM public.layer_styles WHERE f_table_catalog = "
                                  "current_database() AND f_table_schema = %s AND f_table_name = %s "
                                  "ORDER BY useasdefault DESC, update_time DESC, id DESC LIMIT 1",
                                  (schema, table)).fetchone()
                qml = str(got[0]) if got and got[0] else ""
            if not qml:  # no row (or not readable): the same style, made here
                qml = layer_qml(StyleTarget(str(r.name), str(r.layer_type), kind, level, geom,
                                            kinds.index(kind) if kind in kinds else 0))
            out.append(ProjectLayer(_group(str(r.layer_type)), _label(str(r.layer_type), str(r.name), kind, level),
                                    ws.store_path, table, geom, qml, pg_source=pg_source(ws.store_url, schema, table, geom)))
    return out


def _rel(target: Path, project_dir: Path) -> str:
    rel = Path(os.path.relpath(target.resolve(), project_dir.resolve())).as_posix()
    return rel if rel.startswith("../") else f"./{rel}"


def _srs(parent: ET.Element) -> None:
    s = ET.SubElement(parent, "spatialrefsys", {"nativeFormat": "Wkt"})
    ET.SubElement(s, "proj4").text = "+proj=longlat +datum=WGS84 +no_defs"
    ET.SubElement(s, "srsid").text = "3452"
    ET.SubElement(s, "srid").text = "4326"
    ET.SubElement(s, "authid").text = "EPSG:4326"
    ET.SubElement(s, "description").text = "WGS 84"
    ET.SubElement(s, "projectionacronym").text = "longlat"
    ET.SubElement(s, "ellipsoidacronym").text = "EPSG:7030"
    ET.SubElement(s, "geographicflag").text = "true"


def _renderer(qml: str) -> ET.Element | None:
    if not qml:
        return None
    try:
        root = ET.fromstring(qml.split("\n", 1)[1] if qml.startswith("<!DOCTYPE") else qml)
    except ET.ParseError:
        return None
    return root.find("renderer-v2")


def project_xml(title: str, layers: list[ProjectLayer], project_dir: Path) -> str:
    """The ``.qgs`` document."""
    root = ET.Element("qgis", {"projectname": title, "version": QGIS_VERSION})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"))
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    maplayers = ET.Element("projectlayers")
    groups: dict[str, ET.Element] = {}
    for lay in layers:
        lid = f"{lay.table}_{uuid.uuid4().hex[:12]}"
        source = lay.pg_source or f"{_rel(lay.gpkg, project_dir)}|layername={lay.table}"
        provider = "postgres" if lay.pg_source else "ogr"
        if lay.group not in groups:
            g = ET.SubElement(tree, "layer-tree-group", {"name": lay.group, "checked": "Qt::Checked", "expanded": "1"})
            ET.SubElement(g, "customproperties")
            groups[lay.group] = g
        node = ET.SubElement(groups[lay.group], "layer-tree-layer", {
            "id": lid, "name": lay.label, "source": source, "providerKey": provider,
            "checked": "Qt::Checked" if lay.visible else "Qt::Unchecked", "expanded": "1"})
        ET.SubElement(node, "customproperties")
        geom, wkb = _QGIS_GEOM[geometry_kind(lay.geometry)]
        ml = ET.SubElement(maplayers, "maplayer", {"type": "vector", "geometry": geom, "wkbType": wkb,
                                                   "styleCategories": "AllStyleCategories"})
        ET.SubElement(ml, "id").text = lid
        ET.SubElement(ml, "datasource").text = source
        ET.SubElement(ml, "layername").text = lay.label
        _srs(ET.SubElement(ml, "srs"))
        ET.SubElement(ml, "provider", {"encoding": "UTF-8"}).text = provider
        r = _renderer(lay.qml)
        if r is not None:
            ml.append(r)
    root.append(maplayers)
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")  # QGIS reads <projectCrs> only when this says so
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def write_qgis_project(ws: Workspace, out: Path | None = None) -> tuple[Path, list[ProjectLayer]]:
    """Write the ``.qgz`` (to a temporary file, then moved into place); returns it and its layers."""
    path = Path(out) if out is not None else default_project_path(ws)
    if path.suffix.lower() != ".qgz":
        msg = f"--out {path}: QGIS 工程文件应以 .qgz 结尾 the project file must end in .qgz, e.g. {path.with_suffix('.qgz')}"
        raise WorkspaceError(msg)
    layers = project_layers(ws)
    title = str(ws.config.get("project", {}).get("name") or ws.root.name)
    xml = project_xml(title, layers, path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.qgz")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{path.stem}.qgs", xml.encode("utf-8"))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path, layers


def style_export(ws: Workspace, gpkg: Path, layer: str) -> None:
    """Give a layer exported to a GeoPackage (``mzgis export WS LAYER out.gpkg``) its default style."""
    reg = ws.store.layers()
    row = reg[reg["name"] == layer]
    if not len(row):
        return
    r = row.iloc[0]
    kinds = list(dict.fromkeys(str(k) for k in reg.loc[reg["layer_type"] == "facilities", "kind"] if isinstance(k, str)))
    kind = r["kind"] if isinstance(r["kind"], str) else None
    con = sqlite3.connect(gpkg)
    try:
        with con:
            geom = con.execute("SELECT geometry_type_name, column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                               (layer,)).fetchone()
            if geom is None:
                return
            target = StyleTarget(layer, str(r["layer_type"]), kind, r["level"] if isinstance(r["level"], str) else None,
                                 str(geom[0]).upper(), kinds.index(kind) if kind in kinds else 0)
            gpkg_put_style(con, layer, layer_qml(target), geom_col=str(geom[1]),
                           description=f"mzgis: {target.layer_type} 默认样式 default style")
    finally:
        con.close()
