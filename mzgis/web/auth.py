"""Accounts, roles, sessions, CSRF and the login rate limit of the web app.

Accounts live in the workspace's store (``mzgis_users``, see
:meth:`mzgis.layers.store.base.ProjectStore.account`): on PostGIS every server of a team sees the
same accounts as the same data, and each change of an account is a row with who made it and when.
Passwords are Argon2id hashes (argon2-cffi); a login that does not exist is verified against a
dummy hash, so the time taken does not tell whether it exists.
"""

from __future__ import annotations

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

from mzgis.errors import AccountError
from mzgis.layers.store import ProjectStore

__all__ = ["RIGHTS", "ROLES", "AccountError", "Accounts", "LoginLimiter", "NotLoggedIn", "User", "check_csrf",
           "csrf_token", "current_user", "require_role"]

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


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash kept in the session: a changed password logs sessions out."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


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
        check_password(password)
        self.store.put_account(login, by=by, password_hash=_hasher().hash(password))

    def set_disabled(self, login: str, disabled: bool, *, by: str) -> None:
        self.store.put_account(login, by=by, disabled="1" if disabled else "0")

    def set_role(self, login: str, role: str, *, by: str) -> None:
        self.store.put_account(login, by=by, role=check_role(role))

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

def current_user(request: Request) -> User | None:
    """The logged-in user, checked against the store on every request (a disabled account, a
    changed password or role take effect at once)."""
    cached = getattr(request.state, "mz_user", False)
    if cached is None or isinstance(cached, User):
        return cached
    user = None
    login = request.session.get("login")
    if isinstance(login, str):
        acc = request.app.state.mz.accounts().get(login)
        if (acc is not None and str(acc.get("disabled")) != "1"
                and hmac.compare_digest(fingerprint(str(acc.get("password_hash"))), str(request.session.get("pw", "")))
                and str(acc.get("role")) in ROLES):
            user = User(login, str(acc["role"]))
        else:
            request.session.clear()
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
    """Start a new session for an account (a fresh CSRF token: nothing of the anonymous one is kept)."""
    request.session.clear()
    request.session.update({"login": str(acc["login"]), "pw": fingerprint(str(acc["password_hash"])),
                            "csrf": secrets.token_urlsafe(32), "at": int(time.time())})


# -- CSRF ------------------------------------------------------------------------------------------
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form sends it back as ``csrf_token``."""
    tok = request.session.get("csrf")
    if not isinstance(tok, str) or len(tok) < 32:
        tok = secrets.token_urlsafe(32)
        request.session["csrf"] = tok
    return tok


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every request that is not GET/HEAD/OPTIONS must carry the session's
    token (form field ``csrf_token`` or header ``X-CSRF-Token``) and, when the browser says where it
    comes from, come from this site; otherwise 403 before anything else runs."""
    if request.method in _SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        from urllib.parse import urlsplit

        if urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(status_code=403, detail="跨站请求被拒绝 cross-site request refused (Origin)")
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=8, max_fields=1000)
            v = form.get(CSRF_FIELD)
            sent = v if isinstance(v, str) else None
    if not (isinstance(expected, str) and sent and hmac.compare_digest(expected.encode(), sent.encode())):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明 the form is stale or did not come "
                                                    "from this site (CSRF token missing or wrong); 请刷新页面重试 "
                                                    "reload the page and try again")
