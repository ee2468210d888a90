/* hp_trust: a set of trusted public keys, read from a trust file. */
#include "hp_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_buf.h"
#include "hp_io.h"
#include "hp_sign.h"
#include "banned.h"

struct hp_trust {
	uint8_t (*keys)[32];
	size_t n;
	size_t cap;
};

hp_code hp_trust_new(hp_trust **out, hp_err *e)
{
	hp_trust *t = calloc(1, sizeof *t);
	if (!t)
		return hp_fail_nomem(e);
	*out = t;
	return HP_OK;
}

void hp_trust_free(hp_trust *t)
{
	if (!t)
		return;
	free(t->keys);
	free(t);
}

bool hp_trust_contains(const hp_trust *t, const uint8_t pk[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->keys[i], pk, 32) == 0)
			return true;
	return false;
}

size_t hp_trust_count(const hp_trust *t)
{
	return t->n;
}

const uint8_t *hp_trust_key(const hp_trust *t, size_t i)
{
	return i < t->n ? t->keys[i] : NULL;
}

hp_code hp_trust_add(hp_trust *t, const uint8_t pk[32], hp_err *e)
{
	if (hp_trust_contains(t, pk))
		return HP_OK;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		uint8_t(*k)[32] = realloc(t->keys, cap * sizeof *k);
		if (!k)
			return hp_fail_nomem(e);
		t->keys = k;
		t->cap = cap;
	}
	memcpy(t->keys[t->n++], pk, 32);
	return HP_OK;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	return n >= m && memcmp(s, prefix, m) == 0;
}

/* One line of [*p, end) with surrounding blanks trimmed; false at the end. */
static bool next_line(const char **p, const char *end, const char **s, size_t *n)
{
	if (*p >= end)
		return false;
	const char *a = *p;
	const char *nl = memchr(a, '\n', (size_t)(end - a));
	const char *z = nl ? nl : end;
	*p = nl ? nl + 1 : end;
	while (a < z && blank(*a))
		a++;
	while (z > a && blank(z[-1]))
		z--;
	*s = a;
	*n = (size_t)(z - a);
	return true;
}

static hp_code parse_into(hp_trust *t, const char *text, size_t len, const char *qname, hp_err *e)
{
	const char *p = text, *end = text + len, *s;
	size_t n, line = 0;
	char what[400];
	hp_code rc;
	while (next_line(&p, end, &s, &n)) {
		line++;
		if (n == 0 || s[0] == '#')
			continue;
		snprintf(what, sizeof what, "%s line %zu", qname, line);
		uint8_t pk[32];
		if (starts_with(s, n, "-----BEGIN ")) {
			const char *start = s, *stop = NULL;
			while (next_line(&p, end, &s, &n)) {
				line++;
				if (starts_with(s, n, "-----END ")) {
					stop = s + n;
					break;
				}
			}
			if (!stop)
				return hp_fail(e, HP_E_DATA, "%s: the PEM block has no '-----END' line",
					       what);
			rc = hp_pubkey_parse_named(start, (size_t)(stop - start), what, pk, e);
		} else if (starts_with(s, n, "untrusted comment:")) {
			if (!next_line(&p, end, &s, &n))
				return hp_fail(e, HP_E_DATA,
					       "%s: a minisign public key line should follow", what);
			line++;
			snprintf(what, sizeof what, "%s line %zu", qname, line);
			rc = hp_pubkey_parse_named(s, n, what, pk, e);
		} else {
			/* a key, optionally followed by blanks and a '#' comment */
			size_t k = 0;
			while (k < n && !blank(s[k]))
				k++;
			size_t c = k;
			while (c < n && blank(s[c]))
				c++;
			if (c < n && s[c] != '#')
				return hp_fail(e, HP_E_DATA,
					       "%s: one key per line (a comment starts with '#')", what);
			rc = hp_pubkey_parse_named(s, k, what, pk, e);
		}
		if (rc)
			return rc;
		if ((rc = hp_trust_add(t, pk, e)))
			return rc;
	}
	if (t->n == 0)
		return hp_fail(e, HP_E_DATA, "%s holds no public keys", qname);
	return HP_OK;
}

hp_code hp_trust_parse(const char *text, size_t len, const char *name, hp_trust **out, hp_err *e)
{
	char q[300], qname[310];
	hp_quote(name, strlen(name), q, sizeof q);
	snprintf(qname, sizeof qname, "'%s'", q);
	hp_trust *t = NULL;
	hp_code rc = hp_trust_new(&t, e);
	if (rc)
		return rc;
	if ((rc = parse_into(t, text, len, qname, e))) {
		hp_trust_free(t);
		return rc;
	}
	*out = t;
	return HP_OK;
}

hp_code hp_trust_load(const char *path, hp_trust **out, hp_err *e)
{
	hp_buf b;
	hp_buf_init(&b, HP_TRUST_FILE_MAX);
	hp_code rc = hp_read_file(path, HP_TRUST_FILE_MAX, &b, e);
	if (!rc)
		rc = hp_trust_parse(b.data, b.len, strcmp(path, "-") == 0 ? "<stdin>" : path, out, e);
	hp_buf_release(&b);
	return rc;
}
