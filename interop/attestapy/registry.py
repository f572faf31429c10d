"""The registry block (PROTOCOL.md §6): sealing, opening, what a server
checks before storing one (§5.1, §6.3)."""

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import cbor, kdf
from .keys import hkdf_expand

MAX_BLOCK = 65536
PAD = 4096
KEY_INFO = b"attesta registry v1 key"
NO_TIME = -62135596800  # 0001-01-01T00:00:00Z, refused as created (§6.1)

TOO_LARGE = "registry.ErrTooLarge"
MALFORMED = "registry.ErrMalformed"
VERSION = "registry.ErrUnsupportedVersion"
AEAD = "registry.ErrUnsupportedAEAD"
WRONG_PASSWORD = "registry.ErrWrongPassword"


class RegistryError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha §2.2), from the ChaCha20 block
    that cryptography provides: a block is the state after the 20 rounds
    plus the initial state, so the rounds' output is the block minus the
    initial state; HChaCha20 is its words 0-3 and 12-15. cryptography's
    16-byte ChaCha20 nonce is the state's words 12-15 (counter, nonce)."""
    block = Cipher(algorithms.ChaCha20(key, nonce16), mode=None).encryptor().update(b"\x00" * 64)
    words = struct.unpack("<16I", block)
    init = struct.unpack("<4I", b"expand 32-byte k") + (0,) * 8 + struct.unpack("<4I", nonce16)
    out = [(words[i] - init[i]) & 0xFFFFFFFF for i in (0, 1, 2, 3, 12, 13, 14, 15)]
    return struct.pack("<8I", *out)


def xchacha20poly1305(key, nonce24):
    """XChaCha20-Poly1305: ChaCha20-Poly1305 under HChaCha20(key, nonce[:16])
    with the nonce 0000 || nonce[16:24]."""
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])), b"\x00" * 4 + nonce24[16:]


class Header:
    def __init__(self, version, params, kdf_raw, aead, nonce, raw):
        self.version, self.params, self.kdf_raw, self.aead, self.nonce, self.raw = version, params, kdf_raw, aead, nonce, raw

    def fields(self):
        """The header as registry.json writes it."""
        return {"version": self.version, "kdf": self.kdf_raw.hex(), "aead": self.aead, "nonce": self.nonce.hex()}


def inspect(block):
    """§6.3 steps 1 to 3, what needs no password: (Header, ciphertext), or
    RegistryError, or kdf.KDFError for an unknown algorithm."""
    block = bytes(block)
    if len(block) > MAX_BLOCK:
        raise RegistryError(TOO_LARGE)
    try:
        outer = cbor.parse(block)
    except cbor.CBORError:
        raise RegistryError(MALFORMED)
    if outer.major != 4 or len(outer.value) != 2:
        raise RegistryError(MALFORMED)
    header, ct = outer.value
    if header.major != 4 or not header.value:
        raise RegistryError(MALFORMED)
    version = header.value[0]
    if version.major != 0:
        raise RegistryError(MALFORMED)
    if version.value != 1:
        raise RegistryError(VERSION)
    if len(header.value) != 4:
        raise RegistryError(MALFORMED)
    _, kdf_item, aead, nonce = header.value
    try:
        params = kdf.parse(kdf_item.raw)
    except kdf.KDFError as e:
        if e.error == kdf.UNKNOWN:
            raise
        raise RegistryError(MALFORMED)
    if aead.major != 0:
        raise RegistryError(MALFORMED)
    if aead.value != 1:
        raise RegistryError(AEAD)
    if nonce.major != 2 or len(nonce.value) != 24:
        raise RegistryError(MALFORMED)
    n = len(ct.value) - 16 if ct.major == 2 else -1
    if ct.major != 2 or n < PAD or n % PAD:
        raise RegistryError(MALFORMED)
    if _encode_block(_encode_header(params.encode(), nonce.value), ct.value) != block:
        raise RegistryError(MALFORMED)  # a non-minimal head somewhere
    return Header(1, params, kdf_item.raw, 1, nonce.value, header.raw), ct.value


def _encode_header(kdf_raw, nonce):
    # The KDF parameters are embedded as they are (an array, not a bstr).
    return b"\x84" + cbor.encode(1) + kdf_raw + cbor.encode(1) + cbor.encode(nonce)


def _encode_block(header_raw, ct):
    return b"\x82" + header_raw + cbor.encode(ct)


def registry_key(params, password):
    """§6.2 step 4."""
    return hkdf_expand(kdf.derive(params, password, 32), KEY_INFO, 32)


def decode_plaintext(padded):
    """§6.3 step 6: the plaintext map, as registry.json writes it."""
    try:
        item, end = cbor._read(padded, 0, 0, False)
    except cbor.CBORError:
        raise RegistryError(MALFORMED)
    if any(padded[end:]) or item.major != 5:
        raise RegistryError(MALFORMED)
    try:
        m = cbor.decode(item.raw)
    except cbor.CBORError:
        raise RegistryError(MALFORMED)
    out = {}
    for k, v in m.items():
        if k == 1 and isinstance(v, str) and v:
            out["party_id"] = v
        elif k == 2 and isinstance(v, list) and v and all(isinstance(x, bytes) for x in v):
            out["keys"] = [x.hex() for x in v]
        elif k == 3 and isinstance(v, int) and not isinstance(v, bool) and v != NO_TIME:
            out["created"] = v
        elif k == 4 and isinstance(v, dict) and v and all(isinstance(a, str) and isinstance(b, bytes) for a, b in v.items()):
            out["app_data"] = {a: b.hex() for a, b in v.items()}
        else:
            raise RegistryError(MALFORMED)
    return out, item.raw


def open_block(block, password, ceilings):
    """§6.3: (Header, plaintext as registry.json writes it, its CBOR), or
    RegistryError / kdf.KDFError (an unknown algorithm, a ceiling)."""
    h, ct = inspect(block)
    err = kdf.check_ceilings(h.params, ceilings)
    if err:
        raise kdf.KDFError(err)
    aead, nonce = xchacha20poly1305(registry_key(h.params, password), h.nonce)
    try:
        padded = aead.decrypt(nonce, ct, h.raw)
    except InvalidTag:
        raise RegistryError(WRONG_PASSWORD)
    plaintext, raw = decode_plaintext(padded)
    return h, plaintext, raw


def encode_plaintext(p):
    """§6.1's map from registry.json's form; empty fields left out."""
    m = {}
    if p.get("party_id"):
        m[1] = p["party_id"]
    if p.get("keys"):
        m[2] = [bytes.fromhex(k) if isinstance(k, str) else k for k in p["keys"]]
    if "created" in p:
        m[3] = p["created"]
    if p.get("app_data"):
        m[4] = {k: bytes.fromhex(v) if isinstance(v, str) else v for k, v in p["app_data"].items()}
    return cbor.encode(m)


def seal(plaintext, password, params, nonce=None):
    """§6.2, with os.urandom for the nonce (the caller draws the salt)."""
    pt = encode_plaintext(plaintext)
    pt += b"\x00" * (-len(pt) % PAD)
    nonce = nonce or os.urandom(24)
    header = _encode_header(params.encode(), nonce)
    aead, n = xchacha20poly1305(registry_key(params, password), nonce)
    return _encode_block(header, aead.encrypt(n, pt, header))


def put_code(block, floors, ceilings):
    """What a server answers when a block is stored (§5.1): None or a code."""
    if len(block) > MAX_BLOCK:
        return "too_large"
    try:
        h, _ = inspect(block)
    except (RegistryError, kdf.KDFError):
        return "bad_registry"
    if kdf.check_floors(h.params, floors):
        return "kdf_too_weak"
    if kdf.check_ceilings(h.params, ceilings):
        return "kdf_too_costly"
    return None
