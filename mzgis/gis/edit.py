"""Single-feature edits (``mzgis edit``), validated like imports.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from mzgis.errors import LayerError
from mzgis.gis.workspace import Workspace
from mzgis.layers.importer import prepare_layer
from mzgis.layers.store import ImportReport
from mzgis.layers.values import refuse_empty_words

log = logging.getLogger(__name__)


# -- single-feature edits, validated like imports -----------------------------------------------------
def edit_feature(ws: Workspace, layer: str, feature_id: str, *, changes: dict[str, Any] | None = None,
                 geometry: Any = None, add: bool = False, expect_version: int | None = None,
                 note: str | None = None, coords: str | None = None, user: str | None = None) -> ImportReport:
    """Add or update one feature through the importer's validation, then the store's history.

    The feature as it would be after the edit (its current attributes with the changes; for a new
    feature, the layer's kind and level) is checked exactly as an imported row is: kinds, statuses
    and conditions normalised from Chinese or English names, numbers parsed and non-negative,
    coordinates inside the extent with swapped lon/lat detected, ``coords`` (gcj02, bd09,
    cgcs2000, EPSG:n) converted. A bad value is refused with the importer's message and nothing is
    written. Only the fields named in ``changes`` (and, for a new feature, the layer's kind and
    level) are written; the others stay as they are.
    """
    from mzgis.layers.schemas import SCHEMAS
    from mzgis.layers.sources import RawSource

    store = ws.store
    info = store.layer_info(layer)
    if info is None:
        msg = f"没有图层 no layer '{layer}'; 图层 layers: {store.layer_names()}"
        raise LayerError(msg)
    layer_type = str(info["layer_type"])
    changes = dict(changes or {})
    refuse_empty_words(changes, f"mzgis edit {layer} {feature_id}")
    if layer_type not in SCHEMAS:  # derived layers (gaps, sites, findings): no import schema
        return store.edit_feature(layer, feature_id, changes=changes, geometry=geometry,
                                  expect_version=expect_version, note=note, add=add, user=user)
    internal = {"feature_id", "geometry", "mz_version", "mz_updated_at", "mz_retired_at"}
    if add:
        row: dict[str, Any] = {}
        geom = geometry
        if geom is None:
            msg = "新要素需要位置 a new feature needs a geometry: --lonlat X,Y or --wkt …"
            raise LayerError(msg)
    else:
        cur = store.feature(layer, feature_id)
        if not _missing(cur.get("mz_retired_at")):
            msg = f"要素 {feature_id} 已退役 is retired; 用 use `mzgis revert` to bring back a version"
            raise LayerError(msg)
        row = {str(k): v for k, v in cur.items() if k not in internal and not _missing(v)}
        geom = geometry if geometry is not None else cur["geometry"]
    row.update(changes)
    row["feature_id"] = str(feature_id)
    table = pd.DataFrame([{k: (None if v is None else v) for k, v in row.items()}])
    raw = RawSource(Path(f"mzgis edit {layer} {feature_id}"), table, gpd.GeoSeries([geom]), None, ["--set"])
    # the layer's kind and level fill a new feature; a kind or level the edit gives is checked itself
    prepared = prepare_layer(raw, layer_type, kind=None if "kind" in changes else (str(info.get("kind") or "") or None),
                             level=None if "level" in changes else (str(info.get("level") or "") or None),
                             coords=coords or "wgs84", id_field="feature_id", extent=ws.extent)
    new = prepared.gdf.iloc[0]
    schema_fields = {f.name for f in SCHEMAS[layer_type].fields}
    write = {k: (None if _missing(new[k]) else new[k]) for k in changes if k in new.index}
    unknown = sorted(set(changes) - set(new.index))
    if unknown:
        msg = f"图层 '{layer}' 没有字段 no fields {unknown}; 字段 fields: {sorted(c for c in new.index if c not in internal)}"
        raise LayerError(msg)
    if add:
        for k in ("kind", "level", "status"):
            if k in schema_fields and k in new.index and not _missing(new[k]):
                write.setdefault(k, new[k])
    new_geom = prepared.gdf.geometry.iloc[0] if geometry is not None else None
    return store.edit_feature(layer, feature_id, changes=write, geometry=new_geom, expect_version=expect_version,
                              note=note, add=add, user=user)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA
