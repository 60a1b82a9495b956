#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for the server tests.
#
# Usage: scripts/test-postgres.sh start DIR [PORT]
#        scripts/test-postgres.sh stop DIR
#
# start creates a cluster in DIR (absent or empty) with Debian's initdb, run
# as the postgres user, listening on 127.0.0.1:PORT (default 55432) and on a
# unix socket in DIR. It creates the role vulnloop (password vulnloop,
# allowed to create databases, because each test makes its own database) and
# prints the URL for VULNLOOP_TEST_POSTGRES on stdout. stop shuts the cluster
# down; the caller removes DIR.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR [PORT] | stop DIR" >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
action=$1
dir=$2
port=${3:-55432}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z $bindir ]]; then
    echo "error: no PostgreSQL server found under /usr/lib/postgresql; install Debian's postgresql package" >&2
    exit 1
fi

# initdb and postgres refuse to run as root, so they run as postgres.
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case $action in
start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    echo postgres >"$dir/superuser-password"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/superuser-password"
    as_postgres "$bindir/initdb" --auth=scram-sha-256 --username=postgres --pwfile="$dir/superuser-password" \
        -D "$dir/data" >"$dir/initdb.log"
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off" start >&2
    PGPASSWORD=postgres "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE vulnloop LOGIN CREATEDB PASSWORD 'vulnloop'" \
        -c "CREATE DATABASE vulnloop OWNER vulnloop" >&2
    echo "postgres://vulnloop:vulnloop@127.0.0.1:$port/vulnloop"
    ;;
stop)
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    ;;
*)
    usage
    ;;
esac
