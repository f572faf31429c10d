"""Identifier hashes and decoys (PROTOCOL.md §8), what a server does."""

import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from . import cbor
from .keys import hkdf_expand, hkdf_extract

IDENTIFIER_INFO = b"attesta v1 identifier hash"
DECOY_INFO = b"attesta v1 registry decoy"
CODE_INFO = b"attesta v1 code hash"
DECOY_BLOCK_INFO = b"attesta registry v1 decoy"


def derived_key(secret, info):
    """HKDF-Expand with the secret as the PRK, SHA-256, 32 bytes."""
    return hkdf_expand(secret, info, 32)


def mac(key, *parts):
    """HMAC-SHA-256 of each part preceded by its length (4 bytes, big endian)."""
    m = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        p = p.encode("utf-8") if isinstance(p, str) else p
        m.update(len(p).to_bytes(4, "big") + p)
    return m.digest()


def identifier_hash(secret, kind, value):
    return mac(derived_key(secret, IDENTIFIER_INFO), kind, value)


def decoy(secret, ident_hash):
    """(seed, block): §8's decoy for an identifier hash."""
    seed = mac(derived_key(secret, DECOY_INFO), ident_hash)
    k = hkdf_expand(hkdf_extract(b"", seed), DECOY_BLOCK_INFO, 32)
    # ChaCha20 (RFC 8439), a zero 12-byte nonce, counter 0: cryptography's
    # 16-byte nonce is the counter (little endian) then the nonce.
    stream = Cipher(algorithms.ChaCha20(k, b"\x00" * 16), mode=None).encryptor().update(b"\x00" * 4152)
    salt, nonce, ct = stream[:16], stream[16:40], stream[40:]
    return seed, cbor.encode([[1, [1, salt, 65536, 3, 4], 1, nonce], ct])
