"""Commands of the web app: ``mzgis serve`` and ``mzgis users`` (the web package is imported lazily)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mzgis.gis.argtypes import WS_HELP, positive_int


def _password(a: argparse.Namespace) -> str:
    """The new password: one line of stdin (``--password-stdin``) or typed twice, never echoed."""
    from mzgis.errors import MzgisError

    if a.password_stdin:
        line = sys.stdin.readline()
        pw = line[:-1] if line.endswith("\n") else line
        return pw.removesuffix("\r")
    import getpass

    if not sys.stdin.isatty():
        msg = "没有终端 no terminal to type the password on: 用 use --password-stdin (one line on standard input)"
        raise MzgisError(msg)
    pw = getpass.getpass("新密码 new password: ")
    if getpass.getpass("再输一次 again: ") != pw:
        msg = "两次输入不一致 the two passwords differ; 未改动 nothing changed"
        raise MzgisError(msg)
    return pw


def cmd_users(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace
    from mzgis.layers.store import current_user
    from mzgis.web.auth import Accounts, check_login

    ws = Workspace.open(a.dir)
    acc = Accounts(ws.store)
    by = current_user()
    if a.action == "list":
        rows = acc.list()
        if not rows:
            print("（无账号 no accounts）用 add one with: mzgis users WS add LOGIN --role admin")
        for r in rows:
            state = "已停用 disabled" if str(r["disabled"]) == "1" else "启用 enabled"
            print(f"{r['login']}\t{r['role']}\t{state}\t{r['changed_at']}\t{r['changed_by']}")
        return 0
    if not a.login:
        from mzgis.errors import MzgisError

        msg = f"users {a.action}: 需要账号名 give the account name, e.g. mzgis users WS {a.action} wang"
        raise MzgisError(msg)
    check_login(a.login)
    if a.action == "add":
        if not a.role:
            from mzgis.errors import MzgisError

            msg = "users add: 需要角色 give --role viewer|planner|placename|admin"
            raise MzgisError(msg)
        acc.add(a.login, _password(a), a.role, by=by)
        print(f"已添加账号 account added: {a.login} ({a.role})")
    elif a.action == "passwd":
        if acc.get(a.login) is None:
            from mzgis.errors import MzgisError

            msg = f"没有账号 no account '{a.login}'; 先添加 add it with `mzgis users WS add {a.login} --role ROLE`"
            raise MzgisError(msg)
        acc.passwd(a.login, _password(a), by=by)
        print(f"已修改密码 password changed: {a.login}（其会话已失效 its sessions are logged out）")
    elif a.action in ("disable", "enable"):
        acc.set_disabled(a.login, a.action == "disable", by=by)
        print(f"已{'停用' if a.action == 'disable' else '启用'} account {a.action}d: {a.login}")
    elif a.action == "role":
        acc.set_role(a.login, a.role or "", by=by)
        print(f"已改角色 role changed: {a.login} → {a.role}")
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    import uvicorn

    from mzgis.web.app import create_app

    app = create_app(a.dir, secure_cookies=a.secure_cookies)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"注意 note: 服务对网络开放 serving on {a.host}: 会话 cookie 明文传输，请在内网或 TLS 代理后使用 "
              "the session cookie travels in clear text over HTTP; use it on the intranet or behind a TLS proxy "
              "(with --secure-cookies)", file=sys.stderr)
    if not app.state.mz.accounts().list():
        print("注意 note: 还没有账号 no accounts yet: mzgis users WS add LOGIN --role admin", file=sys.stderr)
    print(f"mzgis serve: http://{a.host}:{a.port}/  (Ctrl+C 停止 to stop)", flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning", access_log=False, proxy_headers=False,
                server_header=False, timeout_graceful_shutdown=10)
    return 0


def add_commands(sub: Any) -> None:
    """Register ``serve`` and ``users``."""
    s = sub.add_parser("serve", help="网页服务 serve the web app on the workspace's store")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--host", default="127.0.0.1", help="监听地址 address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=positive_int, default=8750, help="端口 port (default 8750)")
    s.add_argument("--secure-cookies", action="store_true", help="会话 cookie 只经 HTTPS 发送 send the session cookie over HTTPS only")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("users", help="网页账号 web accounts: add | passwd | disable | enable | role | list")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("action", choices=["add", "passwd", "disable", "enable", "role", "list"],
                   help="操作 action: add 添加 | passwd 改密码 | disable 停用 | enable 启用 | role 改角色 | list 列出")
    s.add_argument("login", nargs="?", help="账号名 account name (not for list)")
    s.add_argument("--role", choices=["viewer", "planner", "placename", "admin"],
                   help="角色 role: viewer 查看 | planner 规划 | placename 地名界线 | admin 管理")
    s.add_argument("--password-stdin", action="store_true",
                   help="从标准输入读一行密码 read the password from one line of standard input (never on the command line)")
    s.set_defaults(func=cmd_users)
