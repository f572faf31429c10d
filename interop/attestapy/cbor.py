"""CBOR (RFC 8949) as PROTOCOL.md §1.1 has it: core deterministic encoding,
definite lengths, no tags, no floats, no undefined, at most 8 levels deep and
1024 elements per array or map.

Three readers:
  decode(b)   strict: exactly one item in deterministic encoding, or CBORError;
  parse(b)    lenient about heads (non-minimal integers and lengths pass, as
              the KDF and registry parsers of §5 and §6.3 need: they check the
              encoding last), still refusing indefinite lengths, tags, floats;
              returns an Item tree with each item's raw bytes;
  diag(b)     RFC 8949 §8 diagnostic notation of anything well-formed,
              indefinite lengths and duplicate keys included, written as
              PROTOCOL.md's examples write it.
"""

import json

MAX_DEPTH = 8
MAX_ELEMENTS = 1024


class CBORError(Exception):
    pass


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise CBORError("integer too large")


def encode(v):
    """The core deterministic encoding of v: int, bytes, str, list, dict, bool, None."""
    if v is False:
        return b"\xf4"
    if v is True:
        return b"\xf5"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, (bytes, bytearray)):
        return _head(2, len(v)) + bytes(v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return _head(3, len(b)) + b
    if isinstance(v, (list, tuple)):
        return _head(4, len(v)) + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        items = sorted((encode(k), encode(x)) for k, x in v.items())
        for a, b in zip(items, items[1:]):
            if a[0] == b[0]:
                raise CBORError("duplicate map key")
        return _head(5, len(items)) + b"".join(k + x for k, x in items)
    raise CBORError("cannot encode %r" % type(v))


class Item:
    """A parsed item: major type, value (int, bytes, str, bool, None, a list
    of Items for an array, a list of (key Item, value Item) for a map), and
    raw, its exact bytes."""

    __slots__ = ("major", "value", "raw")

    def __init__(self, major, value, raw):
        self.major, self.value, self.raw = major, value, raw

    def plain(self):
        """The item as Python values (dict keys must be hashable)."""
        if self.major == 4:
            return [x.plain() for x in self.value]
        if self.major == 5:
            out = {}
            for k, v in self.value:
                key = k.plain()
                if isinstance(key, (list, dict)) or key in out:
                    raise CBORError("unusable or duplicate map key")
                out[key] = v.plain()
            return out
        return self.value


def _read(b, i, depth, indefinite_ok):
    """One item at b[i:]: (Item, end). Heads may be non-minimal."""
    if i >= len(b):
        raise CBORError("truncated")
    start = i
    ib = b[i]
    major, ai = ib >> 5, ib & 31
    i += 1
    if major == 7:
        if ai in (20, 21, 22):
            return Item(7, {20: False, 21: True, 22: None}[ai], b[start:i]), i
        raise CBORError("simple value, undefined or float")
    if major == 6:
        raise CBORError("tag")
    if ai == 31:
        if not indefinite_ok or major in (0, 1):
            raise CBORError("indefinite length")
        return _read_indefinite(b, start, i, major, depth)
    if ai < 24:
        n = ai
    elif ai <= 27:
        size = 1 << (ai - 24)
        if i + size > len(b):
            raise CBORError("truncated")
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise CBORError("reserved additional information")
    if major == 0:
        return Item(0, n, b[start:i]), i
    if major == 1:
        return Item(1, -1 - n, b[start:i]), i
    if major in (2, 3):
        if i + n > len(b):
            raise CBORError("truncated")
        s = bytes(b[i:i + n])
        i += n
        if major == 3:
            try:
                s = s.decode("utf-8")
            except UnicodeDecodeError:
                raise CBORError("text not UTF-8")
        return Item(major, s, b[start:i]), i
    if n > MAX_ELEMENTS:
        raise CBORError("too many elements")
    if depth >= MAX_DEPTH:  # this array or map would be level depth + 1
        raise CBORError("nested too deep")
    if major == 4:
        out = []
        for _ in range(n):
            x, i = _read(b, i, depth + 1, indefinite_ok)
            out.append(x)
        return Item(4, out, b[start:i]), i
    pairs = []
    for _ in range(n):
        k, i = _read(b, i, depth + 1, indefinite_ok)
        v, i = _read(b, i, depth + 1, indefinite_ok)
        pairs.append((k, v))
    return Item(5, pairs, b[start:i]), i


class Indefinite(Item):
    """An indefinite-length item (only diag accepts one)."""
    __slots__ = ()


def _read_indefinite(b, start, i, major, depth):
    if major in (4, 5) and depth >= MAX_DEPTH:
        raise CBORError("nested too deep")
    out = []
    while True:
        if i >= len(b):
            raise CBORError("truncated")
        if b[i] == 0xFF:
            i += 1
            break
        if major in (2, 3):
            x, i = _read(b, i, depth + 1, False)
            if x.major != major:
                raise CBORError("chunk of another type")
            out.append(x)
        elif major == 4:
            x, i = _read(b, i, depth + 1, True)
            out.append(x)
        else:
            k, i = _read(b, i, depth + 1, True)
            v, i = _read(b, i, depth + 1, True)
            out.append((k, v))
    return Indefinite(major, out, b[start:i]), i


def parse(b):
    """Exactly one well-formed item, no indefinite lengths, no tags, no
    floats, nothing after it; heads need not be minimal."""
    b = bytes(b)
    item, i = _read(b, 0, 0, False)
    if i != len(b):
        raise CBORError("trailing bytes")
    return item


def decode(b):
    """Exactly one item in core deterministic encoding, as Python values."""
    b = bytes(b)
    v = parse(b).plain()
    if encode(v) != b:
        raise CBORError("not the deterministic encoding")
    return v


def _diag(item):
    if isinstance(item, Indefinite):
        if item.major in (2, 3):
            return "(_ " + ", ".join(_diag(c) for c in item.value) + ")"
        if item.major == 4:
            return "[_ " + ", ".join(_diag(c) for c in item.value) + "]"
        return "{_ " + ", ".join("%s: %s" % (_diag(k), _diag(v)) for k, v in item.value) + "}"
    if item.major in (0, 1):
        return str(item.value)
    if item.major == 2:
        return "h'%s'" % item.value.hex()
    if item.major == 3:
        return json.dumps(item.value, ensure_ascii=False)
    if item.major == 4:
        return "[" + ", ".join(_diag(c) for c in item.value) + "]"
    if item.major == 5:
        return "{" + ", ".join("%s: %s" % (_diag(k), _diag(v)) for k, v in item.value) + "}"
    return {False: "false", True: "true", None: "null"}[item.value]


def diag(b):
    b = bytes(b)
    item, i = _read(b, 0, 0, True)
    if i != len(b):
        raise CBORError("trailing bytes")
    return _diag(item)
