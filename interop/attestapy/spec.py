"""What the client reads from docs/PROTOCOL.md itself: the error table of
§9.4 (status, code, title, the Go errors each code stands for)."""

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
