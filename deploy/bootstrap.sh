#!/usr/bin/env bash
# Makes this machine ready to run or test the platform, doing only what is missing:
#   - Python 3.11 with venv (from Debian packages if missing),
#   - PostgreSQL on localhost:5432: used if up, started if installed, installed if missing,
#     plus the provisioning role `consortium_admin`,
#   - RabbitMQ on localhost:5672: the same,
#   - the project's virtual environment in .venv, installed from requirements.lock.
# Every step says what it does; a step that cannot succeed stops with the reason.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PG_HOST=${CONSORTIUM_PG_HOST:-localhost}
PG_PORT=${CONSORTIUM_PG_PORT:-5432}
DB_PASSWORD=${CONSORTIUM_DB_PASSWORD:-consortium-dev}
AMQP_PORT=${CONSORTIUM_AMQP_PORT:-5672}
VENV=${CONSORTIUM_VENV:-$ROOT/.venv}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mbootstrap: %s\033[0m\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || die "$* missing and this is not a Debian-like machine (no apt-get); install $* yourself"
  [ "$(id -u)" = 0 ] || die "$* missing; installing it needs root (run as root, or install: apt-get install $*)"
  if [ $apt_updated = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing from Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...  (WHY_LOGS: files to show if not)
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 5))); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  for log in ${WHY_LOGS:-}; do
    [ -s "$log" ] || continue
    printf '\033[31m--- the end of %s:\033[0m\n' "$log" >&2
    tail -n 25 "$log" >&2
  done
  die "$what did not come up within ${seconds}s (the logs above say why)"
}

# --- Python -------------------------------------------------------------------------------
PYTHON=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    PYTHON=$(command -v "$candidate"); break
  fi
done
if [ -z "$PYTHON" ]; then
  apt_install python3 python3-venv
  PYTHON=$(command -v python3)
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || die "Python 3.11 is required; this machine's python3 is $("$PYTHON" --version)"
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi

# --- PostgreSQL ---------------------------------------------------------------------------
pg_ready() { port_open "$PG_HOST" "$PG_PORT"; }
if pg_ready; then
  say "PostgreSQL is running on $PG_HOST:$PG_PORT"
else
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
  fi
  say "starting PostgreSQL"
  mkdir -p "$ROOT/.run/logs"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    for cluster in $(ls "/etc/postgresql/$version"); do
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start \
        >>"$ROOT/.run/logs/postgresql-start.log" 2>&1 || true
    done
  done
  WHY_LOGS="$ROOT/.run/logs/postgresql-start.log $(ls /var/log/postgresql/*.log 2>/dev/null)" \
    wait_for 60 "PostgreSQL on $PG_HOST:$PG_PORT" pg_ready
fi

admin_ok() {
  PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=5 psql -h "$PG_HOST" -p "$PG_PORT" -U consortium_admin \
    -d postgres -tAc 'select 1' >/dev/null 2>&1
}
as_postgres() {  # psql as the postgres superuser: local socket as that OS user, else TCP
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qtA "$@"
  else
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
  fi
}
if ! admin_ok; then
  command -v psql >/dev/null || apt_install postgresql-client
  say "creating the provisioning role consortium_admin"
  as_postgres -d postgres <<SQL || die "could not create role consortium_admin (need the postgres superuser)"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'consortium_admin') THEN
    CREATE ROLE consortium_admin LOGIN CREATEDB CREATEROLE PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE consortium_admin LOGIN CREATEDB CREATEROLE PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
SQL
  admin_ok || die "role consortium_admin exists but cannot log in over TCP on $PG_HOST:$PG_PORT (check pg_hba.conf)"
fi

# --- RabbitMQ -----------------------------------------------------------------------------
amqp_ready() { port_open localhost "$AMQP_PORT"; }
if amqp_ready; then
  say "RabbitMQ is running on localhost:$AMQP_PORT"
else
  if ! command -v rabbitmq-server >/dev/null; then
    apt_install rabbitmq-server
  fi
  mkdir -p "$ROOT/.run/logs"
  if ! amqp_ready; then
    say "starting RabbitMQ"
    rabbitmq-server -detached >"$ROOT/.run/logs/rabbitmq-start.log" 2>&1 || true
  fi
  WHY_LOGS="$ROOT/.run/logs/rabbitmq-start.log $(ls /var/log/rabbitmq/*.log 2>/dev/null)" \
    wait_for 120 "RabbitMQ on localhost:$AMQP_PORT" amqp_ready
fi

# --- the virtual environment --------------------------------------------------------------
stamp="$VENV/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create $VENV"
  fi
  say "installing the project and its locked dependencies"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.lock || die "pip install -r requirements.lock failed"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation -e . || die "pip install -e . failed"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
say "ready"
