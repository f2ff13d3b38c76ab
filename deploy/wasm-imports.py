#!/usr/bin/env python3
"""List the imports of a wasm module and check them against the Nexus whitelist.

Usage: wasm-imports.py [--check] FILE.wasm...
Prints `module.name kind` per import. With --check, exits 1 if any import
comes from a module other than wasi_snapshot_preview1 / nexus_v1.
Dependency-free (a minimal reader of the wasm binary format's import section).
"""
import sys

ALLOWED = {"wasi_snapshot_preview1", "nexus_v1"}
KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def name(buf, pos):
    n, pos = leb(buf, pos)
    return buf[pos:pos + n].decode("utf-8"), pos + n


def limits(buf, pos):
    flags = buf[pos]
    pos += 1
    _, pos = leb(buf, pos)
    if flags & 1:
        _, pos = leb(buf, pos)
    return pos


def imports(data):
    if data[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = leb(data, pos + 1)
        end = pos + size
        if sid == 2:
            count, pos = leb(data, pos)
            for _ in range(count):
                mod, pos = name(data, pos)
                field, pos = name(data, pos)
                kind = data[pos]
                pos += 1
                if kind == 0:
                    _, pos = leb(data, pos)
                elif kind == 1:
                    pos = limits(data, pos + 1)
                elif kind == 2:
                    pos = limits(data, pos)
                elif kind == 3:
                    pos += 2
                elif kind == 4:
                    _, pos = leb(data, pos + 1)
                yield mod, field, KINDS.get(kind, str(kind))
            return
        pos = end


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for mod, field, kind in imports(data):
            flag = "" if mod in ALLOWED else "   <-- NOT ALLOWED"
            if flag:
                bad += 1
            print(f"{path}: {mod}.{field} {kind}{flag}")
    if check and bad:
        print(f"{bad} import(s) outside {sorted(ALLOWED)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
