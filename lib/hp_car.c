/* hp_car: CARv1 writer and streaming, verifying reader. See hp_car.h and
 * docs/car.md. */
#include "hp_car.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_io.h"
#include "hp_tmp.h"

#include "banned.h"

/* ==== DAG-CBOR, the subset a CAR header needs ==== */

enum {
	CBOR_UINT = 0,
	CBOR_BYTES = 2,
	CBOR_TEXT = 3,
	CBOR_ARRAY = 4,
	CBOR_MAP = 5,
	CBOR_TAG = 6,
};

#define CBOR_TAG_CID 42

/* The head of a data item: major type in the top 3 bits, then the argument
 * in the shortest form. */
static hp_code cbor_put_head(hp_buf *b, unsigned major, uint64_t arg, hp_err *e)
{
	uint8_t h[9];
	size_t n;
	if (arg < 24) {
		h[0] = (uint8_t)(major << 5 | arg);
		n = 1;
	} else {
		unsigned ai, bytes;
		if (arg <= 0xff) {
			ai = 24;
			bytes = 1;
		} else if (arg <= 0xffff) {
			ai = 25;
			bytes = 2;
		} else if (arg <= 0xffffffff) {
			ai = 26;
			bytes = 4;
		} else {
			ai = 27;
			bytes = 8;
		}
		h[0] = (uint8_t)(major << 5 | ai);
		for (unsigned i = 0; i < bytes; i++)
			h[1 + i] = (uint8_t)(arg >> (8 * (bytes - 1 - i)));
		n = 1 + bytes;
	}
	return hp_buf_add(b, h, n, e);
}

static hp_code cbor_put_text(hp_buf *b, const char *s, hp_err *e)
{
	size_t n = strlen(s);
	hp_code rc = cbor_put_head(b, CBOR_TEXT, n, e);
	return rc ? rc : hp_buf_add(b, s, n, e);
}

hp_code hp_car_header_encode(const hp_cid *roots, size_t n, hp_buf *out, hp_err *e)
{
	hp_buf h = HP_BUF_INIT;
	hp_code rc = cbor_put_head(&h, CBOR_MAP, 2, e);
	/* canonical DAG-CBOR key order: shorter first, so "roots" (5) then "version" (7) */
	if (!rc)
		rc = cbor_put_text(&h, "roots", e);
	if (!rc)
		rc = cbor_put_head(&h, CBOR_ARRAY, n, e);
	for (size_t i = 0; !rc && i < n; i++) {
		uint8_t cid[1 + HP_CID_MAX_BYTES];
		cid[0] = 0x00;  /* the identity multibase prefix DAG-CBOR puts before a CID */
		size_t len = 1 + hp_cid_bytes(&roots[i], cid + 1);
		rc = cbor_put_head(&h, CBOR_TAG, CBOR_TAG_CID, e);
		if (!rc)
			rc = cbor_put_head(&h, CBOR_BYTES, len, e);
		if (!rc)
			rc = hp_buf_add(&h, cid, len, e);
	}
	if (!rc)
		rc = cbor_put_text(&h, "version", e);
	if (!rc)
		rc = cbor_put_head(&h, CBOR_UINT, 1, e);
	if (!rc) {
		uint8_t v[HP_VARINT_MAX];
		size_t vn = hp_varint_put(h.len, v);
		rc = hp_buf_add(out, v, vn, e);
		if (!rc)
			rc = hp_buf_add(out, h.data, h.len, e);
	}
	hp_buf_release(&h);
	return rc;
}

typedef struct cbor_in {
	const uint8_t *p;
	size_t n, off;
	uint64_t base;  /* offset of p[0] in the CAR, for messages */
} cbor_in;

/* Read one head. Refuses indefinite lengths, reserved values, non-minimal
 * arguments, negative integers, floats and simple values. */
static hp_code cbor_head(cbor_in *c, unsigned *major, uint64_t *arg, hp_err *e)
{
	uint64_t at = c->base + c->off;
	*major = 0;
	*arg = 0;
	if (c->off >= c->n)
		return hp_fail(e, HP_E_DATA, "header truncated at offset %" PRIu64, at);
	uint8_t b = c->p[c->off];
	unsigned ai = b & 31;
	*major = b >> 5;
	if (*major == 1)
		return hp_fail(e, HP_E_DATA, "negative integer at offset %" PRIu64 " of the header", at);
	if (*major == 7)
		return hp_fail(e, HP_E_DATA, "float or simple value at offset %" PRIu64 " of the header", at);
	if (ai < 24) {
		*arg = ai;
		c->off++;
		return HP_OK;
	}
	if (ai == 31)
		return hp_fail(e, HP_E_DATA, "indefinite length at offset %" PRIu64 " of the header", at);
	if (ai > 27)
		return hp_fail(e, HP_E_DATA, "reserved CBOR value 0x%02x at offset %" PRIu64 " of the header", b, at);
	size_t bytes = (size_t)1 << (ai - 24);
	if (c->n - c->off - 1 < bytes)
		return hp_fail(e, HP_E_DATA, "header truncated at offset %" PRIu64, at);
	uint64_t v = 0;
	for (size_t i = 0; i < bytes; i++)
		v = v << 8 | c->p[c->off + 1 + i];
	static const uint64_t min[4] = { 24, 0x100, 0x10000, 0x100000000 };
	if (v < min[ai - 24])
		return hp_fail(e, HP_E_DATA, "integer or length at offset %" PRIu64 " of the header is not in its shortest form", at);
	*arg = v;
	c->off += 1 + bytes;
	return HP_OK;
}

/* A head of the given major type whose argument is a length of bytes that
 * must follow in the input. */
static hp_code cbor_string(cbor_in *c, unsigned want, const char *what, const uint8_t **s, size_t *len, hp_err *e)
{
	uint64_t at = c->base + c->off;
	unsigned major;
	uint64_t n;
	hp_code rc = cbor_head(c, &major, &n, e);
	if (rc)
		return rc;
	if (major != want)
		return hp_fail(e, HP_E_DATA, "%s at offset %" PRIu64 " of the header is not a %s", what, at,
			       want == CBOR_TEXT ? "text string" : "byte string");
	if (n > c->n - c->off)
		return hp_fail(e, HP_E_DATA, "header truncated at offset %" PRIu64, c->base + c->n);
	*s = c->p + c->off;
	*len = (size_t)n;
	c->off += (size_t)n;
	return HP_OK;
}

static hp_code decode_roots(cbor_in *c, size_t max_roots, hp_cid **roots, size_t *nroots, hp_err *e)
{
	uint64_t at = c->base + c->off;
	unsigned major;
	uint64_t n;
	hp_code rc = cbor_head(c, &major, &n, e);
	if (rc)
		return rc;
	if (major != CBOR_ARRAY)
		return hp_fail(e, HP_E_DATA, "header roots at offset %" PRIu64 " are not an array", at);
	if (n > max_roots)
		return hp_fail(e, HP_E_DATA, "header has %" PRIu64 " roots, more than the limit of %zu", n, max_roots);
	if (n > (c->n - c->off) / 4)  /* each root takes at least 4 bytes */
		return hp_fail(e, HP_E_DATA, "header truncated: %" PRIu64 " roots cannot fit in %zu bytes", n, c->n - c->off);
	hp_cid *r = NULL;
	if (n) {
		r = calloc((size_t)n, sizeof *r);
		if (!r)
			return hp_fail_nomem(e);
	}
	for (size_t i = 0; i < n; i++) {
		at = c->base + c->off;
		uint64_t tag;
		if ((rc = cbor_head(c, &major, &tag, e)))
			goto fail;
		if (major != CBOR_TAG || tag != CBOR_TAG_CID) {
			rc = hp_fail(e, HP_E_DATA, "header root %zu at offset %" PRIu64 " is not a CID (tag 42)", i, at);
			goto fail;
		}
		const uint8_t *s;
		size_t len;
		at = c->base + c->off;
		if ((rc = cbor_string(c, CBOR_BYTES, "CID", &s, &len, e)))
			goto fail;
		if (len < 1 || s[0] != 0x00) {
			rc = hp_fail(e, HP_E_DATA, "header root %zu at offset %" PRIu64 " lacks the 0x00 prefix of a DAG-CBOR CID", i, at);
			goto fail;
		}
		size_t used = 0;
		hp_err sub = HP_ERR_INIT;
		if (hp_cid_parse_bytes(s + 1, len - 1, &r[i], &used, &sub) != HP_OK) {
			rc = hp_fail(e, HP_E_DATA, "header root %zu at offset %" PRIu64 ": %s", i, at, sub.msg);
			goto fail;
		}
		if (used != len - 1) {
			rc = hp_fail(e, HP_E_DATA, "header root %zu at offset %" PRIu64 " has %zu bytes after its CID", i, at, len - 1 - used);
			goto fail;
		}
	}
	*roots = r;
	*nroots = (size_t)n;
	return HP_OK;
fail:
	free(r);
	return rc;
}

static hp_code header_decode(const uint8_t *p, size_t n, uint64_t base, size_t max_roots,
			     hp_cid **roots, size_t *nroots, hp_err *e)
{
	cbor_in c = { p, n, 0, base };
	unsigned major;
	uint64_t count;
	hp_cid *r = NULL;
	size_t nr = 0;
	bool have_roots = false, have_version = false;
	uint64_t version = 0;
	*roots = NULL;
	*nroots = 0;
	hp_code rc = cbor_head(&c, &major, &count, e);
	if (rc)
		return rc;
	if (major != CBOR_MAP)
		return hp_fail(e, HP_E_DATA, "header at offset %" PRIu64 " is not a map", base);
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t at = base + c.off;
		const uint8_t *key;
		size_t klen;
		if ((rc = cbor_string(&c, CBOR_TEXT, "map key", &key, &klen, e)))
			goto fail;
		if (!hp_utf8_valid((const char *)key, klen)) {
			rc = hp_fail(e, HP_E_DATA, "map key at offset %" PRIu64 " of the header is not UTF-8", at);
			goto fail;
		}
		if (prev) {
			int cmp = klen != prev_len ? (klen < prev_len ? -1 : 1) : memcmp(key, prev, klen);
			if (cmp <= 0) {
				rc = hp_fail(e, HP_E_DATA, "header map key at offset %" PRIu64 " is %s", at,
					     cmp == 0 ? "repeated" : "out of canonical order");
				goto fail;
			}
		}
		prev = key;
		prev_len = klen;
		if (klen == 5 && memcmp(key, "roots", 5) == 0) {
			if ((rc = decode_roots(&c, max_roots, &r, &nr, e)))
				goto fail;
			have_roots = true;
		} else if (klen == 7 && memcmp(key, "version", 7) == 0) {
			at = base + c.off;
			if ((rc = cbor_head(&c, &major, &version, e)))
				goto fail;
			if (major != CBOR_UINT) {
				rc = hp_fail(e, HP_E_DATA, "header version at offset %" PRIu64 " is not an unsigned integer", at);
				goto fail;
			}
			have_version = true;
		} else {
			char q[64];
			hp_quote((const char *)key, klen, q, sizeof q);
			rc = hp_fail(e, HP_E_DATA, "header has an unexpected key '%s' at offset %" PRIu64, q, at);
			goto fail;
		}
	}
	if (c.off != n) {
		rc = hp_fail(e, HP_E_DATA, "header has %zu bytes after its map at offset %" PRIu64, n - c.off, base + c.off);
		goto fail;
	}
	if (!have_version) {
		rc = hp_fail(e, HP_E_DATA, "header has no version");
		goto fail;
	}
	if (version != 1) {
		if (version == 2)
			rc = hp_fail(e, HP_E_DATA, "CARv2 is not supported, only CARv1");
		else
			rc = hp_fail(e, HP_E_DATA, "header version %" PRIu64 " is not supported, only 1", version);
		goto fail;
	}
	if (!have_roots) {
		rc = hp_fail(e, HP_E_DATA, "header has no roots");
		goto fail;
	}
	*roots = r;
	*nroots = nr;
	return HP_OK;
fail:
	free(r);
	return rc;
}

hp_code hp_car_header_decode(const uint8_t *p, size_t n, size_t max_roots,
			     hp_cid **roots, size_t *nroots, hp_err *e)
{
	return header_decode(p, n, 0, max_roots, roots, nroots, e);
}

/* ==== writer ==== */

#define OBUF_SIZE ((size_t)256 << 10)
#define SEEN_KEY_MAX 47

/* One remembered CID (binary form); len 0 marks an empty slot. */
typedef struct seen_entry {
	uint8_t len;
	uint8_t b[SEEN_KEY_MAX];
} seen_entry;

struct hp_car_writer {
	hp_car_writer_opts o;
	hp_atomic_file af;
	bool path_mode;         /* af is ours; commit renames it into place */
	int out;                /* the CAR's descriptor */
	char *what;
	hp_buf header;          /* the header at the start of out (a placeholder with roots_later) */
	hp_buf final;           /* roots_later: the header from hp_car_set_roots */
	bool roots_set;
	bool in_place;          /* roots_later, and the placeholder sits at offset 0 of a regular temporary file */
	int spill;              /* roots_later otherwise: the sections wait here until commit */
	int sink;               /* where sections go: out or spill */
	uint8_t *obuf;
	size_t olen;
	uint64_t section_bytes;
	hp_car_stats st;
	seen_entry *seen;
	size_t seen_cap, seen_len;
	unsigned char key[crypto_shorthash_KEYBYTES];
	bool failed;            /* an output error: only abort remains */
};

static hp_code wflush(hp_car_writer *w, hp_err *e)
{
	if (!w->olen)
		return HP_OK;
	hp_code rc = hp_write_all(w->sink, w->obuf, w->olen, w->what, e);
	w->olen = 0;
	if (rc)
		w->failed = true;
	return rc;
}

static hp_code wput(hp_car_writer *w, const void *p, size_t n, hp_err *e)
{
	if (n <= OBUF_SIZE - w->olen) {
		if (n)
			memcpy(w->obuf + w->olen, p, n);
		w->olen += n;
		return HP_OK;
	}
	hp_code rc = wflush(w, e);
	if (rc)
		return rc;
	if (n >= OBUF_SIZE) {
		rc = hp_write_all(w->sink, p, n, w->what, e);
		if (rc)
			w->failed = true;
		return rc;
	}
	memcpy(w->obuf, p, n);
	w->olen = n;
	return HP_OK;
}

/* An unnamed temporary file in $TMPDIR (or /tmp). */
static hp_code make_spill(hp_car_writer *w, hp_err *e)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[4096];
		int n = snprintf(path, sizeof path, "%s/hp-car-XXXXXX", dir);
		if (n < 0 || (size_t)n >= sizeof path)
			return hp_fail(e, HP_E_CANTCREAT, "cannot create a temporary file for '%s': TMPDIR is too long", w->what);
		int id;
		fd = hp_tmp_open(AT_FDCWD, path, 0, 0600, &id);
		if (fd < 0)
			return hp_fail_errno(e, HP_E_CANTCREAT, errno, "cannot create a temporary file in '%s'", dir);
		hp_tmp_remove(id);  /* unnamed from now on; registered until here */
	}
	w->spill = fd;
	return HP_OK;
}

static void writer_free(hp_car_writer *w)
{
	if (!w)
		return;
	hp_atomic_abort(&w->af);
	if (w->spill >= 0)
		close(w->spill);
	hp_buf_release(&w->header);
	hp_buf_release(&w->final);
	free(w->obuf);
	free(w->seen);
	free(w->what);
	free(w);
}

static hp_code writer_new(hp_car_writer **wp, const char *what, const hp_cid *roots, size_t nroots,
			  const hp_car_writer_opts *o, hp_err *e)
{
	static const hp_car_writer_opts defaults = HP_CAR_WRITER_OPTS_INIT;
	*wp = NULL;
	if (!o)
		o = &defaults;
	if (nroots < 1 || nroots > HP_CAR_MAX_ROOTS)
		return hp_fail(e, HP_E_USAGE, "CAR '%s': %zu roots, not 1 to %u", what, nroots, HP_CAR_MAX_ROOTS);
	if (!roots && !o->roots_later)
		return hp_fail(e, HP_E_USAGE, "CAR '%s': no roots given", what);
	hp_car_writer *w = calloc(1, sizeof *w);
	if (!w)
		return hp_fail_nomem(e);
	w->o = *o;
	w->af = (hp_atomic_file)HP_ATOMIC_INIT;
	w->out = w->spill = w->sink = -1;
	w->header = (hp_buf)HP_BUF_INIT;
	w->final = (hp_buf)HP_BUF_INIT;
	w->what = strdup(what);
	w->obuf = malloc(OBUF_SIZE);
	if (!w->what || !w->obuf) {
		writer_free(w);
		return hp_fail_nomem(e);
	}
	hp_code rc;
	if (roots) {
		rc = hp_car_header_encode(roots, nroots, &w->header, e);
	} else {
		/* placeholders of the most common shape: CIDv1 dag-pb sha2-256 */
		hp_cid *ph = calloc(nroots, sizeof *ph);
		if (!ph) {
			writer_free(w);
			return hp_fail_nomem(e);
		}
		static const uint8_t zero[32];
		for (size_t i = 0; i < nroots; i++)
			hp_cid_sha256(&ph[i], 1, HP_MC_DAG_PB, zero);
		rc = hp_car_header_encode(ph, nroots, &w->header, e);
		free(ph);
	}
	if (rc) {
		writer_free(w);
		return rc;
	}
	if (o->dedup) {
		if (sodium_init() < 0) {
			writer_free(w);
			return hp_fail(e, HP_E_INTERNAL, "cannot initialise libsodium");
		}
		crypto_shorthash_keygen(w->key);
	}
	*wp = w;
	return HP_OK;
}

/* Start the output: the header now, or room for it later. */
static hp_code writer_start(hp_car_writer *w, bool can_patch, hp_err *e)
{
	w->sink = w->out;
	if (w->o.roots_later && !can_patch) {
		hp_code rc = make_spill(w, e);
		if (rc)
			return rc;
		w->sink = w->spill;
		return HP_OK;
	}
	w->in_place = w->o.roots_later;
	return wput(w, w->header.data, w->header.len, e);
}

hp_code hp_car_writer_open_fd(hp_car_writer **wp, int fd, const char *what, const hp_cid *roots,
			      size_t nroots, const hp_car_writer_opts *o, hp_err *e)
{
	hp_code rc = writer_new(wp, what ? what : "<fd>", roots, nroots, o, e);
	if (rc)
		return rc;
	(*wp)->out = fd;
	if ((rc = writer_start(*wp, false, e))) {
		writer_free(*wp);
		*wp = NULL;
	}
	return rc;
}

hp_code hp_car_writer_open(hp_car_writer **wp, const char *path, const hp_cid *roots,
			   size_t nroots, const hp_car_writer_opts *o, hp_err *e)
{
	if (strcmp(path, "-") == 0)
		return hp_car_writer_open_fd(wp, STDOUT_FILENO, "<stdout>", roots, nroots, o, e);
	hp_code rc = writer_new(wp, path, roots, nroots, o, e);
	if (rc)
		return rc;
	hp_car_writer *w = *wp;
	rc = hp_atomic_open(&w->af, path, w->o.mode, w->o.atomic_flags, e);
	if (!rc) {
		w->path_mode = true;
		w->out = w->af.fd;
		/* a temporary regular file can be patched; a device or FIFO cannot */
		rc = writer_start(w, w->af.tmp != NULL, e);
	}
	if (rc) {
		writer_free(w);
		*wp = NULL;
	}
	return rc;
}

static uint64_t seen_hash(const hp_car_writer *w, const uint8_t *b, size_t n)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, b, n, w->key);
	uint64_t v;
	memcpy(&v, h, sizeof v);
	return v;
}

static seen_entry *seen_slot(seen_entry *tab, size_t cap, uint64_t h, const uint8_t *b, size_t n)
{
	for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		seen_entry *s = &tab[i];
		if (!s->len || (s->len == n && memcmp(s->b, b, n) == 0))
			return s;
	}
}

static bool seen_has(const hp_car_writer *w, const uint8_t *b, size_t n)
{
	if (!w->seen_len)
		return false;
	return seen_slot(w->seen, w->seen_cap, seen_hash(w, b, n), b, n)->len != 0;
}

/* Remember a CID (not yet in the set). Past dedup_max, forget nothing but
 * remember nothing new. */
static hp_code seen_add(hp_car_writer *w, const uint8_t *b, size_t n, hp_err *e)
{
	if (w->seen_len >= w->o.dedup_max)
		return HP_OK;
	if ((w->seen_len + 1) * 4 > w->seen_cap * 3) {  /* load at most 3/4 */
		size_t cap = w->seen_cap ? w->seen_cap * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(seen_entry))
			return hp_fail_nomem(e);
		seen_entry *tab = calloc(cap, sizeof *tab);
		if (!tab)
			return hp_fail_nomem(e);
		for (size_t i = 0; i < w->seen_cap; i++) {
			seen_entry *s = &w->seen[i];
			if (s->len)
				*seen_slot(tab, cap, seen_hash(w, s->b, s->len), s->b, s->len) = *s;
		}
		free(w->seen);
		w->seen = tab;
		w->seen_cap = cap;
	}
	seen_entry *s = seen_slot(w->seen, w->seen_cap, seen_hash(w, b, n), b, n);
	s->len = (uint8_t)n;
	memcpy(s->b, b, n);
	w->seen_len++;
	return HP_OK;
}

hp_code hp_car_put(hp_car_writer *w, const hp_cid *cid, const uint8_t *data, size_t n, hp_err *e)
{
	if (w->failed)
		return hp_fail(e, HP_E_USAGE, "CAR '%s': cannot add a block after a failed write", w->what);
	char text[HP_CID_MAX_TEXT];
	if (cid->hash == HP_MC_IDENTITY) {
		hp_cid_text(cid, text);
		return hp_fail(e, HP_E_USAGE, "CAR '%s': identity CID %s is never written as a block", w->what, text);
	}
	if (cid->hash != HP_MC_SHA2_256 || cid->digest_len != 32) {
		hp_cid_text(cid, text);
		return hp_fail(e, HP_E_USAGE, "CAR '%s': CID %s does not use a 32-byte sha2-256 digest", w->what, text);
	}
	if (w->o.max_block && n > w->o.max_block) {
		hp_cid_text(cid, text);
		return hp_fail(e, HP_E_USAGE, "CAR '%s': block %s of %zu bytes is over the limit of %zu",
			       w->what, text, n, w->o.max_block);
	}
	uint8_t cb[HP_CID_MAX_BYTES];
	size_t cl = hp_cid_bytes(cid, cb);
	bool dedup = w->o.dedup && cl <= SEEN_KEY_MAX;
	if (dedup && seen_has(w, cb, cl)) {
		w->st.duplicates++;
		return HP_OK;
	}
	if (w->o.verify && !hp_cid_matches(cid, data, n)) {
		hp_cid_text(cid, text);
		return hp_fail(e, HP_E_INVALID, "CAR '%s': block bytes do not match CID %s", w->what, text);
	}
	hp_code rc;
	if (dedup && (rc = seen_add(w, cb, cl, e)))
		return rc;
	uint8_t v[HP_VARINT_MAX];
	size_t vn = hp_varint_put((uint64_t)cl + n, v);
	if ((rc = wput(w, v, vn, e)) || (rc = wput(w, cb, cl, e)) || (rc = wput(w, data, n, e)))
		return rc;
	w->st.blocks++;
	w->section_bytes += vn + cl + n;
	return HP_OK;
}

hp_code hp_car_set_roots(hp_car_writer *w, const hp_cid *roots, size_t nroots, hp_err *e)
{
	if (!w->o.roots_later)
		return hp_fail(e, HP_E_USAGE, "CAR '%s': the roots were given at open", w->what);
	if (nroots < 1 || nroots > HP_CAR_MAX_ROOTS)
		return hp_fail(e, HP_E_USAGE, "CAR '%s': %zu roots, not 1 to %u", w->what, nroots, HP_CAR_MAX_ROOTS);
	hp_buf_reset(&w->final);
	hp_code rc = hp_car_header_encode(roots, nroots, &w->final, e);
	w->roots_set = rc == HP_OK;
	return rc;
}

void hp_car_writer_stats(const hp_car_writer *w, hp_car_stats *s)
{
	*s = w->st;
	s->bytes = (w->roots_set ? w->final.len : w->header.len) + w->section_bytes;
}

static hp_code pwrite_all(int fd, const void *p, size_t n, off_t off, const char *what, hp_err *e)
{
	const uint8_t *c = p;
	while (n) {
		ssize_t k = pwrite(fd, c, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return hp_fail_errno(e, HP_E_IO, errno, "cannot write '%s'", what);
		c += k;
		n -= (size_t)k;
		off += k;
	}
	return HP_OK;
}

/* Copy in[from..end) to the end of out through the output buffer. */
static hp_code copy_rest(hp_car_writer *w, int in, off_t from, int out, hp_err *e)
{
	for (;;) {
		ssize_t k = pread(in, w->obuf, OBUF_SIZE, from);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return hp_fail_errno(e, HP_E_IO, errno, "cannot read back the blocks of '%s'", w->what);
		if (k == 0)
			return HP_OK;
		hp_code rc = hp_write_all(out, w->obuf, (size_t)k, w->what, e);
		if (rc)
			return rc;
		from += k;
	}
}

/* roots_later: put the final header in front of the sections. */
static hp_code place_header(hp_car_writer *w, hp_err *e)
{
	const hp_buf *h = &w->final;
	if (!w->in_place) {
		/* the sections wait in the spill file */
		hp_code rc = hp_write_all(w->out, h->data, h->len, w->what, e);
		return rc ? rc : copy_rest(w, w->spill, 0, w->out, e);
	}
	if (h->len == w->header.len)
		return pwrite_all(w->out, h->data, h->len, 0, w->what, e);
	/* a root of another length: a second temporary file, the new header,
	 * then the sections copied from the first */
	hp_atomic_file f2 = HP_ATOMIC_INIT;
	hp_code rc = hp_atomic_open(&f2, w->af.dst, w->o.mode, w->o.atomic_flags, e);
	if (rc)
		return rc;
	rc = hp_write_all(f2.fd, h->data, h->len, w->what, e);
	if (!rc)
		rc = copy_rest(w, w->out, (off_t)w->header.len, f2.fd, e);
	if (rc) {
		hp_atomic_abort(&f2);
		return rc;
	}
	hp_atomic_abort(&w->af);
	w->af = f2;
	w->out = w->sink = f2.fd;
	return HP_OK;
}

hp_code hp_car_commit(hp_car_writer *w, hp_err *e)
{
	hp_code rc = HP_OK;
	if (w->failed)
		rc = hp_fail(e, HP_E_USAGE, "CAR '%s': cannot commit after a failed write", w->what);
	else if (w->o.roots_later && !w->roots_set)
		rc = hp_fail(e, HP_E_USAGE, "CAR '%s': the roots were never set", w->what);
	if (!rc)
		rc = wflush(w, e);
	if (!rc && w->o.roots_later)
		rc = place_header(w, e);
	if (!rc && w->path_mode)
		rc = hp_atomic_commit(&w->af, e);
	writer_free(w);
	return rc;
}

void hp_car_abort(hp_car_writer *w)
{
	writer_free(w);
}

/* ==== reader ==== */

enum rstate { R_LEN, R_BODY, R_DONE, R_FAILED };

struct hp_car_reader {
	hp_car_reader_opts o;
	char *name;
	enum rstate state;
	bool have_header;
	uint8_t vb[HP_VARINT_MAX];  /* the length varint read so far */
	size_t vlen;
	uint64_t off;               /* bytes consumed */
	uint64_t sec_off;           /* where the current section starts */
	uint64_t sec_len;           /* its length after the varint */
	size_t sec_vlen;            /* bytes of that varint */
	uint64_t blocks;
	hp_buf body;                /* a section that arrived in pieces */
	hp_err err;                 /* the failure, repeated by every later call */
};

/* "CAR 'name': " or "CAR: " in front of a message. */
static hp_code rfail(hp_car_reader *r, hp_code code, hp_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static hp_code rfail(hp_car_reader *r, hp_code code, hp_err *e, const char *fmt, ...)
{
	char msg[HP_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->name)
		return hp_fail(e, code, "CAR '%s': %s", r->name, msg);
	return hp_fail(e, code, "CAR: %s", msg);
}

hp_code hp_car_reader_new(hp_car_reader **rp, const hp_car_reader_opts *o, hp_err *e)
{
	static const hp_car_reader_opts defaults = HP_CAR_READER_OPTS_INIT;
	*rp = NULL;
	hp_car_reader *r = calloc(1, sizeof *r);
	if (!r)
		return hp_fail_nomem(e);
	r->o = o ? *o : defaults;
	if (r->o.name) {
		r->name = strdup(r->o.name);
		if (!r->name) {
			free(r);
			return hp_fail_nomem(e);
		}
	}
	r->o.name = r->name;
	/* a zero-initialised struct gets the defaults, not limits of 0 */
	if (!r->o.max_block)
		r->o.max_block = HP_CAR_MAX_BLOCK;
	if (!r->o.max_header)
		r->o.max_header = HP_CAR_MAX_HEADER;
	if (!r->o.max_roots)
		r->o.max_roots = HP_CAR_MAX_ROOTS;
	if (r->o.max_block > SIZE_MAX - HP_CID_MAX_BYTES - 1)
		r->o.max_block = SIZE_MAX - HP_CID_MAX_BYTES - 1;
	size_t cap = r->o.max_block + HP_CID_MAX_BYTES;
	if (cap < r->o.max_header)
		cap = r->o.max_header;
	hp_buf_init(&r->body, cap);
	r->state = R_LEN;
	*rp = r;
	return HP_OK;
}

void hp_car_reader_free(hp_car_reader *r)
{
	if (!r)
		return;
	hp_buf_release(&r->body);
	free(r->name);
	free(r);
}

uint64_t hp_car_reader_offset(const hp_car_reader *r)
{
	return r->off;
}

uint64_t hp_car_reader_blocks(const hp_car_reader *r)
{
	return r->blocks;
}

static hp_code do_header(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e)
{
	hp_cid *roots;
	size_t nroots;
	hp_err sub = HP_ERR_INIT;
	hp_code rc = header_decode(p, n, r->sec_off + r->sec_vlen, r->o.max_roots, &roots, &nroots, &sub);
	if (rc)
		return rfail(r, rc, e, "%s", sub.msg);
	r->have_header = true;
	if (r->o.on_header)
		rc = r->o.on_header(r->o.ctx, roots, nroots, e);
	free(roots);
	return rc;
}

static hp_code do_block(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e)
{
	hp_cid cid;
	size_t used = 0;
	hp_err sub = HP_ERR_INIT;
	uint64_t idx = r->blocks, at = r->sec_off;
	if (hp_cid_parse_bytes(p, n, &cid, &used, &sub) != HP_OK)
		return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": %s", idx, at, sub.msg);
	char text[HP_CID_MAX_TEXT];
	hp_cid_text(&cid, text);
	if (cid.hash == HP_MC_IDENTITY)
		return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": identity CID %s is not allowed as a block",
			     idx, at, text);
	if (cid.hash != HP_MC_SHA2_256)
		return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": CID %s uses the unsupported hash function 0x%" PRIx64,
			     idx, at, text, cid.hash);
	if (cid.digest_len != 32)
		return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": CID %s has a sha2-256 digest of %u bytes, not 32",
			     idx, at, text, cid.digest_len);
	size_t len = n - used;
	if (len > r->o.max_block)
		return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": %zu bytes, over the limit of %zu",
			     idx, at, len, r->o.max_block);
	if (!hp_cid_matches(&cid, p + used, len))
		return rfail(r, HP_E_INVALID, e, "block %" PRIu64 " at offset %" PRIu64 ": bytes do not match CID %s",
			     idx, at, text);
	r->blocks++;
	if (!r->o.on_block)
		return HP_OK;
	hp_car_block b = { &cid, p + used, len, idx, at };
	return r->o.on_block(r->o.ctx, &b, e);
}

/* The length varint of a section is complete: check it against every limit
 * before any byte of the section is kept. */
static hp_code section_start(hp_car_reader *r, hp_err *e)
{
	uint64_t v;
	size_t used = hp_varint_get(r->vb, r->vlen, &v);
	if (used != r->vlen)
		return rfail(r, HP_E_DATA, e, "%s at offset %" PRIu64 ": the length is not a valid varint",
			     r->have_header ? "section" : "header", r->sec_off);
	r->sec_len = v;
	r->sec_vlen = used;
	if (!r->have_header) {
		if (v == 0)
			return rfail(r, HP_E_DATA, e, "the header is empty");
		if (v > r->o.max_header)
			return rfail(r, HP_E_DATA, e, "the header of %" PRIu64 " bytes is over the limit of %zu",
				     v, r->o.max_header);
	} else {
		uint64_t idx = r->blocks;
		if (v == 0)
			return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": a section of length 0",
				     idx, r->sec_off);
		if (v > (uint64_t)r->o.max_block + HP_CID_MAX_BYTES)
			return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": a section of %" PRIu64
				     " bytes, over the block limit of %zu", idx, r->sec_off, v, r->o.max_block);
		if (r->o.max_blocks && idx >= r->o.max_blocks)
			return rfail(r, HP_E_DATA, e, "block %" PRIu64 " at offset %" PRIu64 ": more than the limit of %" PRIu64 " blocks",
				     idx, r->sec_off, r->o.max_blocks);
	}
	if (r->o.max_total && v > r->o.max_total - r->off)
		return rfail(r, HP_E_DATA, e, "%s at offset %" PRIu64 " would end past the limit of %" PRIu64 " bytes",
			     r->have_header ? "section" : "header", r->sec_off, r->o.max_total);
	return HP_OK;
}

static hp_code do_section(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e)
{
	return r->have_header ? do_block(r, p, n, e) : do_header(r, p, n, e);
}

static hp_code feed(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e)
{
	size_t i = 0;
	hp_code rc;
	while (i < n) {
		if (r->state == R_LEN) {
			if (r->vlen == 0)
				r->sec_off = r->off;
			uint8_t b = p[i++];
			r->off++;
			r->vb[r->vlen++] = b;
			if ((b & 0x80) && r->vlen < HP_VARINT_MAX)
				continue;
			if ((rc = section_start(r, e)))
				return rc;
			r->vlen = 0;
			r->state = R_BODY;
			hp_buf_reset(&r->body);
			continue;
		}
		/* R_BODY */
		size_t need = (size_t)(r->sec_len - r->body.len), avail = n - i;
		if (r->body.len == 0 && avail >= need) {
			/* the whole section is here: no copy */
			r->off += need;
			i += need;
			rc = do_section(r, p + i - need, need, e);
		} else {
			size_t take = avail < need ? avail : need;
			if ((rc = hp_buf_add(&r->body, p + i, take, e)))
				return rc;
			r->off += take;
			i += take;
			if (r->body.len < r->sec_len)
				return HP_OK;
			rc = do_section(r, (const uint8_t *)r->body.data, r->body.len, e);
			hp_buf_reset(&r->body);
		}
		if (rc)
			return rc;
		r->state = R_LEN;
	}
	return HP_OK;
}

static hp_code remember(hp_car_reader *r, hp_code rc, const hp_err *e)
{
	r->state = R_FAILED;
	r->err = *e;
	r->err.code = rc;
	return rc;
}

hp_code hp_car_feed(hp_car_reader *r, const uint8_t *p, size_t n, hp_err *e)
{
	hp_err local = HP_ERR_INIT;
	hp_err *ee = e ? e : &local;
	if (r->state == R_FAILED) {
		*ee = r->err;
		return r->err.code;
	}
	if (r->state == R_DONE)
		return hp_fail(e, HP_E_USAGE, "CAR: bytes fed after the end");
	if (!n)
		return HP_OK;
	size_t take = n;
	if (r->o.max_total && n > r->o.max_total - r->off)
		take = (size_t)(r->o.max_total - r->off);
	hp_code rc = feed(r, p, take, ee);
	if (!rc && take < n)
		rc = rfail(r, HP_E_DATA, ee, "more than the limit of %" PRIu64 " bytes", r->o.max_total);
	if (rc)
		return remember(r, rc, ee);
	return HP_OK;
}

hp_code hp_car_finish(hp_car_reader *r, hp_err *e)
{
	hp_err local = HP_ERR_INIT;
	hp_err *ee = e ? e : &local;
	if (r->state == R_FAILED) {
		*ee = r->err;
		return r->err.code;
	}
	if (r->state == R_DONE)
		return HP_OK;
	hp_code rc = HP_OK;
	if (r->off == 0)
		rc = rfail(r, HP_E_DATA, ee, "empty input");
	else if (!r->have_header)
		rc = rfail(r, HP_E_DATA, ee, "truncated in the header (%" PRIu64 " bytes)", r->off);
	else if (r->state == R_LEN && r->vlen)
		rc = rfail(r, HP_E_DATA, ee, "block %" PRIu64 " at offset %" PRIu64 ": truncated in its length",
			   r->blocks, r->sec_off);
	else if (r->state == R_BODY)
		rc = rfail(r, HP_E_DATA, ee, "block %" PRIu64 " at offset %" PRIu64 ": truncated after %zu of %" PRIu64 " bytes",
			   r->blocks, r->sec_off, r->body.len, r->sec_len);
	if (rc)
		return remember(r, rc, ee);
	r->state = R_DONE;
	return HP_OK;
}

hp_code hp_car_read_pull(hp_car_pull_fn pull, void *pull_ctx, const hp_car_reader_opts *o, hp_err *e)
{
	hp_car_reader *r;
	hp_code rc = hp_car_reader_new(&r, o, e);
	if (rc)
		return rc;
	enum { CHUNK = 256 << 10 };
	uint8_t *buf = malloc(CHUNK);
	if (!buf) {
		hp_car_reader_free(r);
		return hp_fail_nomem(e);
	}
	for (;;) {
		size_t got = 0;
		if ((rc = pull(pull_ctx, buf, CHUNK, &got, e)))
			break;
		if (got > CHUNK) {
			rc = hp_fail(e, HP_E_INTERNAL, "CAR: the source returned more bytes than asked for");
			break;
		}
		if (got == 0) {
			rc = hp_car_finish(r, e);
			break;
		}
		if ((rc = hp_car_feed(r, buf, got, e)))
			break;
	}
	free(buf);
	hp_car_reader_free(r);
	return rc;
}

hp_code hp_car_read_mem(const uint8_t *p, size_t n, const hp_car_reader_opts *o, hp_err *e)
{
	hp_car_reader *r;
	hp_code rc = hp_car_reader_new(&r, o, e);
	if (rc)
		return rc;
	rc = hp_car_feed(r, p, n, e);
	if (!rc)
		rc = hp_car_finish(r, e);
	hp_car_reader_free(r);
	return rc;
}

typedef struct fd_src {
	int fd;
	const char *what;
} fd_src;

static hp_code pull_fd(void *ctx, uint8_t *buf, size_t cap, size_t *got, hp_err *e)
{
	fd_src *s = ctx;
	for (;;) {
		ssize_t k = read(s->fd, buf, cap);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return hp_fail_errno(e, HP_E_IO, errno, "cannot read '%s'", s->what);
		*got = (size_t)k;
		return HP_OK;
	}
}

hp_code hp_car_read_fd(int fd, const hp_car_reader_opts *o, hp_err *e)
{
	fd_src s = { fd, o && o->name ? o->name : "<fd>" };
	return hp_car_read_pull(pull_fd, &s, o, e);
}

hp_code hp_car_read_file(const char *path, const hp_car_reader_opts *o, hp_err *e)
{
	static const hp_car_reader_opts defaults = HP_CAR_READER_OPTS_INIT;
	hp_car_reader_opts opts = o ? *o : defaults;
	if (!opts.name)
		opts.name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (strcmp(path, "-") == 0)
		return hp_car_read_fd(STDIN_FILENO, &opts, e);
	int fd;
	hp_code rc = hp_open_regular(path, false, &fd, NULL, e);
	if (rc)
		return rc;
	rc = hp_car_read_fd(fd, &opts, e);
	close(fd);
	return rc;
}
