#!/usr/bin/env bash
# Independent check of docs/PROTOCOL.md: the Python client of this folder,
# written from the specification alone, checks the challenge and packed-key
# vectors, then registers an RSA and an X25519 key against a fresh
# attesta-server and connects again. Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$PY" -c 'import cryptography' || { echo "interop: $PY lacks the cryptography package (Debian: python3-cryptography)"; exit 1; }

echo "interop: offline vectors"
"$PY" interop/attesta_client.py vectors testvectors

echo "interop: building attesta-server"
go build -o "$tmp/attesta-server" ./cmd/attesta-server

# A free port on 127.0.0.1: bind port 0, read it, let it go. If another
# process takes it before the server does, the server fails to start and
# the health wait below reports it.
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
addr="127.0.0.1:$port"
data="$tmp/data"

"$tmp/attesta-server" -addr "$addr" -data "$data" -log-level warn >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!

healthy=
for _ in $(seq 1 100); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		break
	fi
	if "$PY" -c 'import sys, urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)' "http://$addr/healthz" 2>/dev/null; then
		healthy=1
		break
	fi
	sleep 0.1
done
if [ -z "$healthy" ] || [ ! -s "$data/demo-app-token" ]; then
	echo "interop: attesta-server did not come up on $addr"
	cat "$tmp/server.err"
	exit 1
fi
echo "interop: attesta-server up on $addr"

status=0
"$PY" interop/attesta_client.py connect "http://$addr" "$(cat "$data/demo-app-token")" || status=$?

kill -TERM "$server_pid"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=
if [ "$status" -ne 0 ]; then
	echo "interop: client failed ($status); server log:"
	cat "$tmp/server.err"
	exit "$status"
fi
if [ "$server_rc" -ne 0 ]; then
	echo "interop: attesta-server exited with $server_rc on SIGTERM; its log:"
	cat "$tmp/server.err"
	exit 1
fi
echo "interop: attesta-server stopped cleanly"
