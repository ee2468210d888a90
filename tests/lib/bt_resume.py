#!/usr/bin/python3
"""Read a libtorrent resume file (as hp-fetch and hp-seed save them) and
print what it says is verified, as one JSON line:

  bt_resume.py FILE
  {"pieces": N, "have": K, "piece_length": L, "first_have": I or null,
   "last_have": J or null, "have_bytes": B}

"have" counts the pieces the file lists as passed their hash check (the
ones a resumed download keeps); first_have is the lowest such index,
last_have the highest;
have_bytes the bytes of files in them (BEP 47 pad files left out, as
libtorrent's total_wanted_done counts them). Exit 1
when the file does not read as resume data (it may be mid-replacement: the
tests poll it)."""
import json
import sys

import libtorrent as lt


def main():
    try:
        with open(sys.argv[1], "rb") as f:
            buf = f.read()
        p = lt.read_resume_data(buf)
    except Exception as e:  # noqa: BLE001 - any failure means "not yet"
        print("bt_resume: %s" % e, file=sys.stderr)
        return 1
    have = [i for i, x in enumerate(p.have_pieces) if x]
    plen = p.ti.piece_length() if p.ti is not None else 0
    nbytes = 0
    if p.ti is not None:
        fs = p.ti.files()
        for i in have:
            for sl in p.ti.map_block(i, 0, p.ti.piece_size(i)):
                if not fs.file_flags(sl.file_index) & lt.file_storage.flag_pad_file:
                    nbytes += sl.size
    print(json.dumps({
        "pieces": p.ti.num_pieces() if p.ti is not None else len(p.have_pieces),
        "have": len(have),
        "piece_length": plen,
        "first_have": have[0] if have else None,
        "last_have": have[-1] if have else None,
        "have_bytes": nbytes,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
