"""What the client reads from docs/PROTOCOL.md itself: the error table of
§9.4 (status, code, title, the Go errors each code stands for) and the
key costs of §2.5."""

import re

_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$")


class ErrorTable:
    def __init__(self, path):
        self.status, self.title, self.errors = {}, {}, {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = _ROW.match(line.rstrip("\n"))
                if not m:
                    continue
                code = m.group(2)
                self.status[code] = int(m.group(1))
                self.title[code] = m.group(3).strip()
                self.errors.setdefault(code, set()).update(re.findall(r"`([A-Za-z.]+)`", m.group(4)))
        if len(self.status) < 30:
            raise ValueError("%s: no error table found (§9.4)" % path)

    def stands_for(self, code, error):
        """Does problem code stand for the Go error named error?"""
        return error in self.errors.get(code, ())

    def code_of(self, error):
        """The one code that stands for error."""
        codes = [c for c, errs in self.errors.items() if error in errs]
        if len(codes) != 1:
            raise ValueError("error %s stands for %d codes in §9.4" % (error, len(codes)))
        return codes[0]


_COST_HEAD = re.compile(r"^\| key \| (.*) \|$")
_COST_ROW = re.compile(r"^\| cost \| (.*) \|$")


class CostTable:
    """§2.5: a key's encryption cost in units of one RSA-2048 encryption,
    by RSA modulus size bucket, X25519 and MLKEM768-X25519."""

    def __init__(self, path):
        head = row = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                head = head or _COST_HEAD.match(line)
                if head and not row:
                    row = _COST_ROW.match(line)
        if not head or not row:
            raise ValueError("%s: no key cost table found (§2.5)" % path)
        names = [c.strip() for c in head.group(1).split("|")]
        costs = [int(c) for c in row.group(1).split("|")]
        if len(names) != len(costs) or names[-2:] != ["X25519", "MLKEM768-X25519"]:
            raise ValueError("%s: §2.5's cost table has columns %r" % (path, names))
        self.rsa = [(int(re.sub(r"[^0-9]", "", n)), c) for n, c in zip(names[:-2], costs[:-2])]
        self.x25519, self.mlkem = costs[-2:]
        if self.rsa[0] != (2048, 1) or self.rsa[-1][0] != 16384 or \
                any(b[0] <= a[0] or b[1] < a[1] for a, b in zip(self.rsa, self.rsa[1:])):
            raise ValueError("%s: §2.5's RSA costs are not 1 at 2048 bits, rising to 16384" % path)

    def cost(self, key):
        """The cost of a parsed public key (keys.PublicKey)."""
        if key.type_name == "x25519-public":
            return self.x25519
        if key.type_name == "mlkem768x25519-public":
            return self.mlkem
        return next(c for bits, c in self.rsa if key.bits <= bits)
