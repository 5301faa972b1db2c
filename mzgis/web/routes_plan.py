"""The planners' page (role planner): run coverage or the indicator evaluation and see the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mzgis.web.auth import User, require_role
from mzgis.web.pages import NavItem, render

router = APIRouter()
NAV: list[NavItem] = [NavItem("/plan", "分析", "Analyses", "planner")]


def _kinds(request: Request) -> list[tuple[str, str]]:
    """(id, Chinese name) of the facility kinds the workspace has facilities of."""
    from mzgis.layers.kinds import KINDS

    store = request.app.state.mz.store()
    have = {str(store.layer_info(n).get("kind") or "") for n in store.layer_names("facilities")}
    return [(k.id, k.name_zh) for k in KINDS.values() if k.id in have]


@router.get("/plan")
def plan_page(request: Request, user: Annotated[User, Depends(require_role("planner"))]) -> Response:
    return render(request, "plan.html", {"kinds": _kinds(request), "result": None, "error": None})


@router.post("/plan")
def plan_run(request: Request, user: Annotated[User, Depends(require_role("planner"))],
             analysis: Annotated[str, Form(max_length=20)], kind: Annotated[str, Form(max_length=100)] = "") -> Response:
    from mzgis.errors import MzgisError
    from mzgis.gis.pipelines import run_coverage, run_standards
    from mzgis.web.routes_view import coverage_rows, passed_zh

    state = request.app.state.mz
    kinds = _kinds(request)
    result: dict[str, Any] | None = None
    error = None
    if analysis not in ("coverage", "standards") or (analysis == "coverage" and kind not in dict(kinds)):
        error = (f"错误 error: 请选择分析和设施类型 choose an analysis (coverage/standards) and one of the kinds "
                 f"{[k for k, _ in kinds]}; got {analysis!r} {kind!r}")
    else:
        try:
            with state.analysis_lock:
                ws = state.workspace()
                if analysis == "coverage":
                    cov = run_coverage(ws, kind=kind, user=user.login)
                    result = {"analysis": "coverage", "kind": dict(kinds)[kind],
                              "rows": coverage_rows(cov.table.astype(str)),
                              "files": [p.name for p in cov.files]}
                else:
                    st = run_standards(ws)
                    rows = [{"id": r["indicator_id"], "name": r["name_zh"], "actual": r["actual"],
                             "target": f"{r['comparator']} {r['target']}", "unit": r["unit"],
                             "passed": passed_zh(str(r["passed"]))} for r in st.indicators.to_dict("records")]
                    result = {"analysis": "standards", "kind": None, "rows": rows,
                              "files": [p.name for p in st.files]}
        except MzgisError as exc:
            error = f"错误 error: {exc}"
    return render(request, "plan.html", {"kinds": kinds, "result": result, "error": error},
                  status=400 if error else 200)
