#!/usr/bin/env python3
"""Read --help texts and check them against docs/cli-conventions.md.

Usage: help_options.py TOOL:HELPFILE...

Each HELPFILE is one command's --help output; TOOL names it in messages
("hp-fetch", "hybrid-p2p fetch"). Prints one line per problem and exits 1 when
there is any:
  - a short option given two long names anywhere (-m is --manifest in one
    tool and --save-manifest in another);
  - a long option whose value is named two ways (--output FILE / DIR);
  - an old spelling (the table's deprecated column) listed in a --help.
"""
import re
import sys

# the old spellings of docs/cli-conventions.md: never shown in --help
DEPRECATED = {"--bt-listen", "--seed-listen"}
# an option line: "  -o, --output FILE   text" or "      --flag   text"
LINE = re.compile(r"^ {2}(?:-([A-Za-z0-9]), | {4})--([a-z0-9][a-z0-9-]*)(?: ([A-Z][A-Z0-9:._|,\[\]-]*))?(?:\s|$)")
# --version is the tool's in every command but a package's in the two that
# make one (hp-manifest create, hybrid-p2p publish): documented, not checked
SAME_NAME_TWO_THINGS = {"--version"}
SHORT_ONLY = re.compile(r"^\s{2}-([A-Za-z0-9])(?: ([A-Z][A-Z0-9:._-]*))?\s{2,}")


def main(args):
    shorts = {}  # letter -> {long: tool}
    values = {}  # long -> {value name: tool}
    problems = []
    for arg in args:
        tool, path = arg.rsplit(":", 1)
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = LINE.match(line)
                if not m:
                    if SHORT_ONLY.match(line):
                        problems.append(f"{tool}: a short option without a long name: {line.strip()}")
                    continue
                short, long_, value = m.group(1), "--" + m.group(2), m.group(3) or ""
                value = value.split("[")[0]  # URL[,URL]: a URL, repeatable in one value
                if long_ in SAME_NAME_TWO_THINGS:
                    continue
                if long_ in DEPRECATED:
                    problems.append(f"{tool}: --help lists the old spelling {long_}")
                if short:
                    shorts.setdefault(short, {}).setdefault(long_, tool)
                values.setdefault(long_, {}).setdefault(value, tool)
    for s, longs in sorted(shorts.items()):
        if len(longs) > 1:
            problems.append(f"-{s} means " + " and ".join(f"{lo} ({t})" for lo, t in sorted(longs.items())))
    for lo, vals in sorted(values.items()):
        if len(vals) > 1:
            problems.append(f"{lo} takes " + " and ".join(f"'{v or '(no value)'}' ({t})" for v, t in sorted(vals.items())))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
