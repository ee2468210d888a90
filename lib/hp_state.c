#include "hp_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hp_buf.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_time.h"
#include "banned.h"

struct hp_state {
	char *path;
	json_t *doc;  /* {"state_version":1,"manifests":{...}} */
};

static bool is_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Compare one dot-separated part. */
static int part_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	bool ad = is_digits(a, an), bd = is_digits(b, bn);
	if (ad && bd) {
		while (an > 1 && *a == '0') {
			a++;
			an--;
		}
		while (bn > 1 && *b == '0') {
			b++;
			bn--;
		}
		if (an != bn)
			return an < bn ? -1 : 1;
		return memcmp(a, b, an);
	}
	if (ad != bd)
		return ad ? -1 : 1;
	size_t m = an < bn ? an : bn;
	int c = memcmp(a, b, m);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int dotted_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an || j < bn) {
		if (i >= an)
			return -1;
		if (j >= bn)
			return 1;
		size_t ie = i, je = j;
		while (ie < an && a[ie] != '.')
			ie++;
		while (je < bn && b[je] != '.')
			je++;
		int c = part_cmp(a + i, ie - i, b + j, je - j);
		if (c)
			return c;
		i = ie + 1;
		j = je + 1;
		if (ie == an)
			i = an;
		if (je == bn)
			j = bn;
	}
	return 0;
}

int hp_version_compare(const char *a, const char *b)
{
	size_t an = strcspn(a, "+"), bn = strcspn(b, "+");
	const char *ap = memchr(a, '-', an), *bp = memchr(b, '-', bn);
	size_t amain = ap ? (size_t)(ap - a) : an, bmain = bp ? (size_t)(bp - b) : bn;
	int c = dotted_cmp(a, amain, b, bmain);
	if (c)
		return c < 0 ? -1 : 1;
	if (!ap && !bp)
		return 0;
	if (!ap)
		return 1;
	if (!bp)
		return -1;
	c = dotted_cmp(ap + 1, an - amain - 1, bp + 1, bn - bmain - 1);
	return c < 0 ? -1 : c > 0;
}

hp_code hp_state_load(const char *path, hp_state **out, hp_err *e)
{
	hp_state *s = calloc(1, sizeof *s);
	if (!s || (path && !(s->path = strdup(path)))) {
		free(s);
		return hp_fail_nomem(e);
	}
	struct stat st;
	if (!path || (stat(path, &st) < 0 && errno == ENOENT)) {
		s->doc = json_pack("{s:i, s:{}}", "state_version", 1, "manifests");
	} else {
		hp_code rc = hp_json_load_file(path, HP_JSON_MAX_INPUT, &s->doc, e);
		if (rc) {
			hp_state_free(s);
			return rc;
		}
		json_t *m = json_object_get(s->doc, "manifests");
		if (!json_is_object(s->doc) || json_integer_value(json_object_get(s->doc, "state_version")) != 1 ||
		    !json_is_object(m)) {
			hp_state_free(s);
			return hp_fail(e, HP_E_DATA, "'%s' is not a hybrid-p2p state file (state_version 1)", path);
		}
		const char *name;
		json_t *entry;
		json_object_foreach(m, name, entry) {
			if (!json_is_string(json_object_get(entry, "version")) ||
			    !json_is_string(json_object_get(entry, "content_id"))) {
				hp_state_free(s);
				return hp_fail(e, HP_E_DATA, "'%s': the entry for '%s' lacks 'version' or 'content_id'",
					       path, name);
			}
		}
	}
	if (!s->doc) {
		hp_state_free(s);
		return hp_fail_nomem(e);
	}
	*out = s;
	return HP_OK;
}

void hp_state_free(hp_state *s)
{
	if (!s)
		return;
	json_decref(s->doc);
	free(s->path);
	free(s);
}

hp_code hp_state_check(const hp_state *s, const char *name, const char *version,
		       const char *content_id, const char **previous, hp_err *e)
{
	json_t *entry = json_object_get(json_object_get(s->doc, "manifests"), name);
	*previous = NULL;
	if (!entry)
		return HP_OK;
	const char *seen = json_string_value(json_object_get(entry, "version"));
	const char *seen_id = json_string_value(json_object_get(entry, "content_id"));
	*previous = seen;
	int c = hp_version_compare(version, seen);
	if (c < 0)
		return hp_fail(e, HP_E_INVALID, "rollback: '%s' version %s is older than version %s seen before",
			       name, version, seen);
	if (c == 0 && strcmp(seen_id, content_id) != 0)
		return hp_fail(e, HP_E_INVALID,
			       "'%s' version %s was seen before with other content (content_id %.16s..., now %.16s...)",
			       name, version, seen_id, content_id);
	return HP_OK;
}

hp_code hp_state_record(hp_state *s, const char *name, const char *version,
			const char *content_id, hp_err *e)
{
	json_t *manifests = json_object_get(s->doc, "manifests");
	json_t *entry = json_object_get(manifests, name);
	if (entry) {
		const char *seen = json_string_value(json_object_get(entry, "version"));
		if (hp_version_compare(version, seen) <= 0)
			return HP_OK;
	}
	char now[32];
	hp_time_format(time(NULL), now);
	if (json_object_set_new(manifests, name,
				json_pack("{s:s, s:s, s:s}", "version", version, "content_id", content_id,
					  "seen_at", now)))
		return hp_fail_nomem(e);
	char *text = json_dumps(s->doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return hp_fail_nomem(e);
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_buf_adds(&b, text, e);
	free(text);
	if (!rc)
		rc = hp_buf_addch(&b, '\n', e);
	if (!rc && s->path)
		rc = hp_write_file_atomic(s->path, b.data, b.len, 0644, 0, e);
	hp_buf_release(&b);
	return rc;
}
