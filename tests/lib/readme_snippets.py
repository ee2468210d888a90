#!/usr/bin/env python3
"""The shell snippets of one section of a Markdown file, for tests that run
a README literally (tests/cli/99-readme.bats).

    readme_snippets.py README.md SECTION OUTDIR

SECTION is the text of a `## ` heading. Every fenced ```sh block under it
(up to the next `## ` heading) is cut into snippets at blank lines; snippet
N (from 1, in order) goes to OUTDIR/N.sh, its lines exactly as written.
One line per snippet on stdout: N, a tab, its first line.

Exit 1, naming the line, when the section is missing or has no ```sh
block, when a fenced block in it has another language or none (a command
the test could not run must not pass unseen), or when a fence is not
closed."""

import os
import sys


def fail(msg):
    sys.stderr.write("readme_snippets: %s\n" % msg)
    sys.exit(1)


def snippets(path, section):
    """[(line number, [lines])] of each snippet of SECTION in path."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    inside = False  # under the section's heading
    found = False
    fence = None  # line number of the open fence, in a code block
    out = []
    cur = None
    for n, line in enumerate(lines, 1):
        if fence is None and line.startswith("## "):
            inside = line[3:].strip() == section
            found = found or inside
            continue
        if not inside:
            continue
        if fence is None:
            if line.startswith("```"):
                lang = line[3:].strip()
                if lang != "sh":
                    fail("%s:%d: a ```%s block in section '%s': only ```sh blocks can be run"
                         % (path, n, lang, section))
                fence = n
                cur = None
            continue
        if line.startswith("```"):
            fence = None
            continue
        if line.strip() == "":
            cur = None
            continue
        if cur is None:
            cur = (n, [])
            out.append(cur)
        cur[1].append(line)
    if fence is not None:
        fail("%s:%d: the ```sh block is not closed" % (path, fence))
    if not found:
        fail("%s: no section '## %s'" % (path, section))
    if not out:
        fail("%s: section '%s' has no ```sh block" % (path, section))
    return out


def main():
    if len(sys.argv) != 4:
        fail("usage: readme_snippets.py README.md SECTION OUTDIR")
    path, section, outdir = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    for i, (_, body) in enumerate(snippets(path, section), 1):
        with open(os.path.join(outdir, "%d.sh" % i), "w", encoding="utf-8") as f:
            f.write("\n".join(body) + "\n")
        print("%d\t%s" % (i, body[0]))


if __name__ == "__main__":
    main()
