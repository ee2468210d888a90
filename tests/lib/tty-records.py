#!/usr/bin/env python3
"""tty-records.py TYPESCRIPT: replay what a tool wrote to a terminal (a
script(1) typescript: its stdout and stderr on one pseudo-terminal) and
check that every JSON record starts on an empty line.

A terminal is emulated just enough: CR moves to column 0, LF to a new line,
ESC [ K erases from the cursor to the end of the line, and any other byte
is written at the cursor. A record starts where '{"' is written; at that
moment the cursor must be in column 0 of a line with nothing visible on it
(a progress line erased with CR ESC[K, or a fresh line). Prints one JSON
object: {"records": N, "bad": [the visible line where a record started
after something else, ...], "progress_before": true when something was
drawn and erased on a line before the first record}. Exit 0 when "bad" is
empty, 1 otherwise."""
import json
import sys


def main():
    data = open(sys.argv[1], "rb").read()
    # the header line script(1) writes ("Script started on ...") is not the tool's
    start = data.find(b"\n") + 1 if data.startswith(b"Script started") else 0
    line = bytearray()
    col = 0
    records = 0
    bad = []
    erased = False  # something was drawn, then erased, before the first record
    progress_before = False
    i = start
    while i < len(data):
        c = data[i]
        if c == 0x0D:
            col = 0
        elif c == 0x0A:
            line = bytearray()
            col = 0
        elif data.startswith(b"\x1b[K", i):
            if col < len(line):
                erased = erased or bool(line.strip())
                del line[col:]
            i += 3
            continue
        else:
            if data.startswith(b'{"', i):
                records += 1
                if col != 0 or line.strip():
                    bad.append(line.decode("utf-8", "replace") + "|" + data[i:i + 20].decode("utf-8", "replace"))
                if records == 1:
                    progress_before = erased
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    print(json.dumps({"records": records, "bad": bad, "progress_before": progress_before}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
