/* hp_btwrite: the bytes of a .torrent, written directly from a
 * hp_torrent_spec, without libtorrent.
 *
 * The output is byte for byte what libtorrent 2.0.8's create_torrent
 * (generate() then bencode()) makes of the same spec: the same keys, the same
 * BEP 47 pad files (before each non-empty file that would start inside a
 * piece, in a hybrid's v1 part), the same v2 file tree and piece layers, the
 * same tracker tiers and url-list. tests/unit/test_btwrite.c compares the two
 * on many specs (hp_torrent_create_reference is libtorrent's).
 *
 * Why not libtorrent's: its create_torrent builds a tree of entry objects and
 * a file_storage for the whole torrent before writing a byte: for 100,000
 * small files that was about 1.4 s and 240 MiB, where this is a single
 * buffer of the torrent's own size (docs/benchmarks.md). */
#ifndef HP_BTWRITE_H
#define HP_BTWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_torrent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append the torrent of s (checked by the caller: hp_torrent_create's rules)
 * to out; *info_at and *info_len locate its info dictionary in out (what the
 * infohashes hash). HP_E_USAGE for a path listed twice or that is both a file
 * and a folder (a v2 file tree cannot hold them), HP_E_NOMEM. */
hp_code hp_btwrite(const hp_torrent_spec *s, hp_buf *out, size_t *info_at, size_t *info_len, hp_err *e);

/* The infohashes of the torrent of s (v1: SHA-1, v2: SHA-256 of its info
 * dictionary, both computed whatever the flavour), without the torrent in
 * memory: the bytes pass through a small buffer into the hashes. */
hp_code hp_btwrite_infohashes(const hp_torrent_spec *s, uint8_t v1[20], uint8_t v2[32], hp_err *e);

#ifdef __cplusplus
}
#endif

#endif
