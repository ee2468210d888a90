/* Fuzz the .torrent reader (hp_torrent_parse: strict bencode, raw checks of
 * names and sizes, then libtorrent's torrent_info).
 *
 * - a refusal is HP_E_DATA naming the input (or HP_E_NOMEM); libtorrent
 *   throwing (HP_E_INTERNAL) is a finding;
 * - an accepted torrent has files, data, paths that stay inside the torrent's
 *   folder, hashes that match its flavour and a magnet link. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "hp_torrent.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_torrent_info *ti = NULL;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_torrent_parse(data, size, "input", &ti, &e);
	if (rc) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (rc == HP_E_DATA && strncmp(e.msg, "input: ", 7) != 0)
			abort();
		if (ti)
			abort();
		return 0;
	}
	if (!ti || ti->nfiles == 0 || ti->total_size == 0 || !ti->name || !*ti->name || strchr(ti->name, '/'))
		abort();
	if (ti->has_v1 != !!(ti->flavour & HP_TORRENT_V1) || ti->has_v2 != !!(ti->flavour & HP_TORRENT_V2))
		abort();
	if (strlen(ti->infohash_v1_hex) != (ti->has_v1 ? 40u : 0u) || strlen(ti->infohash_v2_hex) != (ti->has_v2 ? 64u : 0u))
		abort();
	if (!ti->magnet || strncmp(ti->magnet, "magnet:?xt=urn:bt", 17) != 0)
		abort();
	uint64_t total = 0;
	for (size_t i = 0; i < ti->nfiles; i++) {
		const char *p = ti->files[i].path;
		if (!p || (!ti->single_file && hp_relpath_check(p, strlen(p), &e) != HP_OK))
			abort();  /* nothing that leaves the folder gets through */
		total += ti->files[i].size;
	}
	if (total != ti->total_size || ti->piece_length == 0 || ti->num_pieces == 0)
		abort();
	hp_torrent_info_free(ti);
	return 0;
}
