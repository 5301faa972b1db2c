"""Which role may write which layer type — the one rule every write path of the web app checks.

A page's role (:func:`mzgis.web.auth.require_role`) says who may open it; this says what they may
write there. The layer's type is read from the store's layer registry (a layer that does not exist
yet takes the type the form asks for), so a planner cannot reach the boundary markers through the
import page, nor place-name staff the facilities through the edit page.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from mzgis.layers.schemas import LAYER_TYPES, SCHEMAS
from mzgis.layers.store.base import PLACENAME_TYPES

__all__ = ["PLANNER_TYPES", "WRITE_TYPES", "check_write", "may_write"]

#: Layer types planners write (facilities, admin units, demand, candidate sites).
PLANNER_TYPES = tuple(t for t in LAYER_TYPES if t not in PLACENAME_TYPES)
#: role → the layer types it may write (import, edit, revert, field record).
WRITE_TYPES: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "planner": frozenset(PLANNER_TYPES),
    "placename": frozenset(PLACENAME_TYPES),
    "admin": frozenset(LAYER_TYPES),
}
_ROLE_ZH = {"viewer": "领导查看", "planner": "规划人员", "placename": "地名人员", "admin": "管理员"}


def may_write(role: str, layer_type: str) -> bool:
    """Whether ``role`` may write layers of ``layer_type``."""
    return layer_type in WRITE_TYPES.get(role, frozenset())


def check_write(user: Any, store: Any, layer: str, layer_type: str | None = None) -> None:
    """403 (before anything is written) unless ``user`` may write ``layer``: its type in the store's
    registry and, for a new layer or an import that names a type, ``layer_type`` too."""
    info = store.layer_info(layer) if layer else None
    types = {str(info["layer_type"])} if info else set()
    if layer_type:
        types.add(layer_type)
    for t in sorted(types):
        if not may_write(user.role, t):
            label = SCHEMAS[t].label_zh if t in SCHEMAS else t
            allowed = ", ".join(sorted(WRITE_TYPES.get(user.role, ()))) or "无 none"
            raise HTTPException(status_code=403, detail=(
                f"无权写入 not allowed to write: 图层 layer {layer[:80]!r} 是 is {label} ({t}); "
                f"{_ROLE_ZH.get(user.role, user.role)} ({user.role}) 可写 may write: {allowed}. "
                "未写入 nothing was written."))
