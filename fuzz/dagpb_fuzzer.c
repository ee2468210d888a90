/* Fuzz the dag-pb and UnixFS Data decoders.
 *
 * - hp_dagpb_decode accepts only the canonical form, so whatever it accepts
 *   re-encodes (hp_dagpb_encode) to exactly the input bytes, and the
 *   computed length agrees;
 * - every link's Hash parsed as one CID that prints and parses back;
 * - the Data of an accepted node, and the raw input, go through
 *   hp_unixfs_data_decode; what it accepts re-encodes and decodes again to
 *   the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_dagpb.h"
#include "hp_unixfs.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_unixfs(const uint8_t *p, size_t n)
{
	hp_unixfs_data d, d2;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_unixfs_data_decode(p, n, &d, &e);
	if (rc != HP_OK) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (d.blocksizes)
			abort();  /* nothing left allocated on failure */
		return;
	}
	hp_buf b = HP_BUF_INIT;
	if (hp_unixfs_data_encode(&d, &b, &e) == HP_OK) {
		if (hp_unixfs_data_decode((const uint8_t *)b.data, b.len, &d2, &e) != HP_OK)
			abort();
		if (d2.type != d.type || d2.has_data != d.has_data || d2.data_len != d.data_len ||
		    (d.data_len && memcmp(d2.data, d.data, d.data_len) != 0) || d2.filesize != d.filesize ||
		    d2.nblocksizes != d.nblocksizes || d2.fanout != d.fanout || d2.hash_type != d.hash_type ||
		    d2.mode != d.mode || d2.mtime_seconds != d.mtime_seconds || d2.mtime_nanos != d.mtime_nanos ||
		    (d.nblocksizes && memcmp(d2.blocksizes, d.blocksizes, d.nblocksizes * sizeof *d.blocksizes) != 0))
			abort();
		hp_unixfs_data_free(&d2);
	}
	hp_buf_release(&b);
	hp_unixfs_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_pbnode n;
	hp_err e = HP_ERR_INIT;
	check_unixfs(data, size);
	hp_code rc = hp_dagpb_decode(data, size, &n, &e);
	if (rc != HP_OK) {
		if ((rc != HP_E_DATA && rc != HP_E_NOMEM) || n.links)
			abort();
		if (rc == HP_E_DATA && strncmp(e.msg, "dag-pb: ", 8) != 0)
			abort();
		return 0;
	}
	if (hp_dagpb_encoded_len(&n) != size)
		abort();
	hp_buf b = HP_BUF_INIT;
	if (hp_dagpb_encode(&n, &b, &e) == HP_OK && (b.len != size || (size && memcmp(b.data, data, size) != 0)))
		abort();  /* the canonical form: the same bytes back */
	hp_buf_release(&b);
	for (size_t i = 0; i < n.nlinks; i++) {
		char text[HP_CID_MAX_TEXT];
		hp_cid c;
		hp_cid_text(&n.links[i].cid, text);
		if (hp_cid_parse_text(text, &c, &e) != HP_OK || !hp_cid_equal(&c, &n.links[i].cid))
			abort();
	}
	if (n.has_data)
		check_unixfs(n.data, n.data_len);
	hp_pbnode_free(&n);
	return 0;
}
