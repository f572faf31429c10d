"""Checks against a live attesta-server (PROTOCOL.md §9, §10): the HTTP
vector files replayed, both flows run with keys and registries made here,
and the server's answers to the other vector files' inputs."""

import http.client
import json
import os
import re
import time
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from . import cbor, disclosure, hostile, identifiers, kdf, keys, registry, wire
from .b64 import b64e
from .vectors import Fail, check, load

CHALLENGE_TTL = 5 * 60
SESSION_TTL = 24 * 3600


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.body = status, body
        self.headers = {k.lower(): v for k, v in headers}
        self.names = {k.lower() for k, _ in headers}

    def header(self, name):
        return self.headers.get(name.lower())

    def date(self):
        """The Date header, in Unix seconds: the server's clock, which
        expiry times are checked against (no clock of this machine)."""
        return int(parsedate_to_datetime(self.headers["date"]).timestamp())


class Server:
    """Raw HTTP/1.1 to the server: the headers given, and Host,
    Content-Length, Accept-Encoding that http.client adds."""

    def __init__(self, base):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.requests = 0

    def send(self, method, path, headers=None, body=None, retry=True):
        for attempt in range(20):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                resp = Resp(r.status, r.getheaders(), r.read())
            finally:
                conn.close()
            self.requests += 1
            # §9.3: past a bucket, 429 rate_limited with Retry-After.
            if resp.status == 429 and retry and b'"rate_limited"' in resp.body:
                time.sleep(min(5, int(resp.header("Retry-After") or "1")))
                continue
            return resp
        raise Fail("%s %s: still rate limited" % (method, path))


class Api:
    """The endpoints of §9.2, with §9.1's checks on every answer."""

    def __init__(self, server, app_token, table, outbox=None):
        self.s, self.app_token, self.table, self.outbox = server, app_token, table, outbox

    def call(self, method, path, body=None, fmt="json", session=None, accept=None, want=200, where=None):
        """Sends body (a dict, encoded in fmt) and returns the decoded
        answer (or the problem document); the status must be want. where
        names the check in a failure."""
        hd = {"Accept": accept or "application/" + fmt}
        data = None
        if body is not None:
            hd["Content-Type"] = "application/" + fmt
            data = json.dumps(body, separators=(",", ":")).encode() if fmt == "json" else cbor.encode(body)
        if session:
            hd["Authorization"] = "Bearer " + session
        r = self.last = self.s.send(method, path, hd, data)
        where = "%s %s%s" % (method, path, " (%s)" % where if where else "")
        self.common(r, where)
        if isinstance(want, str):
            return self.problem(r, where, want)
        check(r.status == want, "%s: status %d, want %d: %r" % (where, r.status, want, r.body[:200]))
        if not r.body:
            check(r.header("Vary") is None, "%s: Vary on an answer without a body" % where)
            return None
        ans_fmt = wire.answer_format(hd["Accept"], fmt if body is not None else "json")
        check(r.header("Content-Type") == "application/" + ans_fmt, "%s: answered %s" % (where, r.header("Content-Type")))
        check(r.header("Vary") == "Accept", "%s: no Vary: Accept" % where)
        if ans_fmt == "json":
            check(r.body.endswith(b"\n"), "%s: a JSON answer ends with a newline" % where)
        key = (method, urlsplit(path).path)
        return wire.decode(r.body, wire.ANSWERS[key], ans_fmt, answer=True)

    def common(self, r, where):
        check(r.header("Cache-Control") == "no-store" and r.header("X-Content-Type-Options") == "nosniff",
              "%s: no-store, nosniff" % where)
        if r.body:
            check(r.header("Content-Length") == str(len(r.body)), "%s: Content-Length" % where)

    def problem(self, r, where, code):
        """§9.1, §9.4: a problem document with code, its status and title."""
        check(r.header("Content-Type") == "application/problem+json", "%s: %d not problem+json: %r" % (where, r.status, r.body[:200]))
        check(r.header("Vary") is None, "%s: Vary on a problem answer" % where)
        doc = wire.decode(r.body, wire.PROBLEM, "json", answer=True)
        check(doc["code"] == code, "%s: %s, want %s" % (where, doc["code"], code))
        check(r.status == doc["status"] == self.table.status[code] and doc["title"] == self.table.title[code],
              "%s: %d %r is not §9.4's row of %s" % (where, r.status, doc["title"], code))
        if code == "unauthorized":
            check(r.header("WWW-Authenticate").startswith('Bearer realm="attesta"'), "%s: WWW-Authenticate" % where)
        return doc

    # -- §10.1 --------------------------------------------------------------

    def connect(self, key, fmt="json"):
        """A connect with a PrivateKey: the auth-key-token-answer."""
        binary = b64e if fmt == "json" else bytes
        ans = self.call("POST", "/v1/auth_key_request", {"key": binary(key.public_packed), "app_token": self.app_token}, fmt)
        # The server's clock is its Date header: expiry 5 minutes on.
        check(ans["expires_at"] - self.last.date() in (CHALLENGE_TTL - 1, CHALLENGE_TTL), "expires_at is not 5 minutes on")
        ct = ans["encrypted_token"]
        nenc = {keys.X25519_PRIVATE: 32, keys.MLKEM_PRIVATE: 1120}.get(key.type)
        token = key.decrypt_token(ct)
        if nenc:
            check(len(ct) == nenc + len(token) + 16, "a ciphertext of %d bytes for a %d-byte token" % (len(ct), len(token)))
        else:
            check(len(ct) == (key.rsa.key_size + 7) // 8, "an RSA ciphertext as long as the modulus")
        ans2 = self.call("POST", "/v1/auth_key_token", {"token": binary(token)}, fmt)
        check(re.fullmatch(r"[A-Za-z0-9_-]{22}", ans2["party_id"]), "party id form")
        check(re.fullmatch(r"ats_[A-Za-z0-9_-]{43}", ans2["session"]), "session form")
        check(ans2["session_expires_at"] - self.last.date() in (SESSION_TTL - 1, SESSION_TTL), "session_expires_at is not 24 hours on")
        # A token works once (§9.2).
        self.call("POST", "/v1/auth_key_token", {"token": binary(token)}, fmt, want="challenge_unknown")
        return ans2

    def code(self, to):
        """The last code the demo server wrote for the normalised to (§9.1)."""
        check(self.outbox and os.path.exists(self.outbox), "no outbox to read codes from")
        last = None
        with open(self.outbox, encoding="utf-8") as f:
            for line in f:
                m = json.loads(line)
                check(set(m) == {"time", "kind", "to", "code"}, "outbox line members %r" % sorted(m))
                if m["to"] == to:
                    last = m["code"]
        check(last and re.fullmatch(r"[0-9]{6}", last), "no 6-digit code for %s in the outbox" % to)
        return last


def identifier_order(i):
    """§9.2: active identifiers by added, then pending ones; ties by kind,
    then hint."""
    return (i["pending"], i.get("added", 0), i["kind"].encode(), i["hint"].encode())


def new_key(kind):
    """A fresh private key, made here and packed as §2.1 says."""
    if kind == "rsa-2048":
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
        p, q = max(k.p, k.q), min(k.p, k.q)
        packed = cbor.encode([keys.RSA_PRIVATE, keys.mag(k.public_numbers.e), keys.mag(p), keys.mag(q)])
    elif kind == "x25519":
        packed = cbor.encode([keys.X25519_PRIVATE, os.urandom(32)])
    else:
        packed = cbor.encode([keys.MLKEM_PRIVATE, os.urandom(32)])
    return keys.parse_private(packed)


# ---------------------------------------------------------------------------
# The HTTP vector files, replayed.

class Replay:
    """One file's exchanges against the live server, in order, with the
    live server's app token, tokens, sessions and codes put in place of the
    file's (PROTOCOL.md §11)."""

    def __init__(self, api, ctx, name):
        self.api, self.ctx, self.name = api, ctx, name
        self.f = load(ctx.vdir, name)
        self.keys = {}
        for k in self.f["keys"]:
            pk = keys.parse_private(bytes.fromhex(k["private"]))
            self.keys[pk.public_packed] = pk
        self.tokens = {}     # the file's token -> the live one
        self.sessions = {}   # the file's session -> the live one
        self.parties = {}    # the file's party id -> the live one
        self.replayed, self.skipped = 0, []

    def run(self):
        for v in self.f["vectors"]:
            if v["id"] == "auth-key-token-expired":
                self.skipped.append(v["id"])
                continue
            self.exchange(v)
        return ("%s: %d of %d exchanges replayed against the live server (status, header names and values, problem documents "
                "byte for byte, answers member by member with the live tokens, sessions, party ids and codes mapped)%s"
                % (self.name, self.replayed, len(self.f["vectors"]),
                   "; not replayable: %s (needs the server's clock 5 minutes on)" % ", ".join(self.skipped) if self.skipped else ""))

    def _sub_body(self, rq, v):
        """The request body with the live values in place of the file's."""
        if "body" in rq:
            s = rq["body"]
            s = s.replace(self.f["app_token"], self.api.app_token)
            for old, new in self.tokens.items():
                s = s.replace('"%s"' % b64e(old), '"%s"' % b64e(new))
            if rq["path"] == "/v1/identifiers/confirm":
                s = self._sub_code(s, v)
            return s.encode("utf-8")
        if "body_hex" in rq:
            b = bytes.fromhex(rq["body_hex"])
            b = b.replace(cbor.encode(self.f["app_token"]), cbor.encode(self.api.app_token))
            for old, new in self.tokens.items():
                b = b.replace(cbor.encode(old), cbor.encode(new))
            return b
        return None

    def _sub_code(self, s, v):
        body = json.loads(s)
        live = self.api.code(identifiers.normalize(body["kind"], body["value"])[1])
        if v.get("error") == "attesta.ErrWrongCode":
            code = live[:-1] + str((int(live[-1]) + 1) % 10)
        else:
            code = live
        return s.replace('"code":"%s"' % body["code"], '"code":"%s"' % code)

    def exchange(self, v):
        where = "%s#%s (live)" % (self.name, v["id"])
        rq, frs = v["request"], v["response"]
        hd = dict(rq["headers"])
        if "Authorization" in hd:
            scheme, _, tok = hd["Authorization"].partition(" ")
            check(tok in self.sessions, "%s: a session the replay did not get" % where)
            hd["Authorization"] = scheme + " " + self.sessions[tok]
        r = self.api.s.send(rq["method"], rq["path"], hd, self._sub_body(rq, v), retry=False)
        self.replayed += 1
        check(r.status == frs["status"], "%s: status %d, the file %d: %r" % (where, r.status, frs["status"], r.body[:300]))
        want_names = {k.lower() for k in frs["headers"]}
        got_names = r.names - {"date"}
        check(got_names == want_names, "%s: headers %s, the file %s" % (where, sorted(got_names), sorted(want_names)))
        for k, val in frs["headers"].items():
            if k.lower() != "content-length":
                check(r.header(k) == val, "%s: %s %r, the file %r" % (where, k, r.header(k), val))
        self.api.common(r, where)
        if r.status >= 400:
            check(r.body == frs["body"].encode("utf-8"), "%s: the problem differs:\n %r\n %r" % (where, r.body, frs["body"]))
            return
        if "body" not in frs and "body_hex" not in frs:
            check(not r.body, "%s: a body" % where)
            return
        fmt = "json" if "body" in frs else "cbor"
        key = (rq["method"], urlsplit(rq["path"]).path)
        live = wire.decode(r.body, wire.ANSWERS[key], fmt, answer=True)
        filed = wire.decode(frs["body"].encode("utf-8") if fmt == "json" else bytes.fromhex(frs["body_hex"]), wire.ANSWERS[key], fmt)
        self.compare(key, live, filed, r, rq, where)

    def compare(self, key, live, filed, r, rq, where):
        now = r.date()
        if key == ("POST", "/v1/auth_key_request"):
            fmt = "json" if "body" in rq else "cbor"
            body = wire.decode(rq["body"].encode() if fmt == "json" else bytes.fromhex(rq["body_hex"]), wire.REQUESTS[key], fmt)
            k = self.keys[body["key"]]
            self.tokens[k.decrypt_token(filed["encrypted_token"])] = k.decrypt_token(live["encrypted_token"])
            check(live["expires_at"] - now in (CHALLENGE_TTL - 1, CHALLENGE_TTL), "%s: expires_at is not 5 minutes on" % where)
        elif key == ("POST", "/v1/auth_key_token"):
            check(live["is_new"] == filed["is_new"], "%s: is_new" % where)
            check(self.parties.setdefault(filed["party_id"], live["party_id"]) == live["party_id"], "%s: party id" % where)
            check(live["session"] not in self.sessions.values(), "%s: a session twice" % where)
            self.sessions[filed["session"]] = live["session"]
            check(live["session_expires_at"] - now in (SESSION_TTL - 1, SESSION_TTL), "%s: session_expires_at is not 24 hours on" % where)
        elif key == ("GET", "/v1/party"):
            check(self.parties.get(filed["party_id"]) == live["party_id"], "%s: party id" % where)
            check([(k["key_id"], k["type"]) for k in live["keys"]] == [(k["key_id"], k["type"]) for k in filed["keys"]], "%s: keys" % where)
            # §9.2's order, which the answer itself shows; the file's times
            # are not the live ones, so the two are compared as sets.
            check(live["identifiers"] == sorted(live["identifiers"], key=identifier_order), "%s: identifiers out of order" % where)
            strip = lambda ids: sorted((i["kind"], i["hint"], i["pending"], "added" in i) for i in ids)
            check(strip(live["identifiers"]) == strip(filed["identifiers"]), "%s: identifiers %r" % (where, live["identifiers"]))
            check(live["created"] <= now and all(k["added"] == live["created"] for k in live["keys"]), "%s: times" % where)
        elif key == ("GET", "/v1/registry"):
            check(live["version"] == filed["version"], "%s: version" % where)
            reg, _ = registry.inspect(live["registry"])
            if live["registry"] != filed["registry"]:
                # A decoy: the file's is of the file's secret; the live one
                # must be shaped like it and the same on every call.
                fh, _ = registry.inspect(filed["registry"])
                check(len(live["registry"]) == len(filed["registry"]) and reg.params.costs == fh.params.costs, "%s: not a decoy's shape" % where)
                again = self.api.s.send("GET", rq["path"], {"Accept": "application/json"})
                check(wire.decode(again.body, wire.ANSWERS[key], "json")["registry"] == live["registry"], "%s: the decoy changes" % where)
        else:
            check(live == filed, "%s: %r, the file %r" % (where, live, filed))


# ---------------------------------------------------------------------------
# Both flows, with keys and registries made here.

def run_connect(api, log):
    status = api.call("GET", "/healthz")
    check(status == {"status": "ok"}, "healthz: %r" % status)
    parties = []
    for kind, type_name in (("rsa-2048", "rsa-public"), ("x25519", "x25519-public"), ("mlkem768x25519", "mlkem768x25519-public")):
        k = new_key(kind)
        first = api.connect(k, "json")
        check(first["is_new"] is True, "%s: the first connect is not new" % kind)
        again = api.connect(k, "json")
        third = api.connect(k, "cbor")
        check(again["is_new"] is False and third["is_new"] is False and first["party_id"] == again["party_id"] == third["party_id"],
              "%s: a known key logs in to its party" % kind)
        for fmt in ("json", "cbor"):
            p = api.call("GET", "/v1/party", session=first["session"], accept="application/" + fmt)
            check(p["party_id"] == first["party_id"] and p["identifiers"] == [] and len(p["keys"]) == 1, "%s: party" % kind)
            check(p["keys"][0]["key_id"] == k.key_id and p["keys"][0]["type"] == type_name, "%s: the party's key" % kind)
        for i, ans in enumerate((first, again, third)):
            check(api.call("POST", "/v1/logout", session=ans["session"], want=204) is None, "logout")
            api.call("GET", "/v1/party", session=ans["session"], want="unauthorized")
            if i < 2:  # the party's other sessions live on
                api.call("GET", "/v1/party", session=(again, third)[i]["session"])
        log("live: %s: registered (key id %s), connected again in JSON and CBOR (is_new false, same party), "
            "GET /v1/party in JSON and CBOR, 3 sessions logged out one by one" % (kind, k.key_id))
        parties.append(first["party_id"])
    check(len(set(parties)) == 3, "three keys, three parties")
    k = new_key("x25519")
    api.call("POST", "/v1/auth_key_request", {"key": b64e(k.packed), "app_token": api.app_token}, want="private_key_disclosed")
    api.call("POST", "/v1/auth_key_request", {"key": b64e(k.public_packed), "app_token": api.app_token}, want="key_banned")
    log("live: a packed private key sent as key is private_key_disclosed, then its public key key_banned")


def run_password(api, ctx, log):
    """§10.2 with a registry sealed here under the default KDF."""
    key = new_key("mlkem768x25519")
    conn = api.connect(key)
    s, party = conn["session"], conn["party_id"]
    check(api.call("POST", "/v1/identifiers", {"kind": "nickname", "value": "  Interop \t Tester "}, session=s) == {"status": "active"}, "nickname")
    check(api.call("POST", "/v1/identifiers", {"kind": "email", "value": " Interop.Tester@Example.ORG "}, session=s) == {"status": "pending"}, "email")
    code = api.code("interop.tester@example.org")
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    api.call("POST", "/v1/identifiers/confirm", {"kind": "email", "value": "interop.tester@example.org", "code": wrong}, session=s, want="wrong_code")
    # Confirm normalises like add (§7): the address typed otherwise.
    api.call("POST", "/v1/identifiers/confirm", {"kind": "email", "value": "INTEROP.TESTER@example.org", "code": code}, session=s, want=204)
    api.call("POST", "/v1/identifiers/confirm", {"kind": "nickname", "value": "interop tester", "code": code}, session=s, want="code_unknown")
    p = api.call("GET", "/v1/party", session=s)
    check(p["identifiers"] == sorted(p["identifiers"], key=identifier_order), "identifiers out of order")
    check(sorted((i["kind"], i["hint"], i["pending"], "added" in i) for i in p["identifiers"]) ==
          [("email", "i***@example.org", False, True), ("nickname", "in***", False, True)], "identifiers %r" % p["identifiers"])
    log("live: nickname active, email pending, a wrong code refused, the code (from the outbox) confirmed with the address "
        "typed otherwise, hints in*** and i***@example.org")

    params = kdf.Params(kdf.ARGON2ID, os.urandom(16), [65536, 3, 4])
    plaintext = {"party_id": party, "keys": [key.packed.hex()], "created": int(time.time()), "app_data": {"interop": b"python".hex()}}
    block = registry.seal(plaintext, b"interop password", params)
    check(api.call("PUT", "/v1/registry", {"registry": b64e(block), "version": 0}, session=s) == {"version": 1}, "put")
    api.call("PUT", "/v1/registry", {"registry": b64e(block), "version": 0}, session=s, want="version_conflict")
    check(api.call("GET", "/v1/registry", session=s) == {"registry": block, "version": 1}, "own registry")
    got = api.call("GET", "/v1/registry?login=" + quote("INTEROP  tester"))
    check(got == {"registry": block, "version": 1}, "the block by nickname")
    got = api.call("GET", "/v1/registry?login=" + quote("Interop.Tester@EXAMPLE.org"), fmt="cbor", accept="application/cbor")
    check(got["registry"] == block, "the block by email, in CBOR")
    hd, pt, _ = registry.open_block(got["registry"], b"interop password", ctx.ceilings)
    check(pt == plaintext, "the opened registry")
    back = keys.parse_private(bytes.fromhex(pt["keys"][0]))
    again = api.connect(back, "cbor")
    check(again["is_new"] is False and again["party_id"] == party, "the recovered key logs in to the party")
    log("live: a registry sealed here (Argon2id 64 MiB, t 3, p 4) stored (version 1, a stale put version_conflict), fetched "
        "by nickname in JSON and by email in CBOR, typed otherwise, opened, and its key logs in to the same party")

    d1 = api.call("GET", "/v1/registry?login=" + quote("nobody is here at all"))
    d2 = api.call("GET", "/v1/registry?login=" + quote("  NOBODY is  here at ALL"))
    dh, dct = registry.inspect(d1["registry"])
    check(d1 == d2 and d1["version"] == 1 and dh.params.name == "argon2id" and dh.params.costs == [65536, 3, 4]
          and len(dh.params.salt) == 16 and len(dct) == 4112, "a decoy shaped like a default block, the same for every spelling")
    try:
        registry.open_block(d1["registry"], b"interop password", ctx.ceilings)
        raise Fail("the password opens a decoy")
    except registry.RegistryError as e:
        check(e.error == registry.WRONG_PASSWORD, "a decoy opens to wrong password")
    # Delete normalises like add (§7).
    api.call("DELETE", "/v1/identifiers", {"kind": "email", "value": "Interop.Tester@EXAMPLE.ORG"}, session=s, want=204)
    api.call("DELETE", "/v1/identifiers", {"kind": "email", "value": "interop.tester@example.org"}, session=s, want="identifier_not_found")
    gone = api.call("GET", "/v1/registry?login=" + quote("interop.tester@example.org"))
    check(gone["registry"] != block and gone["version"] == 1, "a removed email gets a decoy")
    api.call("POST", "/v1/logout", session=s, want=204)
    log("live: an unknown login gets a decoy (default Argon2id, one bucket, the same for two spellings, opened by no "
        "password); the email removed typed otherwise, then identifier_not_found, then a decoy")


def run_cost(api, ctx, log):
    """§2.5 and §9.3: auth_key_request's address bucket (40, then 20 a
    second) is charged the key's encryption cost, into debt. After one
    RSA-16384 challenge (158 units) the bucket holds at most 40 - 158, so
    the next request is refused, and asked to wait at least the time that
    refills it to one unit, whatever the bucket held before."""
    burst, rate = 40, 20
    pk = {v["id"]: v for v in load(ctx.vdir, "packed_keys.json")["vectors"]}
    big = bytes.fromhex(pk["rsa-public-16384-bits"]["packed"])
    cost = ctx.costs.cost(keys.parse_public(big))
    body = {"key": b64e(big), "app_token": api.app_token}
    api.call("POST", "/v1/auth_key_request", body)
    r = api.s.send("POST", "/v1/auth_key_request", {"Content-Type": "application/json", "Accept": "application/json"},
                   json.dumps(body).encode(), retry=False)
    api.common(r, "POST /v1/auth_key_request after an RSA-16384 one")
    api.problem(r, "POST /v1/auth_key_request after an RSA-16384 one", "rate_limited")
    wait = int(r.header("Retry-After"))
    least = (1 - (burst - cost)) // rate  # whole seconds, rounded down
    check(wait >= least, "after an RSA-16384 challenge (cost %d), Retry-After %d s, want at least %d" % (cost, wait, least))
    log("live: an RSA-16384 challenge is charged its cost of %d units (§2.5): the next request is rate_limited, "
        "Retry-After %d s (at least %d)" % (cost, wait, least))


def run_hostile(api, log):
    """§2.4 beyond the vectors: the cases of hostile.py, each answered as
    the model says, and each case's fresh keys banned exactly when the
    model says the input proves them (where the server would accept the
    key otherwise: a key it refuses as a public key shows no ban)."""
    n = banned = kept = 0
    for cid, data, fresh in hostile.cases():
        code, bans = keys.server_answer(data)
        api.call("POST", "/v1/auth_key_request", {"key": b64e(data), "app_token": api.app_token}, want=code or 200,
                 where="hostile case %s" % cid)
        n += 1
        for public in fresh:
            if keys.server_check_public(public) is not None:
                continue
            proven = keys.key_id(public) in (bans or ())
            api.call("POST", "/v1/auth_key_request", {"key": b64e(public), "app_token": api.app_token},
                     want="key_banned" if proven else 200, where="hostile case %s: its %s key" % (cid, "proven" if proven else "unproven"))
            banned += proven
            kept += not proven
    log("live: %d inputs beyond the vectors (§2.4: each form's shape, the proof's rules, PEM syntax and types, OpenSSH "
        "containers, bounds, several blocks) answered as the model says; %d fresh keys they prove answer key_banned, "
        "%d they do not prove still get a challenge" % (n, banned, kept))


# ---------------------------------------------------------------------------
# The other vector files' inputs, as a server answers them.

def run_server_vectors(api, ctx, log):
    binary = b64e

    # packed_keys.json, parser "public": auth_key_request's key.
    # Each vector's bans (§2.4) are checked against the server: after the
    # input, every key it proves answers key_banned; at the end, every
    # public key the file holds that no input proved still connects (so the
    # keys that forged containers carry in clear are not banned).
    pk = load(ctx.vdir, "packed_keys.json")
    n = proven = 0
    accepted, banned = [], set()
    for v in pk["vectors"]:
        if v["parser"] != "public":
            continue
        packed = bytes.fromhex(v["packed"])
        want = v.get("problem_code") or 200
        api.call("POST", "/v1/auth_key_request", {"key": binary(packed), "app_token": api.app_token}, want=want)
        n += 1
        if want == 200:
            accepted.append(packed)
        found = disclosure.examine(packed) if "bans" in v else None
        for public in found.publics if found else ():
            api.call("POST", "/v1/auth_key_request", {"key": binary(public), "app_token": api.app_token}, want="key_banned")
            banned.add(keys.key_id(public))
            proven += 1
    for packed in accepted:
        want = "key_banned" if keys.key_id(packed) in banned else 200
        api.call("POST", "/v1/auth_key_request", {"key": binary(packed), "app_token": api.app_token}, want=want)
    log("live: packed_keys.json: %d public-parser vectors sent as auth_key_request's key: each answered 200 or its "
        "problem_code; the %d keys they prove answer key_banned, and the %d accepted keys that none proves still get "
        "a challenge" % (n, proven, sum(keys.key_id(p) not in banned for p in accepted)))

    session = api.connect(new_key("x25519"))["session"]

    # PUT /v1/registry is limited to a burst of 10 a client address, then
    # one a minute (§9.3), and the replays and the password flow spent 7:
    # two vectors where floors come before ceilings. Every vector's answer
    # is computed offline.
    rf, kf = load(ctx.vdir, "registry.json"), load(ctx.vdir, "kdf.json")
    v = next(x for x in rf["vectors"] if x["id"] == "kdf-above-ceiling")
    api.call("PUT", "/v1/registry", {"registry": binary(bytes.fromhex(v["block"])), "version": 0}, session=session, want=v["put_problem_code"])
    v = next(x for x in kf["vectors"] if x["id"] == "scrypt-log-n-above")
    # Its parameters in a block's header, with a ciphertext of one bucket:
    # the server checks a block without a password.
    block = b"\x82" + b"\x84\x01" + bytes.fromhex(v["params"]) + b"\x01" + cbor.encode(os.urandom(24)) + cbor.encode(os.urandom(4112))
    api.call("PUT", "/v1/registry", {"registry": binary(block), "version": 0}, session=session, want=v["put_problem_code"])
    log("live: PUT /v1/registry of registry.json#kdf-above-ceiling and of kdf.json#scrypt-log-n-above in a block: "
        "kdf_too_weak, floors before ceilings (PUT is limited to 10 a burst: the other vectors' answers are checked offline)")

    # identifiers.json: DELETE normalises like add (§7), and answers
    # identifier_not_found for a valid identifier the party does not hold.
    idf = load(ctx.vdir, "identifiers.json")
    deleted = fetched = added = 0
    for v in idf["vectors"]:
        if "input" not in v:
            continue
        want = v.get("problem_code")
        if v["kind"] == "login":
            api.call("GET", "/v1/registry?login=" + quote(v["input"]), want=want or 200)
            fetched += 1
            continue
        api.call("DELETE", "/v1/identifiers", {"kind": v["kind"], "value": v["input"]}, session=session, want=want or "identifier_not_found")
        deleted += 1
    # A few added as typed and removed by their normalised value: the
    # server's normal form is the vector's.
    for vid in ("nickname-greek-sigma", "nickname-turkish-dotted-i", "nickname-fullwidth", "email-nfkc-composed", "phone-punctuation"):
        v = next(x for x in idf["vectors"] if x["id"] == vid)
        api.call("POST", "/v1/identifiers", {"kind": v["kind"], "value": v["input"]}, session=session)
        api.call("DELETE", "/v1/identifiers", {"kind": v["kind"], "value": v["normalized"]}, session=session, want=204)
        added += 1
    log("live: identifiers.json: %d identifiers sent to DELETE /v1/identifiers (the problem_code, or identifier_not_found), "
        "%d logins to GET /v1/registry?login= (the problem_code, or 200), %d added as typed and removed by the vector's "
        "normalised value" % (deleted, fetched, added))

    # decoys.json: two spellings of a login get one decoy.
    df = load(ctx.vdir, "decoys.json")
    seen = {}
    for v in df["vectors"]:
        want = v.get("problem_code")
        ans = api.call("GET", "/v1/registry?login=" + quote(v["login"]), want=want or 200)
        if want:
            continue
        check(ans["version"] == 1, "decoys.json#%s: version" % v["id"])
        hd, ct = registry.inspect(ans["registry"])
        check(hd.params.costs == [65536, 3, 4] and len(ct) == 4112, "decoys.json#%s: shape" % v["id"])
        norm = (v["kind"], v["normalized"])
        check(seen.setdefault(norm, ans["registry"]) == ans["registry"], "decoys.json#%s: another decoy for the same login" % v["id"])
    log("live: decoys.json: %d logins fetched: refusals with their problem_code, decoys shaped like default blocks, one "
        "decoy for the spellings of one login" % len(df["vectors"]))


def run_openapi(api, docs_dir, log):
    r = api.s.send("GET", "/v1/openapi.yaml")
    check(r.status == 200 and r.header("Content-Type") == "application/yaml", "GET /v1/openapi.yaml: %d %s" % (r.status, r.header("Content-Type")))
    with open(os.path.join(docs_dir, "openapi.yaml"), "rb") as f:
        check(r.body == f.read(), "GET /v1/openapi.yaml is not docs/openapi.yaml")
    log("live: GET /v1/openapi.yaml serves docs/openapi.yaml (application/yaml)")
