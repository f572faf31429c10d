"""Inputs for the disclosure check beyond the vectors (PROTOCOL.md §2.3,
§2.4): one or two cases for each rule the specification states, built
here, answered by the model of disclosure.py and checked against a live
server.

Each case carries a fresh key of its own, so that what the server bans is
observable through the API alone: after the case, the fresh key's public
key answers key_banned exactly when the model says the input proves it.
RSA keys are two random odd numbers, not primes: §2.4 checks no primality,
and the server accepts any odd modulus of a valid size as a public key."""

import base64
import random
from math import gcd

from . import cbor, disclosure

E = 65537


class Key:
    """A fresh RSA key (p > q), its CRT values and packed public key."""

    def __init__(self, rng, e=E, pbits=1024, qbits=1024):
        while True:
            # The two top bits set: n has all pbits + qbits bits.
            p = rng.getrandbits(pbits) | 3 << (pbits - 2) | 1
            q = rng.getrandbits(qbits) | 3 << (qbits - 2) | 1
            if p > q and gcd(e, p - 1) == gcd(e, q - 1) == gcd(p, q) == 1:
                break
        lam = (p - 1) * (q - 1) // gcd(p - 1, q - 1)
        self.e, self.p, self.q, self.n = e, p, q, p * q
        self.d = pow(e, -1, lam)
        self.dp, self.dq, self.qinv = self.d % (p - 1), self.d % (q - 1), pow(q, -1, p)
        self.public = cbor.encode([1, _mag(e), _mag(self.n)])

    def numbers(self, **over):
        f = dict(n=self.n, e=self.e, d=self.d, p=self.p, q=self.q, dp=self.dp, dq=self.dq, qinv=self.qinv)
        f.update(over)
        return f


def _mag(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


# DER ------------------------------------------------------------------------

def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + content


def der_int(x):
    if x == 0:
        return tlv(0x02, b"\x00")
    if x > 0:
        return tlv(0x02, x.to_bytes((x.bit_length() + 8) // 8, "big"))
    return tlv(0x02, x.to_bytes(((-x - 1).bit_length() + 8) // 8, "big", signed=True))


def seq(*els):
    return tlv(0x30, b"".join(els))


def pkcs1(f, version=0, extra=()):
    return seq(der_int(version), *(der_int(f[k]) for k in ("n", "e", "d", "p", "q", "dp", "dq", "qinv")), *extra)


OID_RSA = tlv(0x06, bytes.fromhex("2a864886f70d010101"))
OID_X25519 = tlv(0x06, bytes.fromhex("2b656e"))
OID_ED25519 = tlv(0x06, bytes.fromhex("2b6570"))
NULL = tlv(0x05, b"")


def pkcs8(inner, alg=(OID_RSA, NULL), version=0, extra=()):
    return seq(der_int(version), seq(*alg), tlv(0x04, inner), *extra)


def x25519_pkcs8(scalar, alg=(OID_X25519,)):
    return pkcs8(tlv(0x04, scalar), alg=alg)


# PEM ------------------------------------------------------------------------

def pem(typ, b, headers=""):
    s = base64.b64encode(b).decode()
    body = "\n".join(s[i:i + 64] for i in range(0, len(s), 64))
    return ("-----BEGIN %s-----\n%s%s\n-----END %s-----\n" % (typ, headers, body, typ)).encode()


# OpenSSH --------------------------------------------------------------------

def sshstr(b):
    return len(b).to_bytes(4, "big") + b


def mpint(x):
    if x == 0:
        return sshstr(b"")
    return sshstr(x.to_bytes((x.bit_length() + 8) // 8, "big", signed=True))


SSH_RSA_FIELDS = ("n", "e", "d", "qinv", "p", "q")


def openssh(f, cipher=b"none", kdf=b"none", kdfopts=b"", checks=(7, 7), count=1, comment=b"c",
            padding=None, after=b"", mp=lambda name, x: mpint(x), public=None):
    """An openssh-key-v1 container of one RSA key of numbers f; padding
    None: the right one."""
    priv = checks[0].to_bytes(4, "big") + checks[1].to_bytes(4, "big") + sshstr(b"ssh-rsa")
    priv += b"".join(mp(k, f[k]) for k in SSH_RSA_FIELDS)
    priv += sshstr(comment)
    priv += bytes(range(1, (-len(priv)) % 8 + 1)) if padding is None else padding
    public = public if public is not None else sshstr(b"ssh-rsa") + mpint(f["e"]) + mpint(f["n"])
    return (disclosure.OPENSSH_MAGIC + sshstr(cipher) + sshstr(kdf) + sshstr(kdfopts) + count.to_bytes(4, "big")
            + sshstr(public) + sshstr(priv) + after)


# ---------------------------------------------------------------------------

def cases(seed=20261201):
    """(id, input, the public keys of the case's fresh keys), deterministic."""
    rng = random.Random(seed)
    out = []

    def add(cid, data, *fresh):
        out.append((cid, data, [k.public if isinstance(k, Key) else k for k in fresh]))

    def key(**kw):
        return Key(rng, **kw)

    def x25519_key():
        scalar = rng.getrandbits(256).to_bytes(32, "little")
        return scalar, disclosure.x25519_public(scalar)

    # Form 1, packed: the primes in either order; e's range; the field
    # count and lengths; at most 4096 bytes.
    k = key()
    add("packed-primes-swapped", cbor.encode([0, _mag(k.e), _mag(k.q), _mag(k.p)]), k)
    k = key(e=2**31 - 1)
    add("packed-e-2^31-1", cbor.encode([0, _mag(k.e), _mag(k.p), _mag(k.q)]), k)
    k = key()
    add("packed-e-1", cbor.encode([0, b"\x01", _mag(k.p), _mag(k.q)]), k)
    k = key(e=2**31 + 11)
    add("packed-e-2^31+11", cbor.encode([0, _mag(k.e), _mag(k.p), _mag(k.q)]), k)
    k = key()
    add("packed-p-leading-zero", cbor.encode([0, _mag(k.e), b"\x00" + _mag(k.p), _mag(k.q)]), k)
    add("packed-over-4096-bytes", cbor.encode([0, _mag(E), _mag(1 << 16800 | 1), _mag(1 << 16790 | 1)]))
    add("packed-magnitude-over-2048-bytes", cbor.encode([0, _mag(E), _mag(1 << 16390 | 1), b"\x03"]))
    add("packed-tiny", cbor.encode([0, _mag(E), b"\x05", b"\x03"]))

    # Form 3, PKCS#1 by its shape.
    k = key()
    add("pkcs1-primes-swapped", pkcs1(k.numbers(p=k.q, q=k.p, dp=k.dq, dq=k.dp, qinv=pow(k.p, -1, k.q))), k)
    k = key()
    add("pkcs1-d-unreduced", pkcs1(k.numbers(d=k.d + (k.p - 1) * (k.q - 1))), k)
    k = key()
    add("pkcs1-qinv-unreduced", pkcs1(k.numbers(qinv=k.qinv + k.p)), k)
    k = key()
    add("pkcs1-dp-unreduced", pkcs1(k.numbers(dp=k.dp + k.p - 1)), k)
    k = key()
    add("pkcs1-wrong-dq", pkcs1(k.numbers(dq=k.dq + 2)), k)
    k = key()
    add("pkcs1-negative-qinv", pkcs1(k.numbers(qinv=-1)), k)
    k = key()
    add("pkcs1-trailing-byte", pkcs1(k.numbers()) + b"\x00", k)
    k = key()
    add("pkcs1-non-minimal-length", b"\x30\x83" + len(pkcs1(k.numbers())[4:]).to_bytes(3, "big") + pkcs1(k.numbers())[4:], k)
    k = key()
    add("pkcs1-six-integers", seq(*(der_int(x) for x in (0, k.n, k.e, k.d, k.p, k.q))), k)
    k = key()
    add("pkcs1-multi-prime", pkcs1(k.numbers(), version=1, extra=[seq(seq(der_int(7), der_int(1), der_int(1)))]), k)
    add("pkcs1-multi-prime-huge", pkcs1(dict(n=3, e=E, d=1, p=1 << 16383 | 1, q=3, dp=1, dq=1, qinv=1), version=1,
                                        extra=[seq(seq(der_int(7), der_int(1), der_int(1)))]))
    k = key()
    add("pkcs1-version-1-nine-integers", pkcs1(k.numbers(), version=1), k)
    k = key(e=2**31 + 11)
    add("pkcs1-e-2^31+11", pkcs1(k.numbers()), k)
    add("pkcs1-e-17000-bits", pkcs1(key().numbers(e=2**17000 + 1)))
    add("pkcs1-d-17000-bits", pkcs1(key().numbers(d=2**17000 + 1)))
    add("pkcs1-dp-9000-bits", pkcs1(key().numbers(dp=2**9000 + 1)))
    add("pkcs1-p-8256-bits", pkcs1(dict(n=3, e=E, d=1, p=1 << 8255 | 1, q=3, dp=1, dq=1, qinv=1)))
    add("pkcs1-p-8257-bits", pkcs1(dict(n=3, e=E, d=1, p=1 << 8256 | 1, q=3, dp=1, dq=1, qinv=1)))
    add("pkcs1-primes-sum-over", pkcs1(dict(n=3, e=E, d=1, p=1 << 8255 | 1, q=1 << 8200 | 1, dp=1, dq=1, qinv=1)))

    # PKCS#8: RSA's parameters, the optional [0] and [1], X25519, others.
    k = key()
    add("pkcs8-rsa-no-parameters", pkcs8(pkcs1(k.numbers()), alg=(OID_RSA,)), k)
    k = key()
    add("pkcs8-rsa-integer-parameters", pkcs8(pkcs1(k.numbers()), alg=(OID_RSA, der_int(1))), k)
    k, victim = key(), key()
    add("pkcs8-v2-public-of-victim", pkcs8(pkcs1(k.numbers()), version=1, extra=[tlv(0x81, b"\x00" + victim.public)]), k, victim)
    k = key()
    add("pkcs8-attributes-then-public", pkcs8(pkcs1(k.numbers()), version=1, extra=[tlv(0xA0, b""), tlv(0x81, b"\x00")]), k)
    k = key()
    add("pkcs8-public-then-attributes", pkcs8(pkcs1(k.numbers()), version=1, extra=[tlv(0x81, b"\x00"), tlv(0xA0, b"")]), k)
    k = key()
    add("pkcs8-public-tag-a1", pkcs8(pkcs1(k.numbers()), version=1, extra=[tlv(0xA1, tlv(0x03, b"\x00"))]), k)
    k = key()
    add("pkcs8-inner-trailing-byte", pkcs8(pkcs1(k.numbers()) + b"\x00"), k)
    k = key()
    add("pkcs8-version-2", pkcs8(pkcs1(k.numbers()), version=2), k)
    scalar, xpub = x25519_key()
    add("pkcs8-x25519", x25519_pkcs8(scalar), xpub)
    scalar, xpub = x25519_key()
    add("pkcs8-x25519-null-parameters", x25519_pkcs8(scalar, alg=(OID_X25519, NULL)), xpub)
    scalar, xpub = x25519_key()
    add("pkcs8-x25519-31-bytes", x25519_pkcs8(scalar[:31]), xpub)
    add("pkcs8-ed25519", pkcs8(tlv(0x04, b"\x01" * 32), alg=(OID_ED25519,)))

    # SEC 1.
    add("sec1-rest-unread", tlv(0x30, der_int(1) + tlv(0x04, b"\x01" * 32) + b"\xff"))
    add("sec1-empty-octet-string", seq(der_int(1), tlv(0x04, b"")))
    add("sec1-version-2", seq(der_int(2), tlv(0x04, b"\x01" * 32)))

    # Form 2, OpenSSH: every rule of an unencrypted container.
    k = key()
    add("openssh-proof", openssh(k.numbers()), k)
    k = key()
    add("openssh-primes-swapped", openssh(k.numbers(p=k.q, q=k.p, qinv=pow(k.p, -1, k.q))), k)
    k, victim = key(), key()
    add("openssh-public-of-victim", openssh(k.numbers(), public=sshstr(b"ssh-rsa") + mpint(E) + mpint(victim.n)), k, victim)
    k = key()
    add("openssh-cipher-none-kdf-bcrypt", openssh(k.numbers(), kdf=b"bcrypt"), k)
    k = key()
    add("openssh-kdf-options", openssh(k.numbers(), kdfopts=b"\x00" * 8), k)
    k = key()
    add("openssh-cipher-NONE", openssh(k.numbers(), cipher=b"NONE"), k)
    k = key()
    add("openssh-check-integers-differ", openssh(k.numbers(), checks=(7, 8)), k)
    k = key()
    add("openssh-two-keys-counted", openssh(k.numbers(), count=2), k)
    k = key()
    add("openssh-bytes-after", openssh(k.numbers(), after=b"\x00"), k)
    k = key()
    clen = next(c for c in range(1, 9) if _pad_len(k, c))  # a comment that needs padding
    add("openssh-padding-missing", openssh(k.numbers(), comment=b"c" * clen, padding=b""), k)
    k = key()
    add("openssh-padding-zeros", openssh(k.numbers(), comment=b"c" * clen, padding=b"\x00" * _pad_len(k, clen)), k)
    k = key()
    clen = next(c for c in range(1, 9) if not _pad_len(k, c))  # one that needs none
    add("openssh-padding-none-needed", openssh(k.numbers(), comment=b"c" * clen, padding=b""), k)
    k = key()
    add("openssh-padding-8-too-many", openssh(k.numbers(), comment=b"c" * clen, padding=bytes(range(1, 9))), k)
    k = key()
    add("openssh-negative-d", openssh(k.numbers(d=k.d - (k.p - 1) * (k.q - 1))), k)
    k = key()
    add("openssh-negative-qinv", openssh(k.numbers(qinv=k.qinv - k.p)), k)
    k = key()
    add("openssh-mpint-leading-zero", openssh(k.numbers(), mp=lambda name, x: sshstr(b"\x00" + _mag(x)) if name == "e" else mpint(x)), k)
    k = key()
    add("openssh-wrong-qinv", openssh(k.numbers(qinv=k.qinv + 2)), k)
    add("openssh-n-17000-bits", openssh(key().numbers(n=2**17000 + 1)))
    add("openssh-qinv-9000-bits", openssh(key().numbers(qinv=2**9000 + 1)))
    add("openssh-negative-huge-p", openssh(key().numbers(p=-(2**9000))))
    k = key(e=2**31 + 11)
    add("openssh-e-2^31+11", openssh(k.numbers()), k)
    k, x = key(), x25519_key()
    add("openssh-then-pem", openssh(k.numbers()) + b"\n" + pem("ATTESTA PRIVATE KEY", cbor.encode([16, x[0]])), k, x[1])

    # Form 4, PEM: syntax, headers, what each type holds, four blocks.
    def real():
        k = key()
        return k, pkcs1(k.numbers())
    k, b = real()
    add("pem-text-before", b"hello\n" + pem("RSA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-indented", b"  " + pem("RSA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-end-indented", pem("RSA PRIVATE KEY", b).replace(b"\n-----END", b"\n -----END"), k)
    k, b = real()
    add("pem-crlf", pem("RSA PRIVATE KEY", b).replace(b"\n", b"\r\n"), k)
    k, b = real()
    s = base64.b64encode(b).decode()
    add("pem-spaces-and-tabs", ("-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" %
                                " \t".join(s[i:i + 16] for i in range(0, len(s), 16))).encode(), k)
    k, b = real()
    while len(b) % 3 == 0:  # a key whose base64 has padding to leave out
        k, b = real()
    add("pem-base64-without-padding", ("-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" %
                                       base64.b64encode(b).decode().rstrip("=")).encode(), k)
    k, b = real()
    add("pem-no-end", b"-----BEGIN RSA PRIVATE KEY-----\n" + base64.b64encode(b) + b"\n", k)
    k, b = real()
    add("pem-lowercase-type", pem("rsa private key", b), k)
    k, b = real()
    add("pem-comment-header", pem("RSA PRIVATE KEY", b, "Comment: mine\n\n"), k)
    k, b = real()
    add("pem-proc-type-header", pem("RSA PRIVATE KEY", b, "Proc-Type: 4,ENCRYPTED\n\n"), k)
    k, b = real()
    add("pem-rsa-type-holding-pkcs8", pem("RSA PRIVATE KEY", pkcs8(b)), k)
    k, b = real()
    add("pem-ec-type-holding-pkcs1", pem("EC PRIVATE KEY", b), k)
    k, b = real()
    add("pem-encrypted-type-holding-pkcs1", pem("ENCRYPTED PRIVATE KEY", b), k)
    k, b = real()
    add("pem-odd-type-holding-pkcs1", pem("MY-OWN PRIVATE KEY STUFF ", b), k)
    k, b = real()
    add("pem-attesta-type-holding-pkcs1", pem("ATTESTA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-openssh-type-holding-pkcs1", pem("OPENSSH PRIVATE KEY", b), k)
    k = key()
    add("pem-rsa-type-holding-openssh", pem("RSA PRIVATE KEY", openssh(k.numbers())), k)
    k = key()
    add("pem-openssh", pem("OPENSSH PRIVATE KEY", openssh(k.numbers())), k)
    x = x25519_key()
    add("pem-attesta", pem("ATTESTA PRIVATE KEY", cbor.encode([16, x[0]])), x[1])
    x = x25519_key()
    add("pem-private-type-holding-packed", pem("PRIVATE KEY", cbor.encode([16, x[0]])), x[1])
    add("pem-attesta-too-large", pem("ATTESTA PRIVATE KEY", cbor.encode([0, _mag(E), _mag(1 << 8300), b"\x03"])))
    k, b = real()
    add("pem-public-only", pem("PUBLIC KEY", b"x"), k)
    k, b = real()
    add("pem-private-in-fourth-block", pem("PUBLIC KEY", b"x") * 3 + pem("RSA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-private-in-fifth-block", pem("PUBLIC KEY", b"x") * 4 + pem("RSA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-broken-blocks-not-counted", b"-----BEGIN RSA PRIVATE KEY-----\n!!\n-----END RSA PRIVATE KEY-----\n" * 4
        + b"-----BEGIN FOO-----\n" + pem("RSA PRIVATE KEY", b), k)
    k, b = real()
    add("pem-same-key-twice", pem("RSA PRIVATE KEY", b) + pem("PRIVATE KEY", pkcs8(b)), k)
    k, b = real()
    x = x25519_key()
    add("pem-two-keys", pem("ATTESTA PRIVATE KEY", cbor.encode([16, x[0]])) + pem("RSA PRIVATE KEY", b), x[1], k)
    k, b = real()
    big = pkcs1(dict(n=3, e=E, d=1, p=1 << 16383 | 1, q=3, dp=1, dq=1, qinv=1))
    add("pem-too-large-beside-proof", pem("RSA PRIVATE KEY", big) + pem("RSA PRIVATE KEY", b), k)
    add("pem-too-large-beside-garbage", pem("RSA PRIVATE KEY", big) + pem("RSA PRIVATE KEY", b"garbage"))
    x = x25519_key()
    k = key()
    add("der-then-pem", pkcs1(k.numbers()) + b"\n" + pem("ATTESTA PRIVATE KEY", cbor.encode([16, x[0]])), k, x[1])
    for size in (disclosure.MAX_KEY_FILE, disclosure.MAX_KEY_FILE + 1):
        k, b = real()
        p = pem("RSA PRIVATE KEY", b)
        add("pem-%d-bytes" % size, p + b" " * (size - len(p)), k)
    return out


def _pad_len(k, clen):
    """The length of the right padding of openssh(k, comment of clen)."""
    f = k.numbers()
    section = 8 + len(sshstr(b"ssh-rsa")) + sum(len(mpint(f[x])) for x in SSH_RSA_FIELDS) + len(sshstr(b"c" * clen))
    return (-section) % 8
