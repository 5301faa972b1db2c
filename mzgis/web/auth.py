"""Accounts, roles, sessions, CSRF and the login rate limit of the web app.

Accounts live in the workspace's store (``mzgis_users``, see
:meth:`mzgis.layers.store.base.ProjectStore.account`): on PostGIS every server of a team sees the
same accounts as the same data, and each change of an account is a row with who made it and when.
Passwords are Argon2id hashes (argon2-cffi); a login that does not exist is verified against a
dummy hash, so the time taken does not tell whether it exists.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from mzgis.errors import AccountError, StoreError
from mzgis.layers.store import ProjectStore
from mzgis.layers.store.sessions import (
    create_session,
    end_session,
    end_user_sessions,
    live_session,
    touch_session,
)

__all__ = ["RIGHTS", "ROLES", "AccountError", "Accounts", "LoginLimiter", "NotLoggedIn", "User", "check_csrf",
           "csrf_token", "current_user", "login_session", "logout_session", "read_form", "require_role",
           "server_session"]

#: Roles, from the least to the most trusted (place-name staff and planners are side by side).
ROLES = ("viewer", "planner", "placename", "admin")
ROLE_ZH = {"viewer": "领导查看", "planner": "规划人员", "placename": "地名人员", "admin": "管理员"}
#: What each role may do: a page for role R is open to every role whose rights include R.
RIGHTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"viewer"}),
    "planner": frozenset({"viewer", "planner"}),  # also runs analyses and imports
    "placename": frozenset({"viewer", "placename"}),  # also edits lines, markers, addresses; inspections
    "admin": frozenset(ROLES),  # manages users, and may do everything else
}
LOGIN_RE = re.compile(r"^[^\W][\w.\-]{0,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class NotLoggedIn(Exception):
    """The request needs a logged-in user (pages redirect to the login form)."""


@dataclass(frozen=True)
class User:
    """The logged-in user of a request."""

    login: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this user may use pages of ``role``."""
        return role in RIGHTS.get(self.role, frozenset())

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role, self.role)


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id, the library's current recommended parameters


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def check_login(login: str) -> str:
    """A valid account name, or :class:`AccountError`."""
    if not LOGIN_RE.match(login or ""):
        msg = (f"账号名无效 invalid account name {login!r}: 1–40 个字母、数字、汉字、. _ - "
               "letters, digits, Chinese characters, '.', '_' or '-', not starting with '.', '_' or '-'")
        raise AccountError(msg)
    return login


def check_role(role: str) -> str:
    if role not in ROLES:
        msg = f"角色无效 invalid role {role!r}; 可选 choose one of {', '.join(ROLES)}"
        raise AccountError(msg)
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        msg = f"密码太短 password too short: 至少 at least {MIN_PASSWORD} 个字符 characters"
        raise AccountError(msg)
    if len(password) > MAX_PASSWORD:
        msg = f"密码太长 password too long: 至多 at most {MAX_PASSWORD} characters"
        raise AccountError(msg)
    if any(ord(c) < 32 for c in password):
        msg = "密码含控制字符 the password contains control characters (e.g. a line break); 请去掉 remove them"
        raise AccountError(msg)
    return password


class Accounts:
    """The web accounts of a store."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store

    def get(self, login: str) -> dict[str, Any] | None:
        return self.store.account(login)

    def list(self) -> list[dict[str, Any]]:
        df = self.store.accounts()
        keep = ["login", "role", "disabled", "changed_at", "changed_by"]
        return [{k: r.get(k) for k in keep} for r in df.to_dict("records")] if len(df) else []

    def add(self, login: str, password: str, role: str, *, by: str) -> None:
        check_login(login)
        check_role(role)
        check_password(password)
        self.store.put_account(login, by=by, create=True, role=role, password_hash=_hasher().hash(password),
                               disabled="0")

    def passwd(self, login: str, password: str, *, by: str) -> None:
        """Change the password; every session of the account ends (on every server of the store)."""
        check_password(password)
        self.store.put_account(login, by=by, password_hash=_hasher().hash(password))
        end_user_sessions(self.store, login)

    def set_disabled(self, login: str, disabled: bool, *, by: str) -> None:
        """Disable (every session of the account ends) or enable an account."""
        self.store.put_account(login, by=by, disabled="1" if disabled else "0")
        if disabled:
            end_user_sessions(self.store, login)

    def set_role(self, login: str, role: str, *, by: str) -> None:
        """Change the role; every session of the account ends (it logs in again with the new role)."""
        self.store.put_account(login, by=by, role=check_role(role))
        end_user_sessions(self.store, login)

    def verify(self, login: str, password: str) -> dict[str, Any] | None:
        """The account if the password is right and the account enabled; else None (same work either way)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        acc = self.get(login) if LOGIN_RE.match(login or "") else None
        stored = str(acc["password_hash"]) if acc and acc.get("password_hash") else _dummy_hash()
        try:
            ok = _hasher().verify(stored, password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or acc is None or str(acc.get("disabled")) == "1":
            return None
        return acc


class LoginLimiter:
    """At most ``max_failures`` failed logins per (account, address) in ``window_s`` seconds.

    While a key is blocked every attempt is refused (429) without looking at the password, the
    right one too, until the oldest counted failure leaves the window."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window_s:
            q.popleft()

    def retry_after(self, login: str, address: str) -> float:
        """Seconds until the key may try again (0 when it may now)."""
        key = (login.casefold(), address)
        with self._lock:
            q = self._fails.get(key)
            if not q:
                return 0.0
            now = self.clock()
            self._prune(q, now)
            if len(q) < self.max_failures:
                return 0.0
            return max(0.0, q[-self.max_failures] + self.window_s - now)

    def failure(self, login: str, address: str) -> None:
        key = (login.casefold(), address)
        with self._lock:
            now = self.clock()
            if len(self._fails) >= self.max_keys:  # forget keys whose failures are all old
                for k in [k for k, q in self._fails.items() if not q or q[-1] <= now - self.window_s]:
                    del self._fails[k]
            q = self._fails.setdefault(key, deque(maxlen=self.max_failures))
            self._prune(q, now)
            q.append(now)

    def success(self, login: str, address: str) -> None:
        with self._lock:
            self._fails.pop((login.casefold(), address), None)


# -- sessions ------------------------------------------------------------------------------------
# The cookie (signed by Starlette's SessionMiddleware) holds one random id and nothing else:
# ``{"sid": …}`` for a logged-in session, kept in the store (:mod:`mzgis.layers.store.sessions`),
# or ``{"anon": …}`` before login, whose CSRF token is an HMAC of it under the app's secret.

def _store(request: Request) -> ProjectStore:
    """The store, opened once per request."""
    store = getattr(request.state, "mz_store", None)
    if store is None:
        store = request.app.state.mz.store()
        request.state.mz_store = store
    return store


def server_session(request: Request) -> dict[str, Any] | None:
    """The live server-side session named by the cookie, or None; a cookie naming a session that
    was ended (logout, password, disabled, role) or has expired is cleared."""
    cached = getattr(request.state, "mz_session", False)
    if cached is None or isinstance(cached, dict):
        return cached
    row = None
    sid = request.session.get("sid")
    if isinstance(sid, str):
        row = live_session(_store(request), sid)
        if row is None:
            request.session.clear()
    request.state.mz_session = row
    return row


def current_user(request: Request) -> User | None:
    """The logged-in user: a live server-side session of an enabled account, checked against the
    store on every request (a disabled account or a changed role take effect at once)."""
    cached = getattr(request.state, "mz_user", False)
    if cached is None or isinstance(cached, User):
        return cached
    user = None
    row = server_session(request)
    if row is not None:
        store = _store(request)
        acc = store.account(str(row["login"]))
        if acc is not None and str(acc.get("disabled")) != "1" and str(acc.get("role")) in ROLES:
            user = User(str(acc["login"]), str(acc["role"]))
            with contextlib.suppress(StoreError):  # last_seen is a note: a busy store does not refuse the page
                touch_session(store, row)
        else:
            end_session(store, str(request.session.get("sid")))
            request.session.clear()
            request.state.mz_session = None
    request.state.mz_user = user
    return user


def require_role(role: str) -> Callable[[Request], User]:
    """A dependency: the logged-in user if their role allows pages of ``role``; otherwise the
    login form (not logged in) or 403 — before the handler runs, so nothing is written."""
    check_role(role)

    def dependency(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise NotLoggedIn
        if not user.can(role):
            raise HTTPException(status_code=403, detail=f"需要角色 needs role {role} ({ROLE_ZH[role]}); "
                                                        f"您是 you are {user.role} ({user.role_zh})")
        return user

    return dependency


def login_session(request: Request, acc: dict[str, Any]) -> None:
    """Start a new server-side session for an account (a new id and a fresh CSRF token: nothing of
    the anonymous one or of an earlier session of this browser is kept)."""
    store = _store(request)
    old = request.session.get("sid")
    if isinstance(old, str):
        end_session(store, old)
    sid, _ = create_session(store, str(acc["login"]), max_age_s=int(request.app.state.mz.session_max_age_s))
    request.session.clear()
    request.session["sid"] = sid
    request.state.mz_session = False
    request.state.mz_user = False


def logout_session(request: Request) -> None:
    """End this browser's session in the store (a copy of the cookie no longer works) and clear the cookie."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        end_session(_store(request), sid)
    request.session.clear()
    request.state.mz_session = None
    request.state.mz_user = None


# -- CSRF ------------------------------------------------------------------------------------------
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: Form limits of a route that does not set its own (``WebState.form_limits``).
FORM_LIMITS = {"max_files": 8, "max_fields": 1000}


def _anon_csrf(request: Request, anon: str) -> str:
    key = bytes(request.app.state.mz.secret)
    mac = hmac.new(key, b"mzgis-login-csrf:" + anon.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The session's CSRF token (the server-side session's; before login, one tied to the
    anonymous cookie); every form sends it back as ``csrf_token``."""
    row = server_session(request)
    if row is not None:
        return str(row["csrf"])
    anon = request.session.get("anon")
    if not isinstance(anon, str) or len(anon) < 32:
        anon = secrets.token_urlsafe(32)
        request.session.clear()
        request.session["anon"] = anon
    return _anon_csrf(request, anon)


def _expected_csrf(request: Request) -> str | None:
    row = server_session(request)
    if row is not None:
        return str(row["csrf"])
    anon = request.session.get("anon")
    return _anon_csrf(request, anon) if isinstance(anon, str) and len(anon) >= 32 else None


async def read_form(request: Request, *, max_files: int, max_fields: int) -> Any:
    """The request's form, parsed once with these limits (later reads get the same form); a form
    over them is 400 with a bilingual message."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise
        msg = (f"表单字段或文件太多 the form has too many fields or files ({exc.detail}): 此表单至多 this form takes "
               f"at most {max_fields} 个字段 fields and {max_files} 个文件 files; 未写入 nothing was written")
        raise HTTPException(status_code=400, detail=msg) from exc


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every request that is not GET/HEAD/OPTIONS must carry the session's
    token (form field ``csrf_token`` or header ``X-CSRF-Token``), checked against the server-side
    session, and, when the browser says where it comes from, come from this site; otherwise 403
    before anything else runs. A cookie of an ended or expired session is 401 (log in again).
    The form is parsed here once, with the route's own limits (``WebState.form_limits``)."""
    if request.method in _SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        from urllib.parse import urlsplit

        if urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(status_code=403, detail="跨站请求被拒绝 cross-site request refused (Origin)")
    had_sid = isinstance(request.session.get("sid"), str)
    if had_sid and server_session(request) is None and request.url.path != "/login":
        raise NotLoggedIn  # the session was ended or has expired (a login form gets the stale-form answer)
    expected = _expected_csrf(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            limits = request.app.state.mz.form_limits.get(request.url.path, FORM_LIMITS)
            form = await read_form(request, **limits)
            v = form.get(CSRF_FIELD)
            sent = v if isinstance(v, str) else None
    if not (isinstance(expected, str) and sent and hmac.compare_digest(expected.encode(), sent.encode())):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明 the form is stale or did not come "
                                                    "from this site (CSRF token missing or wrong); 请刷新页面重试 "
                                                    "reload the page and try again")
