/* RFC 8785 canonical JSON.
 *
 * Numbers: ECMAScript's Number::toString needs the shortest decimal that
 * reads back as the same double (closest to it when several have that
 * length). Rather than a Ryu-style digit generator, we ask the C library:
 * for a precision p, printf's correctly rounded p-digit decimal is the
 * closest p-digit candidate; when it does not read back, only the p-digit
 * decimal on the other side of the value can (the set of decimals that read
 * back is an interval around it, narrower below a power of two), so that one
 * is tried too. The least p is found by bisection over 1..17. glibc's printf
 * and strtod are exact, so this is exact. The digits are parsed out of "%e"
 * and fed back to strtod without a decimal point, so the locale's radix
 * character never matters. Integers below 2^53 take a direct path. */
#include "hp_jcs.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"

#include "banned.h"

/* ---- numbers ---- */

/* The value digits[0..p) x 10^x10, read back as a double. */
static double read_back(const char *digits, int p, int x10)
{
	char buf[48];
	snprintf(buf, sizeof buf, "%.*se%d", p, digits, x10);
	return strtod(buf, NULL);
}

/* The next p-digit decimal below (dir < 0) or above (dir > 0) digits x 10^(exp-p+1),
 * in place; exp is the decimal exponent of the first digit. */
static void step_decimal(char *digits, int p, int *exp, int dir)
{
	int i = p - 1;
	if (dir > 0) {
		while (i >= 0 && digits[i] == '9')
			digits[i--] = '0';
		if (i >= 0) {
			digits[i]++;
		} else {  /* 99..9 -> 100..0, one decade up */
			digits[0] = '1';
			(*exp)++;
		}
	} else {
		while (i >= 0 && digits[i] == '0')
			digits[i--] = '9';
		digits[i]--;  /* digits[0] is never '0', so i >= 0 here */
		if (digits[0] == '0') {  /* 10..0 -> 99..9, one decade down */
			memset(digits, '9', (size_t)p);
			(*exp)--;
		}
	}
}

/* Is there a p-digit decimal that reads back as d? If so, put the one
 * closest to d in digits[0..p) and the decimal exponent of its first digit
 * in *exp. */
static bool probe(double d, int p, char digits[20], int *exp)
{
	char tmp[48];
	snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
	/* "D.DDDe+XX"; skip whatever the radix character is */
	int nd = 0;
	const char *c = tmp;
	for (; *c && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9' && nd < p)
			digits[nd++] = *c;
	*exp = (int)strtol(*c ? c + 1 : c, NULL, 10);
	double r = read_back(digits, p, *exp - (p - 1));
	if (r == d)
		return true;
	char alt[20];
	int alt_exp = *exp;
	memcpy(alt, digits, (size_t)p);
	step_decimal(alt, p, &alt_exp, r > d ? -1 : 1);
	if (read_back(alt, p, alt_exp - (p - 1)) != d)
		return false;
	memcpy(digits, alt, (size_t)p);
	*exp = alt_exp;
	return true;
}

/* Shortest round-trip digits of d > 0 (finite): digits (no trailing zero),
 * their count *k and the ECMAScript exponent *n (d = 0.digits x 10^n).
 * Whether some p-digit decimal reads back as d is monotone in p (p-digit
 * decimals are (p+1)-digit ones too) and true at 17, so search for the
 * least such p. */
static void shortest_digits(double d, char digits[20], int *k, int *n)
{
	char best[20], cand[20];
	int best_p = 0, best_exp = 0, exp;
	int lo = 1, hi = 17;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (probe(d, mid, cand, &exp)) {
			hi = mid;
			best_p = mid;
			best_exp = exp;
			memcpy(best, cand, (size_t)mid);
		} else {
			lo = mid + 1;
		}
	}
	if (!best_p) {
		best_p = 17;
		probe(d, 17, best, &best_exp);
	}
	int p = best_p;
	memcpy(digits, best, (size_t)p);
	while (p > 1 && digits[p - 1] == '0')
		p--;
	digits[p] = '\0';
	*k = p;
	*n = best_exp + 1;
}

/* Digits of an integer-valued 0 < d < 2^53: exact, no trailing zeros. */
static void integer_digits(double d, char digits[20], int *k, int *n)
{
	uint64_t u = (uint64_t)d;
	char tmp[24];
	int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)u);
	int p = len;
	while (p > 1 && tmp[p - 1] == '0')
		p--;
	memcpy(digits, tmp, (size_t)p);
	digits[p] = '\0';
	*k = p;
	*n = len;
}

hp_code hp_jcs_number(double d, char out[32], hp_err *e)
{
	if (isnan(d))
		return hp_fail(e, HP_E_DATA, "NaN cannot be represented in JSON");
	if (isinf(d))
		return hp_fail(e, HP_E_DATA, "%s cannot be represented in JSON",
			       d < 0 ? "-Infinity" : "Infinity");
	char *o = out;
	if (d == 0) {  /* 0 and -0 */
		o[0] = '0';
		o[1] = '\0';
		return HP_OK;
	}
	if (d < 0) {
		*o++ = '-';
		d = -d;
	}
	char digits[20];
	int k, n;
	if (d < 9007199254740992.0 && d == (double)(uint64_t)d)
		integer_digits(d, digits, &k, &n);
	else
		shortest_digits(d, digits, &k, &n);

	/* ECMA-262 Number::toString, steps for radix 10 */
	if (k <= n && n <= 21) {
		memcpy(o, digits, (size_t)k);
		o += k;
		memset(o, '0', (size_t)(n - k));
		o += n - k;
	} else if (0 < n && n <= 21) {
		memcpy(o, digits, (size_t)n);
		o += n;
		*o++ = '.';
		memcpy(o, digits + n, (size_t)(k - n));
		o += k - n;
	} else if (-6 < n && n <= 0) {
		*o++ = '0';
		*o++ = '.';
		memset(o, '0', (size_t)-n);
		o += -n;
		memcpy(o, digits, (size_t)k);
		o += k;
	} else {
		*o++ = digits[0];
		if (k > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)(k - 1));
			o += k - 1;
		}
		int x = n - 1;
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		o += snprintf(o, 8, "%d", x < 0 ? -x : x);
	}
	*o = '\0';
	return HP_OK;
}

/* ---- strings ---- */

static hp_code add_string(hp_buf *out, const char *s, size_t n, hp_err *e)
{
	static const char hex[] = "0123456789abcdef";
	hp_code rc = hp_buf_addch(out, '"', e);
	size_t run = 0;  /* start of the bytes copied as they are */
	for (size_t i = 0; i < n && rc == HP_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t el = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		esc[0] = '\\';
		switch (c) {
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
			break;
		}
		rc = hp_buf_add(out, s + run, i - run, e);
		if (rc == HP_OK)
			rc = hp_buf_add(out, esc, el, e);
		run = i + 1;
	}
	if (rc == HP_OK)
		rc = hp_buf_add(out, s + run, n - run, e);
	if (rc == HP_OK)
		rc = hp_buf_addch(out, '"', e);
	return rc;
}

/* ---- member names in UTF-16 order ---- */

struct member {
	const char *key;
	size_t len;
	const json_t *value;
};

/* Decode one code point of valid UTF-8. */
static uint32_t next_code_point(const unsigned char *s, size_t *i)
{
	uint32_t c = s[*i];
	if (c < 0x80) {
		*i += 1;
	} else if (c < 0xe0) {
		c = (c & 0x1f) << 6 | (s[*i + 1] & 0x3fu);
		*i += 2;
	} else if (c < 0xf0) {
		c = (c & 0x0f) << 12 | (s[*i + 1] & 0x3fu) << 6 | (s[*i + 2] & 0x3fu);
		*i += 3;
	} else {
		c = (c & 0x07) << 18 | (s[*i + 1] & 0x3fu) << 12 | (s[*i + 2] & 0x3fu) << 6 |
		    (s[*i + 3] & 0x3fu);
		*i += 4;
	}
	return c;
}

/* The first UTF-16 code unit of a code point. */
static uint32_t first_unit(uint32_t cp)
{
	return cp < 0x10000 ? cp : 0xd800 + ((cp - 0x10000) >> 10);
}

/* Compare two valid UTF-8 strings as sequences of UTF-16 code units. Byte
 * (= code point) order differs only between U+E000..U+FFFF and the
 * supplementary planes, whose surrogates sort below U+E000. */
static int utf16_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
	size_t i = 0, j = 0;
	while (i < alen && j < blen) {
		uint32_t ca = next_code_point(ua, &i), cb = next_code_point(ub, &j);
		if (ca == cb)
			continue;
		uint32_t fa = first_unit(ca), fb = first_unit(cb);
		if (fa != fb)
			return fa < fb ? -1 : 1;
		return ca < cb ? -1 : 1;  /* same high surrogate: low ones follow code point order */
	}
	return (i < alen) - (j < blen);
}

static int member_compare(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	return utf16_compare(a->key, a->len, b->key, b->len);
}

/* ---- values ---- */

static hp_code serialize(const json_t *v, hp_buf *out, int depth, hp_err *e);

static hp_code serialize_object(const json_t *v, hp_buf *out, int depth, hp_err *e)
{
	size_t count = json_object_size(v);
	if (count == 0)
		return hp_buf_add(out, "{}", 2, e);
	struct member *m = calloc(count, sizeof *m);
	if (!m)
		return hp_fail_nomem(e);
	size_t i = 0;
	const char *key;
	size_t key_len;
	json_t *value;
	json_object_keylen_foreach((json_t *)v, key, key_len, value) {
		if (i == count)
			break;
		if (!hp_utf8_valid(key, key_len)) {
			free(m);
			return hp_fail(e, HP_E_DATA, "an object member name is not valid UTF-8");
		}
		m[i].key = key;
		m[i].len = key_len;
		m[i].value = value;
		i++;
	}
	qsort(m, i, sizeof *m, member_compare);
	hp_code rc = hp_buf_addch(out, '{', e);
	for (size_t k = 0; k < i && rc == HP_OK; k++) {
		if (k)
			rc = hp_buf_addch(out, ',', e);
		if (rc == HP_OK)
			rc = add_string(out, m[k].key, m[k].len, e);
		if (rc == HP_OK)
			rc = hp_buf_addch(out, ':', e);
		if (rc == HP_OK)
			rc = serialize(m[k].value, out, depth + 1, e);
	}
	if (rc == HP_OK)
		rc = hp_buf_addch(out, '}', e);
	free(m);
	return rc;
}

static hp_code serialize(const json_t *v, hp_buf *out, int depth, hp_err *e)
{
	if (depth > HP_JCS_MAX_DEPTH)
		return hp_fail(e, HP_E_DATA, "JSON value nested more than %d levels deep",
			       HP_JCS_MAX_DEPTH);
	char num[32];
	hp_code rc;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return hp_buf_add(out, "null", 4, e);
	case JSON_TRUE:
		return hp_buf_add(out, "true", 4, e);
	case JSON_FALSE:
		return hp_buf_add(out, "false", 5, e);
	case JSON_INTEGER:
		rc = hp_jcs_number((double)json_integer_value(v), num, e);
		return rc ? rc : hp_buf_adds(out, num, e);
	case JSON_REAL:
		rc = hp_jcs_number(json_real_value(v), num, e);
		return rc ? rc : hp_buf_adds(out, num, e);
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (!hp_utf8_valid(s, n))
			return hp_fail(e, HP_E_DATA, "a JSON string is not valid UTF-8");
		return add_string(out, s, n, e);
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		rc = hp_buf_addch(out, '[', e);
		for (size_t i = 0; i < n && rc == HP_OK; i++) {
			if (i)
				rc = hp_buf_addch(out, ',', e);
			if (rc == HP_OK)
				rc = serialize(json_array_get(v, i), out, depth + 1, e);
		}
		return rc ? rc : hp_buf_addch(out, ']', e);
	}
	case JSON_OBJECT:
		return serialize_object(v, out, depth, e);
	}
	return hp_fail(e, HP_E_INTERNAL, "unknown JSON type %d", (int)json_typeof(v));
}

hp_code hp_jcs_serialize(const json_t *v, hp_buf *out, hp_err *e)
{
	if (!v)
		return hp_fail(e, HP_E_INTERNAL, "no JSON value to canonicalize");
	size_t start = out->len;
	hp_code rc = serialize(v, out, 1, e);
	if (rc)
		hp_buf_truncate(out, start);
	return rc;
}
