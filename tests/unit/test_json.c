/* hp_json: parsing (jq-style messages, refusals, bounds) and the helpers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_json.h"
#include "tap.h"

#include "banned.h"

/* Parse s and check the code and (when want_msg) the message. */
static void parse_fails(const char *s, size_t n, hp_code want, const char *want_msg, const char *name)
{
	json_t *j = (json_t *)1;
	hp_err e = HP_ERR_INIT;
	is_int(hp_json_parse(s, n, "t.json", &j, &e), want, "%s is refused", name);
	ok(j == NULL, "%s: no value is returned", name);
	if (want_msg)
		is_str(e.msg, want_msg, "%s: message", name);
}

static void test_parse_ok(void)
{
	json_t *j = NULL;
	hp_err e = HP_ERR_INIT;
	const char *doc = "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}}\n";
	is_int(hp_json_parse(doc, strlen(doc), "t.json", &j, &e), HP_OK, "an object parses");
	ok(json_is_object(j) && json_array_size(json_object_get(j, "a")) == 3, "with its members");
	json_decref(j);

	static const char *const scalars[] = { "1", "-0", "2.5e3", "\"text\"", "null", "true", "false", " 7 \n" };
	for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
		j = NULL;
		is_int(hp_json_parse(scalars[i], strlen(scalars[i]), "t", &j, &e), HP_OK,
		       "top-level scalar %zu is accepted", i);
		json_decref(j);
	}

	is_int(hp_json_parse("9223372036854775807", 19, "t", &j, &e), HP_OK, "INT64_MAX parses");
	is_int(json_integer_value(j), INT64_MAX, "exactly");
	json_decref(j);
	is_int(hp_json_parse("-9223372036854775808", 20, "t", &j, &e), HP_OK, "INT64_MIN parses");
	is_int(json_integer_value(j), INT64_MIN, "exactly");
	json_decref(j);

	/* a length, not a terminator, ends the input */
	is_int(hp_json_parse("[1]garbage", 3, "t", &j, &e), HP_OK, "only len bytes are read");
	json_decref(j);
}

static void test_parse_errors(void)
{
	const char *s = "{\n  \"a\": 1,\n  \"b\": }\n";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: unexpected token near '}' at line 3, column 8",
		    "a missing value");
	s = "[1,\n2";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: ']' expected near end of file at line 2, column 1",
		    "a truncated array");
	s = "{\"a\":1,\n\"a\":2}";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: duplicate object key near '\"a\"' at line 2, column 3",
		    "a duplicate key");
	s = "{\"x\": {\"a\": 1, \"b\": 2, \"a\": 3}}";
	parse_fails(s, strlen(s), HP_E_DATA, NULL, "a nested duplicate key");
	s = "1 2";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: end of file expected near '2' at line 1, column 3",
		    "trailing data");
	parse_fails("", 0, HP_E_DATA, "t.json: parse error: no JSON value (empty input)", "empty input");
	parse_fails(NULL, 0, HP_E_DATA, "t.json: parse error: no JSON value (empty input)",
		    "a NULL buffer of length 0");
	parse_fails(" \n\t", 3, HP_E_DATA, "t.json: parse error: no JSON value (empty input)",
		    "whitespace only");
	parse_fails("[1,\n 2\0]", 8, HP_E_DATA, "t.json: parse error: NUL byte at line 2, column 3",
		    "a raw NUL byte");
	parse_fails("[1]\0", 4, HP_E_DATA, "t.json: parse error: NUL byte at line 1, column 4",
		    "a NUL byte after the value");
	s = "\"a\\u0000b\"";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: NUL character (\\u0000) in a string near '\"a\\u0000b\"' at line 1, column 10",
		    "an escaped NUL in a string");
	s = "{\"a\\u0000\": 1}";
	parse_fails(s, strlen(s), HP_E_DATA, NULL, "an escaped NUL in a key");
	parse_fails("\"\xff\"", 3, HP_E_DATA, NULL, "invalid UTF-8");
	parse_fails("\"\xc0\xaf\"", 4, HP_E_DATA, NULL, "an overlong UTF-8 sequence");
	s = "\"\\ud800\"";
	parse_fails(s, strlen(s), HP_E_DATA, NULL, "a lone surrogate escape");
	parse_fails("NaN", 3, HP_E_DATA, NULL, "NaN");
	parse_fails("[1,]", 4, HP_E_DATA, NULL, "a trailing comma");
	parse_fails("{'a': 1}", 8, HP_E_DATA, NULL, "single quotes");
}

static void test_numbers(void)
{
	const char *s = "12345678901234567890";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: integer out of range (more than 64 bits) near '12345678901234567890' at line 1, column 20",
		    "an integer above INT64_MAX");
	s = "{\"size\":\n -9223372036854775809}";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: integer out of range (more than 64 bits) near '-9223372036854775809' at line 2, column 21",
		    "an integer below INT64_MIN");
	s = "[1e400]";
	parse_fails(s, strlen(s), HP_E_DATA,
		    "t.json: parse error: number out of range near '1e400' at line 1, column 6",
		    "a real beyond the double range");
}

static void test_depth_and_size(void)
{
	/* 2048 levels parse; deeper is refused without crashing, however deep */
	size_t depths[] = { 2048, 2049, 10000, 200000 };
	for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
		size_t d = depths[i];
		char *s = malloc(2 * d);
		memset(s, '[', d);
		memset(s + d, ']', d);
		json_t *j = NULL;
		hp_err e = HP_ERR_INIT;
		hp_code rc = hp_json_parse(s, 2 * d, "deep.json", &j, &e);
		if (d <= 2048) {
			is_int(rc, HP_OK, "%zu levels of nesting parse", d);
		} else {
			is_int(rc, HP_E_DATA, "%zu levels of nesting are refused", d);
			is_str(e.msg, "deep.json: parse error: nested more than 2048 levels deep near '[' at line 1, column 2049",
			       "depth message for %zu levels", d);
		}
		json_decref(j);
		free(s);
	}

	/* the size bound: exactly HP_JSON_MAX_INPUT is fine, one more byte is not */
	size_t max = HP_JSON_MAX_INPUT;
	char *big = malloc(max + 1);
	memset(big, ' ', max + 1);
	big[max] = '1';
	json_t *j = NULL;
	hp_err e = HP_ERR_INIT;
	is_int(hp_json_parse(big, max + 1, "big.json", &j, &e), HP_E_DATA, "input over the size bound refused");
	is_str(e.msg, "'big.json' is larger than the limit of 67108864 bytes for JSON", "size message");
	ok(j == NULL, "no value for an input over the bound");
	is_int(hp_json_parse(big + 1, max, "big.json", &j, &e), HP_OK, "input at the size bound parses");
	is_int(json_integer_value(j), 1, "and gives its value");
	json_decref(j);
	free(big);
}

static void test_load_file(void)
{
	char path[] = "/tmp/hp-test-json-XXXXXX";
	int fd = mkstemp(path);
	if (!ok(fd >= 0, "temporary file"))
		return;
	const char *doc = "{\"files\": [1, 2, 3]}\n";
	ok(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc), "written");
	close(fd);

	json_t *j = NULL;
	hp_err e = HP_ERR_INIT;
	is_int(hp_json_load_file(path, 0, &j, &e), HP_OK, "load a file (default bound)");
	ok(json_is_object(j), "an object");
	json_decref(j);
	is_int(hp_json_load_file(path, strlen(doc), &j, &e), HP_OK, "a file exactly at its bound loads");
	json_decref(j);
	j = NULL;
	is_int(hp_json_load_file(path, 8, &j, &e), HP_E_DATA, "a file over its bound is refused");
	ok(strstr(e.msg, "is larger than the limit of 8 bytes") != NULL, "bound message: %s", e.msg);
	ok(j == NULL, "no value");
	unlink(path);
	is_int(hp_json_load_file(path, 0, &j, &e), HP_E_NOINPUT, "a missing file is HP_E_NOINPUT");

	char path2[] = "/tmp/hp-test-json-XXXXXX";
	fd = mkstemp(path2);
	const char *bad = "{\n\"a\": tru}\n";
	ok(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad), "bad file written");
	close(fd);
	is_int(hp_json_load_file(path2, 0, &j, &e), HP_E_DATA, "a malformed file is HP_E_DATA");
	ok(strncmp(e.msg, path2, strlen(path2)) == 0 && strstr(e.msg, ": parse error: ") &&
	   strstr(e.msg, " at line 2, column "), "the message names the file and the line: %s", e.msg);
	unlink(path2);
}

static void test_getters(void)
{
	json_t *j = NULL;
	hp_err e = HP_ERR_INIT;
	const char *doc = "{\"path\": \"a/b\", \"size\": 12, \"neg\": -1, \"real\": 5.0, \"str\": \"12\","
			  " \"null\": null, \"big\": 9223372036854775807}";
	if (!ok(hp_json_parse(doc, strlen(doc), "t", &j, &e) == HP_OK, "getter fixture parses"))
		return;

	const char *s = NULL;
	is_int(hp_json_get_string(j, "path", "files[2]", true, &s, &e), HP_OK, "get a string");
	is_str(s, "a/b", "its value");
	is_int(hp_json_get_string(j, "size", "files[2]", true, &s, &e), HP_E_DATA, "a number is not a string");
	is_str(e.msg, "'files[2].size' must be a string", "string type message");
	is_int(hp_json_get_string(j, "null", "files[2]", false, &s, &e), HP_E_DATA, "null is not a string");
	is_int(hp_json_get_string(j, "missing", "files[2]", true, &s, &e), HP_E_DATA, "a required member");
	is_str(e.msg, "'files[2].missing' is missing", "missing message");
	s = "default";
	is_int(hp_json_get_string(j, "missing", "files[2]", false, &s, &e), HP_OK, "an optional member");
	is_str(s, "default", "an absent optional member leaves the output alone");
	is_int(hp_json_get_string(j, "path", "", true, &s, &e), HP_OK, "at the top level");
	is_int(hp_json_get_string(j, "size", NULL, true, &s, &e), HP_E_DATA, "top-level type error");
	is_str(e.msg, "'size' must be a string", "a top-level member is named alone");

	uint64_t u = 99;
	is_int(hp_json_get_uint(j, "size", "files[2]", true, &u, &e), HP_OK, "get an unsigned integer");
	is_int(u, 12, "its value");
	is_int(hp_json_get_uint(j, "big", "files[2]", true, &u, &e), HP_OK, "INT64_MAX");
	ok(u == INT64_MAX, "its value");
	is_int(hp_json_get_uint(j, "neg", "files[2]", true, &u, &e), HP_E_DATA, "negative refused");
	is_str(e.msg, "'files[2].neg' must be a non-negative integer", "uint message");
	is_int(hp_json_get_uint(j, "real", "files[2]", true, &u, &e), HP_E_DATA, "5.0 is not an integer");
	is_int(hp_json_get_uint(j, "str", "files[2]", true, &u, &e), HP_E_DATA, "\"12\" is not an integer");
	is_int(hp_json_get_uint(j, "missing", "m", true, &u, &e), HP_E_DATA, "required integer");
	is_str(e.msg, "'m.missing' is missing", "missing integer message");
	u = 7;
	is_int(hp_json_get_uint(j, "missing", "m", false, &u, &e), HP_OK, "optional integer");
	is_int(u, 7, "left alone");

	json_t *arr = json_object_get(j, "path");
	is_int(hp_json_get_string(arr, "x", "files[2]", true, &s, &e), HP_E_DATA, "not an object");
	is_str(e.msg, "'files[2]' must be an object", "not-an-object message");
	is_int(hp_json_get_uint(NULL, "x", "", true, &u, &e), HP_E_DATA, "NULL object");
	is_str(e.msg, "the JSON value must be an object", "top-level not-an-object message");

	json_object_set_new(j, "nul", json_stringn("a\0b", 3));
	is_int(hp_json_get_string(j, "nul", "files[2]", true, &s, &e), HP_E_DATA,
	       "a string holding NUL is refused");
	is_str(e.msg, "'files[2].nul' must not contain a NUL character", "NUL message");
	json_decref(j);
}

static void test_dump_and_paths(void)
{
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	json_t *j = json_pack("{s:s, s:i, s:[b,n], s:s#}", "path", "caf\xc3\xa9", "size", 3, "x", 1,
			      "nul", "a\0b", (int)3);
	hp_buf_adds(&b, "> ", &e);
	is_int(hp_json_dump_line(j, &b, &e), HP_OK, "dump a line");
	is_str(b.data, "> {\"path\":\"caf\xc3\xa9\",\"size\":3,\"x\":[true,null],\"nul\":\"a\\u0000b\"}\n",
	       "compact, in insertion order, one newline, appended");
	json_decref(j);
	hp_buf_reset(&b);
	j = json_integer(-5);
	is_int(hp_json_dump_line(j, &b, &e), HP_OK, "dump a scalar");
	is_str(b.data, "-5\n", "a scalar line");
	json_decref(j);
	hp_buf_release(&b);

	hp_buf small;
	hp_buf_init(&small, 4);
	j = json_string("too long for four bytes");
	is_int(hp_json_dump_line(j, &small, &e), HP_E_DATA, "a capped buffer stops the dump");
	is_int(small.len, 0, "and is left as it was");
	json_decref(j);
	hp_buf_release(&small);

	json_t *v = hp_json_path_value("dir/caf\xc3\xa9.txt", 13);
	ok(json_is_string(v) && strcmp(json_string_value(v), "dir/caf\xc3\xa9.txt") == 0,
	   "a UTF-8 path is a string");
	json_decref(v);
	v = hp_json_path_value("a\xff" "b", 3);
	ok(json_is_object(v) && json_object_size(v) == 1, "a non-UTF-8 path is an object");
	is_str(json_string_value(json_object_get(v, "bytes")), "Yf9i", "holding its base64 bytes");
	json_decref(v);
	v = hp_json_path_value("\xed\xa0\x80", 3);
	ok(json_is_object(v), "an encoded surrogate is not UTF-8 either");
	json_decref(v);
	v = hp_json_path_value("", 0);
	ok(json_is_string(v) && json_string_length(v) == 0, "an empty path is an empty string");
	json_decref(v);
}

/* hp_json_add_path writes what jansson writes for hp_json_path_value, and
 * parses back to the same value. */
static void test_add_path(void)
{
	static const struct {
		const char *p;
		size_t n;
		const char *want;
	} cases[] = {
		{ "a/b.txt", 7, "\"a/b.txt\"" },
		{ "q\"b\\c", 5, "\"q\\\"b\\\\c\"" },
		{ "t\tn\n\x01\x7f", 6, "\"t\\u0009n\\u000a\\u0001\\u007f\"" },
		{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
		{ "bad\xff", 4, "{\"bytes\":\"YmFk/w==\"}" },
		{ "", 0, "\"\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		hp_buf b = HP_BUF_INIT;
		ok(hp_json_add_path(&b, cases[i].p, cases[i].n) == HP_OK && strcmp(b.data, cases[i].want) == 0,
		   "add_path case %zu: %s", i, b.data ? b.data : "(null)");
		json_t *back = NULL, *v = hp_json_path_value(cases[i].p, cases[i].n);
		hp_err e = HP_ERR_INIT;
		ok(hp_json_parse(b.data, b.len, "t", &back, &e) == HP_OK && json_equal(back, v),
		   "case %zu parses back to hp_json_path_value's value", i);
		json_decref(back);
		json_decref(v);
		hp_buf_release(&b);
	}
}

int main(void)
{
	test_add_path();
	test_parse_ok();
	test_parse_errors();
	test_numbers();
	test_depth_and_size();
	test_load_file();
	test_getters();
	test_dump_and_paths();
	return done();
}
