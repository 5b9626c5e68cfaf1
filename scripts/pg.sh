#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks: Debian's postgresql
# (installed if missing), initdb into a temporary folder, listening on a
# Unix socket in that folder only (no TCP), stopped and removed at the end.
#
#   scripts/pg.sh start [--until-pid PID] [--durable]
#       Start one; print its libpq connection string
#       ("host=/tmp/fushi-pg.XXXX user=fushi"). With --until-pid, a
#       watchdog stops and removes it once PID has ended. Without
#       --durable, fsync is off (tests; data is thrown away anyway).
#   scripts/pg.sh stop DIR
#       Stop the one in DIR (the host= folder) and remove the folder.
set -euo pipefail

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
        echo "pg.sh: installing postgresql" >&2
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
                || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
        else
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
        fi
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    echo "$found"
}

# initdb and postgres refuse to run as root: run them as `postgres`.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] || return 0
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

start() {
    local until_pid="" durable=""
    while [ $# -gt 0 ]; do
        case $1 in
            --until-pid) until_pid=$2; shift 2 ;;
            --durable) durable=1; shift ;;
            *) echo "pg.sh: unknown option $1" >&2; exit 2 ;;
        esac
    done
    local bin dir
    bin=$(bindir)
    dir=$(mktemp -d /tmp/fushi-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U fushi -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    local opts="-c listen_addresses= -k $dir -c max_connections=400 -c shared_buffers=256MB"
    if [ -z "$durable" ]; then
        opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    if [ -n "$until_pid" ]; then
        # Detached, so that it outlives this script but not PID.
        setsid bash -c "while kill -0 $until_pid 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
            </dev/null >/dev/null 2>&1 &
    fi
    echo "host=$dir user=fushi"
}

case ${1:-} in
    start) shift; start "$@" ;;
    stop) stop "$2" ;;
    *) echo "usage: pg.sh start [--until-pid PID] [--durable] | pg.sh stop DIR" >&2; exit 2 ;;
esac
