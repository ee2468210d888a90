/* hp_bencode: a strict bencode parser and a checked writer.
 *
 * Reading accepts only the canonical form (BEP 3 as clients write it), so a
 * document has exactly one encoding and its byte spans (the info dictionary
 * that an infohash covers) mean what they say:
 *   - integers "i<n>e": no leading zeros, no "-0", no "+", fit in int64_t;
 *   - strings "<len>:<bytes>": no leading zeros in the length;
 *   - dictionary keys are strings, strictly increasing bytewise (so sorted
 *     and unique: a duplicate or out-of-order key is an error);
 *   - one value, nothing after it; bounded depth and node count.
 * Errors are HP_E_DATA "<what>: bencode error at byte N: <reason>" (or
 * HP_E_NOMEM).
 *
 * The parsed document is a flat array of nodes in document order pointing
 * into the caller's buffer (which must outlive it); a container's children
 * follow it, and each node knows where the next sibling starts.
 *
 * The writer emits into an hp_buf and checks as it goes what the reader
 * checks: keys in strictly increasing order, every container closed. */
#ifndef HP_BENCODE_H
#define HP_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hp_bencode_type {
	HP_BENCODE_INT = 1,
	HP_BENCODE_STR,
	HP_BENCODE_LIST,
	HP_BENCODE_DICT,
} hp_bencode_type;

typedef struct hp_bencode_node {
	hp_bencode_type type;
	size_t count;     /* list: items; dict: key/value pairs (2 * count children) */
	size_t next;      /* index of the node after this value and all it contains */
	size_t off, len;  /* the whole encoded value: data[off, off + len) */
	const char *str;  /* STR: the bytes (not NUL-terminated), str_len of them */
	size_t str_len;
	int64_t num;      /* INT */
} hp_bencode_node;

typedef struct hp_bencode_doc {
	hp_bencode_node *v;  /* v[0] is the root */
	size_t n, cap;
	const char *data;
	size_t len;
} hp_bencode_doc;

#define HP_BENCODE_DOC_INIT { NULL, 0, 0, NULL, 0 }

typedef struct hp_bencode_limits {
	unsigned max_depth;  /* nesting of lists and dicts; 0 = 100 (libtorrent's default) */
	size_t max_nodes;    /* values in the document; 0 = 4,000,000 */
} hp_bencode_limits;

/* Parse data[0, len). what names the input in messages. lim may be NULL. */
hp_code hp_bencode_parse(const char *data, size_t len, const char *what,
			 const hp_bencode_limits *lim, hp_bencode_doc *doc, hp_err *e);
void hp_bencode_free(hp_bencode_doc *doc);

/* Children of a list or dict in order (for a dict: key, value, key, ...);
 * NULL when there are none left. */
const hp_bencode_node *hp_bencode_first(const hp_bencode_doc *doc, const hp_bencode_node *c);
const hp_bencode_node *hp_bencode_next(const hp_bencode_doc *doc, const hp_bencode_node *c,
				       const hp_bencode_node *child);
/* The value of a dict's key (NUL-terminated key), or NULL (also when d is
 * not a dict). */
const hp_bencode_node *hp_bencode_get(const hp_bencode_doc *doc, const hp_bencode_node *d,
				      const char *key);
/* As hp_bencode_get, and the value must have the given type, else NULL. */
const hp_bencode_node *hp_bencode_get_type(const hp_bencode_doc *doc, const hp_bencode_node *d,
					   const char *key, hp_bencode_type type);
/* Is the STR node equal to the NUL-terminated s? */
bool hp_bencode_str_is(const hp_bencode_node *n, const char *s);

/* ---- writer ---- */

#define HP_BENCODE_WRITER_DEPTH 128

typedef struct hp_bencode_level {
	bool dict;
	bool want_value;          /* dict: a key was written, its value comes next */
	bool have_key;
	size_t key_off, key_len;  /* the last key, as bytes in out */
} hp_bencode_level;

typedef struct hp_bencode_writer {
	hp_buf *out;
	hp_err *e;
	hp_code rc;        /* the first error; every call after it does nothing */
	unsigned depth;
	bool done;         /* the top-level value is complete */
	hp_bencode_level lv[HP_BENCODE_WRITER_DEPTH];
} hp_bencode_writer;

/* Write one value into out (appended). e receives the first error. */
void hp_bencode_writer_init(hp_bencode_writer *w, hp_buf *out, hp_err *e);
hp_code hp_bencode_int(hp_bencode_writer *w, int64_t v);
/* A string; inside a dict where a key is due it is the key, and must sort
 * after the previous key (HP_E_INTERNAL otherwise: a caller bug). */
hp_code hp_bencode_str(hp_bencode_writer *w, const void *p, size_t n);
hp_code hp_bencode_strz(hp_bencode_writer *w, const char *s);
hp_code hp_bencode_list(hp_bencode_writer *w);
hp_code hp_bencode_dict(hp_bencode_writer *w);
hp_code hp_bencode_end(hp_bencode_writer *w);
/* A parsed node (and all it contains), copied verbatim. */
hp_code hp_bencode_copy(hp_bencode_writer *w, const hp_bencode_doc *doc, const hp_bencode_node *n);
/* Check that exactly one complete value was written; returns the first error. */
hp_code hp_bencode_writer_finish(hp_bencode_writer *w);

#ifdef __cplusplus
}
#endif

#endif
