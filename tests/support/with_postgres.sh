#!/usr/bin/env bash
# Runs CMD... against a throwaway PostgreSQL cluster, then removes the cluster.
#
#   tests/support/with_postgres.sh .venv/bin/python -m pytest tests/test_storage.py
#
# Installs Debian's `postgresql` when no /usr/lib/postgresql/*/bin/initdb exists (as root;
# `apt-get update` only if the first install fails). If it still cannot be had, prints one
# line saying the PostgreSQL tests are skipped and exits 0 without running CMD.
#
# The cluster: initdb into a fresh `mktemp -d` directory (as the postgres OS user when run as
# root, since initdb refuses root), trust auth, listening only on 127.0.0.1 on a free port,
# unix sockets in that directory, fsync off, and the server's time zone set away from UTC
# (Asia/Tokyo) so that anything stored in server-local time shows up. CMD runs with
# BETWEEN_TEST_DATABASE_URL set to the cluster's admin URL. The server is stopped and its
# directory deleted on every exit (trap), and the exit code is CMD's.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 64
fi

PYTHON=${PYTHON:-python3}
PG_LIB=${BETWEEN_PG_LIB:-/usr/lib/postgresql}  # where Debian puts each version's binaries

find_bindir() {
    local initdb
    initdb=$(ls -1d "$PG_LIB"/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$initdb" ] && dirname "$initdb"
}

install_postgres() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "not root and no password-less sudo to apt-get install postgresql"
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "no apt-get on this machine to install postgresql"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -q postgresql >"$1" 2>&1 && return 0
    "${sudo[@]}" apt-get update -q >>"$1" 2>&1 || true
    if ! "${sudo[@]}" apt-get install -y -q postgresql >>"$1" 2>&1; then
        echo "apt-get install -y postgresql failed: $(grep -E '^E:' "$1" | head -n 1 || tail -n 1 "$1")"
        return 1
    fi
}

BINDIR=$(find_bindir || true)
if [ -z "$BINDIR" ]; then
    apt_log=$(mktemp)
    if ! why=$(install_postgres "$apt_log"); then
        rm -f "$apt_log"
        echo "PostgreSQL tests are skipped: ${why:-postgresql could not be installed}"
        exit 0
    fi
    rm -f "$apt_log"
    BINDIR=$(find_bindir || true)
    if [ -z "$BINDIR" ]; then
        echo "PostgreSQL tests are skipped: postgresql was installed but no initdb was found"
        exit 0
    fi
fi

PGTMP=$(mktemp -d "${TMPDIR:-/tmp}/between-pg.XXXXXX")
PGDATA="$PGTMP/data"
STARTED=0

if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PGTMP"
    as_pg() { (cd "$PGTMP" && runuser -u postgres -- "$@"); }
else
    as_pg() { (cd "$PGTMP" && "$@"); }
fi

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$STARTED" -eq 1 ]; then
        as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGTMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg "$BINDIR/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale --no-sync \
    --auth-local=trust --auth-host=trust >"$PGTMP/initdb.log" 2>&1 || {
    cat "$PGTMP/initdb.log" >&2
    echo "initdb failed" >&2
    exit 1
}
cat >>"$PGDATA/postgresql.conf" <<CONF

# tests/support/with_postgres.sh: a throwaway cluster for the test suite
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGTMP'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
timezone = 'Asia/Tokyo'
log_timezone = 'Asia/Tokyo'
CONF

free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

for attempt in 1 2 3; do  # a free port can be taken before the server binds it: try another
    PORT=$(free_port)
    STARTED=1
    if as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -l "$PGTMP/server.log" -o "-p $PORT" -w -t 60 \
        start >/dev/null; then
        break
    fi
    STARTED=0
    if [ "$attempt" -eq 3 ]; then
        tail -n 20 "$PGTMP/server.log" >&2 || true
        echo "PostgreSQL did not start on 127.0.0.1 (last port tried: $PORT)" >&2
        exit 1
    fi
done

export BETWEEN_TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:$PORT/postgres"
echo "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (server time zone Asia/Tokyo): $*"
set +e
"$@"
status=$?
set -e
exit "$status"
