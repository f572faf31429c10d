#!/usr/bin/env bash
# Independent check of docs/PROTOCOL.md: the Python client of this folder,
# written from the specification alone, checks every published vector file
# offline, then checks a fresh attesta-server: the HTTP vector files
# replayed, both flows with keys and registries it makes itself, and the
# server's answers to the other files' inputs. Any failure exits non-zero,
# and so does a vector file the client does not check, or the lack of a
# Python that can run it.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."

# The client needs Python 3.11+ and cryptography 45 or later (ML-KEM-768,
# Argon2id): the machine image's pyenv Python has cryptography 48; Debian's
# python3-cryptography 38 has neither. ATTESTA_PYTHON names another.
can_run() {
	"$1" - <<'EOF' >/dev/null 2>&1
import sys
assert sys.version_info >= (3, 11)
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
mlkem.MLKEM768PrivateKey.generate()
Argon2id(salt=b"0" * 16, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"x")
EOF
}
PY=
tried=()
for candidate in "${ATTESTA_PYTHON:-}" /root/.pyenv/shims/python3 python3 /usr/bin/python3; do
	[ -n "$candidate" ] || continue
	tried+=("$candidate")
	if command -v "$candidate" >/dev/null 2>&1 && can_run "$candidate"; then
		PY=$candidate
		break
	fi
done
if [ -z "$PY" ]; then
	echo "interop: FAIL: no Python 3.11+ with cryptography >= 45 (ML-KEM-768 and Argon2id) among: ${tried[*]}" >&2
	echo "interop: install one (pip install 'cryptography>=45') or set ATTESTA_PYTHON" >&2
	exit 1
fi
echo "interop: $("$PY" -c 'import sys, cryptography, unicodedata; print("Python %s, cryptography %s, Unicode %s" % (sys.version.split()[0], cryptography.__version__, unicodedata.unidata_version))') ($PY)"

# Every published vector file is one the client checks.
covered=$("$PY" interop/attesta_client.py covered)
published=$(cd testvectors && ls -1 -- *.json | sort)
if [ "$covered" != "$published" ]; then
	echo "interop: FAIL: the client's vector files and testvectors/*.json differ (< client, > published):" >&2
	diff <(echo "$covered") <(echo "$published") >&2 || true
	exit 1
fi
echo "interop: the client covers all $(echo "$published" | wc -l) vector files"

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

echo "interop: offline vectors"
"$PY" interop/attesta_client.py vectors testvectors docs/PROTOCOL.md

if "$PY" -c 'import openapi_spec_validator' 2>/dev/null; then
	"$PY" -c 'import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
validate(read_from_filename(sys.argv[1])[0])' docs/openapi.yaml
	echo "interop: docs/openapi.yaml is valid OpenAPI 3.1 (openapi-spec-validator)"
else
	echo "interop: NOTE: openapi-spec-validator is not installed for $PY: docs/openapi.yaml is checked by go test only"
fi

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
"$PY" interop/attesta_client.py live "http://$addr" "$data" testvectors docs/PROTOCOL.md || status=$?

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
