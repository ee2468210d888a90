#include "hp_dagpb.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* Field keys: (field number << 3) | wire type. */
enum {
	KEY_NODE_DATA = (1 << 3) | 2,
	KEY_NODE_LINKS = (2 << 3) | 2,
	KEY_LINK_HASH = (1 << 3) | 2,
	KEY_LINK_NAME = (2 << 3) | 2,
	KEY_LINK_TSIZE = (3 << 3) | 0,
};

size_t hp_pb_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return 0;  /* past 64 bits */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (i > 0 && b == 0)
				return 0;  /* not minimal */
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

size_t hp_pb_bytes_field_len(size_t len)
{
	return 1 + hp_varint_len(len) + len;
}

/* The PBLink message without its key and length. */
static size_t link_body_len(const hp_pblink *l)
{
	size_t n = hp_pb_bytes_field_len(l->hash_len);
	if (l->has_name)
		n += hp_pb_bytes_field_len(l->name_len);
	if (l->has_tsize)
		n += 1 + hp_varint_len(l->tsize);
	return n;
}

size_t hp_dagpb_link_len(const hp_pblink *l)
{
	return hp_pb_bytes_field_len(link_body_len(l));
}

size_t hp_dagpb_encoded_len(const hp_pbnode *n)
{
	size_t len = 0;
	for (size_t i = 0; i < n->nlinks; i++)
		len += hp_dagpb_link_len(&n->links[i]);
	if (n->has_data)
		len += hp_pb_bytes_field_len(n->data_len);
	return len;
}

static uint8_t *put_bytes(uint8_t *o, uint8_t key, const void *p, size_t n)
{
	*o++ = key;
	o += hp_varint_put(n, o);
	if (n)
		memcpy(o, p, n);
	return o + n;
}

hp_code hp_dagpb_encode(const hp_pbnode *n, hp_buf *out, hp_err *e)
{
	size_t len = hp_dagpb_encoded_len(n);
	hp_code rc = hp_buf_grow(out, len, e);
	if (rc)
		return rc;
	uint8_t *o = (uint8_t *)out->data + out->len;
	uint8_t *start = o;
	for (size_t i = 0; i < n->nlinks; i++) {
		const hp_pblink *l = &n->links[i];
		*o++ = KEY_NODE_LINKS;
		o += hp_varint_put(link_body_len(l), o);
		o = put_bytes(o, KEY_LINK_HASH, l->hash, l->hash_len);
		if (l->has_name)
			o = put_bytes(o, KEY_LINK_NAME, l->name, l->name_len);
		if (l->has_tsize) {
			*o++ = KEY_LINK_TSIZE;
			o += hp_varint_put(l->tsize, o);
		}
	}
	if (n->has_data)
		o = put_bytes(o, KEY_NODE_DATA, n->data, n->data_len);
	if ((size_t)(o - start) != len)
		return hp_fail(e, HP_E_INTERNAL, "dag-pb: encoded %zu bytes instead of %zu", (size_t)(o - start), len);
	out->len += len;
	out->data[out->len] = '\0';
	return HP_OK;
}

/* ---- decoding ---- */

typedef struct rd {
	const uint8_t *base;  /* the block, for offsets in messages */
	const uint8_t *p;
	const uint8_t *end;
	hp_err *e;
} rd;

static hp_code bad(rd *r, const uint8_t *at, const char *what)
{
	return hp_fail(r->e, HP_E_DATA, "dag-pb: %s at offset %zu", what, (size_t)(at - r->base));
}

static hp_code get_varint(rd *r, uint64_t *v, const char *what)
{
	size_t k = hp_pb_varint_get(r->p, (size_t)(r->end - r->p), v);
	if (!k)
		return bad(r, r->p, what);
	r->p += k;
	return HP_OK;
}

/* A length-delimited value: *p and *n. */
static hp_code get_bytes(rd *r, const uint8_t **p, size_t *n, const char *what)
{
	uint64_t len;
	const uint8_t *at = r->p;
	hp_code rc = get_varint(r, &len, what);
	if (rc)
		return rc;
	if (len > (uint64_t)(r->end - r->p))
		return bad(r, at, what);
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return HP_OK;
}

static hp_code decode_link(rd *node, const uint8_t *p, size_t n, hp_pblink *l)
{
	rd r = { node->base, p, p + n, node->e };
	int last = 0;  /* the last field seen: 1 Hash, 2 Name, 3 Tsize */
	hp_code rc;
	memset(l, 0, sizeof *l);
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint64_t key;
		if ((rc = get_varint(&r, &key, "bad PBLink field key")))
			return rc;
		int field = key >> 3 <= 3 ? (int)(key >> 3) : 4;
		if (field == 0 || field == 4)
			return bad(&r, at, "unknown PBLink field");
		if (field <= last)
			return bad(&r, at, field == last ? "repeated PBLink field" : "PBLink fields out of order");
		last = field;
		if (field == 1) {
			if (key != KEY_LINK_HASH)
				return bad(&r, at, "wrong wire type for PBLink Hash");
			if ((rc = get_bytes(&r, &l->hash, &l->hash_len, "bad PBLink Hash length")))
				return rc;
			size_t used;
			hp_err sub = HP_ERR_INIT;
			if (hp_cid_parse_bytes(l->hash, l->hash_len, &l->cid, &used, &sub) != HP_OK ||
			    used != l->hash_len)
				return bad(&r, at, "PBLink Hash is not a CID");
		} else if (field == 2) {
			if (key != KEY_LINK_NAME)
				return bad(&r, at, "wrong wire type for PBLink Name");
			const uint8_t *s;
			if ((rc = get_bytes(&r, &s, &l->name_len, "bad PBLink Name length")))
				return rc;
			l->name = (const char *)s;
			l->has_name = true;
		} else {
			if (key != KEY_LINK_TSIZE)
				return bad(&r, at, "wrong wire type for PBLink Tsize");
			if ((rc = get_varint(&r, &l->tsize, "bad PBLink Tsize")))
				return rc;
			l->has_tsize = true;
		}
	}
	if (!l->hash)
		return bad(&r, p, "PBLink without Hash");
	return HP_OK;
}

hp_code hp_dagpb_decode(const uint8_t *p, size_t n, hp_pbnode *out, hp_err *e)
{
	memset(out, 0, sizeof *out);
	if (n > HP_DAGPB_MAX_BLOCK)
		return hp_fail(e, HP_E_DATA, "dag-pb: a block of %zu bytes (at most %u)", n, HP_DAGPB_MAX_BLOCK);
	rd r = { p, p, p + n, e };
	hp_code rc = HP_OK;
	size_t cap = 0;
	while (!rc && r.p < r.end) {
		const uint8_t *at = r.p;
		uint64_t key;
		if ((rc = get_varint(&r, &key, "bad PBNode field key")))
			break;
		if (key == KEY_NODE_DATA) {
			if (out->has_data) {
				rc = bad(&r, at, "second PBNode Data");
				break;
			}
			if ((rc = get_bytes(&r, &out->data, &out->data_len, "bad PBNode Data length")))
				break;
			out->has_data = true;
		} else if (key == KEY_NODE_LINKS) {
			if (out->has_data) {
				rc = bad(&r, at, "PBNode Links after Data");
				break;
			}
			const uint8_t *lp;
			size_t ln;
			if ((rc = get_bytes(&r, &lp, &ln, "bad PBNode Links length")))
				break;
			if (out->nlinks == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				hp_pblink *v = realloc(out->links, ncap * sizeof *v);
				if (!v) {
					rc = hp_fail_nomem(e);
					break;
				}
				out->links = v;
				cap = ncap;
			}
			if ((rc = decode_link(&r, lp, ln, &out->links[out->nlinks])))
				break;
			out->nlinks++;
		} else if ((key >> 3) == 1 || (key >> 3) == 2) {
			rc = bad(&r, at, "wrong wire type for a PBNode field");
		} else {
			rc = bad(&r, at, "unknown PBNode field");
		}
	}
	if (rc)
		hp_pbnode_free(out);
	return rc;
}

void hp_pbnode_free(hp_pbnode *n)
{
	free(n->links);
	memset(n, 0, sizeof *n);
}
