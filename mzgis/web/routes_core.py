"""Login, logout, the home page, the health check and the accounts page (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from mzgis.web.auth import (
    ROLE_ZH,
    ROLES,
    AccountError,
    User,
    current_user,
    login_session,
    logout_session,
    require_role,
)
from mzgis.web.pages import NavItem, render

router = APIRouter()
NAV: list[NavItem] = [NavItem("/", "首页", "Home", "viewer")]
ADMIN_NAV: list[NavItem] = [NavItem("/admin/users", "账号", "Accounts", "admin")]


def safe_next(target: str | None) -> str:
    """A redirect target inside this site (a relative path), else ``/``."""
    t = target or "/"
    if not t.startswith("/") or t.startswith("//") or "\\" in t or any(ord(c) < 32 for c in t):
        return "/"
    return t


@router.get("/healthz", include_in_schema=False)
def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None, "login": ""})


@router.post("/login")
def login(request: Request, login: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=2000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    state = request.app.state.mz
    address = request.client.host if request.client else "?"
    wait = max(state.limiter.retry_after(login, address), state.address_limiter.retry_after("*", address))
    if wait > 0:
        return render(request, "login.html", {"next": safe_next(next), "login": login,
                                              "error": f"尝试次数过多 too many failed logins: 请 {int(wait) + 1} 秒后再试 "
                                                       f"try again in {int(wait) + 1} s"},
                      status=429)
    with state.verify_slots:
        acc = state.accounts().verify(login, password)
    if acc is None:
        state.limiter.failure(login, address)
        state.address_limiter.failure("*", address)
        return render(request, "login.html", {"next": safe_next(next), "login": login,
                                              "error": "账号或密码错误 wrong account or password (或账号已停用 or the "
                                                       "account is disabled)"},
                      status=401)
    state.limiter.success(login, address)
    login_session(request, acc)
    request.state.mz_user = False  # read again from the new session
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    logout_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, user: Annotated[User, Depends(require_role("viewer"))]) -> Response:
    state = request.app.state.mz
    ws = state.workspace()
    name = str(ws.config["project"].get("jurisdiction") or ws.config["project"].get("name") or "")
    return render(request, "home.html", {"project": name})


@router.get("/admin/users")
def users_page(request: Request, user: Annotated[User, Depends(require_role("admin"))]) -> Response:
    return render(request, "users.html", {"accounts": request.app.state.mz.accounts().list(), "roles": ROLES,
                                          "role_zh": ROLE_ZH, "error": None})


@router.post("/admin/users")
def users_change(request: Request, user: Annotated[User, Depends(require_role("admin"))],
                 login: Annotated[str, Form(max_length=200)], action: Annotated[str, Form(max_length=20)],
                 role: Annotated[str, Form(max_length=20)] = "") -> Response:
    acc = request.app.state.mz.accounts()
    error = None
    try:
        if login == user.login and action in ("disable", "role"):
            msg = "不能停用或降级自己的账号 you cannot disable or change the role of your own account"
            raise AccountError(msg)
        if action == "disable":
            acc.set_disabled(login, True, by=user.login)
        elif action == "enable":
            acc.set_disabled(login, False, by=user.login)
        elif action == "role":
            acc.set_role(login, role, by=user.login)
        else:
            raise HTTPException(status_code=400, detail=f"未知操作 unknown action {action!r}")
    except AccountError as exc:
        error = f"错误 error: {exc}"
    if error:
        return render(request, "users.html", {"accounts": acc.list(), "roles": ROLES, "role_zh": ROLE_ZH,
                                              "error": error}, status=400)
    return RedirectResponse("/admin/users", status_code=303)


__all__ = ["ADMIN_NAV", "NAV", "current_user", "router", "safe_next"]
