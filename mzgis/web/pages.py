"""What every page of the web app is made with: the navigation entry (:class:`NavItem`), links
(:func:`url_with`) and :func:`render`. The route modules and the app import it; it imports neither,
so the arrows run one way: ``app`` → ``routes_*`` → ``pages``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from mzgis.web.auth import current_user

__all__ = ["NavItem", "render", "url_with"]


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar, shown to users whose role allows ``role``."""

    path: str
    label_zh: str
    label_en: str
    role: str


def url_with(path: str, **params: Any) -> str:
    """``path?k=v`` with every value URL-encoded (feature ids may hold any character)."""
    clean = {k: str(v) for k, v in params.items() if v is not None}
    return path + ("?" + urlencode(clean, quote_via=quote) if clean else "")


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, *, status: int = 200) -> HTMLResponse:
    """A page from ``templates/`` with the user, the navigation and the CSRF token."""
    user = current_user(request)
    nav = [n for n in request.app.state.mz.nav if user is not None and user.can(n.role)]
    context = {"request": request, "user": user, "nav": nav, **(ctx or {})}
    resp: HTMLResponse = request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
    return resp
