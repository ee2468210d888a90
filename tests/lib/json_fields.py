#!/usr/bin/env python3
"""Check the JSON records of every tool against docs/cli-conventions.md.

Usage: json_fields.py TOOL:FILE...   (FILE: JSON Lines, or one JSON document)

Every member name at every depth is collected with its JSON type and the
tool that wrote it. Prints one line per problem and exits 1 when there is any:
  - a name used with two types (a string in one record, a number in another),
    except the documented ones below;
  - an old name (the conventions' deprecated column) written without its new
    name beside it in the same object.
"""
import json
import sys

# documented, this release only (docs/cli-conventions.md): "torrent" is a path
# in publish's seed step and, under its old name, a flag in fetch's registry
# step (now "has_torrent")
TWO_TYPES_OK = {"torrent"}
# old name -> the new name that must stand beside it
OLD = {"infohash": "infohash_v1", "failures": "problems", "private_key": "private_key_file"}


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def walk(v, tool, seen, problems):
    if isinstance(v, list):
        for x in v:
            walk(x, tool, seen, problems)
        return
    if not isinstance(v, dict):
        return
    for k, x in v.items():
        seen.setdefault(k, {}).setdefault(kind(x), tool)
        new = OLD.get(k, "")
        if new and new not in v:
            problems.append(f"{tool}: '{k}' without its new name '{new}'")
        walk(x, tool, seen, problems)


def records(text):
    text = text.strip()
    if not text:
        return []
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(args):
    seen, problems = {}, []
    for arg in args:
        tool, path = arg.rsplit(":", 1)
        with open(path, encoding="utf-8") as f:
            for r in records(f.read()):
                walk(r, tool, seen, problems)
    for k, kinds in sorted(seen.items()):
        real = {t: w for t, w in kinds.items() if t != "null"}
        if len(real) > 1 and k not in TWO_TYPES_OK:
            problems.append(f"'{k}' is " + " and ".join(f"{t} ({w})" for t, w in sorted(real.items())))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
