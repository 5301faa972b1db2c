#!/usr/bin/env bash
# A local PostgreSQL + PostGIS server for a shared mzgis store (and for the tests).
#
#   scripts/postgis.sh start DIR [PORT]   initialise DIR (if new) and start a server on 127.0.0.1:PORT
#                                        (a free port if none), print the connection URL
#   scripts/postgis.sh stop DIR           stop it
#   scripts/postgis.sh status DIR         say whether it runs, print the URL
#   scripts/postgis.sh url DIR            print the URL only
#
# Installs the Debian packages postgresql and postgresql-15-postgis-3 where missing (as root,
# apt-get). PostgreSQL refuses to run as root: when run as root the server runs as the `postgres`
# system user (runuser), and DIR is handed to it. The server listens on 127.0.0.1 only and trusts
# local connections (a single-machine or test server); for a team server, set passwords and
# edit DIR/data/pg_hba.conf. The database is `mzgis`, with the postgis extension.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  sed -n '2,14p' "$0" >&2
  exit 2
fi

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

install_packages() {
  local bin
  bin=$(pg_bin)
  if [ -n "$bin" ] && ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgis.sh: installing postgresql and postgresql-15-postgis-3 (Debian packages)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql postgresql-15-postgis-3 >/dev/null
  else
    echo "postgis.sh: PostgreSQL/PostGIS missing; install them: apt-get install postgresql postgresql-15-postgis-3" >&2
    exit 1
  fi
}

as_server() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

url_of() {
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/mzgis"
}

case "$cmd" in
  start)
    install_packages
    bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = "0" ]; then
      chown -R postgres: "$dir"
      chmod 700 "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    port=${3:-}
    if [ -z "$port" ]; then
      if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    fi
    if [ "$(id -u)" = "0" ]; then
      runuser -u postgres -- sh -c "echo $port > '$dir/port'"
    else
      echo "$port" > "$dir/port"
    fi
    if ! as_server "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    fi
    if ! as_server "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'mzgis'" | grep -q 1; then
      as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres mzgis
    fi
    as_server "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d mzgis -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    url_of
    ;;
  stop)
    bin=$(pg_bin)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    echo "stopped"
    ;;
  status)
    bin=$(pg_bin)
    if [ -f "$dir/data/PG_VERSION" ] && as_server "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "running: $(url_of)"
    else
      echo "not running"
      exit 3
    fi
    ;;
  url)
    url_of
    ;;
  *)
    echo "postgis.sh: unknown command '$cmd' (start | stop | status | url)" >&2
    exit 2
    ;;
esac
