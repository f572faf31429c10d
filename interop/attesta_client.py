#!/usr/bin/env python3
"""An independent Attesta client, written from docs/PROTOCOL.md alone.

    attesta_client.py covered
        the vector files this client checks, one a line
    attesta_client.py vectors VECTOR_DIR PROTOCOL.md
        checks every vector file offline (and fails on a file it does not cover)
    attesta_client.py live URL DATA_DIR VECTOR_DIR PROTOCOL.md
        checks a running attesta-server whose data directory is DATA_DIR (for
        its demo-app-token and outbox.jsonl): the HTTP vector files replayed,
        both flows with keys and registries made here, and the server's
        answers to the other files' inputs

Python 3.11+ with the `cryptography` package 45 or later (ML-KEM-768 and
Argon2id); the rest is the standard library. What each check does is in
attestapy/: one module per section of the specification.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from attestapy import cbor, httpvec, instances, keys, live, spec, vectors  # noqa: E402

# The files this client checks, each with its checker: run.sh fails if
# testvectors/ holds any other.
COVERED = {
    "packed_keys.json": vectors.check_packed_keys,
    "challenge.json": vectors.check_challenge,
    "mlkem768x25519.json": vectors.check_mlkem,
    "kdf.json": vectors.check_kdf,
    "registry.json": vectors.check_registry,
    "identifiers.json": vectors.check_identifiers,
    "decoys.json": vectors.check_decoys,
    "http_connect.json": lambda ctx: httpvec.check_http(ctx, "http_connect.json"),
    "http_password_login.json": lambda ctx: httpvec.check_http(ctx, "http_password_login.json"),
    "instance_tokens.json": instances.check_instance_tokens,
    "service_keys.json": instances.check_service_keys,
}


def log(line):
    print(line, flush=True)


def run_vectors(vdir, spec_path):
    present = sorted(f for f in os.listdir(vdir) if f.endswith(".json"))
    missing = sorted(set(present) - set(COVERED))
    if missing:
        raise vectors.Fail("vector files this client does not check: %s" % ", ".join(missing))
    absent = sorted(set(COVERED) - set(present))
    if absent:
        raise vectors.Fail("vector files this client checks are gone: %s" % ", ".join(absent))
    ctx = vectors.Context(vdir, spec.ErrorTable(spec_path), spec.CostTable(spec_path))
    for name in present:
        start = time.monotonic()
        log("%s (%.1f s)" % (COVERED[name](ctx), time.monotonic() - start))
    log("vectors: all %d files pass" % len(present))


def run_live(url, data_dir, vdir, spec_path):
    with open(os.path.join(data_dir, "demo-app-token"), encoding="utf-8") as f:
        app_token = f.read().strip()
    table = spec.ErrorTable(spec_path)
    ctx = vectors.Context(vdir, table, spec.CostTable(spec_path))
    server = live.Server(url)
    api = live.Api(server, app_token, table, os.path.join(data_dir, "outbox.jsonl"))
    # The replays first, on a fresh server: their rate-limited endpoints
    # must not be waiting.
    for name in ("http_connect.json", "http_password_login.json"):
        log(live.Replay(api, ctx, name).run())
    live.run_connect(api, log)
    live.run_password(api, ctx, log)
    live.run_server_vectors(api, ctx, log)
    live.run_hostile(api, log)
    live.run_cost(api, ctx, log)
    live.run_openapi(api, os.path.dirname(os.path.abspath(spec_path)), log)
    log("live: all checks pass (%d requests)" % server.requests)


def main(argv):
    if argv[1:] == ["covered"]:
        print("\n".join(sorted(COVERED)))
    elif len(argv) == 4 and argv[1] == "vectors":
        run_vectors(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "live":
        run_live(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (vectors.Fail, keys.KeyRefused, keys.DecryptError, cbor.CBORError, OSError, ValueError, KeyError) as e:
        import traceback
        traceback.print_exc()
        print("FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
