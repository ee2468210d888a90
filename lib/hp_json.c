#include "hp_json.h"

#include <stdlib.h>
#include <string.h>

#include "hp_codec.h"
#include "hp_io.h"

#include "banned.h"

/* The line and column of byte offset off, counted as jansson counts them:
 * lines from 1, columns in characters from 1. */
static void line_column(const char *data, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char u = (unsigned char)data[i];
		if (u == '\n') {
			l++;
			c = 1;
		} else if ((u & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static bool all_whitespace(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
			return false;
	return true;
}

/* jansson quotes the input near an error: write its control bytes as \xNN
 * so that none reaches a terminal. */
static void escape_controls(const char *s, char *out, size_t size)
{
	size_t o = 0;
	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* jansson's message, reworded where it is unclear. */
static void describe(const json_error_t *jerr, const char *data, size_t len, char *out, size_t outsz)
{
	const char *near = strstr(jerr->text, " near ");
	char token[64];
	if (!near)
		near = "";
	if (!*near && json_error_code(jerr) == json_error_numeric_overflow &&
	    jerr->position > 0 && (size_t)jerr->position <= len) {
		/* jansson names no token for a too-large negative integer: find it */
		size_t end = (size_t)jerr->position, start = end;
		while (start > 0 && end - start < 40 && data[start - 1] != '\0' &&
		       strchr("+-.0123456789eE", data[start - 1]))
			start--;
		if (start < end) {
			snprintf(token, sizeof token, " near '%.*s'", (int)(end - start), data + start);
			near = token;
		}
	}
	switch (json_error_code(jerr)) {
	case json_error_stack_overflow:
		snprintf(out, outsz, "nested more than %d levels deep%s", JSON_PARSER_MAX_DEPTH, near);
		break;
	case json_error_numeric_overflow:
		if (strncmp(jerr->text, "too big", 7) == 0)
			snprintf(out, outsz, "integer out of range (more than 64 bits)%s", near);
		else
			snprintf(out, outsz, "number out of range%s", near);
		break;
	case json_error_null_character:
		snprintf(out, outsz, "NUL character (\\u0000) in a string%s", near);
		break;
	default:
		snprintf(out, outsz, "%s", jerr->text);
		break;
	}
}

hp_code hp_json_parse(const char *data, size_t len, const char *what, json_t **out, hp_err *e)
{
	*out = NULL;
	if (!what)
		what = "<input>";
	if (len > HP_JSON_MAX_INPUT)
		return hp_fail(e, HP_E_DATA, "'%s' is larger than the limit of %u bytes for JSON",
			       what, HP_JSON_MAX_INPUT);
	/* A raw NUL byte is never valid JSON; jansson would call it "end of file". */
	const char *nul = len ? memchr(data, '\0', len) : NULL;
	if (nul) {
		int line, col;
		line_column(data, (size_t)(nul - data), &line, &col);
		return hp_fail(e, HP_E_DATA, "%s: parse error: NUL byte at line %d, column %d",
			       what, line, col);
	}
	if (all_whitespace(data, len))
		return hp_fail(e, HP_E_DATA, "%s: parse error: no JSON value (empty input)", what);

	json_error_t jerr;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return hp_fail_nomem(e);
		char text[JSON_ERROR_TEXT_LENGTH + 64], safe[4 * sizeof text];
		describe(&jerr, data, len, text, sizeof text);
		escape_controls(text, safe, sizeof safe);
		return hp_fail(e, HP_E_DATA, "%s: parse error: %s at line %d, column %d", what, safe,
			       jerr.line, jerr.column);
	}
	*out = j;
	return HP_OK;
}

hp_code hp_json_load_file(const char *path, size_t max, json_t **out, hp_err *e)
{
	*out = NULL;
	if (max == 0 || max > HP_JSON_MAX_INPUT)
		max = HP_JSON_MAX_INPUT;
	hp_buf b;
	hp_buf_init(&b, SIZE_MAX);
	hp_code rc = hp_read_file(path, max, &b, e);
	if (rc == HP_OK)
		rc = hp_json_parse(b.data, b.len, strcmp(path, "-") == 0 ? "<stdin>" : path, out, e);
	hp_buf_release(&b);
	return rc;
}

/* "where.key", or "key" at the top level. */
#define MEMBER_FMT "'%s%s%s'"
#define MEMBER_ARGS(where, key) ((where) && *(where) ? (where) : ""), \
	((where) && *(where) ? "." : ""), (key)

static hp_code get_member(const json_t *obj, const char *key, const char *where, bool required,
			  json_t **v, hp_err *e)
{
	*v = NULL;
	if (!json_is_object(obj)) {
		if (where && *where)
			return hp_fail(e, HP_E_DATA, "'%s' must be an object", where);
		return hp_fail(e, HP_E_DATA, "the JSON value must be an object");
	}
	*v = json_object_get(obj, key);
	if (!*v && required)
		return hp_fail(e, HP_E_DATA, MEMBER_FMT " is missing", MEMBER_ARGS(where, key));
	return HP_OK;
}

hp_code hp_json_get_string(const json_t *obj, const char *key, const char *where,
			   bool required, const char **out, hp_err *e)
{
	json_t *v;
	hp_code rc = get_member(obj, key, where, required, &v, e);
	if (rc || !v)
		return rc;
	if (!json_is_string(v))
		return hp_fail(e, HP_E_DATA, MEMBER_FMT " must be a string", MEMBER_ARGS(where, key));
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return hp_fail(e, HP_E_DATA, MEMBER_FMT " must not contain a NUL character",
			       MEMBER_ARGS(where, key));
	*out = s;
	return HP_OK;
}

hp_code hp_json_get_uint(const json_t *obj, const char *key, const char *where,
			 bool required, uint64_t *out, hp_err *e)
{
	json_t *v;
	hp_code rc = get_member(obj, key, where, required, &v, e);
	if (rc || !v)
		return rc;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return hp_fail(e, HP_E_DATA, MEMBER_FMT " must be a non-negative integer",
			       MEMBER_ARGS(where, key));
	*out = (uint64_t)json_integer_value(v);
	return HP_OK;
}

struct dump_ctx {
	hp_buf *out;
	hp_err *e;
	hp_code rc;
};

static int dump_cb(const char *p, size_t n, void *data)
{
	struct dump_ctx *c = data;
	c->rc = hp_buf_add(c->out, p, n, c->e);
	return c->rc ? -1 : 0;
}

hp_code hp_json_dump_line(const json_t *j, hp_buf *out, hp_err *e)
{
	size_t start = out->len;
	struct dump_ctx c = { out, e, HP_OK };
	if (json_dump_callback(j, dump_cb, &c, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
		hp_buf_truncate(out, start);
		return c.rc ? c.rc : hp_fail(e, HP_E_INTERNAL, "cannot encode a JSON value");
	}
	hp_code rc = hp_buf_addch(out, '\n', e);
	if (rc)
		hp_buf_truncate(out, start);
	return rc;
}

json_t *hp_json_path_value(const char *p, size_t n)
{
	if (hp_utf8_valid(p, n))
		return json_stringn(p, n);
	hp_buf b = HP_BUF_INIT;
	if (hp_b64_encode_buf((const uint8_t *)p, n, &b, NULL))
		return NULL;
	json_t *v = json_pack("{s:s#}", "bytes", b.data, b.len);
	hp_buf_release(&b);
	return v;
}

hp_code hp_json_add_path(hp_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!hp_utf8_valid(p, n)) {
		json_t *v = hp_json_path_value(p, n);
		char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
		json_decref(v);
		hp_code rc = s ? hp_buf_adds(b, s, NULL) : HP_E_NOMEM;
		free(s);
		return rc;
	}
	if (hp_buf_grow(b, 2 + 6 * n, NULL))
		return HP_E_NOMEM;
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return HP_OK;
}
