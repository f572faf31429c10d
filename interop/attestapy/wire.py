"""HTTP bodies (PROTOCOL.md §1.2, §9.2): strict decoding of each endpoint's
body in JSON and CBOR, the answer format of §9.1."""

import json
import re
from datetime import datetime, timezone

from . import cbor
from .b64 import B64Error, b64d

# §9.2's bodies: member -> type ("bin", "time", "str", "bool", "uint", or a
# nested description).
REQUESTS = {
    ("POST", "/v1/auth_key_request"): {"key": "bin", "app_token": "str"},
    ("POST", "/v1/auth_key_token"): {"token": "bin"},
    ("POST", "/v1/identifiers"): {"kind": "str", "value": "str"},
    ("DELETE", "/v1/identifiers"): {"kind": "str", "value": "str"},
    ("POST", "/v1/identifiers/confirm"): {"kind": "str", "value": "str", "code": "str"},
    ("PUT", "/v1/registry"): {"registry": "bin", "version": "uint"},
}
PARTY_KEY = {"key_id": "str", "type": "str", "added": "time"}
PARTY_IDENTIFIER = {"kind": "str", "hint": "str", "pending": "bool", "added?": "time"}
ANSWERS = {
    ("POST", "/v1/auth_key_request"): {"encrypted_token": "bin", "expires_at": "time"},
    ("POST", "/v1/auth_key_token"): {"is_new": "bool", "party_id": "str", "session": "str", "session_expires_at": "time"},
    ("GET", "/v1/party"): {"party_id": "str", "created": "time", "keys": [PARTY_KEY], "identifiers": [PARTY_IDENTIFIER]},
    ("POST", "/v1/identifiers"): {"status": "str"},
    ("PUT", "/v1/registry"): {"version": "uint"},
    ("GET", "/v1/registry"): {"registry": "bin", "version": "uint"},
    ("GET", "/healthz"): {"status": "str"},
}
PROBLEM = {"title": "str", "status": "uint", "code": "str", "detail?": "str"}
NO_BODY = {("GET", "/v1/party"), ("POST", "/v1/logout"), ("GET", "/v1/registry"), ("GET", "/healthz")}
PATHS = {"/v1/auth_key_request", "/v1/auth_key_token", "/v1/party", "/v1/logout", "/v1/identifiers",
         "/v1/identifiers/confirm", "/v1/registry", "/healthz", "/v1/openapi.yaml"}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class BodyError(ValueError):
    pass


def parse_time(s):
    """§1.2: an RFC 3339 time in UTC, whole seconds: Unix seconds."""
    if not isinstance(s, str) or not TIME_RE.match(s):
        raise BodyError("not an RFC 3339 UTC time in whole seconds: %r" % (s,))
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def format_time(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise BodyError("member %r twice" % k)
        out[k] = v
    return out


def _value(v, typ, fmt, where, ordered):
    """One member's value, by type: bytes for bin, Unix seconds for time."""
    if isinstance(typ, list):
        if not isinstance(v, list):
            raise BodyError("%s: not an array" % where)
        return [_object(x, typ[0], fmt, where, ordered) for x in v]
    if typ == "bin":
        if fmt == "cbor":
            if not isinstance(v, bytes):
                raise BodyError("%s: not a byte string" % where)
            return v
        try:
            return b64d(v)
        except B64Error as e:
            raise BodyError("%s: %s" % (where, e))
    if typ == "time":
        if fmt == "cbor":
            if not isinstance(v, int) or isinstance(v, bool):
                raise BodyError("%s: not an integer" % where)
            return v
        return parse_time(v)
    if typ == "str" and isinstance(v, str) or typ == "bool" and isinstance(v, bool) \
            or typ == "uint" and isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    raise BodyError("%s: not a %s" % (where, typ))


def _object(v, schema, fmt, where, ordered=False):
    if not isinstance(v, dict):
        raise BodyError("%s: not an object" % where)
    names = {k.rstrip("?"): k.endswith("?") for k in schema}
    if set(v) - set(names) or {k for k, opt in names.items() if not opt} - set(v):
        raise BodyError("%s: members %s, want %s" % (where, sorted(v), sorted(names)))
    if ordered and list(v) != [k for k in names if k in v]:
        raise BodyError("%s: members in the order %s, not §9.2's" % (where, list(v)))
    return {k: _value(x, schema[k + "?" if names[k] else k], fmt, where + "." + k, ordered) for k, x in v.items()}


def decode(raw, schema, fmt, answer=False):
    """A body, strictly: JSON (valid UTF-8, one object, exact members, each
    once; an answer's in §9.2's order) or CBOR (deterministic encoding,
    exact members). Values typed."""
    if fmt == "json":
        try:
            text = raw.decode("utf-8")
            v = json.loads(text, object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError) as e:
            raise BodyError("not JSON: %s" % e)
    else:
        try:
            v = cbor.decode(raw)
        except cbor.CBORError as e:
            raise BodyError("not deterministic CBOR: %s" % e)
    return _object(v, schema, fmt, "body", answer and fmt == "json")


def go_json(v):
    """JSON as the server writes it: compact, members in their order, with
    <, > and & escaped (as Go's encoding/json does), then a newline."""
    s = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    for c, e in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(c, e)
    return (s + "\n").encode("utf-8")


def media(content_type):
    """§9.1: the format of a request body, or None (415)."""
    if content_type is None:
        return None
    mt, _, params = content_type.partition(";")
    mt = mt.strip().lower()
    if mt == "application/cbor":
        return "cbor"
    if mt == "application/json":
        for p in params.split(";"):
            k, _, val = p.strip().partition("=")
            if k.lower() == "charset" and val.strip('"').lower() != "utf-8":
                return None
        return "json"
    return None


def answer_format(accept, default):
    """§9.1: the answer's format, default unless Accept prefers the other
    by a higher q, or refuses default with q=0 without refusing the other."""
    q = {"json": -1.0, "cbor": -1.0}
    for part in (accept or "").split(","):
        mt, *params = [x.strip() for x in part.split(";")]
        w = 1.0
        for p in params:
            k, _, val = p.partition("=")
            if k.strip().lower() == "q":
                try:
                    w = float(val)
                except ValueError:
                    w = -2
        if not 0 <= w <= 1:
            continue
        name = {"application/json": "json", "application/cbor": "cbor"}.get(mt.lower())
        if name:
            q[name] = max(q[name], w)
    other = "cbor" if default == "json" else "json"
    if q[other] > 0 and q[other] > q[default] or q[default] == 0 and q[other] != 0:
        return other
    return default
