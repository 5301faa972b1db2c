"""``mzgis serve``: the web app on the workspace's store, for leaders at their desks and
place-name staff in the field.

It is a face of the application like the CLI (see ``DESIGN.md``): the top composing layer, beside
``mzgis.gis``. It may import ``mzgis.layers``, ``mzgis.analysis``, ``mzgis.maps`` and
``mzgis.gis``; nothing imports it except the CLI (``mzgis serve``, ``mzgis users``), lazily.
It computes nothing itself: pages call the pipelines and the store, as the CLI does.

Conventions (for every router added to the app):

* **Factory.** :func:`create_app(workspace_path, store_url=None, ...) <mzgis.web.app.create_app>`
  builds the app; extra routers come in through ``routers=[(router, [NavItem(...)])]`` (or
  ``app.include_router`` + ``app.state.mz.nav.append``). ``request.app.state.mz`` is the
  :class:`~mzgis.web.app.WebState`: ``.workspace()``, ``.store()``, ``.accounts()``, ``.root``.
* **Roles.** Every route takes ``user: Annotated[User, Depends(require_role(ROLE))]`` with ROLE
  one of ``viewer`` (leaders: maps, reports, indicators), ``planner`` (also analyses and imports),
  ``placename`` (also edits lines, markers, addresses; records inspections), ``admin`` (accounts,
  and everything else). A page of role R is open to roles whose rights include R
  (:data:`mzgis.web.auth.RIGHTS`); otherwise 403 before the handler runs (nothing written); not
  logged in: GET goes to the login form, other methods get 401.
* **Writes** go through the pipelines or the store with ``user=user.login``, so the store's
  history names the logged-in user. Bad input is a :class:`~mzgis.errors.MzgisError` shown in the
  page (Chinese first, English alongside), never a traceback.
* **CSRF.** An app-wide dependency checks every request that is not GET/HEAD/OPTIONS: the form
  field ``csrf_token`` (``{% include "_csrf.html" %}`` in every form) or the header
  ``X-CSRF-Token`` (for ``fetch``; the token is ``csrf_token(request)``, e.g. in a ``<meta>``).
* **Bodies.** A request body larger than ``max_body_bytes`` (2 MB) is refused with 413 before
  anything reads it; an upload route sets its own limit in ``app.state.mz.body_limits[path]``.
  The CSRF dependency parses urlencoded and multipart forms once (cached by Starlette for the
  handler), with the route's limits from ``app.state.mz.form_limits[path]`` (else 8 files, 1000 fields).
* **Sessions** are kept in the store (:mod:`mzgis.layers.store.sessions`); the cookie holds only a
  random id, and the CSRF token is the server-side session's.
* **Templates** (``templates/``, Jinja2, autoescape always on, StrictUndefined) extend
  ``base.html`` and are rendered with :func:`mzgis.web.pages.render`. No ``|safe`` and no
  ``Markup`` on anything a user typed or imported. Put ids and names into URLs with
  ``url(path, key=value)`` (query parameters, URL-encoded), never into a path segment.
* **Assets**: own CSS/JS in ``static/`` (served at ``/static/``), no CDN, no inline script or
  style (the Content-Security-Policy forbids them). Pages stay small (a phone on 3G).
* **Secrets**: the session-signing key is made on first start in ``WS/.mzgis-web/session.key``
  (mode 0600), never printed, never in the repository or ``out/``.
* **Tests** (``tests/web/``): ``web_server`` starts a real ``mzgis serve`` process on a free
  127.0.0.1 port against a temporary workspace; ``phone`` is a Playwright page of Debian's
  Chromium at 390 × 844.
"""

from __future__ import annotations

from mzgis.web.app import NavItem, create_app
from mzgis.web.auth import ROLES, User, require_role

__all__ = ["ROLES", "NavItem", "User", "create_app", "require_role"]
