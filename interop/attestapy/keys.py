"""Packed keys (PROTOCOL.md §2), key ids, disclosure (§2.4) and challenge
decryption (§3, §3.1)."""

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import cbor, disclosure
from .b64 import b64e

RSA_PRIVATE, RSA_PUBLIC = 0, 1
X25519_PRIVATE, X25519_PUBLIC = 16, 17
MLKEM_PRIVATE, MLKEM_PUBLIC = 18, 19
TYPE_NAMES = {
    0: "rsa-private", 1: "rsa-public",
    16: "x25519-private", 17: "x25519-public",
    18: "mlkem768x25519-private", 19: "mlkem768x25519-public",
}
MAX_PACKED = 4096
P25519 = 2**255 - 19

# §3: the label of challenge encryption.
LABEL = b"attesta/v1 auth_key_request"
MAX_TOKEN = 190

# §2.3's errors, by their names in the vectors, and the problem codes of §9.4.
BAD_KEY = "attesta.ErrBadKey"
UNSUPPORTED = "attesta.ErrUnsupportedKey"
TOO_SMALL = "attesta.ErrKeyTooSmall"
TOO_LARGE = "attesta.ErrKeyTooLarge"
EVEN = "attesta.ErrEvenModulus"
EXPONENT = "attesta.ErrBadExponent"
DECRYPT = "attesta.ErrDecrypt"
CODE_OF = {BAD_KEY: "bad_key", UNSUPPORTED: "unsupported_key", TOO_SMALL: "key_too_small",
           TOO_LARGE: "key_too_large", EVEN: "key_even_modulus", EXPONENT: "key_bad_exponent"}


class KeyRefused(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error


class DecryptError(Exception):
    pass


def key_id(packed_public):
    """§2.2: SHA-256 of the packed public key, unpadded base64url."""
    return b64e(hashlib.sha256(packed_public).digest())


def mag(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _outer(packed):
    """Rule 1 and 2 of §2.3: (type code, fields)."""
    if len(packed) > MAX_PACKED:
        raise KeyRefused(BAD_KEY)
    try:
        v = cbor.decode(packed)
    except cbor.CBORError:
        raise KeyRefused(BAD_KEY)
    if not isinstance(v, list) or not 2 <= len(v) <= 4:
        raise KeyRefused(BAD_KEY)
    code = v[0]
    if not isinstance(code, int) or isinstance(code, bool) or code < 0:
        raise KeyRefused(BAD_KEY)
    if not all(isinstance(f, bytes) for f in v[1:]):
        raise KeyRefused(BAD_KEY)
    if code > 255 or code not in TYPE_NAMES:
        raise KeyRefused(UNSUPPORTED)
    return code, v[1:]


def _magnitude(b):
    if not b or b[0] == 0:
        raise KeyRefused(BAD_KEY)
    return int.from_bytes(b, "big")


def _check_rsa_public(e, n):
    """§2.3 rule 3, on the two fields."""
    _magnitude(e)
    nn = _magnitude(n)
    if e != b"\x01\x00\x01":
        raise KeyRefused(EXPONENT)
    if nn.bit_length() < 2048:
        raise KeyRefused(TOO_SMALL)
    if nn.bit_length() > 16384:
        raise KeyRefused(TOO_LARGE)
    if nn % 2 == 0:
        raise KeyRefused(EVEN)


def _x25519_ok(u):
    """§2.3 rule 4: 32 bytes, canonical (below p, so bit 255 clear), not of
    low order. A clamped scalar is a multiple of the cofactor 8, so one
    product with it is zero exactly for the low-order points."""
    if len(u) != 32 or int.from_bytes(u, "little") >= P25519:
        return False
    try:
        shared = x25519.X25519PrivateKey.from_private_bytes(b"\x01" * 32).exchange(
            x25519.X25519PublicKey.from_public_bytes(u))
    except ValueError:  # OpenSSL refuses an all-zero shared secret
        return False
    return shared != b"\x00" * 32


def _mlkem_ek_ok(ek):
    """FIPS 203 §7.2 modulus check of an ML-KEM-768 encapsulation key: every
    12-bit coefficient of its first 1152 bytes below 3329."""
    for j in range(0, 1152, 3):
        a, b, c = ek[j], ek[j + 1], ek[j + 2]
        if (a | (b & 0x0F) << 8) >= 3329 or (b >> 4 | c << 4) >= 3329:
            return False
    return True


class PublicKey:
    def __init__(self, code, fields, packed):
        self.type, self.fields, self.packed = code, fields, packed
        self.type_name = TYPE_NAMES[code]
        self.key_id = key_id(packed)

    @property
    def bits(self):
        return int.from_bytes(self.fields[1], "big").bit_length() if self.type == RSA_PUBLIC else None


def parse_public(packed):
    """§2.3 as a parser applies it: a PublicKey, or KeyRefused(error). A
    private type code is not a public key (bad_key)."""
    packed = bytes(packed)
    code, f = _outer(packed)
    if code % 2 == 0:
        raise KeyRefused(BAD_KEY)
    if code == RSA_PUBLIC:
        if len(f) != 2:
            raise KeyRefused(BAD_KEY)
        _check_rsa_public(f[0], f[1])
    elif code == X25519_PUBLIC:
        if len(f) != 1 or not _x25519_ok(f[0]):
            raise KeyRefused(BAD_KEY)
    else:
        if len(f) != 1 or len(f[0]) != 1216 or not _mlkem_ek_ok(f[0][:1184]) or not _x25519_ok(f[0][1184:]):
            raise KeyRefused(BAD_KEY)
    return PublicKey(code, f, packed)


def server_answer(data):
    """What a server answers for data sent as auth_key_request's key (§2.3,
    §2.4): (None, None) when it accepts it as a public key, else (problem
    code, bans), where bans is the list of key ids the server bans for it
    when the disclosure check recognises the input, and None when it does
    not (the answer is then the packed parser's error)."""
    try:
        parse_public(data)
        return None, None
    except KeyRefused as e:
        found = disclosure.examine(data)
        if found is None:
            return CODE_OF[e.error], None
        return found.code, found.bans


def server_check_public(data):
    """The problem code a server answers for data sent as
    auth_key_request's key, or None (accepted)."""
    return server_answer(data)[0]


# ---------------------------------------------------------------------------
# Private keys.

def _expand_mlkem_seed(seed):
    """§3.1: SHAKE256(seed, 96) = d || z (the ML-KEM-768 seed) || sk_X."""
    expanded = hashlib.shake_256(seed).digest(96)
    dk = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    return expanded, dk, sk


class PrivateKey:
    """A parsed packed private key, with its public key."""

    def __init__(self, code, fields, packed):
        self.type, self.fields, self.packed = code, fields, packed
        self.type_name = TYPE_NAMES[code]
        if code == RSA_PRIVATE:
            e, p, q = (int.from_bytes(x, "big") for x in fields)
            d = pow(e, -1, (p - 1) * (q - 1))
            self.rsa = rsa.RSAPrivateNumbers(
                p=p, q=q, d=d, dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q),
                iqmp=rsa.rsa_crt_iqmp(p, q), public_numbers=rsa.RSAPublicNumbers(e, p * q)).private_key()
            self.public_packed = cbor.encode([RSA_PUBLIC, fields[0], mag(p * q)])
        elif code == X25519_PRIVATE:
            self.x = x25519.X25519PrivateKey.from_private_bytes(fields[0])
            self.public_packed = cbor.encode([X25519_PUBLIC, self.x.public_key().public_bytes_raw()])
        else:
            self.seed = fields[0]
            self.expanded, self.dk, self.x = _expand_mlkem_seed(self.seed)
            self.pk_x = self.x.public_key().public_bytes_raw()
            self.public_packed = cbor.encode([MLKEM_PUBLIC, self.dk.public_key().public_bytes_raw() + self.pk_x])
        self.key_id = key_id(self.public_packed)

    def decrypt(self, ct, label):
        """§3's encryption under any label (§12.3 has one of its own): the
        plaintext, or DecryptError."""
        ct = bytes(ct)
        if self.type == RSA_PRIVATE:
            return _rsa_decrypt(self.rsa, ct, label)
        if self.type == X25519_PRIVATE:
            return hpke_open(X25519_SUITE, self, label, b"", ct)
        return hpke_open(MLKEM_SUITE, self, label, b"", ct)

    def decrypt_token(self, ct):
        """§3: the token, opaque bytes, or DecryptError."""
        token = self.decrypt(ct, LABEL)
        if len(token) > MAX_TOKEN:
            raise DecryptError("a token of %d bytes, more than %d" % (len(token), MAX_TOKEN))
        return token


def parse_private(packed):
    """§2.3, the private-key rules: a PrivateKey, or KeyRefused(error)."""
    packed = bytes(packed)
    code, f = _outer(packed)
    if code % 2 == 1:
        raise KeyRefused(BAD_KEY)
    if code == RSA_PRIVATE:
        if len(f) != 3:
            raise KeyRefused(BAD_KEY)
        e, p, q = (_magnitude(x) for x in f)
        # Sizes first, before any arithmetic.
        bp, bq = p.bit_length(), q.bit_length()
        if bp > disclosure.MAX_PRIME_BITS or bq > disclosure.MAX_PRIME_BITS or bp + bq - 1 > disclosure.MAX_RSA_BITS:
            raise KeyRefused(TOO_LARGE)
        if not 3 <= e <= disclosure.MAX_E:
            raise KeyRefused(EXPONENT)
        if p == q or p % 2 == 0 or q % 2 == 0 or p <= 1 or q <= 1 or p < q:
            raise KeyRefused(BAD_KEY)
        try:
            pow(e, -1, (p - 1) * (q - 1))
        except ValueError:
            raise KeyRefused(BAD_KEY)
        _check_rsa_public(f[0], mag(p * q))
    elif code == X25519_PRIVATE:
        if len(f) != 1 or len(f[0]) != 32:
            raise KeyRefused(BAD_KEY)
    else:
        if len(f) != 1 or len(f[0]) != 32:
            raise KeyRefused(BAD_KEY)
    return PrivateKey(code, f, packed)


# ---------------------------------------------------------------------------
# Challenge decryption.

def _rsa_decrypt(priv, ct, label=LABEL):
    """RSAES-OAEP, SHA-256, MGF1-SHA-256, the label (§3)."""
    if len(ct) != (priv.key_size + 7) // 8:
        raise DecryptError("an RSA ciphertext is as long as the modulus")
    try:
        return priv.decrypt(ct, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                             algorithm=hashes.SHA256(), label=label))
    except ValueError as e:
        raise DecryptError("RSA-OAEP: %s" % e)


def hkdf_extract(salt, ikm):
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


class Suite:
    """An RFC 9180 suite with KDF HKDF-SHA256 (0x0001) and AEAD
    ChaCha20-Poly1305 (0x0003)."""

    def __init__(self, kem_id, nenc):
        self.kem_id, self.nenc = kem_id, nenc
        self.kem_suite = b"KEM" + kem_id.to_bytes(2, "big")
        self.hpke_suite = b"HPKE" + kem_id.to_bytes(2, "big") + b"\x00\x01\x00\x03"

    def labeled_extract(self, suite, salt, label, ikm):
        return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)

    def labeled_expand(self, suite, prk, label, info, length):
        return hkdf_expand(prk, length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, length)

    def key_schedule(self, shared, info):
        """RFC 9180 §5.1, mode_base (no PSK): (key, base_nonce)."""
        s = self.hpke_suite
        psk_id_hash = self.labeled_extract(s, b"", b"psk_id_hash", b"")
        info_hash = self.labeled_extract(s, b"", b"info_hash", info)
        context = b"\x00" + psk_id_hash + info_hash
        secret = self.labeled_extract(s, shared, b"secret", b"")
        return (self.labeled_expand(s, secret, b"key", context, 32),
                self.labeled_expand(s, secret, b"base_nonce", context, 12))


X25519_SUITE = Suite(0x0020, 32)
MLKEM_SUITE = Suite(0x647A, 1120)
XWING_LABEL = b"\\.//^\\"  # 5c 2e 2f 2f 5e 5c


def _x25519(sk, u):
    try:
        dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(u))
    except ValueError as e:
        raise DecryptError("X25519: %s" % e)
    if dh == b"\x00" * 32:
        raise DecryptError("X25519: an all-zero shared secret")
    return dh


def decap(suite, key, enc):
    """The KEM's Decap: HPKE's shared_secret, and for MLKEM768-X25519 the
    components (ss_M, ss_X)."""
    if suite is X25519_SUITE:
        # DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1.
        dh = _x25519(key.x, enc)
        pk_rm = key.x.public_key().public_bytes_raw()
        eae_prk = suite.labeled_extract(suite.kem_suite, b"", b"eae_prk", dh)
        return suite.labeled_expand(suite.kem_suite, eae_prk, b"shared_secret", enc + pk_rm, 32), None
    # MLKEM768-X25519, §3.1.
    ct_m, ct_x = enc[:1088], enc[1088:1120]
    try:
        ss_m = key.dk.decapsulate(ct_m)
    except ValueError as e:
        raise DecryptError("ML-KEM-768: %s" % e)
    ss_x = _x25519(key.x, ct_x)
    shared = hashlib.sha3_256(ss_m + ss_x + ct_x + key.pk_x + XWING_LABEL).digest()
    return shared, (ss_m, ss_x)


def hpke_open(suite, key, info, aad, ct):
    """Single-shot Open(skR, info, aad, enc || ciphertext), RFC 9180 §6.1."""
    if len(ct) < suite.nenc + 16:
        raise DecryptError("HPKE ciphertext too short")
    enc, body = ct[:suite.nenc], ct[suite.nenc:]
    shared, _ = decap(suite, key, enc)
    k, nonce = suite.key_schedule(shared, info)
    try:
        return ChaCha20Poly1305(k).decrypt(nonce, body, aad)  # sequence number 0: the base nonce
    except InvalidTag:
        raise DecryptError("HPKE: the AEAD does not open")
