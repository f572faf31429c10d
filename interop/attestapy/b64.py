"""Unpadded base64url (RFC 4648 §5), strictly (PROTOCOL.md §1.2): only the
64 characters, no '=', no white space, the unused low bits zero."""

import base64
import re

_RE = re.compile(r"^[A-Za-z0-9_-]*$")


class B64Error(ValueError):
    pass


def b64e(b):
    return base64.urlsafe_b64encode(bytes(b)).rstrip(b"=").decode("ascii")


def b64d(s):
    if not isinstance(s, str) or not _RE.match(s) or len(s) % 4 == 1:
        raise B64Error("not unpadded base64url")
    b = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64e(b) != s:
        raise B64Error("non-canonical base64url (unused bits set)")
    return b
