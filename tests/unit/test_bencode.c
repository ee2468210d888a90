/* hp_bencode: the strict reader accepts exactly the canonical form (and says
 * where it is not), nodes and spans are right, lookups work, the writer
 * emits canonical bytes and refuses what the reader would refuse, and
 * parse + copy gives back the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_bencode.h"
#include "tap.h"

#include "banned.h"

static hp_code parse(const char *s, size_t n, hp_bencode_doc *d, hp_err *e)
{
	return hp_bencode_parse(s, n, "t", NULL, d, e);
}

static void good(const char *s, const char *label)
{
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	hp_code rc = parse(s, strlen(s), &d, &e);
	if (!ok(rc == HP_OK, "accepts %s", label))
		printf("#   %s\n", e.msg);
	if (rc == HP_OK) {
		/* parse + copy = the same bytes */
		hp_buf out = HP_BUF_INIT;
		hp_bencode_writer w;
		hp_bencode_writer_init(&w, &out, &e);
		hp_bencode_copy(&w, &d, &d.v[0]);
		ok(hp_bencode_writer_finish(&w) == HP_OK && out.len == strlen(s) && memcmp(out.data, s, out.len) == 0,
		   "copies %s back byte for byte", label);
		ok(d.v[0].off == 0 && d.v[0].len == strlen(s) && d.v[0].next == d.n, "root spans all of %s", label);
		hp_buf_release(&out);
	}
	hp_bencode_free(&d);
}

static void bad(const char *s, size_t n, const char *label, const char *want)
{
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	hp_code rc = parse(s, n, &d, &e);
	ok(rc == HP_E_DATA && strstr(e.msg, want) && strncmp(e.msg, "t: bencode error at offset ", 27) == 0,
	   "refuses %s", label);
	if (rc != HP_E_DATA || !strstr(e.msg, want))
		printf("#   rc %d, '%s' (want '%s')\n", rc, e.msg, want);
	ok(d.v == NULL && d.n == 0, "nothing left allocated after refusing %s", label);
	hp_bencode_free(&d);
}

#define BAD(s, want) bad(s, sizeof(s) - 1, #s, want)

static void test_reader(void)
{
	good("i0e", "zero");
	good("i-1e", "-1");
	good("i9223372036854775807e", "INT64_MAX");
	good("i-9223372036854775808e", "INT64_MIN");
	good("0:", "an empty string");
	good("4:spam", "a string");
	good("le", "an empty list");
	good("de", "an empty dict");
	good("d0:i1e1:ai2e2:aai3e1:bi4ee", "keys '' < 'a' < 'aa' < 'b'");
	good("l4:spami42eli1eeded1:xleee", "nesting");
	good("d1:\x7fi1e1:\xfei2ee", "keys compared as unsigned bytes");

	BAD("", "no data");
	BAD("i-0e", "negative zero");
	BAD("i01e", "leading zero");
	BAD("i00e", "leading zero");
	BAD("i+1e", "unexpected byte 0x2b");
	BAD("ie", "without digits");
	BAD("i-e", "without digits");
	BAD("i1", "unexpected end");
	BAD("i9223372036854775808e", "out of range");
	BAD("i-9223372036854775809e", "out of range");
	BAD("i99999999999999999999999e", "out of range");
	BAD("01:a", "leading zero");
	BAD("5:abc", "runs past the end");
	BAD("99999999999999999999999999:", "out of range");
	BAD("4spam", "unexpected byte 0x73");
	BAD("-1:a", "unexpected byte 0x2d");
	BAD("d1:bi1e1:ai2ee", "dictionary key 'a' out of order");
	BAD("d1:ai1e1:ai2ee", "duplicate dictionary key 'a'");
	BAD("d2:aai1e1:ai2ee", "out of order");
	BAD("di1ei2ee", "not a string");
	BAD("dlei1ee", "not a string");
	BAD("d1:ae", "key without a value");
	BAD("i1ei2e", "data after the end");
	BAD("lee", "data after the end");
	BAD("l", "unexpected end of data (1 unclosed)");
	BAD("d1:a", "unexpected end");
	BAD("e", "unexpected 'e'");
	BAD(" i1e", "unexpected byte 0x20");
	BAD("x", "unexpected byte 0x78");
	BAD("d1:\xffi1e1:\xfei2ee", "out of order");

	/* a NUL inside a string is data */
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	ok(parse("3:a\0b", 5, &d, &e) == HP_OK && d.v[0].str_len == 3 && d.v[0].str[1] == '\0', "NUL in a string");
	hp_bencode_free(&d);

	/* the offset points at the problem */
	parse("d1:ai1e1:ai2ee", 14, &d, &e);
	is_str(e.msg, "t: bencode error at offset 7: duplicate dictionary key 'a'", "message with the offset");
}

static void test_limits(void)
{
	char deep[512];
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	for (int depth = 100; depth <= 101; depth++) {
		memset(deep, 'l', (size_t)depth);
		memset(deep + depth, 'e', (size_t)depth);
		hp_code rc = parse(deep, 2 * (size_t)depth, &d, &e);
		if (depth == 100)
			ok(rc == HP_OK && d.n == 100, "depth 100 is the default limit");
		else
			ok(rc == HP_E_DATA && strstr(e.msg, "nested deeper than 100"), "depth 101 refused");
		hp_bencode_free(&d);
	}
	hp_bencode_limits lim = { 3, 0 };
	ok(hp_bencode_parse("llleee", 6, "t", &lim, &d, &e) == HP_OK, "a depth limit of 3 allows 3");
	hp_bencode_free(&d);
	ok(hp_bencode_parse("lllleeee", 8, "t", &lim, &d, &e) == HP_E_DATA, "but not 4");
	hp_bencode_limits few = { 0, 4 };
	ok(hp_bencode_parse("li1ei2ei3ee", 11, "t", &few, &d, &e) == HP_OK, "4 values with a limit of 4");
	hp_bencode_free(&d);
	ok(hp_bencode_parse("li1ei2ei3ei4ee", 14, "t", &few, &d, &e) == HP_E_DATA && strstr(e.msg, "more than 4 values"),
	   "5 values refused");
}

static void test_nodes(void)
{
	const char *s = "d4:infod6:lengthi5e4:name1:xe5:listsl1:ai7eee";
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	hp_err e = HP_ERR_INIT;
	if (!ok(parse(s, strlen(s), &d, &e) == HP_OK, "parse a small document"))
		printf("#   %s\n", e.msg);
	const hp_bencode_node *top = &d.v[0];
	is_int(top->count, 2, "two pairs at the top");
	const hp_bencode_node *info = hp_bencode_get_type(&d, top, "info", HP_BENCODE_DICT);
	ok(info != NULL, "info found");
	ok(info && info->off == 7 && memcmp(s + info->off, "d6:length", 9) == 0 && s[info->off + info->len - 1] == 'e',
	   "info's span is its encoded bytes");
	const hp_bencode_node *len = hp_bencode_get(&d, info, "length");
	ok(len && len->type == HP_BENCODE_INT && len->num == 5, "length 5");
	ok(hp_bencode_str_is(hp_bencode_get(&d, info, "name"), "x"), "name x");
	ok(hp_bencode_get(&d, info, "nope") == NULL && hp_bencode_get(&d, len, "x") == NULL, "absent keys, non-dicts");
	ok(hp_bencode_get_type(&d, top, "info", HP_BENCODE_LIST) == NULL, "typed lookup checks the type");
	const hp_bencode_node *list = hp_bencode_get(&d, top, "lists");
	is_int(list->count, 2, "two items");
	const hp_bencode_node *a = hp_bencode_first(&d, list);
	const hp_bencode_node *b = a ? hp_bencode_next(&d, list, a) : NULL;
	ok(hp_bencode_str_is(a, "a") && b && b->num == 7 && !hp_bencode_next(&d, list, b), "iterate the list");
	ok(hp_bencode_first(&d, a) == NULL, "a string has no children");
	hp_bencode_free(&d);
	ok(parse("le", 2, &d, &e) == HP_OK && hp_bencode_first(&d, &d.v[0]) == NULL, "an empty list has no children");
	hp_bencode_free(&d);
}

static void test_writer(void)
{
	hp_buf out = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	hp_bencode_writer w;
	hp_bencode_writer_init(&w, &out, &e);
	hp_bencode_dict(&w);
	hp_bencode_strz(&w, "a");
	hp_bencode_int(&w, -5);
	hp_bencode_strz(&w, "b");
	hp_bencode_list(&w);
	hp_bencode_str(&w, "x\0y", 3);
	hp_bencode_int(&w, 0);
	hp_bencode_dict(&w);
	hp_bencode_end(&w);
	hp_bencode_end(&w);
	hp_bencode_strz(&w, "c");
	hp_bencode_strz(&w, "");
	hp_bencode_end(&w);
	ok(hp_bencode_writer_finish(&w) == HP_OK, "a document written");
	is_mem(out.data, out.len, "d1:ai-5e1:bl3:x\0yi0edee1:c0:e", 29, "its bytes");
	hp_bencode_doc d = HP_BENCODE_DOC_INIT;
	ok(parse(out.data, out.len, &d, &e) == HP_OK, "and the reader takes them");
	hp_bencode_free(&d);

	static const struct { const char *label; int steps; } cases[] = {
		{ "keys out of order", 1 }, { "a duplicate key", 2 }, { "an integer key", 3 },
		{ "a key without a value", 4 }, { "an unclosed list", 5 }, { "two values", 6 }, { "end with nothing open", 7 },
		{ "nothing", 8 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		hp_buf_reset(&out);
		hp_bencode_writer_init(&w, &out, &e);
		switch (cases[i].steps) {
		case 1:
			hp_bencode_dict(&w), hp_bencode_strz(&w, "b"), hp_bencode_int(&w, 1), hp_bencode_strz(&w, "a");
			break;
		case 2:
			hp_bencode_dict(&w), hp_bencode_strz(&w, "a"), hp_bencode_int(&w, 1), hp_bencode_strz(&w, "a");
			break;
		case 3:
			hp_bencode_dict(&w), hp_bencode_int(&w, 1);
			break;
		case 4:
			hp_bencode_dict(&w), hp_bencode_strz(&w, "a"), hp_bencode_end(&w);
			break;
		case 5:
			hp_bencode_list(&w);
			break;
		case 6:
			hp_bencode_int(&w, 1), hp_bencode_int(&w, 2);
			break;
		case 7:
			hp_bencode_end(&w);
			break;
		default:
			break;
		}
		ok(hp_bencode_writer_finish(&w) == HP_E_INTERNAL, "the writer refuses %s (%s)", cases[i].label, e.msg);
	}
	/* after an error every call is a no-op returning it */
	hp_buf_reset(&out);
	hp_bencode_writer_init(&w, &out, &e);
	hp_bencode_end(&w);
	size_t len = out.len;
	ok(hp_bencode_int(&w, 1) == HP_E_INTERNAL && out.len == len, "sticky error");
	/* depth */
	hp_buf_reset(&out);
	hp_bencode_writer_init(&w, &out, &e);
	for (int i = 0; i < HP_BENCODE_WRITER_DEPTH; i++)
		hp_bencode_list(&w);
	ok(w.rc == HP_OK, "%d levels", HP_BENCODE_WRITER_DEPTH);
	ok(hp_bencode_list(&w) == HP_E_INTERNAL, "one more refused");
	hp_buf_release(&out);
}

int main(void)
{
	test_reader();
	test_limits();
	test_nodes();
	test_writer();
	return done();
}
