"""Login identifiers (PROTOCOL.md §7): normalisation, the login's kind,
hints."""

import unicodedata

BAD = "attesta.ErrBadIdentifier"
UNKNOWN_KIND = "attesta.ErrUnknownIdentifierKind"
KINDS = ("nickname", "email", "phone")

# §7: the Unicode White_Space property.
WHITE_SPACE = frozenset([chr(c) for c in range(0x09, 0x0E)] + [chr(c) for c in range(0x2000, 0x200B)] + [
    "\u0020", "\u0085", "\u00a0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])

UNICODE_VERSION = unicodedata.unidata_version
SPEC_UNICODE_VERSION = "15.0.0"


class IdentifierError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error


def unassigned(s):
    """The code points of s that this Python's Unicode data does not know:
    where its normalisation may differ from the spec's Unicode version."""
    return ["U+%04X" % ord(c) for c in s if unicodedata.category(c) == "Cn"]


def _simple_lower(s):
    """Each character's simple lowercase mapping (UnicodeData.txt), no
    context. Python's str.lower() is the full mapping (SpecialCasing.txt),
    which differs from the simple one for one character only, U+0130, whose
    simple mapping is U+0069 (§7 says so too); per character, it applies no
    final-sigma rule."""
    out = []
    for c in s:
        low = c.lower()
        if len(low) != 1:
            if c != "\u0130":
                raise AssertionError("no simple lowercase mapping known for U+%04X" % ord(c))
            low = "i"
        out.append(low)
    return "".join(out)


def _nfkc(s):
    return unicodedata.normalize("NFKC", s)


def _trim(s):
    i, j = 0, len(s)
    while i < j and s[i] in WHITE_SPACE:
        i += 1
    while j > i and s[j - 1] in WHITE_SPACE:
        j -= 1
    return s[i:j]


def _collapse(s):
    out, space = [], False
    for c in s:
        if c in WHITE_SPACE:
            space = True
            continue
        if space:
            out.append(" ")
            space = False
        out.append(c)
    return "".join(out)


def _control_or_format(c):
    return unicodedata.category(c) in ("Cc", "Cf")


def _text(value):
    """§7: over 1024 bytes, or not UTF-8, is refused first."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if len(value) > 1024:
        raise IdentifierError(BAD)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentifierError(BAD)


def nickname(s):
    s = _nfkc(_simple_lower(_nfkc(s)))
    s = _collapse(_trim(s))
    if any(_control_or_format(c) for c in s) or "@" in s or s.startswith("+") or not 4 <= len(s) <= 64:
        raise IdentifierError(BAD)
    return s


def email(s):
    s = _nfkc(_simple_lower(_nfkc(_trim(s))))
    local, at, domain = s.partition("@")
    if not at or "@" in domain or not local:
        raise IdentifierError(BAD)
    dot = domain.find(".")
    if dot <= 0 or dot == len(domain) - 1:
        raise IdentifierError(BAD)
    if any(c in WHITE_SPACE or _control_or_format(c) for c in s) or len(s.encode("utf-8")) > 254:
        raise IdentifierError(BAD)
    return s


def phone(s):
    s = "".join(c for c in _trim(s) if c not in " -.()")
    digits = s[1:]
    if not s.startswith("+") or not 7 <= len(digits) <= 15 or not all("0" <= c <= "9" for c in digits) or digits[0] == "0":
        raise IdentifierError(BAD)
    return s


def normalize(kind, value):
    """(kind, normalised value), or IdentifierError."""
    s = _text(value)
    if kind not in KINDS:
        raise IdentifierError(UNKNOWN_KIND)
    return kind, {"nickname": nickname, "email": email, "phone": phone}[kind](s)


def login_kind(value):
    """§7 Login: the kind of a login as typed (U+0040 and U+002B only)."""
    t = _trim(_text(value))
    if "@" in t:
        return "email"
    if t.startswith("+"):
        return "phone"
    return "nickname"


def parse_login(value):
    return normalize(login_kind(value), value)


def hint(kind, value):
    """§7 Hints."""
    if kind == "nickname":
        return value[:2] + "***"
    if kind == "email":
        return value[0] + "***@" + value.partition("@")[2]
    return "+***" + value[-2:]
