/* The walk of hp_ipfs_fetch.h: blocks in, verified files out through
 * hp_fetch's writers, with the bounded block store. No network here: the
 * source (hp_ipfs_fetch.c) feeds it, so do the unit test and the fuzzer. */
#include "hp_ipfs_fetch.h"
#include "hp_fetch_source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_buf.h"
#include "hp_car.h"
#include "hp_dagpb.h"
#include "hp_io.h"
#include "hp_tmp.h"
#include "hp_json.h"
#include "hp_unixfs.h"
#include "banned.h"

#define DEFAULT_MEMORY ((size_t)64 << 20)
#define MAX_BLOCK HP_CAR_MAX_BLOCK
#define KEY_MAX 40             /* binary CIDs stored: sha2-256, any usual codec */
#define MAX_FRAMES 2200        /* a 4096-byte path has at most 2048 folders, files a few levels */
#define MAX_FILE_DEPTH 64
#define REF_MIN 1024           /* file bytes in a block worth keeping as a reference */

/* ---- the block store ------------------------------------------------------------ */

enum { E_EMPTY = 0, E_MEM, E_SPILL, E_REF, E_DEAD };

typedef struct bentry {
	uint8_t key[KEY_MAX];
	uint8_t klen;
	uint8_t kind;
	bool used;
	uint32_t len;          /* the block's bytes */
	union {
		uint8_t *mem;
		uint64_t spill;
		struct {
			size_t file;
			uint64_t off;     /* of the file bytes in the file */
			uint32_t pre;     /* block bytes before them */
			uint32_t dlen;    /* file bytes in the block; the rest after them */
			uint8_t *presuf;  /* the bytes before and after */
		} ref;
	} u;
} bentry;

typedef struct store {
	bentry *v;
	size_t cap, count, max_count;
	size_t mem_used, mem_limit;
	int spill_fd;
	uint64_t spill_len;
	int pdirfd;
	const char *pdir_shown;  /* the folder as messages name it ("DIR/.hp-partial") */
	uint8_t key[crypto_shorthash_KEYBYTES];
} store;

static size_t slot_of(const store *s, const uint8_t *k, size_t kl)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, k, kl, s->key);
	uint64_t x;
	memcpy(&x, h, sizeof x);
	return (size_t)(x & (s->cap - 1));
}

static bentry *store_find(const store *s, const uint8_t *k, size_t kl)
{
	if (!s->cap)
		return NULL;
	for (size_t i = slot_of(s, k, kl);; i = (i + 1) & (s->cap - 1)) {
		bentry *b = &s->v[i];
		if (b->kind == E_EMPTY)
			return NULL;
		if (b->klen == kl && memcmp(b->key, k, kl) == 0)
			return b;
	}
}

static hp_code store_grow(store *s, hp_err *e)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	bentry *nv = calloc(ncap, sizeof *nv);
	if (!nv)
		return hp_fail_nomem(e);
	bentry *old = s->v;
	size_t ocap = s->cap;
	s->v = nv;
	s->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].kind == E_EMPTY)
			continue;
		size_t j = slot_of(s, old[i].key, old[i].klen);
		while (s->v[j].kind != E_EMPTY)
			j = (j + 1) & (s->cap - 1);
		s->v[j] = old[i];
	}
	free(old);
	return HP_OK;
}

/* A new entry for key (not present); NULL with e set when full. */
static bentry *store_add(store *s, const uint8_t *k, size_t kl, hp_err *e)
{
	if (s->count >= s->max_count) {
		hp_fail(e, HP_E_INVALID, "more than %zu distinct blocks in the response, more than the package can have",
			s->max_count);
		return NULL;
	}
	if ((s->count + 1) * 2 > s->cap && store_grow(s, e))
		return NULL;
	size_t j = slot_of(s, k, kl);
	while (s->v[j].kind != E_EMPTY)
		j = (j + 1) & (s->cap - 1);
	bentry *b = &s->v[j];
	memset(b, 0, sizeof *b);
	memcpy(b->key, k, kl);
	b->klen = (uint8_t)kl;
	b->kind = E_DEAD;
	s->count++;
	return b;
}

static hp_code spill_open(store *s, hp_err *e)
{
	if (s->spill_fd >= 0)
		return HP_OK;
	s->spill_fd = openat(s->pdirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->spill_fd < 0) {
		/* no O_TMPFILE here: a named file, removed at once */
		char name[64];
		static atomic_uint seq;
		int id;
		snprintf(name, sizeof name, "spill-%ld-%u-XXXXXX", (long)getpid(), atomic_fetch_add(&seq, 1));
		s->spill_fd = hp_tmp_open(s->pdirfd, name, 0, 0600, &id);
		if (s->spill_fd < 0)
			return hp_fail_errno(e, errno == ENOSPC || errno == EDQUOT ? HP_E_IO : HP_E_CANTCREAT, errno,
					     "cannot create a spill file (blocks that came before they were needed) in "
					     "'%s'", s->pdir_shown);
		hp_tmp_remove(id);  /* unnamed from now on; registered until here */
	}
	return HP_OK;
}

/* Keep a copy of p[0..n) in b: memory while it lasts, then the spill file. */
static hp_code store_keep(store *s, bentry *b, const uint8_t *p, size_t n, uint64_t *spilled, hp_err *e)
{
	b->len = (uint32_t)n;
	if (s->mem_used + n <= s->mem_limit) {
		b->u.mem = malloc(n ? n : 1);
		if (!b->u.mem)
			return hp_fail_nomem(e);
		memcpy(b->u.mem, p, n);
		s->mem_used += n;
		b->kind = E_MEM;
		return HP_OK;
	}
	hp_code rc = spill_open(s, e);
	if (rc)
		return rc;
	uint64_t off = s->spill_len;
	size_t left = n;
	const uint8_t *q = p;
	while (left) {
		ssize_t k = pwrite(s->spill_fd, q, left, (off_t)(off + (uint64_t)(q - p)));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return hp_fail_errno(e, HP_E_IO, k < 0 ? errno : ENOSPC,
					     "cannot write the spill file (blocks that came before they were needed, "
					     "%" PRIu64 " bytes so far) in '%s'", s->spill_len, s->pdir_shown);
		q += k;
		left -= (size_t)k;
	}
	s->spill_len += n;
	*spilled += n;
	b->u.spill = off;
	b->kind = E_SPILL;
	return HP_OK;
}

static void entry_release(store *s, bentry *b)
{
	if (b->kind == E_MEM) {
		s->mem_used -= b->len;
		free(b->u.mem);
	} else if (b->kind == E_REF) {
		free(b->u.ref.presuf);
	}
	b->kind = E_DEAD;
}

static void store_free(store *s)
{
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].kind != E_EMPTY)
			entry_release(s, &s->v[i]);
	free(s->v);
	if (s->spill_fd >= 0)
		close(s->spill_fd);
	memset(s, 0, sizeof *s);
	s->spill_fd = -1;
}

/* ---- the walk --------------------------------------------------------------------- */

enum { FR_DIR, FR_HAMT, FR_FILE };

typedef struct frame {
	int kind;
	uint8_t *block;      /* owned copy: node and ud point into it */
	hp_pbnode node;
	hp_unixfs_data ud;
	size_t next;         /* the next link */
	char *path;          /* folders: the folder's path (owned) */
	size_t path_len;
	unsigned padlen;     /* HAMT: hex digits of a bucket */
	uint64_t fanout;     /* HAMT */
} frame;

typedef enum need_kind {
	N_ROOT,        /* the package's root folder */
	N_ENTRY,       /* a folder entry: a folder, or a file the manifest does not list */
	N_SHARD,       /* a HAMT sub-shard of the folder on top */
	N_FILE_ROOT,   /* the root of a wanted file */
	N_FILE_CHILD,  /* a node inside the file being written */
} need_kind;

typedef struct need {
	need_kind kind;
	hp_cid cid;
	size_t file;       /* N_FILE_ROOT */
	uint64_t expect;   /* N_FILE_CHILD: bytes the child must hold */
	bool optional;     /* N_ENTRY not in the manifest */
	bool from_frame;   /* issued by the frame on top (whose next moves on) */
} wneed;

struct hp_ipfs_walk {
	hp_fetch *f;
	hp_cid start;
	size_t start_file;     /* SIZE_MAX: the root folder */
	bool dirs_only;        /* HP_IPFS_WALK_DIRS */
	bool started, done;
	frame *stk;
	size_t depth, stk_cap;
	wneed cur;
	bool need_valid;
	hp_buf need_path;      /* N_ENTRY, N_SHARD: the path */
	/* the file being written */
	hp_fetch_out *out;
	size_t out_file;
	size_t file_depth;     /* FILE frames of it on the stack */
	uint64_t visits, visit_cap;
	/* what the last file node wrote, for a reference to it */
	bool ref_ok;
	uint64_t ref_off;
	size_t ref_pre, ref_dlen;
	bool *want;            /* wanted when the walk began */
	bool *noted;           /* failed with a reason of this walk */
	store st;
	uint8_t *scratch;
	hp_ipfs_walk_stats stats;
	hp_code fatal;
	hp_err fatal_err;
	hp_err first;          /* the first failure of a file */
};

static const char *fpath(const hp_ipfs_walk *w, size_t i)
{
	return hp_fetch_file_at(w->f, i)->path;
}

static hp_code fatal(hp_ipfs_walk *w, const hp_err *e)
{
	if (!w->fatal) {
		w->fatal = e->code ? e->code : HP_E_INTERNAL;
		w->fatal_err = *e;
	}
	return w->fatal;
}

/* File i failed in this walk for the reason in why. */
static void note_file(hp_ipfs_walk *w, size_t i, const hp_err *why)
{
	if (w->noted[i])
		return;
	w->noted[i] = true;
	hp_fetch_note_failure(w->f, i, why);
	if (!w->first.code)
		w->first = *why;
}

__attribute__((format(printf, 3, 4)))
static void note_filef(hp_ipfs_walk *w, size_t i, const char *fmt, ...)
{
	hp_err e = HP_ERR_INIT;
	va_list ap;
	va_start(ap, fmt);
	e.code = HP_E_INVALID;
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	note_file(w, i, &e);
}

/* Every wanted file at or beneath path fails with why. */
static void fail_beneath(hp_ipfs_walk *w, const char *path, size_t n, const hp_err *why)
{
	size_t nf = hp_fetch_nfiles(w->f);
	for (size_t i = 0; i < nf; i++) {
		const hp_fetch_file *ff = hp_fetch_file_at(w->f, i);
		if (!w->want[i] || !hp_fetch_wanted(w->f, i))
			continue;
		if (n == 0 || (ff->path_len > n && memcmp(ff->path, path, n) == 0 && ff->path[n] == '/') ||
		    (ff->path_len == n && memcmp(ff->path, path, n) == 0))
			note_file(w, i, why);
	}
}

static void frame_free(frame *fr)
{
	hp_pbnode_free(&fr->node);
	hp_unixfs_data_free(&fr->ud);
	free(fr->block);
	free(fr->path);
}

static void pop(hp_ipfs_walk *w)
{
	frame *fr = &w->stk[--w->depth];
	if (fr->kind == FR_FILE)
		w->file_depth--;
	frame_free(fr);
}

/* Push a frame holding a copy of the block p[0..n), decoded. */
static hp_code push(hp_ipfs_walk *w, int kind, const uint8_t *p, size_t n, const char *path, size_t path_len,
		    frame **out, hp_err *e)
{
	if (w->depth >= MAX_FRAMES)
		return hp_fail(e, HP_E_INVALID, "the DAG is deeper than %d levels", MAX_FRAMES);
	if (w->depth == w->stk_cap) {
		size_t nc = w->stk_cap ? w->stk_cap * 2 : 16;
		frame *v = realloc(w->stk, nc * sizeof *v);
		if (!v)
			return hp_fail_nomem(e);
		w->stk = v;
		w->stk_cap = nc;
	}
	frame *fr = &w->stk[w->depth];
	memset(fr, 0, sizeof *fr);
	fr->kind = kind;
	fr->block = malloc(n ? n : 1);
	if (!fr->block)
		return hp_fail_nomem(e);
	memcpy(fr->block, p, n);
	if (path) {
		fr->path = malloc(path_len + 1);
		if (!fr->path) {
			free(fr->block);
			return hp_fail_nomem(e);
		}
		memcpy(fr->path, path, path_len);
		fr->path[path_len] = '\0';
		fr->path_len = path_len;
	}
	hp_code rc = hp_dagpb_decode(fr->block, n, &fr->node, e);
	if (!rc && !fr->node.has_data)
		rc = hp_fail(e, HP_E_DATA, "a dag-pb node without UnixFS data");
	if (!rc)
		rc = hp_unixfs_data_decode(fr->node.data, fr->node.data_len, &fr->ud, e);
	if (rc) {
		frame_free(fr);
		return rc;
	}
	w->depth++;
	if (kind == FR_FILE)
		w->file_depth++;
	*out = fr;
	return HP_OK;
}

/* ---- files ---- */

static void file_fail(hp_ipfs_walk *w, const hp_err *why)
{
	while (w->file_depth)
		pop(w);
	if (w->out) {
		size_t i = w->out_file;
		w->noted[i] = true;
		if (!w->first.code)
			w->first = *why;
		hp_fetch_out_abort(w->out, why);
		w->out = NULL;
	}
}

__attribute__((format(printf, 2, 3)))
static void file_failf(hp_ipfs_walk *w, const char *fmt, ...)
{
	hp_err e = HP_ERR_INIT;
	va_list ap;
	va_start(ap, fmt);
	e.code = HP_E_INVALID;
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	file_fail(w, &e);
}

static bool local_error(hp_code c)
{
	return c == HP_E_IO || c == HP_E_NOMEM || c == HP_E_INTERNAL;
}

/* A writer error: local ones stop everything, the rest fail the file. */
static hp_code file_error(hp_ipfs_walk *w, const hp_err *e)
{
	if (local_error(e->code)) {
		fatal(w, e);
		file_fail(w, e);
		return w->fatal;
	}
	file_fail(w, e);
	return HP_OK;
}

static hp_code finish_file(hp_ipfs_walk *w)
{
	if (!w->out)
		return HP_OK;
	hp_err e = HP_ERR_INIT;
	hp_fetch_out *out = w->out;
	size_t i = w->out_file;
	w->out = NULL;
	if (hp_fetch_out_commit(out, &e)) {
		w->noted[i] = true;
		if (!w->first.code)
			w->first = e;
		if (local_error(e.code))
			return fatal(w, &e);
	}
	return HP_OK;
}

static hp_code write_bytes(hp_ipfs_walk *w, const uint8_t *block, const uint8_t *p, size_t n)
{
	w->ref_ok = false;
	if (!n)
		return HP_OK;
	hp_err e = HP_ERR_INIT;
	uint64_t off = hp_fetch_out_written(w->out);
	if (hp_fetch_out_write(w->out, p, n, &e))
		return file_error(w, &e);
	if (n >= REF_MIN) {
		w->ref_ok = true;
		w->ref_off = off;
		w->ref_pre = (size_t)(p - block);
		w->ref_dlen = n;
	}
	return HP_OK;
}

/* A node of the file being written, that must hold expect bytes (root: the
 * file's root, whose size the manifest gives). */
static hp_code file_node(hp_ipfs_walk *w, const hp_cid *cid, const uint8_t *p, size_t n, uint64_t expect, bool root)
{
	const char *path = fpath(w, w->out_file);
	char ct[HP_CID_MAX_TEXT];
	w->ref_ok = false;
	if (++w->visits > w->visit_cap) {
		file_failf(w, "'%s' has more than %" PRIu64 " blocks in its DAG for %" PRIu64 " bytes", path,
			   w->visit_cap, hp_fetch_file_at(w->f, w->out_file)->size);
		return HP_OK;
	}
	hp_cid_text(cid, ct);
	if (cid->codec == HP_MC_RAW) {
		if (n != expect) {
			if (root)
				file_failf(w, "'%s' has %zu bytes in the DAG (%s), the manifest says %" PRIu64, path, n, ct, expect);
			else
				file_failf(w, "block %s of '%s' has %zu bytes, its parent says %" PRIu64, ct, path, n, expect);
			return HP_OK;
		}
		return write_bytes(w, p, p, n);
	}
	if (cid->codec != HP_MC_DAG_PB) {
		file_failf(w, "block %s of '%s' has the codec 0x%" PRIx64 ", not dag-pb or raw", ct, path, cid->codec);
		return HP_OK;
	}
	hp_err e = HP_ERR_INIT;
	hp_pbnode node;
	hp_unixfs_data d;
	memset(&d, 0, sizeof d);
	hp_code rc = hp_dagpb_decode(p, n, &node, &e);
	if (!rc && !node.has_data)
		rc = hp_fail(&e, HP_E_DATA, "a dag-pb node without UnixFS data");
	if (!rc)
		rc = hp_unixfs_data_decode(node.data, node.data_len, &d, &e);
	if (rc) {
		hp_pbnode_free(&node);
		if (rc == HP_E_NOMEM)
			return fatal(w, &e);
		file_failf(w, "block %s of '%s' is not a UnixFS node: %s", ct, path, e.msg);
		return HP_OK;
	}
	const char *bad = NULL;
	char why[HP_ERR_MSG_MAX];
	uint64_t sum = d.has_data ? d.data_len : 0;
	for (size_t k = 0; k < d.nblocksizes; k++)
		sum = d.blocksizes[k] > UINT64_MAX - sum ? UINT64_MAX : sum + d.blocksizes[k];
	if (d.type != HP_UNIXFS_FILE && d.type != HP_UNIXFS_RAW) {
		const char *what = d.type == HP_UNIXFS_DIRECTORY || d.type == HP_UNIXFS_HAMT_SHARD ? "a folder"
				   : d.type == HP_UNIXFS_SYMLINK			    ? "a symbolic link"
											    : "not a file";
		snprintf(why, sizeof why, "'%s' is %s in the DAG (block %s), a file in the manifest", path, what, ct);
		bad = why;
	} else if (node.nlinks != d.nblocksizes) {
		snprintf(why, sizeof why, "block %s of '%s' has %zu links but %zu block sizes", ct, path, node.nlinks,
			 d.nblocksizes);
		bad = why;
	} else if (sum != expect || (d.has_filesize && d.filesize != expect)) {
		uint64_t says = d.has_filesize && d.filesize != expect ? d.filesize : sum;
		if (root)
			snprintf(why, sizeof why, "'%s' has %" PRIu64 " bytes in the DAG (%s), the manifest says %" PRIu64,
				 path, says, ct, expect);
		else
			snprintf(why, sizeof why, "block %s of '%s' holds %" PRIu64 " bytes, its parent says %" PRIu64, ct,
				 path, says, expect);
		bad = why;
	} else if (node.nlinks && w->file_depth >= MAX_FILE_DEPTH) {
		snprintf(why, sizeof why, "the DAG of '%s' is deeper than %d levels", path, MAX_FILE_DEPTH);
		bad = why;
	}
	if (bad) {
		hp_pbnode_free(&node);
		hp_unixfs_data_free(&d);
		file_failf(w, "%s", bad);
		return HP_OK;
	}
	/* the node's own bytes come before its children's */
	if (d.has_data && d.data_len)
		rc = write_bytes(w, p, d.data, d.data_len);
	bool ref_ok = w->ref_ok;
	if (!rc && w->out && node.nlinks) {
		frame *fr;
		if ((rc = push(w, FR_FILE, p, n, NULL, 0, &fr, &e)))
			rc = e.code == HP_E_NOMEM ? fatal(w, &e) : (file_failf(w, "'%s': %s", path, e.msg), HP_OK);
	}
	w->ref_ok = ref_ok;
	hp_pbnode_free(&node);
	hp_unixfs_data_free(&d);
	return rc;
}

/* ---- the needs ---- */

static void set_need(hp_ipfs_walk *w, need_kind k, const hp_cid *cid)
{
	memset(&w->cur, 0, sizeof w->cur);
	w->cur.kind = k;
	w->cur.cid = *cid;
	w->cur.from_frame = w->depth > 0;
	w->need_valid = true;
}

/* A folder entry's name: one clean path segment. */
static bool good_name(const char *p, size_t n)
{
	if (!n || memchr(p, '/', n))
		return false;
	return hp_relpath_check(p, n, NULL) == HP_OK;
}

static bool is_hex_upper(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F')))
			return false;
	return true;
}

/* Work out the next need (w->cur), popping finished frames. */
static hp_code advance(hp_ipfs_walk *w)
{
	if (w->need_valid || w->done || w->fatal)
		return w->fatal;
	hp_err e = HP_ERR_INIT;
	for (;;) {
		if (!w->depth) {
			if (w->out) {
				hp_code rc = finish_file(w);
				if (rc)
					return rc;
			}
			if (!w->started) {
				w->started = true;
				if (w->start_file == SIZE_MAX) {
					set_need(w, N_ROOT, &w->start);
				} else {
					set_need(w, N_FILE_ROOT, &w->start);
					w->cur.file = w->start_file;
				}
				return HP_OK;
			}
			w->done = true;
			return HP_OK;
		}
		frame *top = &w->stk[w->depth - 1];
		if (top->kind == FR_FILE) {
			if (top->next < top->node.nlinks) {
				set_need(w, N_FILE_CHILD, &top->node.links[top->next].cid);
				w->cur.expect = top->ud.blocksizes[top->next];
				return HP_OK;
			}
			pop(w);
			if (!w->file_depth) {
				hp_code rc = finish_file(w);
				if (rc)
					return rc;
			}
			continue;
		}
		if (top->next >= top->node.nlinks) {
			pop(w);
			continue;
		}
		const hp_pblink *l = &top->node.links[top->next];
		const char *name = l->has_name ? l->name : "";
		size_t name_len = l->has_name ? l->name_len : 0;
		if (top->kind == FR_HAMT) {
			if (name_len < top->padlen || !is_hex_upper(name, top->padlen)) {
				w->stats.unlisted++;
				top->next++;
				continue;
			}
			if (name_len == top->padlen) {
				hp_buf_reset(&w->need_path);
				if (hp_buf_add(&w->need_path, top->path, top->path_len, &e))
					return fatal(w, &e);
				set_need(w, N_SHARD, &l->cid);
				return HP_OK;
			}
			name += top->padlen;
			name_len -= top->padlen;
		}
		if (!good_name(name, name_len)) {
			w->stats.unlisted++;
			top->next++;
			continue;
		}
		hp_buf_reset(&w->need_path);
		if ((top->path_len && (hp_buf_add(&w->need_path, top->path, top->path_len, &e) ||
				       hp_buf_addch(&w->need_path, '/', &e))) ||
		    hp_buf_add(&w->need_path, name, name_len, &e))
			return fatal(w, &e);
		const char *path = w->need_path.data;
		size_t plen = w->need_path.len;
		if (plen > 4096 || hp_relpath_check(path, plen, NULL)) {
			w->stats.unlisted++;
			top->next++;
			continue;
		}
		size_t idx = hp_fetch_find(w->f, path, plen);
		if (idx != SIZE_MAX) {
			if (!w->want[idx] || !hp_fetch_wanted(w->f, idx)) {
				top->next++;
				continue;
			}
			const char *mcid = json_string_value(json_object_get(hp_fetch_file_at(w->f, idx)->entry, "cid"));
			hp_cid want;
			if (mcid && hp_cid_parse_text(mcid, &want, NULL) == HP_OK && !hp_cid_equal(&want, &l->cid)) {
				char ct[HP_CID_MAX_TEXT];
				hp_cid_text(&l->cid, ct);
				note_filef(w, idx, "'%s' is %s in the DAG, the manifest says %s", path, ct, mcid);
				top->next++;
				continue;
			}
			set_need(w, N_FILE_ROOT, &l->cid);
			w->cur.file = idx;
			return HP_OK;
		}
		bool listed = hp_fetch_is_dir(w->f, path, plen);
		if (!listed && w->start_file != SIZE_MAX) {
			top->next++;
			continue;
		}
		set_need(w, N_ENTRY, &l->cid);
		w->cur.optional = !listed;
		return HP_OK;
	}
}

/* Keep block p[0..n) (just used) for a later need of the same CID: a large
 * piece of a file as a reference to the bytes written (ref_ok: what
 * write_bytes noted), anything else as a copy. p may be the entry's own
 * memory. */
static hp_code retain(hp_ipfs_walk *w, const uint8_t *key, size_t kl, const uint8_t *p, size_t n, bool ref_ok,
		      size_t ref_file)
{
	hp_err e = HP_ERR_INIT;
	if (kl > KEY_MAX)
		return HP_OK;
	bentry *b = store_find(&w->st, key, kl);
	if (b && b->kind != E_DEAD) {
		b->used = true;
		if (!(ref_ok && b->kind == E_MEM))
			return HP_OK;  /* a reference costs less than a copy in memory: go on */
	}
	uint8_t *presuf = NULL;
	if (ref_ok) {
		size_t extra = n - w->ref_dlen;
		presuf = malloc(extra ? extra : 1);
		if (!presuf) {
			hp_fail_nomem(&e);
			return fatal(w, &e);
		}
		memcpy(presuf, p, w->ref_pre);
		memcpy(presuf + w->ref_pre, p + w->ref_pre + w->ref_dlen, n - w->ref_pre - w->ref_dlen);
		if (b)
			entry_release(&w->st, b);  /* p is not used after this */
	}
	if (!b && !(b = store_add(&w->st, key, kl, &e))) {
		free(presuf);
		return fatal(w, &e);
	}
	b->used = true;
	if (ref_ok) {
		b->u.ref.presuf = presuf;
		b->u.ref.file = ref_file;
		b->u.ref.off = w->ref_off;
		b->u.ref.pre = (uint32_t)w->ref_pre;
		b->u.ref.dlen = (uint32_t)w->ref_dlen;
		b->len = (uint32_t)n;
		b->kind = E_REF;
		return HP_OK;
	}
	if (store_keep(&w->st, b, p, n, &w->stats.spilled, &e))
		return fatal(w, &e);
	return HP_OK;
}

static hp_code dir_block(hp_ipfs_walk *w, const wneed *nd, const char *path, size_t plen, const uint8_t *p, size_t n)
{
	char ct[HP_CID_MAX_TEXT];
	hp_err e = HP_ERR_INIT;
	const char *shown = plen ? path : "";
	if (nd->cid.codec != HP_MC_DAG_PB) {
		if (nd->optional) {
			w->stats.unlisted++;
			return HP_OK;
		}
		hp_cid_text(&nd->cid, ct);
		hp_fail(&e, HP_E_INVALID, "%s%s%s is a file in the DAG (%s), a folder in the manifest",
			plen ? "'" : "the package root", shown, plen ? "'" : "", ct);
		fail_beneath(w, path, plen, &e);
		return HP_OK;
	}
	frame *fr;
	if (push(w, FR_DIR, p, n, path, plen, &fr, &e)) {
		if (e.code == HP_E_NOMEM)
			return fatal(w, &e);
		if (nd->optional) {
			w->stats.unlisted++;
			return HP_OK;
		}
		hp_cid_text(&nd->cid, ct);
		hp_err why = HP_ERR_INIT;
		hp_fail(&why, HP_E_INVALID, "block %s of %s%s%s is not a UnixFS node: %s", ct,
			plen ? "the folder '" : "the package root", shown, plen ? "'" : "", e.msg);
		fail_beneath(w, path, plen, &why);
		return HP_OK;
	}
	hp_unixfs_type t = fr->ud.type;
	bool shard_ok = t == HP_UNIXFS_HAMT_SHARD && fr->ud.has_fanout && fr->ud.fanout >= 2 && fr->ud.fanout <= 4096 &&
			(fr->ud.fanout & (fr->ud.fanout - 1)) == 0 && fr->ud.has_hash_type &&
			fr->ud.hash_type == HP_MC_MURMUR3_X64_64;
	if (nd->kind == N_SHARD ? shard_ok : (t == HP_UNIXFS_DIRECTORY || shard_ok)) {
		if (t == HP_UNIXFS_HAMT_SHARD) {
			fr->kind = FR_HAMT;
			fr->fanout = fr->ud.fanout;
			unsigned digits = 0;
			for (uint64_t x = fr->ud.fanout - 1; x; x >>= 4)
				digits++;
			fr->padlen = digits;
		}
		/* an empty folder of the package: made when it can be (a link
		 * or a file in the way is left alone) */
		if (fr->node.nlinks == 0 && plen && nd->kind != N_SHARD && hp_fetch_mkdir(w->f, path, plen, &e) &&
		    e.code == HP_E_NOMEM)
			return fatal(w, &e);
		return HP_OK;
	}
	pop(w);
	if (nd->optional) {
		w->stats.unlisted++;
		return HP_OK;
	}
	hp_cid_text(&nd->cid, ct);
	hp_err why = HP_ERR_INIT;
	const char *what = t == HP_UNIXFS_FILE || t == HP_UNIXFS_RAW ? "a file"
			   : t == HP_UNIXFS_SYMLINK			? "a symbolic link"
			   : nd->kind == N_SHARD			? "not a HAMT shard"
									: "not a folder";
	hp_fail(&why, HP_E_INVALID, "%s%s%s is %s in the DAG (%s), a folder in the manifest",
		plen ? "'" : "the package root", shown, plen ? "'" : "", what, ct);
	fail_beneath(w, path, plen, &why);
	return HP_OK;
}

/* Use block p[0..n) for the current need. */
static hp_code consume(hp_ipfs_walk *w, const uint8_t *p, size_t n)
{
	wneed nd = w->cur;
	w->need_valid = false;
	w->stats.used++;
	if (nd.from_frame && w->depth)
		w->stk[w->depth - 1].next++;
	uint8_t key[HP_CID_MAX_BYTES];
	size_t kl = hp_cid_bytes(&nd.cid, key);
	bool ref_ok = false;
	size_t ref_file = SIZE_MAX;
	hp_code rc = HP_OK;
	switch (nd.kind) {
	case N_ROOT:
		rc = dir_block(w, &nd, "", 0, p, n);
		break;
	case N_ENTRY:
	case N_SHARD: {
		/* need_path is reused by advance: copy it */
		size_t plen = w->need_path.len;
		char *path = malloc(plen + 1);
		if (!path) {
			hp_err e = HP_ERR_INIT;
			hp_fail_nomem(&e);
			return fatal(w, &e);
		}
		memcpy(path, w->need_path.data, plen + 1);
		rc = dir_block(w, &nd, path, plen, p, n);
		free(path);
		break;
	}
	case N_FILE_ROOT: {
		hp_err e = HP_ERR_INIT;
		if (!hp_fetch_wanted(w->f, nd.file))
			break;
		if (hp_fetch_out_open(w->f, nd.file, &w->out, &e)) {
			w->out = NULL;
			if (e.code != HP_E_USAGE)
				return fatal(w, &e);  /* no partial file can be made */
			break;
		}
		w->out_file = nd.file;
		w->visits = 0;
		uint64_t size = hp_fetch_file_at(w->f, nd.file)->size;
		w->visit_cap = 2 * size + 1024;
		rc = file_node(w, &nd.cid, p, n, size, true);
		ref_ok = w->ref_ok;
		ref_file = nd.file;
		if (!rc && w->out && !w->file_depth)
			rc = finish_file(w);
		break;
	}
	case N_FILE_CHILD: {
		size_t file = w->out_file;
		rc = file_node(w, &nd.cid, p, n, nd.expect, false);
		ref_ok = w->ref_ok;
		ref_file = file;
		break;
	}
	}
	if (rc)
		return rc;
	return retain(w, key, kl, p, n, ref_ok, ref_file);
}

/* The bytes of a stored block, into w->scratch when not in memory; NULL
 * when they cannot be had (a reference to bytes since removed). */
static const uint8_t *stored_bytes(hp_ipfs_walk *w, bentry *b, const hp_cid *cid)
{
	hp_err e = HP_ERR_INIT;
	if (b->kind == E_MEM)
		return b->u.mem;
	if (b->kind == E_SPILL) {
		size_t left = b->len;
		uint8_t *q = w->scratch;
		uint64_t off = b->u.spill;
		while (left) {
			ssize_t k = pread(w->st.spill_fd, q, left, (off_t)off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				hp_fail_errno(&e, HP_E_IO, k < 0 ? errno : EIO, "cannot read the spill file in '%s'",
					      w->st.pdir_shown);
				fatal(w, &e);
				return NULL;
			}
			q += k;
			off += (uint64_t)k;
			left -= (size_t)k;
		}
		return w->scratch;
	}
	if (b->kind != E_REF)
		return NULL;
	size_t i = b->u.ref.file;
	uint8_t *q = w->scratch;
	memcpy(q, b->u.ref.presuf, b->u.ref.pre);
	hp_code rc;
	if (w->out && hp_fetch_out_index(w->out) == i)
		rc = hp_fetch_out_pread(w->out, b->u.ref.off, q + b->u.ref.pre, b->u.ref.dlen, &e);
	else if (hp_fetch_file_status(w->f, i) == HP_FETCH_FETCHED || hp_fetch_file_status(w->f, i) == HP_FETCH_PRESENT)
		rc = hp_fetch_read_final(w->f, i, b->u.ref.off, q + b->u.ref.pre, b->u.ref.dlen, &e);
	else
		rc = HP_E_NOINPUT;
	size_t tail = b->len - b->u.ref.pre - b->u.ref.dlen;
	memcpy(q + b->u.ref.pre + b->u.ref.dlen, b->u.ref.presuf + b->u.ref.pre, tail);
	/* what was written is checked again, like any block */
	if (rc || !hp_cid_matches(cid, q, b->len)) {
		entry_release(&w->st, b);
		return NULL;
	}
	w->stats.rebuilt++;
	return q;
}

/* Use what the store holds for as long as it has what the walk needs. */
static hp_code pump(hp_ipfs_walk *w)
{
	for (;;) {
		hp_code rc = advance(w);
		if (rc || w->done || !w->need_valid)
			return rc;
		const hp_cid *c = &w->cur.cid;
		if (c->hash == HP_MC_IDENTITY) {
			uint8_t d[64];
			memcpy(d, c->digest, c->digest_len);
			if ((rc = consume(w, d, c->digest_len)))
				return rc;
			continue;
		}
		if (c->hash != HP_MC_SHA2_256 || c->digest_len != 32) {
			char ct[HP_CID_MAX_TEXT], why[HP_ERR_MSG_MAX];
			hp_cid_text(c, ct);
			snprintf(why, sizeof why, "block %s uses the hash function 0x%" PRIx64 ", which is not supported", ct,
				 c->hash);
			hp_err e = HP_ERR_INIT;
			if ((rc = hp_ipfs_walk_missing(w, why, &e)))
				return rc;
			continue;
		}
		uint8_t key[HP_CID_MAX_BYTES];
		size_t kl = hp_cid_bytes(c, key);
		bentry *b = kl <= KEY_MAX ? store_find(&w->st, key, kl) : NULL;
		if (!b || b->kind == E_DEAD)
			return HP_OK;
		const uint8_t *p = stored_bytes(w, b, c);
		if (w->fatal)
			return w->fatal;
		if (!p)
			return HP_OK;
		if ((rc = consume(w, p, b->len)))
			return rc;
	}
}

/* ---- the walk's API ---- */

hp_code hp_ipfs_walk_new(hp_fetch *f, const hp_cid *start, size_t file, size_t memory, hp_ipfs_walk **out,
			 hp_err *e)
{
	*out = NULL;
	if (sodium_init() < 0)
		return hp_fail(e, HP_E_INTERNAL, "libsodium cannot start");
	hp_ipfs_walk *w = calloc(1, sizeof *w);
	if (!w)
		return hp_fail_nomem(e);
	size_t nf = hp_fetch_nfiles(f);
	w->f = f;
	w->start = *start;
	w->dirs_only = file == HP_IPFS_WALK_DIRS;
	if (w->dirs_only)
		file = SIZE_MAX;
	w->start_file = file;
	hp_buf_init(&w->need_path, 8192);
	w->want = calloc(nf ? nf : 1, sizeof *w->want);
	w->noted = calloc(nf ? nf : 1, sizeof *w->noted);
	w->scratch = malloc(MAX_BLOCK + HP_CID_MAX_BYTES);
	w->st.spill_fd = -1;
	w->st.pdirfd = hp_fetch_partial_dirfd(f);
	w->st.pdir_shown = hp_fetch_partial_dir_shown(f);
	w->st.mem_limit = memory ? memory : DEFAULT_MEMORY;
	uint64_t maxb = 0, maxn = 0;
	hp_ipfs_bounds(f, file, &maxb, &maxn);
	w->st.max_count = maxn > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)maxn;
	randombytes_buf(w->st.key, sizeof w->st.key);
	if (!w->want || !w->noted || !w->scratch) {
		hp_ipfs_walk_free(w);
		return hp_fail_nomem(e);
	}
	for (size_t i = 0; i < nf; i++)
		w->want[i] = !w->dirs_only && (file == SIZE_MAX || i == file) && hp_fetch_wanted(f, i);
	*out = w;
	return HP_OK;
}

void hp_ipfs_walk_free(hp_ipfs_walk *w)
{
	if (!w)
		return;
	if (w->out) {
		hp_err e = HP_ERR_INIT;
		hp_fail(&e, HP_E_UNAVAILABLE, "the transfer stopped");
		hp_fetch_out_abort(w->out, &e);
	}
	while (w->depth)
		pop(w);
	free(w->stk);
	store_free(&w->st);
	hp_buf_release(&w->need_path);
	free(w->want);
	free(w->noted);
	free(w->scratch);
	free(w);
}

bool hp_ipfs_walk_done(const hp_ipfs_walk *w)
{
	return w->done;
}

bool hp_ipfs_walk_need(hp_ipfs_walk *w, hp_cid *cid, bool *optional)
{
	if (pump(w) || w->done || !w->need_valid)
		return false;
	*cid = w->cur.cid;
	if (optional)
		*optional = w->cur.optional;
	return true;
}

hp_code hp_ipfs_walk_block(hp_ipfs_walk *w, const hp_cid *cid, const uint8_t *p, size_t n, hp_err *e)
{
	hp_code rc = advance(w);
	if (rc)
		goto out;
	w->stats.blocks++;
	if (w->need_valid && hp_cid_equal(cid, &w->cur.cid)) {
		if ((rc = consume(w, p, n)))
			goto out;
		rc = pump(w);
		goto out;
	}
	uint8_t key[HP_CID_MAX_BYTES];
	size_t kl = hp_cid_bytes(cid, key);
	bentry *b = kl <= KEY_MAX ? store_find(&w->st, key, kl) : NULL;
	if (b && b->kind != E_DEAD) {
		w->stats.duplicates++;
		goto out;
	}
	if (kl > KEY_MAX || w->done) {
		w->stats.ignored++;  /* nothing will need it */
		goto out;
	}
	hp_err se = HP_ERR_INIT;
	if (!b && !(b = store_add(&w->st, key, kl, &se))) {
		rc = fatal(w, &se);
		goto out;
	}
	if (store_keep(&w->st, b, p, n, &w->stats.spilled, &se))
		rc = fatal(w, &se);
out:
	if (rc && e)
		*e = w->fatal_err;
	return rc;
}

hp_code hp_ipfs_walk_missing(hp_ipfs_walk *w, const char *why, hp_err *e)
{
	hp_code rc = advance(w);
	if (rc || w->done || !w->need_valid) {
		if (rc && e)
			*e = w->fatal_err;
		return rc;
	}
	wneed nd = w->cur;
	w->need_valid = false;
	if (nd.from_frame && w->depth)
		w->stk[w->depth - 1].next++;
	if (nd.optional)
		return HP_OK;
	char ct[HP_CID_MAX_TEXT];
	hp_cid_text(&nd.cid, ct);
	hp_err m = HP_ERR_INIT;
	m.code = HP_E_INVALID;
	switch (nd.kind) {
	case N_ROOT:
		if (why)
			snprintf(m.msg, sizeof m.msg, "%s (the package root)", why);
		else
			snprintf(m.msg, sizeof m.msg, "the package root %s is missing from the response", ct);
		fail_beneath(w, "", 0, &m);
		break;
	case N_ENTRY:
	case N_SHARD:
		if (why)
			snprintf(m.msg, sizeof m.msg, "%s (the folder '%s')", why, w->need_path.data);
		else
			snprintf(m.msg, sizeof m.msg, "block %s of the folder '%s' is missing from the response", ct,
				 w->need_path.data);
		fail_beneath(w, w->need_path.data, w->need_path.len, &m);
		break;
	case N_FILE_ROOT:
		if (why)
			snprintf(m.msg, sizeof m.msg, "%s ('%s')", why, fpath(w, nd.file));
		else
			snprintf(m.msg, sizeof m.msg, "block %s of '%s' is missing from the response", ct, fpath(w, nd.file));
		note_file(w, nd.file, &m);
		break;
	case N_FILE_CHILD:
		if (why)
			snprintf(m.msg, sizeof m.msg, "%s ('%s')", why, fpath(w, w->out_file));
		else
			snprintf(m.msg, sizeof m.msg, "block %s of '%s' is missing from the response", ct,
				 fpath(w, w->out_file));
		file_fail(w, &m);
		break;
	}
	return HP_OK;
}

hp_code hp_ipfs_walk_finish(hp_ipfs_walk *w, hp_err *e)
{
	hp_code rc;
	for (;;) {
		if ((rc = pump(w)))
			goto fail;
		if (w->done)
			break;
		if ((rc = hp_ipfs_walk_missing(w, NULL, e)))
			goto fail;
	}
	for (size_t i = 0; i < w->st.cap; i++)
		if (w->st.v[i].kind != E_EMPTY && !w->st.v[i].used)
			w->stats.ignored++;
	size_t nf = hp_fetch_nfiles(w->f), left = 0, first = SIZE_MAX;
	for (size_t i = 0; i < nf; i++) {
		if (!w->want[i] || !hp_fetch_wanted(w->f, i))
			continue;
		if (!w->noted[i]) {
			char ct[HP_CID_MAX_TEXT];
			hp_cid_text(&w->start, ct);
			note_filef(w, i, "'%s' is not in the DAG of %s", fpath(w, i), ct);
		}
		if (first == SIZE_MAX)
			first = i;
		left++;
	}
	if (!left)
		return HP_OK;
	if (left == 1 || !w->first.code)
		return hp_fail(e, HP_E_INVALID, "%s", w->first.code ? w->first.msg : "files are missing");
	return hp_fail(e, HP_E_INVALID, "%s (and %zu more files)", w->first.msg, left - 1);
fail:
	if (e)
		*e = w->fatal_err;
	return rc;
}

void hp_ipfs_walk_abort(hp_ipfs_walk *w, const hp_err *why)
{
	if (w->out)
		file_fail(w, why);
	size_t nf = hp_fetch_nfiles(w->f);
	for (size_t i = 0; i < nf; i++)
		if (w->want[i] && hp_fetch_wanted(w->f, i))
			note_file(w, i, why);
	w->done = true;
}

hp_code hp_ipfs_walk_error(const hp_ipfs_walk *w, hp_err *e)
{
	if (w->fatal && e)
		*e = w->fatal_err;
	return w->fatal;
}

void hp_ipfs_walk_get_stats(const hp_ipfs_walk *w, hp_ipfs_walk_stats *s)
{
	*s = w->stats;
}

/* ---- bounds ---- */

void hp_ipfs_bounds(const hp_fetch *f, size_t file, uint64_t *max_bytes, uint64_t *max_blocks)
{
	const char *prof = json_string_value(json_object_get(json_object_get(hp_fetch_manifest(f), "distribution"),
							     "ipfs_import"));
	const hp_unixfs_profile *p = prof ? hp_unixfs_profile_find(prof) : NULL;
	uint64_t chunk = p ? p->chunk_size : 262144;  /* unknown: the smallest of the profiles */
	uint64_t bytes = 65536, blocks = 4096, total = 0;
	size_t nf = hp_fetch_nfiles(f);
	if (file == HP_IPFS_WALK_DIRS)
		file = SIZE_MAX;
	for (size_t i = 0; i < nf; i++) {
		if (file != SIZE_MAX && i != file)
			continue;
		const hp_fetch_file *ff = hp_fetch_file_at(f, i);
		uint64_t leaves = ff->size / chunk + (ff->size % chunk != 0) + (ff->size == 0);
		/* per leaf: its section (length, CID, dag-pb framing) and its link
		 * in the parents; per file: its root and the entries leading to
		 * it, plain or sharded */
		bytes += ff->size + leaves * 128 + 1024 + 2 * (uint64_t)ff->path_len;
		blocks += 2 * leaves + 4 + ff->path_len / 2;
		total += ff->size;
	}
	*max_bytes = bytes + total / 1024;
	*max_blocks = blocks;
}

