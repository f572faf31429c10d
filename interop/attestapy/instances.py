"""Application instances (PROTOCOL.md §12): the TOKEN (§12.1), service keys
encrypted to an instance (§12.3) and sealed at rest (§12.4), from the
specification's text alone."""

import base64
import hashlib
import hmac
import struct

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import keys, registry
from .vectors import check, h, load, members

DOMAIN = b"attesta/v1 instance token"
KEY_INFO = b"attesta v1 instance token key"
VAULT_INFO = b"attesta v1 service key vault"
VAULT_AD = b"attesta v1 service key"
SERVICE_LABEL = b"attesta/v1 service key"
BAD_TOKEN = "attesta.ErrBadInstanceToken"
APP_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
B32 = set("abcdefghijklmnopqrstuvwxyz234567")


def hkdf_expand(secret, info, n):
    """HKDF-Expand(SHA-256) with the secret as the PRK (§12.1, §12.4)."""
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


class TokenRefused(Exception):
    pass


def parse_token(s):
    """§12.1: (app, party id, signature, the one spelling), or TokenRefused.
    Any ASCII case is read; nothing else is."""
    if any(ord(c) > 127 for c in s):
        raise TokenRefused("not ASCII")
    low = s.lower()
    app, colon, payload = low.partition(":")
    if not colon or not 1 <= len(app) <= 64 or app[0] in "._-" or not set(app) <= APP_CHARS:
        raise TokenRefused("not APP:PAYLOAD")
    if len(payload) != 128 or not set(payload) <= B32:
        raise TokenRefused("the payload is not 128 base32 characters")
    raw = base64.b32decode(payload.upper())
    return app, raw[:16], raw[16:], low


def message(app, party):
    return DOMAIN + b"\x00" + bytes([len(app)]) + app.encode() + party


def check_instance_tokens(ctx):
    f = load(ctx.vdir, "instance_tokens.json")
    check(f["key_info"].encode() == KEY_INFO and f["domain"].encode() == DOMAIN, "instance_tokens.json: key_info or domain differ from §12.1")
    seed = hkdf_expand(h(f["secret"]), KEY_INFO, 32)
    sk = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    pub = sk.public_key().public_bytes_raw()
    check(pub.hex() == f["public_key"], "instance_tokens.json: public_key is not the key of the secret")
    x = base64.urlsafe_b64encode(pub).rstrip(b"=").decode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(('{"crv":"Ed25519","kty":"OKP","x":"%s"}' % x).encode()).digest()).rstrip(b"=").decode()
    check(kid == f["kid"], "instance_tokens.json: kid is not the RFC 7638 thumbprint")
    verifier = ed25519.Ed25519PublicKey.from_public_bytes(pub)
    good = bad = 0
    for v in f["vectors"]:
        vid = v["id"]
        members(v, ["input"], ["app", "party_id", "message", "signature", "token", "error"])
        try:
            app, party, sig, spelling = parse_token(v["input"])
            msg = message(app, party)
            verifier.verify(sig, msg)
        except (TokenRefused, InvalidSignature):
            check(v.get("error") == BAD_TOKEN, "instance_tokens.json#%s: refused, but the vector accepts it" % vid)
            bad += 1
            continue
        check("error" not in v, "instance_tokens.json#%s: verifies, but should fail" % vid)
        pid = base64.urlsafe_b64encode(party).rstrip(b"=").decode()
        check((app, pid, spelling) == (v["app"], v["party_id"], v["token"]), "instance_tokens.json#%s: what it names" % vid)
        check(msg.hex() == v["message"] and sig.hex() == v["signature"], "instance_tokens.json#%s: message or signature" % vid)
        check(sk.sign(msg) == sig, "instance_tokens.json#%s: signing again differs (Ed25519 is deterministic)" % vid)
        good += 1
    return ("instance_tokens.json: %d vectors: %d TOKENs read in any case, verified with the key derived from the secret "
            "(and its kid) and signed again; %d refused (attesta.ErrBadInstanceToken)" % (len(f["vectors"]), good, bad))


def check_service_keys(ctx):
    f = load(ctx.vdir, "service_keys.json")
    check(f["label"].encode() == SERVICE_LABEL, "service_keys.json: the label differs from §12.3")
    good = bad = 0
    for v in f["vectors"]:
        vid = v["id"]
        members(v, ["scheme", "private", "public", "encrypted_key"], ["value", "error"])
        k = keys.parse_private(h(v["private"]))
        check(k.public_packed.hex() == v["public"], "service_keys.json#%s: the public key" % vid)
        try:
            value = k.decrypt(h(v["encrypted_key"]), SERVICE_LABEL)
        except keys.DecryptError:
            check(v.get("error") == keys.DECRYPT, "service_keys.json#%s: does not decrypt" % vid)
            bad += 1
            continue
        check("error" not in v and value.hex() == v["value"], "service_keys.json#%s: the value" % vid)
        check(1 <= len(value) <= 190, "service_keys.json#%s: a value of %d bytes" % (vid, len(value)))
        good += 1
    vault = f["vault"]
    check(vault["key_info"].encode() == VAULT_INFO and vault["ad_prefix"].encode() == VAULT_AD, "service_keys.json: the vault's key_info or ad_prefix")
    key = hkdf_expand(h(vault["secret"]), VAULT_INFO, 32)
    for v in vault["sealed"]:
        app, provider = v["app"].encode(), v["provider"].encode()
        ad = VAULT_AD + b"\x00" + bytes([len(app)]) + app + bytes([len(provider)]) + provider + struct.pack(">Q", v["version"])
        check(ad.hex() == v["ad"], "service_keys.json vault#%s: ad" % v["id"])
        sealed = h(v["sealed"])
        check(sealed[0] == 1 and len(sealed) >= 1 + 24 + 16, "service_keys.json vault#%s: not 0x01 || nonce || ciphertext" % v["id"])
        aead, nonce = registry.xchacha20poly1305(key, sealed[1:25])
        try:
            value = aead.decrypt(nonce, sealed[25:], ad)
        except InvalidTag:
            raise AssertionError("service_keys.json vault#%s: does not open" % v["id"])
        check(value.hex() == v["value"], "service_keys.json vault#%s: the value" % v["id"])
        try:
            aead.decrypt(nonce, sealed[25:], ad[:-1] + bytes([ad[-1] ^ 1]))
            check(False, "service_keys.json vault#%s: opens under another version" % v["id"])
        except InvalidTag:
            pass
    return ("service_keys.json: %d vectors: %d values decrypted with label %r (RSA-OAEP, HPKE), %d refused "
            "(attesta.ErrDecrypt); %d sealed at rest opened (HKDF, XChaCha20-Poly1305, the ad)"
            % (len(f["vectors"]), good, SERVICE_LABEL.decode(), bad, len(vault["sealed"])))
