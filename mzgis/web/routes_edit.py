"""Editing by the place-name staff (role placename): addresses, boundary markers and lines, place
names — through the importer's validation (:func:`mzgis.gis.pipelines.edit_feature`), with the
version check, the history of a feature and revert. Every write names the logged-in user.

Layers and feature ids travel as query parameters (``?layer=…&id=…``): ids may hold any character.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from mzgis.errors import FieldInputError, LayerError, MzgisError, StaleEditError
from mzgis.layers.store.base import INTERNAL_COLUMNS, PLACENAME_TYPES
from mzgis.web.auth import User, require_role
from mzgis.web.pages import NavItem, render, url_with
from mzgis.web.rights import check_write
from mzgis.web.uploads import form_text

router = APIRouter()
NAV: list[NavItem] = [NavItem("/edit", "编辑", "Edit", "placename")]
LIST_LIMIT = 200
#: Longest value of a field and of the edit's note (the form's note input holds 500).
MAX_VALUE = 2000
MAX_NOTE = 500
_HIDDEN = {"feature_id", "geometry", *INTERNAL_COLUMNS}


def show(v: Any) -> str:
    """A value as the form shows it (and compares it: an unchanged field is not written)."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def editable_layers(store: Any) -> list[dict[str, Any]]:
    """The layers place-name staff edit, with their type and size."""
    df = store.layers()
    df = df[df["layer_type"].isin(PLACENAME_TYPES)]
    return [{"name": str(r["name"]), "type": str(r["layer_type"]), "features": int(r["features"])}
            for r in df.to_dict("records")]


def _layer(request: Request, layer: str) -> Any:
    store = request.app.state.mz.store()
    if layer not in {x["name"] for x in editable_layers(store)}:
        raise HTTPException(status_code=404, detail=f"没有可编辑的图层 no editable layer {layer!r} "
                                                    f"(地名人员可编辑 editable types: {', '.join(PLACENAME_TYPES)})")
    return store


def _feature(store: Any, layer: str, fid: str) -> pd.Series:
    try:
        return store.feature(layer, fid)
    except LayerError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _fields(row: pd.Series) -> list[tuple[str, str]]:
    return [(str(k), show(v)) for k, v in row.items() if k not in _HIDDEN]


@router.get("/edit")
def layers_page(request: Request, user: Annotated[User, Depends(require_role("placename"))]) -> Response:
    return render(request, "edit_layers.html", {"layers": editable_layers(request.app.state.mz.store())})


@router.get("/edit/list")
def list_page(request: Request, user: Annotated[User, Depends(require_role("placename"))], layer: str,
              q: str = "") -> Response:
    store = _layer(request, layer)
    gdf = store.read(layer)
    if q:
        attrs = gdf.drop(columns="geometry")
        hit = [q in " ".join(show(v) for v in row) for row in attrs.itertuples(index=False)]
        gdf = gdf[hit]
    label_col = next((c for c in ("name", "address", "code", "line_id") if c in gdf.columns), None)
    items = [{"id": str(r["feature_id"]), "label": show(r[label_col]) if label_col else ""}
             for r in gdf.head(LIST_LIMIT).to_dict("records")]
    return render(request, "edit_list.html", {"layer": layer, "items": items, "q": q, "total": len(gdf),
                                              "limit": LIST_LIMIT})


def _feature_page(request: Request, store: Any, layer: str, fid: str, *, values: dict[str, str] | None = None,
                  error: str | None = None, status: int = 200, saved: bool = False) -> Response:
    row = _feature(store, layer, fid)
    fields = _fields(row)
    if values is not None:
        fields = [(k, values.get(k, v)) for k, v in fields]
    return render(request, "edit_feature.html", {
        "layer": layer, "fid": fid, "fields": fields, "version": int(row["mz_version"]),
        "retired": row["mz_retired_at"] is not None, "updated": show(row["mz_updated_at"]),
        "geometry": row.geometry.wkt if row.geometry is not None and row.geometry.geom_type == "Point" else None,
        "error": error, "saved": saved}, status=status)


@router.get("/edit/feature")
def feature_page(request: Request, user: Annotated[User, Depends(require_role("placename"))], layer: str,
                 id: str, saved: int = 0) -> Response:
    store = _layer(request, layer)
    return _feature_page(request, store, layer, id, saved=bool(saved))


@router.post("/edit/feature")
async def feature_save(request: Request, user: Annotated[User, Depends(require_role("placename"))]) -> Response:
    form = await request.form()
    layer, fid = str(form.get("layer", "")), str(form.get("id", ""))
    try:
        expect = int(str(form.get("expect_version", "")))
    except ValueError as exc:
        raise HTTPException(status_code=400, detail="缺少版本号 expect_version missing: 请从编辑页面提交 "
                                                    "submit the form of the edit page") from exc
    names = [str(k)[2:] for k in form if str(k).startswith("f:")]
    try:  # the one text rule of every form (control characters; a note's CR+LF stored as LF)
        note = form_text(form, "note", max_len=MAX_NOTE, label="说明 note", error=FieldInputError,
                         multiline=True) or None
        submitted = {k: form_text(form, f"f:{k}", max_len=MAX_VALUE, label=f"字段 field {k!r}",
                                  error=FieldInputError) for k in names}
    except FieldInputError as exc:
        typed = {k: str(form.get(f"f:{k}", "")) for k in names}
        why = f"错误 error: {exc}"
        return await _run(request, lambda: _refused(request, user, layer, fid, typed, why))
    return await _run(request, lambda: _save(request, user, layer, fid, expect, submitted, note))


def _refused(request: Request, user: User, layer: str, fid: str, typed: dict[str, str], error: str) -> Response:
    """The form again with what was typed and why it is refused (after the layer and role checks)."""
    store = _layer(request, layer)
    check_write(user, store, layer)
    return _feature_page(request, store, layer, fid, values=typed, status=400, error=error)


async def _run(request: Request, fn: Any) -> Response:
    from starlette.concurrency import run_in_threadpool

    result: Response = await run_in_threadpool(fn)
    return result


def _save(request: Request, user: User, layer: str, fid: str, expect: int, submitted: dict[str, str],
          note: str | None) -> Response:
    from mzgis.gis.pipelines import edit_feature

    state = request.app.state.mz
    store = _layer(request, layer)
    check_write(user, store, layer)
    cur = _feature(store, layer, fid)
    if int(cur["mz_version"]) != expect:
        return _stale(request, store, layer, fid, expect, submitted, cur)
    current = dict(_fields(cur))
    unknown = sorted(set(submitted) - set(current))
    if unknown:
        return _feature_page(request, store, layer, fid, values=submitted, status=400,
                             error=f"错误 error: 图层 '{layer}' 没有字段 has no fields {unknown}")
    changes = {k: (v if v != "" else None) for k, v in submitted.items() if v != current[k]}
    if not changes:
        return _feature_page(request, store, layer, fid, error="没有改动 nothing changed; 未写入 nothing written",
                             status=200)
    try:
        edit_feature(state.workspace(), layer, fid, changes=changes, expect_version=expect, note=note,
                     user=user.login)
    except StaleEditError:
        return _stale(request, store, layer, fid, expect, submitted, _feature(store, layer, fid))
    except MzgisError as exc:
        return _feature_page(request, store, layer, fid, values=submitted, status=400, error=f"错误 error: {exc}")
    return RedirectResponse(url_with("/edit/feature", layer=layer, id=fid, saved=1), status_code=303)


def _stale(request: Request, store: Any, layer: str, fid: str, expect: int, submitted: dict[str, str],
           cur: pd.Series) -> Response:
    """The refusal of a stale edit: the version the user edited (with their values) and the current one."""
    versions = store.versions(layer, fid)
    base = versions[versions["version"] == expect]
    base_attrs = {k: show(v) for k, v in base["attributes"].iloc[0].items()} if len(base) else {}
    last = versions.iloc[-1]
    current = dict(_fields(cur))
    rows = [{"field": k, "base": base_attrs.get(k, ""), "yours": submitted.get(k, base_attrs.get(k, "")),
             "current": v} for k, v in current.items()]
    return render(request, "stale.html", {
        "layer": layer, "fid": fid, "expect": expect, "version": int(cur["mz_version"]),
        "by": show(last.get("user")), "at": show(last.get("ts")), "rows": rows}, status=409)


@router.get("/edit/history")
def history_page(request: Request, user: Annotated[User, Depends(require_role("placename"))], layer: str,
                 id: str) -> Response:
    store = _layer(request, layer)
    cur = _feature(store, layer, id)
    versions = []
    for r in store.versions(layer, id).to_dict("records"):
        attrs = r["attributes"] if isinstance(r["attributes"], dict) else json.loads(str(r["attributes"]))
        versions.append({"version": int(r["version"]), "action": show(r.get("action")), "ts": show(r.get("ts")),
                         "user": show(r.get("user")), "note": show(r.get("note")), "retired": bool(r["retired"]),
                         "attributes": [(str(k), show(v)) for k, v in attrs.items()],
                         "geometry": show(r.get("geometry"))})
    return render(request, "history.html", {"layer": layer, "fid": id, "versions": versions[::-1],
                                            "current": int(cur["mz_version"])})


@router.post("/edit/revert")
def revert(request: Request, user: Annotated[User, Depends(require_role("placename"))],
           layer: Annotated[str, Form(max_length=200)], id: Annotated[str, Form(max_length=2000)],
           version: Annotated[int, Form(ge=1)], expect_version: Annotated[int, Form(ge=1)]) -> Response:
    store = _layer(request, layer)
    check_write(user, store, layer)
    _feature(store, layer, id)
    try:
        store.revert(layer, id, version, user=user.login, expect_version=expect_version)
    except StaleEditError as exc:
        raise HTTPException(status_code=409, detail=f"错误 error: {exc}") from exc
    return RedirectResponse(url_with("/edit/history", layer=layer, id=id), status_code=303)
