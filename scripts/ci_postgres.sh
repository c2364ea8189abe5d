#!/usr/bin/env bash
# Install PostgreSQL from the Debian packages if needed, start it, create the test role and
# database, and print the SQLAlchemy URL on stdout
# (everything else goes to stderr). Used by .ci/run for tests/store/; the driver
# (psycopg) comes with the package's test extra.
# The server is started with every inherited descriptor closed or sent to /dev/null: a daemon
# that kept the caller's $(...) pipe open would make the caller wait for ever.
set -euo pipefail
exec 3>&1 1>&2
if [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >/dev/null 3>&-  # its postinst may start a server
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main" || pg_createcluster "$version" main </dev/null 3>&-
pg_ctlcluster "$version" main start </dev/null >/dev/null 2>&1 3>&- ||
  pg_ctlcluster "$version" main status </dev/null >/dev/null 3>&-
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
as_postgres() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -tAc \"$1\""; }
[ "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname='classmood'")" = 1 ] ||
  as_postgres "CREATE ROLE classmood LOGIN PASSWORD 'classmood' CREATEDB"
[ "$(as_postgres "SELECT 1 FROM pg_database WHERE datname='classmood_test'")" = 1 ] ||
  as_postgres "CREATE DATABASE classmood_test OWNER classmood"
echo "postgresql+psycopg://classmood:classmood@127.0.0.1:$port/classmood_test" >&3
