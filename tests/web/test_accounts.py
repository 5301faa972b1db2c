"""Accounts without a server: the store API on both back ends, `mzgis users`, the login limiter,
the session secret, and templates that never mark user data safe."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from mzgis.errors import StoreError
from mzgis.web.auth import AccountError, Accounts, LoginLimiter
from tests.web.conftest import mzgis_exe

WEB = Path(__file__).resolve().parents[2] / "mzgis" / "web"


def test_accounts_on_each_back_end(any_workspace):
    acc = Accounts(any_workspace.store)
    acc.add("wang", "first-password", "placename", by="admin1")
    assert acc.verify("wang", "first-password")["role"] == "placename"
    assert acc.verify("wang", "wrong-password") is None
    assert acc.verify("nobody", "first-password") is None
    stored = any_workspace.store.account("wang")["password_hash"]
    assert stored.startswith("$argon2id$")
    assert "first-password" not in stored
    with pytest.raises(StoreError, match="already exists"):
        acc.add("wang", "other-password", "viewer", by="admin1")
    with pytest.raises(StoreError, match="no account"):
        acc.passwd("li", "other-password", by="admin1")
    with pytest.raises(AccountError, match="too short"):
        acc.add("li", "short", "viewer", by="admin1")
    with pytest.raises(AccountError, match="invalid role"):
        acc.add("li", "long-enough-1", "root", by="admin1")
    with pytest.raises(AccountError, match="invalid account name"):
        acc.add("../li", "long-enough-1", "viewer", by="admin1")
    acc.passwd("wang", "second-password", by="wang")
    assert acc.verify("wang", "first-password") is None
    assert acc.verify("wang", "second-password") is not None
    acc.set_disabled("wang", True, by="admin1")
    assert acc.verify("wang", "second-password") is None  # disabled: even the right password
    acc.set_role("wang", "viewer", by="admin2")
    acc.set_disabled("wang", False, by="admin1")
    assert acc.verify("wang", "second-password")["role"] == "viewer"
    # every change is a row: who and when (the audit trail)
    rows = any_workspace.store.records("mzgis_users")
    assert list(rows["changed_by"]) == ["admin1", "wang", "admin1", "admin2", "admin1"]
    assert [r["login"] for r in acc.list()] == ["wang"]


def test_postgis_viewers_cannot_read_password_hashes(pg_url, tmp_path):
    import psycopg

    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="测试区", store=pg_url)
    Accounts(ws.store).add("wang", "first-password", "admin", by="t")
    with psycopg.connect(pg_url) as con:
        for role in ("mzgis_viewer", "mzgis_placename", "mzgis_planner"):
            ok = con.execute("SELECT has_table_privilege(%s, 'mzgis_users', 'SELECT')", (role,)).fetchone()[0]
            assert ok is False, role
        # the inspections table (another plain table) is still shared with the roles
        assert con.execute("SELECT has_table_privilege('mzgis_viewer', 'mzgis_inspections', 'SELECT')").fetchone()[0]


def _users(ws: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*mzgis_exe(), "users", str(ws), *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False, stdin=None if stdin is not None else subprocess.DEVNULL)


def test_users_command_process(workspace):
    """As its own process: the password comes from stdin and is never echoed."""
    secret = "s3cret-Pässword"
    r = _users(workspace.root, "add", "zhang", "--role", "admin", "--password-stdin", stdin=secret + "\n")
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    assert Accounts(workspace.store).verify("zhang", secret) is not None
    # no terminal and no --password-stdin: refused with a clear message, nothing written
    r = _users(workspace.root, "passwd", "zhang")
    assert r.returncode == 2
    assert "--password-stdin" in r.stderr
    assert "Traceback" not in r.stderr
    assert Accounts(workspace.store).verify("zhang", secret) is not None


def test_users_command(workspace, monkeypatch, capsys):
    from mzgis.gis.cli import main

    ws = str(workspace.root)

    def users(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["users", ws, *args])

    assert users("add", "zhang", "--role", "admin", "--password-stdin", stdin="first-password\n") == 0
    assert users("passwd", "zhang", "--password-stdin", stdin="new-password-2\n") == 0
    assert Accounts(workspace.store).verify("zhang", "first-password") is None
    assert Accounts(workspace.store).verify("zhang", "new-password-2") is not None
    capsys.readouterr()
    assert users("add", "zhang", "--role", "viewer", "--password-stdin", stdin="another-pass\n") == 2
    err = capsys.readouterr().err
    assert "错误" in err
    assert "already exists" in err
    assert users("add", "li", "--role", "viewer", "--password-stdin", stdin="short\n") == 2
    assert "too short" in capsys.readouterr().err
    assert users("add", "li", "--password-stdin", stdin="long-enough-1\n") == 2
    assert "--role" in capsys.readouterr().err
    assert users("passwd", "nobody", "--password-stdin", stdin="long-enough-1\n") == 2
    assert "no account" in capsys.readouterr().err
    assert users("disable", "zhang") == 0
    capsys.readouterr()
    assert users("list") == 0
    out = capsys.readouterr().out
    assert re.search(r"^zhang\tadmin\t已停用 disabled", out, re.M), out
    assert "$argon2" not in out
    assert [r["login"] for r in Accounts(workspace.store).list()] == ["zhang"]  # li was never added


def test_login_limiter_window():
    now = [1000.0]
    lim = LoginLimiter(5, 60.0, clock=lambda: now[0])
    for _ in range(4):
        lim.failure("Wang", "10.0.0.1")
        now[0] += 1
    assert lim.retry_after("wang", "10.0.0.1") == 0  # 4 failures: may try again
    lim.failure("wang", "10.0.0.1")  # the 5th, at t = 1004
    assert lim.retry_after("WANG", "10.0.0.1") == pytest.approx(56.0)  # the first leaves at 1060
    assert lim.retry_after("wang", "10.0.0.2") == 0  # another address
    assert lim.retry_after("li", "10.0.0.1") == 0  # another account
    now[0] = 1060.5
    assert lim.retry_after("wang", "10.0.0.1") == 0  # the window passed
    lim.failure("wang", "10.0.0.1")
    assert lim.retry_after("wang", "10.0.0.1") > 0  # 5 failures within 60 s again (1001..1060.5)
    lim.success("wang", "10.0.0.1")
    assert lim.retry_after("wang", "10.0.0.1") == 0


def test_session_secret_is_private(workspace):
    from mzgis.web.app import SECRET_DIR, SECRET_NAME, session_secret

    first = session_secret(workspace.root)
    p = workspace.root / SECRET_DIR / SECRET_NAME
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE(p.parent.stat().st_mode) == 0o700
    assert len(first) >= 64
    assert session_secret(workspace.root) == first  # kept across restarts
    assert not any(SECRET_NAME in str(f) for f in (workspace.root / "out").rglob("*"))
    os.chmod(p, 0o600)


def test_templates_never_mark_data_safe():
    """Autoescape is on for every template and no template or module switches it off."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]}
    assert len(texts) > 10
    for name, text in texts.items():
        if name.endswith(".html"):
            assert not re.search(r"\|\s*safe\b", text), name
        assert "autoescape false" not in text, name
        assert "autoescape=False" not in text, name
        assert not re.search(r"\bMarkup\(", text), name
        if name.endswith(".html"):  # no inline script in templates: only empty tags of our own static files
            tags = re.findall(r"(<script\b[^>]*>)(.*?)</script>", text, re.S)
            assert text.count("<script") == len(tags), name
            for tag, body in tags:
                assert re.fullmatch(r'<script src="/static/[\w-]+\.js"( defer)?>', tag), (name, tag)
                assert body == "", name
        assert " style=" not in text, name  # no inline style (the CSP forbids it)
    assert "autoescape=True" in texts["app.py"]


def test_nothing_imports_the_web_app_but_the_cli():
    """mzgis.web is the top layer: only gis/cli_web.py imports it, inside its command functions."""
    import ast

    pkg = WEB.parent
    for path in pkg.rglob("*.py"):
        if WEB in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "mzgis.web" or n.startswith("mzgis.web.") for n in names):
                assert path.name == "cli_web.py", path
                assert node.col_offset > 0, f"{path}:{node.lineno}: imported at module level"
