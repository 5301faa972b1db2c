"""Web sessions kept in the store (``mzgis_web_sessions``), so they can be ended server-side.

The browser's cookie holds only a random session id (``secrets.token_urlsafe(32)``); the table
holds its SHA-256, the account, when the session started, when it expires, when it was last
seen and its CSRF token. Logout deletes the row; a password change, disabling an account or a
change of role deletes every row of the account — on PostGIS for every server of the team at
once, as they share the table. Like ``mzgis_users``, the table is the owner's: the database
roles of QGIS users are not granted it, and ``mzgis store copy`` leaves it behind.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from mzgis.layers.store.base import SESSIONS_TABLE, ProjectStore

__all__ = ["SESSIONS_TABLE", "create_session", "end_session", "end_user_sessions", "live_session", "sid_hash",
           "touch_session"]

COLUMNS = ("sid_hash", "login", "created_at", "expires_at", "last_seen", "csrf")
#: ``last_seen`` is written at most this often per session (a write per request would be a lock per request).
TOUCH_EVERY_S = 60


def _iso(t: float) -> str:
    """UTC, fixed width, so text order is time order on both back ends."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def _exists(store: ProjectStore, con: Any) -> bool:
    return SESSIONS_TABLE in store._table_names(con)


def create_session(store: ProjectStore, login: str, *, max_age_s: int, now: float | None = None) -> tuple[str, str]:
    """Start a session of ``login``: ``(session id, CSRF token)``. Expired sessions are cleared on the way."""
    t = time.time() if now is None else now
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = {"sid_hash": sid_hash(sid), "login": str(login), "created_at": _iso(t), "expires_at": _iso(t + max_age_s),
           "last_seen": _iso(t), "csrf": csrf}
    with store._write_tx(str(login), "web login", _iso(t)) as con:
        store._lock_records(con, SESSIONS_TABLE)  # two first logins at once create the table once
        if not _exists(store, con):
            store._create_records_table(con, SESSIONS_TABLE, list(COLUMNS))
            store._exec(con, f"CREATE UNIQUE INDEX IF NOT EXISTS mzgis_web_sessions_sid ON {SESSIONS_TABLE} (sid_hash)")
        else:
            store._exec(con, f"DELETE FROM {SESSIONS_TABLE} WHERE expires_at <= ?", (_iso(t),))
        store._append(con, SESSIONS_TABLE, [row])
    return sid, csrf


def live_session(store: ProjectStore, sid: str, *, now: float | None = None) -> dict[str, Any] | None:
    """The session of this id if it exists and has not expired, else None."""
    if not isinstance(sid, str) or not sid:
        return None
    t = time.time() if now is None else now
    with store._read_con() as con:
        if not _exists(store, con):
            return None
        df = store._query(con, f"SELECT {', '.join(COLUMNS)} FROM {SESSIONS_TABLE} WHERE sid_hash = ?",
                          (sid_hash(sid),))
    if df.empty:
        return None
    row = {str(k): (None if v is None else str(v)) for k, v in df.iloc[0].to_dict().items()}
    if not row.get("expires_at") or str(row["expires_at"]) <= _iso(t):
        return None
    return row


def touch_session(store: ProjectStore, row: dict[str, Any], *, now: float | None = None) -> None:
    """Write ``last_seen`` of a live session (at most every :data:`TOUCH_EVERY_S` seconds)."""
    t = time.time() if now is None else now
    if str(row.get("last_seen") or "") > _iso(t - TOUCH_EVERY_S):
        return
    with store._write_tx(str(row["login"]), "web session", _iso(t)) as con:
        store._exec(con, f"UPDATE {SESSIONS_TABLE} SET last_seen = ? WHERE sid_hash = ?", (_iso(t), row["sid_hash"]))


def _delete(store: ProjectStore, where: str, value: str, who: str) -> int:
    with store._write_tx(who, "end web sessions", _iso(time.time())) as con:
        if not _exists(store, con):
            return 0
        cur = store._exec(con, f"DELETE FROM {SESSIONS_TABLE} WHERE {where} = ?", (value,))
        return int(cur.rowcount)


def end_session(store: ProjectStore, sid: str) -> int:
    """End one session (logout); the number of sessions ended (0 or 1)."""
    return _delete(store, "sid_hash", sid_hash(sid), "web logout")


def end_user_sessions(store: ProjectStore, login: str) -> int:
    """End every session of an account (password, disabled, role changed); how many were ended."""
    return _delete(store, "login", str(login), str(login))
