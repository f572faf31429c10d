"""Offline checks of the HTTP exchange files (PROTOCOL.md §11): every
message's form, every problem against §9.4, and a model of the server, run
along the exchanges, that predicts what it can without the server's
randomness: the code of every refusal, every token sent back (decrypted
from the challenge before it), the times, the hints, every registry block
(opened with the file's password) and every decoy (from the file's secret)."""

import json
import re
from urllib.parse import parse_qs, urlsplit

from . import cbor, decoys, identifiers, keys, registry, wire
from .vectors import Fail, check, load

CHALLENGE_TTL = 5 * 60
SESSION_TTL = 24 * 3600
PARTY_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
SESSION_RE = re.compile(r"^ats_[A-Za-z0-9_-]{43}$")


def _session_of(headers):
    a = headers.get("Authorization")
    if a is None:
        return None
    scheme, _, tok = a.partition(" ")
    return tok.lstrip(" ") if scheme.lower() == "bearer" else None


class Model:
    """The server as §9 describes it, for one file."""

    def __init__(self, f, ctx, name):
        self.ctx, self.name = ctx, name
        self.secret = bytes.fromhex(f["secret"])
        self.app_token = f["app_token"]
        self.password = f.get("password", "").encode("utf-8")
        self.keys = {}
        for k in f["keys"]:
            pk = keys.parse_private(bytes.fromhex(k["private"]))
            check(pk.public_packed.hex() == k["public"] and pk.key_id == k["key_id"], "%s: key %s" % (name, k["name"]))
            self.keys[pk.key_id] = pk
        self.clock = wire.parse_time(f["start"])
        self.challenges = {}   # token -> {key_id, expires, used}
        self.parties = {}      # key_id -> {party_id, created}
        self.sessions = {}     # session -> {key_id, alive}
        self.idents = {}       # party_id -> [{kind, value, pending, added}]
        self.registries = {}   # party_id -> (block, version)
        self.banned = set()
        self.checked = {"decrypted": 0, "registries": 0, "decoys": 0, "problems": 0, "bodies": 0}

    # -- one exchange -----------------------------------------------------

    def exchange(self, v):
        where = "%s#%s" % (self.name, v["id"])
        t = wire.parse_time(v["time"])
        check(t >= self.clock, "%s: the clock went back" % where)
        self.clock = t
        rq, rs = v["request"], v["response"]
        method, path = rq["method"], rq["path"]
        url = urlsplit(path)
        raw_rq = self._body(rq, where + " request")
        raw_rs = self._body(rs, where + " response")
        self._headers(rs, raw_rs, where)
        status = rs["status"]
        want = self.predict(method, url, rq, raw_rq, where)
        if status >= 400:
            doc = self._problem(v, rs, raw_rs, rq, where)
            check(want[0] == "problem" and want[1] == doc["code"],
                  "%s: answered %s, the model predicts %s" % (where, doc["code"], want))
            return
        check("error" not in v, "%s: a success with an error" % where)
        check(want[0] == "ok", "%s: succeeded, the model predicts %s" % (where, want))
        if raw_rs is None:
            check(status == 204 and want[1] is None, "%s: %d without a body" % (where, status))
            return
        check(status == 200, "%s: status %d" % (where, status))
        fmt = wire.answer_format(rq["headers"].get("Accept"), wire.media(rq["headers"].get("Content-Type")) or "json")
        check(rs["headers"]["Content-Type"] == "application/" + fmt, "%s: answered in %s, §9.1 says %s" % (where, rs["headers"]["Content-Type"], fmt))
        key = (method, url.path)
        body = wire.decode(raw_rs, wire.ANSWERS[key], fmt, answer=True)
        if fmt == "json":
            check(wire.go_json(_json(raw_rs)) == raw_rs, "%s: the answer does not re-encode to itself" % where)
        else:
            check(cbor.encode(cbor.decode(raw_rs)) == raw_rs, where)
        self.checked["bodies"] += 1
        want[1](body, where)

    def _body(self, m, where):
        has = [k for k in ("body", "body_hex", "body_diag") if k in m]
        if not has:
            return None
        if "body" in m:
            check(has == ["body"] and isinstance(m["body"], str), "%s: body" % where)
            return m["body"].encode("utf-8")
        check(set(has) == {"body_hex", "body_diag"}, "%s: body_hex without body_diag" % where)
        raw = bytes.fromhex(m["body_hex"])
        check(cbor.diag(raw) == m["body_diag"], "%s: body_diag is not the notation of body_hex:\n %s\n %s" % (where, cbor.diag(raw)[:200], m["body_diag"][:200]))
        return raw

    def _headers(self, rs, raw, where):
        hd, status = rs["headers"], rs["status"]
        check(hd.get("Cache-Control") == "no-store" and hd.get("X-Content-Type-Options") == "nosniff", "%s: no-store, nosniff" % where)
        if raw is None:
            check("Content-Length" not in hd and "Content-Type" not in hd, "%s: headers of a body without one" % where)
        else:
            check(hd.get("Content-Length") == str(len(raw)), "%s: Content-Length" % where)
        # §9.1: Vary on a successful answer with a body only.
        check((hd.get("Vary") == "Accept") == (status < 300 and raw is not None) and hd.get("Vary") in (None, "Accept"), "%s: Vary" % where)

    def _problem(self, v, rs, raw, rq, where):
        hd, status = rs["headers"], rs["status"]
        check(hd.get("Content-Type") == "application/problem+json", "%s: not problem+json" % where)
        doc = wire.decode(raw, wire.PROBLEM, "json", answer=True)
        check(wire.go_json(_json(raw)) == raw, "%s: the problem does not re-encode to itself" % where)
        code, table = doc["code"], self.ctx.table
        check(doc["status"] == status == table.status.get(code) and doc["title"] == table.title.get(code),
              "%s: %d %s %r is not a row of §9.4" % (where, status, code, doc["title"]))
        check(table.stands_for(code, v.get("error")), "%s: %s does not stand for %s" % (where, code, v.get("error")))
        # §9.1: a refused or missing session (not another 401) says which
        # scheme, and whether a token was presented.
        want = None
        if code == "unauthorized":
            want = 'Bearer realm="attesta"' + (', error="invalid_token"' if "Authorization" in rq["headers"] else "")
        check(hd.get("Www-Authenticate") == want, "%s: WWW-Authenticate" % where)
        if status == 405:
            check(hd.get("Allow"), "%s: Allow" % where)
        if status == 429:
            check(hd.get("Retry-After", "").isdigit(), "%s: Retry-After" % where)
        self.checked["problems"] += 1
        return doc

    # -- the model ----------------------------------------------------------

    def predict(self, method, url, rq, raw, where):
        """("problem", code) or ("ok", check(body, where) or None)."""
        path = url.path
        if path not in wire.PATHS:
            return ("problem", "not_found")
        key = (method, path)
        known = key in wire.REQUESTS or key in wire.ANSWERS or key in wire.NO_BODY or key == ("POST", "/v1/logout")
        if not known:
            return ("problem", "method_not_allowed")
        hd = rq["headers"]
        body = None
        if key in wire.REQUESTS:
            fmt = wire.media(hd.get("Content-Type"))
            if fmt is None:
                return ("problem", "unsupported_media_type")
            try:
                body = wire.decode(raw or b"", wire.REQUESTS[key], fmt)
            except wire.BodyError:
                body = "bad_request"
        return getattr(self, "_" + path.strip("/").replace("/", "_").replace(".", "_") + "_" + method.lower())(url, hd, body, raw, where)

    def _auth(self, hd):
        s = _session_of(hd)
        sess = self.sessions.get(s)
        if not sess or not sess["alive"] or sess["key_id"] in self.banned:
            return None
        return sess

    def _v1_auth_key_request_post(self, url, hd, body, raw, where):
        if body == "bad_request":
            return ("problem", "bad_request")
        if body["app_token"] != self.app_token:
            return ("problem", "bad_app_token")
        code, bans = keys.server_answer(body["key"])
        self.banned.update(bans or ())
        if code:
            return ("problem", code)
        kid = keys.key_id(body["key"])
        if kid in self.banned:
            return ("problem", "key_banned")

        def ok(ans, where):
            check(ans["expires_at"] == self.clock + CHALLENGE_TTL, "%s: expires_at is not 5 minutes on" % where)
            k = self.keys.get(kid)
            check(k is not None, "%s: a challenge for a key the file does not hold" % where)
            token = k.decrypt_token(ans["encrypted_token"])
            self.challenges[token] = {"key_id": kid, "expires": ans["expires_at"], "used": False}
            self.checked["decrypted"] += 1
        return ("ok", ok)

    def _v1_auth_key_token_post(self, url, hd, body, raw, where):
        if body == "bad_request":
            return ("problem", "bad_request")
        c = self.challenges.get(body["token"])
        if c is None or c["used"]:
            return ("problem", "challenge_unknown")
        if self.clock >= c["expires"]:
            return ("problem", "challenge_expired")  # on every submission: not used
        c["used"] = True
        if c["key_id"] in self.banned:
            return ("problem", "key_banned")

        def ok(ans, where):
            p = self.parties.get(c["key_id"])
            check(ans["is_new"] == (p is None), "%s: is_new" % where)
            if p is None:
                check(PARTY_RE.match(ans["party_id"]) and ans["party_id"] not in [q["party_id"] for q in self.parties.values()], "%s: party id" % where)
                p = self.parties[c["key_id"]] = {"party_id": ans["party_id"], "created": self.clock}
            check(ans["party_id"] == p["party_id"], "%s: another party for a known key" % where)
            check(SESSION_RE.match(ans["session"]) and ans["session"] not in self.sessions, "%s: session" % where)
            check(ans["session_expires_at"] == self.clock + SESSION_TTL, "%s: session_expires_at is not 24 hours on" % where)
            self.sessions[ans["session"]] = {"key_id": c["key_id"], "alive": True}
        return ("ok", ok)

    def _party_of(self, sess):
        return self.parties[sess["key_id"]]

    def _v1_party_get(self, url, hd, body, raw, where):
        sess = self._auth(hd)
        if sess is None:
            return ("problem", "unauthorized")
        p = self._party_of(sess)
        kid = sess["key_id"]

        def ok(ans, where):
            check(ans["party_id"] == p["party_id"] and ans["created"] == p["created"], "%s: party id or created" % where)
            check(ans["keys"] == [{"key_id": kid, "type": keys.TYPE_NAMES[self.keys[kid].type + 1], "added": p["created"]}], "%s: keys" % where)
            # §9.2: active ones by added, then pending ones; ties by kind, then hint.
            ids = sorted(self.idents.get(p["party_id"], []), key=lambda i: (
                i["pending"], i["added"] or 0, i["kind"].encode(), identifiers.hint(i["kind"], i["value"]).encode()))
            want = []
            for i in ids:
                w = {"kind": i["kind"], "hint": identifiers.hint(i["kind"], i["value"]), "pending": i["pending"]}
                if not i["pending"]:
                    w["added"] = i["added"]
                want.append(w)
            check(ans["identifiers"] == want, "%s: identifiers %r, the model %r" % (where, ans["identifiers"], want))
        return ("ok", ok)

    def _v1_logout_post(self, url, hd, body, raw, where):
        sess = self._auth(hd)
        if sess is None:
            return ("problem", "unauthorized")
        if raw:
            return ("problem", "bad_request")
        sess["alive"] = False
        return ("ok", None)

    def _identifier(self, hd, body):
        sess = self._auth(hd)
        if sess is None:
            return None, ("problem", "unauthorized")
        if body == "bad_request":
            return None, ("problem", "bad_request")
        try:
            kind, value = identifiers.normalize(body["kind"], body["value"])
        except identifiers.IdentifierError as e:
            return None, ("problem", self.ctx.table.code_of(e.error))
        return (self._party_of(sess)["party_id"], kind, value), None

    def _held(self, party, kind, value):
        return [i for i in self.idents.get(party, []) if (i["kind"], i["value"]) == (kind, value)]

    def _v1_identifiers_post(self, url, hd, body, raw, where):
        got, err = self._identifier(hd, body)
        if err:
            return err
        party, kind, value = got
        for other, ids in self.idents.items():
            if other != party and kind == "nickname" and any((i["kind"], i["value"]) == (kind, value) for i in ids):
                return ("problem", "identifier_taken")

        def ok(ans, where):
            held = self._held(party, kind, value)
            status = "pending" if kind != "nickname" and not (held and not held[0]["pending"]) else "active"
            check(ans["status"] == status, "%s: status %s, the model %s" % (where, ans["status"], status))
            if not held:
                self.idents.setdefault(party, []).append({"kind": kind, "value": value, "pending": status == "pending",
                                                          "added": None if status == "pending" else self.clock})
        return ("ok", ok)

    def _v1_identifiers_confirm_post(self, url, hd, body, raw, where):
        got, err = self._identifier(hd, body)
        if err:
            return err
        party, kind, value = got
        held = self._held(party, kind, value)
        if kind == "nickname" or not held or not held[0]["pending"]:
            return ("problem", "code_unknown")
        # The code is the server's randomness: a wrong one or the right one.
        self._pending_confirm = held[0]
        return ("confirm", None)

    def _v1_identifiers_delete(self, url, hd, body, raw, where):
        got, err = self._identifier(hd, body)
        if err:
            return err
        party, kind, value = got
        held = self._held(party, kind, value)
        if not held:
            return ("problem", "identifier_not_found")
        self.idents[party].remove(held[0])
        return ("ok", None)

    def _v1_registry_put(self, url, hd, body, raw, where):
        sess = self._auth(hd)
        if sess is None:
            return ("problem", "unauthorized")
        if body == "bad_request":
            return ("problem", "bad_request")
        code = registry.put_code(body["registry"], self.ctx.floors, self.ctx.ceilings)
        if code:
            return ("problem", code)
        party = self._party_of(sess)["party_id"]
        if not any(not i["pending"] for i in self.idents.get(party, [])):
            return ("problem", "no_identifier")
        _, version = self.registries.get(party, (None, 0))
        if body["version"] != version:
            return ("problem", "version_conflict")

        def ok(ans, where):
            check(ans["version"] == version + 1, "%s: version" % where)
            _, pt, _ = registry.open_block(body["registry"], self.password, self.ctx.ceilings)
            check(pt.get("party_id") == party, "%s: the registry holds another party id" % where)
            check(self.keys[sess["key_id"]].packed.hex() in pt.get("keys", []), "%s: the registry lacks the key" % where)
            self.registries[party] = (body["registry"], version + 1)
            self.checked["registries"] += 1
        return ("ok", ok)

    def _v1_registry_get(self, url, hd, body, raw, where):
        if not url.query:
            sess = self._auth(hd)
            if sess is None:
                return ("problem", "unauthorized")
            reg = self.registries.get(self._party_of(sess)["party_id"])
            if reg is None:
                return ("problem", "not_found")
            return ("ok", lambda ans, where: check((ans["registry"], ans["version"]) == reg, "%s: own registry" % where))
        q = parse_qs(url.query, keep_blank_values=True)
        if list(q) != ["login"] or len(q["login"]) != 1:
            return ("problem", "bad_request")
        try:
            kind, value = identifiers.parse_login(q["login"][0])
        except identifiers.IdentifierError as e:
            return ("problem", self.ctx.table.code_of(e.error))
        holder = [p for p, ids in self.idents.items() if any((i["kind"], i["value"], i["pending"]) == (kind, value, False) for i in ids)]
        block = self.registries.get(holder[0], (None,))[0] if holder else None

        def ok(ans, where):
            check(ans["version"] == 1, "%s: a login fetch answers version 1" % where)
            if block is not None:
                check(ans["registry"] == block, "%s: not the party's block" % where)
                _, pt, _ = registry.open_block(ans["registry"], self.password, self.ctx.ceilings)
                self.checked["registries"] += 1
            else:
                _, want = decoys.decoy(self.secret, decoys.identifier_hash(self.secret, kind, value))
                check(ans["registry"] == want, "%s: not the decoy of §8" % where)
                try:
                    registry.open_block(ans["registry"], self.password, self.ctx.ceilings)
                    raise Fail("%s: the password opens a decoy" % where)
                except registry.RegistryError as e:
                    check(e.error == registry.WRONG_PASSWORD, where)
                self.checked["decoys"] += 1
        return ("ok", ok)

    def _healthz_get(self, url, hd, body, raw, where):
        return ("ok", lambda ans, where: check(ans == {"status": "ok"}, where))


def _json(raw):
    return json.loads(raw.decode("utf-8"))


def check_http(ctx, name):
    f = load(ctx.vdir, name)
    m = Model(f, ctx, name)
    confirms = []
    for v in f["vectors"]:
        want = None
        rq = v["request"]
        if (rq["method"], urlsplit(rq["path"]).path) == ("POST", "/v1/identifiers/confirm"):
            # The code comes from the server's randomness: the model knows
            # only that a wrong one is refused and the right one accepted.
            want = _check_confirm(m, v, confirms)
        if want is None:
            m.exchange(v)
    return ("%s: %d exchanges in order: every message's form and headers (§9.1), %d problems against §9.4 and the model's code, "
            "%d answers decoded strictly and checked against the model, %d tokens decrypted and sent back, %d registry blocks opened "
            "with the password, %d decoys recomputed from the secret byte for byte"
            % (name, len(f["vectors"]), m.checked["problems"], m.checked["bodies"], m.checked["decrypted"],
               m.checked["registries"], m.checked["decoys"]))


def _check_confirm(m, v, confirms):
    where = "%s#%s" % (m.name, v["id"])
    rq, rs = v["request"], v["response"]
    t = wire.parse_time(v["time"])
    check(t >= m.clock, "%s: the clock went back" % where)
    m.clock = t
    raw_rq = m._body(rq, where)
    raw_rs = m._body(rs, where)
    m._headers(rs, raw_rs, where)
    want = m.predict("POST", urlsplit(rq["path"]), rq, raw_rq, where)
    if want[0] == "problem":
        return None  # decided without the code: the general path checks it
    body = wire.decode(raw_rq, wire.REQUESTS[("POST", "/v1/identifiers/confirm")], wire.media(rq["headers"]["Content-Type"]))
    check(re.fullmatch(r"[0-9]{6}", body["code"]), "%s: a code of 6 digits" % where)
    if rs["status"] == 204:
        check("error" not in v and raw_rs is None, where)
        check(body["code"] not in confirms, "%s: a code refused before is accepted" % where)
        m._pending_confirm["pending"] = False
        m._pending_confirm["added"] = m.clock
    else:
        doc = m._problem(v, rs, raw_rs, rq, where)
        check(doc["code"] == "wrong_code", "%s: %s" % (where, doc["code"]))
        confirms.append(body["code"])
    return True
