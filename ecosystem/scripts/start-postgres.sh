#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the ecosystem examples, and
# creates their role and database: role `gorun` with password `gorun`, database
# `gorun` owned by it, reachable over TCP on 127.0.0.1.
#
# Debian/Ubuntu, as root. Idempotent: run it again and it changes nothing. On
# success it prints the GORUN_PG_URL to use (the only line on stdout; progress goes
# to stderr), so:
#
#     export GORUN_PG_URL="$(ecosystem/scripts/start-postgres.sh)"
#
# It exits non-zero, saying why, if PostgreSQL cannot be installed, started, or
# logged into as `gorun`: a CI run must not quietly skip the database tests.
set -euo pipefail

say() { echo "start-postgres: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts a server)"

# 1. Install the server (Debian's postgresql-common gives pg_ctlcluster & co).
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and there is no apt-get to install it"
    say "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

# 2. The newest installed version's `main` cluster (the package creates it;
#    create it if someone dropped it), started if it is not running.
ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
[ -n "$ver" ] || die "no PostgreSQL version under /usr/lib/postgresql"
cluster() { pg_lsclusters --no-header | awk -v v="$ver" '$1 == v && $2 == "main"'; }
if [ -z "$(cluster)" ]; then
    say "creating cluster $ver/main"
    pg_createcluster "$ver" main >&2
fi
port=$(cluster | awk '{print $3}')
if [ "$(cluster | awk '{print $4}')" != "online" ]; then
    say "starting cluster $ver/main on port $port"
    # Without systemd (containers, CI) pg_ctlcluster runs pg_ctl directly.
    pg_ctlcluster "$ver" main start >&2 ||
        die "PostgreSQL $ver/main did not start; see /var/log/postgresql/postgresql-$ver-main.log"
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$port" || die "PostgreSQL $ver/main does not answer on 127.0.0.1:$port after 30 s"

# 3. Role and database, created only if missing (the password is reset each time,
#    so a role made by hand with another one still works for the examples).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
as_postgres psql -p "$port" -X -q -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gorun') THEN
        CREATE ROLE gorun LOGIN PASSWORD 'gorun';
    ELSE
        ALTER ROLE gorun LOGIN PASSWORD 'gorun';
    END IF;
END
$$;
SQL
if [ "$(as_postgres psql -p "$port" -X -tAc "SELECT 1 FROM pg_database WHERE datname = 'gorun'")" != 1 ]; then
    say "creating database gorun"
    as_postgres psql -p "$port" -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE gorun OWNER gorun' >&2
fi

# 4. Log in the way the examples do: TCP, password.
url="host=127.0.0.1 port=$port user=gorun password=gorun dbname=gorun"
PGPASSWORD=gorun psql "host=127.0.0.1 port=$port user=gorun dbname=gorun" -X -tAc 'SELECT 1' >/dev/null ||
    die "cannot log in as gorun over TCP (check pg_hba.conf for 127.0.0.1/32 with a password method)"
say "PostgreSQL $ver ready: $url"
echo "$url"
