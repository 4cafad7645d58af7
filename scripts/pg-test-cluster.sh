#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster.
#
# Usage: scripts/pg-test-cluster.sh COMMAND [ARG...]
#
# Creates a cluster in a fresh temp folder, starts it on 127.0.0.1 at a free
# port, creates database backoffice_test (owner: superuser "app", trust auth),
# exports
#   TEST_DATABASE_URL=postgresql+psycopg://app@127.0.0.1:PORT/backoffice_test
#   (and PGHOST, PGPORT, PGUSER, PGDATABASE for psql & co.)
# runs COMMAND, then always stops the cluster and removes the folder.
# Exit status: COMMAND's, or non-zero if the cluster could not be set up.
#
# initdb refuses root: as root the server runs as the "postgres" system user
# (from the Debian package), or as "pgtest" (created if absent). Otherwise it
# runs as the current user.
# PG_BINDIR overrides the server binaries folder
# (default: newest /usr/lib/postgresql/*/bin, 15 on Debian 12).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

# --- binaries -------------------------------------------------------------
if [ -z "${PG_BINDIR:-}" ]; then
    PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "${PG_BINDIR:-}" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
    echo "pg-test-cluster: no PostgreSQL server binaries (apt-get install postgresql)" >&2
    exit 1
fi

# --- user ---------------------------------------------------------------
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    if id -u postgres >/dev/null 2>&1; then
        pg_user=postgres
    else
        pg_user=pgtest
        if ! id -u "$pg_user" >/dev/null 2>&1; then
            echo "pg-test-cluster: creating system user $pg_user"
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$pg_user"
        fi
    fi
    as_pg=(runuser -u "$pg_user" --)
else
    pg_user=$(id -un)
fi

# --- folder & cleanup ------------------------------------------------------
workdir=$(mktemp -d "${TMPDIR:-/tmp}/pg-test.XXXXXX")
datadir="$workdir/data"
sockdir="$workdir/sock"
logfile="$workdir/server.log"
started=0

cleanup() {
    local rc=$?
    set +e
    if [ "$started" -eq 1 ]; then
        echo "==> stopping test PostgreSQL cluster"
        (cd "$workdir" && "${as_pg[@]}" "$PG_BINDIR/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null)
    fi
    rm -rf "$workdir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$sockdir"
chmod 700 "$workdir"
if [ "${#as_pg[@]}" -gt 0 ]; then
    chown -R "$pg_user": "$workdir"
fi

# Commands run from $workdir so the server user never needs access to the cwd.
pg() { (cd "$workdir" && "${as_pg[@]}" "$@"); }

if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
    locale=C.UTF-8
else
    locale=C
fi

echo "==> initdb ($PG_BINDIR, user $pg_user, locale $locale)"
if ! pg "$PG_BINDIR/initdb" -D "$datadir" -A trust --no-sync -U app -E UTF8 \
        --locale="$locale" >"$workdir/initdb.log" 2>&1; then
    cat "$workdir/initdb.log" >&2
    echo "pg-test-cluster: initdb failed" >&2
    exit 1
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port picked this way can be taken before the server binds it: retry.
for attempt in 1 2 3; do
    port=$(free_port)
    if pg "$PG_BINDIR/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $sockdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
        started=1
        break
    fi
    echo "pg-test-cluster: start on port $port failed (attempt $attempt)" >&2
done
if [ "$started" -ne 1 ]; then
    cat "$logfile" >&2 || true
    echo "pg-test-cluster: could not start PostgreSQL" >&2
    exit 1
fi
echo "==> test PostgreSQL listening on 127.0.0.1:$port"

"$PG_BINDIR/createdb" -h 127.0.0.1 -p "$port" -U app backoffice_test

export TEST_DATABASE_URL="postgresql+psycopg://app@127.0.0.1:$port/backoffice_test"
export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=app PGDATABASE=backoffice_test

set +e
"$@"
rc=$?
set -e
exit "$rc"
