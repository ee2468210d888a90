#include "hp_bencode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"

#include "banned.h"

#define DEFAULT_DEPTH 100
#define DEFAULT_NODES 4000000u
#define MAX_DEPTH 1000  /* what a caller may ask for: the open containers live in a heap array */

/* Bytewise order of two strings, the shorter first on a common prefix. */
static int keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

typedef struct open_c {
	size_t node;
	bool dict;
	bool want_key;
	size_t last_key;  /* node index of the previous key, SIZE_MAX before the first */
} open_c;

typedef struct parser {
	const char *p;
	size_t len, pos;
	const char *what;
	hp_err *e;
	hp_bencode_doc *doc;
	size_t max_nodes;
} parser;

__attribute__((format(printf, 3, 4)))
static hp_code perr(parser *ps, size_t at, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return hp_fail(ps->e, HP_E_DATA, "%s: bencode error at offset %zu: %s", ps->what, at, why);
}

static hp_code new_node(parser *ps, hp_bencode_type t, size_t *idx)
{
	hp_bencode_doc *d = ps->doc;
	if (d->n >= ps->max_nodes)
		return perr(ps, ps->pos, "more than %zu values", ps->max_nodes);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		if (cap > ps->max_nodes)
			cap = ps->max_nodes;
		hp_bencode_node *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return hp_fail_nomem(ps->e);
		d->v = v;
		d->cap = cap;
	}
	hp_bencode_node *n = &d->v[d->n];
	memset(n, 0, sizeof *n);
	n->type = t;
	n->off = ps->pos;
	*idx = d->n++;
	return HP_OK;
}

static hp_code parse_int(parser *ps, hp_bencode_node *n)
{
	size_t start = ps->pos;
	size_t i = ps->pos + 1;  /* past 'i' */
	bool neg = false;
	if (i < ps->len && ps->p[i] == '-') {
		neg = true;
		i++;
	}
	size_t digits = i;
	uint64_t v = 0;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (i < ps->len && is_digit(ps->p[i])) {
		unsigned dgt = (unsigned)(ps->p[i] - '0');
		if (v > (limit - dgt) / 10)
			return perr(ps, start, "integer out of range");
		v = v * 10 + dgt;
		i++;
	}
	if (i >= ps->len)
		return perr(ps, i, "unexpected end of data in an integer");
	if (ps->p[i] != 'e')
		return perr(ps, i, "unexpected byte 0x%02x in an integer", (unsigned char)ps->p[i]);
	if (i == digits)
		return perr(ps, start, "integer without digits");
	if (ps->p[digits] == '0' && i - digits > 1)
		return perr(ps, start, "integer with a leading zero");
	if (neg && v == 0)
		return perr(ps, start, "negative zero");
	n->num = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	ps->pos = i + 1;
	n->len = ps->pos - start;
	return HP_OK;
}

static hp_code parse_str(parser *ps, hp_bencode_node *n)
{
	size_t start = ps->pos, i = ps->pos;
	size_t v = 0;
	while (i < ps->len && is_digit(ps->p[i])) {
		unsigned dgt = (unsigned)(ps->p[i] - '0');
		if (v > (SIZE_MAX - dgt) / 10)
			return perr(ps, start, "string length out of range");
		v = v * 10 + dgt;
		i++;
	}
	if (i >= ps->len)
		return perr(ps, i, "unexpected end of data in a string length");
	if (ps->p[i] != ':')
		return perr(ps, i, "unexpected byte 0x%02x in a string length", (unsigned char)ps->p[i]);
	if (ps->p[start] == '0' && i - start > 1)
		return perr(ps, start, "string length with a leading zero");
	i++;
	if (v > ps->len - i)
		return perr(ps, start, "string of %zu bytes runs past the end of the data", v);
	n->str = ps->p + i;
	n->str_len = v;
	ps->pos = i + v;
	n->len = ps->pos - start;
	return HP_OK;
}

hp_code hp_bencode_parse(const char *data, size_t len, const char *what,
			 const hp_bencode_limits *lim, hp_bencode_doc *doc, hp_err *e)
{
	unsigned max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
	if (max_depth > MAX_DEPTH)
		max_depth = MAX_DEPTH;
	parser ps = { data, len, 0, what ? what : "input", e, doc,
		      lim && lim->max_nodes ? lim->max_nodes : DEFAULT_NODES };
	doc->v = NULL;
	doc->n = doc->cap = 0;
	doc->data = data;
	doc->len = len;
	open_c *stack = NULL;
	unsigned depth = 0;
	hp_code rc = HP_OK;

	if (len == 0) {
		rc = perr(&ps, 0, "no data");
		goto out;
	}
	for (;;) {
		if (ps.pos >= len) {
			rc = perr(&ps, ps.pos, "unexpected end of data (%u unclosed)", depth);
			goto out;
		}
		char c = data[ps.pos];
		open_c *top = depth ? &stack[depth - 1] : NULL;
		size_t done_idx = 0;  /* the value just completed */
		if (c == 'e') {
			if (!top) {
				rc = perr(&ps, ps.pos, "unexpected 'e'");
				goto out;
			}
			if (top->dict && !top->want_key) {
				rc = perr(&ps, ps.pos, "dictionary key without a value");
				goto out;
			}
			ps.pos++;
			hp_bencode_node *n = &doc->v[top->node];
			n->len = ps.pos - n->off;
			n->next = doc->n;
			done_idx = top->node;
			depth--;
			top = depth ? &stack[depth - 1] : NULL;
		} else {
			if (top && top->dict && top->want_key && !is_digit(c)) {
				rc = perr(&ps, ps.pos, "dictionary key is not a string");
				goto out;
			}
			hp_bencode_type t = c == 'i' ? HP_BENCODE_INT : c == 'l' ? HP_BENCODE_LIST
					  : c == 'd' ? HP_BENCODE_DICT : is_digit(c) ? HP_BENCODE_STR : 0;
			if (!t) {
				rc = perr(&ps, ps.pos, "unexpected byte 0x%02x", (unsigned char)c);
				goto out;
			}
			size_t idx = 0;
			if ((rc = new_node(&ps, t, &idx)))
				goto out;
			hp_bencode_node *n = &doc->v[idx];
			if (t == HP_BENCODE_LIST || t == HP_BENCODE_DICT) {
				if (depth >= max_depth) {
					rc = perr(&ps, ps.pos, "nested deeper than %u", max_depth);
					goto out;
				}
				if (!stack && !(stack = malloc((size_t)max_depth * sizeof *stack))) {
					rc = hp_fail_nomem(e);
					goto out;
				}
				/* count this container in its parent now; its key order
				 * was checked when the key came */
				if (top) {
					if (top->dict)
						top->want_key = true;
					doc->v[top->node].count++;
				}
				stack[depth++] = (open_c){ idx, t == HP_BENCODE_DICT, true, SIZE_MAX };
				ps.pos++;
				continue;
			}
			rc = t == HP_BENCODE_INT ? parse_int(&ps, n) : parse_str(&ps, n);
			if (rc)
				goto out;
			n->next = idx + 1;
			done_idx = idx;
			if (top && top->dict && top->want_key) {
				/* a key: strictly after the previous one */
				if (top->last_key != SIZE_MAX) {
					const hp_bencode_node *k = &doc->v[top->last_key];
					int cmp = keycmp(k->str, k->str_len, n->str, n->str_len);
					if (cmp >= 0) {
						char q[80];
						hp_quote(n->str, n->str_len, q, sizeof q);
						rc = perr(&ps, n->off, cmp == 0 ? "duplicate dictionary key '%s'"
									  : "dictionary key '%s' out of order", q);
						goto out;
					}
				}
				top->last_key = idx;
				top->want_key = false;
				continue;
			}
		}
		/* a value (scalar, or a container just closed) is complete */
		if (!top)
			break;
		if (top->dict) {
			if (doc->v[done_idx].type == HP_BENCODE_LIST || doc->v[done_idx].type == HP_BENCODE_DICT)
				continue;  /* counted when it opened */
			top->want_key = true;
		}
		if (doc->v[done_idx].type != HP_BENCODE_LIST && doc->v[done_idx].type != HP_BENCODE_DICT)
			doc->v[top->node].count++;
	}
	if (ps.pos != len)
		rc = perr(&ps, ps.pos, "data after the end of the value");
out:
	free(stack);
	if (rc)
		hp_bencode_free(doc);
	return rc;
}

void hp_bencode_free(hp_bencode_doc *doc)
{
	free(doc->v);
	doc->v = NULL;
	doc->n = doc->cap = 0;
}

const hp_bencode_node *hp_bencode_first(const hp_bencode_doc *doc, const hp_bencode_node *c)
{
	if (!c || (c->type != HP_BENCODE_LIST && c->type != HP_BENCODE_DICT))
		return NULL;
	size_t i = (size_t)(c - doc->v) + 1;
	return i < c->next ? &doc->v[i] : NULL;
}

const hp_bencode_node *hp_bencode_next(const hp_bencode_doc *doc, const hp_bencode_node *c,
				       const hp_bencode_node *child)
{
	return child->next < c->next ? &doc->v[child->next] : NULL;
}

bool hp_bencode_str_is(const hp_bencode_node *n, const char *s)
{
	size_t sl = strlen(s);
	return n && n->type == HP_BENCODE_STR && n->str_len == sl && memcmp(n->str, s, sl) == 0;
}

const hp_bencode_node *hp_bencode_get(const hp_bencode_doc *doc, const hp_bencode_node *d,
				      const char *key)
{
	if (!d || d->type != HP_BENCODE_DICT)
		return NULL;
	size_t kl = strlen(key);
	for (const hp_bencode_node *k = hp_bencode_first(doc, d); k; ) {
		const hp_bencode_node *v = hp_bencode_next(doc, d, k);
		if (!v)
			return NULL;
		int cmp = keycmp(k->str, k->str_len, key, kl);
		if (cmp == 0)
			return v;
		if (cmp > 0)
			return NULL;  /* keys are sorted */
		k = hp_bencode_next(doc, d, v);
	}
	return NULL;
}

const hp_bencode_node *hp_bencode_get_type(const hp_bencode_doc *doc, const hp_bencode_node *d,
					   const char *key, hp_bencode_type type)
{
	const hp_bencode_node *v = hp_bencode_get(doc, d, key);
	return v && v->type == type ? v : NULL;
}

/* ---- writer ---- */

void hp_bencode_writer_init(hp_bencode_writer *w, hp_buf *out, hp_err *e)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->e = e;
}

/* Called before every value: is one allowed here, and is it a key? */
static hp_code before_value(hp_bencode_writer *w, bool is_str, bool *is_key)
{
	*is_key = false;
	if (w->rc)
		return w->rc;
	if (w->depth == 0) {
		if (w->done)
			return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: a second top-level value");
		return HP_OK;
	}
	if (w->lv[w->depth - 1].dict && !w->lv[w->depth - 1].want_value) {
		if (!is_str)
			return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: a dictionary key must be a string");
		*is_key = true;
	}
	return HP_OK;
}

/* Called after every complete value. */
static void after_value(hp_bencode_writer *w, bool was_key)
{
	if (w->depth == 0) {
		w->done = true;
		return;
	}
	if (w->lv[w->depth - 1].dict)
		w->lv[w->depth - 1].want_value = was_key;
}

static hp_code put(hp_bencode_writer *w, const void *p, size_t n)
{
	hp_code rc = hp_buf_add(w->out, p, n, w->e);
	if (rc)
		w->rc = rc;
	return rc;
}

hp_code hp_bencode_int(hp_bencode_writer *w, int64_t v)
{
	bool key;
	if (before_value(w, false, &key))
		return w->rc;
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "i%" PRId64 "e", v);
	if (put(w, tmp, (size_t)n))
		return w->rc;
	after_value(w, false);
	return HP_OK;
}

hp_code hp_bencode_str(hp_bencode_writer *w, const void *p, size_t n)
{
	bool key;
	if (before_value(w, true, &key))
		return w->rc;
	if (key) {
		hp_bencode_level *l = &w->lv[w->depth - 1];
		if (l->have_key && keycmp(w->out->data + l->key_off, l->key_len, p, n) >= 0)
			return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: dictionary keys out of order");
	}
	char tmp[32];
	int hn = snprintf(tmp, sizeof tmp, "%zu:", n);
	if (put(w, tmp, (size_t)hn))
		return w->rc;
	size_t at = w->out->len;
	if (n && put(w, p, n))
		return w->rc;
	if (key) {
		hp_bencode_level *l = &w->lv[w->depth - 1];
		l->have_key = true;
		l->key_off = at;
		l->key_len = n;
	}
	after_value(w, key);
	return HP_OK;
}

hp_code hp_bencode_strz(hp_bencode_writer *w, const char *s)
{
	return hp_bencode_str(w, s, strlen(s));
}

static hp_code open_container(hp_bencode_writer *w, bool dict)
{
	bool key;
	if (before_value(w, false, &key))
		return w->rc;
	if (w->depth >= HP_BENCODE_WRITER_DEPTH)
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: nested deeper than %d", HP_BENCODE_WRITER_DEPTH);
	if (put(w, dict ? "d" : "l", 1))
		return w->rc;
	memset(&w->lv[w->depth], 0, sizeof w->lv[0]);
	w->lv[w->depth].dict = dict;
	w->depth++;
	return HP_OK;
}

hp_code hp_bencode_list(hp_bencode_writer *w)
{
	return open_container(w, false);
}

hp_code hp_bencode_dict(hp_bencode_writer *w)
{
	return open_container(w, true);
}

hp_code hp_bencode_end(hp_bencode_writer *w)
{
	if (w->rc)
		return w->rc;
	if (w->depth == 0)
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: 'end' with nothing open");
	if (w->lv[w->depth - 1].dict && w->lv[w->depth - 1].want_value)
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: dictionary key without a value");
	if (put(w, "e", 1))
		return w->rc;
	w->depth--;
	after_value(w, false);
	return HP_OK;
}

hp_code hp_bencode_copy(hp_bencode_writer *w, const hp_bencode_doc *doc, const hp_bencode_node *n)
{
	switch (n->type) {
	case HP_BENCODE_INT:
		return hp_bencode_int(w, n->num);
	case HP_BENCODE_STR:
		return hp_bencode_str(w, n->str, n->str_len);
	case HP_BENCODE_LIST:
	case HP_BENCODE_DICT:
		break;
	default:
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: bad node");
	}
	/* containers: iteratively, children through the flat array; the depth
	 * was bounded by the parser, and the writer bounds it again */
	if (open_container(w, n->type == HP_BENCODE_DICT))
		return w->rc;
	size_t end = n->next;
	size_t i = (size_t)(n - doc->v) + 1;
	/* ends[k]: where the k-th open container (below n) ends */
	size_t ends[HP_BENCODE_WRITER_DEPTH];
	unsigned open = 0;
	while (i < end) {
		while (open && i == ends[open - 1]) {
			if (hp_bencode_end(w))
				return w->rc;
			open--;
		}
		const hp_bencode_node *c = &doc->v[i];
		if (c->type == HP_BENCODE_LIST || c->type == HP_BENCODE_DICT) {
			if (open_container(w, c->type == HP_BENCODE_DICT))
				return w->rc;
			if (open >= HP_BENCODE_WRITER_DEPTH)
				return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: nested too deep");
			ends[open++] = c->next;
			i++;
			continue;
		}
		if (c->type == HP_BENCODE_INT ? hp_bencode_int(w, c->num) : hp_bencode_str(w, c->str, c->str_len))
			return w->rc;
		i++;
	}
	while (open--) {
		if (hp_bencode_end(w))
			return w->rc;
	}
	return hp_bencode_end(w);
}

hp_code hp_bencode_writer_finish(hp_bencode_writer *w)
{
	if (w->rc)
		return w->rc;
	if (w->depth)
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: %u containers left open", w->depth);
	if (!w->done)
		return w->rc = hp_fail(w->e, HP_E_INTERNAL, "bencode: no value written");
	return HP_OK;
}
