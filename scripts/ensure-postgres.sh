#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests (TEST_DATABASE_URL's default,
# postgresql://postgres@127.0.0.1:5432/test), so CI runs the PostgreSQL tests instead of skipping them.
#
# Uses the server that already answers; else starts the installed Debian cluster; else installs
# Debian's `postgresql` and starts it. Then makes sure the `postgres` user may connect over TCP from
# 127.0.0.1 without a password (trust, for that user and address only: a test machine) and that the
# database `test` exists. Safe to run again: it only does what is missing, and says what it did.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
MARKER="# added by messenger-bot scripts/ensure-postgres.sh"

say() { echo "ensure-postgres: $*"; }
ready() { command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PORT"; }
tcp_psql() { psql -h "$HOST" -p "$PORT" -U postgres -w -X -q -tA "$@"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

wait_ready() {
    for _ in $(seq 1 30); do
        ready && return 0
        sleep 1
    done
    say "the server did not answer on $HOST:$PORT within 30 seconds" >&2
    exit 1
}

start_cluster() {
    local version
    version=$(cluster_version)
    say "starting the installed PostgreSQL $version cluster 'main'"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || ready
    wait_ready
}

install_postgres() {
    say "no PostgreSQL installed: installing Debian's postgresql"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
}

allow_tcp_trust() {
    local version hba
    version=$(cluster_version)
    if [ -z "$version" ]; then
        say "user postgres cannot log in over TCP and no local cluster to configure;" \
            "point TEST_DATABASE_URL at a server the tests can use" >&2
        exit 1
    fi
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! as_root grep -qF "$MARKER" "$hba"; then
        # First matching line wins, so the rule goes on top.
        as_root sed -i "1i host all postgres $HOST/32 trust $MARKER" "$hba"
        say "added a trust rule for postgres@$HOST to $hba"
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    say "reloaded the $version cluster's configuration"
}

if ready; then
    say "a server already answers on $HOST:$PORT"
else
    if [ -z "$(cluster_version)" ]; then
        install_postgres
    fi
    if ready; then
        say "the server started by the install answers on $HOST:$PORT"
    else
        start_cluster
    fi
fi

if tcp_psql -c "SELECT 1" >/dev/null 2>&1; then
    say "user postgres connects over TCP without a password"
else
    allow_tcp_trust
    tcp_psql -c "SELECT 1" >/dev/null
    say "user postgres now connects over TCP without a password"
fi

if [ "$(tcp_psql -c "SELECT 1 FROM pg_database WHERE datname = 'test'")" = "1" ]; then
    say "database 'test' exists"
else
    tcp_psql -c "CREATE DATABASE test"
    say "created database 'test'"
fi
say "ready: postgresql://postgres@$HOST:$PORT/test"
