#!/usr/bin/env bash
# The PostgreSQL tests, on a throwaway PostgreSQL cluster: CI runs this
# (from .ci/run), and so can anyone, from the repository root:
#
#	.ci/postgres.sh            (scripts/test-postgres.sh is the same)
#
# It installs PostgreSQL from Debian's packages if it is missing (as root;
# otherwise it says what to install), makes a cluster in a temporary
# directory that listens only on a Unix socket there (so it collides with
# no server on this machine), runs as the postgres user when started as
# root (PostgreSQL refuses to run as root), and exports its DSN as
# $ATTESTA_TEST_POSTGRES with $ATTESTA_REQUIRE_POSTGRES=1 (so no test can
# skip for want of it). Then it runs, with -race: the pgstore tests (the
# Store conformance suite on PostgreSQL among them), the two-server test
# of attesta-server and the crash test against PostgreSQL. The cluster is
# stopped and removed on exit, whatever happened; any failure exits
# non-zero. Extra arguments go to every go test (e.g. -v).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

step "PostgreSQL"
bin=$(bindir)
if [ -z "$bin" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "PostgreSQL is not installed: install it (Debian: sudo apt-get install -y postgresql) and run this again" >&2
		exit 1
	fi
	echo "installing PostgreSQL from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq postgresql >/dev/null
	bin=$(bindir)
	[ -n "$bin" ] || { echo "apt-get install postgresql left no initdb" >&2; exit 1; }
fi
"$bin/postgres" --version

# Who runs the cluster: the postgres user when we are root.
as=()
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
	as=(runuser -u postgres --)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attesta-pg.XXXXXX")
chmod 755 "$tmp"
[ ${#as[@]} -eq 0 ] || chown postgres "$tmp"
cleanup() {
	status=$?
	if [ -f "$tmp/data/postmaster.pid" ]; then
		"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit $status
}
trap cleanup EXIT INT TERM

"${as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --no-instructions >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log"; exit 1; }
"${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
	-o "-c listen_addresses='' -c unix_socket_directories='$tmp' -c max_connections=200" start >/dev/null ||
	{ cat "$tmp/server.log"; exit 1; }
export ATTESTA_TEST_POSTGRES="postgres:///postgres?host=$tmp&user=postgres&sslmode=disable"
export ATTESTA_REQUIRE_POSTGRES=1
echo "a throwaway cluster in $tmp (Unix socket only)"

step "go test -race: pgstore (the conformance suite on PostgreSQL), the two-server test"
go test -race -count=1 -timeout 10m "$@" ./attesta/pgstore/ ./internal/pgtest/
go test -race -count=1 -timeout 10m -run 'Postgres' "$@" ./cmd/attesta-server/

step "crash test against PostgreSQL: two servers, one SIGKILLed each round (crashtest/)"
ATTESTA_CRASHTEST=1 go test -race -count=1 -timeout 10m -run 'TestCrashPostgres' -v "$@" ./crashtest/
