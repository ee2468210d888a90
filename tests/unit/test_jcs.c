/* hp_jcs: RFC 8785 against recorded vectors.
 *
 * - tests/vectors/jcs/cases/<name>/{input,output}.json: every case, in both
 *   directions (canonical output, and canonicalizing the output again is a
 *   no-op);
 * - tests/vectors/jcs/numbers/NAME.txt: "hex-ieee,expected" lines (the ES6
 *   number test file of cyberphone/json-canonicalization, powers of two);
 * - RFC 8785 Appendix B, the table below.
 * Files are found under $HP_ROOT, else the current directory. */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "hp_jcs.h"
#include "hp_json.h"
#include "tap.h"

#include "banned.h"

static const char *root(void)
{
	const char *r = getenv("HP_ROOT");
	return r && *r ? r : ".";
}

static double from_bits(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

/* RFC 8785 Appendix B; NULL: not representable (NaN, Infinity). */
static const struct {
	uint64_t bits;
	const char *text;
} appendix_b[] = {
	{ 0x0000000000000000, "0" },
	{ 0x8000000000000000, "0" },
	{ 0x0000000000000001, "5e-324" },
	{ 0x8000000000000001, "-5e-324" },
	{ 0x7fefffffffffffff, "1.7976931348623157e+308" },
	{ 0xffefffffffffffff, "-1.7976931348623157e+308" },
	{ 0x4340000000000000, "9007199254740992" },
	{ 0xc340000000000000, "-9007199254740992" },
	{ 0x4430000000000000, "295147905179352830000" },
	{ 0x7fffffffffffffff, NULL },
	{ 0x7ff0000000000000, NULL },
	{ 0x44b52d02c7e14af5, "9.999999999999997e+22" },
	{ 0x44b52d02c7e14af6, "1e+23" },
	{ 0x44b52d02c7e14af7, "1.0000000000000001e+23" },
	{ 0x444b1ae4d6e2ef4e, "999999999999999700000" },
	{ 0x444b1ae4d6e2ef4f, "999999999999999900000" },
	{ 0x444b1ae4d6e2ef50, "1e+21" },
	{ 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7" },
	{ 0x3eb0c6f7a0b5ed8d, "0.000001" },
	{ 0x41b3de4355555553, "333333333.3333332" },
	{ 0x41b3de4355555554, "333333333.33333325" },
	{ 0x41b3de4355555555, "333333333.3333333" },
	{ 0x41b3de4355555556, "333333333.3333334" },
	{ 0x41b3de4355555557, "333333333.33333343" },
	{ 0xbecbf647612f3696, "-0.0000033333333333333333" },
	{ 0x43143ff3c1cb0959, "1424953923781206.2" },
};

static void test_appendix_b(void)
{
	for (size_t i = 0; i < sizeof appendix_b / sizeof appendix_b[0]; i++) {
		char out[32];
		hp_err e = HP_ERR_INIT;
		hp_code rc = hp_jcs_number(from_bits(appendix_b[i].bits), out, &e);
		if (appendix_b[i].text) {
			is_str(rc == HP_OK ? out : e.msg, appendix_b[i].text, "Appendix B %016llx is %s",
			       (unsigned long long)appendix_b[i].bits, appendix_b[i].text);
		} else {
			is_int(rc, HP_E_DATA, "Appendix B %016llx is refused", (unsigned long long)appendix_b[i].bits);
		}
	}
	char out[32];
	hp_err e = HP_ERR_INIT;
	is_int(hp_jcs_number(from_bits(0xfff0000000000000), out, &e), HP_E_DATA, "-Infinity is refused");
	is_str(e.msg, "-Infinity cannot be represented in JSON", "-Infinity message");
}

/* A few more from the ECMAScript rules, by value. */
static void test_number_forms(void)
{
	static const struct {
		double d;
		const char *text;
	} forms[] = {
		{ 1e21, "1e+21" }, { 1e20, "100000000000000000000" }, { 1e-7, "1e-7" },
		{ 0.000001, "0.000001" }, { -0.0, "0" }, { 333333333.33333329, "333333333.3333333" },
		{ 0.1, "0.1" }, { 100, "100" }, { -1.5, "-1.5" }, { 123e-20, "1.23e-18" },
		{ 1.5e300, "1.5e+300" }, { 4.35, "4.35" }, { 0.5, "0.5" }, { 1e-6 * 1.5, "0.0000015" },
		{ 12345678.9, "12345678.9" }, { 9007199254740993.0, "9007199254740992" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char out[32];
		hp_err e = HP_ERR_INIT;
		hp_code rc = hp_jcs_number(forms[i].d, out, &e);
		is_str(rc == HP_OK ? out : e.msg, forms[i].text, "number form %zu", i);
	}
}

/* One test per file of "hex-ieee,expected" lines. */
static void run_number_file(const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/vectors/jcs/numbers/%s", root(), name);
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	if (!ok(hp_read_file(path, 64u << 20, &b, &e) == HP_OK, "read %s", name)) {
		printf("#   %s\n", e.msg);
		return;
	}
	size_t lines = 0, bad = 0;
	char *p = b.data, *end = b.data + b.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		*nl = '\0';
		char *comma = strchr(p, ',');
		if (comma) {
			*comma = '\0';
			double d = from_bits(strtoull(p, NULL, 16));
			char out[32];
			hp_code rc = hp_jcs_number(d, out, &e);
			lines++;
			if (rc != HP_OK || strcmp(out, comma + 1) != 0) {
				if (bad++ < 10)
					printf("#   %s: got %s, want %s\n", p, rc ? e.msg : out, comma + 1);
			}
		}
		p = nl + 1;
	}
	ok(bad == 0 && lines > 0, "%s: %zu numbers, %zu wrong", name, lines, bad);
	hp_buf_release(&b);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static hp_code read_case_file(const char *name, const char *file, hp_buf *out, hp_err *e)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/vectors/jcs/cases/%s/%s", root(), name, file);
	return hp_read_file(path, 1u << 20, out, e);
}

static void run_case(const char *name)
{
	hp_buf in = HP_BUF_INIT, want = HP_BUF_INIT, got = HP_BUF_INIT, again = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	json_t *j = NULL, *j2 = NULL;
	if (!ok(read_case_file(name, "input.json", &in, &e) == HP_OK &&
		read_case_file(name, "output.json", &want, &e) == HP_OK, "%s: vector files", name)) {
		printf("#   %s\n", e.msg);
		goto out;
	}
	/* The serializer is under test, so load with jansson directly (a case may
	 * hold \u0000, which hp_json_parse refuses by design). */
	json_error_t jerr;
	j = json_loadb(in.data, in.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!ok(j != NULL, "%s: input parses", name)) {
		printf("#   %s\n", jerr.text);
		goto out;
	}
	is_int(hp_jcs_serialize(j, &got, &e), HP_OK, "%s: canonicalizes", name);
	if (!is_mem(got.data, got.len, want.data, want.len, "%s: output is byte-exact", name))
		printf("#   got  %s\n#   want %s\n", got.data, want.data);

	/* the same through hp_json_parse, unless the input holds \u0000 */
	json_decref(j);
	j = NULL;
	if (!strstr(in.data, "\\u0000")) {
		hp_buf_reset(&got);
		ok(hp_json_parse(in.data, in.len, name, &j, &e) == HP_OK &&
		   hp_jcs_serialize(j, &got, &e) == HP_OK &&
		   got.len == want.len && memcmp(got.data, want.data, want.len) == 0,
		   "%s: same bytes through hp_json_parse", name);
	}

	/* canonical output is a fixed point (when jansson can read it back: an
	 * integer-valued number of 2^63 or more prints as an integer jansson
	 * refuses) */
	j2 = json_loadb(want.data, want.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!j2 && json_error_code(&jerr) == json_error_numeric_overflow)
		ok(strstr(jerr.text, "too big") != NULL,
		   "%s: output has integers beyond 64 bits, which jansson refuses to read back (%s)", name,
		   jerr.text);
	else
		ok(j2 && hp_jcs_serialize(j2, &again, &e) == HP_OK && again.len == want.len &&
		   memcmp(again.data, want.data, want.len) == 0,
		   "%s: canonicalizing the output again is a no-op", name);
out:
	json_decref(j);
	json_decref(j2);
	hp_buf_release(&in);
	hp_buf_release(&want);
	hp_buf_release(&got);
	hp_buf_release(&again);
}

static void run_cases(void)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/vectors/jcs/cases", root());
	DIR *d = opendir(dir);
	if (!ok(d != NULL, "open %s", dir))
		return;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, compare_names);
	ok(n >= 6, "%zu cases found", n);
	for (size_t i = 0; i < n; i++) {
		run_case(names[i]);
		free(names[i]);
	}
	free(names);
}

/* Values built in C, which no parser would hand us. */
static void test_built_values(void)
{
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;

	json_t *v = json_object();
	json_object_setn_new(v, "a\0b", 3, json_stringn("x\0y", 3));
	json_object_set_new(v, "a", json_integer(9007199254740993));
	json_object_set_new(v, "\xee\x80\x80", json_integer(-9223372036854775807 - 1));
	json_object_set_new(v, "\xf0\x9f\x98\x80", json_real(-0.0));
	is_int(hp_jcs_serialize(v, &b, &e), HP_OK, "a built object");
	is_str(b.data, "{\"a\":9007199254740992,\"a\\u0000b\":\"x\\u0000y\",\"\xf0\x9f\x98\x80\":0,"
		       "\"\xee\x80\x80\":-9223372036854776000}",
	       "NUL escaped, integers read as doubles, U+1F600 before U+E000");
	json_decref(v);

	hp_buf_reset(&b);
	hp_buf_adds(&b, "keep", &e);
	v = json_pack("[s]", "ok");
	json_array_append_new(v, json_stringn_nocheck("\xff", 1));
	is_int(hp_jcs_serialize(v, &b, &e), HP_E_DATA, "a string that is not UTF-8 is refused");
	is_str(e.msg, "a JSON string is not valid UTF-8", "message");
	is_str(b.data, "keep", "the buffer is left as it was");
	json_decref(v);

	v = json_object();
	json_object_setn_new_nocheck(v, "\xc0\xaf", 2, json_true());
	is_int(hp_jcs_serialize(v, &b, &e), HP_E_DATA, "a member name that is not UTF-8 is refused");
	is_str(b.data, "keep", "the buffer is left as it was");
	json_decref(v);

	/* deeper than any parse gives: refused, no crash */
	json_t *top = json_array(), *cur = top;
	for (int i = 0; i < HP_JCS_MAX_DEPTH + 10; i++) {
		json_t *next = i % 2 ? json_array() : json_object();
		if (json_is_array(cur))
			json_array_append_new(cur, next);
		else
			json_object_set_new(cur, "k", next);
		cur = next;
	}
	is_int(hp_jcs_serialize(top, &b, &e), HP_E_DATA, "nesting past HP_JCS_MAX_DEPTH is refused");
	is_str(b.data, "keep", "the buffer is left as it was");
	json_decref(top);

	hp_buf capped;
	hp_buf_init(&capped, 8);
	v = json_pack("{s:s}", "long", "more than eight bytes");
	is_int(hp_jcs_serialize(v, &capped, &e), HP_E_DATA, "the buffer's cap bounds the output");
	is_int(capped.len, 0, "nothing is left behind");
	json_decref(v);
	hp_buf_release(&capped);

	v = json_pack("{s:{}, s:[], s:b}", "o", "a", "t", 0);
	hp_buf_reset(&b);
	is_int(hp_jcs_serialize(v, &b, &e), HP_OK, "empty containers");
	is_str(b.data, "{\"a\":[],\"o\":{},\"t\":false}", "empty containers are kept");
	json_decref(v);
	hp_buf_release(&b);
}

int main(void)
{
	test_appendix_b();
	test_number_forms();
	run_number_file("es6-10000.txt");
	run_number_file("powers-of-two.txt");
	run_cases();
	test_built_values();
	return done();
}
