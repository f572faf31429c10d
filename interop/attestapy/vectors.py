"""Offline checks of the published vector files (PROTOCOL.md §11), one
checker per file. Each returns a line saying what it checked."""

import json
import os

from . import cbor, decoys, identifiers, kdf, keys, registry


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def load(vdir, name):
    with open(os.path.join(vdir, name), encoding="utf-8") as f:
        d = json.load(f)
    check(isinstance(d.get("description"), str) and d["description"], "%s: no description" % name)
    vs = d.get("vectors")
    check(isinstance(vs, list) and vs, "%s: no vectors" % name)
    ids = set()
    for v in vs:
        # §11: every vector has an id, unique in its file, and a comment.
        check(isinstance(v.get("id"), str) and v["id"] and v["id"] not in ids, "%s: a missing or duplicate id %r" % (name, v.get("id")))
        check(isinstance(v.get("comment"), str) and v["comment"], "%s#%s: no comment" % (name, v["id"]))
        ids.add(v["id"])
    return d


def members(v, required, optional=()):
    extra = set(v) - set(required) - set(optional) - {"id", "comment"}
    missing = set(required) - set(v)
    check(not extra and not missing, "%s: members %s missing, %s unknown" % (v["id"], sorted(missing), sorted(extra)))


def h(s):
    return bytes.fromhex(s)


class Context:
    """What checkers share: the vector directory, the spec's error and key
    cost tables and kdf.json's default policies."""

    def __init__(self, vdir, table, costs):
        self.vdir, self.table, self.costs = vdir, table, costs
        k = load(vdir, "kdf.json")
        self.ceilings, self.floors = k["default_ceilings"], k["default_floors"]


def check_packed_keys(ctx):
    f = load(ctx.vdir, "packed_keys.json")
    pub = priv = refused = recognised = banning = 0
    costs = {}
    for v in f["vectors"]:
        vid = v["id"]
        packed = h(v["packed"])
        if v["parser"] == "public":
            members(v, ["parser", "packed"], ["type", "type_name", "key_id", "bits", "error", "problem_code", "bans"])
            got, bans = keys.server_answer(packed)
            check(got == v.get("problem_code"), "packed_keys.json#%s: a server answers %s, the vector %s" % (vid, got, v.get("problem_code")))
            # §11: bans exactly on the inputs §2.4 recognises, the key ids
            # the server bans for them.
            want = v.get("bans")
            check(want is None or len(set(want)) == len(want), "packed_keys.json#%s: a key id twice in bans" % vid)
            check((bans is None) == (want is None) and sorted(bans or ()) == sorted(want or ()),
                  "packed_keys.json#%s: a server bans %s, the vector %s" % (vid, bans, want))
            if bans is not None:
                recognised += 1
                banning += bool(bans)
            try:
                k = keys.parse_public(packed)
                err = None
            except keys.KeyRefused as e:
                err = e.error
        else:
            check(v["parser"] == "private", "%s: parser %r" % (vid, v["parser"]))
            try:
                k = keys.parse_private(packed)
                err = None
            except keys.KeyRefused as e:
                err = e.error
        check(err == v.get("error"), "packed_keys.json#%s: %s, the vector %s" % (vid, err, v.get("error")))
        if err:
            refused += 1
            if v["parser"] == "public":
                # §2.3 rule 2: an input the disclosure check recognises is
                # answered by it, whatever the parser's error.
                check(ctx.table.stands_for(v["problem_code"], err) or "bans" in v,
                      "%s: %s does not stand for %s" % (vid, v["problem_code"], err))
            continue
        check(k.type == v["type"] and k.type_name == v["type_name"], "%s: type" % vid)
        if v["parser"] == "public":
            check(k.key_id == v["key_id"], "%s: key id" % vid)
            check(v.get("bits") == k.bits, "%s: bits" % vid)
            costs[k.type_name] = costs.get(k.type_name, 0) + ctx.costs.cost(k)
            pub += 1
        else:
            check(k.public_packed.hex() == v["public"] and k.key_id == v["key_id"], "%s: public half or key id" % vid)
            check(keys.server_answer(packed) == ("private_key_disclosed", [k.key_id]),
                  "%s: a private key where a public one is expected is a disclosure that bans its public key" % vid)
            if k.type == keys.RSA_PRIVATE:
                check(v.get("bits") == int.from_bytes(cbor.decode(k.public_packed)[2], "big").bit_length(), "%s: bits" % vid)
            priv += 1
    return ("packed_keys.json: %d vectors: %d public keys parsed (type, name, key id, bits), %d private keys parsed "
            "(public half, key id), %d refused with the vector's error and a server's problem code; %d inputs the "
            "disclosure check recognises (packed, PEM, DER, OpenSSH), %d of them proving keys, each with the key ids "
            "it bans (§2.4); the accepted keys' encryption cost (§2.5): %s" % (
                len(f["vectors"]), pub, priv, refused, recognised, banning,
                ", ".join("%s %d" % kv for kv in sorted(costs.items()))))


SCHEMES = {keys.RSA_PRIVATE: "rsa-oaep-sha256", keys.X25519_PRIVATE: "hpke-x25519", keys.MLKEM_PRIVATE: "hpke-mlkem768x25519"}


def check_challenge(ctx):
    f = load(ctx.vdir, "challenge.json")
    check(f["label"].encode() == keys.LABEL, "challenge.json: the label differs from §3's")
    check(f["hpke_suites"] == {"hpke-x25519": {"kem_id": 0x20, "kdf_id": 1, "aead_id": 3},
                               "hpke-mlkem768x25519": {"kem_id": 0x647A, "kdf_id": 1, "aead_id": 3}}, "challenge.json: suites")
    by, bad = {}, 0
    for v in f["vectors"]:
        vid = v["id"]
        members(v, ["scheme", "private", "public", "encrypted_token"], ["token", "error"])
        k = keys.parse_private(h(v["private"]))
        check(k.public_packed.hex() == v["public"], "challenge.json#%s: the public key" % vid)
        check(SCHEMES[k.type] == v["scheme"], "challenge.json#%s: scheme" % vid)
        ct = h(v["encrypted_token"])
        try:
            token = k.decrypt_token(ct)
        except keys.DecryptError as e:
            check(v.get("error") == keys.DECRYPT, "challenge.json#%s: does not decrypt (%s)" % (vid, e))
            bad += 1
            continue
        check("error" not in v, "challenge.json#%s: decrypts, but should fail" % vid)
        check(token.hex() == v["token"], "challenge.json#%s: the token differs" % vid)
        want = {"rsa-oaep-sha256": (k.rsa.key_size + 7) // 8 if k.type == keys.RSA_PRIVATE else 0,
                "hpke-x25519": 32 + len(token) + 16, "hpke-mlkem768x25519": 1120 + len(token) + 16}[v["scheme"]]
        check(len(ct) == want, "challenge.json#%s: a ciphertext of %d bytes" % (vid, len(ct)))
        by[v["scheme"]] = by.get(v["scheme"], 0) + 1
    return ("challenge.json: %d vectors: tokens decrypted (%s), %d ciphertexts refused (attesta.ErrDecrypt); "
            "HPKE composed from X25519, ML-KEM-768, SHA3-256 and HKDF (§3, §3.1)"
            % (len(f["vectors"]), ", ".join("%d %s" % (n, s) for s, n in sorted(by.items())), bad))


def check_mlkem(ctx):
    f = load(ctx.vdir, "mlkem768x25519.json")
    check(f["suite"] == {"kem_id": 0x647A, "kdf_id": 1, "aead_id": 3} and f["info"].encode() == keys.LABEL
          and h(f["combiner_label"]) == keys.XWING_LABEL, "mlkem768x25519.json: constants differ from §3.1")
    good = bad = 0
    for v in f["vectors"]:
        vid = v["id"]
        k = keys.parse_private(h(v["private"]))
        check(k.type == keys.MLKEM_PRIVATE and k.public_packed.hex() == v["public"], "mlkem768x25519.json#%s: the public key from the seed" % vid)
        ct = h(v["encrypted_token"])
        if "error" in v:
            members(v, ["private", "public", "encrypted_token", "error"])
            try:
                k.decrypt_token(ct)
                raise Fail("mlkem768x25519.json#%s: decrypts" % vid)
            except keys.DecryptError:
                check(v["error"] == keys.DECRYPT, vid)
            bad += 1
            continue
        members(v, ["private", "public", "seed", "expanded", "encrypted_token", "mlkem_shared_secret",
                    "x25519_shared_secret", "shared_secret", "key", "base_nonce", "token"])
        check(k.seed.hex() == v["seed"] and k.expanded.hex() == v["expanded"], "%s: seed or SHAKE256 expansion" % vid)
        shared, (ss_m, ss_x) = keys.decap(keys.MLKEM_SUITE, k, ct[:1120])
        check(ss_m.hex() == v["mlkem_shared_secret"], "%s: ML-KEM-768 shared secret" % vid)
        check(ss_x.hex() == v["x25519_shared_secret"], "%s: X25519 shared secret" % vid)
        check(shared.hex() == v["shared_secret"], "%s: the combiner's output" % vid)
        key, nonce = keys.MLKEM_SUITE.key_schedule(shared, keys.LABEL)
        check(key.hex() == v["key"] and nonce.hex() == v["base_nonce"], "%s: the key schedule" % vid)
        check(k.decrypt_token(ct).hex() == v["token"], "%s: the token" % vid)
        good += 1
    return ("mlkem768x25519.json: %d vectors: %d decrypted step by step (SHAKE256 expansion, public key, ss_M, ss_X, "
            "SHA3-256 combiner, key schedule, token), %d wrong-combiner ciphertexts refused" % (len(f["vectors"]), good, bad))


def _put_code(params, ctx):
    if kdf.check_floors(params, ctx.floors):
        return "kdf_too_weak"
    if kdf.check_ceilings(params, ctx.ceilings):
        return "kdf_too_costly"
    return None


def _check_put(ctx, v, got, where):
    check(got == v.get("put_problem_code"), "%s: a server answers %s, the vector %s" % (where, got, v.get("put_problem_code")))
    check(("put_error" in v) == ("put_problem_code" in v), "%s: put_error without put_problem_code" % where)
    if "put_error" in v:
        check(ctx.table.stands_for(v["put_problem_code"], v["put_error"]), "%s: %s does not stand for %s" % (where, v["put_problem_code"], v["put_error"]))


def check_kdf(ctx):
    f = load(ctx.vdir, "kdf.json")
    n = {"derive": 0, "parse": 0, "ceilings": 0, "floors": 0}
    algs, refused = set(), 0
    for v in f["vectors"]:
        vid, where = v["id"], "kdf.json#" + v["id"]
        raw = h(v["params"])
        try:
            p = kdf.parse(raw)
            err = None
        except kdf.KDFError as e:
            p, err = None, e.error
        if v["check"] == "parse" and "error" in v:
            check(err == v["error"], "%s: %s, the vector %s" % (where, err, v["error"]))
            members(v, ["check", "params", "error"])
            n["parse"] += 1
            refused += 1
            continue
        check(err is None, "%s: refused (%s)" % (where, err))
        for k, val in p.fields().items():
            check(v.get(k) == val, "%s: %s is %r, parsed %r" % (where, k, v.get(k), val))
        algs.add(p.name)
        if v["check"] == "derive":
            key = kdf.derive(p, v["password"].encode("utf-8"), v["key_len"])
            check(key.hex() == v["key"], "%s: the derived key differs" % where)
        elif v["check"] in ("ceilings", "floors"):
            got = (kdf.check_ceilings if v["check"] == "ceilings" else kdf.check_floors)(
                p, ctx.ceilings if v["check"] == "ceilings" else ctx.floors)
            check(got == v.get("error"), "%s: %s, the vector %s" % (where, got, v.get("error")))
            refused += got is not None
        else:
            check(v["check"] == "parse", "%s: check %r" % (where, v["check"]))
        _check_put(ctx, v, _put_code(p, ctx), where)
        n[v["check"]] += 1
    return ("kdf.json: %d vectors: %d keys derived (%s), %d parsed or refused in §5's order, %d against the default ceilings, "
            "%d against the default floors (%d refusals, each with its error); a server's answer to storing each (floors, then ceilings)"
            % (len(f["vectors"]), n["derive"], ", ".join(sorted(algs)), n["parse"], n["ceilings"], n["floors"], refused))


def check_registry(ctx):
    f = load(ctx.vdir, "registry.json")
    check(f["key_info"].encode() == registry.KEY_INFO and f["pad_block"] == registry.PAD and f["max_block_size"] == registry.MAX_BLOCK,
          "registry.json: constants differ from §6")
    opened = refused = 0
    for v in f["vectors"]:
        vid, where = v["id"], "registry.json#" + v["id"]
        block = h(v["block"])
        password = v["password"].encode("utf-8")
        try:
            hd, pt, raw = registry.open_block(block, password, ctx.ceilings)
            err = None
        except (registry.RegistryError, kdf.KDFError) as e:
            err = e.error
        check(err == v.get("error"), "%s: %s, the vector %s" % (where, err, v.get("error")))
        _check_put(ctx, v, registry.put_code(block, ctx.floors, ctx.ceilings), where)
        if err:
            refused += 1
            continue
        check(hd.fields() == v["header"], "%s: header" % where)
        check(pt == v["plaintext"] and raw.hex() == v["plaintext_cbor"], "%s: plaintext" % where)
        check(registry.encode_plaintext(v["plaintext"]) == raw, "%s: the plaintext encodes otherwise" % where)
        # Sealing again with the block's own salt and nonce gives the block.
        check(registry.seal(v["plaintext"], password, hd.params, hd.nonce) == block, "%s: sealing again gives another block" % where)
        opened += 1
    return ("registry.json: %d vectors: %d blocks opened (header, plaintext, its CBOR) and sealed again byte for byte, "
            "%d refused in §6.3's order with the vector's error; a server's answer to storing each" % (len(f["vectors"]), opened, refused))


def check_identifiers(ctx):
    f = load(ctx.vdir, "identifiers.json")
    ok = bad = 0
    late = []
    for v in f["vectors"]:
        vid, where = v["id"], "identifiers.json#" + v["id"]
        check(("input" in v) != ("input_hex" in v), "%s: input, or input_hex instead" % where)
        value = v["input"] if "input" in v else h(v["input_hex"])
        if "input_hex" in v:
            check("problem_code" not in v, "%s: a problem code for an input no body carries" % where)
            try:
                h(v["input_hex"]).decode("utf-8")
                raise Fail("%s: input_hex is UTF-8" % where)
            except UnicodeDecodeError:
                pass
        new = identifiers.unassigned(value) if isinstance(value, str) else []
        late += new
        note = (" (code points %s are unassigned in Python's Unicode %s; the spec's is %s)"
                % (", ".join(new), identifiers.UNICODE_VERSION, identifiers.SPEC_UNICODE_VERSION)) if new else ""
        try:
            kind, norm = identifiers.parse_login(value) if v["kind"] == "login" else identifiers.normalize(v["kind"], value)
            err = None
        except identifiers.IdentifierError as e:
            err = e.error
        check(err == v.get("error"), "%s: %s, the vector %s%s" % (where, err, v.get("error"), note))
        if err:
            if "problem_code" in v:
                check(ctx.table.stands_for(v["problem_code"], err), "%s: %s does not stand for %s" % (where, v["problem_code"], err))
            bad += 1
            continue
        check((kind, norm, identifiers.hint(kind, norm)) == (v["normalized_kind"], v["normalized"], v["hint"]),
              "%s: %r %r, the vector %r %r%s" % (where, kind, norm, v["normalized_kind"], v["normalized"], note))
        check(identifiers.normalize(kind, norm) == (kind, norm), "%s: normalising is not idempotent" % where)
        ok += 1
    return ("identifiers.json: %d vectors: %d normalised (kind, value, hint) and %d refused with the vector's error, with "
            "Python's unicodedata %s (the spec names Unicode %s; %s)"
            % (len(f["vectors"]), ok, bad, identifiers.UNICODE_VERSION, identifiers.SPEC_UNICODE_VERSION,
               "no vector uses a code point it does not know" if not late else "code points it does not know: " + ", ".join(late)))


def check_decoys(ctx):
    f = load(ctx.vdir, "decoys.json")
    secret = h(f["secret"])
    check(decoys.derived_key(secret, decoys.IDENTIFIER_INFO).hex() == f["identifier_key"], "decoys.json: the identifier key")
    check(decoys.derived_key(secret, decoys.DECOY_INFO).hex() == f["decoy_key"], "decoys.json: the decoy key")
    good = bad = 0
    for v in f["vectors"]:
        where = "decoys.json#" + v["id"]
        try:
            kind, norm = identifiers.parse_login(v["login"])
        except identifiers.IdentifierError as e:
            check(v.get("error") == e.error and ctx.table.stands_for(v["problem_code"], e.error), "%s: %s" % (where, e.error))
            bad += 1
            continue
        check((kind, norm) == (v["kind"], v["normalized"]), "%s: the login normalises otherwise" % where)
        ih = decoys.identifier_hash(secret, kind, norm)
        check(ih.hex() == v["identifier_hash"], "%s: identifier hash" % where)
        seed, block = decoys.decoy(secret, ih)
        check(seed.hex() == v["seed"] and block.hex() == v["block"], "%s: seed or block" % where)
        # Shaped like a block sealed with the default KDF for one bucket.
        hd, ct = registry.inspect(block)
        check(hd.params.name == "argon2id" and hd.params.costs == [65536, 3, 4] and len(hd.params.salt) == 16 and len(ct) == 4112,
              "%s: not shaped like a default block" % where)
        good += 1
    return ("decoys.json: %d vectors: %d decoys recomputed from the secret (keys, identifier hash, seed, block byte for byte; "
            "each inspects as a default Argon2id block of one bucket), %d logins refused" % (len(f["vectors"]), good, bad))
