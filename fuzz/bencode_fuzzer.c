/* Fuzz hp_bencode_parse and the writer.
 *
 * - a refusal is HP_E_DATA naming the input and the offset (or HP_E_NOMEM);
 * - an accepted document is canonical, so copying it through the writer
 *   gives back exactly the input bytes;
 * - the node array is consistent: spans nest, counts match the children,
 *   and every key of every dictionary is found by hp_bencode_get. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_bencode.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_nodes(const hp_bencode_doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const hp_bencode_node *n = &d->v[i];
		if (n->next <= i || n->next > d->n || n->off + n->len > d->len || n->len == 0)
			abort();
		if (n->type != HP_BENCODE_LIST && n->type != HP_BENCODE_DICT) {
			if (n->next != i + 1)
				abort();
			continue;
		}
		size_t kids = 0;
		const hp_bencode_node *prev = NULL;
		for (const hp_bencode_node *c = hp_bencode_first(d, n); c; c = hp_bencode_next(d, n, c)) {
			if (c->off < n->off || c->off + c->len > n->off + n->len)
				abort();  /* a child inside its parent */
			if (prev && c->off != prev->off + prev->len)
				abort();  /* siblings back to back */
			if (n->type == HP_BENCODE_DICT && kids % 2 == 0) {
				if (c->type != HP_BENCODE_STR)
					abort();
				/* the key, as a C string, finds its value when it holds no NUL */
				if (!memchr(c->str, 0, c->str_len)) {
					char *k = malloc(c->str_len + 1);
					if (k) {
						memcpy(k, c->str, c->str_len);
						k[c->str_len] = '\0';
						if (hp_bencode_get(d, n, k) != hp_bencode_next(d, n, c))
							abort();
						free(k);
					}
				}
			}
			prev = c;
			kids++;
		}
		if (kids != (n->type == HP_BENCODE_DICT ? 2 * n->count : n->count))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_bencode_parse((const char *)data, size, "input", NULL, &d, &e);
	if (rc) {
		if (rc != HP_E_DATA && rc != HP_E_NOMEM)
			abort();
		if (rc == HP_E_DATA && strncmp(e.msg, "input: bencode error at offset ", 31) != 0)
			abort();
		if (d.v || d.n)
			abort();
		return 0;
	}
	if (d.n == 0 || d.v[0].off != 0 || d.v[0].len != size || d.v[0].next != d.n)
		abort();
	check_nodes(&d);
	hp_buf out = HP_BUF_INIT;
	hp_bencode_writer w;
	hp_bencode_writer_init(&w, &out, &e);
	hp_bencode_copy(&w, &d, &d.v[0]);
	rc = hp_bencode_writer_finish(&w);
	if (rc == HP_OK && (out.len != size || memcmp(out.data, data, size) != 0))
		abort();  /* canonical: the writer gives back the same bytes */
	if (rc != HP_OK && rc != HP_E_NOMEM && !(rc == HP_E_INTERNAL && strstr(e.msg, "nested")))
		abort();
	hp_buf_release(&out);
	hp_bencode_free(&d);
	return 0;
}
