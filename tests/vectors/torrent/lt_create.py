#!/usr/bin/python3
"""Make a .torrent with libtorrent's own creator (python3-libtorrent, Debian
12: 2.0.8), the reference hp-mktorrent's v2 and hybrid torrents must equal.

    lt_create.py [--v1|--v2|--hybrid] [--piece-size N] [-t URL]... [-w URL]...
                 [--private] [--comment C] [--creator C] PATH OUT

v2 and hybrid: lt.add_files(flags=no_attributes) lists the files and
create_torrent sorts them (libtorrent's canonical order, pad files after every
file). v1: libtorrent's v1_only keeps the order files are added in, and
add_files adds them in readdir order, so the files are added one by one in
bytewise order of their whole paths (mktorrent's order) instead. The creation
date is removed (the 2.0 binding has no set_creation_date), so the output is
reproducible. Trackers: one -t per tier, URLs of a tier comma-separated.
Run with Debian's /usr/bin/python3 (the module is not on other Pythons)."""
import argparse
import os
import sys

import libtorrent as lt


def sorted_files(root):
    """(relative path, size) of every file under root, bytewise by whole path."""
    out = []
    broot = os.fsencode(root)
    for d, dirs, files in os.walk(broot):
        for f in files:
            full = os.path.join(d, f)
            out.append((os.path.relpath(full, broot), os.path.getsize(full)))
    out.sort(key=lambda x: x[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--v1", dest="flavour", action="store_const", const="v1")
    g.add_argument("--v2", dest="flavour", action="store_const", const="v2")
    g.add_argument("--hybrid", dest="flavour", action="store_const", const="hybrid")
    ap.add_argument("--piece-size", type=int, default=0)
    ap.add_argument("-t", action="append", default=[])
    ap.add_argument("-w", action="append", default=[])
    ap.add_argument("--private", action="store_true")
    ap.add_argument("--comment")
    ap.add_argument("--creator")
    ap.add_argument("path")
    ap.add_argument("out")
    a = ap.parse_args()
    flavour = a.flavour or "hybrid"
    path = os.path.abspath(a.path)
    na = lt.create_torrent.no_attributes

    fs = lt.file_storage()
    if flavour == "v1":
        if os.path.isdir(path):
            name = os.path.basename(path)
            for rel, size in sorted_files(path):
                fs.add_file(os.path.join(name, os.fsdecode(rel)), size)
        else:
            fs.add_file(os.path.basename(path), os.path.getsize(path))
        flags = lt.create_torrent.v1_only
    else:
        lt.add_files(fs, path, flags=na)
        flags = lt.create_torrent.v2_only if flavour == "v2" else 0
    ct = lt.create_torrent(fs, a.piece_size, flags | na)
    for tier, urls in enumerate(a.t):
        for u in urls.split(","):
            ct.add_tracker(u, tier)
    for w in a.w:
        ct.add_url_seed(w)
    if a.private:
        ct.set_priv(True)
    if a.comment:
        ct.set_comment(a.comment)
    if a.creator:
        ct.set_creator(a.creator)
    lt.set_piece_hashes(ct, os.path.dirname(path))
    e = ct.generate()
    e.pop(b"creation date", None)
    with open(a.out, "wb") as f:
        f.write(lt.bencode(e))
    ti = lt.torrent_info(a.out)
    ih = ti.info_hashes()
    print(str(ih.v1) if ih.has_v1() else "-", str(ih.v2) if ih.has_v2() else "-")


if __name__ == "__main__":
    sys.exit(main())
