"""Private keys on the wire (PROTOCOL.md §2.4) and their bounds (§2.3): what
a server recognises as a private key where a public key is expected, what
that input proves (the keys it bans) and what it only refuses.

examine(data) is None for input the check does not recognise (the answer is
then the packed parser's error), else a Finding: the problem code
(private_key_disclosed or key_too_large) and the packed public keys the
input proves, whose key ids the server bans.

Each part of an input (the whole input as a packed key, DER or OpenSSH
container, or each PEM block) is read into one of three outcomes: a proof
(the public key computed from the private material), a disclosure that
proves nothing, or a number over its bound. A part that is none of these is
not recognised."""

import base64
import binascii
import hashlib
import re

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from . import cbor
from .b64 import b64e

MAX_KEY_FILE = 32 << 10   # §2.4: input examined
MAX_PACKED = 4096         # §2.1
MAX_PEM_BLOCKS = 4        # §2.4: the first four PEM blocks
MAX_RSA_BITS = 16384      # §2.3: n, d; bits(p) + bits(q) - 1
MAX_PRIME_BITS = 8256     # §2.3: p, q and the CRT values
MAX_E = 2**31 - 1

RSA_PRIVATE, RSA_PUBLIC = 0, 1
X25519_PRIVATE, X25519_PUBLIC = 16, 17
MLKEM_PRIVATE, MLKEM_PUBLIC = 18, 19

OPENSSH_MAGIC = b"openssh-key-v1\x00"

# The outcomes of one part.
PROOF, UNPROVEN, TOO_LARGE = "proof", "unproven", "too_large"


class Finding:
    def __init__(self, code, publics):
        self.code, self.publics = code, publics

    @property
    def bans(self):
        """The key ids banned (§2.2), each once."""
        return [b64e(hashlib.sha256(p).digest()) for p in self.publics]


def _mag(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


# ---------------------------------------------------------------------------
# The proofs.

def _rsa(e, p, q, n=None, d=None, dp=None, dq=None, qinv=None):
    """An RSA key's numbers, as read: (PROOF, [1, e, p*q]), (UNPROVEN,) or
    (TOO_LARGE,). The sizes come first (§2.3), then the identities of §2.4;
    primality is not checked."""
    def bits(x):
        return x.bit_length()
    if bits(p) > MAX_PRIME_BITS or bits(q) > MAX_PRIME_BITS or bits(p) + bits(q) - 1 > MAX_RSA_BITS:
        return (TOO_LARGE,)
    if any(x is not None and bits(x) > MAX_RSA_BITS for x in (n, d)):
        return (TOO_LARGE,)
    if any(x is not None and bits(x) > MAX_PRIME_BITS for x in (dp, dq, qinv)):
        return (TOO_LARGE,)
    if not 3 <= e <= MAX_E:
        return (UNPROVEN,)
    if p <= 1 or q <= 1 or p == q or p % 2 == 0 or q % 2 == 0:
        return (UNPROVEN,)
    m = p * q
    if n is not None and n != m:
        return (UNPROVEN,)
    for f in (p - 1, q - 1):
        if d is None:
            try:
                pow(e, -1, f)
            except ValueError:
                return (UNPROVEN,)
        elif (d * e) % f != 1 % f:
            return (UNPROVEN,)
    if dp is not None and dp != d % (p - 1):
        return (UNPROVEN,)
    if dq is not None and dq != d % (q - 1):
        return (UNPROVEN,)
    if qinv is not None and (qinv * q) % p != 1:
        return (UNPROVEN,)
    return (PROOF, cbor.encode([RSA_PUBLIC, _mag(e), _mag(m)]))


def x25519_public(scalar):
    """The packed public key of an X25519 scalar."""
    pub = x25519.X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()
    return cbor.encode([X25519_PUBLIC, pub])


def _x25519(scalar):
    return (PROOF, x25519_public(scalar))


def _mlkem(seed):
    expanded = hashlib.shake_256(seed).digest(96)
    ek = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key().public_bytes_raw()
    pk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:]).public_key().public_bytes_raw()
    return (PROOF, cbor.encode([MLKEM_PUBLIC, ek + pk_x]))


# ---------------------------------------------------------------------------
# The packed private forms (§2.1).

def _packed(data):
    """A packed private key, in at most 4096 bytes of deterministic CBOR,
    with its field count and lengths: its outcome, or None."""
    if len(data) > MAX_PACKED:
        return None
    try:
        v = cbor.decode(data)
    except cbor.CBORError:
        return None
    if not isinstance(v, list) or not v or not isinstance(v[0], int) or isinstance(v[0], bool):
        return None
    code, f = v[0], v[1:]
    if not all(isinstance(x, bytes) for x in f):
        return None
    if code == RSA_PRIVATE:
        if len(f) != 3 or any(not x or x[0] == 0 for x in f):
            return None
        e, p, q = (int.from_bytes(x, "big") for x in f)
        return _rsa(e, p, q)
    if code in (X25519_PRIVATE, MLKEM_PRIVATE):
        if len(f) != 1 or len(f[0]) != 32:
            return None
        return _x25519(f[0]) if code == X25519_PRIVATE else _mlkem(f[0])
    return None


# ---------------------------------------------------------------------------
# DER: PKCS#1, PKCS#8, SEC 1.

class _DERError(Exception):
    pass


def _der(b, i):
    """One DER element at b[i]: (tag, content, next index). Low tag numbers,
    definite minimal lengths."""
    if i + 2 > len(b):
        raise _DERError("short")
    tag, n = b[i], b[i + 1]
    if tag & 0x1F == 0x1F:
        raise _DERError("high tag number")
    i += 2
    if n == 0x80:
        raise _DERError("indefinite length")
    if n > 0x80:
        k = n & 0x7F
        if k > 4 or i + k > len(b) or b[i] == 0:
            raise _DERError("length")
        n = int.from_bytes(b[i:i + k], "big")
        if n < 0x80:
            raise _DERError("non-minimal length")
        i += k
    if i + n > len(b):
        raise _DERError("short")
    return tag, b[i:i + n], i + n


def _der_seq(b):
    """The elements of b, which is exactly the content of a SEQUENCE."""
    out, i = [], 0
    while i < len(b):
        tag, c, i = _der(b, i)
        out.append((tag, c))
    return out


def _der_whole(b, tag):
    """b is exactly one element of tag: its content."""
    t, c, i = _der(b, 0)
    if t != tag or i != len(b):
        raise _DERError("not one element")
    return c


def _der_int(c):
    if not c or (len(c) > 1 and ((c[0] == 0 and c[1] < 0x80) or (c[0] == 0xFF and c[1] >= 0x80))):
        raise _DERError("INTEGER")
    return int.from_bytes(c, "big", signed=True)


def _pkcs1(b):
    """A PKCS#1 RSAPrivateKey by its shape (a SEQUENCE of nine non-negative
    INTEGERs, the first, the version, 0; version 1 and a tenth element, a
    SEQUENCE: multi-prime): its outcome, or None."""
    try:
        els = _der_seq(_der_whole(b, 0x30))
        if not els or els[0][0] != 0x02:
            return None
        version = _der_int(els[0][1])
        if version == 1 and len(els) == 10 and all(t == 0x02 for t, _ in els[:9]) and els[9][0] == 0x30:
            return (UNPROVEN,)  # multi-prime
        if version != 0 or len(els) != 9 or any(t != 0x02 for t, _ in els):
            return None
        nums = [_der_int(c) for _, c in els[1:]]
    except _DERError:
        return None
    if any(x < 0 for x in nums):
        return None
    n, e, d, p, q, dp, dq, qinv = nums
    return _rsa(e, p, q, n=n, d=d, dp=dp, dq=dq, qinv=qinv)


OID_RSA = bytes.fromhex("2a864886f70d010101")      # 1.2.840.113549.1.1.1
OID_X25519 = bytes.fromhex("2b656e")               # 1.3.101.110


def _pkcs8(b):
    """A PKCS#8 PrivateKeyInfo / OneAsymmetricKey: its outcome, or None.
    RSA holds a PKCS#1 key, X25519 a CurvePrivateKey; any other algorithm has
    no packed form, and its key proves nothing."""
    try:
        els = _der_seq(_der_whole(b, 0x30))
        if len(els) < 3 or els[0][0] != 0x02 or els[1][0] != 0x30 or els[2][0] != 0x04:
            return None
        if _der_int(els[0][1]) not in (0, 1):
            return None
        rest = [t for t, _ in els[3:]]
        if rest not in ([], [0xA0], [0x81], [0xA0, 0x81]):
            return None  # [0] attributes, then [1] publicKey, each optional
        alg = _der_seq(els[1][1])
        if not alg or alg[0][0] != 0x06:
            return None
    except _DERError:
        return None
    oid, inner = alg[0][1], els[2][1]
    if oid == OID_RSA:
        if alg[1:] not in ([], [(0x05, b"")]):
            return (UNPROVEN,)  # rsaEncryption's parameters are NULL or absent
        return _pkcs1(inner) or (UNPROVEN,)
    if oid == OID_X25519:
        if alg[1:]:
            return (UNPROVEN,)  # RFC 8410: no parameters
        try:
            scalar = _der_whole(inner, 0x04)
        except _DERError:
            return (UNPROVEN,)
        return _x25519(scalar) if len(scalar) == 32 else (UNPROVEN,)
    return (UNPROVEN,)


def _sec1(b):
    """A SEC 1 ECPrivateKey (ECDSA, no packed form): a SEQUENCE that begins
    with INTEGER 1 and a non-empty OCTET STRING (the rest unread): UNPROVEN,
    or None."""
    try:
        c = _der_whole(b, 0x30)
        t, v, i = _der(c, 0)
        if t != 0x02 or _der_int(v) != 1:
            return None
        t, v, i = _der(c, i)
        if t != 0x04 or not v:
            return None
    except _DERError:
        return None
    return (UNPROVEN,)


def _der_key(b):
    return _pkcs1(b) or _pkcs8(b) or _sec1(b)


# ---------------------------------------------------------------------------
# OpenSSH containers (openssh-key-v1).

class _SSHError(Exception):
    pass


class _SSH:
    def __init__(self, b):
        self.b, self.i = b, 0

    def u32(self):
        if self.i + 4 > len(self.b):
            raise _SSHError("short")
        v = int.from_bytes(self.b[self.i:self.i + 4], "big")
        self.i += 4
        return v

    def string(self):
        n = self.u32()
        if self.i + n > len(self.b):
            raise _SSHError("short")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def mpint(self):
        """RFC 4251 §5: two's complement, in the fewest bytes."""
        b = self.string()
        if b == b"\x00" or len(b) > 1 and ((b[0] == 0 and b[1] < 0x80) or (b[0] == 0xFF and b[1] >= 0x80)):
            raise _SSHError("mpint not in the fewest bytes")
        return int.from_bytes(b, "big", signed=True)


def _openssh(b):
    """An openssh-key-v1 container (PROTOCOL.key of OpenSSH): its outcome.
    One unencrypted RSA key read in full, or it proves nothing."""
    r = _SSH(b[len(OPENSSH_MAGIC):])
    try:
        if r.string() != b"none":
            return (UNPROVEN,)  # encrypted: the server holds no passphrase, reads no KDF options
        if r.string() != b"none" or r.string() != b"":
            return (UNPROVEN,)  # a KDF name or options without a cipher
        if r.u32() != 1:
            return (UNPROVEN,)
        r.string()  # the public key in clear: never what is banned
        p = _SSH(r.string())
        if r.i != len(r.b):
            return (UNPROVEN,)  # bytes after the private section
        if p.u32() != p.u32():
            return (UNPROVEN,)  # check integers that differ: a wrong passphrase's mark
        if p.string() != b"ssh-rsa":
            return (UNPROVEN,)  # a type with no packed form
        nums = [p.mpint() for _ in range(6)]
        if any(x < 0 for x in nums):
            return (UNPROVEN,)
        n, e, d, iqmp, pp, q = nums
        p.string()  # comment
        # The padding: 1, 2, 3, ... up to a multiple of 8 bytes, no more.
        pad = p.b[p.i:]
        if len(p.b) % 8 or len(pad) >= 8 or pad != bytes(range(1, len(pad) + 1)):
            return (UNPROVEN,)
    except _SSHError:
        return (UNPROVEN,)
    return _rsa(e, pp, q, n=n, d=d, qinv=iqmp)


# ---------------------------------------------------------------------------
# PEM.

_BEGIN = re.compile(rb"(?:^|\n)-----BEGIN ([^\r\n]*?)-----[ \t]*\r?\n")


def _pem_blocks(data):
    """The PEM blocks of data, in order: (type, has headers, bytes)."""
    blocks, i = [], 0
    while True:
        m = _BEGIN.search(data, i)
        if not m:
            return blocks
        typ = m.group(1)
        end = b"\n-----END " + typ + b"-----"
        j = data.find(end, m.end() - 1)
        if j < 0:
            i = m.end() - 1  # from the BEGIN line's newline
            continue
        lines = data[m.end():j + 1].split(b"\n")
        # RFC 1421 headers: lines "Name: value" up to an empty line.
        headers = b":" in lines[0]
        if headers:
            k = 0
            while k < len(lines) and lines[k].strip(b"\r") != b"":
                k += 1
            lines = lines[k:]
        try:
            raw = base64.b64decode(re.sub(rb"[ \t\r\n]", b"", b"\n".join(lines)), validate=True)
        except (binascii.Error, ValueError):
            i = m.end() - 1  # from the BEGIN line's newline
            continue
        blocks.append((typ.decode("latin-1"), headers, raw))
        i = j + len(end)


def _pem_block(typ, headers, raw):
    """One block whose type contains PRIVATE KEY: its outcome. Its bytes
    are a packed key for ATTESTA PRIVATE KEY, an OpenSSH container for
    OPENSSH PRIVATE KEY, and DER read by its shape for any other type."""
    if headers:
        return (UNPROVEN,)  # RFC 1421 headers: encryption
    if typ == "OPENSSH PRIVATE KEY":
        return _openssh(raw) if raw.startswith(OPENSSH_MAGIC) else (UNPROVEN,)
    return (_packed(raw) if typ == "ATTESTA PRIVATE KEY" else _der_key(raw)) or (UNPROVEN,)


# ---------------------------------------------------------------------------

def examine(data):
    """§2.4 on data sent where a public key is expected: None (not
    recognised), or a Finding."""
    data = bytes(data)
    if len(data) > MAX_KEY_FILE:
        return None
    # The forms in §2.4's order: packed, OpenSSH (by its magic, alone), DER,
    # and only then the PEM blocks.
    if data.startswith(OPENSSH_MAGIC):
        outcomes = [_openssh(data)]
    else:
        outcomes = [_packed(data) or _der_key(data)]
    if not outcomes[0]:
        outcomes = [_pem_block(typ, headers, raw) for typ, headers, raw in _pem_blocks(data)[:MAX_PEM_BLOCKS]
                    if "PRIVATE KEY" in typ]
    if not outcomes:
        return None
    proofs = []
    for o in outcomes:
        if o[0] == PROOF and o[1] not in proofs:
            proofs.append(o[1])
    if proofs or any(o[0] == UNPROVEN for o in outcomes):
        return Finding("private_key_disclosed", proofs)
    return Finding("key_too_large", [])
