"""Self-describing KDF parameters (PROTOCOL.md §5), ceilings and floors
(§5.1), derivation."""

import hashlib

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from . import cbor

ARGON2ID, SCRYPT, PBKDF2 = 1, 2, 3
NAMES = {ARGON2ID: "argon2id", SCRYPT: "scrypt", PBKDF2: "pbkdf2-sha256"}
MAX_ENCODED = 128

MALFORMED = "kdf.ErrMalformed"
UNKNOWN = "kdf.ErrUnknownAlgorithm"


class KDFError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error


class Params:
    def __init__(self, alg, salt, costs):
        self.alg, self.salt, self.costs = alg, salt, costs
        self.name = NAMES[alg]

    def fields(self):
        """The members a kdf.json vector gives for parameters that parse."""
        out = {"algorithm": self.name, "salt": self.salt.hex()}
        names = {ARGON2ID: ("memory_kib", "time", "threads"), SCRYPT: ("log_n", "r", "p"), PBKDF2: ("iterations",)}[self.alg]
        out.update(zip(names, self.costs))
        return out

    def encode(self):
        return cbor.encode([self.alg, self.salt] + list(self.costs))


def parse(b):
    """§5's parser, its rules in its order: Params, or KDFError."""
    b = bytes(b)
    if len(b) > MAX_ENCODED:
        raise KDFError(MALFORMED)                                   # 1
    try:
        item = cbor.parse(b)
    except cbor.CBORError:
        raise KDFError(MALFORMED)                                   # 2
    if item.major != 4 or not item.value:
        raise KDFError(MALFORMED)
    code = item.value[0]
    if code.major != 0:
        raise KDFError(MALFORMED)                                   # 3
    if code.value not in NAMES:
        raise KDFError(UNKNOWN)                                     # 4
    alg = code.value
    if len(item.value) != {ARGON2ID: 5, SCRYPT: 5, PBKDF2: 3}[alg]:
        raise KDFError(MALFORMED)                                   # 5
    salt, costs = item.value[1], item.value[2:]
    if salt.major != 2 or any(c.major != 0 for c in costs):
        raise KDFError(MALFORMED)                                   # 6
    salt, costs = salt.value, [c.value for c in costs]
    u32 = 2**32 - 1
    limits = {ARGON2ID: (u32, u32, 255), SCRYPT: (63, u32, u32), PBKDF2: (u32,)}[alg]
    if any(c > m for c, m in zip(costs, limits)) or not 16 <= len(salt) <= 64:
        raise KDFError(MALFORMED)                                   # 7
    if alg == ARGON2ID:
        m, t, p = costs
        ok = t != 0 and p != 0 and m >= 8 * p
    elif alg == SCRYPT:
        log_n, r, p = costs
        ok = log_n >= 1 and r != 0 and p != 0 and r * p < 2**30
    else:
        ok = costs[0] != 0
    if not ok:
        raise KDFError(MALFORMED)
    params = Params(alg, salt, costs)
    if params.encode() != b:
        raise KDFError(MALFORMED)                                   # 8
    return params


def _bounds(params, policy, ceilings):
    """The costs of the §5.1 table in its order: (error, value, bound)."""
    if ceilings:
        if params.alg == ARGON2ID:
            m, t, p = params.costs
            return [("kdf.ErrMemoryAboveCeiling", m, policy["argon2id_max_memory_kib"]),
                    ("kdf.ErrTimeAboveCeiling", t, policy["argon2id_max_time"]),
                    ("kdf.ErrThreadsAboveCeiling", p, policy["argon2id_max_threads"])]
        if params.alg == SCRYPT:
            log_n, r, p = params.costs
            return [("kdf.ErrScryptNAboveCeiling", log_n, policy["scrypt_max_log_n"]),
                    ("kdf.ErrMemoryAboveCeiling", 128 * r * 2**log_n, policy["scrypt_max_memory_bytes"]),
                    ("kdf.ErrThreadsAboveCeiling", p, policy["scrypt_max_p"])]
        return [("kdf.ErrIterationsAboveCeiling", params.costs[0], policy["pbkdf2_max_iterations"])]
    if params.alg == ARGON2ID:
        m, t, _ = params.costs
        return [("kdf.ErrMemoryBelowFloor", m, policy["argon2id_min_memory_kib"]),
                ("kdf.ErrTimeBelowFloor", t, policy["argon2id_min_time"])]
    if params.alg == SCRYPT:
        log_n, r, _ = params.costs
        return [("kdf.ErrScryptNBelowFloor", log_n, policy["scrypt_min_log_n"]),
                ("kdf.ErrScryptRBelowFloor", r, policy["scrypt_min_r"])]
    return [("kdf.ErrIterationsBelowFloor", params.costs[0], policy["pbkdf2_min_iterations"])]


def check_ceilings(params, ceilings):
    """None, or the error of the first cost above its ceiling (§5.1)."""
    for err, value, bound in _bounds(params, ceilings, True):
        if value > bound:
            return err
    return None


def check_floors(params, floors):
    """None, or the error of the first cost below its floor (§5.1)."""
    for err, value, bound in _bounds(params, floors, False):
        if value < bound:
            return err
    return None


def derive(params, password, length):
    """The key of §5: password as its bytes, no normalisation."""
    if params.alg == ARGON2ID:
        m, t, p = params.costs
        return Argon2id(salt=params.salt, length=length, iterations=t, lanes=p, memory_cost=m).derive(password)
    if params.alg == SCRYPT:
        log_n, r, p = params.costs
        return hashlib.scrypt(password, salt=params.salt, n=2**log_n, r=r, p=p,
                              maxmem=130 * r * 2**log_n + (1 << 20), dklen=length)
    return hashlib.pbkdf2_hmac("sha256", password, params.salt, params.costs[0], length)
