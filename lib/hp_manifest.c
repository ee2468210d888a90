#include "hp_manifest.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hp_codec.h"
#include "hp_io.h"
#include "hp_jcs.h"
#include "hp_json.h"
#include "hp_time.h"
#include "banned.h"

/* 2^53 - 1: the largest integer every JSON reader holds exactly. */
#define MAX_SAFE_INT 9007199254740991.0

/* ---- validation ------------------------------------------------------- */

typedef struct vctx {
	json_t *problems;
	hp_err *e;
	unsigned flags;
	size_t count;
} vctx;

__attribute__((format(printf, 3, 4)))
static void problem(vctx *v, const char *where, const char *fmt, ...)
{
	char msg[HP_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v->count++ == 0)
		hp_fail(v->e, HP_E_DATA, "%s%s%s", where, *where ? ": " : "", msg);
	if (v->problems)
		json_array_append_new(v->problems, json_pack("{s:s, s:s}", "where", where, "message", msg));
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static void join(char *out, size_t n, const char *where, const char *key)
{
	snprintf(out, n, "%s%s%s", where, *where ? "." : "", key);
}

/* A JSON Schema "integer" in [0, 2^53-1]: jansson integers, or reals with an
 * integral value (the schema's type "integer" accepts 1.0). */
static bool get_size(vctx *v, const json_t *j, const char *where, uint64_t *out)
{
	double d;
	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);
		if (i < 0) {
			problem(v, where, "must not be negative (got %lld)", (long long)i);
			return false;
		}
		d = (double)i;
		if (d > MAX_SAFE_INT) {
			problem(v, where, "is larger than 2^53-1");
			return false;
		}
		*out = (uint64_t)i;
		return true;
	}
	if (json_is_real(j)) {
		d = json_real_value(j);
		if (d > MAX_SAFE_INT) {
			problem(v, where, "is larger than 2^53-1");
			return false;
		}
		if (d < -MAX_SAFE_INT || d != (double)(long long)d) {
			problem(v, where, "must be an integer");
			return false;
		}
		if (d < 0) {
			problem(v, where, "must not be negative (got %.0f)", d);
			return false;
		}
		*out = (uint64_t)d;
		return true;
	}
	problem(v, where, "must be an integer, not %s", type_name(j));
	return false;
}

typedef bool (*str_check)(const char *s, size_t n);

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool chars_in(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

/* ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ */
static bool ok_name(const char *s, size_t n)
{
	return n >= 1 && n <= 128 && is_alnum(s[0]) && chars_in(s, n, "._-");
}

/* ^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$ */
static bool ok_version(const char *s, size_t n)
{
	return n >= 1 && n <= 64 && is_alnum(s[0]) && chars_in(s, n, ".+_-");
}

static bool ok_hex64(const char *s, size_t n) { return n == 64 && hp_is_lower_hex(s, n); }
static bool ok_hex40(const char *s, size_t n) { return n == 40 && hp_is_lower_hex(s, n); }
static bool ok_hex16(const char *s, size_t n) { return n == 16 && hp_is_lower_hex(s, n); }
static bool ok_commit(const char *s, size_t n)
{
	return (n == 40 || n == 64) && hp_is_lower_hex(s, n);
}

/* ^(Qm[base58]{44}|b[a-z2-7]{58,})$ : a CIDv0 or a base32 CIDv1 */
static bool ok_cid(const char *s, size_t n)
{
	static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	if (n == 46 && s[0] == 'Q' && s[1] == 'm') {
		for (size_t i = 2; i < n; i++)
			if (!s[i] || !strchr(b58, s[i]))
				return false;
		return true;
	}
	if (n >= 59 && n <= 1024 && s[0] == 'b') {
		for (size_t i = 1; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
				return false;
		return true;
	}
	return false;
}

/* ^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$ */
static bool ok_mime(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	if (!slash)
		return false;
	size_t a = (size_t)(slash - s), b = n - a - 1;
	return a >= 1 && a <= 127 && b >= 1 && b <= 127 && is_alnum(s[0]) && is_alnum(slash[1]) &&
	       chars_in(s, a, "!#$&^_.+-") && chars_in(slash + 1, b, "!#$&^_.+-");
}

/* Length in code points, as JSON Schema's minLength/maxLength count. */
static size_t cp_len(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static bool no_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* ^https?://[^\s]{1,2048}$ (no whitespace or control characters) */
static bool ok_url(const char *s, size_t n)
{
	size_t p = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
	if (!p || n == p || cp_len(s, n) > 2056)
		return false;
	for (size_t i = p; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool ok_magnet(const char *s, size_t n)
{
	if (n < 9 || cp_len(s, n) > 8192 || strncmp(s, "magnet:?", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool ok_timestamp(const char *s, size_t n)
{
	return hp_time_parse_n(s, n, NULL);
}

/* base64 of exactly 32 / 64 bytes, canonical padding bits */
static bool ok_b64_32(const char *s, size_t n)
{
	uint8_t tmp[32];
	size_t len;
	return n == 44 && hp_b64_decode(s, n, tmp, sizeof tmp, &len, "key", NULL) == HP_OK && len == 32;
}

static bool ok_b64_64(const char *s, size_t n)
{
	uint8_t tmp[64];
	size_t len;
	return n == 88 && hp_b64_decode(s, n, tmp, sizeof tmp, &len, "sig", NULL) == HP_OK && len == 64;
}

static bool ok_text(const char *s, size_t n)
{
	return cp_len(s, n) <= 65536;
}

/* 1..256 code points, no control characters */
static bool ok_label(const char *s, size_t n)
{
	size_t c = cp_len(s, n);
	return c >= 1 && c <= 256 && no_controls(s, n);
}

static bool ok_ref(const char *s, size_t n)
{
	size_t c = cp_len(s, n);
	return c >= 1 && c <= 1024 && no_controls(s, n);
}

/* What the schema's path pattern says (see $defs/path there): no leading or
 * trailing '/', no "//", no "." or ".." segment, no control character or
 * backslash, 1 to 4096 code points. The semantic check (hp_relpath_check) adds
 * byte limits on top. */
static bool ok_schema_path(const char *s, size_t n)
{
	if (n == 0 || cp_len(s, n) > 4096 || s[0] == '/' || s[n - 1] == '/' || !no_controls(s, n) ||
	    memchr(s, '\\', n) || memmem(s, n, "//", 2))
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		size_t len = i - start;
		if ((len == 1 && s[start] == '.') || (len == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

static bool ok_profile(const char *s, size_t n)
{
	(void)n;
	return strcmp(s, "unixfs-v0-2015") == 0 || strcmp(s, "unixfs-v1-2025") == 0 ||
	       strcmp(s, "kubo-cid-v1") == 0;
}

typedef struct field {
	const char *key;
	bool required;
	str_check check;   /* for strings; NULL for other types */
	const char *what;  /* what the string must be, for the message */
} field;

/* Check that j is a string passing check; returns it (or NULL). */
static const char *check_string_value(vctx *v, const json_t *j, const char *at, str_check check,
				      const char *what)
{
	if (!json_is_string(j)) {
		problem(v, at, "must be a string, not %s", type_name(j));
		return NULL;
	}
	const char *s = json_string_value(j);
	size_t n = json_string_length(j);
	if (check && !check(s, n)) {
		char q[96];
		hp_quote(s, n, q, sizeof q);
		problem(v, at, "'%s' is not %s", q, what);
		return NULL;
	}
	return s;
}

/* Check a string member; returns it (or NULL). */
static const char *check_string(vctx *v, const json_t *obj, const char *where, const field *f)
{
	char at[256];
	join(at, sizeof at, where, f->key);
	const json_t *j = json_object_get(obj, f->key);
	if (!j) {
		if (f->required)
			problem(v, where, "'%s' is required", f->key);
		return NULL;
	}
	return check_string_value(v, j, at, f->check, f->what);
}

/* Report members not in the list of allowed keys. */
static void check_unknown(vctx *v, const json_t *obj, const char *where, const char *const *keys)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			if (strcmp(keys[i], key) == 0)
				known = true;
		if (!known) {
			char q[96];
			hp_quote(key, strlen(key), q, sizeof q);
			problem(v, where, "unknown member '%s'", q);
		}
	}
}

static const json_t *get_object(vctx *v, const json_t *obj, const char *where, const char *key,
				bool required)
{
	const json_t *j = json_object_get(obj, key);
	char at[256];
	join(at, sizeof at, where, key);
	if (!j) {
		if (required)
			problem(v, where, "'%s' is required", key);
		return NULL;
	}
	if (!json_is_object(j)) {
		problem(v, at, "must be an object, not %s", type_name(j));
		return NULL;
	}
	return j;
}

static const json_t *get_array(vctx *v, const json_t *obj, const char *where, const char *key,
			       bool required, size_t max_items)
{
	const json_t *j = json_object_get(obj, key);
	char at[256];
	join(at, sizeof at, where, key);
	if (!j) {
		if (required)
			problem(v, where, "'%s' is required", key);
		return NULL;
	}
	if (!json_is_array(j)) {
		problem(v, at, "must be an array, not %s", type_name(j));
		return NULL;
	}
	if (json_array_size(j) > max_items) {
		problem(v, at, "has %zu items, more than the limit of %zu", json_array_size(j), max_items);
		return NULL;
	}
	return j;
}

static void check_string_array(vctx *v, const json_t *obj, const char *where, const char *key,
			       size_t max_items, str_check check, const char *what)
{
	const json_t *arr = get_array(v, obj, where, key, false, max_items);
	if (!arr)
		return;
	size_t i;
	const json_t *item;
	json_array_foreach(arr, i, item) {
		char at[256];
		snprintf(at, sizeof at, "%s.%s[%zu]", where, key, i);
		check_string_value(v, item, at, check, what);
	}
}

#define MAX_FILES 1000000

static void check_files(vctx *v, const json_t *m, uint64_t *total, bool *total_ok)
{
	static const char *const keys[] = { "path", "size", "sha256", "cid", "mime_type", NULL };
	const json_t *files = get_array(v, m, "", "files", true, MAX_FILES);
	*total = 0;
	*total_ok = files != NULL;
	if (!files)
		return;
	if (json_array_size(files) == 0)
		problem(v, "files", "must list at least one file");
	const char *prev = NULL;
	size_t prev_len = 0;
	/* The good paths so far that are each a prefix of the next (at most 4096,
	 * as a path has at most 4096 bytes). In bytewise order the paths inside
	 * a file F follow it with only paths that start with F in between, so a
	 * path is inside a file exactly when the top of this chain is that file
	 * followed by '/'. Linear in the bytes of the paths, where looking up
	 * every '/' prefix would be quadratic in the length of a deep path. */
	struct { const char *p; size_t n; } chain[4097];
	size_t depth = 0;
	size_t i;
	const json_t *f;
	json_array_foreach(files, i, f) {
		char at[64];
		snprintf(at, sizeof at, "files[%zu]", i);
		if (!json_is_object(f)) {
			problem(v, at, "must be an object, not %s", type_name(f));
			*total_ok = false;
			continue;
		}
		check_unknown(v, f, at, keys);
		field fpath = { "path", true, NULL, NULL };
		const char *path = check_string(v, f, at, &fpath);
		if (path) {
			size_t n = json_string_length(json_object_get(f, "path"));
			hp_err pe = HP_ERR_INIT;
			char pat[96];
			snprintf(pat, sizeof pat, "%s.path", at);
			if (v->flags & HP_MANIFEST_SCHEMA_ONLY) {
				if (!ok_schema_path(path, n)) {
					char q[96];
					hp_quote(path, n, q, sizeof q);
					problem(v, pat, "'%s' is not a normalised relative path", q);
				}
			} else if (hp_relpath_check(path, n, &pe)) {
				problem(v, pat, "%s", pe.msg);
			} else if (!(v->flags & HP_MANIFEST_SCHEMA_ONLY) && prev) {
				size_t m2 = prev_len < n ? prev_len : n;
				int c = memcmp(prev, path, m2);
				char q[96];
				hp_quote(path, n, q, sizeof q);
				if (c == 0 && prev_len == n)
					problem(v, pat, "duplicate path '%s'", q);
				else if (c > 0 || (c == 0 && prev_len > n))
					problem(v, pat, "'%s' is out of order: files must be sorted bytewise by path", q);
			}
			if (!(v->flags & HP_MANIFEST_SCHEMA_ONLY) && !pe.code) {
				while (depth && !(chain[depth - 1].n <= n &&
						  memcmp(chain[depth - 1].p, path, chain[depth - 1].n) == 0))
					depth--;
				if (depth && chain[depth - 1].n < n && path[chain[depth - 1].n] == '/') {
					char q[96];
					hp_quote(path, n, q, sizeof q);
					problem(v, pat, "'%s' is inside '%.*s', which is listed as a file", q,
						(int)chain[depth - 1].n, chain[depth - 1].p);
				} else if (!depth || chain[depth - 1].n < n) {
					chain[depth].p = path;
					chain[depth++].n = n;
				}
			}
			prev = path;
			prev_len = n;
		}
		const json_t *size = json_object_get(f, "size");
		char sat[96];
		snprintf(sat, sizeof sat, "%s.size", at);
		uint64_t sz;
		if (!size) {
			problem(v, at, "'size' is required");
			*total_ok = false;
		} else if (get_size(v, size, sat, &sz)) {
			/* saturate: past 2^53-1 no total_size can match the sum */
			*total = *total + sz > (uint64_t)MAX_SAFE_INT ? (uint64_t)MAX_SAFE_INT + 1 : *total + sz;
		} else {
			*total_ok = false;
		}
		field fsha = { "sha256", true, ok_hex64, "64 lower-case hex digits" };
		field fcid = { "cid", false, ok_cid, "a CIDv0 (Qm...) or base32 CIDv1 (b...)" };
		field fmime = { "mime_type", false, ok_mime, "a MIME type such as text/plain" };
		check_string(v, f, at, &fsha);
		check_string(v, f, at, &fcid);
		check_string(v, f, at, &fmime);
	}
}

static void check_provenance(vctx *v, const json_t *m)
{
	static const char *const keys[] = { "uploader_id", "timestamp", "git_commit", "git_ref", NULL };
	const json_t *p = get_object(v, m, "", "provenance", false);
	if (!p)
		return;
	check_unknown(v, p, "provenance", keys);
	field fields[] = {
		{ "uploader_id", false, ok_label, "1 to 256 characters without control characters" },
		{ "timestamp", true, ok_timestamp, "an RFC 3339 UTC time such as 2026-01-31T12:00:00Z" },
		{ "git_commit", false, ok_commit, "a git commit id (40 or 64 lower-case hex digits)" },
		{ "git_ref", false, ok_ref, "1 to 1024 characters without control characters" },
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		check_string(v, p, "provenance", &fields[i]);
}

static void check_distribution(vctx *v, const json_t *m)
{
	static const char *const keys[] = { "ipfs_cid", "ipfs_gateway", "ipfs_import", "torrent_infohash",
		"torrent_infohash_v2", "torrent_magnet", "pinning_nodes", "web_seeds", NULL };
	const json_t *d = get_object(v, m, "", "distribution", false);
	if (!d)
		return;
	check_unknown(v, d, "distribution", keys);
	field fields[] = {
		{ "ipfs_cid", false, ok_cid, "a CIDv0 (Qm...) or base32 CIDv1 (b...)" },
		{ "ipfs_gateway", false, ok_url, "an http(s) URL" },
		{ "ipfs_import", false, ok_profile, "one of unixfs-v0-2015, unixfs-v1-2025, kubo-cid-v1" },
		{ "torrent_infohash", false, ok_hex40, "40 lower-case hex digits" },
		{ "torrent_infohash_v2", false, ok_hex64, "64 lower-case hex digits" },
		{ "torrent_magnet", false, ok_magnet, "a magnet: URI" },
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		check_string(v, d, "distribution", &fields[i]);
	check_string_array(v, d, "distribution", "pinning_nodes", 64, ok_label,
			   "1 to 256 characters without control characters");
	check_string_array(v, d, "distribution", "web_seeds", 64, ok_url, "an http(s) URL");
}

static void check_signature_block(vctx *v, const json_t *m)
{
	static const char *const keys[] = { "algorithm", "public_key", "signature", "signed_at", "key_id", NULL };
	const json_t *s = get_object(v, m, "", "signature", !(v->flags & HP_MANIFEST_UNSIGNED_OK));
	if (!s)
		return;
	check_unknown(v, s, "signature", keys);
	const json_t *alg = json_object_get(s, "algorithm");
	if (!alg)
		problem(v, "signature", "'algorithm' is required");
	else if (!json_is_string(alg) || strcmp(json_string_value(alg), "ed25519") != 0)
		problem(v, "signature.algorithm", "must be \"ed25519\"");
	field fields[] = {
		{ "public_key", true, ok_b64_32, "the base64 of a 32-byte Ed25519 public key" },
		{ "signature", true, ok_b64_64, "the base64 of a 64-byte Ed25519 signature" },
		{ "signed_at", true, ok_timestamp, "an RFC 3339 UTC time such as 2026-01-31T12:00:00Z" },
		{ "key_id", true, ok_hex16, "16 lower-case hex digits" },
	};
	const char *vals[4];
	for (size_t i = 0; i < 4; i++)
		vals[i] = check_string(v, s, "signature", &fields[i]);
	if (!(v->flags & HP_MANIFEST_SCHEMA_ONLY) && vals[0] && vals[3]) {
		uint8_t pk[32];
		size_t len;
		char id[17];
		if (hp_b64_decode(vals[0], strlen(vals[0]), pk, sizeof pk, &len, "public_key", NULL) == HP_OK) {
			hp_key_id(pk, id);
			if (strcmp(id, vals[3]) != 0)
				problem(v, "signature.key_id", "'%s' is not the id of the public key (%s)", vals[3], id);
		}
	}
}

/* What hp_mlite_parse found in the files array it checked itself. */
typedef struct files_summary {
	uint64_t total;
	char content_id[65];
} files_summary;

static hp_code validate(const json_t *m, unsigned flags, json_t *problems, const files_summary *fs,
			hp_err *e)
{
	static const char *const keys[] = { "manifest_version", "content_id", "name", "version",
		"description", "files", "total_size", "expires", "provenance", "distribution",
		"signature", NULL };
	vctx v = { problems, e, flags, 0 };
	if (!json_is_object(m)) {
		problem(&v, "", "a manifest must be a JSON object, not %s", type_name(m));
		return HP_E_DATA;
	}
	const json_t *mv = json_object_get(m, "manifest_version");
	if (!mv)
		problem(&v, "", "'manifest_version' is required");
	else if (!json_is_string(mv) || strcmp(json_string_value(mv), HP_MANIFEST_VERSION) != 0) {
		if (json_is_string(mv)) {
			char q[64];
			hp_quote(json_string_value(mv), json_string_length(mv), q, sizeof q);
			problem(&v, "manifest_version", "unsupported version '%s' (this tool reads \"%s\")", q,
				HP_MANIFEST_VERSION);
		} else {
			problem(&v, "manifest_version", "must be the string \"%s\"", HP_MANIFEST_VERSION);
		}
	}
	check_unknown(&v, m, "", keys);
	field fields[] = {
		{ "content_id", true, ok_hex64, "64 lower-case hex digits" },
		{ "name", true, ok_name, "a name of 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit" },
		{ "version", true, ok_version, "a version of 1-64 letters, digits, '.', '+', '_' or '-', starting with a letter or digit" },
		{ "description", false, ok_text, "at most 65536 characters" },
		{ "expires", false, ok_timestamp, "an RFC 3339 UTC time such as 2026-01-31T12:00:00Z" },
	};
	const char *content_id = NULL;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		const char *s = check_string(&v, m, "", &fields[i]);
		if (i == 0)
			content_id = s;
	}
	uint64_t total = 0;
	bool total_ok = false;
	if (fs) {
		total = fs->total;
		total_ok = true;
	} else {
		check_files(&v, m, &total, &total_ok);
	}
	const json_t *ts = json_object_get(m, "total_size");
	uint64_t declared;
	if (!ts)
		problem(&v, "", "'total_size' is required");
	else if (get_size(&v, ts, "total_size", &declared) && total_ok &&
		 !(flags & HP_MANIFEST_SCHEMA_ONLY) && declared != total)
		problem(&v, "total_size", "is %llu but the files add up to %s%llu",
			(unsigned long long)declared, total > (uint64_t)MAX_SAFE_INT ? "more than " : "",
			(unsigned long long)(total > (uint64_t)MAX_SAFE_INT ? (uint64_t)MAX_SAFE_INT : total));
	check_provenance(&v, m);
	check_distribution(&v, m);
	check_signature_block(&v, m);
	if (!(flags & HP_MANIFEST_SCHEMA_ONLY) && content_id && v.count == 0) {
		char want[65];
		hp_err ce = HP_ERR_INIT;
		hp_code rc = HP_OK;
		if (fs)
			memcpy(want, fs->content_id, sizeof want);
		else
			rc = hp_manifest_content_id(json_object_get(m, "files"), want, &ce);
		if (rc)
			problem(&v, "files", "%s", ce.msg);
		else if (strcmp(want, content_id) != 0)
			problem(&v, "content_id", "'%s' does not match the files (their content_id is %s)",
				content_id, want);
	}
	return v.count ? HP_E_DATA : HP_OK;
}

hp_code hp_manifest_validate(const json_t *m, unsigned flags, json_t *problems, hp_err *e)
{
	return validate(m, flags, problems, NULL, e);
}

/* ---- loading, canonical bytes, content id ---------------------------- */

hp_code hp_manifest_load(const char *path, unsigned flags, json_t **out, hp_err *e)
{
	json_t *m;
	hp_code rc = hp_json_load_file(path, HP_MANIFEST_MAX_BYTES, &m, e);
	if (rc)
		return rc;
	if ((rc = hp_manifest_validate(m, flags, NULL, e))) {
		json_decref(m);
		return hp_err_prefix(e, "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
	}
	*out = m;
	return HP_OK;
}

hp_code hp_manifest_canonical(const json_t *m, hp_buf *out, hp_err *e)
{
	json_t *copy = json_copy((json_t *)m);
	if (!copy)
		return hp_fail_nomem(e);
	json_object_del(copy, "signature");
	hp_code rc = hp_jcs_serialize(copy, out, e);
	json_decref(copy);
	return rc;
}

static hp_code sha256_hex(const void *p, size_t n, char hex[65], hp_err *e)
{
	(void)e;
	uint8_t md[32];
	hp_sha256(p, n, md);
	hp_hex_encode(md, 32, hex);
	return HP_OK;
}

hp_code hp_manifest_content_id(const json_t *files, char hex[65], hp_err *e)
{
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_jcs_serialize(files, &b, e);
	if (!rc)
		rc = sha256_hex(b.data, b.len, hex, e);
	hp_buf_release(&b);
	return rc;
}

/* ---- signatures ------------------------------------------------------- */

hp_code hp_manifest_sign(json_t *m, const hp_key *key, const char *signed_at, hp_err *e)
{
	/* signed_at is checked (or made) by hp_manifest_sign_canonical, before it
	 * touches m */
	if (signed_at && !hp_time_parse(signed_at, NULL))
		return hp_manifest_sign_canonical(m, key, signed_at, NULL, 0, e);
	hp_buf canon = HP_BUF_INIT;
	hp_code rc = hp_manifest_canonical(m, &canon, e);
	if (!rc)
		rc = hp_manifest_sign_canonical(m, key, signed_at, canon.data, canon.len, e);
	hp_buf_release(&canon);
	return rc;
}

hp_code hp_manifest_sign_canonical(json_t *m, const hp_key *key, const char *signed_at, const void *canon,
				   size_t canon_len, hp_err *e)
{
	char now[32];
	if (!signed_at) {
		hp_time_format(time(NULL), now);
		signed_at = now;
	} else if (!hp_time_parse(signed_at, NULL)) {
		return hp_fail(e, HP_E_USAGE, "'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z",
			       signed_at);
	}
	uint8_t pk[32], sig[64];
	hp_key_public(key, pk);
	hp_code rc = hp_sign_bytes(key, canon, canon_len, sig, e);
	if (rc)
		return rc;
	char pk64[HP_B64_ENCODED_SIZE(32)], sig64[HP_B64_ENCODED_SIZE(64)], id[17];
	hp_b64_encode(pk, 32, pk64);
	hp_b64_encode(sig, 64, sig64);
	hp_key_id(pk, id);
	json_t *block = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm", "ed25519", "public_key", pk64,
				  "signature", sig64, "signed_at", signed_at, "key_id", id);
	if (!block || json_object_set_new(m, "signature", block))
		return hp_fail_nomem(e);
	return HP_OK;
}

hp_code hp_manifest_check_signature(const json_t *m, uint8_t public_key[32], hp_err *e)
{
	return hp_manifest_check_signature_canonical(m, NULL, 0, public_key, e);
}

hp_code hp_manifest_check_signature_canonical(const json_t *m, const void *canonical, size_t canonical_len,
					      uint8_t public_key[32], hp_err *e)
{
	const json_t *s = json_object_get(m, "signature");
	if (!json_is_object(s))
		return hp_fail(e, HP_E_INVALID, "the manifest is not signed");
	const char *pk64 = json_string_value(json_object_get(s, "public_key"));
	const char *sig64 = json_string_value(json_object_get(s, "signature"));
	if (!pk64 || !sig64)
		return hp_fail(e, HP_E_DATA, "the signature block lacks 'public_key' or 'signature'");
	uint8_t sig[64];
	size_t len;
	hp_code rc = hp_b64_decode(pk64, strlen(pk64), public_key, 32, &len, "signature.public_key", e);
	if (rc)
		return rc;
	if (len != 32)
		return hp_fail(e, HP_E_DATA, "'signature.public_key' is not 32 bytes");
	if ((rc = hp_b64_decode(sig64, strlen(sig64), sig, 64, &len, "signature.signature", e)))
		return rc;
	if (len != 64)
		return hp_fail(e, HP_E_DATA, "'signature.signature' is not 64 bytes");
	hp_buf canon = HP_BUF_INIT;
	if (!canonical) {
		if ((rc = hp_manifest_canonical(m, &canon, e)))
			return rc;
		canonical = canon.data;
		canonical_len = canon.len;
	}
	bool good = hp_verify_bytes(public_key, canonical, canonical_len, sig);
	hp_buf_release(&canon);
	if (!good) {
		char id[17];
		hp_key_id(public_key, id);
		return hp_fail(e, HP_E_INVALID, "the signature by key %s does not match the manifest", id);
	}
	return HP_OK;
}

/* ---- building ------------------------------------------------------------ */

static int path_cmp(const void *a, const void *b)
{
	const json_t *pa = json_object_get(*(json_t *const *)a, "path");
	const json_t *pb = json_object_get(*(json_t *const *)b, "path");
	size_t na = json_string_length(pa), nb = json_string_length(pb);
	int c = memcmp(json_string_value(pa), json_string_value(pb), na < nb ? na : nb);
	if (c)
		return c;
	return na < nb ? -1 : na > nb;
}

static hp_code set_str(json_t *obj, const char *key, const char *val, hp_err *e)
{
	if (!val)
		return HP_OK;
	if (json_object_set_new(obj, key, json_string(val)))
		return hp_fail(e, HP_E_DATA, "'%s' is not valid UTF-8", key);
	return HP_OK;
}

static hp_code set_list(json_t *obj, const char *key, const char *const *vals, size_t n, hp_err *e)
{
	if (!n)
		return HP_OK;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(vals[i]))) {
			json_decref(arr);
			return hp_fail(e, HP_E_DATA, "'%s' is not valid UTF-8", vals[i]);
		}
	json_object_set_new(obj, key, arr);
	return HP_OK;
}

/* The manifest's members around files (taken over), in the order
 * hp-manifest writes them; not validated. */
static hp_code build_head(const hp_manifest_meta *meta, const char *content_id, uint64_t total, json_t *files,
			  json_t **out, hp_err *e)
{
	hp_code rc;
	char now[32];
	json_t *m = json_object(), *prov = json_object(), *dist = json_object();
	json_object_set_new(m, "manifest_version", json_string(HP_MANIFEST_VERSION));
	if ((rc = set_str(m, "name", meta->name, e)) || (rc = set_str(m, "version", meta->version, e)) ||
	    (rc = set_str(m, "description", meta->description, e)))
		goto out;
	json_object_set_new(m, "content_id", json_string(content_id));
	json_object_set_new(m, "total_size", json_integer((json_int_t)total));
	json_object_set(m, "files", files);

	if (!meta->timestamp)
		hp_time_format(time(NULL), now);
	if ((rc = set_str(prov, "uploader_id", meta->uploader_id, e)) ||
	    (rc = set_str(prov, "timestamp", meta->timestamp ? meta->timestamp : now, e)) ||
	    (rc = set_str(prov, "git_commit", meta->git_commit, e)) ||
	    (rc = set_str(prov, "git_ref", meta->git_ref, e)))
		goto out;
	json_object_set(m, "provenance", prov);

	if ((rc = set_str(dist, "ipfs_cid", meta->ipfs_cid, e)) ||
	    (rc = set_str(dist, "ipfs_gateway", meta->ipfs_gateway, e)) ||
	    (rc = set_str(dist, "ipfs_import", meta->ipfs_import, e)) ||
	    (rc = set_list(dist, "pinning_nodes", meta->pinning_nodes, meta->n_pinning_nodes, e)) ||
	    (rc = set_list(dist, "web_seeds", meta->web_seeds, meta->n_web_seeds, e)) ||
	    (rc = set_str(dist, "torrent_infohash", meta->torrent_infohash, e)) ||
	    (rc = set_str(dist, "torrent_infohash_v2", meta->torrent_infohash_v2, e)) ||
	    (rc = set_str(dist, "torrent_magnet", meta->torrent_magnet, e)))
		goto out;
	if (json_object_size(dist))
		json_object_set(m, "distribution", dist);
	if ((rc = set_str(m, "expires", meta->expires, e)))
		goto out;
	*out = m;
	m = NULL;
out:
	json_decref(files);
	json_decref(prov);
	json_decref(dist);
	json_decref(m);
	return rc;
}

hp_code hp_manifest_build(const hp_manifest_meta *meta, json_t *files, json_t **out, hp_err *e)
{
	hp_code rc = HP_OK;
	json_t *m = NULL;
	size_t n = json_array_size(files);
	uint64_t total = 0;
	char cid_hex[65];

	/* sort a plain array of the entries, then rebuild files in order */
	json_t **v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		rc = hp_fail_nomem(e);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = json_array_get(files, i);
		if (!json_is_string(json_object_get(v[i], "path"))) {
			rc = hp_fail(e, HP_E_DATA, "file entry %zu has no path", i);
			goto out;
		}
		/* json_number_value: validation below also accepts an integral 6.0 */
		double sz = json_number_value(json_object_get(v[i], "size"));
		if (sz > 0)
			total += (uint64_t)sz;
	}
	qsort(v, n, sizeof *v, path_cmp);
	json_t *sorted = json_array();
	for (size_t i = 0; i < n; i++) {
		if (i && path_cmp(&v[i - 1], &v[i]) == 0) {
			const json_t *p = json_object_get(v[i], "path");
			char q[96];
			hp_quote(json_string_value(p), json_string_length(p), q, sizeof q);
			json_decref(sorted);
			rc = hp_fail(e, HP_E_DATA, "duplicate path '%s'", q);
			goto out;
		}
		json_array_append(sorted, v[i]);
	}
	json_decref(files);
	files = sorted;
	if ((rc = hp_manifest_content_id(files, cid_hex, e)))
		goto out;
	rc = build_head(meta, cid_hex, total, files, &m, e);
	files = NULL;
	if (!rc && !(rc = hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, e))) {
		*out = m;
		m = NULL;
	}
out:
	free(v);
	json_decref(files);
	json_decref(m);
	return rc;
}

/* ---- a large manifest without a jansson tree of its files ---------------- */

/* The files array is read by a scanner that accepts only the plain form
 * hp-manifest writes (strings without escapes, integers without sign,
 * fraction or exponent, no member twice) and that checks each entry as
 * check_files does; anything else, valid or not, makes hp_mlite_parse
 * return false and the caller takes the jansson path, which gives the
 * messages. The rest of the manifest is parsed by jansson with "files": []
 * in place of the array, so it obeys the same rules as before. */

enum { F_PATH, F_SIZE, F_SHA256, F_CID, F_MIME, F_N };
static const char *const file_keys[F_N] = { "path", "size", "sha256", "cid", "mime_type" };

typedef struct fentry {
	const char *v[F_N];
	size_t n[F_N];
	int order[F_N];  /* member indexes in the order of the text */
	int count;
	uint64_t size;
} fentry;

typedef struct fscan {
	const char *p, *end;
} fscan;

static void skip_ws(fscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static bool take(fscan *s, char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string without escapes or control characters. */
static bool plain_string(fscan *s, const char **v, size_t *n)
{
	if (!take(s, '"'))
		return false;
	const char *start = s->p;
	while (s->p < s->end && *s->p != '"') {
		unsigned char c = (unsigned char)*s->p;
		if (c < 0x20 || c == '\\')
			return false;
		s->p++;
	}
	if (s->p == s->end)
		return false;
	*v = start;
	*n = (size_t)(s->p - start);
	s->p++;
	return true;
}

/* 0 or [1-9][0-9]*, at most 2^53-1, not followed by a fraction or exponent. */
static bool plain_size(fscan *s, const char **v, size_t *n, uint64_t *out)
{
	skip_ws(s);
	const char *start = s->p;
	uint64_t x = 0;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < 16)
		x = x * 10 + (uint64_t)(*s->p++ - '0');
	size_t len = (size_t)(s->p - start);
	if (!len || (len > 1 && *start == '0') || x > (uint64_t)MAX_SAFE_INT)
		return false;
	if (s->p < s->end && ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' || *s->p == 'e' || *s->p == 'E'))
		return false;
	*v = start;
	*n = len;
	*out = x;
	return true;
}

static bool scan_entry(fscan *s, fentry *f)
{
	memset(f, 0, sizeof *f);
	if (!take(s, '{'))
		return false;
	unsigned seen = 0;
	do {
		const char *k;
		size_t kn;
		if (!plain_string(s, &k, &kn))
			return false;
		int i = 0;
		while (i < F_N && !(strlen(file_keys[i]) == kn && memcmp(file_keys[i], k, kn) == 0))
			i++;
		if (i == F_N || (seen & (1u << i)) || !take(s, ':'))
			return false;
		seen |= 1u << i;
		if (!(i == F_SIZE ? plain_size(s, &f->v[i], &f->n[i], &f->size) : plain_string(s, &f->v[i], &f->n[i])))
			return false;
		f->order[f->count++] = i;
	} while (take(s, ','));
	return take(s, '}') && (seen & (1u << F_PATH)) && (seen & (1u << F_SIZE)) && (seen & (1u << F_SHA256));
}

typedef struct fcheck {
	const char *prev;
	size_t prev_len;
	struct { const char *p; size_t n; } chain[4097];
	size_t depth;
	uint64_t total;
	size_t count;
} fcheck;

/* check_files's rules for one entry that scan_entry read. */
static bool entry_ok(fcheck *c, const fentry *f)
{
	const char *path = f->v[F_PATH];
	size_t n = f->n[F_PATH];
	hp_err pe = HP_ERR_INIT;
	if (!hp_utf8_valid(path, n) || hp_relpath_check(path, n, &pe))
		return false;
	if (c->prev) {
		size_t m2 = c->prev_len < n ? c->prev_len : n;
		int cmp = memcmp(c->prev, path, m2);
		if (cmp > 0 || (cmp == 0 && c->prev_len >= n))
			return false;
	}
	while (c->depth && !(c->chain[c->depth - 1].n <= n &&
			     memcmp(c->chain[c->depth - 1].p, path, c->chain[c->depth - 1].n) == 0))
		c->depth--;
	if (c->depth && c->chain[c->depth - 1].n < n && path[c->chain[c->depth - 1].n] == '/')
		return false;
	if (!c->depth || c->chain[c->depth - 1].n < n) {
		c->chain[c->depth].p = path;
		c->chain[c->depth++].n = n;
	}
	c->prev = path;
	c->prev_len = n;
	if (!ok_hex64(f->v[F_SHA256], f->n[F_SHA256]) || (f->v[F_CID] && !ok_cid(f->v[F_CID], f->n[F_CID])) ||
	    (f->v[F_MIME] && !ok_mime(f->v[F_MIME], f->n[F_MIME])))
		return false;
	c->total += f->size;
	return c->total <= (uint64_t)MAX_SAFE_INT && ++c->count <= MAX_FILES;
}

/* RFC 8785 of one entry: members in UTF-16 order, strings as they are (no
 * character needs escaping in them). */
static hp_code entry_jcs(const fentry *f, hp_buf *out, hp_err *e)
{
	static const int jcs_order[F_N] = { F_CID, F_MIME, F_PATH, F_SHA256, F_SIZE };
	static const char *const jcs_keys[F_N] = { "\"path\":\"", "\"size\":", "\"sha256\":\"",
		"\"cid\":\"", "\"mime_type\":\"" };
	hp_code rc = hp_buf_addch(out, '{', e);
	bool first = true;
	for (int k = 0; k < F_N && !rc; k++) {
		int i = jcs_order[k];
		if (!f->v[i])
			continue;
		if (!first)
			rc = hp_buf_addch(out, ',', e);
		first = false;
		if (!rc)
			rc = hp_buf_adds(out, jcs_keys[i], e);
		if (!rc)
			rc = hp_buf_add(out, f->v[i], f->n[i], e);
		if (!rc && i != F_SIZE)
			rc = hp_buf_addch(out, '"', e);
	}
	return rc ? rc : hp_buf_addch(out, '}', e);
}

/* json_dumps(JSON_INDENT(2)) of one entry at depth 2: members in the text's order. */
static hp_code entry_pretty(const fentry *f, hp_buf *out, hp_err *e)
{
	static const char *const pretty_keys[F_N] = { "\"path\": \"", "\"size\": ", "\"sha256\": \"",
		"\"cid\": \"", "\"mime_type\": \"" };
	hp_code rc = hp_buf_add(out, "{\n      ", 8, e);
	for (int k = 0; k < f->count && !rc; k++) {
		int i = f->order[k];
		if (k)
			rc = hp_buf_add(out, ",\n      ", 8, e);
		if (!rc)
			rc = hp_buf_adds(out, pretty_keys[i], e);
		if (!rc)
			rc = hp_buf_add(out, f->v[i], f->n[i], e);
		if (!rc && i != F_SIZE)
			rc = hp_buf_addch(out, '"', e);
	}
	return rc ? rc : hp_buf_add(out, "\n    }", 6, e);
}

/* Walk the files array text: check each entry (c non-NULL) and write its
 * canonical form (jcs) or its json_dumps form (pretty). false: not for
 * this path (or out of memory). */
static bool walk_files(const char *p, size_t len, fcheck *c, hp_buf *jcs, hp_buf *pretty)
{
	fscan s = { p, p + len };
	fentry f;
	hp_err e = HP_ERR_INIT;
	if (!take(&s, '[') || (jcs && hp_buf_addch(jcs, '[', &e)) || (pretty && hp_buf_add(pretty, "[\n    ", 6, &e)))
		return false;
	bool first = true;
	do {
		if (!first && ((jcs && hp_buf_addch(jcs, ',', &e)) || (pretty && hp_buf_add(pretty, ",\n    ", 6, &e))))
			return false;
		first = false;
		if (!scan_entry(&s, &f) || (c && !entry_ok(c, &f)) || (jcs && entry_jcs(&f, jcs, &e)) ||
		    (pretty && entry_pretty(&f, pretty, &e)))
			return false;
	} while (take(&s, ','));
	if (!take(&s, ']') || (jcs && hp_buf_addch(jcs, ']', &e)) || (pretty && hp_buf_add(pretty, "\n  ]", 4, &e)))
		return false;
	skip_ws(&s);
	return s.p == s.end;
}

/* Skip one JSON value (not checked: jansson checks what is kept). */
static bool skip_value(fscan *s)
{
	size_t depth = 0;
	skip_ws(s);
	do {
		if (s->p >= s->end)
			return false;
		char c = *s->p;
		if (c == '"') {
			/* to the next quote not escaped: one preceded by an even run of backslashes */
			const char *q = s->p + 1;
			for (;;) {
				q = memchr(q, '"', (size_t)(s->end - q));
				if (!q)
					return false;
				size_t bs = 0;
				while (q - bs > s->p + 1 && q[-1 - (ptrdiff_t)bs] == '\\')
					bs++;
				if (bs % 2 == 0)
					break;
				q++;
			}
			s->p = q + 1;
		} else if (c == '{' || c == '[') {
			depth++;
			s->p++;
		} else if (c == '}' || c == ']') {
			if (!depth)
				return false;
			depth--;
			s->p++;
		} else {
			s->p++;
		}
		if (depth)
			skip_ws(s);
	} while (depth || (s->p < s->end && !strchr(",}] \t\r\n", *s->p)));
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void hp_mlite_free(hp_mlite *m)
{
	json_decref(m->head);
	hp_buf_release(&m->canonical);
	memset(m, 0, sizeof *m);
	hp_buf_init(&m->canonical, SIZE_MAX);
}

bool hp_mlite_parse(const char *data, size_t len, unsigned flags, hp_mlite *m)
{
	memset(m, 0, sizeof *m);
	hp_buf_init(&m->canonical, SIZE_MAX);
	if (flags & HP_MANIFEST_SCHEMA_ONLY)
		return false;
	/* find the top-level "files" member */
	fscan s = { data, data + len };
	const char *fstart = NULL, *fend = NULL;
	if (!take(&s, '{'))
		return false;
	do {
		const char *k;
		size_t kn;
		if (!plain_string(&s, &k, &kn) || !take(&s, ':'))
			return false;
		skip_ws(&s);
		const char *vstart = s.p;
		if (!skip_value(&s))
			return false;
		if (kn == 5 && memcmp(k, "files", 5) == 0) {
			if (fstart)
				return false;
			fstart = vstart;
			fend = s.p;
		}
	} while (take(&s, ','));
	if (!take(&s, '}') || !fstart)
		return false;
	skip_ws(&s);
	if (s.p != s.end)
		return false;

	/* everything else, with jansson */
	hp_buf head = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	json_t *files = NULL;
	bool ok = !hp_buf_add(&head, data, (size_t)(fstart - data), &e) && !hp_buf_add(&head, "[]", 2, &e) &&
		  !hp_buf_add(&head, fend, (size_t)(data + len - fend), &e) &&
		  !hp_json_parse(head.data, head.len, "head", &m->head, &e);
	hp_buf_release(&head);
	ok = ok && json_is_object(m->head) && (files = json_object_get(m->head, "files")) &&
	     json_is_array(files) && json_array_size(files) == 0;

	/* the canonical bytes, the files checked on the way */
	const char *keys[16];
	size_t nkeys = 0;
	if (ok) {
		const char *key;
		json_t *v;
		json_object_foreach(m->head, key, v) {
			if (nkeys == 16)
				ok = false;
			else if (strcmp(key, "signature") != 0)
				keys[nkeys++] = key;
		}
	}
	fcheck *c = ok ? calloc(1, sizeof *c) : NULL;
	files_summary fs;
	ok = ok && c;
	if (ok) {
		/* the canonical form is at most about as long as the text: one allocation */
		hp_buf_grow(&m->canonical, len + 4096, &e);
		qsort(keys, nkeys, sizeof *keys, key_cmp);
		ok = !hp_buf_addch(&m->canonical, '{', &e);
		for (size_t i = 0; i < nkeys && ok; i++) {
			ok = !(i && hp_buf_addch(&m->canonical, ',', &e)) &&
			     !hp_buf_addf(&m->canonical, &e, "\"%s\":", keys[i]);
			if (ok && strcmp(keys[i], "files") == 0) {
				size_t at = m->canonical.len;
				ok = walk_files(fstart, (size_t)(fend - fstart), c, &m->canonical, NULL);
				if (ok)
					sha256_hex(m->canonical.data + at, m->canonical.len - at, fs.content_id, &e);
			} else if (ok) {
				ok = !hp_jcs_serialize(json_object_get(m->head, keys[i]), &m->canonical, &e);
			}
		}
		ok = ok && !hp_buf_addch(&m->canonical, '}', &e);
	}
	if (ok) {
		fs.total = c->total;
		m->nfiles = c->count;
		m->files = fstart;
		m->files_len = (size_t)(fend - fstart);
		ok = !validate(m->head, flags, NULL, &fs, &e);
	}
	free(c);
	if (!ok)
		hp_mlite_free(m);
	return ok;
}

hp_code hp_mlite_dump(const hp_mlite *m, const json_t *head, hp_buf *out, hp_err *e)
{
	char *text = json_dumps(head, JSON_INDENT(2));
	if (!text)
		return hp_fail_nomem(e);
	static const char mark[] = "\n  \"files\": []";
	char *at = strstr(text, mark);
	hp_code rc = HP_OK;
	if (!at)
		rc = hp_fail(e, HP_E_INTERNAL, "no files in the manifest's head");
	else if ((rc = hp_buf_grow(out, strlen(text) + m->files_len + m->files_len / 8, e)))
		;
	else if (!(rc = hp_buf_add(out, text, (size_t)(at - text) + sizeof mark - 3, e)) &&
		 !walk_files(m->files, m->files_len, NULL, NULL, out))
		rc = hp_fail_nomem(e);
	if (!rc)
		rc = hp_buf_adds(out, at + sizeof mark - 1, e);
	free(text);
	return rc;
}

hp_code hp_manifest_load_any(const char *path, unsigned flags, hp_buf *text, hp_mlite *lite, json_t **out,
			     hp_err *e)
{
	*out = NULL;
	memset(lite, 0, sizeof *lite);
	hp_buf_init(&lite->canonical, SIZE_MAX);
	hp_buf_init(text, SIZE_MAX);
	const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
	hp_code rc = hp_read_file(path, HP_MANIFEST_MAX_BYTES, text, e);
	if (rc || hp_mlite_parse(text->data, text->len, flags, lite))
		return rc;
	json_t *m;
	if ((rc = hp_json_parse(text->data, text->len, shown, &m, e)))
		return rc;
	if ((rc = hp_manifest_validate(m, flags, NULL, e))) {
		json_decref(m);
		return hp_err_prefix(e, "%s", shown);
	}
	*out = m;
	return HP_OK;
}

/* ---- a new manifest written as text, without a jansson tree of its files */

static int mfile_cmp(const void *a, const void *b)
{
	const hp_manifest_file *x = a, *y = b;
	int c = memcmp(x->path, y->path, x->path_len < y->path_len ? x->path_len : y->path_len);
	return c ? c : x->path_len < y->path_len ? -1 : x->path_len > y->path_len;
}

/* A JSON string: escapes as RFC 8785 has them (jcs: lower-case \u00xx) or
 * as jansson writes them (upper-case); the two differ only there. */
static hp_code put_string(hp_buf *b, const char *s, size_t n, bool jcs, hp_err *e)
{
	hp_code rc = hp_buf_addch(b, '"', e);
	size_t run = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((rc = hp_buf_add(b, s + run, i - run, e)))
			break;
		run = i + 1;
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" :
				  c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		rc = esc ? hp_buf_adds(b, esc, e) : hp_buf_addf(b, e, jcs ? "\\u%04x" : "\\u%04X", c);
	}
	if (!rc)
		rc = hp_buf_add(b, s + run, n - run, e);
	return rc ? rc : hp_buf_addch(b, '"', e);
}

static hp_code put_uint(hp_buf *b, uint64_t v, hp_err *e)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return hp_buf_add(b, d + i, sizeof d - i, e);
}

/* One entry as RFC 8785 has it (keys sorted: cid, mime_type, path, sha256,
 * size) into b, for the content id. */
static hp_code mfile_jcs(hp_buf *b, const hp_manifest_file *f, const char *hex, hp_err *e)
{
	hp_code rc = hp_buf_addch(b, '{', e);
	if (!rc && f->cid && !(rc = hp_buf_adds(b, "\"cid\":", e)) && !(rc = put_string(b, f->cid, strlen(f->cid), true, e)))
		rc = hp_buf_addch(b, ',', e);
	if (!rc && f->mime_type && !(rc = hp_buf_adds(b, "\"mime_type\":", e)) &&
	    !(rc = put_string(b, f->mime_type, strlen(f->mime_type), true, e)))
		rc = hp_buf_addch(b, ',', e);
	if (!rc && !(rc = hp_buf_adds(b, "\"path\":", e)) && !(rc = put_string(b, f->path, f->path_len, true, e)) &&
	    !(rc = hp_buf_adds(b, ",\"sha256\":\"", e)) && !(rc = hp_buf_add(b, hex, 64, e)) &&
	    !(rc = hp_buf_adds(b, "\",\"size\":", e)) && !(rc = put_uint(b, f->size, e)))
		rc = hp_buf_addch(b, '}', e);
	return rc;
}

/* One entry as json_dumps(JSON_INDENT(2)) writes it inside "files". */
static hp_code mfile_text(hp_buf *b, const hp_manifest_file *f, const char *hex, hp_err *e)
{
	hp_code rc = hp_buf_adds(b, "\n    {\n      \"path\": ", e);
	if (!rc && !(rc = put_string(b, f->path, f->path_len, false, e)) && !(rc = hp_buf_adds(b, ",\n      \"size\": ", e)) &&
	    !(rc = put_uint(b, f->size, e)) && !(rc = hp_buf_adds(b, ",\n      \"sha256\": \"", e)) &&
	    !(rc = hp_buf_add(b, hex, 64, e)))
		rc = hp_buf_addch(b, '"', e);
	if (!rc && f->cid && !(rc = hp_buf_adds(b, ",\n      \"cid\": ", e)))
		rc = put_string(b, f->cid, strlen(f->cid), false, e);
	if (!rc && f->mime_type && !(rc = hp_buf_adds(b, ",\n      \"mime_type\": ", e)))
		rc = put_string(b, f->mime_type, strlen(f->mime_type), false, e);
	return rc ? rc : hp_buf_adds(b, "\n    }", e);
}

hp_code hp_manifest_files_make(hp_manifest_file *files, size_t n, hp_manifest_files *out, hp_err *e)
{
	if (n == 0)
		return hp_fail(e, HP_E_DATA, "files: must list at least one file");  /* the schema's minItems */
	qsort(files, n, sizeof *files, mfile_cmp);
	fcheck *c = calloc(1, sizeof *c);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	hp_buf one = HP_BUF_INIT;
	hp_code rc = c && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? HP_OK : hp_fail_nomem(e);
	size_t guess = 16;
	for (size_t i = 0; i < n; i++)
		guess += files[i].path_len + 200;
	if (!rc)
		rc = hp_buf_grow(&out->text, guess, e);
	for (size_t i = 0; !rc && i <= n + 1; i++) {
		/* the content id: SHA-256 of the array's RFC 8785 form, a piece at a time */
		hp_buf_reset(&one);
		if (i == 0) {
			rc = hp_buf_addch(&one, '[', e);
		} else if (i == n + 1) {
			rc = hp_buf_addch(&one, ']', e);
		} else {
			const hp_manifest_file *f = &files[i - 1];
			if (i > 1 && mfile_cmp(&files[i - 2], f) == 0) {
				char q[96];
				hp_quote(f->path, f->path_len, q, sizeof q);
				rc = hp_fail(e, HP_E_DATA, "duplicate path '%s'", q);
				break;
			}
			/* check_files's rules, as hp_mlite_parse applies them */
			char hex[65];
			hp_hex_encode(f->sha256, 32, hex);
			fentry fe = { { f->path, NULL, hex, f->cid, f->mime_type },
				      { f->path_len, 0, 64, f->cid ? strlen(f->cid) : 0,
					f->mime_type ? strlen(f->mime_type) : 0 },
				      { 0 }, 0, f->size };
			if (!entry_ok(c, &fe)) {
				char q[96];
				hp_quote(f->path, f->path_len, q, sizeof q);
				rc = hp_fail(e, HP_E_DATA,
					     "'%s' cannot be a manifest entry (its path, SHA-256, CID or MIME type, or too "
					     "many files or bytes)", q);
				break;
			}
			if (!(rc = i > 1 ? hp_buf_addch(&one, ',', e) : HP_OK))
				rc = mfile_jcs(&one, f, hex, e);
			if (!rc && !(rc = i > 1 ? hp_buf_addch(&out->text, ',', e) : HP_OK))
				rc = mfile_text(&out->text, f, hex, e);
		}
		if (!rc && !EVP_DigestUpdate(md, one.data, one.len))
			rc = hp_fail(e, HP_E_INTERNAL, "SHA-256 failed");
	}
	uint8_t d[32];
	if (!rc && !EVP_DigestFinal_ex(md, d, NULL))
		rc = hp_fail(e, HP_E_INTERNAL, "SHA-256 failed");
	if (!rc) {
		hp_hex_encode(d, 32, out->content_id);
		out->total = c->total;
		out->n = n;
	}
	EVP_MD_CTX_free(md);
	hp_buf_release(&one);
	free(c);
	return rc;
}

void hp_manifest_files_release(hp_manifest_files *f)
{
	hp_buf_release(&f->text);
	memset(f, 0, sizeof *f);
	hp_buf_init(&f->text, SIZE_MAX);
}

hp_code hp_manifest_text(const hp_manifest_meta *meta, hp_manifest_files *files, hp_buf *text, hp_err *e)
{
	json_t *head = NULL;
	hp_code rc = build_head(meta, files->content_id, files->total, json_array(), &head, e);
	if (rc)
		return rc;
	files_summary fs;
	fs.total = files->total;
	memcpy(fs.content_id, files->content_id, sizeof fs.content_id);
	if ((rc = validate(head, HP_MANIFEST_UNSIGNED_OK, NULL, &fs, e))) {
		json_decref(head);
		return rc;
	}
	/* the members around files by jansson; the entries' text becomes the
	 * manifest's (the head moved in before it: no second copy of them) */
	char *t = json_dumps(head, JSON_INDENT(2));
	json_decref(head);
	if (!t)
		return hp_fail_nomem(e);
	static const char mark[] = "\n  \"files\": []";
	char *at = strstr(t, mark);
	hp_buf *b = &files->text;
	size_t pre = at ? (size_t)(at - t) + sizeof mark - 2 : 0, n = b->len;
	if (!at)
		rc = hp_fail(e, HP_E_INTERNAL, "no files in the manifest's head");
	else if (!(rc = hp_buf_grow(b, pre + strlen(t) + 8, e))) {
		memmove(b->data + pre, b->data, n);
		memcpy(b->data, t, pre);
		b->len = pre + n;
		b->data[b->len] = '\0';
		if (files->n)
			rc = hp_buf_adds(b, "\n  ", e);
		if (!rc)
			rc = hp_buf_adds(b, at + sizeof mark - 2, e);
	}
	free(t);
	if (!rc && !text->len) {
		hp_buf_release(text);
		*text = *b;
		hp_buf_init(b, SIZE_MAX);
	} else if (!rc) {
		rc = hp_buf_add(text, b->data, b->len, e);
	}
	return rc;
}
