"""Issue 23: server-side, revocable web sessions (on both store back ends), in process.

The cookie carries only a random session id; the store keeps its SHA-256 with the account, the
times and the CSRF token. Logout, a password change, disabling and a role change end the
account's sessions everywhere; an expired session and another session's CSRF token are refused."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from mzgis.web.auth import Accounts
from tests.web.test_issue23_web import client

PW = {"boss": "admin-pass-1", "p1": "planner-pass-1", "p2": "planner-pass-2", "p3": "planner-pass-3"}
COOKIE = "mzgis_session"


@pytest.fixture
def ws_app(any_workspace: Any) -> Any:
    from mzgis.web.app import create_app

    acc = Accounts(any_workspace.store)
    acc.add("boss", PW["boss"], "admin", by="t")
    for u in ("p1", "p2", "p3"):
        acc.add(u, PW[u], "planner", by="t")
    return create_app(any_workspace.root)


def login(app: Any, name: str) -> Any:
    return client(app, login=name, password=PW[name])


def bare(app: Any, cookie: str) -> Any:
    """A new client that sends only ``cookie`` (a copied session cookie)."""
    c = client(app)
    c.headers["Cookie"] = f"{COOKIE}={cookie}"
    return c


def sessions_table(app: Any) -> list[dict[str, Any]]:
    from mzgis.layers.store.sessions import SESSIONS_TABLE

    df = app.state.mz.store().records(SESSIONS_TABLE)
    return df.to_dict("records") if len(df) else []


def test_cookie_holds_only_a_random_id_and_the_store_only_its_hash(ws_app):
    c = login(ws_app, "p1")
    cookie = c.cookies[COOKIE]
    payload = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    assert list(payload) == ["sid"]
    assert len(payload["sid"]) >= 43
    assert c.csrf not in cookie
    rows = sessions_table(ws_app)
    assert len(rows) == 1
    row = rows[0]
    assert row["login"] == "p1"
    assert row["sid_hash"] == hashlib.sha256(payload["sid"].encode()).hexdigest()
    assert payload["sid"] not in json.dumps(rows, default=str)
    assert row["csrf"] == c.csrf
    for k in ("created_at", "expires_at", "last_seen"):
        assert row[k]


def test_a_copied_cookie_is_refused_after_logout(ws_app):
    c = login(ws_app, "boss")
    cookie, tok = c.cookies[COOKIE], c.csrf
    assert bare(ws_app, cookie).get("/").status_code == 200  # the copy works while the session lives
    assert c.post("/logout", data={"csrf_token": tok}).status_code == 303
    copy = bare(ws_app, cookie)
    r = copy.get("/")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    r = bare(ws_app, cookie).post("/admin/users", data={"csrf_token": tok, "login": "p1", "action": "disable"})
    assert r.status_code == 401, r.text
    assert "登录" in r.text
    assert ws_app.state.mz.store().account("p1")["disabled"] == "0"
    assert sessions_table(ws_app) == []


def test_password_disable_and_role_change_end_the_sessions(ws_app):
    acc = ws_app.state.mz.accounts()
    cs = {u: login(ws_app, u) for u in ("p1", "p2", "p3")}
    other = login(ws_app, "p1")  # a second session of p1 (another phone)
    admin = login(ws_app, "boss")
    assert all(c.get("/").status_code == 200 for c in [*cs.values(), other])
    acc.passwd("p1", "planner-pass-new", by="boss")
    acc.set_disabled("p2", True, by="boss")
    acc.set_disabled("p2", False, by="boss")  # enabled again: the old session stays ended
    r = admin.post("/admin/users", data={"csrf_token": admin.csrf, "login": "p3", "action": "role", "role": "viewer"})
    assert r.status_code == 303
    for c in [*cs.values(), other]:
        r = c.get("/")
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith("/login")
    assert {r["login"] for r in sessions_table(ws_app)} == {"boss"}
    assert admin.get("/").status_code == 200  # the admin's own session is untouched
    assert login(ws_app, "p2").get("/").status_code == 200  # a new login works


def test_an_expired_session_is_refused(ws_app):
    from mzgis.layers.store.sessions import SESSIONS_TABLE

    c = login(ws_app, "p1")
    assert c.get("/").status_code == 200
    store = ws_app.state.mz.store()
    with store._write_tx("t", None, "2000-01-01T00:00:00Z") as con:
        store._exec(con, f"UPDATE {SESSIONS_TABLE} SET expires_at = ?", ("2000-01-01T00:00:00Z",))
    r = c.get("/")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_csrf_token_of_another_session_is_refused(ws_app):
    a, b = login(ws_app, "boss"), login(ws_app, "p1")
    assert a.csrf != b.csrf
    r = a.post("/admin/users", data={"csrf_token": b.csrf, "login": "p2", "action": "disable"})
    assert r.status_code == 403
    assert ws_app.state.mz.store().account("p2")["disabled"] == "0"
    r = a.post("/admin/users", data={"csrf_token": a.csrf, "login": "p2", "action": "disable"})
    assert r.status_code == 303  # the refusal above was the token's


def test_sessions_in_the_store(any_workspace):
    from mzgis.layers.store import sessions as s

    store = any_workspace.store
    sid, csrf = s.create_session(store, "wang", max_age_s=3600)
    sid2, _ = s.create_session(store, "wang", max_age_s=3600)
    sid3, _ = s.create_session(store, "li", max_age_s=-1)  # already expired
    got = s.live_session(store, sid)
    assert got is not None
    assert got["login"] == "wang"
    assert got["csrf"] == csrf
    assert s.live_session(store, sid3) is None
    assert s.live_session(store, "x" * 43) is None
    assert s.end_session(store, sid) == 1
    assert s.live_session(store, sid) is None
    row = s.live_session(store, sid2)
    assert row is not None
    s.touch_session(store, row)  # seen just now: not written again
    assert s.live_session(store, sid2) == row
    s.touch_session(store, row, now=time.time() + 120)
    assert s.live_session(store, sid2)["last_seen"] > row["last_seen"]
    assert s.end_user_sessions(store, "wang") == 1
    assert s.live_session(store, sid2) is None
    s.create_session(store, "zhao", max_age_s=3600)  # a new session clears expired ones
    assert [r["login"] for r in store.records(s.SESSIONS_TABLE).to_dict("records")] == ["zhao"]


# -- /field/record: the route's own form limits -------------------------------------------------------

def _multipart(fields: list[tuple[str, str]], files: int = 0) -> tuple[bytes, str]:
    b = "mzgisSESSIONboundary7MA4YWxk"
    out = bytearray()
    for k, v in fields:
        out += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v.encode() + b"\r\n"
    for i in range(files):
        out += (f'--{b}\r\nContent-Disposition: form-data; name="photo"; filename="p{i}.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n").encode() + b"" + b"\r\n"
    out += f"--{b}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={b}"


@pytest.fixture
def field_app(private_ws: Path) -> Any:
    from mzgis.web.app import create_app

    return create_app(private_ws)


@pytest.mark.parametrize(("extra", "files"), [(40, 0), (0, 3)])
def test_field_record_form_limits_apply(field_app, extra, files):
    import secrets

    from mzgis.web.routes_field import RECORD_FORM_LIMITS

    c = client(field_app, "placename")
    fields = [("csrf_token", c.csrf), ("code", "M2"), ("client_key", secrets.token_hex(16)), ("condition", "完好"),
              ("date", "2026-01-05"), ("inspector", "测试员"), ("note", "")]
    fields += [(f"x{i}", "1") for i in range(extra)]
    assert len(fields) > RECORD_FORM_LIMITS["max_fields"] or files > RECORD_FORM_LIMITS["max_files"]
    before = len(field_app.state.mz.store().records("mzgis_inspections"))
    body, ctype = _multipart(fields, files)
    r = c.post("/field/record", content=body, headers={"Content-Type": ctype})
    assert r.status_code in (400, 413), (r.status_code, r.text[:300])
    assert "太多" in r.text
    assert "too many" in r.text
    assert len(field_app.state.mz.store().records("mzgis_inspections")) == before
    # the same form within the limits is recorded (so the refusal was the limit's)
    body, ctype = _multipart(fields[:7])
    r = c.post("/field/record", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 303, r.text[:300]
    assert len(field_app.state.mz.store().records("mzgis_inspections")) == before + 1


def test_cli_role_change_ends_the_sessions(ws_app, any_workspace, monkeypatch):
    from mzgis.gis.cli import main

    c = login(ws_app, "p1")
    assert c.get("/").status_code == 200
    assert main(["users", str(any_workspace.root), "role", "p1", "--role", "viewer"]) == 0
    assert c.get("/").status_code == 303


def test_sessions_stay_with_their_store(workspace, tmp_path):
    """`mzgis store copy` leaves the sessions behind (a copy's users log in again)."""
    from mzgis.layers.store import sessions as s
    from mzgis.layers.store.copy import copy_store

    sid, _ = s.create_session(workspace.store, "wang", max_age_s=3600)
    Accounts(workspace.store).add("wang", "first-password", "viewer", by="t")
    report = copy_store(workspace.store, tmp_path / "copy.gpkg")
    assert s.SESSIONS_TABLE not in report.records
    assert "mzgis_users" in report.records
    from mzgis.layers.store import open_store

    assert s.live_session(open_store(tmp_path / "copy.gpkg"), sid) is None


def test_postgis_roles_cannot_read_sessions(pg_url, tmp_path):
    import psycopg

    from mzgis.gis.workspace import init_workspace
    from mzgis.layers.store import sessions as s

    ws = init_workspace(tmp_path / "ws", name="测试区", store=pg_url)
    s.create_session(ws.store, "wang", max_age_s=3600)
    with psycopg.connect(pg_url) as con:
        for role in ("mzgis_viewer", "mzgis_placename", "mzgis_planner"):
            ok = con.execute("SELECT has_table_privilege(%s, %s, 'SELECT')", (role, s.SESSIONS_TABLE)).fetchone()[0]
            assert ok is False, role
